//! The enumerator's encrypted store: drafts (encrypted to the profile),
//! finalized records in the outbox (encrypted to the deployment's data
//! managers; this laptop cannot read them back), records sent in a bundle
//! (kept until a receipt), sealed listing metadata so screens can list
//! records without decrypting them, and an append-only audit log. Every
//! change is one atomic write that is on disk when the call returns.
//! Owns the store's schema and its failure messages; the storage engine is
//! behind `backend::Backend`, the keys are in `profile`.

pub mod backend;
pub mod profile;
pub mod rescue;

use std::collections::HashSet;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Mutex;

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::crypt;
use crate::form::{Form, Session};
use crate::record::FinalRecord;
/// The format of a finalized record, as the data managers read it.
pub use crate::record::RECORD_FORMAT;
use backend::{Backend, BackendError, Change, SledBackend, Tree};
use profile::{Home, Profile, ProfileError};

/// A plain file in the store folder holding [`SCHEMA`], read before sled
/// opens anything (sled may write to its files when it opens them).
pub const SCHEMA_FILE: &str = "fieldkit-schema";

/// The store layout this fieldkit writes. A store with a higher number was
/// written by a newer fieldkit and is refused, never rewritten.
pub const SCHEMA: u32 = 1;

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
    #[error("no record {0} in this store")]
    NotFound(String),
    #[error("record {id} cannot be read: {reason}")]
    Damaged { id: String, reason: String },
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
    fn from_backend(path: &std::path::Path, e: BackendError) -> Self {
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

/// Where a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Draft,
    Outbox,
    Sent,
}

/// What the screens show of a record without decrypting it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub id: String,
    pub state: State,
    pub form_id: String,
    pub form_version: String,
    /// SHA-256 of the form file the record is made with.
    #[serde(default)]
    pub form_sha256: String,
    /// Empty once finalized: the laptop keeps no answer text of records
    /// it can no longer read.
    pub instance_name: String,
    pub started: String,
    pub updated: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<u64>,
    /// Bytes of ciphertext.
    pub size: usize,
}

impl Listing {
    /// The listing entry of a draft as it stands (`size`: its ciphertext).
    pub fn of_draft(draft: &Draft, size: usize) -> Listing {
        Listing {
            id: draft.id.clone(),
            state: State::Draft,
            form_id: draft.form_id.clone(),
            form_version: draft.form_version.clone(),
            form_sha256: draft.form_sha256.clone(),
            instance_name: draft.instance_name.clone(),
            started: draft.started.clone(),
            updated: draft.updated.clone(),
            finalized: None,
            bundle: None,
            size,
        }
    }
}

/// A record being filled, as saved after every answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub form_id: String,
    pub form_version: String,
    /// SHA-256 of the form file it is filled with.
    pub form_sha256: String,
    pub started: String,
    pub updated: String,
    pub instance_name: String,
    /// Every answer given, relevant or not (see `Session::answers`).
    pub answers: Map<String, Value>,
}

impl State {
    /// Its byte in the `states` tree.
    fn byte(self) -> u8 {
        match self {
            State::Draft => b'd',
            State::Outbox => b'o',
            State::Sent => b's',
        }
    }
}

impl Draft {
    /// A new draft of `form`, named by the hash of the text it was parsed
    /// from.
    pub fn start(form: &Form, now: &str) -> Self {
        Draft::new(&form.id, &form.version, form.sha256(), now)
    }

    /// The draft as `session` now stands: every answer given, the instance
    /// name, updated `now`. The one way the screen and `fill` make what
    /// they save and finalize.
    pub fn take(&mut self, session: &Session, now: &str) {
        self.answers = session.answers();
        self.instance_name = session.instance_name();
        self.updated = now.into();
    }

    pub fn new(form_id: &str, form_version: &str, form_sha256: &str, now: &str) -> Self {
        Draft {
            id: Uuid::now_v7().to_string(),
            form_id: form_id.into(),
            form_version: form_version.into(),
            form_sha256: form_sha256.into(),
            started: now.into(),
            updated: now.into(),
            instance_name: String::new(),
            answers: Map::new(),
        }
    }
}

/// The record counts of `fieldkit status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Status {
    pub drafts: usize,
    pub outbox: usize,
    pub sent: usize,
    /// Bundles exported and not yet covered by a receipt.
    pub bundles: usize,
}

/// An audit event: what happened to which record, never its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: String,
    pub event: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub form_id: String,
    /// A field name, a bundle number: never an answer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Stored values of drafts and records are wrapped in an envelope that a
/// rescue scan can find in damaged store files: magic, kind, record id,
/// save number (the latest wins), payload length, payload (an age file).
pub mod envelope {
    pub const MAGIC: &[u8; 4] = b"fkE1";
    pub const HEADER: usize = 4 + 1 + 16 + 8 + 4;

    pub fn wrap(kind: u8, id: &[u8; 16], number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(MAGIC);
        out.push(kind);
        out.extend_from_slice(id);
        out.extend_from_slice(&number.to_be_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// (kind, id, number, payload) of an envelope at the start of `bytes`.
    pub fn unwrap(bytes: &[u8]) -> Option<(u8, [u8; 16], u64, &[u8])> {
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return None;
        }
        let kind = bytes[4];
        let id: [u8; 16] = bytes[5..21].try_into().ok()?;
        let number = u64::from_be_bytes(bytes[21..29].try_into().ok()?);
        let len = u32::from_be_bytes(bytes[29..33].try_into().ok()?) as usize;
        let payload = bytes.get(HEADER..HEADER.checked_add(len)?)?;
        Some((kind, id, number, payload))
    }

    pub const DRAFT: u8 = b'd';
    pub const RECORD: u8 = b'r';
}

pub struct Store {
    pub home: Home,
    profile: Profile,
    backend: Box<dyn Backend>,
    /// Form hashes this store was seen to keep whole since it was opened,
    /// so that saving a draft checks its form once, not at every answer.
    kept_forms: Mutex<HashSet<String>>,
    /// Held while the store is open; released on drop.
    _lock: File,
}

fn parse_id(id: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(id).map_err(|_| StoreError::NotFound(id.to_string()))
}

pub fn lock(home: &Home) -> Result<File, StoreError> {
    let path = home.lock_path();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StoreError::Io {
            context: format!("cannot open the lock file {}", path.display()),
            source,
        })?;
    match file.try_lock() {
        // The store's own files may still be held by a fieldkit whose lock
        // file was deleted: sled locks its `db` file too (see lock_probe).
        Ok(()) if lock_probe(home) => Err(StoreError::LockReplaced(home.dir.clone())),
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(home.dir.clone())),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Io {
            context: format!("cannot lock {}", path.display()),
            source,
        }),
    }
}

/// Whether another process holds sled's lock on the store's `db` file
/// (sled takes an exclusive `flock`/`LockFileEx` on it while open).
fn lock_probe(home: &Home) -> bool {
    std::fs::File::open(home.store_path().join("db"))
        .is_ok_and(|db| matches!(db.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

impl Store {
    /// Creates the store of a profile just made by `profile::create`.
    pub fn create(home: Home, profile: Profile, now: &str) -> Result<Self, StoreError> {
        let lock = lock(&home)?;
        let path = home.store_path();
        if path.exists() {
            return Err(StoreError::Io {
                context: format!("{} already exists", path.display()),
                source: std::io::ErrorKind::AlreadyExists.into(),
            });
        }
        std::fs::create_dir_all(&path).map_err(|source| StoreError::Io {
            context: format!("cannot create {}", path.display()),
            source,
        })?;
        profile::write_new(
            &path.join(SCHEMA_FILE),
            format!("{SCHEMA}\n").as_bytes(),
            false,
        )?;
        let backend = SledBackend::open(&path).map_err(|e| StoreError::from_backend(&path, e))?;
        let store = Store {
            home,
            profile,
            backend: Box::new(backend),
            kept_forms: Mutex::default(),
            _lock: lock,
        };
        let event = store.event(now, "store created", "", "", "");
        store.apply(&[
            Change::put(Tree::Meta, "schema", SCHEMA.to_string().into_bytes()),
            event?,
        ])?;
        Ok(store)
    }

    /// Opens the profile's store: checks the profile exists, takes the
    /// lock, unlocks the profile, opens the files, checks the schema.
    pub fn open(home: Home, passphrase: &SecretString) -> Result<Self, StoreError> {
        home.public()?;
        let lock = lock(&home)?;
        Self::open_locked(home, passphrase, lock)
    }

    /// Opens with the lock already taken (`lock()`), so a caller can say
    /// "in use" before asking for the passphrase.
    pub fn open_locked(
        home: Home,
        passphrase: &SecretString,
        lock: File,
    ) -> Result<Self, StoreError> {
        check_schema_file(&home)?;
        let profile = profile::unlock(&home, passphrase)?;
        Self::open_unlocked(home, profile, lock)
    }

    /// Opens the store with a profile already unlocked (the benchmark
    /// times the key derivation and the opening apart).
    pub fn open_with(home: Home, profile: Profile) -> Result<Self, StoreError> {
        let lock = lock(&home)?;
        Self::open_unlocked(home, profile, lock)
    }

    fn open_unlocked(home: Home, profile: Profile, lock: File) -> Result<Self, StoreError> {
        let backend = open_backend(&home)?;
        let mut store = Store {
            home,
            profile,
            backend: Box::new(backend),
            kept_forms: Mutex::default(),
            _lock: lock,
        };
        // The profile's sealed facts against the store's copy (profile.rs).
        store.check_sealed_profile()?;
        Ok(store)
    }

    /// The record counts, without the passphrase (they say nothing about
    /// anyone). Takes the lock like any other use of the store.
    pub fn counts(home: Home) -> Result<Status, StoreError> {
        home.public()?;
        let _lock = lock(&home)?;
        let path = home.store_path();
        let backend = open_backend(&home)?;
        let count = |t| {
            backend
                .count(t)
                .map_err(|e| StoreError::from_backend(&path, e))
        };
        Ok(Status {
            drafts: count(Tree::Drafts)?,
            outbox: count(Tree::Outbox)?,
            sent: count(Tree::Sent)?,
            bundles: count(Tree::Bundles)?,
        })
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.backend
            .apply(changes)
            .map_err(|e| StoreError::from_backend(&self.home.store_path(), e))
    }

    fn backend_err(&self, e: BackendError) -> StoreError {
        StoreError::from_backend(&self.home.store_path(), e)
    }

    fn sealed<T: Serialize>(&self, tree: Tree, key: &[u8], value: &T) -> Vec<u8> {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(value).unwrap_or_default());
        crypt::seal(&self.profile.seal_key, &context(tree, key), &plain)
    }

    fn unsealed<T: for<'de> Deserialize<'de>>(
        &self,
        tree: Tree,
        key: &[u8],
        sealed: &[u8],
    ) -> Result<T, StoreError> {
        unseal(&self.profile.seal_key, tree, key, sealed)
    }

    /// An audit event as a change to apply with the rest.
    fn event(
        &self,
        at: &str,
        event: &str,
        record_id: &str,
        form_id: &str,
        detail: &str,
    ) -> Result<Change, StoreError> {
        let number = self
            .backend
            .next_number()
            .map_err(|e| self.backend_err(e))?;
        let key = number.to_be_bytes();
        let event = Event {
            at: at.into(),
            event: event.into(),
            record_id: record_id.into(),
            form_id: form_id.into(),
            detail: detail.into(),
        };
        Ok(Change::put(
            Tree::Audit,
            key.to_vec(),
            self.sealed(Tree::Audit, &key, &event),
        ))
    }

    /// Where a record is now, from its listing (None: not in the store).
    fn state_of(&self, key: &[u8]) -> Result<Option<State>, StoreError> {
        let sealed = self
            .backend
            .get(Tree::Listing, key)
            .map_err(|e| self.backend_err(e))?;
        match sealed {
            Some(sealed) => Ok(Some(
                self.unsealed::<Listing>(Tree::Listing, key, &sealed)?.state,
            )),
            None => Ok(None),
        }
    }

    /// Saves a draft: encrypted to the profile, listed, audited (`detail`
    /// names the field just answered). On disk when this returns.
    pub fn save_draft(&self, draft: &Draft, detail: &str) -> Result<(), StoreError> {
        let id = parse_id(&draft.id)?;
        let existing = match self.state_of(id.as_bytes())? {
            None => false,
            Some(State::Draft) => true,
            Some(state) => {
                return Err(StoreError::NotADraft {
                    id: draft.id.clone(),
                    state,
                });
            }
        };
        let changes = self.draft_changes(draft, detail, existing)?;
        self.apply(&changes)
    }

    fn draft_changes(
        &self,
        draft: &Draft,
        detail: &str,
        existing: bool,
    ) -> Result<Vec<Change>, StoreError> {
        let id = parse_id(&draft.id)?;
        let key = id.as_bytes();
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(draft).unwrap_or_default());
        let ct = crypt::encrypt_to(&[self.profile.identity.to_public()], &plain)
            .map_err(|e| StoreError::Encrypt(draft.id.clone(), e.to_string()))?;
        let number = self
            .backend
            .next_number()
            .map_err(|e| self.backend_err(e))?;
        let listing = Listing::of_draft(draft, ct.len());
        let what = if existing { "answered" } else { "created" };
        Ok(vec![
            Change::put(Tree::States, key.to_vec(), vec![State::Draft.byte()]),
            Change::put(
                Tree::Drafts,
                key.to_vec(),
                envelope::wrap(envelope::DRAFT, key, number, &ct),
            ),
            Change::put(
                Tree::Listing,
                key.to_vec(),
                self.sealed(Tree::Listing, key, &listing),
            ),
            self.event(&draft.updated, what, &draft.id, &draft.form_id, detail)?,
        ])
    }

    pub fn load_draft(&self, id: &str) -> Result<Draft, StoreError> {
        let uuid = parse_id(id)?;
        let value = self
            .backend
            .get(Tree::Drafts, uuid.as_bytes())
            .map_err(|e| self.backend_err(e))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        self.decrypt_draft(id, &value)
    }

    fn decrypt_draft(&self, id: &str, value: &[u8]) -> Result<Draft, StoreError> {
        let (_, _, _, payload) = envelope::unwrap(value).ok_or_else(|| StoreError::Damaged {
            id: id.to_string(),
            reason: "its envelope is damaged".into(),
        })?;
        let plain = crypt::decrypt_with(&self.profile.identity, payload).map_err(|e| {
            StoreError::Damaged {
                id: id.to_string(),
                reason: e.to_string(),
            }
        })?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Damaged {
            id: id.to_string(),
            reason: e.to_string(),
        })
    }

    /// Deletes a draft (the enumerator confirmed it). Finalized records
    /// are never deleted this way.
    pub fn delete_draft(&self, id: &str, now: &str) -> Result<(), StoreError> {
        let uuid = parse_id(id)?;
        let key = uuid.as_bytes();
        if self
            .backend
            .get(Tree::Drafts, key)
            .map_err(|e| self.backend_err(e))?
            .is_none()
        {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let event = self.event(now, "deleted", id, "", "")?;
        self.apply(&[
            Change::remove(Tree::Drafts, key.to_vec()),
            Change::remove(Tree::Listing, key.to_vec()),
            Change::remove(Tree::States, key.to_vec()),
            event,
        ])
    }

    /// Finalizes a draft: the record (with its computed values) is
    /// encrypted to the deployment's recipients and moved to the outbox;
    /// the draft is gone in the same atomic write.
    pub fn finalize(
        &self,
        draft: &Draft,
        values: &Map<String, Value>,
        now: &str,
        form_text: &[u8],
    ) -> Result<(), StoreError> {
        let id = parse_id(&draft.id)?;
        match self.state_of(id.as_bytes())? {
            Some(State::Draft) => {}
            None => return Err(StoreError::NotFound(draft.id.clone())),
            Some(state) => {
                return Err(StoreError::NotADraft {
                    id: draft.id.clone(),
                    state,
                });
            }
        }
        let changes = self.final_changes(draft, values, now, form_text)?;
        self.apply(&changes)
    }

    /// Saves a new record and finalizes it in one atomic write (`fill
    /// --finalize`): a crash leaves either nothing or the finalized record.
    pub fn save_final(
        &self,
        draft: &Draft,
        values: &Map<String, Value>,
        now: &str,
        form_text: &[u8],
    ) -> Result<(), StoreError> {
        let id = parse_id(&draft.id)?;
        if let Some(state) = self.state_of(id.as_bytes())? {
            return Err(StoreError::NotADraft {
                id: draft.id.clone(),
                state,
            });
        }
        let mut changes = self.draft_changes(draft, "", false)?;
        changes.extend(self.final_changes(draft, values, now, form_text)?);
        self.apply(&changes)
    }

    fn final_changes(
        &self,
        draft: &Draft,
        values: &Map<String, Value>,
        now: &str,
        form_text: &[u8],
    ) -> Result<Vec<Change>, StoreError> {
        let id = parse_id(&draft.id)?;
        let key = id.as_bytes();
        // The form kept for a bundle is the very text the draft was made
        // with: another text (or none at all) under its hash would make
        // every later bundle fail verification.
        let given = crypt::sha256_hex(form_text);
        if given != draft.form_sha256 {
            return Err(StoreError::FormMismatch {
                id: draft.id.clone(),
                form_id: draft.form_id.clone(),
                expected: draft.form_sha256.clone(),
                given,
            });
        }
        let record = FinalRecord {
            format: RECORD_FORMAT.into(),
            record_id: draft.id.as_str().into(),
            form_id: draft.form_id.as_str().into(),
            form_version: draft.form_version.as_str().into(),
            form_sha256: draft.form_sha256.as_str().into(),
            enumerator_id: self.profile.public.enumerator_id.as_str().into(),
            device_id: self.profile.public.device_id.as_str().into(),
            started: draft.started.as_str().into(),
            finalized_at: now.into(),
            instance_name: draft.instance_name.as_str().into(),
            values,
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&record).unwrap_or_default());
        let ct = crypt::encrypt_to(&self.profile.recipients, &plain)
            .map_err(|e| StoreError::Encrypt(draft.id.clone(), e.to_string()))?;
        let number = self
            .backend
            .next_number()
            .map_err(|e| self.backend_err(e))?;
        // No answer text is kept of a record this laptop cannot read back.
        let listing = Listing {
            state: State::Outbox,
            instance_name: String::new(),
            updated: now.into(),
            finalized: Some(now.into()),
            ..Listing::of_draft(draft, ct.len())
        };
        let mut changes = vec![
            Change::put(Tree::States, key.to_vec(), vec![State::Outbox.byte()]),
            Change::remove(Tree::Drafts, key.to_vec()),
            Change::put(
                Tree::Outbox,
                key.to_vec(),
                envelope::wrap(envelope::RECORD, key, number, &ct),
            ),
            Change::put(
                Tree::Listing,
                key.to_vec(),
                self.sealed(Tree::Listing, key, &listing),
            ),
        ];
        // The form is kept once per text: writing its whole text again
        // for every record made the store 13 times the answers' size. A
        // kept copy that no longer opens or matches is written again.
        if !self.keeps_form(&draft.form_sha256) {
            changes.push(Change::put(
                Tree::Forms,
                draft.form_sha256.as_bytes().to_vec(),
                crypt::seal(
                    &self.profile.seal_key,
                    &context(Tree::Forms, draft.form_sha256.as_bytes()),
                    form_text,
                ),
            ));
        }
        changes.push(self.event(now, "finalized", &draft.id, &draft.form_id, "")?);
        Ok(changes)
    }

    /// Keeps the text of `form` (under its SHA-256) unless it is kept
    /// already: a draft is saved with this first, so that it resumes and
    /// finalizes with the very text it was started on, whatever the forms
    /// folder holds by then.
    pub fn keep_form(&self, form: &Form) -> Result<(), StoreError> {
        let sha256 = form.sha256();
        let seen = |kept: &HashSet<String>| kept.contains(sha256);
        if self.kept_forms.lock().is_ok_and(|k| seen(&k)) {
            return Ok(());
        }
        if !self.keeps_form(sha256) {
            self.apply(&[Change::put(
                Tree::Forms,
                sha256.as_bytes().to_vec(),
                crypt::seal(
                    &self.profile.seal_key,
                    &context(Tree::Forms, sha256.as_bytes()),
                    form.text().as_bytes(),
                ),
            )])?;
        }
        if let Ok(mut kept) = self.kept_forms.lock() {
            kept.insert(sha256.to_string());
        }
        Ok(())
    }

    /// Whether the form with this SHA-256 is kept, whole and unchanged.
    fn keeps_form(&self, sha256: &str) -> bool {
        self.form_text(sha256)
            .ok()
            .flatten()
            .is_some_and(|text| crypt::sha256_hex(&text) == sha256)
    }

    /// Every record's listing, oldest first (ids are UUIDv7), and the ids
    /// of entries too damaged to read (shown, never dropped silently).
    pub fn listing(&self) -> Result<Vec<Listing>, StoreError> {
        Ok(self.listing_checked()?.0)
    }

    pub fn listing_checked(&self) -> Result<(Vec<Listing>, Vec<String>), StoreError> {
        let mut good = Vec::new();
        let mut damaged = Vec::new();
        self.backend
            .visit(Tree::Listing, &mut |k, v| {
                match self.unsealed::<Listing>(Tree::Listing, k, v) {
                    Ok(l) => good.push(l),
                    Err(_) => damaged.push(display_key(k)),
                }
                true
            })
            .map_err(|e| self.backend_err(e))?;
        Ok((good, damaged))
    }

    pub fn status(&self) -> Result<Status, StoreError> {
        count_states(self.backend.as_ref()).map_err(|e| self.backend_err(e))
    }

    /// The finalized record's ciphertext (an age file to the deployment).
    pub fn outbox_record(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        let uuid = parse_id(id)?;
        let value = self
            .backend
            .get(Tree::Outbox, uuid.as_bytes())
            .map_err(|e| self.backend_err(e))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        envelope::unwrap(&value)
            .map(|(_, _, _, payload)| payload.to_vec())
            .ok_or_else(|| StoreError::Damaged {
                id: id.to_string(),
                reason: "its envelope is damaged".into(),
            })
    }

    /// The audit log, oldest first.
    pub fn audit(&self) -> Result<Vec<Event>, StoreError> {
        self.unsealed_all(Tree::Audit)
    }

    /// Every sealed entry of a tree, in key order.
    fn unsealed_all<T: for<'de> Deserialize<'de>>(&self, tree: Tree) -> Result<Vec<T>, StoreError> {
        let entries = self
            .backend
            .entries(tree)
            .map_err(|e| self.backend_err(e))?;
        entries
            .iter()
            .map(|(k, v)| self.unsealed(tree, k, v))
            .collect()
    }

    /// Every draft that decrypts, and the ids of those that do not.
    pub fn drafts(&self) -> Result<(Vec<Draft>, Vec<String>), StoreError> {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        self.backend
            .visit(Tree::Drafts, &mut |k, v| {
                let id = display_key(k);
                match self.decrypt_draft(&id, v) {
                    Ok(d) => good.push(d),
                    Err(_) => bad.push(id),
                }
                true
            })
            .map_err(|e| self.backend_err(e))?;
        Ok((good, bad))
    }

    /// Raw (id, ciphertext) of the finalized records in a state.
    pub fn records(&self, state: State) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let tree = match state {
            State::Draft => Tree::Drafts,
            State::Outbox => Tree::Outbox,
            State::Sent => Tree::Sent,
        };
        let mut out = Vec::new();
        let mut damaged = None;
        self.backend
            .visit(tree, &mut |k, v| match envelope::unwrap(v) {
                Some((_, _, _, payload)) => {
                    out.push((display_key(k), payload.to_vec()));
                    true
                }
                None => {
                    damaged = Some(display_key(k));
                    false
                }
            })
            .map_err(|e| self.backend_err(e))?;
        match damaged {
            Some(id) => Err(StoreError::Damaged {
                id,
                reason: "its envelope is damaged".into(),
            }),
            None => Ok(out),
        }
    }
}

/// Counts records by state from the small `states` tree, never touching
/// the records themselves (reading 10,000 of them filled sled's cache).
fn count_states(backend: &dyn Backend) -> Result<Status, BackendError> {
    let mut status = Status {
        drafts: 0,
        outbox: 0,
        sent: 0,
        bundles: backend.count(Tree::Bundles)?,
    };
    backend.visit(Tree::States, &mut |_, v| {
        match v.first() {
            Some(b'd') => status.drafts += 1,
            Some(b'o') => status.outbox += 1,
            Some(b's') => status.sent += 1,
            _ => {}
        }
        true
    })?;
    Ok(status)
}

/// Refuses a store written by a newer fieldkit before sled touches it, and
/// a missing store folder.
fn check_schema_file(home: &Home) -> Result<(), StoreError> {
    let path = home.store_path();
    if !path.is_dir() {
        return Err(StoreError::NoStore(home.dir.clone()));
    }
    if let Ok(text) = std::fs::read_to_string(path.join(SCHEMA_FILE)) {
        let found = text
            .trim()
            .parse::<u32>()
            .map_err(|_| StoreError::Corrupted {
                path: path.clone(),
                reason: format!("{SCHEMA_FILE} is unreadable"),
            })?;
        if found > SCHEMA {
            return Err(StoreError::Newer { path, found });
        }
    }
    Ok(())
}

/// Opens the store's files and checks the schema recorded inside.
fn open_backend(home: &Home) -> Result<SledBackend, StoreError> {
    check_schema_file(home)?;
    let path = home.store_path();
    let backend = SledBackend::open(&path).map_err(|e| StoreError::from_backend(&path, e))?;
    let schema = backend
        .get(Tree::Meta, b"schema")
        .map_err(|e| StoreError::from_backend(&path, e))?;
    let Some(bytes) = schema else {
        return Err(StoreError::Corrupted {
            path,
            reason: "it has no schema version".into(),
        });
    };
    let found = String::from_utf8_lossy(&bytes)
        .parse::<u32>()
        .map_err(|_| StoreError::Corrupted {
            path: path.clone(),
            reason: "its schema version is unreadable".into(),
        })?;
    if found > SCHEMA {
        return Err(StoreError::Newer { path, found });
    }
    Ok(backend)
}

/// A bundle this laptop exported, kept until a receipt covers it: with
/// the records in "sent" and the kept forms, what rebuilds its file byte
/// for byte (`fieldkit export --again`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleFacts {
    pub sequence: u64,
    pub bundle_id: String,
    pub manifest_sha256: String,
    /// The manifest hash it chains to. Empty in stores written before it
    /// was kept (the previous bundle's facts may still say it).
    #[serde(default)]
    pub prev_manifest_sha256: String,
    pub file: String,
    pub exported_at: String,
    /// Whether its file was written and synced. The store records a
    /// bundle before its file is written, so a failure in between leaves
    /// it unwritten, and the next export writes the same bytes. Bundles
    /// recorded before this was kept were written first.
    #[serde(default = "already_written")]
    pub written: bool,
    pub records: Vec<String>,
}

fn already_written() -> bool {
    true
}

/// What this laptop sent of one form, and what supervisors receipted:
/// kept after a receipt purges the records, so the home page still shows
/// the work done. Issue 15 point 11.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormTally {
    /// Records exported in bundles, ever.
    pub sent: usize,
    /// Of those, records a receipt covered (and purged).
    pub receipted: usize,
    /// When the last bundle with records of the form was exported.
    #[serde(default)]
    pub last_export: String,
    /// When the last receipt covering records of the form was taken.
    #[serde(default)]
    pub last_receipt: String,
}

/// The key of the tallies in the `meta` tree: one small sealed map of
/// form id -> [`FormTally`], changed in the same write as the export or
/// the purge it counts. Stores made before it have none (no history yet).
const TALLIES: &[u8] = b"tallies";

/// Form id -> what was sent and receipted of it.
pub type Tallies = std::collections::BTreeMap<String, FormTally>;

impl Store {
    /// What was sent and receipted, per form id (empty in a store that
    /// never exported, or was made before tallies were kept).
    pub fn tallies(&self) -> Result<Tallies, StoreError> {
        match self
            .backend
            .get(Tree::Meta, TALLIES)
            .map_err(|e| self.backend_err(e))?
        {
            None => Ok(Tallies::new()),
            Some(sealed) => self.unsealed(Tree::Meta, TALLIES, &sealed),
        }
    }

    /// The tallies with `count(tally, records of the form)` applied to the
    /// forms of `form_ids`, as a change for the same write.
    fn tally_change(
        &self,
        form_ids: &[String],
        count: impl Fn(&mut FormTally, usize),
    ) -> Result<Change, StoreError> {
        let mut tallies = self.tallies()?;
        let mut per_form = std::collections::BTreeMap::<&str, usize>::new();
        for form in form_ids {
            *per_form.entry(form).or_default() += 1;
        }
        for (form, n) in per_form {
            count(tallies.entry(form.to_string()).or_default(), n);
        }
        Ok(Change::put(
            Tree::Meta,
            TALLIES.to_vec(),
            self.sealed(Tree::Meta, TALLIES, &tallies),
        ))
    }

    /// The ids of the records waiting in the outbox, oldest first (ids
    /// are UUIDv7), read from the small `states` tree.
    pub fn outbox_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        self.backend
            .visit(Tree::States, &mut |k, v| {
                if v.first() == Some(&State::Outbox.byte()) {
                    ids.push(display_key(k));
                }
                true
            })
            .map_err(|e| self.backend_err(e))?;
        Ok(ids)
    }

    /// A finalized record in the outbox or in "sent": its listing and its
    /// ciphertext.
    pub fn finalized(&self, id: &str, state: State) -> Result<(Listing, Vec<u8>), StoreError> {
        let tree = match state {
            State::Outbox => Tree::Outbox,
            State::Sent => Tree::Sent,
            State::Draft => return Err(StoreError::NotFound(id.to_string())),
        };
        let (listing, value) = self.stored(id, tree)?;
        let ciphertext = envelope::unwrap(&value)
            .map(|(_, _, _, payload)| payload.to_vec())
            .ok_or_else(|| StoreError::Damaged {
                id: id.to_string(),
                reason: "its envelope is damaged".into(),
            })?;
        Ok((listing, ciphertext))
    }

    /// A record's listing and its stored value (an envelope) in `tree`.
    fn stored(&self, id: &str, tree: Tree) -> Result<(Listing, Vec<u8>), StoreError> {
        let key = parse_id(id)?;
        let key = key.as_bytes();
        let value = self
            .backend
            .get(tree, key)
            .map_err(|e| self.backend_err(e))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let sealed = self
            .backend
            .get(Tree::Listing, key)
            .map_err(|e| self.backend_err(e))?
            .ok_or_else(|| StoreError::Damaged {
                id: id.to_string(),
                reason: "it has no listing".into(),
            })?;
        Ok((self.unsealed(Tree::Listing, key, &sealed)?, value))
    }

    /// The text of the form with this SHA-256, as kept when a draft of it
    /// was first saved or a record of it finalized.
    pub fn form_text(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = sha256.as_bytes();
        match self
            .backend
            .get(Tree::Forms, key)
            .map_err(|e| self.backend_err(e))?
        {
            None => Ok(None),
            Some(sealed) => {
                crypt::open(&self.profile.seal_key, &context(Tree::Forms, key), &sealed)
                    .map(|p| Some(p.to_vec()))
                    .map_err(|e| StoreError::Damaged {
                        id: format!("form {sha256}"),
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// The last bundle's sequence and manifest hash (0 and zeros at first).
    pub fn chain_head(&self) -> Result<(u64, String), StoreError> {
        let head = self
            .backend
            .get(Tree::Meta, b"chain")
            .map_err(|e| self.backend_err(e))?;
        Ok(match head {
            None => (0, crypt::NO_PREVIOUS.to_string()),
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes).to_string();
                let (seq, sha) = text.split_once(' ').unwrap_or(("0", ""));
                (seq.parse().unwrap_or(0), sha.to_string())
            }
        })
    }

    /// Records an export before its file is written: its records move
    /// from the outbox to sent, the bundle is kept (as `facts.written`
    /// says) until a receipt, the chain moves on. One write. The bundle
    /// must follow the chain's head, so no two bundles share a sequence.
    pub fn record_export(&self, facts: &BundleFacts) -> Result<(), StoreError> {
        let (last, prev) = self.chain_head()?;
        if facts.sequence != last + 1 || facts.prev_manifest_sha256 != prev {
            return Err(StoreError::OutOfChain {
                sequence: facts.sequence,
                last,
            });
        }
        let seq_key = facts.sequence.to_be_bytes();
        let mut changes = vec![
            Change::put(
                Tree::Bundles,
                seq_key.to_vec(),
                self.sealed(Tree::Bundles, &seq_key, facts),
            ),
            Change::put(
                Tree::Meta,
                "chain",
                format!("{} {}", facts.sequence, facts.manifest_sha256).into_bytes(),
            ),
            self.event(&facts.exported_at, "exported", "", "", &facts.bundle_id)?,
        ];
        let mut forms = Vec::with_capacity(facts.records.len());
        for id in &facts.records {
            let uuid = parse_id(id)?;
            let key = uuid.as_bytes();
            let (mut listing, value) = self.stored(id, Tree::Outbox)?;
            forms.push(listing.form_id.clone());
            listing.state = State::Sent;
            listing.bundle = Some(facts.sequence);
            changes.extend([
                Change::remove(Tree::Outbox, key.to_vec()),
                Change::put(Tree::Sent, key.to_vec(), value),
                Change::put(
                    Tree::Listing,
                    key.to_vec(),
                    self.sealed(Tree::Listing, key, &listing),
                ),
                Change::put(Tree::States, key.to_vec(), vec![State::Sent.byte()]),
            ]);
        }
        changes.push(self.tally_change(&forms, |t, n| {
            t.sent += n;
            t.last_export = facts.exported_at.clone();
        })?);
        self.apply(&changes)
    }

    /// The bundles exported and not yet receipted, oldest first.
    pub fn bundles(&self) -> Result<Vec<BundleFacts>, StoreError> {
        self.unsealed_all(Tree::Bundles)
    }

    /// A bundle's file is on the stick (written and synced): `event` says
    /// which write it was ("written", "written again"). One write.
    pub fn mark_written(
        &self,
        facts: &BundleFacts,
        event: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let seq_key = facts.sequence.to_be_bytes();
        let facts = BundleFacts {
            written: true,
            ..facts.clone()
        };
        let event = self.event(now, event, "", "", &facts.bundle_id)?;
        self.apply(&[
            Change::put(
                Tree::Bundles,
                seq_key.to_vec(),
                self.sealed(Tree::Bundles, &seq_key, &facts),
            ),
            event,
        ])
    }

    /// A receipt arrived: exactly that bundle's records leave the store.
    /// Returns how many were purged.
    pub fn purge_bundle(
        &self,
        facts: &BundleFacts,
        by: &str,
        now: &str,
    ) -> Result<usize, StoreError> {
        let seq_key = facts.sequence.to_be_bytes();
        let mut changes = vec![
            Change::remove(Tree::Bundles, seq_key.to_vec()),
            self.event(
                now,
                "purged",
                "",
                "",
                &format!(
                    "{} ({} records), receipt by {by}",
                    facts.bundle_id,
                    facts.records.len()
                ),
            )?,
        ];
        let mut forms = Vec::with_capacity(facts.records.len());
        for id in &facts.records {
            let key = parse_id(id)?.as_bytes().to_vec();
            // A listing that cannot be read counts for no form.
            let listing = self
                .backend
                .get(Tree::Listing, &key)
                .map_err(|e| self.backend_err(e))?;
            if let Some(Ok(l)) = listing.map(|v| self.unsealed::<Listing>(Tree::Listing, &key, &v))
            {
                forms.push(l.form_id);
            }
            changes.extend([
                Change::remove(Tree::Sent, key.clone()),
                Change::remove(Tree::Listing, key.clone()),
                Change::remove(Tree::States, key),
            ]);
        }
        changes.push(self.tally_change(&forms, |t, n| {
            t.receipted += n;
            t.last_receipt = now.to_string();
        })?);
        self.apply(&changes)?;
        Ok(facts.records.len())
    }
}

/// A sealed entry of `tree` under `key`, opened with the profile's seal
/// key and read (also for rescue, which has no open store).
fn unseal<T: for<'de> Deserialize<'de>>(
    seal_key: &crypt::SealKey,
    tree: Tree,
    key: &[u8],
    sealed: &[u8],
) -> Result<T, StoreError> {
    let damaged = |reason: String| StoreError::Damaged {
        id: display_key(key),
        reason,
    };
    let plain =
        crypt::open(seal_key, &context(tree, key), sealed).map_err(|e| damaged(e.to_string()))?;
    serde_json::from_slice(&plain).map_err(|e| damaged(e.to_string()))
}

/// What a sealed entry is bound to: its tree and key.
fn context(tree: Tree, key: &[u8]) -> Vec<u8> {
    let mut c = tree.name().as_bytes().to_vec();
    c.push(b'/');
    c.extend_from_slice(key);
    c
}

fn display_key(key: &[u8]) -> String {
    match <[u8; 16]>::try_from(key) {
        Ok(bytes) => Uuid::from_bytes(bytes).to_string(),
        Err(_) => crypt::to_hex(key),
    }
}

#[cfg(test)]
mod tests;
