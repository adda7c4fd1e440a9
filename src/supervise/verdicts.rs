//! What the supervisor decides on each record, from the screen or a
//! verdicts file (`--verdicts FILE.json`), and the receipts that carry it:
//! one per bundle, signed, format 2 when it holds verdicts (1 when none,
//! byte for byte what `fieldkit receipt` writes). A record without a
//! verdict gets none in its receipt: received, not reviewed. A returned
//! record needs a note or a comment on a question. A comment names the
//! answer's path as the record's values name it (`members[2]/age`), and
//! may name any field of the form, also one the supervisor cannot read
//! ("check the phone number"), but never one the form does not have.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Entry, Opened, labels};
use crate::bundle::receipt::{self, Comment, Decision, Receipt, Verdict};

/// A record's verdict as far as the supervisor has got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    pub decision: Option<Decision>,
    pub comments: Vec<Comment>,
    pub note: String,
}

impl Pending {
    /// The comment on a field, if any.
    pub fn comment(&self, field: &str) -> Option<&str> {
        self.comments
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.text.as_str())
    }

    /// Sets (or, with empty text, removes) the comment on a field.
    pub fn set_comment(&mut self, field: &str, text: &str) {
        let text = text.trim();
        self.comments.retain(|c| c.field != field);
        if !text.is_empty() {
            self.comments.push(Comment {
                field: field.into(),
                text: text.into(),
            });
        }
    }

    /// Whether returning the record says what to correct.
    pub fn says_why(&self) -> bool {
        !self.note.trim().is_empty() || !self.comments.is_empty()
    }
}

/// Why verdicts cannot be written (nothing is written then).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    #[error(
        "cannot read the verdicts file: {0}; it is a JSON list of {{\"record_id\", \"decision\", \"comments\", \"note\"}}"
    )]
    Malformed(String),
    #[error("record {0} is not in the bundles given (that verified); check the record id")]
    UnknownRecord(String),
    #[error(
        "record {0} is in the bundles given in more than one version; add \"version\" to its verdict"
    )]
    Ambiguous(String),
    #[error("record {0} is given two verdicts; give one")]
    Twice(String),
    #[error("record {0} is returned without a note or a comment; say what to correct")]
    ReturnedWithoutWhy(String),
    #[error(
        "record {record}: a comment names {field:?}, which is not a field of form {form} (name it as the record's values do: members[2]/age)"
    )]
    UnknownField {
        record: String,
        field: String,
        form: String,
    },
    #[error("record {0}: a comment has no text; write it or leave the comment out")]
    EmptyComment(String),
}

/// One verdict of a verdicts file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GivenVerdict {
    record_id: String,
    /// Only needed when the bundles hold more than one version.
    #[serde(default)]
    version: Option<u32>,
    decision: Decision,
    #[serde(default)]
    comments: Vec<Comment>,
    #[serde(default)]
    note: String,
}

/// Reads a verdicts file against the records opened: the pending verdict
/// of each entry (same order as `opened.entries`), or the first thing
/// wrong with the file.
pub fn from_file(bytes: &[u8], opened: &Opened) -> Result<Vec<Pending>, VerdictError> {
    let given: Vec<GivenVerdict> =
        serde_json::from_slice(bytes).map_err(|e| VerdictError::Malformed(e.to_string()))?;
    let mut pending = vec![Pending::default(); opened.entries.len()];
    for v in given {
        let matching: Vec<usize> = opened
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.record_id == v.record_id && v.version.is_none_or(|n| n == e.version))
            .map(|(i, _)| i)
            .collect();
        let at = match matching.as_slice() {
            [] => return Err(VerdictError::UnknownRecord(v.record_id)),
            [one] => *one,
            _ => return Err(VerdictError::Ambiguous(v.record_id)),
        };
        if pending[at].decision.is_some() {
            return Err(VerdictError::Twice(v.record_id));
        }
        let entry = &opened.entries[at];
        for c in &v.comments {
            if c.text.trim().is_empty() {
                return Err(VerdictError::EmptyComment(v.record_id.clone()));
            }
            if !comment_allowed(entry, opened, &c.field) {
                return Err(VerdictError::UnknownField {
                    record: v.record_id.clone(),
                    field: c.field.clone(),
                    form: format!("{} {}", entry.form_id, entry.form_version),
                });
            }
        }
        pending[at] = Pending {
            decision: Some(v.decision),
            comments: v.comments,
            note: v.note,
        };
        if v.decision == Decision::Returned && !pending[at].says_why() {
            return Err(VerdictError::ReturnedWithoutWhy(v.record_id));
        }
    }
    Ok(pending)
}

/// Whether a comment may name `field` on this record: a field of its
/// form, or (the form not loaded) a field its review view names.
pub fn comment_allowed(entry: &Entry, opened: &Opened, field: &str) -> bool {
    match entry.form.and_then(|i| opened.forms.get(i)) {
        Some(form) => labels::field_in_form(form, field),
        None => entry
            .view()
            .is_some_and(|v| labels::field_in_view(v, field)),
    }
}

/// The verdicts on a bundle's records, in manifest order; a returned
/// record without a note or comment refused.
pub fn of_bundle(
    opened: &Opened,
    pending: &[Pending],
    bundle: usize,
) -> Result<Vec<Verdict>, VerdictError> {
    let mut out = Vec::new();
    for (e, p) in opened.entries.iter().zip(pending) {
        let (true, Some(decision)) = (e.bundle == bundle, p.decision) else {
            continue;
        };
        if decision == Decision::Returned && !p.says_why() {
            return Err(VerdictError::ReturnedWithoutWhy(e.record_id.clone()));
        }
        out.push(Verdict {
            record_id: e.record_id.clone(),
            version: e.version,
            decision,
            comments: p.comments.clone(),
            note: p.note.trim().to_string(),
        });
    }
    Ok(out)
}

/// A receipt signed, and where it goes.
pub struct Signed {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub verdicts: usize,
}

/// Why receipts were not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Verdict(#[from] VerdictError),
    #[error("cannot sign the receipt for {bundle}: {why}")]
    Sign { bundle: String, why: String },
    #[error(
        "{0} already exists; fieldkit never overwrites a receipt: give another --out folder, or move the file away"
    )]
    Exists(PathBuf),
    #[error("cannot write {path}: {why}; check the --out folder")]
    Io { path: PathBuf, why: String },
}

/// One signed receipt per bundle opened, to be written into `out`
/// (`<bundle_id>.receipt.json`): all signed and checked against what is
/// already there before any is written.
pub fn sign_all(
    opened: &Opened,
    pending: &[Pending],
    key: &ssh_key::PrivateKey,
    received_at: &str,
    out: &Path,
) -> Result<Vec<Signed>, WriteError> {
    let supervisor = key
        .public_key()
        .to_openssh()
        .map_err(|e| WriteError::Sign {
            bundle: String::new(),
            why: e.to_string(),
        })?;
    let mut signed = Vec::with_capacity(opened.bundles.len());
    for (i, b) in opened.bundles.iter().enumerate() {
        let verdicts = of_bundle(opened, pending, i)?;
        let receipt = Receipt {
            format: Receipt::format_for(&verdicts).into(),
            bundle_id: b.bundle_id.clone(),
            enumerator_id: b.enumerator_id.clone(),
            device_id: b.device_id.clone(),
            sequence: b.sequence,
            manifest_sha256: b.manifest_sha256.clone(),
            received_at: received_at.into(),
            supervisor: supervisor.clone(),
            verdicts,
        };
        let bytes = receipt::sign(&receipt, key).map_err(|e| WriteError::Sign {
            bundle: b.bundle_id.clone(),
            why: e.to_string(),
        })?;
        let path = out.join(format!("{}.receipt.json", b.bundle_id));
        if path.exists() {
            return Err(WriteError::Exists(path));
        }
        signed.push(Signed {
            path,
            bytes,
            verdicts: receipt.verdicts.len(),
        });
    }
    Ok(signed)
}

/// Writes signed receipts, each to a new file (`out` made if missing).
pub fn write_all(out: &Path, signed: &[Signed]) -> Result<(), WriteError> {
    std::fs::create_dir_all(out).map_err(|e| WriteError::Io {
        path: out.to_path_buf(),
        why: e.to_string(),
    })?;
    for s in signed {
        crate::store::profile::write_new(&s.path, &s.bytes, false).map_err(|e| match e {
            crate::store::profile::ProfileError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                WriteError::Exists(s.path.clone())
            }
            other => WriteError::Io {
                path: s.path.clone(),
                why: other.to_string(),
            },
        })?;
    }
    Ok(())
}
