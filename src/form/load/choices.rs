//! Choice lists: the `[[choices]]` rows of a form grouped into lists, and
//! the CSV files beside the form that `select_*_from_file` questions name,
//! read within fieldkit's caps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use toml::Spanned;

use super::{Loader, Row, RowSource};
use crate::form::limits::{self, MAX_CHOICES, MAX_CSV_BYTES};
use crate::form::model::{Choice, ChoiceList, Node, Text};
use crate::form::source::{Capped, read_capped};

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
}

/// Reads a choices CSV; `room` is how many more choices the form may have.
pub(super) fn read_choice_csv(file: &Path, list: &str, room: usize) -> Result<ChoiceList, String> {
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
