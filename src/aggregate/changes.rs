//! The change log (`changes.csv`), in the shape of the humanitarian
//! cleaning logs (REACH/IMPACT's: uuid, question, old value, new value,
//! reason): one row per answer that changed between a record's version
//! N-1 and version N, `record_id, version, field, old_value, new_value,
//! who, when, reason`. Answers are named by the record-values path
//! (`members[2]/age`, repeats element by element) and written as the
//! tables write them. Owns the answers by path and the comparison; which
//! versions are compared is `versions`'.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::value::RawValue;

use super::error::AggregateError;
use super::output::{csv_line, under};
use super::tables::{RecordRef, Values, text};
use crate::bundle::receipt::Verdict;

/// The change log's columns.
pub const HEADER: [&str; 8] = [
    "record_id",
    "version",
    "field",
    "old_value",
    "new_value",
    "who",
    "when",
    "reason",
];

/// A version's answers by path, in a fixed order (top-level names sorted,
/// repeat elements in their order), and when it was finalized.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    pub finalized_at: String,
    pub answers: Vec<(String, String)>,
}

/// The answers of a record by path. The record's own bookkeeping
/// (`meta/...`: entity operations, confirmed checks) is no answer.
pub(super) fn answers(record: &RecordRef) -> Answers {
    let mut out = Vec::new();
    flatten(&record.values, "", &mut out);
    Answers {
        finalized_at: record.finalized_at.to_string(),
        answers: out,
    }
}

fn flatten(values: &Values, prefix: &str, out: &mut Vec<(String, String)>) {
    let mut names: Vec<&&str> = values.keys().collect();
    names.sort();
    for name in names {
        if prefix.is_empty() && name.starts_with("meta/") {
            continue;
        }
        let raw: &RawValue = values[*name];
        match repeat_items(raw) {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    flatten(item, &format!("{prefix}{name}[{}]/", i + 1), out);
                }
            }
            None => out.push((format!("{prefix}{name}"), text(raw).into_owned())),
        }
    }
}

/// A repeat's elements: a list of objects (a select_multiple's list of
/// choices is an answer).
fn repeat_items(raw: &RawValue) -> Option<Vec<Values<'_>>> {
    let json = raw.get();
    if !json.starts_with('[') {
        return None;
    }
    let items: Vec<&RawValue> = serde_json::from_str(json).ok()?;
    if items.is_empty() || !items.iter().all(|i| i.get().starts_with('{')) {
        return None;
    }
    items
        .into_iter()
        .map(|i| serde_json::from_str::<Values>(i.get()).ok())
        .collect()
}

/// One changed answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// The answers that differ between an earlier version and the next, in
/// the next's order, then those only the earlier had. A missing answer
/// is empty.
pub fn diff(old: &Answers, new: &Answers) -> Vec<Change> {
    let before: HashMap<&str, &str> = old
        .answers
        .iter()
        .map(|(p, v)| (p.as_str(), v.as_str()))
        .collect();
    let after: HashMap<&str, &str> = new
        .answers
        .iter()
        .map(|(p, v)| (p.as_str(), v.as_str()))
        .collect();
    let mut out = Vec::new();
    for (path, value) in &new.answers {
        let was = before.get(path.as_str()).copied().unwrap_or("");
        if was != value {
            out.push(Change {
                field: path.clone(),
                old: was.to_string(),
                new: value.clone(),
            });
        }
    }
    for (path, value) in &old.answers {
        if !after.contains_key(path.as_str()) && !value.is_empty() {
            out.push(Change {
                field: path.clone(),
                old: value.clone(),
                new: String::new(),
            });
        }
    }
    out
}

/// Why a field was changed: the supervisor's comments on it in the
/// verdict that returned the earlier version, else the verdict's note.
pub fn reason(verdict: Option<&Verdict>, field: &str) -> String {
    let Some(v) = verdict else {
        return String::new();
    };
    let on_field: Vec<&str> = v
        .comments
        .iter()
        .filter(|c| c.field == field)
        .map(|c| c.text.as_str())
        .collect();
    if on_field.is_empty() {
        v.note.clone()
    } else {
        on_field.join("; ")
    }
}

/// `changes.csv` being written (opened with its first record that has
/// more than one version).
pub(super) struct ChangeLog {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    pub(super) rows: usize,
}

/// One comparison for the log: the record, the later version, who made
/// it and the verdict that returned the earlier one.
pub(super) struct Compared<'a> {
    pub(super) record_id: &'a str,
    pub(super) version: u32,
    pub(super) who: &'a str,
    pub(super) returned: Option<&'a Verdict>,
}

impl ChangeLog {
    pub(super) fn new(out: &Path) -> Result<ChangeLog, AggregateError> {
        Ok(ChangeLog {
            path: under(out, &["changes.csv"])?,
            writer: None,
            rows: 0,
        })
    }

    /// Opens the file (with a byte-order mark and the header) if it is
    /// not yet.
    pub(super) fn open(&mut self) -> Result<&mut BufWriter<File>, AggregateError> {
        if self.writer.is_none() {
            let file =
                File::create(&self.path).map_err(|e| AggregateError::write(&self.path, e))?;
            let mut w = BufWriter::new(file);
            let mut head = "\u{FEFF}".as_bytes().to_vec();
            head.extend(csv_line(HEADER));
            w.write_all(&head)
                .map_err(|e| AggregateError::write(&self.path, e))?;
            self.writer = Some(w);
        }
        // Just set.
        self.writer
            .as_mut()
            .ok_or_else(|| AggregateError::write(&self.path, std::io::ErrorKind::Other.into()))
    }

    /// Writes the changes between two versions of one record.
    pub(super) fn write(
        &mut self,
        what: &Compared,
        old: &Answers,
        new: &Answers,
    ) -> Result<(), AggregateError> {
        let version = what.version.to_string();
        let mut lines = Vec::new();
        for c in diff(old, new) {
            let why = reason(what.returned, &c.field);
            lines.extend(csv_line([
                what.record_id,
                &version,
                &c.field,
                &c.old,
                &c.new,
                what.who,
                &new.finalized_at,
                &why,
            ]));
            self.rows += 1;
        }
        let path = self.path.clone();
        self.open()?
            .write_all(&lines)
            .map_err(|e| AggregateError::write(&path, e))
    }

    pub(super) fn finish(mut self) -> Result<Option<usize>, AggregateError> {
        match self.writer.take() {
            None => Ok(None),
            Some(mut w) => {
                w.flush()
                    .map_err(|e| AggregateError::write(&self.path, e))?;
                Ok(Some(self.rows))
            }
        }
    }
}
