//! Giving sled's room back. sled's log keeps the old copies of what was
//! overwritten or removed and, in runs as short as fieldkit's, seldom
//! reuses them: measured, a store whose records had all been received
//! grew by 22 MB for every round of 2,000 records and never shrank (95 MB
//! of files for 3 MB of entries after four rounds). When the store's files
//! are over [`GROWTH`] times the bytes its trees hold (and over
//! [`MIN_BYTES`]), opening it with the passphrase copies every tree into
//! fresh files beside it, checks the copy against the original (sled's
//! checksum of every tree), and swaps the folders. This module owns that
//! copy, the swap, and finishing a swap a crash interrupted ([`settle`],
//! run before anything opens the store).
//!
//! The swap, with the store lock held throughout:
//! 1. copy into `store-compacted/` (not while a folder of an earlier swap
//!    is left), check it, and write one random swap id into it and into
//!    `store/`;
//! 2. rename `store/` to `store-replaced/`;
//! 3. rename `store-compacted/` to `store/`;
//! 4. remove `store-replaced/`, its swap id last, so that a removal
//!    stopped part-way is still recognised and finished later.
//!
//! After a crash, `settle` acts only on folders that carry the same swap
//! id: no `store/` and both others, step 3 is done; `store/` carrying the
//! id of `store-replaced/`, step 4; `store/` and a `store-compacted/`
//! without a `store-replaced/`, an unfinished copy, removed. Any other
//! leftover is never deleted: a store made anew beside them (`init
//! --new-store`) is refused while they are there, and a missing `store/`
//! with only `store-replaced/` is refused, naming it, for a person to
//! decide (it may be older than records sent since).

use std::path::{Path, PathBuf};

use super::SCHEMA;
use super::SCHEMA_FILE;
use super::backend::{
    Backend, BackendError, FAILED_COPY, LIVE_BYTES, MIN_FREE_BYTES, NUMBER_FLOOR, SledBackend,
    Tree, guarded, sync_dir,
};

/// The files may grow to this many times the bytes the trees hold before
/// they are compacted (a fresh copy takes about 2 to 2.5 times).
pub const GROWTH: u64 = 4;
/// Files smaller than this are left alone, whatever they hold.
pub const MIN_BYTES: u64 = 16 * 1024 * 1024;
/// Entries copied in one sled batch (measured: batches of about 100 make
/// the smallest copy; one entry at a time or a whole tree at once makes
/// files up to 1.7 times larger).
const BATCH: usize = 100;

/// The folders beside the store: the copy being made, and the store it
/// replaces until it is removed.
fn beside(store: &Path) -> (PathBuf, PathBuf) {
    let name = store
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("store");
    (
        store.with_file_name(format!("{name}-compacted")),
        store.with_file_name(format!("{name}-replaced")),
    )
}

/// The file naming a swap, in both folders it joins (see the module header).
pub(super) const SWAP_ID: &str = "fieldkit-compaction";

fn swap_id(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(SWAP_ID))
        .ok()
        .filter(|id| !id.is_empty())
}

/// The folders a compaction leaves beside the store while it runs, or
/// after a crash: `init --new-store` is refused while one is there.
pub fn leftovers(store: &Path) -> Vec<PathBuf> {
    let (copy, replaced) = beside(store);
    [copy, replaced]
        .into_iter()
        .filter(|p| p.exists())
        .collect()
}

/// Finishes a swap a crash interrupted (see the module header). Removing
/// a folder the swap is done with is best effort: one that cannot go now
/// goes at a later opening.
pub fn settle(store: &Path) -> std::io::Result<()> {
    let (copy, replaced) = beside(store);
    let parent = store.parent().unwrap_or(Path::new("."));
    let joined = || swap_id(&replaced).is_some_and(|id| Some(&id) == swap_id(&copy).as_ref());
    match (store.exists(), copy.exists(), replaced.exists()) {
        (false, true, true) if joined() => {
            rename(&copy, store).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "{} cannot be renamed to {} ({e}); close any program using it and \
                         start fieldkit again",
                        copy.display(),
                        store.display()
                    ),
                )
            })?;
            sync_dir(parent)?;
            remove_swapped(&replaced);
        }
        (false, _, true) => {
            return Err(std::io::Error::other(format!(
                "there is no store folder, but {} holds the store as it was before a \
                 compaction that did not finish. If no newer store was moved away from here, \
                 rename that folder to {} and start fieldkit again; otherwise keep both \
                 folders (each holds records) and ask your supervisor",
                replaced.display(),
                store.display()
            )));
        }
        (true, copy_left, replaced_left) => {
            let swapped =
                replaced_left && swap_id(&replaced).is_some_and(|id| Some(id) == swap_id(store));
            if swapped {
                remove_swapped(&replaced);
            }
            if copy_left && (swapped || !replaced_left) {
                let _ = std::fs::remove_dir_all(&copy);
            }
        }
        (false, _, false) => {}
    }
    Ok(())
}

/// Whether files of `files` bytes holding `live` bytes of entries are
/// past [`GROWTH`] times what they hold (and past [`MIN_BYTES`]).
pub fn due(files: u64, live: u64) -> bool {
    files >= MIN_BYTES && files > GROWTH.saturating_mul(live)
}

/// Compacts the store `backend` has open when it is due and the disk has
/// room for the copy; returns the store open again. A copy that fails is
/// removed and the store is used as it was: compaction only gives room
/// back, and the next opening tries again.
pub fn if_due(backend: SledBackend) -> Result<SledBackend, BackendError> {
    let Some(live) = backend.live_bytes()? else {
        return Ok(backend);
    };
    if !due(backend.file_bytes(), live) {
        return Ok(backend);
    }
    let store = backend.dir().to_path_buf();
    let room = fs2::available_space(&store).unwrap_or(0);
    let needed = GROWTH.saturating_mul(live) + MIN_FREE_BYTES;
    if room < needed {
        return Ok(backend);
    }
    let (copy, replaced) = beside(&store);
    // A copy or a replaced store `settle` left: not one to add to.
    if copy.exists() || replaced.exists() {
        return Ok(backend);
    }
    // A copy that failed is not tried again until the files have doubled.
    let files = backend.file_bytes();
    if backend
        .failed_copy_at()?
        .is_some_and(|at| files < at.saturating_mul(2))
    {
        return Ok(backend);
    }
    // sled panics on some damaged files: `guarded` makes that an error.
    if guarded(|| copy_into(&backend, &copy)).is_err() {
        let _ = std::fs::remove_dir_all(&copy);
        // Best effort too: without the note, the next opening tries again.
        let _ = backend.note_failed_copy(files);
        return Ok(backend);
    }
    drop(backend);
    let parent = store.parent().unwrap_or(Path::new("."));
    let id = uuid::Uuid::now_v7().to_string();
    if write_synced(&copy.join(SWAP_ID), &id)
        .and_then(|()| write_synced(&store.join(SWAP_ID), &id))
        .and_then(|()| sync_dir(&copy))
        .and_then(|()| sync_dir(&store))
        .and_then(|()| sync_dir(parent))
        .is_err()
    {
        let _ = std::fs::remove_dir_all(&copy);
        return reopen(&store);
    }
    // A folder that cannot be moved leaves the store as it was, and the
    // next opening's `settle` removes what is left of the copy.
    if rename(&store, &replaced).is_ok() && rename(&copy, &store).is_err() {
        rename(&replaced, &store)?;
    }
    sync_dir(parent)?;
    // Left for the next opening's `settle` when it cannot go now.
    remove_swapped(&replaced);
    reopen(&store)
}

/// Removes a store a swap replaced, best effort: everything but its swap
/// id first, so that what a failure or a crash leaves is still known as
/// replaced (and removed at a later opening).
fn remove_swapped(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name() != SWAP_ID {
                let _ = match entry.file_type() {
                    Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
                    _ => std::fs::remove_file(&path),
                };
            }
        }
    }
    let _ = std::fs::remove_file(dir.join(SWAP_ID));
    let _ = std::fs::remove_dir(dir);
}

/// Opens a store just closed in this process, trying again for up to 10 s:
/// sled's threads may hold its lock a moment after the drop.
fn reopen(dir: &Path) -> Result<SledBackend, BackendError> {
    let mut tries = 0;
    loop {
        match SledBackend::open(dir) {
            Err(BackendError::Corrupted(e)) if tries < 200 && e.contains("acquire lock") => {
                tries += 1
            }
            other => return other,
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Copies every tree of `backend` into a new store in `dir`, checks it
/// has the same entries, and makes it durable.
pub(super) fn copy_into(backend: &SledBackend, dir: &Path) -> Result<(), BackendError> {
    let old = backend.sled();
    std::fs::create_dir_all(dir)?;
    let new = SledBackend::open(dir)?;
    let sled = new.sled();
    for name in old.tree_names() {
        let from = old.open_tree(&name).map_err(as_backend)?;
        let to = sled.open_tree(&name).map_err(as_backend)?;
        let mut batch = sled::Batch::default();
        for (n, item) in from.iter().enumerate() {
            let (k, v) = item.map_err(as_backend)?;
            batch.insert(k, v);
            if (n + 1) % BATCH == 0 {
                to.apply_batch(std::mem::take(&mut batch))
                    .map_err(as_backend)?;
            }
        }
        to.apply_batch(batch).map_err(as_backend)?;
    }
    if old.checksum().map_err(as_backend)? != sled.checksum().map_err(as_backend)? {
        return Err(BackendError::Corrupted(
            "the compacted copy differs from the store".into(),
        ));
    }
    // Numbers go on above every number the old store gave.
    let floor = backend.next_number()?.saturating_add(1);
    let meta = sled.open_tree(Tree::Meta.name()).map_err(as_backend)?;
    meta.insert(NUMBER_FLOOR, floor.to_string().into_bytes())
        .map_err(as_backend)?;
    meta.insert("schema", SCHEMA.to_string().into_bytes())
        .map_err(as_backend)?;
    meta.remove(FAILED_COPY).map_err(as_backend)?;
    // The live bytes counted anew: a count that drifted would otherwise
    // make every opening compact again.
    let live = new.counted_bytes()?;
    meta.insert(LIVE_BYTES, live.to_string().into_bytes())
        .map_err(as_backend)?;
    let written = sled.checksum().map_err(as_backend)?;
    new.sync()?;
    // A tree handle keeps sled open: both go before the copy is read back.
    drop(meta);
    drop(new);
    // The copy as sled reads it back from its files.
    let reread = reopen(dir)?;
    if reread.sled().checksum().map_err(as_backend)? != written {
        return Err(BackendError::Corrupted(
            "the compacted copy does not read back as written".into(),
        ));
    }
    drop(reread);
    write_synced(&dir.join(SCHEMA_FILE), &format!("{SCHEMA}\n"))?;
    // Every file of the copy (sled's config and snapshot too, which sled
    // may not sync) and the folders naming them are on disk before the
    // store is moved aside.
    for folder in [dir.join("blobs"), dir.to_path_buf()] {
        if !folder.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&folder)?.flatten() {
            if entry.file_type()?.is_file() {
                // Write access: Windows' FlushFileBuffers needs it.
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(entry.path())?
                    .sync_all()?;
            }
        }
        sync_dir(&folder)?;
    }
    Ok(())
}

/// Writes a small file and makes it durable.
fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.sync_all()
}

fn as_backend(e: sled::Error) -> BackendError {
    BackendError::Corrupted(e.to_string())
}

/// Renames a folder, trying again for a moment: on Windows a folder
/// cannot be renamed while a file in it is open, and sled's threads may
/// hold its files a moment after the store is closed.
fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::rename(from, to) {
            Err(e)
                if tries < 40
                    && !matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound
                            | std::io::ErrorKind::AlreadyExists
                            | std::io::ErrorKind::DirectoryNotEmpty
                    ) =>
            {
                tries += 1
            }
            other => return other,
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
