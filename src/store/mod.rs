//! The enumerator's encrypted store: drafts (encrypted to the profile),
//! finalized records in the outbox (encrypted to the deployment's data
//! managers; this laptop cannot read them back), records sent in a bundle
//! (kept until a receipt), sealed listing metadata so screens can list
//! records without decrypting them, and an append-only audit log. Every
//! change is one atomic write that is on disk when the call returns.
//! This module owns opening, creating and locking the store, its schema,
//! the sealing of entries and the reads screens list from; `drafts`,
//! `finals` and `bundles` own a record's three stages, `kept` the answers
//! of finalized records kept until a receipt (and a returned record made a
//! draft again), `packs` the round
//! pack installed and the pinned deployment signers, `entries` the types,
//! `error` the failure messages, `paradata` the time on each question a
//! draft carries, `compact` giving sled's room back. The storage engine
//! is behind `backend::Backend`, the keys are in `profile`.

mod attachments;
pub mod backend;
mod bundles;
mod compact;
mod drafts;
mod entries;
mod error;
mod finals;
mod kept;
mod packs;
pub mod paradata;
pub mod profile;
pub mod rescue;

pub use bundles::{BundleFacts, FormTally, MoveStep, Purged, Returns, Tallies};
pub use entries::{Draft, Event, Listing, Returned, State, Status, envelope};
pub use error::StoreError;
pub use packs::{InstalledPack, PackChanges, PackShown};

use std::collections::HashSet;
use std::fs::File;
use std::sync::Mutex;

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypt;
/// The format of a finalized record, as the data managers read it.
pub use crate::record::RECORD_FORMAT;
use backend::{Backend, BackendError, Change, SledBackend, Tree};
use profile::{Home, Profile};

/// A plain file in the store folder holding [`SCHEMA`], read before sled
/// opens anything (sled may write to its files when it opens them).
pub const SCHEMA_FILE: &str = "fieldkit-schema";

/// The store layout this fieldkit writes. A store with a higher number was
/// written by a newer fieldkit and is refused, never rewritten. 2: the
/// store may have been copied into fresh files (compact.rs), its numbers
/// then starting above a floor that 1 did not know.
pub const SCHEMA: u32 = 2;

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
        // A compaction a crash stopped is finished first; folders it left
        // that cannot be settled hold records, so no store is made beside.
        let _ = compact::settle(&path);
        if let Some(left) = compact::leftovers(&path).first() {
            return Err(StoreError::Io {
                context: format!(
                    "{} was left by a compaction and may hold records; move it out of {} \
                     (keep it), then run this again",
                    left.display(),
                    home.dir.display()
                ),
                source: std::io::ErrorKind::AlreadyExists.into(),
            });
        }
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
            Change::put(Tree::Meta, COUNTS, b"0 0 0 0".to_vec()),
            // Form texts' uses are counted from the start.
            Change::put(Tree::Meta, finals::FORM_USES_KEPT, b"1".to_vec()),
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
        let path = home.store_path();
        let backend = compact::if_due(open_backend(&home)?)
            .map_err(|e| StoreError::from_backend(&path, e))?;
        let mut store = Store {
            home,
            profile,
            backend: Box::new(backend),
            kept_forms: Mutex::default(),
            _lock: lock,
        };
        // The profile's sealed facts against the store's copy (profile.rs).
        store.check_sealed_profile()?;
        keep_counts(store.backend.as_ref()).map_err(|e| store.backend_err(e))?;
        // An export or a purge stopped between its steps is finished
        // before anything reads the outbox (bundles.rs).
        store.finish_export(&mut |_| {})?;
        store.finish_purge(&mut |_| {})?;
        Ok(store)
    }

    /// The record counts, without the passphrase (they say nothing about
    /// anyone). Takes the lock like any other use of the store. Reads the
    /// counters, not the records: the same few reads at any history.
    pub fn counts(home: Home) -> Result<Status, StoreError> {
        Ok(Self::counts_read(home)?.0)
    }

    /// [`Store::counts`] and the entries it read (see `Backend::reads`).
    pub fn counts_read(home: Home) -> Result<(Status, u64), StoreError> {
        let (status, _, reads) = Self::plain_facts(home)?;
        Ok((status, reads))
    }

    /// What `status` shows without the passphrase: the counts, and the
    /// round pack installed as its import said it (shown, never trusted).
    pub fn counts_and_pack(home: Home) -> Result<(Status, Option<PackShown>), StoreError> {
        let (status, pack, _) = Self::plain_facts(home)?;
        Ok((status, pack))
    }

    fn plain_facts(home: Home) -> Result<(Status, Option<PackShown>, u64), StoreError> {
        home.public()?;
        let _lock = lock(&home)?;
        let path = home.store_path();
        let backend = open_backend(&home)?;
        let status = keep_counts(&backend).map_err(|e| StoreError::from_backend(&path, e))?;
        let pack = packs::shown(&backend).map_err(|e| StoreError::from_backend(&path, e))?;
        Ok((status, pack, backend.reads()))
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

    /// A record's listing, None when it has none or it cannot be read (a
    /// damaged listing counts for nothing; a failing store is an error).
    fn readable_listing(&self, key: &[u8]) -> Result<Option<Listing>, StoreError> {
        let sealed = self
            .backend
            .get(Tree::Listing, key)
            .map_err(|e| self.backend_err(e))?;
        Ok(sealed.and_then(|v| self.unsealed::<Listing>(Tree::Listing, key, &v).ok()))
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
        read_counts(self.backend.as_ref())
            .and_then(|counts| match counts {
                Some(status) => Ok(status),
                None => count_states(self.backend.as_ref()),
            })
            .map_err(|e| self.backend_err(e))
    }

    /// The store entries read since it was opened (see `Backend::reads`).
    pub fn reads(&self) -> u64 {
        self.backend.reads()
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

    /// Raw (id, ciphertext) of the records in a state, in id order
    /// (exported records stay in the `outbox` tree: their state tells).
    pub fn records(&self, state: State) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let trees: &[Tree] = match state {
            State::Draft => &[Tree::Drafts],
            State::Outbox | State::Sent => &[Tree::Outbox, Tree::Sent],
        };
        let mut out = Vec::new();
        let mut damaged = None;
        for &tree in trees {
            let mut wrong = None;
            self.backend
                .visit(tree, &mut |k, v| {
                    match self.backend.get(Tree::States, k) {
                        Ok(s) if s.as_deref() == Some(&[state.byte()]) => {}
                        Ok(_) => return true,
                        Err(e) => {
                            wrong = Some(e);
                            return false;
                        }
                    }
                    match envelope::unwrap(v) {
                        Some((_, _, _, payload)) => {
                            out.push((display_key(k), payload.to_vec()));
                            true
                        }
                        None => {
                            damaged = Some(display_key(k));
                            false
                        }
                    }
                })
                .map_err(|e| self.backend_err(e))?;
            if let Some(e) = wrong {
                return Err(self.backend_err(e));
            }
        }
        out.sort();
        match damaged {
            Some(id) => Err(StoreError::Damaged {
                id,
                reason: "its envelope is damaged".into(),
            }),
            None => Ok(out),
        }
    }
}

/// The key of the record counts in `meta`: drafts, outbox, sent and
/// bundles, as plain counters (see `backend::add_counters`), changed in
/// the same write as each change they count, so that `status` and opening
/// read one entry whatever the history. Plain, not sealed: `status` needs
/// no passphrase, and the `states` tree shows as much to anyone.
pub(crate) const COUNTS: &[u8] = b"counts";

/// A change adding to the record counts, for the same write.
fn count_change(drafts: i64, outbox: i64, sent: i64, bundles: i64) -> Change {
    Change::add(Tree::Meta, COUNTS, vec![drafts, outbox, sent, bundles])
}

/// The record counts as kept (None: a store made before they were).
fn read_counts(backend: &dyn Backend) -> Result<Option<Status>, BackendError> {
    Ok(backend.get(Tree::Meta, COUNTS)?.map(|value| {
        let n = backend::read_counters(Some(&value), 4);
        let size = |i: usize| usize::try_from(n[i]).unwrap_or(usize::MAX);
        Status {
            drafts: size(0),
            outbox: size(1),
            sent: size(2),
            bundles: size(3),
        }
    }))
}

/// The record counts; a store made before they were kept has them
/// counted once and kept (if that write fails, counted again next time).
fn keep_counts(backend: &dyn Backend) -> Result<Status, BackendError> {
    if let Some(status) = read_counts(backend)? {
        return Ok(status);
    }
    let status = count_states(backend)?;
    let value = format!(
        "{} {} {} {}",
        status.drafts, status.outbox, status.sent, status.bundles
    );
    // A failure (a full disk) leaves them uncounted, and nothing else.
    let _ = backend.apply(&[Change::put(Tree::Meta, COUNTS, value.into_bytes())]);
    Ok(status)
}

/// Counts records by state from the small `states` tree, never touching
/// the records themselves: stores made before the counts were kept.
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
/// a missing store folder, once a compaction a crash interrupted is
/// finished (compact.rs).
fn check_schema_file(home: &Home) -> Result<(), StoreError> {
    let path = home.store_path();
    compact::settle(&path).map_err(|source| StoreError::Io {
        context: format!("cannot finish compacting {}", path.display()),
        source,
    })?;
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
mod compact_tests;
#[cfg(test)]
mod kept_tests;
#[cfg(test)]
mod paradata_tests;
#[cfg(test)]
mod tests;
