//! What passes between the screen's model and its loop: `Action`,
//! everything that can happen (keys, and the results of I/O), and
//! `Effect`, the I/O the loop must do; with the facts they carry.

use std::path::PathBuf;
use std::sync::Arc;

use age::secrecy::SecretString;
use ratatui::crossterm::event::KeyEvent;
use serde_json::{Map, Value};

use super::words::Notice;
use crate::form::Form;
use crate::store::{Draft, Listing, Tallies};

/// A form the enumerator can fill, with the hash records name it by.
#[derive(Debug, Clone)]
pub struct FormEntry {
    pub form: Arc<Form>,
    pub sha256: String,
    /// The form file's text, kept with finalized records.
    pub text: Arc<Vec<u8>>,
}

/// Forms are the same when their texts are (the hash says it).
impl PartialEq for FormEntry {
    fn eq(&self, other: &Self) -> bool {
        self.sha256 == other.sha256
    }
}

/// Who is working, once the store is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub enumerator: String,
    pub device_id: String,
    pub listing: Vec<Listing>,
    /// Per form id, what was sent and receipted (kept after a purge).
    pub tallies: Tallies,
    /// The forms of the round pack installed, which replace the forms
    /// offered before the store was open (None: no pack with forms).
    pub forms: Option<Vec<FormEntry>>,
    /// The round pack and the keys records are encrypted to, as the top
    /// bar shows them.
    pub keys: KeysInForce,
    /// This enumerator's assignments of the round (the pack's
    /// `assignments.csv`), in its order: empty without any.
    pub visits: Vec<ToVisit>,
}

/// An entity the round's assignments give this enumerator to visit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToVisit {
    pub list: String,
    pub name: String,
    /// Its label in the pack's entity list (empty if the list lacks it).
    pub label: String,
    /// Whether a record of this laptop created or updated it this round.
    pub done: bool,
}

/// Which round pack is installed and who new records are encrypted to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeysInForce {
    /// The pack's sequence and round code (None: no pack installed).
    pub pack: Option<(u64, String)>,
    /// How many data managers' keys new records are encrypted to.
    pub recipients: usize,
    /// Whether those keys come from the pack (else from setup).
    pub from_pack: bool,
}

/// What a receipt did.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipted {
    pub by: String,
    pub purged: usize,
    pub bundle_id: String,
    /// The receipt's verdicts (format 2; 0 for format 1), and of the
    /// records: approved, returned to correct (now drafts), received
    /// without a verdict.
    pub verdicts: usize,
    pub approved: usize,
    pub returned: usize,
    pub received: usize,
}

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Resize,
    Opened(Result<Opened, Notice>),
    Saved(Result<(), String>),
    /// A draft saved for its paradata alone (`Effect::SaveParadata`).
    ParadataSaved(Result<(), String>),
    /// A draft read from the store, with the form text the store keeps
    /// for it when that text is not among the forms offered.
    DraftLoaded(Result<(Draft, Option<Arc<Form>>), String>),
    Finalized(Result<(), String>),
    Deleted(Result<String, String>),
    /// Records read into the bundle being exported, of all.
    ExportProgress {
        done: usize,
        total: usize,
    },
    /// The bundles written (several when the outbox was split; none when
    /// the outbox was empty) and the store as it now stands.
    Exported(Result<(Vec<String>, Opened), String>),
    /// What the receipt did, and the store as it now stands.
    Acked(Result<(Receipted, Opened), String>),
    /// The sizes of a resumed draft's attachments, by name.
    AttachmentSizes(Result<Vec<(String, u64)>, String>),
    /// A folder listed for the file picker, or why it could not be.
    Listed(Result<(PathBuf, Vec<super::picker::FolderEntry>), String>),
    /// A file read and kept for a file question: the question, the
    /// attachment's name and its size; or why not.
    Attached(Result<(crate::form::Pos, String, u64), String>),
    /// A round pack taken: what was installed ("pack 2 of 'dtm-lao'") and
    /// what changed, or why not; the store as it now stands.
    PackImported(Result<(String, String, Opened), String>),
}

/// I/O for the loop to do; its result comes back as an `Action`.
#[derive(Debug)]
pub enum Effect {
    CreateProfile {
        enumerator: String,
        name: String,
        passphrase: SecretString,
        recipients: PathBuf,
    },
    Unlock {
        passphrase: SecretString,
    },
    /// Save a draft; the store keeps the text of its form first.
    Save {
        draft: Draft,
        form: Arc<Form>,
        detail: String,
    },
    /// Save a draft already stored whose paradata alone changed (a
    /// question came into focus, the record was left), then quit when
    /// `quit`.
    SaveParadata {
        draft: Draft,
        quit: bool,
    },
    Load {
        id: String,
    },
    /// Finalize a draft with the form it was filled on.
    Finalize {
        draft: Draft,
        values: Map<String, Value>,
        form: Arc<Form>,
    },
    Delete {
        id: String,
    },
    Quit,
    /// Write the next bundle into a folder (the USB stick).
    Export {
        dir: PathBuf,
    },
    /// Import a supervisor's receipt.
    Ack {
        file: PathBuf,
    },
    /// Take a round pack from the stick.
    ImportPack {
        file: PathBuf,
    },
    /// Read the sizes of a resumed draft's attachments.
    AttachmentSizes {
        record_id: String,
    },
    /// List a folder for the file picker (None: where it starts, the
    /// home folder).
    ListFolder {
        folder: Option<PathBuf>,
    },
    /// Read the file at `path` for the file question at `pos` of the
    /// record `record_id` and keep it, encrypted; the attachment it
    /// replaces (`replaced`) is removed.
    Attach {
        path: PathBuf,
        pos: crate::form::Pos,
        record_id: String,
        form: Arc<Form>,
        replaced: Option<String>,
    },
    /// Remove an attachment whose answer was cleared, then save.
    Detach {
        record_id: String,
        name: String,
        then: Box<Effect>,
    },
    /// Save what was being typed, then quit (Ctrl-C on a record).
    SaveAndQuit {
        draft: Draft,
        form: Arc<Form>,
        detail: String,
    },
}
