//! Reading back a table aggregation wrote (`<form_id>.csv`), for what
//! runs after the tables are written (the quality checks, the report):
//! the header, the HXL row when there is one, columns found by a field's
//! name or an HXL tag, and the rows streamed one at a time with the csv
//! crate (never the whole table in memory). Reads only; knows nothing of
//! how the rows were made, so the warehouse can call it on its own tables.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::error::AggregateError;
use super::tables::unguard;
use crate::form::Form;

/// A form's written table, and what the checks and the report need of
/// the form beside it.
#[derive(Debug, Clone)]
pub struct FormTable {
    pub form_id: String,
    /// `<form_id>.csv` in the output folder.
    pub path: PathBuf,
    /// The entity its records create or update (`moved_from_last_round`).
    pub entity: Option<EntityRule>,
    /// English labels of its choices (lists from CSV files left out), by
    /// name: the report's needs are shown by label.
    pub labels: BTreeMap<String, String>,
}

impl FormTable {
    pub fn of(out: &Path, form: &Form) -> FormTable {
        let mut labels = BTreeMap::new();
        for list in form.lists.values().filter(|l| l.file.is_none()) {
            for c in &list.choices {
                if let Some(label) = c
                    .label
                    .get(Some("English (en)"), form.default_language.as_deref())
                {
                    labels
                        .entry(c.name.clone())
                        .or_insert_with(|| label.to_string());
                }
            }
        }
        FormTable {
            form_id: form.id.clone(),
            path: out.join(format!("{}.csv", form.id)),
            entity: EntityRule::of(form),
            labels,
        }
    }
}

/// A written table, open for reading, its header read.
pub struct Written {
    pub path: PathBuf,
    /// The column headers (`grp_idp/m0310_loc_num_idp_ind`).
    pub headers: Vec<String>,
    /// The HXL row (`--hxl`), one tag per column, empty where none.
    pub hxl: Option<Vec<String>>,
    reader: csv::Reader<File>,
    /// A first data row read while looking for the HXL row.
    pending: Option<csv::StringRecord>,
}

fn read_error(path: &Path, e: csv::Error) -> AggregateError {
    AggregateError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

impl Written {
    pub fn open(path: &Path) -> Result<Written, AggregateError> {
        let file = File::open(path).map_err(|source| AggregateError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(file);
        let mut records = reader.records();
        let headers: Vec<String> = match records.next() {
            Some(head) => head
                .map_err(|e| read_error(path, e))?
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    // The byte-order mark the tables start with (for Excel).
                    let h = if i == 0 {
                        h.trim_start_matches('\u{FEFF}')
                    } else {
                        h
                    };
                    h.to_string()
                })
                .collect(),
            None => Vec::new(),
        };
        let second = records
            .next()
            .transpose()
            .map_err(|e| read_error(path, e))?;
        drop(records);
        // The HXL row: every cell empty or a tag, and `#meta+id` first.
        let (hxl, pending) = match second {
            Some(row) if row.get(0) == Some("#meta+id") => {
                (Some(row.iter().map(String::from).collect()), None)
            }
            other => (None, other),
        };
        Ok(Written {
            path: path.to_path_buf(),
            headers,
            hxl,
            reader,
            pending,
        })
    }

    /// The column of a field: its header is the field's name, or ends with
    /// `/name` (the groups around it); a label column (`field:label`) or a
    /// choice's 0/1 column (`field/choice`) is never it.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h == name || h.rsplit_once('/').is_some_and(|(_, last)| last == name))
    }

    /// The column whose header is exactly `header` (a metadata column
    /// such as `round`, the round pack's round the record was made in).
    pub fn column(&self, header: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == header)
    }

    /// The first column tagged `tag` exactly in the HXL row.
    pub fn tagged(&self, tag: &str) -> Option<usize> {
        self.hxl.as_ref()?.iter().position(|t| t == tag)
    }

    /// A column by HXL tag, else by the first of `names` found.
    pub fn find(&self, tag: &str, names: &[&str]) -> Option<usize> {
        self.tagged(tag)
            .or_else(|| names.iter().find_map(|n| self.field(n)))
    }

    /// The field name of column `c`: its header's last path part.
    pub fn name_of(&self, c: usize) -> &str {
        let h = self.headers.get(c).map(String::as_str).unwrap_or("");
        h.rsplit_once('/').map_or(h, |(_, last)| last)
    }

    /// The next row, or None at the end.
    pub fn next_row(&mut self) -> Result<Option<Row>, AggregateError> {
        if let Some(row) = self.pending.take() {
            return Ok(Some(Row(row)));
        }
        let mut row = csv::StringRecord::new();
        match self.reader.read_record(&mut row) {
            Ok(true) => Ok(Some(Row(row))),
            Ok(false) => Ok(None),
            Err(e) => Err(read_error(&self.path, e)),
        }
    }
}

/// One row of a written table.
pub struct Row(csv::StringRecord);

impl Row {
    /// The cell at column `c` as it was answered (the `'` guard against
    /// spreadsheet formulas removed); empty when there is no such column.
    pub fn get(&self, c: Option<usize>) -> &str {
        c.and_then(|c| self.0.get(c)).map(unguard).unwrap_or("")
    }

    /// The first of the cells at `cs` that is not empty; empty when none.
    pub fn first(&self, cs: &[Option<usize>]) -> &str {
        cs.iter()
            .map(|&c| self.get(c))
            .find(|v| !v.is_empty())
            .unwrap_or("")
    }

    /// The number in column `c`, when it holds one.
    pub fn number(&self, c: Option<usize>) -> Option<f64> {
        let text = self.get(c).trim();
        if text.is_empty() {
            return None;
        }
        text.parse::<f64>().ok().filter(|n| n.is_finite())
    }
}

/// The entity a form's records create or update, and the answers it saves
/// to the entity's properties: what `moved_from_last_round` compares.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRule {
    pub list: String,
    /// The field the entity id is (`entity_id = "${field}"`).
    pub id_field: Option<String>,
    /// (field, property) of every `save_to`.
    pub saves: Vec<(String, String)>,
}

impl EntityRule {
    pub fn of(form: &Form) -> Option<EntityRule> {
        let decl = form.entity.as_ref()?;
        let id_field = decl
            .entity_id
            .as_ref()
            .and_then(|e| e.refs().first().map(|r| r.name.clone()));
        let saves = decl
            .saves
            .iter()
            .filter_map(|(node, prop)| Some((form.nodes.get(*node)?.name.clone(), prop.clone())))
            .collect();
        Some(EntityRule {
            list: decl.list.clone(),
            id_field,
            saves,
        })
    }
}
