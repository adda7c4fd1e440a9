//! Reading a workbook's cells: sheets and their headers in any case and
//! under pyxform's other spellings, cell values as text (formulas by their
//! cached value, whole numbers without ".0", Excel dates as ISO dates),
//! and the type spellings pyxform accepts or fieldkit does not run.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::io::Cursor;

use calamine::{Data, DataRef};

use super::error;
use crate::form::error::FormError;
use crate::form::limits::{
    self, MAX_CELL_BYTES, MAX_SHEET_COLUMNS, MAX_WORKBOOK_CELLS, MAX_WORKBOOK_TEXT_BYTES,
};

/// One sheet: its header (canonical column, language) and its non-empty
/// rows with their spreadsheet row numbers.
pub(super) struct Sheet {
    pub(super) name: &'static str,
    /// The spreadsheet row of the header.
    pub(super) header_row: usize,
    /// The 0-based spreadsheet column of the first column read.
    pub(super) first_col: usize,
    pub(super) columns: Vec<Option<(String, Option<String>)>>,
    pub(super) rows: Vec<(usize, Vec<String>)>,
}

impl Sheet {
    pub(super) fn get(&self, row: &[String], column: &str) -> Option<String> {
        self.columns
            .iter()
            .position(|c| matches!(c, Some((name, None)) if name == column))
            .and_then(|i| row.get(i))
            .filter(|v| !v.is_empty())
            .cloned()
    }
}

/// Survey columns fieldkit uses, and the other spellings pyxform accepts
/// for them (lowercase).
pub(super) const SURVEY_ALIASES: &[(&str, &[&str])] = &[
    ("type", &[]),
    ("name", &[]),
    ("label", &["caption"]),
    ("hint", &[]),
    ("required", &["bind::required"]),
    (
        "required_message",
        &["required message", "bind::jr:requiredmsg", "jr:requiredmsg"],
    ),
    ("relevant", &["relevance", "bind::relevant"]),
    ("constraint", &["bind::constraint"]),
    (
        "constraint_message",
        &[
            "constraint message",
            "bind::jr:constraintmsg",
            "jr:constraintmsg",
        ],
    ),
    // fieldkit's soft check (no XLSForm standard; pyxform ignores it).
    ("soft_constraint", &[]),
    ("soft_constraint_message", &[]),
    ("calculation", &["calculate", "bind::calculate"]),
    ("default", &[]),
    ("parameters", &[]),
    ("read_only", &["readonly", "read-only", "bind::readonly"]),
    ("appearance", &["control::appearance"]),
    ("choice_filter", &["choice filter"]),
    ("repeat_count", &["repeat count", "jr:count", "count"]),
    ("hxl", &[]),
    // fieldkit's: a supervisor may read this answer (pyxform ignores it).
    ("review", &[]),
    ("save_to", &[]),
    ("accept", &["body::accept"]),
];
/// The `entities` sheet's columns (pyxform's EntityColumns; `repeat` is
/// read so that the loader refuses it by name).
pub(super) const ENTITY_ALIASES: &[(&str, &[&str])] = &[
    ("list_name", &["dataset"]),
    ("entity_id", &[]),
    ("create_if", &[]),
    ("update_if", &[]),
    ("label", &[]),
    ("repeat", &[]),
];
pub(super) const CHOICE_ALIASES: &[(&str, &[&str])] =
    &[("list_name", &["list name"]), ("name", &[]), ("label", &[])];
pub(super) const SETTINGS_ALIASES: &[(&str, &[&str])] = &[
    ("form_title", &["title"]),
    ("form_id", &["id_string"]),
    ("version", &[]),
    ("default_language", &[]),
    ("instance_name", &[]),
    ("style", &[]),
    ("allow_choice_duplicates", &[]),
    ("needs_review", &[]),
];
/// Columns that hold text per language.
pub(super) const TRANSLATED: &[&str] = &[
    "label",
    "hint",
    "required_message",
    "constraint_message",
    "soft_constraint_message",
    "form_title",
];
/// Columns and settings that only matter to a server or to media, which
/// fieldkit can leave out without changing what the form asks.
pub(super) const IGNORED_QUIETLY: &[&str] = &["media", "image", "audio", "video", "big-image"];

/// A header cell: (canonical column, language), or None when fieldkit
/// keeps the column under its own name (choices' extra columns).
pub(super) fn header(
    raw: &str,
    aliases: &[(&str, &[&str])],
    keep_case: bool,
) -> (String, Option<String>) {
    let raw = raw.trim();
    let lower = raw.to_lowercase();
    let find = |text: &str| {
        // Legacy spellings: `bind:relevant`, `bind::jr:constraintMsg`,
        // `control:appearance`.
        let bare = ["bind::", "bind:", "control::", "control:"]
            .iter()
            .find_map(|p| text.strip_prefix(p))
            .unwrap_or(text);
        aliases
            .iter()
            .find(|(canon, alts)| {
                *canon == text || alts.contains(&text) || *canon == bare || alts.contains(&bare)
            })
            .map(|(canon, _)| canon.to_string())
    };
    if let Some(canon) = find(&lower) {
        return (canon, None);
    }
    // `label::English (en)`, `jr:constraintMsg::Lao`, `label:English`:
    // a language only after a column that is translated. (Sliced from
    // `raw`, where the index was found: lowercasing may change lengths.)
    let base_of = |i: usize| raw[..i].trim().to_lowercase();
    let split = raw.rfind("::").map(|i| (i, 2)).or_else(|| {
        raw.find(':')
            .filter(|&i| TRANSLATED.contains(&base_of(i).as_str()))
            .map(|i| (i, 1))
    });
    if let Some((i, width)) = split
        && let Some(canon) = find(&base_of(i))
        && TRANSLATED.contains(&canon.as_str())
    {
        let lang = raw[i + width..].trim();
        // `label::` and `label::default` are the untranslated column.
        let lang =
            (!lang.is_empty() && !lang.eq_ignore_ascii_case("default")).then(|| lang.to_string());
        return (canon, lang);
    }
    // A choice list's own columns are named in choice filters as written.
    (if keep_case { raw.to_string() } else { lower }, None)
}

/// A cell as text: formulas by their cached value, whole numbers without
/// ".0", dates as ISO dates.
pub(super) fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        // Refused where read (Reading::sheet); never a value.
        Data::Error(_) => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Data::DateTime(dt) => serial_date(dt.as_f64(), dt.is_duration()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

pub(super) fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// An Excel serial date (days since 1899-12-30) as `YYYY-MM-DD`, with the
/// time when it has one.
pub(super) fn serial_date(serial: f64, duration: bool) -> String {
    if duration || !serial.is_finite() || !(0.0..3_000_000.0).contains(&serial) {
        return number(serial);
    }
    let total = (serial * 86_400.0).round() as i64;
    let (days, seconds) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days - 25_569 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    if serial < 1.0 {
        // A time of day alone.
        return format!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
    }
    if seconds == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }
}

/// Column letters of a 0-based index (0 = A).
pub(super) fn column_letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

pub(super) struct Reading {
    pub(super) path: String,
    pub(super) errors: Vec<FormError>,
    pub(super) warnings: Vec<FormError>,
    /// Cells and bytes of cell text read so far, against the caps.
    pub(super) cells: usize,
    pub(super) text: usize,
}

impl Reading {
    pub(super) fn sheet(
        &mut self,
        book: &mut calamine::Xlsx<Cursor<&[u8]>>,
        actual: &str,
        name: &'static str,
        aliases: &[(&str, &[&str])],
    ) -> Option<Sheet> {
        let cells = self.cells(book, actual, name)?;
        let first_row = cells.iter().map(|(p, _)| p.0).min().unwrap_or(0) as usize;
        let first_col = cells.iter().map(|(p, _)| p.1).min().unwrap_or(0) as usize;
        let width = cells
            .iter()
            .map(|(p, _)| p.1 as usize - first_col + 1)
            .max()
            .unwrap_or(0);
        // Rows from the first with a value, each as wide as its last value
        // (the header as wide as the widest).
        let mut grid: BTreeMap<usize, Vec<Data>> = BTreeMap::new();
        for ((row, col), value) in cells {
            let at = grid.entry(row as usize).or_default();
            let c = col as usize - first_col;
            if at.len() <= c {
                at.resize(c + 1, Data::Empty);
            }
            at[c] = value;
        }
        let mut head_cells = grid.remove(&first_row).unwrap_or_default();
        head_cells.resize(width, Data::Empty);
        let head: Vec<Option<(String, Option<String>)>> = head_cells
            .iter()
            .map(|c| {
                let text = cell_text(c);
                (!text.is_empty()).then(|| header(&text, aliases, name.ends_with("choices")))
            })
            .collect();
        let mut seen: HashMap<&(String, Option<String>), usize> = HashMap::new();
        for (i, h) in head.iter().enumerate() {
            let Some(h) = h else { continue };
            if let Some(first) = seen.insert(h, i) {
                let shown = match &h.1 {
                    Some(lang) => format!("{}::{lang}", h.0),
                    None => h.0.clone(),
                };
                self.errors.push(error(
                    &self.path,
                    name,
                    Some(first_row + 1),
                    Some(&shown),
                    format!(
                        "the column '{shown}' appears twice (columns {} and {}); keep one",
                        column_letters(first_col + first),
                        column_letters(first_col + i)
                    ),
                ));
            }
        }
        let mut out = Vec::new();
        for (row, values) in grid {
            let at = row + 1;
            for (c, cell) in values.iter().enumerate() {
                if let Data::Error(e) = cell {
                    let column = head
                        .get(c)
                        .cloned()
                        .flatten()
                        .map_or_else(|| column_letters(first_col + c), |h| h.0);
                    self.errors.push(error(
                        &self.path,
                        name,
                        Some(at),
                        Some(&column),
                        format!(
                            "the cell holds a spreadsheet error ({e:?}) instead of a value; fix \
                             the formula in Excel and save again"
                        ),
                    ));
                }
            }
            let cells: Vec<String> = values.iter().map(cell_text).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            out.push((at, cells));
        }
        Some(Sheet {
            name,
            header_row: first_row + 1,
            first_col,
            columns: head,
            rows: out,
        })
    }

    /// The sheet's cells with a value, by (row, column) from 0, within
    /// the workbook caps: a refused sheet gives None and an error.
    pub(super) fn cells(
        &mut self,
        book: &mut calamine::Xlsx<Cursor<&[u8]>>,
        actual: &str,
        name: &'static str,
    ) -> Option<Vec<((u32, u32), Data)>> {
        let mut reader = match book.worksheet_cells_reader(actual) {
            Ok(r) => r,
            Err(e) => return self.unreadable(name, actual, e),
        };
        let mut cells = Vec::new();
        // Cells of each row up to its last value, as `sheet` lays them out.
        let mut widths: HashMap<u32, u32> = HashMap::new();
        loop {
            let cell = match reader.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => break,
                Err(e) => return self.unreadable(name, actual, e),
            };
            let (row, col) = cell.get_position();
            let text = match cell.get_value() {
                DataRef::Empty => continue,
                DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len(),
                DataRef::SharedString(s) => s.len(),
                _ => 0,
            };
            let at = Some(row as usize + 1);
            let letters = column_letters(col as usize);
            if col >= MAX_SHEET_COLUMNS {
                self.refuse(
                    name,
                    at,
                    Some(&letters),
                    format!(
                        "the sheet '{actual}' has a value in column {letters}, beyond fieldkit's \
                         cap of {MAX_SHEET_COLUMNS} columns; delete the columns after the form's \
                         last one"
                    ),
                );
                return None;
            }
            if text > MAX_CELL_BYTES {
                self.refuse(
                    name,
                    at,
                    Some(&letters),
                    format!(
                        "the cell holds {text} bytes of text, over fieldkit's cap of {} for a \
                         cell; shorten it",
                        limits::bytes(MAX_CELL_BYTES as u64)
                    ),
                );
                return None;
            }
            self.text += text;
            // A cell counts once, and a row as wide as from column A to
            // its last value (what `sheet` lays out, at most).
            let width = widths.entry(row).or_default();
            self.cells += 1 + (col + 1).saturating_sub(*width) as usize;
            *width = (*width).max(col + 1);
            if self.text > MAX_WORKBOOK_TEXT_BYTES || self.cells > MAX_WORKBOOK_CELLS {
                self.refuse(
                    name,
                    at,
                    None,
                    format!(
                        "the workbook holds more than {MAX_WORKBOOK_CELLS} cells or {} of text, \
                         fieldkit's caps for a workbook; a form is far smaller: check that this \
                         is the right file",
                        limits::bytes(MAX_WORKBOOK_TEXT_BYTES as u64)
                    ),
                );
                return None;
            }
            cells.push(((row, col), Data::from(cell.get_value().clone())));
        }
        Some(cells)
    }

    pub(super) fn unreadable<T>(
        &mut self,
        name: &'static str,
        actual: &str,
        e: impl Display,
    ) -> Option<T> {
        let message = format!("the sheet '{actual}' cannot be read ({e}); save the workbook again");
        self.errors
            .push(error(&self.path, name, None, None, message));
        None
    }

    pub(super) fn warn(
        &mut self,
        sheet: &'static str,
        row: Option<usize>,
        column: Option<&str>,
        m: String,
    ) {
        self.warnings.push(error(&self.path, sheet, row, column, m));
    }

    pub(super) fn refuse(
        &mut self,
        sheet: &'static str,
        row: Option<usize>,
        column: Option<&str>,
        m: String,
    ) {
        self.errors.push(error(&self.path, sheet, row, column, m));
    }
}

/// Types pyxform accepts under other spellings: `select one from LIST`,
/// `select all that apply LIST or specify other`, `begin group`, `int`,
/// `uri:deviceid`...
pub(super) fn canonical_type(t: &str) -> String {
    let t = t.trim();
    let t = match t.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("uri:") => &t[4..],
        _ => t,
    };
    let mut words: Vec<&str> = t.split_whitespace().collect();
    // `... or specify other` and `... or other` are or_other.
    let n = words.len();
    let lower_words: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    if n > 3 && lower_words[n - 3..] == ["or", "specify", "other"] {
        words.truncate(n - 3);
        words.push("or_other");
    } else if n > 2 && lower_words[n - 2..] == ["or", "other"] {
        words.truncate(n - 2);
        words.push("or_other");
    }
    // `select_one from LIST`: the legacy "from" (not `select one from
    // file`, which is select_one_from_file).
    if words
        .first()
        .is_some_and(|w| w.to_lowercase().starts_with("select"))
        && let Some(at) = words.iter().position(|w| w.eq_ignore_ascii_case("from"))
        && !words[at + 1..]
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("file"))
        && at + 1 < words.len()
    {
        words.remove(at);
    }
    let t = words.join(" ");
    let lower = t.to_lowercase();
    for (from, to) in [
        ("select one from file ", "select_one_from_file "),
        ("select multiple from file ", "select_multiple_from_file "),
        (
            "select all that apply from file ",
            "select_multiple_from_file ",
        ),
        ("select one external ", "select_one_external "),
        ("select one ", "select_one "),
        ("select1 ", "select_one "),
        ("select all that apply ", "select_multiple "),
        ("select multiple ", "select_multiple "),
    ] {
        if lower.starts_with(from) {
            return format!("{to}{}", &t[from.len()..]);
        }
    }
    if lower.starts_with("select_one ")
        || lower.starts_with("select_multiple ")
        || lower.starts_with("select_one_from_file ")
        || lower.starts_with("select_multiple_from_file ")
        || lower.starts_with("select_one_external ")
    {
        let (kw, rest) = t.split_once(' ').unwrap_or((&t, ""));
        return format!("{} {rest}", kw.to_lowercase());
    }
    match lower.as_str() {
        "begin group" => "begin_group",
        "end group" => "end_group",
        "begin repeat" => "begin_repeat",
        "end repeat" => "end_repeat",
        "int" => "integer",
        "string" => "text",
        "trigger" => "acknowledge",
        "imei" => "deviceid",
        "phone number" => "phonenumber",
        "gps" | "location" => "geopoint",
        "datetime" => "datetime",
        "photo" => "image",
        _ => return lower,
    }
    .to_string()
}

/// What fieldkit does with a type it does not run.
pub(super) enum Unsupported {
    /// Metadata a server fills; fieldkit leaves it out.
    Metadata,
    /// A question fieldkit cannot ask (media, drawing on a map...): left
    /// out when nothing needs it, refused otherwise.
    Question(&'static str),
}

pub(super) fn unsupported(t: &str) -> Option<Unsupported> {
    let first = t.split_whitespace().next().unwrap_or("");
    if first == "osm" {
        return Some(Unsupported::Question("OpenStreetMap tags"));
    }
    Some(match t {
        "phonenumber"
        | "email"
        | "simserial"
        | "subscriberid"
        | "audit"
        | "start-geopoint"
        | "background-audio"
        | "background-geopoint" => Unsupported::Metadata,
        "xml-external" => Unsupported::Question("external XML instances"),
        _ => return None,
    })
}
