//! What can go wrong with the store, each failure with what to do.

use super::{SCHEMA, State};
use std::path::PathBuf;

use super::backend::{self, BackendError};
use super::profile::ProfileError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(
        "the store in {0} is in use by another fieldkit (or one that is still closing). Close \
         the other window or command and try again"
    )]
    Locked(PathBuf),
    #[error(
        "the store in {0} is in use by another fieldkit, but its lock file store.lock was missing \
         or replaced (deleted while that fieldkit ran?). Nothing is damaged and nothing was \
         changed. Close the other fieldkit window or command (look in every terminal) and try \
         again; this fieldkit made a new lock file"
    )]
    LockReplaced(PathBuf),
    #[error(
        "the store in {path} was written by a newer fieldkit (store schema {found}; this one \
         reads up to {SCHEMA}). Install the newer fieldkit; nothing was changed"
    )]
    Newer { path: PathBuf, found: u32 },
    #[error(
        "the store in {path} will not open: it looks damaged ({reason}). Nothing has been \
         deleted. Run 'fieldkit rescue --out DIR' (with the same --home, if you use one) to copy \
         out every record that can still be decrypted, and ask your supervisor before moving \
         the store aside"
    )]
    Corrupted { path: PathBuf, reason: String },
    #[error(
        "the profile in {0} has no store (its store folder is missing). If it was moved aside \
         after a rescue, start an empty one with 'fieldkit init --new-store'; the profile and \
         its keys stay the same"
    )]
    NoStore(PathBuf),
    #[error(
        "the disk is full: the last change was NOT saved, and what was saved before is intact. \
         Free some space on the disk and enter it again"
    )]
    DiskFull,
    #[error(
        "the last change could not be confirmed on disk ({0}); it may or may not be there. \
         Close fieldkit, check the disk, start again and look at the record before re-entering it"
    )]
    Unconfirmed(std::io::Error),
    #[error("record {0} cannot be encrypted: {1}")]
    Encrypt(String, String),
    #[error(
        "record {id} was started with another text of the form {form_id} (SHA-256 {expected}) \
         than the one given to finalize it ({given}); nothing was finalized. Finalize it with \
         the form text it was started with"
    )]
    FormMismatch {
        id: String,
        form_id: String,
        expected: String,
        given: String,
    },
    #[error("record {id} is already {state:?}, not a draft; it cannot be changed")]
    NotADraft { id: String, state: State },
    #[error(
        "record {0} was returned by a supervisor to correct; it cannot be deleted. Correct it \
         and finalize it: the supervisor waits for the correction"
    )]
    ReturnedDraft(String),
    #[error("no record {0} in this store")]
    NotFound(String),
    #[error(
        "this laptop's deployment signers are pinned already; new ones come only in a round pack \
         signed by a pinned signer ('fieldkit pack import')"
    )]
    AlreadyPinned,
    #[error("record {id} cannot be read: {reason}")]
    Damaged { id: String, reason: String },
    #[error(
        "record {id} names the attached file '{name}', which this laptop does not keep; attach \
         the file again, then finalize"
    )]
    MissingAttachment { id: String, name: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(
        "bundle {sequence} does not follow the last bundle exported ({last}); nothing was \
         recorded. Run the export again"
    )]
    OutOfChain { sequence: u64, last: u64 },
}

impl StoreError {
    pub(super) fn from_backend(path: &std::path::Path, e: BackendError) -> Self {
        match e {
            BackendError::DiskFull => StoreError::DiskFull,
            BackendError::Unconfirmed(e) => StoreError::Unconfirmed(e),
            BackendError::Corrupted(reason) => StoreError::Corrupted {
                path: path.to_path_buf(),
                reason,
            },
            BackendError::Io(source) if backend::is_disk_full(&source) => StoreError::DiskFull,
            BackendError::Io(source) => StoreError::Io {
                context: format!("the store in {} could not be used", path.display()),
                source,
            },
        }
    }
}
