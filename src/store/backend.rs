//! The storage engine behind a small trait, so sled can be replaced: named
//! trees of byte keys and values, atomic multi-tree writes that are durable
//! when they return, and a monotonic counter. The sled implementation caps
//! the cache, runs no background flusher, and after every write flushes and
//! then syncs the store's files itself, because sled's `flush()` uses
//! `sync_file_range` on Linux (no metadata, no disk cache flush) and never
//! syncs its blob files. Knows nothing of encryption or records.

use std::collections::HashSet;
#[cfg(unix)]
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The trees of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tree {
    /// Schema version and other plain facts about the store.
    Meta,
    /// record id -> draft, age-encrypted to the profile.
    Drafts,
    /// record id -> finalized record, age-encrypted to the deployment;
    /// it stays here when it is exported (its state then says sent), until
    /// a receipt covers it: moving it rewrote every record at export.
    Outbox,
    /// record id -> exported record of a store written before exported
    /// records stayed in `outbox`, kept until a receipt covers it.
    Sent,
    /// record id -> sealed listing metadata (state, form, times, size).
    Listing,
    /// bundle sequence -> sealed bundle facts (ids, manifest hash).
    Bundles,
    /// record id -> one byte of state (`d`, `o`, `s`): what `status`
    /// counts without reading the records or the passphrase. Record ids
    /// are the keys of the other trees already, so this tells nothing new.
    States,
    /// form sha256 -> the form's text, sealed: records name the exact
    /// form they were made with, and bundles carry it.
    Forms,
    /// event number -> sealed event; append-only.
    Audit,
    /// record id ++ attachment name -> a file attached to a file question
    /// (enveloped age file): to the profile while its record is a draft,
    /// to the deployment once it is finalized. Removed with its record.
    Attachments,
    /// keyed tag of a record id -> the finalized record's answers as the
    /// draft it was (sealed to the profile), kept until a receipt approves
    /// or receives it, so that a record a supervisor returns can be
    /// corrected. The key is a tag, so the tree does not list record ids.
    Kept,
}

impl Tree {
    pub const ALL: [Tree; 11] = [
        Tree::Meta,
        Tree::Drafts,
        Tree::Outbox,
        Tree::Sent,
        Tree::Listing,
        Tree::Bundles,
        Tree::States,
        Tree::Forms,
        Tree::Audit,
        Tree::Attachments,
        Tree::Kept,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::Drafts => "drafts",
            Tree::Outbox => "outbox",
            Tree::Sent => "sent",
            Tree::Listing => "listing",
            Tree::Bundles => "bundles",
            Tree::States => "states",
            Tree::Forms => "forms",
            Tree::Audit => "audit",
            Tree::Attachments => "attachments",
            Tree::Kept => "kept",
        }
    }

    fn index(self) -> usize {
        Tree::ALL.iter().position(|&t| t == self).unwrap_or(0)
    }
}

/// One change in an atomic write.
#[derive(Debug, Clone)]
pub struct Change {
    pub tree: Tree,
    pub key: Vec<u8>,
    pub op: Op,
}

/// What a change does to its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(Vec<u8>),
    Remove,
    /// Adds to the counters kept under the key (see [`add_counters`]),
    /// reading them inside the write, so that two writes never lose one
    /// another's counts.
    Add(Vec<i64>),
}

impl Change {
    pub fn put(tree: Tree, key: impl Into<Vec<u8>>, value: Vec<u8>) -> Self {
        Change {
            tree,
            key: key.into(),
            op: Op::Put(value),
        }
    }
    pub fn remove(tree: Tree, key: impl Into<Vec<u8>>) -> Self {
        Change {
            tree,
            key: key.into(),
            op: Op::Remove,
        }
    }
    pub fn add(tree: Tree, key: impl Into<Vec<u8>>, deltas: Vec<i64>) -> Self {
        Change {
            tree,
            key: key.into(),
            op: Op::Add(deltas),
        }
    }
}

/// Counters as stored: whole numbers in decimal, separated by spaces
/// (plain text, like the chain's head). Missing or unreadable ones read
/// as 0.
pub fn read_counters(value: Option<&[u8]>, n: usize) -> Vec<u64> {
    let text = value.map(String::from_utf8_lossy).unwrap_or_default();
    let mut numbers: Vec<u64> = text
        .split_ascii_whitespace()
        .map(|w| w.parse().unwrap_or(0))
        .collect();
    numbers.resize(n.max(numbers.len()), 0);
    numbers
}

/// `value`'s counters with `deltas` added, never below 0.
pub fn add_counters(value: Option<&[u8]>, deltas: &[i64]) -> Vec<u8> {
    let mut numbers = read_counters(value, deltas.len());
    for (n, d) in numbers.iter_mut().zip(deltas) {
        *n = n.saturating_add_signed(*d);
    }
    numbers
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
        .into_bytes()
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The engine says its files are damaged (or it failed on them).
    #[error("{0}")]
    Corrupted(String),
    #[error("the disk is full")]
    DiskFull,
    /// The change was handed to the engine but could not be confirmed on
    /// disk: it may or may not be there after a restart.
    #[error("{0}")]
    Unconfirmed(std::io::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// What the store needs from a storage engine.
pub trait Backend: Send + Sync {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError>;
    /// Every entry of a tree, in key order.
    fn entries(&self, tree: Tree) -> Result<Entries, BackendError>;
    /// Visits the entries of a tree in key order until `visit` says stop.
    fn visit(
        &self,
        tree: Tree,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), BackendError>;
    /// Visits the entries whose key starts with `prefix`, in key order,
    /// until `visit` says stop.
    fn visit_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), BackendError> {
        self.visit(tree, &mut |k, v| !k.starts_with(prefix) || visit(k, v))
    }
    fn count(&self, tree: Tree) -> Result<usize, BackendError>;
    fn last_key(&self, tree: Tree) -> Result<Option<Vec<u8>>, BackendError>;
    /// Applies every change or none, and returns only once they are on
    /// disk (flushed and synced).
    fn apply(&self, changes: &[Change]) -> Result<(), BackendError>;
    /// A number larger than any it returned before, across restarts.
    fn next_number(&self) -> Result<u64, BackendError>;
    /// The entries read so far (each `get`, each entry visited or
    /// counted): the work a test or benchmark compares, never a time.
    fn reads(&self) -> u64;
}

/// sled's page cache cap (its default is 1 GiB).
pub const CACHE_BYTES: u64 = 8 * 1024 * 1024;
/// Free disk space below which no write is started. sled does not survive
/// running out of space in the middle of a write (measured: the store
/// would not open afterwards), so fieldkit stops well before: a few of
/// sled's 512 KiB segments plus room for a large record.
pub const MIN_FREE_BYTES: u64 = 4 * 1024 * 1024;

/// Meta keys the engine keeps for itself: the bytes of keys and values
/// the trees hold (kept up to date inside every write, in decimal), which
/// tells when the files have grown well past it (compact.rs).
pub const LIVE_BYTES: &[u8] = b"engine/live";
/// The number [`Backend::next_number`] adds to sled's own counter: a store
/// copied into fresh files (compact.rs) starts a new sled counter, so its
/// numbers start above every number given before.
pub const NUMBER_FLOOR: &[u8] = b"engine/floor";
/// The size of the files when a compaction's copy last failed (compact.rs).
pub const FAILED_COPY: &[u8] = b"engine/failed-copy";

pub struct SledBackend {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    dir: PathBuf,
    synced_blobs: Mutex<HashSet<std::ffi::OsString>>,
    /// Set when a write failed half-way: sled's memory may then hold
    /// changes its files do not, so no further write is made.
    failed: std::sync::atomic::AtomicBool,
    /// See [`Backend::reads`].
    reads: std::sync::atomic::AtomicU64,
    /// See [`NUMBER_FLOOR`]; None when it does not read (then no number
    /// is given: numbers below a floor misread would be given again).
    floor: Option<u64>,
}

fn from_sled(e: sled::Error) -> BackendError {
    match e {
        sled::Error::Io(io) if is_disk_full(&io) => BackendError::DiskFull,
        sled::Error::Io(io) => BackendError::Io(io),
        other => BackendError::Corrupted(other.to_string()),
    }
}

pub fn is_disk_full(e: &std::io::Error) -> bool {
    if matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) {
        return true;
    }
    // ERROR_DISK_FULL and ERROR_HANDLE_DISK_FULL; ENOSPC elsewhere.
    let codes: &[i32] = if cfg!(windows) { &[112, 39] } else { &[28] };
    e.raw_os_error().is_some_and(|c| codes.contains(&c))
}

thread_local! {
    /// Set while this thread runs sled code under `guarded`.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs sled code, turning a panic inside sled (it panics on some damaged
/// files) into `Corrupted` without printing it. The panic hook is wrapped
/// once, and stays quiet only for the thread inside `guarded`.
pub(super) fn guarded<T>(f: impl FnOnce() -> Result<T, BackendError>) -> Result<T, BackendError> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "sled stopped while reading its files".into());
        Err(BackendError::Corrupted(what))
    })
}

impl SledBackend {
    /// Opens (or creates) the sled store in `dir`. A panic inside sled
    /// while it reads damaged files is turned into `Corrupted`.
    pub fn open(dir: &Path) -> Result<Self, BackendError> {
        set_aside_incomplete_snapshots(dir)?;
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .mode(sled::Mode::LowSpace)
            .flush_every_ms(None);
        let (db, trees) = guarded(|| {
            let db = config.open().map_err(from_sled)?;
            let trees = Tree::ALL
                .iter()
                .map(|t| db.open_tree(t.name()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(from_sled)?;
            Ok((db, trees))
        })
        .map_err(|e| match e {
            // A damaged snapshot or config reads as an I/O error in sled.
            BackendError::Io(io) if !is_disk_full(&io) => BackendError::Corrupted(io.to_string()),
            other => other,
        })?;
        let backend = SledBackend {
            db,
            trees,
            dir: dir.to_path_buf(),
            synced_blobs: Mutex::new(HashSet::new()),
            failed: std::sync::atomic::AtomicBool::new(false),
            reads: std::sync::atomic::AtomicU64::new(0),
            floor: Some(0),
        };
        // Blobs already on disk were synced by the session that wrote them.
        if let Ok(mut seen) = backend.synced_blobs.lock() {
            seen.extend(blob_names(&dir.join("blobs")));
        }
        let meta = backend.tree(Tree::Meta);
        let floor = match guarded(|| meta.get(NUMBER_FLOOR).map_err(from_sled))? {
            None => Some(0),
            Some(text) => std::str::from_utf8(&text).ok().and_then(|t| t.parse().ok()),
        };
        // A store written before the live bytes were kept counts them once,
        // when it can: an entry that does not read, or a nearly full disk,
        // leaves them uncounted, and such a store is never compacted.
        if guarded(|| meta.get(LIVE_BYTES).map_err(from_sled))?.is_none()
            && fs2::available_space(dir).is_ok_and(|free| free >= MIN_FREE_BYTES)
            && let Ok(live) = backend.counted_bytes()
        {
            guarded(|| {
                meta.insert(LIVE_BYTES, live.to_string().into_bytes())
                    .map_err(from_sled)
            })?;
            backend.sync()?;
        }
        Ok(SledBackend { floor, ..backend })
    }

    /// The bytes of keys and values of every tree, read one by one.
    pub fn counted_bytes(&self) -> Result<u64, BackendError> {
        guarded(|| {
            let mut bytes = 0;
            for name in self.db.tree_names() {
                let meta = name == Tree::Meta.name().as_bytes();
                let tree = self.db.open_tree(&name).map_err(from_sled)?;
                for item in tree.iter() {
                    let (k, v) = item.map_err(from_sled)?;
                    if !(meta && (k == LIVE_BYTES || k == FAILED_COPY)) {
                        bytes += entry_bytes(&k, &v);
                    }
                }
            }
            Ok(bytes)
        })
    }

    /// The bytes of keys and values the trees hold, as kept in every write
    /// (None: a store whose entries could not be counted).
    pub fn live_bytes(&self) -> Result<Option<u64>, BackendError> {
        let value = self.get(Tree::Meta, LIVE_BYTES)?;
        Ok(value.map(|v| read_counters(Some(&v), 1)[0]))
    }

    /// The size of the files when a compaction's copy last failed.
    pub fn failed_copy_at(&self) -> Result<Option<u64>, BackendError> {
        let value = self.get(Tree::Meta, FAILED_COPY)?;
        Ok(value.map(|v| read_counters(Some(&v), 1)[0]))
    }

    /// Notes that a compaction's copy failed with the files at `files`
    /// bytes (outside the live count, like the count itself).
    pub fn note_failed_copy(&self, files: u64) -> Result<(), BackendError> {
        let meta = self.tree(Tree::Meta);
        guarded(|| {
            meta.insert(FAILED_COPY, files.to_string().into_bytes())
                .map_err(from_sled)
        })?;
        self.sync()
    }

    /// The bytes of the store's files on disk (sled's log and blobs).
    pub fn file_bytes(&self) -> u64 {
        let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        size(self.dir.join("db"))
            + blob_names(&self.dir.join("blobs"))
                .into_iter()
                .map(|n| size(self.dir.join("blobs").join(n)))
                .sum::<u64>()
    }

    /// The folder of the store's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// sled itself, for the copy into fresh files (compact.rs).
    pub(super) fn sled(&self) -> &sled::Db {
        &self.db
    }

    /// Visits the entries `entries` yields, counting each read, until
    /// `visit` says stop.
    fn visit_each(
        &self,
        entries: sled::Iter,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), BackendError> {
        guarded(|| {
            for item in entries {
                let (k, v) = item.map_err(from_sled)?;
                self.read();
                if !visit(&k, &v) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree.index()]
    }

    fn read(&self) {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes what sled wrote durable: its log file, new blob files, and
    /// the folders that name them.
    pub(super) fn sync(&self) -> Result<(), BackendError> {
        self.db.flush().map_err(from_sled)?;
        // On Linux sled only calls sync_file_range on its log; elsewhere
        // it calls sync_all itself.
        #[cfg(target_os = "linux")]
        File::open(self.dir.join("db"))?.sync_all()?;
        let blobs = self.dir.join("blobs");
        let mut new_blob = false;
        if let Ok(mut seen) = self.synced_blobs.lock() {
            for name in blob_names(&blobs) {
                if !seen.contains(&name) {
                    // Write access: Windows' FlushFileBuffers needs it.
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(blobs.join(&name))?
                        .sync_all()?;
                    seen.insert(name);
                    new_blob = true;
                }
            }
        }
        if new_blob {
            sync_dir(&blobs)?;
        }
        Ok(())
    }
}

/// sled writes a snapshot as `snap.N.generating` and renames it when
/// complete, but on opening it reads the newest `snap.*` file including an
/// unfinished one, and refuses the whole store when that one is empty
/// (seen here after a full disk, and possible after any crash while a
/// snapshot is written). An unfinished snapshot holds nothing the log does
/// not, so it is moved out of sled's way, into `<store>-aside/`, never
/// deleted.
fn set_aside_incomplete_snapshots(dir: &Path) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let aside = dir.with_file_name(format!(
        "{}-aside",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("store")
    ));
    for entry in entries.flatten() {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text.starts_with("snap.") && text.ends_with(".generating") {
            std::fs::create_dir_all(&aside)?;
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            std::fs::rename(entry.path(), aside.join(format!("{text}.{stamp}")))?;
        }
    }
    Ok(())
}

/// What one entry counts in the live bytes: its key and its value.
fn entry_bytes(key: &[u8], value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64
}

fn blob_names(dir: &Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default()
}

/// Syncs a folder's entries (new file names). Unix only: Windows cannot
/// open a folder as a file, and NTFS journals names itself.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

impl Backend for SledBackend {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        self.read();
        guarded(|| {
            Ok(self
                .tree(tree)
                .get(key)
                .map_err(from_sled)?
                .map(|v| v.to_vec()))
        })
    }

    fn entries(&self, tree: Tree) -> Result<Entries, BackendError> {
        let mut out = Vec::new();
        self.visit(tree, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            true
        })?;
        Ok(out)
    }

    fn visit_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), BackendError> {
        self.visit_each(self.tree(tree).scan_prefix(prefix), visit)
    }

    fn visit(
        &self,
        tree: Tree,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), BackendError> {
        self.visit_each(self.tree(tree).iter(), visit)
    }

    fn count(&self, tree: Tree) -> Result<usize, BackendError> {
        guarded(|| {
            let mut n = 0;
            for item in self.tree(tree).iter().keys() {
                item.map_err(from_sled)?;
                self.read();
                n += 1;
            }
            Ok(n)
        })
    }

    fn last_key(&self, tree: Tree) -> Result<Option<Vec<u8>>, BackendError> {
        self.read();
        guarded(|| {
            Ok(self
                .tree(tree)
                .last()
                .map_err(from_sled)?
                .map(|(k, _)| k.to_vec()))
        })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), BackendError> {
        use std::sync::atomic::Ordering;
        if self.failed.load(Ordering::SeqCst) {
            return Err(BackendError::Io(std::io::Error::other(
                "an earlier save failed; close fieldkit and start it again (what was saved \
                 before is kept)",
            )));
        }
        if fs2::available_space(&self.dir).is_ok_and(|free| free < MIN_FREE_BYTES) {
            return Err(BackendError::DiskFull);
        }
        let result = guarded(|| self.transact(changes));
        if result.is_err() {
            self.failed.store(true, Ordering::SeqCst);
        }
        result
    }

    fn next_number(&self) -> Result<u64, BackendError> {
        let floor = self
            .floor
            .ok_or_else(|| BackendError::Corrupted("its number floor is unreadable".into()))?;
        guarded(|| self.db.generate_id().map_err(from_sled)).map(|n| floor.saturating_add(n))
    }

    fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl SledBackend {
    fn transact(&self, changes: &[Change]) -> Result<(), BackendError> {
        use sled::Transactional;
        let result = self.trees.as_slice().transaction(|trees| {
            // The live bytes change by what each write replaces.
            let mut grown: i64 = 0;
            for change in changes {
                let tree = &trees[change.tree.index()];
                let key = change.key.as_slice();
                let (new, old) = match &change.op {
                    Op::Put(v) => (v.len(), tree.insert(key, v.as_slice())?),
                    Op::Remove => (0, tree.remove(key)?),
                    Op::Add(deltas) => {
                        let now = tree.get(key)?;
                        let new = add_counters(now.as_deref(), deltas);
                        (new.len(), tree.insert(key, new)?)
                    }
                };
                let had = old.map_or(0, |o| entry_bytes(key, &o));
                let has = match change.op {
                    Op::Remove => 0,
                    _ => (key.len() + new) as u64,
                };
                grown += has as i64 - had as i64;
            }
            // Only a count there is kept: a store whose entries could not
            // be counted keeps none (and is never compacted).
            let meta = &trees[Tree::Meta.index()];
            if grown != 0
                && let Some(now) = meta.get(LIVE_BYTES)?
            {
                meta.insert(LIVE_BYTES, add_counters(Some(&now), &[grown]))?;
            }
            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
        });
        match result {
            Ok(()) => {}
            Err(sled::transaction::TransactionError::Storage(e)) => return Err(from_sled(e)),
            Err(sled::transaction::TransactionError::Abort(())) => {
                return Err(BackendError::Corrupted("a write was aborted".into()));
            }
        }
        // Committed in memory: a failure from here on leaves the change
        // maybe on disk, maybe not.
        self.sync().map_err(|e| match e {
            BackendError::Io(io) => BackendError::Unconfirmed(io),
            other => other,
        })
    }
}
