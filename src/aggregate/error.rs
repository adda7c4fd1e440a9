//! What can go wrong in an aggregation, as data: [`AggregateError`] stops
//! the whole run (nothing can be written, or what was read is no longer
//! what was verified); [`RecordProblem`] leaves one record out and
//! [`FormProblem`] one bundle, each said in the summary while the others
//! go on. Every message says what happened and what to do.

use std::path::PathBuf;

use crate::crypt::CryptError;
use crate::record::UnknownFormat;

/// Why an aggregation stopped (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    #[error(
        "cannot create the output folder {}: {source}. Check the path and that you may \
         write there",
        path.display()
    )]
    OutputFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}. Check the path and that you may read it", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot write {}: {source}. Check that the disk has space and the file is not open \
         in another program, then run again",
        path.display()
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "last round's entity lists: {why}. Check the folder given to --entities and fix the \
         file named (its entities would be missing from the next round's lists), then run again"
    )]
    Entities { why: String },
    #[error("the assignments: {why}. Fix the file (or leave out --assignments), then run again")]
    Assignments { why: String },
    #[error(
        "the warehouse {}: {why}. What it holds stays whole (a bundle is in entirely or not at \
         all); fix that and run again",
        path.display()
    )]
    Warehouse { path: PathBuf, why: String },
    #[error("{} changed while it was being read; run again", file.display())]
    Changed { file: PathBuf },
    #[error("refusing to write {name:?} in {}: the name {why}", dir.display())]
    UnsafeName {
        name: String,
        dir: PathBuf,
        why: String,
    },
    #[error("refusing to write outside {}", dir.display())]
    Outside { dir: PathBuf },
    #[error(
        "verification stopped part-way (a thread ended early); nothing was written. Run \
         again, and report it if it happens again"
    )]
    VerificationStopped,
    #[error(
        "decryption stopped part-way (a thread ended early); the tables are incomplete. Run \
         again, and report it if it happens again"
    )]
    DecryptionStopped,
    #[error(
        "the report's figures stopped part-way (a thread ended early); the tables are \
         complete, summary.html is not written. Run again, and report it if it happens again"
    )]
    ReportStopped,
}

impl AggregateError {
    pub(super) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AggregateError::Write {
            path: path.into(),
            source,
        }
    }
}

/// Why one record is left out; the summary names the record and its
/// bundle, and says this.
#[derive(Debug, thiserror::Error)]
pub enum RecordProblem {
    #[error("{0}")]
    Decrypt(#[from] CryptError),
    #[error(transparent)]
    Format(#[from] UnknownFormat),
    #[error("not a record ({0})")]
    NotARecord(String),
    #[error("its body names the record id {body:?}, the signed manifest {manifest}; left out")]
    OtherId { body: String, manifest: String },
    #[error(
        "its body names the form {body_form:?} {body_version:?}, the signed manifest {form} \
         {version}; left out"
    )]
    OtherForm {
        body_form: String,
        body_version: String,
        form: String,
        version: String,
    },
    #[error(
        "its body says version {body} (superseding {body_supersedes:?}), the signed manifest \
         version {manifest} (superseding {supersedes:?}); left out: which version it is would \
         be a guess"
    )]
    OtherVersion {
        body: u32,
        body_supersedes: Option<u32>,
        manifest: u32,
        supersedes: Option<u32>,
    },
    #[error("its form is not in the bundle")]
    FormNotCarried,
    #[error("its id is not a UUID")]
    NotAUuid,
}

/// Why a form carried in a bundle leaves the bundle out.
#[derive(Debug, thiserror::Error)]
pub enum FormProblem {
    #[error("the form is not UTF-8")]
    NotUtf8,
    #[error(
        "the form {form_id} {version} carried in this bundle does not load ({why}); the \
         bundle is left out: {}",
        if *.choices_missing {
            "give the folder of the forms' CSV choice lists with --forms DIR and run again"
        } else {
            "the form itself is broken (a changed or damaged form on the laptop that made the \
             bundle): have it fixed and checked with 'fieldkit forms check', and these records \
             sent again with a form that loads"
        }
    )]
    DoesNotLoad {
        form_id: String,
        version: String,
        why: String,
        /// Only its CSV choice lists were not found.
        choices_missing: bool,
    },
    #[error(
        "the form {form_id} {version} carried in this bundle would make a table {table:?}, \
         whose name {why}; the bundle is left out: rename the repeat in the form"
    )]
    UnsafeTable {
        form_id: String,
        version: String,
        table: String,
        why: String,
    },
}
