//! Loading a form from its TOML file (and the CSVs beside it) into a `Form`,
//! with every check XLSForm tools make at load time, so that a broken form
//! is refused here, never at the enumerator's keyboard. Each error names the
//! file, the row and the column, and says what to do. Never panics.
//!
//! This module owns the entry points, the `Loader` with its cell reading
//! and error reporting, the settings and the assembly of the `Form`; the
//! survey rows are read in `survey`, the choice lists and CSVs in
//! `choices`, and names, order and slots are worked out in `resolve`.

mod choices;
mod entities;
mod media;
mod resolve;
mod rows;
mod survey;

pub(crate) use rows::{APPEARANCES, RowType, column_applies, parse_type};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{FormError, file_error};
use super::expr::{self, Expr, Func};
use super::limits::{self, MAX_CHOICES, MAX_FORM_BYTES, MAX_FORM_KEYS, MAX_SURVEY_ROWS};
use super::model::{
    ChoiceFilter, ChoiceList, Default, Form, Node, NodeId, Required, Text, sha256_hex,
};
use resolve::{Resolver, assign_slots, draws_random, equality_filter, output_refs};

const TRANSLATED: &[&str] = &[
    "label",
    "hint",
    "required_message",
    "constraint_message",
    "soft_constraint_message",
];
const SETTINGS: &[&str] = &[
    "form_id",
    "version",
    "form_title",
    "default_language",
    "instance_name",
    "needs_review",
    "allow_choice_duplicates",
    "style",
];

type Cell = Spanned<toml::Value>;
type Row = BTreeMap<String, Cell>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    settings: Option<Row>,
    #[serde(default)]
    survey: Vec<Spanned<Row>>,
    #[serde(default)]
    choices: Vec<Spanned<Row>>,
    /// XLSForm's `entities` sheet: one row, as a table.
    entities: Option<Row>,
}

/// Loads a form from TOML text; `path` names it in errors and locates its CSVs.
pub fn load_str(src: &str, path: &Path) -> Result<Form, Vec<FormError>> {
    load_str_in(src, path, &[])
}

/// Loads a form from TOML text, its CSVs looked for beside `path` and then
/// in `data_dirs` (the forms folders, a round pack's folder), each with
/// its `lists/` and `entities/` folders.
pub fn load_str_in(src: &str, path: &Path, data_dirs: &[PathBuf]) -> Result<Form, Vec<FormError>> {
    let keys = src.bytes().filter(|&b| b == b'=').count();
    let too_large = if src.len() > MAX_FORM_BYTES {
        Some(format!(
            "{} bytes, over fieldkit's cap of {}",
            src.len(),
            limits::bytes(MAX_FORM_BYTES as u64)
        ))
    } else if keys > MAX_FORM_KEYS {
        Some(format!(
            "{keys} '=' signs (keys and values), over fieldkit's cap of {MAX_FORM_KEYS}"
        ))
    } else {
        None
    };
    if let Some(what) = too_large {
        return Err(vec![file_error(
            &path.display().to_string(),
            None,
            format!(
                "the form has {what} for a form; a real form is far smaller: check that this is \
                 the right file"
            ),
        )]);
    }
    let mut cx = Loader {
        path: path.display().to_string(),
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        line_starts: std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect(),
        errors: Vec::new(),
        warnings: Vec::new(),
        data_dirs: data_dirs.to_vec(),
        externals: Vec::new(),
        csv_bytes: 0,
    };
    let raw: RawForm = match toml::from_str(src) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map(|s| cx.line(s.start));
            let message = format!(
                "this is not a valid form file: {}. Fix the TOML syntax, or check the key names \
                 ([settings], [[survey]], [[choices]]).",
                e.message().trim_end()
            );
            return Err(vec![file_error(&cx.path, line, message)]);
        }
    };
    let form = cx.build(raw, src);
    if cx.errors.is_empty() {
        form.ok_or_else(Vec::new)
    } else {
        Err(cx.errors)
    }
}

/// A cell's text: untranslated, or per language.
enum CellText {
    Plain(String),
    Translated(Vec<(String, String)>),
}

struct Loader {
    path: String,
    dir: PathBuf,
    /// Byte offset where each line of the file starts.
    line_starts: Vec<usize>,
    errors: Vec<FormError>,
    /// What the form asks differently from how it is written (names
    /// shared between groups, stored under their path).
    warnings: Vec<FormError>,
    /// Further folders where CSVs are looked for, after the form's own.
    data_dirs: Vec<PathBuf>,
    /// `csv-external` rows: (name, row, line).
    externals: Vec<(String, usize, Option<usize>)>,
    /// Bytes of CSV files read so far (capped in all).
    csv_bytes: usize,
}

/// What the loader keeps about a survey row while it builds the nodes.
#[derive(Default)]
struct RowSource {
    line: usize,
    lines: HashMap<String, usize>,
    /// Raw expression text per column, parsed once every name is known.
    exprs: Vec<(&'static str, String)>,
    label_texts: Vec<(&'static str, String)>,
    /// The entity property the answer is saved to (`save_to`).
    save_to: Option<String>,
}

impl Loader {
    fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    fn err(
        &mut self,
        sheet: &'static str,
        row: Option<usize>,
        column: Option<&str>,
        line: Option<usize>,
        message: impl Into<String>,
    ) {
        self.errors.push(FormError {
            path: self.path.clone(),
            sheet,
            row,
            column: column.map(str::to_string),
            line,
            message: message.into(),
        });
    }

    /// A cell as text: strings as they are, numbers and booleans written out,
    /// tables as translations (only in translatable columns).
    fn cell_text(
        &mut self,
        sheet: &'static str,
        row: Option<usize>,
        column: &str,
        cell: &Cell,
        translatable: bool,
    ) -> Option<CellText> {
        let line = Some(self.line(cell.span().start));
        let problem = match cell.get_ref() {
            toml::Value::String(s) => return Some(CellText::Plain(s.clone())),
            toml::Value::Integer(i) => return Some(CellText::Plain(i.to_string())),
            toml::Value::Float(x) => return Some(CellText::Plain(x.to_string())),
            toml::Value::Boolean(b) => {
                return Some(CellText::Plain(if *b { "yes" } else { "no" }.into()));
            }
            toml::Value::Table(t) if translatable => {
                let mut out = Vec::new();
                for (lang, v) in t {
                    match v {
                        toml::Value::String(s) => out.push((lang.clone(), s.clone())),
                        _ => {
                            self.err(
                                sheet,
                                row,
                                Some(column),
                                line,
                                format!(
                                    "the '{lang}' text must be a string in quotes; write \
                                     {column} = {{ \"{lang}\" = \"...\" }}"
                                ),
                            );
                            return None;
                        }
                    }
                }
                return Some(CellText::Translated(out));
            }
            toml::Value::Table(_) => format!(
                "'{column}' takes one value, not a table of languages; only {} are translated",
                TRANSLATED.join(", ")
            ),
            toml::Value::Array(_) => format!("'{column}' takes one value, not a list"),
            toml::Value::Datetime(_) => {
                format!("write the date in quotes: {column} = \"2026-01-31\"")
            }
        };
        self.err(sheet, row, Some(column), line, problem);
        None
    }

    fn plain(
        &mut self,
        sheet: &'static str,
        row: Option<usize>,
        column: &str,
        cell: &Cell,
    ) -> Option<String> {
        match self.cell_text(sheet, row, column, cell, false)? {
            CellText::Plain(s) => Some(s.trim().to_string()),
            CellText::Translated(_) => None,
        }
    }

    fn text(&mut self, sheet: &'static str, row: Option<usize>, column: &str, cell: &Cell) -> Text {
        match self.cell_text(sheet, row, column, cell, true) {
            Some(CellText::Plain(s)) => Text(vec![(String::new(), s)]),
            Some(CellText::Translated(v)) => Text(v),
            None => Text::default(),
        }
    }

    fn build(&mut self, raw: RawForm, src: &str) -> Option<Form> {
        let stem = Path::new(&self.path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "form".into());
        let mut settings = Settings {
            id: stem,
            version: "1".into(),
            ..Settings::default()
        };
        if let Some(row) = &raw.settings {
            self.settings(row, &mut settings);
        }
        if !self.within_caps(&raw) {
            return None;
        }
        let mut lists = self.choice_lists(&raw.choices, settings.allow_duplicates);
        let (mut nodes, top, mut sources) = self.survey(&raw.survey);
        if nodes.is_empty() && self.errors.is_empty() {
            self.err(
                "survey",
                None,
                None,
                None,
                "the form has no questions: add [[survey]] rows",
            );
        }
        self.file_lists(&nodes, &mut sources, &mut lists);
        let instances = self.data_instances(&nodes, &sources, &mut lists);
        let plain: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        let named = self.qualify_shared_names(&mut nodes, &sources);
        let by_name: HashMap<String, NodeId> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut regexes = HashMap::new();
        let mut resolver = Resolver {
            named: &named,
            plain: &plain,
            top: &top,
            nodes: &nodes,
            lists: &lists,
            instances: &instances,
            regexes: &mut regexes,
            missing_columns: Vec::new(),
        };
        let mut parsed = Vec::new();
        for (id, source) in sources.iter().enumerate() {
            for (column, text) in &source.exprs {
                let line = source.lines.get(*column).copied();
                match resolver.expression(id, column, text) {
                    Ok(e) => parsed.push((id, *column, e)),
                    Err(msg) => self.err(
                        "survey",
                        Some(nodes[id].row),
                        Some(column),
                        line,
                        format!("{}: {msg}", nodes[id].name),
                    ),
                }
            }
            for (column, text) in &source.label_texts {
                for name in output_refs(text) {
                    let problem = match named.get(&name).map(Vec::as_slice) {
                        None | Some([]) => format!(
                            "the text shows ${{{name}}}, but no field is named '{name}'. Fix the \
                             name or remove it."
                        ),
                        Some([_]) => continue,
                        Some(many) => resolver.ambiguous(&name, many),
                    };
                    let line = source.lines.get(*column).copied();
                    self.err(
                        "survey",
                        Some(nodes[id].row),
                        Some(column),
                        line,
                        format!("{}: {problem}", nodes[id].name),
                    );
                }
            }
        }
        let instance_name = settings.instance_name.take().and_then(|(text, line)| {
            match resolver.expression(usize::MAX, "instance_name", &text) {
                Ok(e) => Some(e),
                // A bare name is a path to nothing in ODK: the record
                // keeps its default name.
                Err(_) if matches!(expr::parse(&text), Ok(Expr::Column(_))) => {
                    self.warnings.push(FormError {
                        path: self.path.clone(),
                        sheet: "settings",
                        row: None,
                        column: Some("instance_name".into()),
                        line: Some(line),
                        message: format!(
                            "instance_name '{text}' is a bare name, which ODK reads as an empty \
                             path: records keep their default name. Write concat('{text}') for \
                             a fixed text, or ${{field}} for a field's value"
                        ),
                    });
                    None
                }
                Err(msg) => {
                    self.err("settings", None, Some("instance_name"), Some(line), msg);
                    None
                }
            }
        });
        let entity = self.entities(raw.entities.as_ref(), &mut resolver, &sources);
        for (id, column, list) in std::mem::take(&mut resolver.missing_columns) {
            self.warnings.push(FormError {
                path: self.path.clone(),
                sheet: "survey",
                row: Some(nodes[id].row),
                column: Some("choice_filter".into()),
                line: sources[id].lines.get("choice_filter").copied(),
                message: format!(
                    "{}: the choices of '{list}' have no column '{column}'; as in ODK it is \
                     empty, and a comparison with it matches no choice. Add the column to the \
                     list, or quote '{column}' if it is a value",
                    nodes[id].name
                ),
            });
        }
        for (id, column, e) in parsed {
            let node = &mut nodes[id];
            match column {
                "relevant" => node.relevant = Some(e),
                "constraint" => node.constraint = Some(e),
                "soft_constraint" => node.soft_constraint = Some(e),
                // random() and uuid() are drawn once per record, as
                // once() makes them in ODK: a value that changed at every
                // answer would be no use.
                "calculation" if draws_random(&e) => {
                    node.calculation = Some(Expr::Call(Func::Once, vec![e]))
                }
                "calculation" => node.calculation = Some(e),
                "required" => node.required = Required::When(e),
                "repeat_count" => node.repeat_count = Some(e),
                "seed" => node.seed = Some(e),
                "default" => node.default = Some(Default::Dynamic(e)),
                "choice_filter" => {
                    let list = node.kind.list().and_then(|l| lists.get(l));
                    let equals = equality_filter(&e, list);
                    node.choice_filter = Some(ChoiceFilter { expr: e, equals });
                }
                _ => {}
            }
        }
        if !self.errors.is_empty() {
            return None;
        }
        let order = self.evaluation_order(&nodes, &sources)?;
        self.growing_texts(&nodes, &order, &sources);
        if !self.errors.is_empty() {
            return None;
        }
        let (root_slots, repeat_slots) = assign_slots(&mut nodes, &top);
        let languages = languages(&settings, &nodes, &lists);
        Some(Form {
            id: settings.id,
            version: settings.version,
            title: settings.title,
            default_language: settings.default_language,
            languages,
            needs_review: settings.needs_review,
            instance_name,
            nodes,
            top,
            lists,
            instances,
            entity,
            order,
            root_slots,
            repeat_slots,
            source: PathBuf::from(&self.path),
            text: std::sync::Arc::from(src),
            sha256: sha256_hex(src.as_bytes()),
            warnings: std::mem::take(&mut self.warnings),
            by_name,
            regexes,
        })
    }

    /// Refuses a form with more rows or choices than fieldkit's caps,
    /// before any work on its rows.
    fn within_caps(&mut self, raw: &RawForm) -> bool {
        let counts = [
            (
                "survey",
                raw.survey.len(),
                MAX_SURVEY_ROWS,
                "[[survey]] rows",
            ),
            (
                "choices",
                raw.choices.len(),
                MAX_CHOICES,
                "[[choices]] rows",
            ),
        ];
        let mut ok = true;
        for (sheet, count, cap, what) in counts {
            if count > cap {
                let line = match sheet {
                    "survey" => raw.survey.get(cap),
                    _ => raw.choices.get(cap),
                }
                .map(|row| self.line(row.span().start));
                self.err(
                    sheet,
                    Some(cap + 1),
                    None,
                    line,
                    format!(
                        "the form has {count} {what}, over fieldkit's cap of {cap}; split it into \
                         several forms"
                    ),
                );
                ok = false;
            }
        }
        ok
    }

    fn settings(&mut self, row: &Row, s: &mut Settings) {
        for (key, cell) in row {
            let line = Some(self.line(cell.span().start));
            match key.as_str() {
                "form_title" => s.title = self.text("settings", None, key, cell),
                "needs_review" => match cell.get_ref() {
                    toml::Value::Array(items) => {
                        s.needs_review = items
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect();
                    }
                    _ => self.err(
                        "settings",
                        None,
                        Some(key),
                        line,
                        "needs_review is a list of languages: needs_review = [\"Lao (lo)\"]",
                    ),
                },
                k if SETTINGS.contains(&k) => {
                    let Some(value) = self.plain("settings", None, key, cell) else {
                        continue;
                    };
                    match k {
                        "form_id" => {
                            if valid_name(&value)
                                && unsafe_component(&value, MAX_NAME_BYTES).is_none()
                            {
                                s.id = value;
                            } else {
                                self.err(
                                    "settings",
                                    None,
                                    Some(key),
                                    line,
                                    format!(
                                        "form_id '{value}' must start with a letter and hold \
                                         only letters, digits, '_', '-' or '.' (at most \
                                         {MAX_NAME_BYTES} bytes, not a Windows device name)"
                                    ),
                                );
                            }
                        }
                        "version" if value.is_empty() => self.err(
                            "settings",
                            None,
                            Some(key),
                            line,
                            "version is empty: give the form a version such as \"2026.1\"",
                        ),
                        "version" => match unsafe_component(&value, MAX_NAME_BYTES) {
                            None => s.version = value,
                            Some(why) => self.err(
                                "settings",
                                None,
                                Some(key),
                                line,
                                format!(
                                    "version '{value}' {why}: it becomes part of file names, so \
                                     use at most {MAX_NAME_BYTES} bytes without / \\ : * ? \" < > \
                                     | or a leading dot, such as \"2026.1\""
                                ),
                            ),
                        },
                        "default_language" => s.default_language = Some(value),
                        "instance_name" => s.instance_name = line.map(|l| (value, l)),
                        "allow_choice_duplicates" => {
                            s.allow_duplicates = yes_no(&value) == Some(true)
                        }
                        _ => {}
                    }
                }
                other => {
                    let hint = suggest(other, SETTINGS);
                    self.err(
                        "settings",
                        None,
                        Some(other),
                        line,
                        format!(
                            "unknown setting '{other}'{hint}. Settings are: {}",
                            SETTINGS.join(", ")
                        ),
                    );
                }
            }
        }
    }
}

#[derive(Default)]
struct Settings {
    id: String,
    version: String,
    title: Text,
    default_language: Option<String>,
    instance_name: Option<(String, usize)>,
    needs_review: Vec<String>,
    allow_duplicates: bool,
}

fn yes_no(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "true()" => Some(true),
        "no" | "false" | "false()" | "" => Some(false),
        _ => None,
    }
}

/// A form id or version is at most this many bytes: both become parts of
/// file names (bundle entries, conflict folders, tables, workbooks), and
/// `verify` refuses longer ones in a manifest.
pub const MAX_NAME_BYTES: usize = 64;

/// Why `name` cannot be a single file or folder name on every laptop, if
/// it cannot: empty or longer than `max` bytes, a path separator, a
/// control character or one Windows refuses, a leading dot (hidden, or
/// `..`), a trailing dot or space, or a Windows device name (`con`,
/// `nul`, `com1`...).
pub fn unsafe_component(name: &str, max: usize) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.len() > max {
        return Some("is too long");
    }
    if name.chars().any(|c| {
        c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
    }) {
        return Some("holds a character a file name cannot have");
    }
    if name.starts_with('.') || name.ends_with('.') || name.ends_with(' ') {
        return Some("starts or ends with a dot or ends with a space");
    }
    let stem = name
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_lowercase();
    let device = matches!(stem.as_str(), "con" | "prn" | "aux" | "nul")
        || ((stem.starts_with("com") || stem.starts_with("lpt"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        return Some("is a device name on Windows");
    }
    None
}

pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// "; did you mean 'x'?" for a near miss among `known`.
fn suggest(word: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .min()
        .filter(|(d, _)| *d <= 2);
    match best {
        Some((_, k)) => format!(" (did you mean '{k}'?)"),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn languages(
    settings: &Settings,
    nodes: &[Node],
    lists: &BTreeMap<String, ChoiceList>,
) -> Vec<String> {
    let mut langs: Vec<String> = Vec::new();
    let mut add = |t: &Text| {
        for (l, _) in &t.0 {
            if !l.is_empty() && !langs.contains(l) {
                langs.push(l.clone());
            }
        }
    };
    add(&settings.title);
    for n in nodes {
        add(&n.label);
        add(&n.hint);
    }
    for list in lists.values() {
        if let Some(c) = list.choices.first() {
            add(&c.label);
        }
    }
    if let Some(d) = &settings.default_language {
        langs.retain(|l| l != d);
        langs.insert(0, d.clone());
    }
    langs
}
