//! The tables of a form: which columns, in which order, and how a record's
//! values become rows. One table per form (`<form_id>.csv`) and one per
//! repeat (`<form_id>__<repeat>.csv`, nested repeats too). Groups are
//! flattened with their path in the column name (`group/field`); a
//! select_multiple is a space-separated column plus a 0/1 column per
//! choice (`field/choice`). Versions of a form share one table: the union
//! of their columns, first version first. Pure: no files.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::form::{Form, Kind, NodeId};

/// Metadata columns, before the form's own.
pub const META: [&str; 7] = [
    "record_id",
    "enumerator_id",
    "device_id",
    "bundle_id",
    "form_version",
    "started",
    "finalized_at",
];
/// Key columns of a repeat table.
pub const REPEAT_KEYS: [&str; 4] = ["record_id", "parent_key", "key", "index"];

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A field's value.
    Field(String),
    /// 1 when `choice` is among the field's answers, 0 when the field is
    /// answered without it, empty when not answered.
    Choice { field: String, choice: String },
    /// The label(s) of a select field's answer.
    Label(String),
}

#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pub source: Source,
    pub hxl: String,
}

/// One table: the main one (`repeat` None) or a repeat's.
#[derive(Debug, Clone)]
pub struct Table {
    /// The repeat's name (None for the main table).
    pub repeat: Option<String>,
    /// Names of the repeats from the outside in (nested repeats).
    pub path: Vec<String>,
    pub columns: Vec<Column>,
}

impl Table {
    pub fn file_name(&self, form_id: &str) -> String {
        match &self.repeat {
            None => format!("{form_id}.csv"),
            Some(r) => format!("{form_id}__{r}.csv"),
        }
    }

    fn add(&mut self, column: Column) {
        if !self.columns.iter().any(|c| c.header == column.header) {
            self.columns.push(column);
        }
    }
}

/// The tables of a form: built from its versions, in order.
#[derive(Debug, Default)]
pub struct Layout {
    pub tables: Vec<Table>,
    /// For labels: choice lists by field name, from the latest version.
    pub labels: HashMap<String, HashMap<String, String>>,
}

fn stored(kind: &Kind) -> bool {
    !matches!(kind, Kind::Group | Kind::Repeat | Kind::Note)
}

impl Layout {
    /// Adds a version's columns (new ones go after the existing ones).
    pub fn add_version(&mut self, form: &Form, label_language: Option<&str>) {
        self.walk(form, &form.top, &[], &[], label_language);
    }

    fn table(&mut self, path: &[String]) -> &mut Table {
        let at = self.tables.iter().position(|t| t.path == path);
        match at {
            Some(i) => &mut self.tables[i],
            None => {
                self.tables.push(Table {
                    repeat: path.last().cloned(),
                    path: path.to_vec(),
                    columns: Vec::new(),
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
                    inner.push(node.name.clone());
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
                    header.push_str(&node.name);
                    let hxl = node.hxl.clone().unwrap_or_default();
                    let list = form.list_of(id);
                    let table = self.table(repeats);
                    table.add(Column {
                        header: header.clone(),
                        source: Source::Field(node.name.clone()),
                        hxl,
                    });
                    if let (Kind::SelectMultiple { .. }, Some(list)) = (kind, list) {
                        for c in &list.choices {
                            table.add(Column {
                                header: format!("{header}/{}", c.name),
                                source: Source::Choice {
                                    field: node.name.clone(),
                                    choice: c.name.clone(),
                                },
                                hxl: String::new(),
                            });
                        }
                    }
                    if let (Some(lang), Some(list)) = (label_language, list) {
                        table.add(Column {
                            header: format!("{header}/label"),
                            source: Source::Label(node.name.clone()),
                            hxl: String::new(),
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

/// A value as a cell: text as is, numbers as JSON writes them, lists
/// space-separated.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| cell(Some(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}

/// The cells of one row of `table` from an object of values.
pub fn row(
    table: &Table,
    values: &Map<String, Value>,
    labels: &HashMap<String, HashMap<String, String>>,
) -> Vec<String> {
    table
        .columns
        .iter()
        .map(|c| match &c.source {
            Source::Field(f) => cell(values.get(f)),
            Source::Choice { field, choice } => match values.get(field) {
                None | Some(Value::Null) => String::new(),
                Some(v) => {
                    let answer = cell(Some(v));
                    if answer.split_whitespace().any(|a| a == choice) {
                        "1".into()
                    } else {
                        "0".into()
                    }
                }
            },
            Source::Label(field) => {
                let answer = cell(values.get(field));
                answer
                    .split_whitespace()
                    .map(|a| {
                        labels
                            .get(field)
                            .and_then(|l| l.get(a))
                            .cloned()
                            .unwrap_or_else(|| a.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        })
        .collect()
}

/// The instances of the repeat table `path` in a record's values, with
/// their keys: (parent key, key, 1-based index, values).
pub fn instances<'a>(
    values: &'a Map<String, Value>,
    path: &[String],
) -> Vec<(String, String, usize, &'a Map<String, Value>)> {
    let mut out = Vec::new();
    collect(values, path, "", &mut out);
    out
}

fn collect<'a>(
    values: &'a Map<String, Value>,
    path: &[String],
    parent: &str,
    out: &mut Vec<(String, String, usize, &'a Map<String, Value>)>,
) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(Value::Array(items)) = values.get(first) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else { continue };
        let key = if parent.is_empty() {
            format!("{first}[{}]", i + 1)
        } else {
            format!("{parent}/{first}[{}]", i + 1)
        };
        if rest.is_empty() {
            out.push((parent.to_string(), key, i + 1, obj));
        } else {
            collect(obj, rest, &key, out);
        }
    }
}
