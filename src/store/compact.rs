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
//! 1. copy into `store-compacted/` (a leftover one is removed first);
//! 2. rename `store/` to `store-replaced/`;
//! 3. rename `store-compacted/` to `store/`;
//! 4. remove `store-replaced/`.
//!
//! A `store-replaced/` exists only once the copy is complete and checked,
//! so after a crash: no `store/` but both others means step 3 is to be
//! done; `store/` and `store-compacted/` mean an unfinished copy, removed;
//! `store/` and `store-replaced/` mean step 4 is to be done.

use std::path::{Path, PathBuf};

use super::SCHEMA;
use super::SCHEMA_FILE;
use super::backend::{
    Backend, BackendError, MIN_FREE_BYTES, NUMBER_FLOOR, SledBackend, Tree, guarded, sync_dir,
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

/// Finishes or undoes a swap a crash interrupted (see the module header).
pub fn settle(store: &Path) -> std::io::Result<()> {
    let (copy, replaced) = beside(store);
    let parent = store.parent().unwrap_or(Path::new("."));
    match (store.exists(), copy.exists(), replaced.exists()) {
        (false, true, true) => {
            rename(&copy, store)?;
            sync_dir(parent)?;
            std::fs::remove_dir_all(&replaced)?;
        }
        (false, false, true) => {
            // Not a state the swap leaves; the replaced store is whole.
            rename(&replaced, store)?;
            sync_dir(parent)?;
        }
        (true, copy_left, replaced_left) => {
            if copy_left {
                std::fs::remove_dir_all(&copy)?;
            }
            if replaced_left {
                std::fs::remove_dir_all(&replaced)?;
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
    let live = backend.live_bytes()?;
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
    if copy.exists() {
        std::fs::remove_dir_all(&copy)?;
    }
    // sled panics on some damaged files: `guarded` makes that an error.
    if guarded(|| copy_into(&backend, &copy)).is_err() {
        let _ = std::fs::remove_dir_all(&copy);
        return Ok(backend);
    }
    drop(backend);
    let parent = store.parent().unwrap_or(Path::new("."));
    // A folder that cannot be moved leaves the store as it was, and the
    // next opening's `settle` removes what is left of the copy.
    if rename(&store, &replaced).is_ok() && rename(&copy, &store).is_err() {
        rename(&replaced, &store)?;
    }
    sync_dir(parent)?;
    // Left for the next opening's `settle` when it cannot go now.
    let _ = std::fs::remove_dir_all(&replaced);
    SledBackend::open(&store)
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
    new.sync()?;
    drop(new);
    std::fs::write(dir.join(SCHEMA_FILE), format!("{SCHEMA}\n"))?;
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
            Err(e) if tries < 40 && e.kind() != std::io::ErrorKind::NotFound => tries += 1,
            other => return other,
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
