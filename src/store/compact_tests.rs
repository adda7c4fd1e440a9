//! Compaction tests on real sled stores: the room given back, everything
//! kept, numbers going on, and every state a crash can leave the swap in.

use serde_json::json;

use super::backend::{
    Backend, BackendError, Change, FAILED_COPY, LIVE_BYTES, NUMBER_FLOOR, SledBackend, Tree,
};
use super::compact::{self, GROWTH};
use super::tests::{FORM, PASS, draft, fresh, outbox_json, when_released};
use super::*;

/// A draft saved `saves` times with about 16 KB of answers, as autosave
/// does through a long interview.
fn autosaved(store: &Store, saves: usize) -> Draft {
    let mut d = draft("long interview");
    for i in 0..saves {
        d.answers.insert(
            "notes".into(),
            json!(format!("{i:05} {}", "x".repeat(16_000))),
        );
        store.save_draft(&d, "").unwrap();
    }
    d
}

/// The engine on the store in `dir`, or why it does not open, once the
/// store closed before has let go of sled's lock (its threads may hold it
/// a moment after the drop).
fn opened(dir: &std::path::Path) -> Result<SledBackend, BackendError> {
    for _ in 0..1_000 {
        match SledBackend::open(dir) {
            Err(e) if e.to_string().contains("acquire lock") => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            other => return other,
        }
    }
    panic!("sled's lock on {} was never released", dir.display());
}

fn engine(dir: &std::path::Path) -> SledBackend {
    opened(dir).unwrap()
}

/// Writes a Meta entry of the closed store as it is, outside any count.
fn set_meta(home: &profile::Home, key: &[u8], value: &[u8]) {
    let db = engine(&home.store_path());
    db.sled()
        .open_tree(Tree::Meta.name())
        .unwrap()
        .insert(key, value)
        .unwrap();
    db.sync().unwrap();
}

/// The bytes of the open store's files, and of its entries.
fn sled_of(store: &Store) -> (u64, u64) {
    let dir = store.home.store_path();
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let blobs: u64 = std::fs::read_dir(dir.join("blobs"))
        .unwrap()
        .map(|e| size(&e.unwrap().path()))
        .sum();
    let live = store.backend.get(Tree::Meta, LIVE_BYTES).unwrap().unwrap();
    let live = String::from_utf8(live).unwrap().parse().unwrap();
    (size(&dir.join("db")) + blobs, live)
}

/// The live bytes kept in every write are those of the entries, counted
/// one by one, after puts, overwrites, removals and counters.
#[test]
fn the_live_bytes_kept_in_every_write_are_those_counted() {
    let (_dir, store, _) = fresh();
    let d = autosaved(&store, 3);
    store
        .finalize(&d, &d.answers, "2026-11-22T10:00:00+07:00", FORM)
        .unwrap();
    let other = draft("deleted");
    store.save_draft(&other, "").unwrap();
    store.delete_draft(&other.id, "now").unwrap();
    let home = store.home.clone();
    drop(store);
    let db = engine(&home.store_path());
    assert_eq!(db.live_bytes().unwrap(), Some(db.counted_bytes().unwrap()));
}

/// Writes and removes 16 KB entries in `sessions` runs of the engine, as
/// the commands of a round do: sled, in runs this short, keeps the old
/// copies in its log (measured: 22 MB more for every round of 2,000
/// records, all of them received). The bytes of the files and of the
/// entries after the last run.
fn churned(home: &profile::Home, sessions: usize) -> (u64, u64) {
    let mut sizes = (0, 0);
    for session in 0..sessions {
        let db = engine(&home.store_path());
        // What the last run wrote is removed, and as much written again.
        for i in 0..100u32 {
            let key = |s: usize| format!("churn {s} {i}").into_bytes();
            let mut changes = vec![Change::put(Tree::Drafts, key(session), vec![7; 16_000])];
            if session > 0 {
                changes.push(Change::remove(Tree::Drafts, key(session - 1)));
            }
            db.apply(&changes).unwrap();
        }
        sizes = (db.file_bytes(), db.live_bytes().unwrap().unwrap());
    }
    sizes
}

/// Writes in many short runs grow sled's log far past what the store
/// holds; the next opening copies it into fresh files within GROWTH
/// times what it holds, and keeps every entry and every answer.
#[test]
fn opening_gives_the_room_back_and_keeps_everything() {
    let (_dir, store, dm) = fresh();
    let d = autosaved(&store, 3);
    let finalized = draft("finalized before");
    store
        .save_final(&finalized, &finalized.answers, "now", FORM)
        .unwrap();
    let events = store.audit().unwrap().len();
    let number = store.backend.next_number().unwrap();
    let home = store.home.clone();
    drop(store);
    // A value as large as a photo: sled keeps it in a blob file of its own.
    let photo: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let db = engine(&home.store_path());
    db.apply(&[Change::put(
        Tree::Attachments,
        b"photo".to_vec(),
        photo.clone(),
    )])
    .unwrap();
    drop(db);
    let (files, live) = churned(&home, 24);
    assert!(
        compact::due(files, live),
        "the test needs a store due for compaction: {files} bytes of files, {live} live"
    );
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    let (after, live_after) = sled_of(&store);
    // The same entries, and what opening writes (its audit event).
    assert!(
        live_after.abs_diff(live) < 1_000,
        "{live_after} live, {live} before"
    );
    assert!(
        after <= GROWTH * live && after < files / 2,
        "{after} bytes of files after compaction, {files} before, {live} live"
    );
    assert!(
        !home.dir.join("store-compacted").exists() && !home.dir.join("store-replaced").exists()
    );
    assert_eq!(
        std::fs::read_to_string(home.store_path().join(SCHEMA_FILE)).unwrap(),
        format!("{SCHEMA}\n")
    );
    // Every answer is there, and the record still opens for the data manager.
    assert_eq!(store.load_draft(&d.id).unwrap().answers, d.answers);
    assert_eq!(
        outbox_json(&store, &dm, &finalized.id)["values"]["site_name"],
        json!("finalized before")
    );
    assert_eq!(
        store.backend.get(Tree::Attachments, b"photo").unwrap(),
        Some(photo)
    );
    // Numbers go on above the old store's: new events come last.
    assert!(store.backend.next_number().unwrap() > number);
    store.delete_draft(&d.id, "later").unwrap();
    let audit = store.audit().unwrap();
    assert_eq!(audit.len(), events + 1);
    assert_eq!(audit.last().unwrap().record_id, d.id);
    assert!(
        store
            .backend
            .get(Tree::Meta, NUMBER_FLOOR)
            .unwrap()
            .is_some()
    );
}

/// Marks `dirs` as joined by one swap, as step 1 does.
fn join_swap(dirs: &[&std::path::Path], id: &str) {
    for dir in dirs {
        std::fs::write(dir.join(compact::SWAP_ID), id).unwrap();
    }
}

/// Every state a crash can leave the swap in opens to one whole store,
/// with nothing left beside it.
#[test]
fn a_swap_stopped_at_any_step_is_finished_or_undone_on_opening() {
    for step in ["copying", "moved aside", "swapped"] {
        let (_dir, store, _) = fresh();
        let d = autosaved(&store, 2);
        let home = store.home.clone();
        drop(store);
        let path = home.store_path();
        let copy = home.dir.join("store-compacted");
        let replaced = home.dir.join("store-replaced");
        match step {
            // A copy that never finished: half a sled folder.
            "copying" => {
                std::fs::create_dir_all(&copy).unwrap();
                std::fs::write(copy.join("db"), b"half a log").unwrap();
            }
            // The copy is complete; the store was moved aside, not yet replaced.
            "moved aside" => {
                let db = engine(&path);
                compact::copy_into(&db, &copy).unwrap();
                drop(db);
                join_swap(&[&copy, &path], "swap 1");
                when_released(|| {
                    std::fs::rename(&path, &replaced).map_err(|source| StoreError::Io {
                        context: String::new(),
                        source,
                    })
                });
            }
            // Replaced, the old folder not yet removed.
            _ => {
                std::fs::create_dir_all(&replaced).unwrap();
                std::fs::write(replaced.join("db"), b"the old log").unwrap();
                join_swap(&[&replaced, &path], "swap 1");
            }
        }
        let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
        assert_eq!(
            store.load_draft(&d.id).unwrap().answers,
            d.answers,
            "{step}"
        );
        assert!(!copy.exists() && !replaced.exists(), "{step}");
    }
}

/// Folders the swap did not leave together are never deleted nor made
/// the store: a store folder missing beside a lone replaced one is
/// refused, naming it; a new store is not made beside leftovers; a
/// replaced folder of another swap stays beside the store.
#[test]
fn folders_a_swap_did_not_leave_are_never_deleted_nor_used() {
    let (_dir, store, _) = fresh();
    let home = store.home.clone();
    drop(store);
    let path = home.store_path();
    let copy = home.dir.join("store-compacted");
    let replaced = home.dir.join("store-replaced");
    // The store moved away by hand, an old replaced store beside.
    when_released(|| {
        std::fs::rename(&path, &replaced).map_err(|source| StoreError::Io {
            context: String::new(),
            source,
        })
    });
    let refused = Store::open(home.clone(), &crypt::passphrase(PASS))
        .err()
        .expect("refused");
    assert!(refused.to_string().contains("store-replaced"), "{refused}");
    assert!(replaced.join("db").exists() && !path.exists());
    // Nor with a copy of another swap.
    std::fs::create_dir_all(&copy).unwrap();
    join_swap(&[&copy], "swap 2");
    join_swap(&[&replaced], "swap 1");
    assert!(Store::open(home.clone(), &crypt::passphrase(PASS)).is_err());
    assert!(copy.exists() && replaced.join("db").exists() && !path.exists());
    // `init --new-store` makes no store beside them.
    let profile = profile::unlock(&home, &crypt::passphrase(PASS)).unwrap();
    let made = Store::create(home.clone(), profile, "now")
        .err()
        .expect("refused");
    assert!(made.to_string().contains("left by a compaction"), "{made}");
    assert!(!path.exists());
    // A store put back beside a replaced folder of another swap: both stay.
    std::fs::remove_dir_all(&copy).unwrap();
    std::fs::rename(&replaced, &path).unwrap();
    std::fs::create_dir_all(&replaced).unwrap();
    std::fs::write(replaced.join("db"), b"records").unwrap();
    join_swap(&[&replaced], "swap 3");
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    drop(store);
    assert!(replaced.join("db").exists(), "not deleted");
}

/// A live count that drifted low (an older fieldkit wrote to the store)
/// is counted anew by the compaction it causes, so the next opening does
/// not compact again; a number floor that does not read is refused, never
/// taken as 0 (numbers would be given again).
#[test]
fn a_drifted_count_is_mended_and_an_unreadable_floor_refused() {
    let (_dir, store, _) = fresh();
    let home = store.home.clone();
    drop(store);
    churned(&home, 24);
    set_meta(&home, LIVE_BYTES, b"0");
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    let (files, live) = sled_of(&store);
    drop(store);
    let db = engine(&home.store_path());
    assert_eq!(Some(live), db.live_bytes().unwrap());
    assert_eq!(live, db.counted_bytes().unwrap(), "counted anew");
    assert!(
        !compact::due(files, live),
        "{files} bytes of files, {live} live"
    );
    drop(db);
    set_meta(&home, NUMBER_FLOOR, b"12x");
    // The store opens (rescue reads it), but gives no number.
    let db = engine(&home.store_path());
    let refused = db.next_number().expect_err("no number");
    assert!(refused.to_string().contains("number floor"), "{refused}");
}

/// A write makes no count where there is none (a store whose entries
/// could not be counted at opening stays uncounted, and is not compacted);
/// a store whose copy failed is not copied again before its files double,
/// and a copy that succeeds clears that.
#[test]
fn no_count_is_made_by_a_write_and_a_failed_copy_waits() {
    let (_dir, store, _) = fresh();
    let home = store.home.clone();
    drop(store);
    let (files, _) = churned(&home, 24);
    let db = engine(&home.store_path());
    db.sled()
        .open_tree(Tree::Meta.name())
        .unwrap()
        .remove(LIVE_BYTES)
        .unwrap();
    db.sync().unwrap();
    // The count taken away after the opening, as if it had failed.
    db.apply(&[Change::put(
        Tree::Drafts,
        b"one more".to_vec(),
        vec![1; 100],
    )])
    .unwrap();
    assert_eq!(db.live_bytes().unwrap(), None, "no count made by a write");
    drop(db);
    // A copy failed at this size: none is tried.
    set_meta(&home, FAILED_COPY, files.to_string().as_bytes());
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    let (after, live) = sled_of(&store);
    drop(store);
    assert!(after >= files, "not compacted: {after} bytes, {live} live");
    // Once the files have doubled it is tried again, and succeeds.
    set_meta(&home, FAILED_COPY, (files / 2).to_string().as_bytes());
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    let (after, live) = sled_of(&store);
    assert!(after < files / 2, "compacted: {after} bytes, {live} live");
    assert_eq!(store.backend.get(Tree::Meta, FAILED_COPY).unwrap(), None);
}
