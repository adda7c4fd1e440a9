//! What passes between the stages of the pipeline: a run of a bundle's
//! records from the reading thread to the workers (`Job`, `Item`), and its
//! outcome from the workers to the merge (`RunDone`, `Taken`, `Prepared`,
//! `Row`). Data only: the stages own the work.

use std::ops::Range;
use std::sync::Arc;

use super::changes::Answers;
use super::error::{AggregateError, RecordProblem};
use super::summary;
use super::summary::Status;
use crate::record::EntityOp;

/// A run of one bundle's records, for a worker.
pub(super) struct Job {
    /// Its place in the merge order.
    pub(super) seq: usize,
    pub(super) bundle: u32,
    /// The bundle's bytes, shared by its runs (they go with its last run).
    pub(super) bytes: Arc<Vec<u8>>,
    /// Whether these are the very bytes the verify pass hashed (kept in
    /// memory); else the bundle was read again, and each record's hash is
    /// checked against the signed manifest before it is used.
    pub(super) verified: bool,
    pub(super) items: Vec<Item>,
}

pub(super) struct Item {
    /// Its position in the bundle's manifest.
    pub(super) entry: u32,
    pub(super) record_id: String,
    /// Its form and version as the signed manifest gives them.
    pub(super) form_id: String,
    pub(super) form_version: String,
    /// Where the record's file lies in the bundle's bytes.
    pub(super) at: Range<usize>,
    /// Its SHA-256 as the signed manifest gives it.
    pub(super) sha256: Vec<u8>,
    /// Its version and the version it supersedes, as the signed manifest
    /// gives them (the body must say the same).
    pub(super) version: u32,
    pub(super) supersedes: Option<u32>,
    /// Whether the bytes are the record's plaintext (kept decrypted in
    /// the warehouse) rather than sealed.
    pub(super) plain: bool,
}

/// A record decrypted, read and turned into rows by a worker.
pub(super) struct Prepared {
    pub(super) sha: [u8; 8],
    pub(super) form: usize,
    pub(super) rows: Vec<Row>,
    pub(super) facts: summary::Facts,
    /// What the record's body says that the signed manifest does not
    /// (another enumerator or device): kept, credited to the signer.
    pub(super) disagrees: Option<String>,
    /// The entity the record creates or updates (`meta/entity`), with
    /// when it was finalized; Err: the operation cannot be read.
    pub(super) entity: Option<Result<(EntityOp, String), String>>,
    /// The files the record names (written out once it is merged).
    pub(super) attachments: Vec<crate::record::AttachmentFacts>,
    /// Its review status, written in its rows.
    pub(super) status: Status,
    /// Only for a record with more than one version among the bundles:
    /// its answers by path, for the change log.
    pub(super) answers: Option<Box<Answers>>,
}

/// One row of a record: a CSV line of one of its form's tables.
pub(super) struct Row {
    pub(super) table: usize,
    pub(super) line: Vec<u8>,
}

/// One record of a run, as a worker leaves it for the merge.
pub(super) struct Taken {
    /// Its place in the bundle's manifest.
    pub(super) entry: u32,
    pub(super) record_id: String,
    /// Its version, as the signed manifest gives it.
    pub(super) version: u32,
    /// Its rows and facts, or why it is left out.
    pub(super) result: Result<Prepared, RecordProblem>,
}

/// A run's outcome: every record of the run, or what stops the
/// aggregation.
pub(super) struct RunDone {
    /// The run's place in the merge order.
    pub(super) seq: usize,
    pub(super) bundle: u32,
    pub(super) outcome: Result<Vec<Taken>, AggregateError>,
}
