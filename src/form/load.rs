//! Loading a form from its TOML file (and the CSVs beside it) into a `Form`,
//! with every check XLSForm tools make at load time, so that a broken form
//! is refused here, never at the enumerator's keyboard. Each error names the
//! file, the row and the column, and says what to do. Never panics.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::expr::{self, BinOp, Expr, Func};
use super::limits::{
    self, MAX_CHOICES, MAX_CSV_BYTES, MAX_FORM_BYTES, MAX_FORM_KEYS, MAX_NESTING, MAX_SURVEY_ROWS,
    MAX_TEXT_BYTES,
};
use super::model::{
    Choice, ChoiceFilter, ChoiceList, Default, Form, Kind, Node, NodeId, Required, Text,
};

/// One problem in a form definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FormError {
    pub path: String,
    /// "settings", "survey", "choices", or "file" (the file as a whole).
    pub sheet: &'static str,
    /// 1-based row among the sheet's rows.
    pub row: Option<usize>,
    pub column: Option<String>,
    /// 1-based line in the file, where known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = match (self.sheet, self.row) {
            ("file", _) => match self.line {
                Some(l) => format!("line {l}"),
                None => "file".to_string(),
            },
            (sheet, Some(r)) => format!("{sheet} row {r}"),
            (sheet, None) => sheet.to_string(),
        };
        let column = self.column.as_deref().unwrap_or("-");
        write!(f, "{}:{row}:{column}: {}", self.path, self.message)?;
        if let (false, Some(l)) = (self.sheet == "file", self.line) {
            write!(f, " (line {l})")?;
        }
        Ok(())
    }
}

const SURVEY_COLUMNS: &[&str] = &[
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "default",
    "read_only",
    "appearance",
    "choice_filter",
    "repeat_count",
    "hxl",
];
const TRANSLATED: &[&str] = &["label", "hint", "required_message", "constraint_message"];
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
/// Appearances fieldkit knows; the TUI acts on the first three.
pub(crate) const APPEARANCES: &[&str] = &[
    "field-list",
    "minimal",
    "search",
    "autocomplete",
    "multiline",
    "numbers",
    "thousands-sep",
    "month-year",
    "year",
    "no-calendar",
    "horizontal",
    "horizontal-compact",
    "compact",
    "likert",
    "quick",
    "list-nolabel",
    "label",
    "table-list",
];
const TYPES: &str = "text, integer, decimal, select_one LIST, select_multiple LIST, \
select_one_from_file FILE.csv, select_multiple_from_file FILE.csv, date, time, datetime, \
geopoint, note, acknowledge, calculate, hidden, begin_group, end_group, begin_repeat, \
end_repeat, start, end, today, deviceid, username";

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
}

/// Loads and checks the form at `path` (TOML, or an XLSForm workbook
/// when it ends in .xlsx); CSVs are read from its folder.
pub fn load(path: &Path) -> Result<Form, Vec<FormError>> {
    if path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("xlsx"))
    {
        return super::xlsform::load(path);
    }
    let shown = path.display().to_string();
    let bytes = read_capped(path, MAX_FORM_BYTES).map_err(|e| {
        let message = match e {
            Capped::TooLarge => format!(
                "the form file is larger than {}, fieldkit's cap for a form; a real form is \
                 far smaller: check that this is the right file",
                limits::bytes(MAX_FORM_BYTES as u64)
            ),
            Capped::Io(e) => format!("cannot read the form: {e}. Check the path."),
        };
        vec![file_error(&shown, None, message)]
    })?;
    let src = String::from_utf8(bytes).map_err(|e| {
        vec![file_error(
            &shown,
            None,
            format!(
                "the file is not UTF-8 text (bad byte at offset {}). Save it as UTF-8.",
                e.utf8_error().valid_up_to()
            ),
        )]
    })?;
    load_str(&src, path)
}

/// Why `read_capped` read nothing.
pub(crate) enum Capped {
    TooLarge,
    Io(std::io::Error),
}

/// The file's bytes, refused when over `cap` bytes: never more than `cap`
/// + 1 bytes are read, whatever size the file claims.
pub(crate) fn read_capped(path: &Path, cap: usize) -> Result<Vec<u8>, Capped> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(Capped::Io)?;
    let claimed = file.metadata().map(|m| m.len()).unwrap_or(0);
    if claimed > cap as u64 {
        return Err(Capped::TooLarge);
    }
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(Capped::Io)?;
    if bytes.len() > cap {
        return Err(Capped::TooLarge);
    }
    Ok(bytes)
}

fn file_error(path: &str, line: Option<usize>, message: String) -> FormError {
    FormError {
        path: path.to_string(),
        sheet: "file",
        row: None,
        column: None,
        line,
        message,
    }
}

/// Loads a form from TOML text; `path` names it in errors and locates its CSVs.
pub fn load_str(src: &str, path: &Path) -> Result<Form, Vec<FormError>> {
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
    let form = cx.build(raw);
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
}

/// What the loader keeps about a survey row while it builds the nodes.
#[derive(Default)]
struct RowSource {
    line: usize,
    lines: HashMap<String, usize>,
    /// Raw expression text per column, parsed once every name is known.
    exprs: Vec<(&'static str, String)>,
    label_texts: Vec<(&'static str, String)>,
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

    fn build(&mut self, raw: RawForm) -> Option<Form> {
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
        let by_name: HashMap<String, NodeId> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut regexes = HashMap::new();
        let mut resolver = Resolver {
            by_name: &by_name,
            nodes: &nodes,
            lists: &lists,
            regexes: &mut regexes,
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
                    if !by_name.contains_key(&name) {
                        let line = source.lines.get(*column).copied();
                        self.err(
                            "survey",
                            Some(nodes[id].row),
                            Some(column),
                            line,
                            format!(
                                "{}: the text shows ${{{name}}}, but no field is named '{name}'. \
                                 Fix the name or remove it.",
                                nodes[id].name
                            ),
                        );
                    }
                }
            }
        }
        let instance_name = settings.instance_name.take().and_then(|(text, line)| {
            match resolver.expression(usize::MAX, "instance_name", &text) {
                Ok(e) => Some(e),
                Err(msg) => {
                    self.err("settings", None, Some("instance_name"), Some(line), msg);
                    None
                }
            }
        });
        for (id, column, e) in parsed {
            let node = &mut nodes[id];
            match column {
                "relevant" => node.relevant = Some(e),
                "constraint" => node.constraint = Some(e),
                "calculation" => node.calculation = Some(e),
                "required" => node.required = Required::When(e),
                "repeat_count" => node.repeat_count = Some(e),
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
            order,
            root_slots,
            repeat_slots,
            source: PathBuf::from(&self.path),
            converted: None,
            warnings: Vec::new(),
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

    fn choice_lists(
        &mut self,
        rows: &[Spanned<Row>],
        allow_duplicates: bool,
    ) -> BTreeMap<String, ChoiceList> {
        let mut grouped: BTreeMap<String, (Vec<Choice>, Vec<String>)> = BTreeMap::new();
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            let n = i + 1;
            let line = self.line(row.span().start);
            let row = row.get_ref();
            let get = |k: &str| row.get(k);
            let list_name = match get("list_name").or_else(|| get("list name")) {
                Some(c) => self.plain("choices", Some(n), "list_name", c),
                None => None,
            };
            let name = match get("name") {
                Some(c) => self.plain("choices", Some(n), "name", c),
                None => None,
            };
            let (Some(list_name), Some(name)) = (list_name, name) else {
                self.err(
                    "choices",
                    Some(n),
                    None,
                    Some(line),
                    "every choice needs list_name and name",
                );
                continue;
            };
            if name.is_empty() || list_name.is_empty() {
                self.err(
                    "choices",
                    Some(n),
                    Some("name"),
                    Some(line),
                    "list_name and name must not be empty",
                );
                continue;
            }
            if let Some(first) = seen.insert((list_name.clone(), name.clone()), n)
                && !allow_duplicates
            {
                self.err(
                    "choices",
                    Some(n),
                    Some("name"),
                    Some(line),
                    format!(
                        "list '{list_name}' already has a choice named '{name}' (choices row \
                         {first}); give each choice of a list its own name"
                    ),
                );
            }
            let label = match get("label") {
                Some(c) => self.text("choices", Some(n), "label", c),
                None => Text::default(),
            };
            let (choices, columns) = grouped.entry(list_name).or_default();
            let mut extra = Vec::new();
            for (key, cell) in row {
                if matches!(key.as_str(), "list_name" | "list name" | "name" | "label") {
                    continue;
                }
                let value = self
                    .plain("choices", Some(n), key, cell)
                    .unwrap_or_default();
                let col = match columns.iter().position(|c| c == key) {
                    Some(c) => c,
                    None => {
                        columns.push(key.clone());
                        columns.len() - 1
                    }
                };
                extra.push((col, value));
            }
            let mut values = vec![String::new(); columns.len()];
            for (col, value) in extra {
                values[col] = value;
            }
            choices.push(Choice {
                name,
                label,
                columns: values,
            });
        }
        grouped
            .into_iter()
            .map(|(name, (mut choices, columns))| {
                for c in &mut choices {
                    c.columns.resize(columns.len(), String::new());
                }
                let list = ChoiceList::new(name.clone(), choices, columns, None);
                (name, list)
            })
            .collect()
    }

    fn survey(&mut self, rows: &[Spanned<Row>]) -> (Vec<Node>, Vec<NodeId>, Vec<RowSource>) {
        let mut nodes: Vec<Node> = Vec::new();
        let mut sources: Vec<RowSource> = Vec::new();
        let mut top = Vec::new();
        // Open groups and repeats: (node, is_repeat, row).
        let mut open: Vec<(NodeId, bool)> = Vec::new();
        let mut names: HashMap<String, usize> = HashMap::new();
        for (i, spanned) in rows.iter().enumerate() {
            let n = i + 1;
            let line = self.line(spanned.span().start);
            let row = spanned.get_ref();
            let mut source = RowSource {
                line,
                ..RowSource::default()
            };
            for (key, cell) in row {
                let key_line = self.line(cell.span().start);
                match SURVEY_COLUMNS.iter().find(|c| **c == key) {
                    Some(c) => {
                        source.lines.insert((*c).to_string(), key_line);
                    }
                    None => {
                        let hint = suggest(key, SURVEY_COLUMNS);
                        self.err(
                            "survey",
                            Some(n),
                            Some(key),
                            Some(key_line),
                            format!(
                                "unknown column '{key}'{hint}. Survey columns are: {}",
                                SURVEY_COLUMNS.join(", ")
                            ),
                        );
                    }
                }
            }
            let Some(type_cell) = row.get("type") else {
                self.err(
                    "survey",
                    Some(n),
                    Some("type"),
                    Some(line),
                    format!("the row has no type; give one of: {TYPES}"),
                );
                continue;
            };
            let Some(type_text) = self.plain("survey", Some(n), "type", type_cell) else {
                continue;
            };
            let type_line = Some(self.line(type_cell.span().start));
            let parsed = match parse_type(&type_text) {
                Ok(t) => t,
                Err(msg) => {
                    self.err("survey", Some(n), Some("type"), type_line, msg);
                    continue;
                }
            };
            let kind = match parsed {
                RowType::End { repeat } => {
                    match open.pop() {
                        Some((_, was_repeat)) if was_repeat == repeat => {}
                        Some((id, was_repeat)) => {
                            let (opened, closing) = if was_repeat {
                                ("repeat", "end_repeat")
                            } else {
                                ("group", "end_group")
                            };
                            self.err(
                                "survey",
                                Some(n),
                                Some("type"),
                                type_line,
                                format!(
                                    "this row closes a {} but the innermost open one is the {opened} \
                                     '{}' (survey row {}); close it with {closing} first",
                                    if repeat { "repeat" } else { "group" },
                                    nodes[id].name,
                                    nodes[id].row
                                ),
                            );
                        }
                        None => self.err(
                            "survey",
                            Some(n),
                            Some("type"),
                            type_line,
                            format!(
                                "'{type_text}' closes nothing: there is no open {}; remove the row \
                                 or add the matching begin row",
                                if repeat { "repeat" } else { "group" }
                            ),
                        ),
                    }
                    continue;
                }
                RowType::Kind(k) => k,
            };
            let name = match row.get("name") {
                Some(c) => self.plain("survey", Some(n), "name", c).unwrap_or_default(),
                None => String::new(),
            };
            let name_line = source.lines.get("name").copied().or(Some(line));
            if name.is_empty() {
                self.err(
                    "survey",
                    Some(n),
                    Some("name"),
                    name_line,
                    "the row has no name; every question, group and repeat needs a unique name",
                );
                continue;
            }
            if !valid_name(&name) {
                self.err(
                    "survey",
                    Some(n),
                    Some("name"),
                    name_line,
                    format!(
                        "'{name}' is not a valid name: start with a letter or '_', then use only \
                         letters, digits, '_', '-' or '.'"
                    ),
                );
                continue;
            }
            if let Some(first) = names.insert(name.clone(), n) {
                self.err(
                    "survey",
                    Some(n),
                    Some("name"),
                    name_line,
                    format!(
                        "the name '{name}' is already used by survey row {first}; names must be \
                         unique in the whole form"
                    ),
                );
                continue;
            }
            let id = nodes.len();
            let mut node = Node {
                name,
                kind: kind.clone(),
                label: Text::default(),
                hint: Text::default(),
                required: Required::No,
                required_message: Text::default(),
                relevant: None,
                constraint: None,
                constraint_message: Text::default(),
                calculation: None,
                default: None,
                read_only: false,
                appearance: Vec::new(),
                choice_filter: None,
                repeat_count: None,
                hxl: None,
                parent: open.last().map(|(p, _)| *p),
                children: Vec::new(),
                repeats: Vec::new(),
                slot: 0,
                row: n,
            };
            self.columns(n, row, &mut node, &mut source);
            match node.parent {
                Some(p) => nodes[p].children.push(id),
                None => top.push(id),
            }
            let opens = matches!(kind, Kind::Group | Kind::Repeat);
            if opens {
                open.push((id, kind == Kind::Repeat));
            }
            nodes.push(node);
            sources.push(source);
            if opens && open.len() > MAX_NESTING {
                self.err(
                    "survey",
                    Some(n),
                    Some("type"),
                    type_line,
                    format!(
                        "this {} is nested {} deep, over fieldkit's cap of {MAX_NESTING} groups \
                         and repeats inside each other; close some groups before it",
                        if kind == Kind::Repeat {
                            "repeat"
                        } else {
                            "group"
                        },
                        open.len()
                    ),
                );
                // The rest would only repeat this error: stop here.
                return (nodes, top, sources);
            }
        }
        for (id, is_repeat) in open.into_iter().rev() {
            let line = sources[id].line;
            self.err(
                "survey",
                Some(nodes[id].row),
                Some("type"),
                Some(line),
                format!(
                    "the {} '{}' is never closed; add a row with type = \"{}\" after its last \
                     question",
                    if is_repeat { "repeat" } else { "group" },
                    nodes[id].name,
                    if is_repeat { "end_repeat" } else { "end_group" }
                ),
            );
        }
        (nodes, top, sources)
    }

    /// Reads the columns other than type and name into `node`, keeping
    /// expressions as text in `source` until every name is known.
    fn columns(&mut self, n: usize, row: &Row, node: &mut Node, source: &mut RowSource) {
        let kind = node.kind.clone();
        let is_field = !matches!(kind, Kind::Group | Kind::Repeat);
        for (key, cell) in row {
            let line = Some(self.line(cell.span().start));
            let name = node.name.clone();
            let not_here = |this: &mut Self, what: &str| {
                this.err(
                    "survey",
                    Some(n),
                    Some(key),
                    line,
                    format!("{name}: {key} {what}; remove it from this row"),
                );
            };
            match key.as_str() {
                "label" | "hint" | "required_message" | "constraint_message" => {
                    let text = self.text("survey", Some(n), key, cell);
                    let column: &'static str = match key.as_str() {
                        "label" => "label",
                        "hint" => "hint",
                        "required_message" => "required_message",
                        _ => "constraint_message",
                    };
                    for t in text.texts() {
                        source.label_texts.push((column, t.to_string()));
                    }
                    match column {
                        "label" => node.label = text,
                        "hint" => node.hint = text,
                        "required_message" => node.required_message = text,
                        _ => node.constraint_message = text,
                    }
                }
                "required" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    match yes_no(&v) {
                        Some(true) => node.required = Required::Yes,
                        Some(false) => {}
                        None => source.exprs.push(("required", v)),
                    }
                    if !kind.is_input() && node.required != Required::No {
                        not_here(self, "only applies to questions the enumerator answers");
                    }
                }
                "read_only" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    match yes_no(&v) {
                        Some(b) => node.read_only = b,
                        None => self.err(
                            "survey",
                            Some(n),
                            Some(key),
                            line,
                            format!("{}: read_only is \"yes\" or \"no\", not '{v}'", node.name),
                        ),
                    }
                }
                "appearance" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    for word in v.split_whitespace() {
                        if APPEARANCES.contains(&word) {
                            node.appearance.push(word.to_string());
                        } else {
                            let hint = suggest(word, APPEARANCES);
                            self.err(
                                "survey",
                                Some(n),
                                Some(key),
                                line,
                                format!(
                                    "{}: unknown appearance '{word}'{hint}. fieldkit knows: {}",
                                    node.name,
                                    APPEARANCES.join(", ")
                                ),
                            );
                        }
                    }
                }
                "hxl" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    if valid_hxl(&v) {
                        node.hxl = Some(v);
                    } else {
                        self.err(
                            "survey",
                            Some(n),
                            Some(key),
                            line,
                            format!(
                                "{}: '{v}' is not an HXL hashtag; write it like #affected+idps+f",
                                node.name
                            ),
                        );
                    }
                }
                "default" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    if !is_field {
                        not_here(self, "does not apply to a group or repeat");
                    } else if v.contains("${") || v.contains('(') {
                        source.exprs.push(("default", v));
                    } else if !v.is_empty() {
                        node.default = Some(Default::Literal(v));
                    }
                }
                "relevant" | "constraint" | "calculation" | "choice_filter" | "repeat_count" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    let column: &'static str = match key.as_str() {
                        "relevant" => "relevant",
                        "constraint" => "constraint",
                        "calculation" => "calculation",
                        "choice_filter" => "choice_filter",
                        _ => "repeat_count",
                    };
                    let allowed = match column {
                        "constraint" => kind.is_input(),
                        "calculation" => is_field,
                        "choice_filter" => kind.list().is_some(),
                        "repeat_count" => kind == Kind::Repeat,
                        _ => true,
                    };
                    if !allowed {
                        let what = match column {
                            "constraint" => "only applies to questions the enumerator answers",
                            "calculation" => "does not apply to a group or repeat",
                            "choice_filter" => "only applies to select questions",
                            _ => "only applies to begin_repeat rows",
                        };
                        not_here(self, what);
                    } else if !v.is_empty() {
                        source.exprs.push((column, v));
                    }
                }
                _ => {}
            }
        }
        let has_label = !node.label.is_empty() && node.label.texts().any(|t| !t.is_empty());
        if kind.is_visible() && !has_label && node.hint.is_empty() {
            self.err(
                "survey",
                Some(n),
                Some("label"),
                Some(source.line),
                format!(
                    "{}: the question has no label; write what the enumerator should ask",
                    node.name
                ),
            );
        }
        let has_calculation = source.exprs.iter().any(|(c, _)| *c == "calculation");
        if kind == Kind::Calculate && !has_calculation {
            self.err(
                "survey",
                Some(n),
                Some("calculation"),
                Some(source.line),
                format!(
                    "{}: a calculate row needs a calculation; add calculation = \"...\"",
                    node.name
                ),
            );
        }
    }

    /// Reads the CSVs named by `select_*_from_file` questions.
    fn file_lists(
        &mut self,
        nodes: &[Node],
        sources: &mut [RowSource],
        lists: &mut BTreeMap<String, ChoiceList>,
    ) {
        let mut loaded: HashSet<String> = HashSet::new();
        for (id, node) in nodes.iter().enumerate() {
            let Some(list) = node.kind.list() else {
                continue;
            };
            let line = sources[id].lines.get("type").copied();
            if !list.to_ascii_lowercase().ends_with(".csv") {
                if !lists.contains_key(list) {
                    self.err(
                        "survey",
                        Some(node.row),
                        Some("type"),
                        line,
                        format!(
                            "{}: there is no choice list '{list}'; add [[choices]] rows with \
                             list_name = \"{list}\"",
                            node.name
                        ),
                    );
                }
                continue;
            }
            if !loaded.insert(list.to_string()) {
                continue;
            }
            if list.contains(['/', '\\']) || list.starts_with('.') {
                self.err(
                    "survey",
                    Some(node.row),
                    Some("type"),
                    line,
                    format!(
                        "{}: '{list}' must be a file name beside the form, without a folder",
                        node.name
                    ),
                );
                continue;
            }
            let file = self.dir.join(list);
            let room = MAX_CHOICES.saturating_sub(lists.values().map(|l| l.choices.len()).sum());
            match read_choice_csv(&file, list, room) {
                Ok(l) => {
                    lists.insert(list.to_string(), l);
                }
                Err(msg) => self.err(
                    "survey",
                    Some(node.row),
                    Some("type"),
                    line,
                    format!("{}: {msg}", node.name),
                ),
            }
        }
    }

    /// Orders every node after what its relevance, calculation and repeat
    /// count read, and after its parent; a cycle is an error.
    fn evaluation_order(&mut self, nodes: &[Node], sources: &[RowSource]) -> Option<Vec<NodeId>> {
        let count = nodes.len();
        let mut deps: Vec<Vec<NodeId>> = vec![Vec::new(); count];
        for (id, node) in nodes.iter().enumerate() {
            let mut add = |e: &Option<Expr>| {
                if let Some(e) = e {
                    deps[id].extend(e.refs().iter().filter_map(|r| r.node));
                }
            };
            add(&node.relevant);
            add(&node.calculation);
            add(&node.repeat_count);
            if let Some(p) = node.parent {
                deps[id].push(p);
            }
        }
        let mut dependents: Vec<Vec<NodeId>> = vec![Vec::new(); count];
        let mut waiting = vec![0usize; count];
        for (id, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(id);
                waiting[id] += 1;
            }
        }
        // Kahn's algorithm, taking the earliest ready node in document order.
        let mut ready: BinaryHeap<std::cmp::Reverse<NodeId>> = (0..count)
            .filter(|&i| waiting[i] == 0)
            .map(std::cmp::Reverse)
            .collect();
        let mut order = Vec::with_capacity(count);
        while let Some(std::cmp::Reverse(id)) = ready.pop() {
            order.push(id);
            for &d in &dependents[id] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.push(std::cmp::Reverse(d));
                }
            }
        }
        if order.len() == count {
            return Some(order);
        }
        let stuck: HashSet<NodeId> = (0..count).filter(|&i| waiting[i] > 0).collect();
        let cycle = find_cycle(&deps, &stuck);
        let first = cycle.first().copied().unwrap_or(0);
        let names: Vec<&str> = cycle
            .iter()
            .chain(cycle.first())
            .map(|&i| nodes[i].name.as_str())
            .collect();
        let node = &nodes[first];
        let column = if node.calculation.is_some() {
            "calculation"
        } else {
            "relevant"
        };
        self.err(
            "survey",
            Some(node.row),
            Some(column),
            sources[first].lines.get(column).copied(),
            format!(
                "these fields depend on each other in a cycle: {}. Break the cycle so each value \
                 can be worked out from answers given before it",
                names.join(" -> ")
            ),
        );
        None
    }
}

impl Loader {
    /// Refuses calculations (and defaults) whose text is longer than
    /// [`MAX_TEXT_BYTES`] even when every answer is one character: such a
    /// value can only grow by feeding on itself (`concat(${c}, ${c})` row
    /// after row), and a record would hit the cap as soon as it is filled.
    fn growing_texts(&mut self, nodes: &[Node], order: &[NodeId], sources: &[RowSource]) {
        let mut least = vec![1usize; nodes.len()];
        for &id in order {
            let node = &nodes[id];
            let (column, e) = match (&node.calculation, &node.default) {
                (Some(e), _) => ("calculation", e),
                (None, Some(Default::Dynamic(e))) => ("default", e),
                _ => continue,
            };
            let size = least_text(e, &least);
            least[id] = size;
            if size > MAX_TEXT_BYTES {
                let shown = if size == usize::MAX {
                    "more bytes than a computer holds".to_string()
                } else {
                    format!("{size} bytes")
                };
                self.err(
                    "survey",
                    Some(node.row),
                    Some(column),
                    sources[id].lines.get(column).copied(),
                    format!(
                        "{}: this {column} makes a text of {shown} even when every answer is one \
                         character, over fieldkit's cap of {} for a value; it feeds on itself \
                         (each row doubling the one before?): rewrite it",
                        node.name,
                        limits::bytes(MAX_TEXT_BYTES as u64)
                    ),
                );
                // Rows built on it would only say the same.
                return;
            }
        }
    }
}

/// The length of the text `e` makes at least, when every answer is one
/// character (`least` holds it for the calculations worked out before).
fn least_text(e: &Expr, least: &[usize]) -> usize {
    let all = |args: &[Expr]| {
        args.iter()
            .fold(0usize, |n, a| n.saturating_add(least_text(a, least)))
    };
    let first = |args: &[Expr]| args.first().map_or(1, |a| least_text(a, least));
    match e {
        Expr::Str(s) => s.len(),
        Expr::Ref(r) => r.node.and_then(|n| least.get(n)).copied().unwrap_or(1),
        Expr::Call(func, args) => match func {
            Func::Concat => all(args),
            Func::Join => args.get(1).map_or(0, |a| least_text(a, least)),
            Func::If => args
                .get(1..)
                .unwrap_or(&[])
                .iter()
                .map(|a| least_text(a, least))
                .min()
                .unwrap_or(0),
            Func::Coalesce => args.iter().map(|a| least_text(a, least)).min().unwrap_or(0),
            Func::String | Func::NormalizeSpace => first(args),
            _ => 1,
        },
        _ => 1,
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

/// Turns expression text into a resolved `Expr`, checking every name.
struct Resolver<'r> {
    by_name: &'r HashMap<String, NodeId>,
    nodes: &'r [Node],
    lists: &'r BTreeMap<String, ChoiceList>,
    regexes: &'r mut HashMap<String, regex::Regex>,
}

impl Resolver<'_> {
    /// `id` is the row's node, or usize::MAX for settings.
    fn expression(&mut self, id: NodeId, column: &str, text: &str) -> Result<Expr, String> {
        let mut e = expr::parse(text).map_err(|err| {
            format!("the expression '{text}' does not parse: {err}. Fix it; see \"Writing forms\" in README.md")
        })?;
        let mut problem: Option<String> = None;
        let node = self.nodes.get(id);
        let list = node
            .filter(|_| column == "choice_filter")
            .and_then(|n| n.kind.list())
            .and_then(|l| self.lists.get(l));
        let by_name = self.by_name;
        e.walk_mut(&mut |sub| {
            if problem.is_some() {
                return;
            }
            match sub {
                Expr::Ref(r) => match by_name.get(&r.name) {
                    Some(&target) => r.node = Some(target),
                    None => {
                        problem = Some(format!(
                            "${{{}}} does not name any field of this form; check the spelling",
                            r.name
                        ))
                    }
                },
                Expr::Column(c) => match list {
                    Some(l) => {
                        if c != "name" && c != "label" && l.column(c).is_none() {
                            problem = Some(format!(
                                "the choices of '{}' have no column '{c}'; add the column to the \
                                 list or fix the filter",
                                l.name
                            ));
                        }
                    }
                    None => {
                        problem = Some(format!(
                            "'{c}' is a bare name; refer to a field as ${{{c}}} (bare names are \
                             choice columns, only in choice_filter)"
                        ))
                    }
                },
                Expr::Current if column == "calculation" => {
                    problem = Some(
                        "'.' in a calculation refers to the value being calculated; refer to \
                         other fields with ${name}"
                            .into(),
                    )
                }
                _ => {}
            }
        });
        if let Some(p) = problem {
            return Err(p);
        }
        self.check_calls(&e)?;
        Ok(e)
    }

    fn check_calls(&mut self, e: &Expr) -> Result<(), String> {
        let mut problem = None;
        e.walk(&mut |sub| {
            let Expr::Call(func, args) = sub else {
                return;
            };
            if problem.is_some() {
                return;
            }
            match func {
                Func::ChoiceName => match &args[1] {
                    Expr::Str(s) => {
                        let name = s
                            .trim()
                            .strip_prefix("${")
                            .and_then(|x| x.strip_suffix('}'))
                            .unwrap_or(s.trim());
                        let is_select = self
                            .by_name
                            .get(name)
                            .is_some_and(|&n| self.nodes[n].kind.list().is_some());
                        if !is_select {
                            problem = Some(format!(
                                "jr:choice-name() needs a select question as its second argument, \
                                 written '${{name}}' in quotes; '{s}' is not one"
                            ));
                        }
                    }
                    _ => {
                        problem = Some(
                            "jr:choice-name() takes the select question in quotes: \
                             jr:choice-name(${q}, '${q}')"
                                .into(),
                        )
                    }
                },
                Func::IndexedRepeat => {
                    let refs_ok = args.iter().enumerate().all(|(i, a)| {
                        i % 2 == 0 && i > 0
                            || match a {
                                Expr::Ref(r) => {
                                    i == 0 || {
                                        r.node.is_some_and(|n| self.nodes[n].kind == Kind::Repeat)
                                    }
                                }
                                _ => false,
                            }
                    });
                    if !refs_ok {
                        problem = Some(
                            "indexed-repeat() takes ${field}, then pairs of ${repeat} and a \
                             position"
                                .into(),
                        );
                    }
                }
                Func::Regex => {
                    if let Expr::Str(pattern) = &args[1] {
                        match regex::RegexBuilder::new(pattern)
                            .size_limit(1 << 20)
                            .build()
                        {
                            Ok(r) => {
                                self.regexes.insert(pattern.clone(), r);
                            }
                            Err(err) => {
                                problem = Some(format!(
                                    "the pattern '{pattern}' of regex() is not a valid regular \
                                     expression: {}",
                                    err.to_string().lines().last().unwrap_or("")
                                ))
                            }
                        }
                    }
                }
                _ => {}
            }
        });
        problem.map_or(Ok(()), Err)
    }
}

enum RowType {
    Kind(Kind),
    End { repeat: bool },
}

fn parse_type(text: &str) -> Result<RowType, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some(&first) = words.first() else {
        return Err(format!("the type is empty; give one of: {TYPES}"));
    };
    let (head, rest) = match (first, words.get(1)) {
        ("begin" | "end", Some(&w @ ("group" | "repeat"))) => (format!("{first}_{w}"), &words[2..]),
        _ => (first.to_string(), &words[1..]),
    };
    let no_argument = |k: Kind| {
        if rest.is_empty() {
            Ok(k)
        } else {
            Err(format!(
                "'{head}' takes nothing after it, but the type says '{text}'"
            ))
        }
    };
    let list = |multiple: bool, from_file: bool| match rest {
        [list] if from_file && !list.to_ascii_lowercase().ends_with(".csv") => Err(format!(
            "'{head}' needs a CSV file name, like '{head} villages.csv'"
        )),
        [list] => Ok(if multiple {
            Kind::SelectMultiple {
                list: (*list).to_string(),
            }
        } else {
            Kind::SelectOne {
                list: (*list).to_string(),
            }
        }),
        [_, extra, ..] if *extra == "or_other" => Err(
            "'or_other' is not supported: add an 'other' choice and a text question relevant \
             when it is selected"
                .to_string(),
        ),
        [] => Err(format!(
            "'{head}' needs the name of its choice list: '{head} LIST'"
        )),
        _ => Err(format!("'{text}' has too many words; write '{head} LIST'")),
    };
    let kind = match head.as_str() {
        "text" | "string" => no_argument(Kind::Text),
        "integer" | "int" => no_argument(Kind::Integer),
        "decimal" => no_argument(Kind::Decimal),
        "select_one" => list(false, false),
        "select_multiple" => list(true, false),
        "select_one_from_file" => list(false, true),
        "select_multiple_from_file" => list(true, true),
        "date" => no_argument(Kind::Date),
        "time" => no_argument(Kind::Time),
        "datetime" | "dateTime" => no_argument(Kind::DateTime),
        "geopoint" => no_argument(Kind::Geopoint),
        "note" => no_argument(Kind::Note),
        "acknowledge" => no_argument(Kind::Acknowledge),
        "calculate" => no_argument(Kind::Calculate),
        "hidden" => no_argument(Kind::Hidden),
        "begin_group" => no_argument(Kind::Group),
        "begin_repeat" => no_argument(Kind::Repeat),
        "end_group" => return no_argument(Kind::Group).map(|_| RowType::End { repeat: false }),
        "end_repeat" => return no_argument(Kind::Repeat).map(|_| RowType::End { repeat: true }),
        "start" => no_argument(Kind::Start),
        "end" => no_argument(Kind::End),
        "today" => no_argument(Kind::Today),
        "deviceid" => no_argument(Kind::DeviceId),
        "username" => no_argument(Kind::Username),
        _ => {
            let known: Vec<&str> = TYPES
                .split(", ")
                .map(|t| t.split(' ').next().unwrap_or(t))
                .collect();
            let hint = suggest(&head, &known);
            Err(format!("unknown type '{head}'{hint}. Types are: {TYPES}"))
        }
    }?;
    Ok(RowType::Kind(kind))
}

/// Reads a choices CSV; `room` is how many more choices the form may have.
fn read_choice_csv(file: &Path, list: &str, room: usize) -> Result<ChoiceList, String> {
    let bytes = read_capped(file, MAX_CSV_BYTES).map_err(|e| match e {
        Capped::TooLarge => format!(
            "the choices file {} is larger than {}, fieldkit's cap for a choices file",
            file.display(),
            limits::bytes(MAX_CSV_BYTES as u64)
        ),
        Capped::Io(e) => format!(
            "cannot read the choices file {}: {e}. Put {list} beside the form",
            file.display()
        ),
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(bytes.as_slice());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{list}: cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{FEFF}').to_string())
        .collect();
    let name_col = headers.iter().position(|h| h == "name").ok_or_else(|| {
        format!("{list} has no 'name' column; its first row must name the columns")
    })?;
    let label_cols: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            if h == "label" {
                Some((i, String::new()))
            } else {
                h.strip_prefix("label::")
                    .or_else(|| h.strip_prefix("label:"))
                    .map(|lang| (i, lang.to_string()))
            }
        })
        .collect();
    if label_cols.is_empty() {
        return Err(format!(
            "{list} has no label column; add 'label' or 'label::English (en)'"
        ));
    }
    let extra: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != name_col && !label_cols.iter().any(|(l, _)| l == i))
        .map(|(i, h)| (i, h.clone()))
        .collect();
    let mut choices = Vec::new();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        if i >= room {
            return Err(format!(
                "{list} line {line}: the form now has more than {MAX_CHOICES} choices in all its \
                 lists, fieldkit's cap; split the list or the form"
            ));
        }
        let record = record.map_err(|e| format!("{list} line {line}: {e}"))?;
        let name = record.get(name_col).unwrap_or("").trim().to_string();
        if name.is_empty() {
            return Err(format!("{list} line {line}: the name is empty"));
        }
        if !seen.insert(name.clone()) {
            return Err(format!(
                "{list} line {line}: the name '{name}' appears twice; names must be unique"
            ));
        }
        let label = Text(
            label_cols
                .iter()
                .map(|(c, lang)| (lang.clone(), record.get(*c).unwrap_or("").to_string()))
                .collect(),
        );
        let columns = extra
            .iter()
            .map(|(c, _)| record.get(*c).unwrap_or("").to_string())
            .collect();
        choices.push(Choice {
            name,
            label,
            columns,
        });
    }
    Ok(ChoiceList::new(
        list.to_string(),
        choices,
        extra.into_iter().map(|(_, h)| h).collect(),
        Some(file.to_path_buf()),
    ))
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

fn valid_hxl(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix('#') else {
        return false;
    };
    let mut parts = rest.split('+');
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    parts.next().is_some_and(ok) && parts.all(ok)
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

/// The `${name}` references shown inside a label or hint.
pub fn output_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// `column = expr` (either way round) on an extra column, where `expr`
/// reads no choice column: such a filter can go through an index.
fn equality_filter(e: &Expr, list: Option<&ChoiceList>) -> Option<(usize, Expr)> {
    let list = list?;
    let Expr::Binary(BinOp::Eq, a, b) = e else {
        return None;
    };
    let reads_column = |x: &Expr| {
        let mut found = false;
        x.walk(&mut |s| found |= matches!(s, Expr::Column(_)));
        found
    };
    match (a.as_ref(), b.as_ref()) {
        (Expr::Column(c), other) | (other, Expr::Column(c)) if !reads_column(other) => {
            Some((list.column(c)?, other.clone()))
        }
        _ => None,
    }
}

fn find_cycle(deps: &[Vec<NodeId>], stuck: &HashSet<NodeId>) -> Vec<NodeId> {
    let Some(&start) = stuck.iter().min() else {
        return Vec::new();
    };
    // Walk dependencies inside the stuck set until a node repeats.
    let mut path = vec![start];
    let mut seen: HashMap<NodeId, usize> = HashMap::from([(start, 0)]);
    let mut at = start;
    loop {
        let Some(&next) = deps[at].iter().find(|d| stuck.contains(d)) else {
            return path;
        };
        if let Some(&i) = seen.get(&next) {
            let mut cycle = path[i..].to_vec();
            cycle.reverse();
            return cycle;
        }
        seen.insert(next, path.len());
        path.push(next);
        at = next;
    }
}

/// Gives each node its slot in its scope's instances; returns the slot
/// counts of the root and of each repeat.
fn assign_slots(nodes: &mut [Node], top: &[NodeId]) -> (usize, HashMap<NodeId, usize>) {
    fn walk(
        nodes: &mut [Node],
        children: &[NodeId],
        repeats: &[NodeId],
        counter: &mut usize,
        counts: &mut HashMap<NodeId, usize>,
    ) {
        for &c in children {
            nodes[c].repeats = repeats.to_vec();
            nodes[c].slot = *counter;
            *counter += 1;
            let grandchildren = nodes[c].children.clone();
            if nodes[c].kind == Kind::Repeat {
                let mut inner = repeats.to_vec();
                inner.push(c);
                let mut inner_counter = 0;
                walk(nodes, &grandchildren, &inner, &mut inner_counter, counts);
                counts.insert(c, inner_counter);
            } else {
                walk(nodes, &grandchildren, repeats, counter, counts);
            }
        }
    }
    let mut counts = HashMap::new();
    let mut root = 0;
    walk(nodes, top, &[], &mut root, &mut counts);
    (root, counts)
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
