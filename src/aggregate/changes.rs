//! The change log (`changes.csv`), in the shape of the humanitarian
//! cleaning logs (REACH/IMPACT's: uuid, question, old value, new value,
//! reason): one row per answer that changed between a record's version
//! N-1 and version N, `record_id, version, field, old_value, new_value,
//! who, when, reason`. Answers are named by the record-values path
//! (`members[2]/age`, repeats element by element) and written as the
//! tables write them. Owns the answers by path and the comparison; which
//! versions are compared is `versions`'.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::value::RawValue;

use super::error::AggregateError;
use super::output::{csv_line, under};
use super::tables::{Layout, RecordRef, Source, Values, cell_path, text};
use crate::bundle::receipt::Verdict;
use crate::form::media::is_attachment_name;

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
/// repeat elements in their order), and when it was finalized. Packed in
/// one text (held for every version of a corrected record until the
/// merge ends: one allocation, not two per answer).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    pub finalized_at: String,
    text: String,
    /// Where each path ends and its value ends in `text`.
    ends: Vec<(u32, u32)>,
}

impl Answers {
    pub fn push(&mut self, path: &str, value: &str) {
        self.text.push_str(path);
        let path_end = self.text.len() as u32;
        self.text.push_str(value);
        self.ends.push((path_end, self.text.len() as u32));
    }

    /// (path, value) of every answer, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0usize;
        self.ends.iter().map(move |&(p, v)| {
            let (p, v) = (p as usize, v as usize);
            let pair = (&self.text[start..p], &self.text[p..v]);
            start = v;
            pair
        })
    }
}

/// The answers of a record by path, each as its table's cell (a file
/// question's answer as the path aggregate writes the file to). The
/// record's own bookkeeping (`meta/...`: entity operations, confirmed
/// checks) is no answer.
pub(super) fn answers(record: &RecordRef, layout: &Layout) -> Answers {
    let files: HashSet<&str> = layout
        .tables
        .iter()
        .flat_map(|t| t.columns.iter())
        .filter_map(|c| match &c.source {
            Source::Attachment(f) => Some(f.as_str()),
            _ => None,
        })
        .collect();
    let mut out = Answers {
        finalized_at: record.finalized_at.to_string(),
        ..Answers::default()
    };
    let mut walk = Walk {
        record_id: &record.record_id,
        files: &files,
        out: &mut out,
    };
    walk.flatten(&record.values, "");
    out.text.shrink_to_fit();
    out.ends.shrink_to_fit();
    out
}

/// A record's values walked into answers by path.
struct Walk<'a> {
    record_id: &'a str,
    /// The fields that are file questions.
    files: &'a HashSet<&'a str>,
    out: &'a mut Answers,
}

impl Walk<'_> {
    fn flatten(&mut self, values: &Values, prefix: &str) {
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
                        self.flatten(item, &format!("{prefix}{name}[{}]/", i + 1));
                    }
                }
                None => {
                    let cell = text(raw);
                    let path = format!("{prefix}{name}");
                    if self.files.contains(*name) && is_attachment_name(&cell) {
                        self.out.push(&path, &cell_path(self.record_id, &cell));
                    } else {
                        self.out.push(&path, &cell);
                    }
                }
            }
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
    let before: HashMap<&str, &str> = old.iter().collect();
    let after: HashMap<&str, &str> = new.iter().collect();
    let mut out = Vec::new();
    for (path, value) in new.iter() {
        let was = before.get(path).copied().unwrap_or("");
        if was != value {
            out.push(Change {
                field: path.to_string(),
                old: was.to_string(),
                new: value.to_string(),
            });
        }
    }
    for (path, value) in old.iter() {
        if !after.contains_key(path) && !value.is_empty() {
            out.push(Change {
                field: path.to_string(),
                old: value.to_string(),
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

#[cfg(test)]
mod tests {
    //! Answers by path and their comparison.

    use std::path::Path;

    use serde_json::json;

    use super::{Answers, answers, diff};

    const ID: &str = "0190a1b2-0000-7000-8000-000000000001";

    #[test]
    fn answers_compare_by_path_and_repeats_element_by_element() {
        let answers = |pairs: &[(&str, &str)]| {
            let mut a = Answers::default();
            for (p, v) in pairs {
                a.push(p, v);
            }
            a
        };
        let old = answers(&[("a", "1"), ("m[1]/age", "3"), ("m[2]/age", "5"), ("z", "x")]);
        let new = answers(&[("a", "1"), ("m[1]/age", "4")]);
        let got: Vec<(String, String, String)> = diff(&old, &new)
            .into_iter()
            .map(|c| (c.field, c.old, c.new))
            .collect();
        assert_eq!(
            got,
            vec![
                ("m[1]/age".into(), "3".into(), "4".into()),
                ("m[2]/age".into(), "5".into(), "".into()),
                ("z".into(), "x".into(), "".into()),
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }

    /// A version's answers as the tables write them: a file question's answer
    /// is the path aggregate writes the file to; select_multiple lists are
    /// space-separated; a record's bookkeeping (`meta/...`) is no answer.
    #[test]
    fn answers_are_cells_as_the_tables_write_them() {
        let form = crate::form::load_str(
            r#"
    [settings]
    form_id = "p"
    version = "1"
    form_title = "P"

    [[survey]]
    type = "image"
    name = "photo"
    label = "Photo"

    [[survey]]
    type = "select_multiple needs"
    name = "needs"
    label = "Needs"

    [[choices]]
    list_name = "needs"
    name = "food"
    label = "Food"

    [[choices]]
    list_name = "needs"
    name = "water"
    label = "Water"
    "#,
            Path::new("p.toml"),
        )
        .unwrap();
        let mut layout = crate::aggregate::tables::Layout::default();
        layout.add_version(&form, None);
        let json = json!({
            "record_id": ID,
            "finalized_at": "2026-11-25T16:30:00.000+07:00",
            "values": {
                "photo": "photo-3f2a9c01b7e4.jpg",
                "needs": ["food", "water"],
                "meta/confirmed": ["x"],
            },
        })
        .to_string();
        let record: crate::aggregate::tables::RecordRef = serde_json::from_str(&json).unwrap();
        let got = answers(&record, &layout);
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            vec![
                ("needs", "food water"),
                (
                    "photo",
                    format!("media/{ID}/photo-3f2a9c01b7e4.jpg").as_str()
                ),
            ]
        );
    }
}
