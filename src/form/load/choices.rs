//! Choice lists: the `[[choices]]` rows of a form grouped into lists, and
//! the CSV files that `select_*_from_file` questions, `csv-external` rows
//! and lookups (`pulldata()`, `instance()`) name, found beside the form or
//! in the data folders the caller gives, read within fieldkit's caps; and
//! the form's data instances (each list by its instance id).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::{Loader, Row, RowSource, valid_name};
use crate::form::expr::{self, Expr, Func};
use crate::form::limits::{self, MAX_CHOICES, MAX_CSV_BYTES, MAX_FORM_CSV_BYTES};
use crate::form::model::{Choice, ChoiceList, Node, Text};
use crate::form::source::{Capped, find_file, read_capped};

impl Loader {
    pub(super) fn choice_lists(
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

    /// Reads the CSVs named by `select_*_from_file` questions.
    pub(super) fn file_lists(
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
            let file = match self.find_csv(list) {
                Ok(file) => file,
                Err(looked) => {
                    self.err(
                        "survey",
                        Some(node.row),
                        Some("type"),
                        line,
                        format!(
                            "{}: the choices file {list} is not found; looked in {looked}. Put \
                             {list} beside the form",
                            node.name
                        ),
                    );
                    continue;
                }
            };
            let room = MAX_CHOICES.saturating_sub(lists.values().map(|l| l.choices.len()).sum());
            match read_choice_csv(&file, list, room, true, &mut self.csv_bytes) {
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
}

impl Loader {
    /// Where the CSV `file` is: beside the form, in its `lists/` or
    /// `entities/` folder, or in one of the data folders given (each with
    /// its `lists/` and `entities/`), the first found. Else every place
    /// looked, for the error.
    pub(super) fn find_csv(&self, file: &str) -> Result<PathBuf, String> {
        let mut folders: Vec<PathBuf> = Vec::new();
        for dir in std::iter::once(&self.dir).chain(self.data_dirs.iter()) {
            for folder in [dir.clone(), dir.join("lists"), dir.join("entities")] {
                if !folders.contains(&folder) {
                    folders.push(folder);
                }
            }
        }
        find_file(&folders, file).ok_or_else(|| {
            folders
                .iter()
                .map(|d| match d.display().to_string() {
                    shown if shown.is_empty() => ".".to_string(),
                    shown => shown,
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// The form's data instances, by id: every list (a CSV's id is its
    /// file name without `.csv`), and the CSVs that `csv-external` rows
    /// and lookups name, read here when no select reads them. A lookup of
    /// a list the form does not have, or a missing CSV, is an error
    /// naming the row and every place looked.
    pub(super) fn data_instances(
        &mut self,
        nodes: &[Node],
        sources: &[RowSource],
        lists: &mut BTreeMap<String, ChoiceList>,
    ) -> BTreeMap<String, String> {
        let mut instances: BTreeMap<String, String> = BTreeMap::new();
        for key in lists.keys() {
            if let Some(stem) = csv_stem(key) {
                instances.insert(stem.to_string(), key.clone());
            }
        }
        for key in lists.keys() {
            if csv_stem(key).is_none() {
                instances.entry(key.clone()).or_insert_with(|| key.clone());
            }
        }
        // (id, row, line, column, why it is wanted)
        let mut wanted: Vec<(String, Option<usize>, Option<usize>, &'static str)> = Vec::new();
        for (name, row, line) in std::mem::take(&mut self.externals) {
            if !valid_name(&name) {
                self.err(
                    "survey",
                    Some(row),
                    Some("name"),
                    line,
                    format!(
                        "csv-external needs the name of its CSV file without .csv (a name that \
                         starts with a letter), not '{name}'"
                    ),
                );
                continue;
            }
            wanted.push((name, Some(row), line, "name"));
        }
        for (id, source) in sources.iter().enumerate() {
            for (column, text) in &source.exprs {
                // Only expressions that can name an instance are parsed
                // twice (here and when they are resolved).
                if !text.contains("instance") && !text.contains("pulldata") {
                    continue;
                }
                let Ok(e) = expr::parse(text) else {
                    continue;
                };
                let mut ids = Vec::new();
                instance_ids(&e, &mut ids);
                let line = source.lines.get(*column).copied();
                for i in ids {
                    wanted.push((i, Some(nodes[id].row), line, column));
                }
            }
        }
        let mut failed: HashSet<String> = HashSet::new();
        for (id, row, line, column) in wanted {
            if instances.contains_key(&id) || failed.contains(&id) {
                continue;
            }
            let file = format!("{id}.csv");
            if !valid_name(&id) {
                failed.insert(id.clone());
                self.err(
                    "survey",
                    row,
                    Some(column),
                    line,
                    format!(
                        "'{id}' is not a list fieldkit can look up: name a CSV file (without \
                         .csv) or a choice list of the form"
                    ),
                );
                continue;
            }
            let path = match self.find_csv(&file) {
                Ok(path) => path,
                Err(looked) => {
                    failed.insert(id.clone());
                    self.err(
                        "survey",
                        row,
                        Some(column),
                        line,
                        format!(
                            "the lookup list {file} (a choices file the form reads with \
                             csv-external, pulldata() or instance()) is not found; looked in \
                             {looked}. Put {file} beside the form"
                        ),
                    );
                    continue;
                }
            };
            let room = MAX_CHOICES.saturating_sub(lists.values().map(|l| l.choices.len()).sum());
            match read_choice_csv(&path, &file, room, false, &mut self.csv_bytes) {
                Ok(list) => {
                    lists.insert(file.clone(), list);
                    instances.insert(id, file);
                }
                Err(msg) => {
                    failed.insert(id.clone());
                    self.err("survey", row, Some(column), line, msg);
                }
            }
        }
        instances
    }
}

/// The instance id of a CSV list key: `sites.csv` is `sites`.
fn csv_stem(key: &str) -> Option<&str> {
    let at = key.len().checked_sub(4)?;
    (key.is_char_boundary(at) && key[at..].eq_ignore_ascii_case(".csv")).then(|| &key[..at])
}

/// The data instances an expression names: `instance('id')` paths (and
/// those in their filters) and `pulldata('id', ...)` with a literal id.
pub(super) fn instance_ids(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Instance(path) => {
            out.push(path.id.clone());
            if let Some(f) = &path.filter {
                instance_ids(f, out);
            }
        }
        Expr::Call(func, args) => {
            if *func == Func::Pulldata
                && let Some(Expr::Str(id)) = args.first()
            {
                out.push(id.trim().to_string());
            }
            args.iter().for_each(|a| instance_ids(a, out));
        }
        Expr::Neg(inner) => instance_ids(inner, out),
        Expr::Binary(_, a, b) => {
            instance_ids(a, out);
            instance_ids(b, out);
        }
        _ => {}
    }
}

/// Reads a choices CSV; `room` is how many more choices the form may have,
/// `read` how many bytes of CSV it has read (within [`MAX_FORM_CSV_BYTES`]).
/// A select's list (`strict`) needs a unique, non-empty `name` and a
/// label; a lookup list (csv-external, pulldata) takes any columns, as ODK
/// does, its first match winning.
pub(super) fn read_choice_csv(
    file: &Path,
    list: &str,
    room: usize,
    strict: bool,
    read: &mut usize,
) -> Result<ChoiceList, String> {
    let left = MAX_FORM_CSV_BYTES.saturating_sub(*read);
    let bytes = read_capped(file, MAX_CSV_BYTES.min(left)).map_err(|e| match e {
        Capped::TooLarge if left < MAX_CSV_BYTES => format!(
            "the choices file {} would take the CSV files this form reads over {} in all, \
             fieldkit's cap; split the lists or the form",
            file.display(),
            limits::bytes(MAX_FORM_CSV_BYTES as u64)
        ),
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
    *read += bytes.len();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(bytes.as_slice());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{list}: cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{FEFF}').to_string())
        .collect();
    let name_col = headers.iter().position(|h| h == "name");
    if strict && name_col.is_none() {
        return Err(format!(
            "{list} has no 'name' column; its first row must name the columns"
        ));
    }
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
    if strict && label_cols.is_empty() {
        return Err(format!(
            "{list} has no label column; add 'label' or 'label::English (en)'"
        ));
    }
    let extra: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != name_col && !label_cols.iter().any(|(l, _)| l == i))
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
        let name = name_col
            .and_then(|c| record.get(c))
            .unwrap_or("")
            .trim()
            .to_string();
        if strict && name.is_empty() {
            return Err(format!("{list} line {line}: the name is empty"));
        }
        if strict && !seen.insert(name.clone()) {
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
