//! The tables of a form: which columns, in which order, and how a record's
//! values become rows. One table per form (`<form_id>.csv`) and one per
//! repeat (`<form_id>__<repeat>.csv`, nested repeats too). Groups are
//! flattened with their path in the column name (`group/field`); a
//! select_multiple is a space-separated column plus a 0/1 column per
//! choice (`field/choice`); a choice field's label column (`--labels`) is
//! `field:label` (names cannot hold `:`, so it never meets a choice column
//! such as `tags/label`); a geopoint is its column plus Kobo's split
//! columns `_field_latitude`, `_field_longitude`, `_field_altitude`,
//! `_field_precision`. Headers are unique: a column whose header is taken
//! (by a key column, or by another column in another version) gets `~2`,
//! `~3`... Versions of a form share one table: the union of their
//! columns, first version first. Every column knows what its cells are
//! (numbers or text) from the field's type, never from the text. Records
//! are read without copying their values (each stays a slice of the
//! decrypted JSON until it is written). Last, the paradata table
//! (`<form_id>__paradata.csv`, named like a repeat's, `paradata~2` when a
//! repeat has that name): a line per question of each record that carries
//! paradata (`record::Paradata`), numbers as recorded. Pure: no files.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::value::RawValue;

use crate::form::{Form, Kind, NodeId};

mod paradata;
pub use paradata::paradata_rows;

/// Metadata columns, before the form's own: the record's `version` (1,
/// or more for a correction), its `review_status` (approved, returned,
/// received or pending: `review`) and its `round` (the round pack's, empty
/// for a record made without one) come last.
pub const META: [&str; 10] = [
    "record_id",
    "enumerator_id",
    "device_id",
    "bundle_id",
    "form_version",
    "started",
    "finalized_at",
    "version",
    "review_status",
    "round",
];
/// Key columns of a repeat table (with the version, review status and
/// round of the record the row belongs to, so that `versions/` rows join
/// and a repeat's rows are partitioned by round as they stream, with no
/// lookup of their record).
pub const REPEAT_KEYS: [&str; 7] = [
    "record_id",
    "parent_key",
    "key",
    "index",
    "version",
    "review_status",
    "round",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A field's value.
    Field(String),
    /// 1 when `choice` is among the field's answers, 0 when the field is
    /// answered without it, empty when not answered.
    Choice { field: String, choice: String },
    /// The label(s) of a select field's answer.
    Label(String),
    /// One number of a geopoint's answer (0 latitude, 1 longitude, 2
    /// altitude, 3 precision): empty when not given.
    GeoPart { field: String, part: usize },
    /// A file question's answer as the path of the file aggregate wrote,
    /// relative to its folder: `media/<record_id>/<name>`.
    Attachment(String),
    /// A column of the paradata table (its header), never a field's.
    Paradata(&'static str),
}

/// What a column's cells are, from the field's type (never from the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Text,
    /// An integer field: a number when the answer is a whole number.
    Integer,
    /// A decimal field (or a geopoint's part): a number when the answer is
    /// a number as JSON writes it.
    Decimal,
    /// A select_multiple's 0/1 column.
    Flag,
}

impl Cell {
    /// The number a cell holds, when the column holds numbers and the text
    /// is a valid number of its type, exactly (within 15 significant
    /// digits, what a spreadsheet keeps); None for text.
    pub fn number(self, text: &str) -> Option<f64> {
        match self {
            Cell::Text => None,
            Cell::Flag => match text {
                "0" => Some(0.0),
                "1" => Some(1.0),
                _ => None,
            },
            Cell::Integer => {
                let digits = text.strip_prefix('-').unwrap_or(text);
                let plain = json_number(text) && !text.contains(['.', 'e', 'E']);
                (plain && digits.len() <= 15)
                    .then(|| text.parse::<f64>().ok())
                    .flatten()
            }
            Cell::Decimal => {
                let significant = text.bytes().take_while(|b| !matches!(b, b'e' | b'E'));
                let digits = significant.filter(u8::is_ascii_digit).count();
                (json_number(text) && digits <= 17)
                    .then(|| text.parse::<f64>().ok())
                    .flatten()
                    .filter(|n| n.is_finite())
            }
        }
    }
}

/// Whether `text` is a number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
/// (no `+`, no leading zeros, no `inf` or `NaN`).
pub fn json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Whether a CSV cell gets the `'` guard against formula injection
/// (OWASP): it starts with `=`, `+`, `-`, `@`, a tab or a carriage return
/// (what spreadsheets read as a formula), or with `'` itself (so that
/// removing one leading `'` always gives back the text exactly). A number
/// such as `-5` is left as it is: it is no formula.
pub fn guarded(text: &str) -> bool {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'@' | b'\t' | b'\r' | b'\'') => true,
        Some(b'-') => !json_number(text),
        _ => false,
    }
}

/// A CSV cell as it was before [`guarded`]: one leading `'` removed.
pub fn unguard(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pub source: Source,
    pub hxl: String,
    pub cell: Cell,
}

/// One table: the main one (`repeat` None) or a repeat's.
#[derive(Debug, Clone)]
pub struct Table {
    /// The repeat's name (None for the main table).
    pub repeat: Option<String>,
    /// Names of the repeats from the outside in (nested repeats).
    pub path: Vec<String>,
    pub columns: Vec<Column>,
    /// The paradata table (named in `repeat` like a repeat's table, for
    /// its file and workbook sheet; its path is empty).
    pub paradata: bool,
}

impl Table {
    pub fn file_name(&self, form_id: &str) -> String {
        match &self.repeat {
            None => format!("{form_id}.csv"),
            // A repeat whose name another group shares is named by its path.
            Some(r) => format!("{form_id}__{}.csv", r.replace('/', "-")),
        }
    }

    /// The key columns before the form's own.
    pub fn keys(&self) -> &'static [&'static str] {
        if self.paradata {
            &paradata::KEYS
        } else if self.repeat.is_none() {
            &META
        } else {
            &REPEAT_KEYS
        }
    }

    /// Adds a column, unless the same one is already there (another
    /// version's); one whose header is taken by another gets `~2`, `~3`...
    /// A column two versions give different types holds text.
    fn add(&mut self, mut column: Column) {
        if let Some(same) = self
            .columns
            .iter_mut()
            .find(|c| c.source == column.source && renamed(&c.header, &column.header))
        {
            if same.cell != column.cell {
                same.cell = Cell::Text;
            }
            return;
        }
        let taken =
            |t: &Table, h: &str| t.keys().contains(&h) || t.columns.iter().any(|c| c.header == h);
        if taken(self, &column.header) {
            let base = column.header.clone();
            let mut n = 2;
            while taken(self, &format!("{base}~{n}")) {
                n += 1;
            }
            column.header = format!("{base}~{n}");
        }
        self.columns.push(column);
    }
}

/// Whether `header` is `base`, or `base` renamed `base~N`.
fn renamed(header: &str, base: &str) -> bool {
    header.strip_prefix(base).is_some_and(|rest| {
        rest.is_empty()
            || rest
                .strip_prefix('~')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The tables of a form: built from its versions, in order.
/// A table's header rows as cells: the key columns and the columns'
/// headers, then the HXL tags when asked.
pub fn head_rows(table: &Table, hxl: bool) -> Vec<Vec<String>> {
    let keys = table.keys();
    let mut rows = vec![
        keys.iter()
            .map(|s| s.to_string())
            .chain(table.columns.iter().map(|c| c.header.clone()))
            .collect(),
    ];
    if hxl {
        rows.push(
            keys.iter()
                .map(|k| {
                    if *k == "record_id" {
                        "#meta+id".to_string()
                    } else {
                        String::new()
                    }
                })
                .chain(table.columns.iter().map(|c| c.hxl.clone()))
                .collect(),
        );
    }
    rows
}

#[derive(Debug, Default)]
pub struct Layout {
    pub tables: Vec<Table>,
    /// For labels: choice lists by field name, from the latest version.
    pub labels: HashMap<String, HashMap<String, String>>,
}

/// A node's name as the workbook wrote it: the last part of the path a
/// shared name is stored under.
fn short(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn stored(kind: &Kind) -> bool {
    !matches!(kind, Kind::Group | Kind::Repeat | Kind::Note)
}

impl Layout {
    /// Adds a version's columns (new ones go after the existing ones).
    /// The paradata table stays last, its name clear of the repeats'.
    pub fn add_version(&mut self, form: &Form, label_language: Option<&str>) {
        self.walk(form, &form.top, &[], &[], label_language);
        let mut paradata = match self.tables.iter().position(|t| t.paradata) {
            Some(at) => self.tables.remove(at),
            None => Table::paradata(),
        };
        let mut n = 1;
        while self.tables.iter().any(|t| t.repeat == paradata.repeat) {
            n += 1;
            paradata.repeat = Some(format!("paradata~{n}"));
        }
        self.tables.push(paradata);
    }

    fn table(&mut self, path: &[String]) -> &mut Table {
        let at = self
            .tables
            .iter()
            .position(|t| !t.paradata && t.path == path);
        match at {
            Some(i) => &mut self.tables[i],
            None => {
                self.tables.push(Table {
                    repeat: path.last().cloned(),
                    path: path.to_vec(),
                    columns: Vec::new(),
                    paradata: false,
                });
                self.tables.last_mut().expect("just pushed")
            }
        }
    }

    fn walk(
        &mut self,
        form: &Form,
        children: &[NodeId],
        groups: &[String],
        repeats: &[String],
        label_language: Option<&str>,
    ) {
        // Make sure the table exists even when it has no own columns yet.
        self.table(repeats);
        for &id in children {
            let node = &form.nodes[id];
            match node.kind {
                Kind::Group => {
                    let mut inner = groups.to_vec();
                    inner.push(short(&node.name).to_string());
                    self.walk(form, &node.children, &inner, repeats, label_language);
                }
                Kind::Repeat => {
                    let mut inner = repeats.to_vec();
                    inner.push(node.name.clone());
                    self.walk(form, &node.children, &[], &inner, label_language);
                }
                ref kind if stored(kind) => {
                    let mut header = groups.join("/");
                    if !header.is_empty() {
                        header.push('/');
                    }
                    // A name shared with another group's field is stored
                    // as its path; the header is the path within the table.
                    let name = short(&node.name);
                    header.push_str(name);
                    let hxl = node.hxl.clone().unwrap_or_default();
                    let list = form.list_of(id);
                    let table = self.table(repeats);
                    let cell = match kind {
                        Kind::Integer => Cell::Integer,
                        Kind::Decimal => Cell::Decimal,
                        _ => Cell::Text,
                    };
                    table.add(Column {
                        header: header.clone(),
                        source: if kind.media().is_some() {
                            Source::Attachment(node.name.clone())
                        } else {
                            Source::Field(node.name.clone())
                        },
                        hxl,
                        cell,
                    });
                    if let Kind::Geopoint = kind {
                        // Kobo's names: `group/_name_latitude`.
                        let prefix = &header[..header.len() - name.len()];
                        let parts = [
                            ("latitude", "#geo+lat"),
                            ("longitude", "#geo+lon"),
                            ("altitude", ""),
                            ("precision", ""),
                        ];
                        for (part, (suffix, tag)) in parts.iter().enumerate() {
                            table.add(Column {
                                header: format!("{prefix}_{name}_{suffix}"),
                                source: Source::GeoPart {
                                    field: node.name.clone(),
                                    part,
                                },
                                hxl: tag.to_string(),
                                cell: Cell::Decimal,
                            });
                        }
                    }
                    if let (Kind::SelectMultiple { .. }, Some(list)) = (kind, list) {
                        for c in &list.choices {
                            table.add(Column {
                                header: format!("{header}/{}", c.name),
                                source: Source::Choice {
                                    field: node.name.clone(),
                                    choice: c.name.clone(),
                                },
                                hxl: String::new(),
                                cell: Cell::Flag,
                            });
                        }
                    }
                    if let (Some(lang), Some(list)) = (label_language, list) {
                        table.add(Column {
                            header: format!("{header}:label"),
                            source: Source::Label(node.name.clone()),
                            hxl: String::new(),
                            cell: Cell::Text,
                        });
                        let names = list
                            .choices
                            .iter()
                            .map(|c| {
                                let label = c
                                    .label
                                    .get(Some(lang), form.default_language.as_deref())
                                    .unwrap_or(&c.name);
                                (c.name.clone(), label.to_string())
                            })
                            .collect();
                        self.labels.insert(node.name.clone(), names);
                    }
                }
                _ => {}
            }
        }
    }
}

/// A record's values as they are in its JSON, borrowed, by field name
/// (names never need escaping in JSON: the form loader checks them).
pub type Values<'a> = HashMap<&'a str, &'a RawValue>;

/// A finalized record as the tables and the summary read it: borrowed
/// from its JSON. A record where these are not text is not a record.
pub type RecordRef<'a> = crate::record::FinalRecord<'a, Values<'a>>;

/// A value as a cell: text as is, numbers as written, lists
/// space-separated, null empty, anything else as its JSON.
pub fn text(raw: &RawValue) -> Cow<'_, str> {
    let json = raw.get();
    match json.as_bytes().first() {
        Some(b'"') if !json.contains('\\') => Cow::Borrowed(&json[1..json.len() - 1]),
        Some(b'"') => Cow::Owned(serde_json::from_str::<String>(json).unwrap_or_default()),
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(json).unwrap_or_default();
            Cow::Owned(items.iter().map(|i| text(i)).collect::<Vec<_>>().join(" "))
        }
        _ if json == "null" => Cow::Borrowed(""),
        _ => Cow::Borrowed(json),
    }
}

/// A field's cell: empty when the field is not in the record.
pub fn cell<'a>(values: &Values<'a>, name: &str) -> Cow<'a, str> {
    values.get(name).map_or(Cow::Borrowed(""), |raw| text(raw))
}

/// One CSV line being written: fields joined by commas, quoted only where
/// needed (a comma, a quote or a line break inside), as the csv crate and
/// Excel read them; ended by `\n`.
#[derive(Default)]
pub struct Line {
    bytes: Vec<u8>,
    fields: usize,
}

impl Line {
    pub fn with_capacity(n: usize) -> Line {
        Line {
            bytes: Vec::with_capacity(n),
            fields: 0,
        }
    }

    fn start(&mut self) {
        if self.fields > 0 {
            self.bytes.push(b',');
        }
        self.fields += 1;
    }

    /// Adds a cell, with the `'` guard when [`guarded`].
    pub fn field(&mut self, text: &str) {
        self.start();
        let guard = guarded(text);
        if guard
            || text
                .bytes()
                .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        {
            self.bytes.push(b'"');
            if guard {
                self.bytes.push(b'\'');
            }
            for b in text.bytes() {
                if b == b'"' {
                    self.bytes.push(b'"');
                }
                self.bytes.push(b);
            }
            self.bytes.push(b'"');
        } else {
            self.bytes.extend_from_slice(text.as_bytes());
        }
    }

    pub fn end(mut self) -> Vec<u8> {
        // A line of one empty field would read as no line at all.
        if self.fields == 1 && self.bytes.is_empty() {
            self.bytes.extend_from_slice(b"\"\"");
        }
        self.bytes.push(b'\n');
        self.bytes
    }
}

/// The choices a select's answer (text or a list) holds.
fn answers(answer: &RawValue) -> Vec<Cow<'_, str>> {
    if answer.get().starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(answer.get()).unwrap_or_default();
        items.into_iter().map(text).collect()
    } else {
        match text(answer) {
            Cow::Borrowed(s) => s.split_whitespace().map(Cow::Borrowed).collect(),
            Cow::Owned(s) => s
                .split_whitespace()
                .map(|w| Cow::Owned(w.to_string()))
                .collect(),
        }
    }
}

/// Writes the cells of one row of `table` from an object of values of
/// the record `record_id`.
pub fn write_row(
    line: &mut Line,
    table: &Table,
    values: &Values,
    labels: &HashMap<String, HashMap<String, String>>,
    record_id: &str,
) {
    // A select_multiple's 0/1 columns follow each other: its answer is
    // read once for all of them.
    let mut chosen: Option<(&str, Vec<Cow<str>>)> = None;
    for c in &table.columns {
        match &c.source {
            Source::Field(f) => line.field(&cell(values, f)),
            Source::Attachment(f) => {
                let name = cell(values, f);
                if crate::form::media::is_attachment_name(&name) {
                    line.field(&cell_path(record_id, &name));
                } else {
                    line.field(&name);
                }
            }
            Source::Choice { field, choice } => match values.get(field.as_str()) {
                None => line.field(""),
                Some(v) if v.get() == "null" => line.field(""),
                Some(v) => {
                    if chosen.as_ref().is_none_or(|(f, _)| f != field) {
                        chosen = Some((field, answers(v)));
                    }
                    let holds = chosen
                        .as_ref()
                        .is_some_and(|(_, a)| a.iter().any(|x| x == choice));
                    line.field(if holds { "1" } else { "0" });
                }
            },
            Source::Label(field) => {
                let answer = cell(values, field);
                let text = answer
                    .split_whitespace()
                    .map(|a| {
                        labels
                            .get(field)
                            .and_then(|l| l.get(a))
                            .map_or(a, |l| l.as_str())
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                line.field(&text);
            }
            Source::GeoPart { field, part } => {
                let answer = cell(values, field);
                line.field(answer.split_whitespace().nth(*part).unwrap_or(""));
            }
            Source::Paradata(_) => line.field(""),
        }
    }
}

/// The instances of the repeat table `path` in a record's values, with
/// their keys: (parent key, key, 1-based index, values). An entry that is
/// not an object is skipped.
pub fn instances<'a>(
    values: &Values<'a>,
    path: &[String],
) -> Vec<(String, String, usize, Values<'a>)> {
    let mut out = Vec::new();
    collect(values, path, "", &mut out);
    out
}

fn collect<'a>(
    values: &Values<'a>,
    path: &[String],
    parent: &str,
    out: &mut Vec<(String, String, usize, Values<'a>)>,
) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(&raw) = values.get(first.as_str()) else {
        return;
    };
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
        return;
    };
    for (i, &item) in items.iter().enumerate() {
        let Ok(obj) = serde_json::from_str::<Values>(item.get()) else {
            continue;
        };
        let key = if parent.is_empty() {
            format!("{first}[{}]", i + 1)
        } else {
            format!("{parent}/{first}[{}]", i + 1)
        };
        if rest.is_empty() {
            out.push((parent.to_string(), key, i + 1, obj));
        } else {
            collect(&obj, rest, &key, out);
        }
    }
}

/// The path a table cell gives for an attachment, relative to the
/// aggregate's folder (where `media` writes it).
pub fn cell_path(record_id: &str, name: &str) -> String {
    format!("media/{record_id}/{name}")
}
