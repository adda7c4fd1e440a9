//! Store unit tests on real sled stores in temp folders, with real age.

use serde_json::{Value, json};

use super::backend::{Backend, Change, SledBackend, Tree};
use super::profile::{self, Home, ProfileError};
use super::*;

pub(super) const PASS: &str = "correct horse battery";

fn recipients() -> (age::x25519::Identity, String) {
    let dm = age::x25519::Identity::generate();
    let text = format!("# test data manager\n{}\n", dm.to_public());
    (dm, text)
}

/// A fresh profile and store in a temp folder, and the data manager's key.
pub(super) fn fresh() -> (tempfile::TempDir, Store, age::x25519::Identity) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("home"));
    let (dm, text) = recipients();
    let made = profile::create(
        &home,
        "enum-03",
        "Somchai",
        &crypt::passphrase(PASS),
        &text,
        "2026-11-22T09:00:00+07:00",
    )
    .unwrap();
    let public = made.public.clone();
    let store = Store::create(home.clone(), made, "2026-11-22T09:00:00+07:00").unwrap();
    profile::finish(&home, &public).unwrap();
    (dir, store, dm)
}

/// The form text the test drafts are made with.
pub(super) const FORM: &[u8] = b"[settings]\nform_id = \"t\"\n";

pub(super) fn draft(answer: &str) -> Draft {
    let mut d = Draft::new(
        "dtm_site_assessment",
        "2026.1",
        &crypt::sha256_hex(FORM),
        "2026-11-22T09:00:00+07:00",
    );
    d.answers.insert("site_name".into(), json!(answer));
    d.instance_name = answer.into();
    d
}

#[test]
fn drafts_round_trip_and_list_without_decrypting_records() {
    let (_dir, store, _) = fresh();
    let mut d = draft("Ban Nong");
    store.save_draft(&d, "site_name").unwrap();
    d.answers.insert("hh_total".into(), json!(12));
    d.updated = "2026-11-22T09:05:00+07:00".into();
    store.save_draft(&d, "hh_total").unwrap();
    assert_eq!(store.load_draft(&d.id).unwrap(), d);
    let listing = store.listing().unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].state, State::Draft);
    assert_eq!(listing[0].instance_name, "Ban Nong");
    assert_eq!(listing[0].updated, "2026-11-22T09:05:00+07:00");
    let events: Vec<String> = store
        .audit()
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.event, e.detail))
        .collect();
    assert_eq!(
        events,
        ["store created ", "created site_name", "answered hh_total"]
    );
}

#[test]
fn finalize_moves_to_the_outbox_encrypted_to_the_deployment_only() {
    let (_dir, store, dm) = fresh();
    let d = draft("Ban Nong");
    store.save_draft(&d, "").unwrap();
    let values = serde_json::Map::from_iter([("site_name".to_string(), json!("Ban Nong"))]);
    store
        .finalize(&d, &values, "2026-11-22T10:00:00+07:00", FORM)
        .unwrap();
    assert_eq!(
        store.status().unwrap(),
        Status {
            drafts: 0,
            outbox: 1,
            sent: 0,
            bundles: 0
        }
    );
    assert!(matches!(
        store.load_draft(&d.id),
        Err(StoreError::NotFound(_))
    ));
    let ct = store.outbox_record(&d.id).unwrap();
    let record: Value = serde_json::from_slice(&crypt::decrypt_with(&dm, &ct).unwrap()).unwrap();
    assert_eq!(record["format"], RECORD_FORMAT);
    assert_eq!(record["record_id"], json!(d.id));
    assert_eq!(record["enumerator_id"], "enum-03");
    assert_eq!(record["values"]["site_name"], "Ban Nong");
    // The laptop cannot read it back.
    assert!(crypt::decrypt_with(&store.profile().identity, &ct).is_err());
    let listing = store.listing().unwrap();
    assert_eq!(listing[0].state, State::Outbox);
    assert_eq!(
        listing[0].instance_name, "",
        "no answer text kept once finalized"
    );
    // A finalized record is not a draft any more: it cannot be saved,
    // finalized again (it would be exported twice) or deleted.
    assert!(matches!(
        store.save_draft(&d, ""),
        Err(StoreError::NotADraft {
            state: State::Outbox,
            ..
        })
    ));
    assert!(matches!(
        store.finalize(&d, &values, "later", FORM),
        Err(StoreError::NotADraft { .. })
    ));
    assert!(matches!(
        store.save_final(&d, &values, "later", FORM),
        Err(StoreError::NotADraft { .. })
    ));
    assert!(store.delete_draft(&d.id, "now").is_err());
    assert!(matches!(
        store.finalize(&draft("never saved"), &values, "now", FORM),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn a_record_is_never_finalized_with_another_form_text_than_its_own() {
    let (_dir, store, _) = fresh();
    let d = draft("Ban Nong");
    store.save_draft(&d, "").unwrap();
    let values = serde_json::Map::new();
    // An empty text (a resumed draft whose form text was not found) or
    // another version's text: refused, the draft left as it was, and the
    // kept form under the draft's hash never overwritten.
    for other in [&b""[..], b"[settings]\nform_id = \"t\"\nversion = \"2\"\n"] {
        assert!(matches!(
            store.finalize(&d, &values, "later", other),
            Err(StoreError::FormMismatch { .. })
        ));
        assert!(matches!(
            store.save_final(&draft("other"), &values, "later", other),
            Err(StoreError::FormMismatch { .. })
        ));
    }
    assert_eq!(store.status().unwrap().drafts, 1);
    assert_eq!(store.status().unwrap().outbox, 0);
    assert_eq!(store.form_text(&d.form_sha256).unwrap(), None);
    store.finalize(&d, &values, "later", FORM).unwrap();
    assert_eq!(
        store.form_text(&d.form_sha256).unwrap().as_deref(),
        Some(FORM)
    );
}

/// Each form text is written once, not with every record (its whole text
/// with each record made the store 13 times the answers' size); a kept
/// copy that no longer opens is written again.
#[test]
fn a_form_text_is_kept_once_not_once_per_record() {
    let (_dir, store, _) = fresh();
    let values = serde_json::Map::new();
    let forms_written = |d: &Draft| {
        let changes = store.final_changes(d, &values, "now", FORM, None).unwrap();
        changes.iter().filter(|c| c.tree == Tree::Forms).count()
    };
    let first = draft("Ban Nong");
    assert_eq!(forms_written(&first), 1);
    store.save_final(&first, &values, "now", FORM).unwrap();
    let second = draft("Ban Phon");
    assert_eq!(forms_written(&second), 0);
    store.save_final(&second, &values, "now", FORM).unwrap();
    assert_eq!(store.status().unwrap().outbox, 2);
    assert_eq!(
        store.form_text(&second.form_sha256).unwrap().as_deref(),
        Some(FORM)
    );
    let key = second.form_sha256.as_bytes().to_vec();
    store
        .backend
        .apply(&[Change::put(Tree::Forms, key, b"damaged".to_vec())])
        .unwrap();
    let third = draft("Ban Na");
    assert_eq!(forms_written(&third), 1);
    store.save_final(&third, &values, "now", FORM).unwrap();
    assert_eq!(
        store.form_text(&third.form_sha256).unwrap().as_deref(),
        Some(FORM)
    );
}

#[test]
fn save_final_creates_and_finalizes_in_one_write() {
    let (_dir, store, dm) = fresh();
    let d = draft("Ban Nong");
    store
        .save_final(
            &d,
            &serde_json::Map::new(),
            "2026-11-22T10:00:00+07:00",
            FORM,
        )
        .unwrap();
    assert_eq!(store.status().unwrap().drafts, 0);
    assert_eq!(store.status().unwrap().outbox, 1);
    assert!(crypt::decrypt_with(&dm, &store.outbox_record(&d.id).unwrap()).is_ok());
    let events: Vec<String> = store
        .audit()
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["store created", "created", "finalized"]);
}

#[test]
fn delete_draft_removes_it_and_is_audited() {
    let (_dir, store, _) = fresh();
    let d = draft("x");
    store.save_draft(&d, "").unwrap();
    store
        .delete_draft(&d.id, "2026-11-22T11:00:00+07:00")
        .unwrap();
    assert_eq!(store.status().unwrap().drafts, 0);
    assert!(store.listing().unwrap().is_empty());
    assert_eq!(store.audit().unwrap().last().unwrap().event, "deleted");
}

#[test]
fn reopen_with_passphrase_sees_everything_and_wrong_one_is_refused() {
    let (dir, store, _) = fresh();
    let d = draft("Ban Nong");
    store.save_draft(&d, "").unwrap();
    let home = store.home.clone();
    drop(store);
    match Store::open(home.clone(), &crypt::passphrase("not it at all")) {
        Err(StoreError::Profile(ProfileError::WrongPassphrase(id))) => assert_eq!(id, "enum-03"),
        other => panic!("expected wrong passphrase, got {:?}", other.err()),
    }
    let store = Store::open(home, &crypt::passphrase(PASS)).unwrap();
    assert_eq!(store.load_draft(&d.id).unwrap(), d);
    assert_eq!(store.profile().name, "Somchai");
    drop(dir);
}

#[test]
fn a_second_open_is_refused_while_the_store_is_in_use() {
    let (_dir, store, _) = fresh();
    let home = store.home.clone();
    assert!(matches!(
        Store::open(home.clone(), &crypt::passphrase(PASS)),
        Err(StoreError::Locked(_))
    ));
    assert!(matches!(
        Store::counts(home.clone()),
        Err(StoreError::Locked(_))
    ));
    drop(store);
    assert!(Store::counts(home).is_ok());
}

#[test]
fn a_store_from_a_newer_fieldkit_is_refused_untouched() {
    let (_dir, store, _) = fresh();
    let home = store.home.clone();
    drop(store);
    {
        let db = SledBackend::open(&home.store_path()).unwrap();
        db.apply(&[backend::Change::put(Tree::Meta, "schema", b"7".to_vec())])
            .unwrap();
    }
    match Store::open(home.clone(), &crypt::passphrase(PASS)) {
        Err(e @ StoreError::Newer { found: 7, .. }) => {
            assert!(e.to_string().contains("newer fieldkit"), "{e}")
        }
        other => panic!("expected Newer, got {:?}", other.err()),
    }
    // The plain schema file is read before sled opens anything.
    let schema_file = home.store_path().join(SCHEMA_FILE);
    std::fs::write(&schema_file, "9\n").unwrap();
    let db = home.store_path().join("db");
    let before = std::fs::read(&db).unwrap();
    assert!(matches!(
        Store::counts(home.clone()),
        Err(StoreError::Newer { found: 9, .. })
    ));
    assert_eq!(std::fs::read(&db).unwrap(), before, "untouched");
    // A missing store folder is not silently recreated.
    std::fs::rename(home.store_path(), home.dir.join("store-moved")).unwrap();
    assert!(matches!(Store::counts(home), Err(StoreError::NoStore(_))));
}

#[test]
fn no_profile_says_to_run_init() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("nobody"));
    let err = Store::open(home, &crypt::passphrase(PASS)).err().unwrap();
    assert!(err.to_string().contains("fieldkit init"), "{err}");
}

#[test]
fn init_refuses_to_overwrite_bad_ids_and_short_passphrases() {
    let (_dir, store, _) = fresh();
    let (_, text) = recipients();
    let again = profile::create(
        &store.home,
        "enum-04",
        "",
        &crypt::passphrase(PASS),
        &text,
        "t",
    );
    assert!(matches!(again, Err(ProfileError::Exists(_))));
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().to_path_buf());
    let bad = profile::create(&home, "enum 03", "", &crypt::passphrase(PASS), &text, "t");
    assert!(matches!(bad, Err(ProfileError::BadId(_))));
    let short = profile::create(
        &home,
        "enum-03",
        "",
        &crypt::passphrase("short"),
        &text,
        "t",
    );
    assert!(matches!(short, Err(ProfileError::ShortPassphrase)));
    let none = profile::create(
        &home,
        "enum-03",
        "",
        &crypt::passphrase(PASS),
        "# none\n",
        "t",
    );
    assert!(none.is_err());
    assert!(!home.public_path().exists(), "nothing written on refusal");
}

#[test]
fn envelopes_round_trip_and_reject_truncation() {
    let id = [7u8; 16];
    let e = envelope::wrap(envelope::DRAFT, &id, 42, b"payload");
    assert_eq!(
        envelope::unwrap(&e),
        Some((envelope::DRAFT, id, 42, &b"payload"[..]))
    );
    assert_eq!(envelope::unwrap(&e[..e.len() - 1]), None);
    let mut longer = e.clone();
    longer.extend_from_slice(b"trailing");
    assert_eq!(envelope::unwrap(&longer).unwrap().3, b"payload");
}

#[test]
fn rescue_copies_out_drafts_and_records_from_a_store_that_will_not_open() {
    let (dir, store, dm) = fresh();
    let kept = draft("Ban Nong");
    store.save_draft(&kept, "").unwrap();
    let done = draft("Ban Done");
    store.save_draft(&done, "").unwrap();
    store
        .finalize(
            &done,
            &serde_json::Map::new(),
            "2026-11-22T10:00:00+07:00",
            FORM,
        )
        .unwrap();
    let home = store.home.clone();
    let profile = profile::unlock(&home, &crypt::passphrase(PASS)).unwrap();
    drop(store);
    // Break the store: sled cannot read its config any more.
    std::fs::write(home.store_path().join("conf"), b"\x00garbage\xff").unwrap();
    let before = std::fs::read(home.store_path().join("db")).unwrap();
    assert!(matches!(
        Store::open(home.clone(), &crypt::passphrase(PASS)),
        Err(StoreError::Corrupted { .. })
    ));
    let out = dir.path().join("rescued");
    let report = rescue::rescue(&home, Ok(&profile), &out).unwrap();
    assert!(!report.opened);
    assert_eq!((report.drafts, report.outbox), (1, 1), "{report:?}");
    let draft_file = std::fs::read(out.join(format!("drafts/{}.age", kept.id))).unwrap();
    let back: Draft =
        serde_json::from_slice(&crypt::decrypt_with(&dm, &draft_file).unwrap()).unwrap();
    assert_eq!(back, kept, "the data manager can read a rescued draft");
    let back: Draft =
        serde_json::from_slice(&crypt::decrypt_with(&profile.identity, &draft_file).unwrap())
            .unwrap();
    assert_eq!(back, kept, "and so can the profile");
    let record = std::fs::read(out.join(format!("outbox/{}.age", done.id))).unwrap();
    assert!(crypt::decrypt_with(&dm, &record).is_ok());
    assert!(out.join("rescue.json").is_file());
    assert_eq!(
        std::fs::read(home.store_path().join("db")).unwrap(),
        before,
        "rescue changes nothing in the store"
    );
    assert!(
        rescue::rescue(&home, Ok(&profile), &out).is_err(),
        "a non-empty output folder is refused"
    );
}

/// Finalizes `n` records in writes of 500 (the same changes as
/// `save_final`, fewer syncs) and returns their ids.
fn finalize_many(store: &Store, n: usize) -> Vec<String> {
    let values = serde_json::Map::new();
    let mut ids = Vec::with_capacity(n);
    let mut changes = Vec::new();
    for i in 0..n {
        let d = draft(&format!("site {i}"));
        changes.extend(store.draft_changes(&d, "", false).unwrap());
        changes.extend(store.final_changes(&d, &values, "now", FORM, None).unwrap());
        ids.push(d.id);
        if changes.len() > 4_000 || i + 1 == n {
            store.apply(&std::mem::take(&mut changes)).unwrap();
        }
    }
    ids
}

/// The facts of the next bundle holding `records` (its hashes made up:
/// the store keeps them, export computes them).
pub(super) fn next_bundle(store: &Store, records: Vec<String>) -> BundleFacts {
    let (last, prev) = store.chain_head().unwrap();
    BundleFacts {
        sequence: last + 1,
        bundle_id: format!("enum-03-{:06}", last + 1),
        manifest_sha256: crypt::sha256_hex(format!("manifest {}", last + 1).as_bytes()),
        prev_manifest_sha256: prev,
        file: format!("b{}.zip", last + 1),
        exported_at: "2026-11-22T10:00:00+07:00".into(),
        written: false,
        records,
    }
}

/// Records the export of `records` as the next bundle, in one write step:
/// the bundle's facts.
pub(super) fn exported(store: &Store, records: Vec<String>) -> BundleFacts {
    let facts = next_bundle(store, records);
    store
        .record_export(&facts, MoveStep::default(), &mut |_| {})
        .unwrap();
    facts
}

/// Takes the receipt of `facts` from `sup-01`, returning `returns`, in one
/// write step.
pub(super) fn purge(store: &Store, facts: &BundleFacts, returns: &Returns) -> Purged {
    store
        .purge_returning(
            facts,
            returns,
            "sup-01",
            "now",
            MoveStep::default(),
            &mut |_| {},
        )
        .unwrap()
}

/// The record as the data manager decrypts it from the outbox.
pub(super) fn outbox_json(store: &Store, dm: &age::x25519::Identity, id: &str) -> Value {
    let ct = store.outbox_record(id).unwrap();
    serde_json::from_slice(&crypt::decrypt_with(dm, &ct).unwrap()).unwrap()
}

/// Entries read by `status` on the open store, by `status` without the
/// passphrase, and by opening; the store comes back open.
fn reads_of_status_and_open(store: Store) -> (Store, [u64; 3]) {
    let home = store.home.clone();
    let before = store.reads();
    store.status().unwrap();
    let open_status = store.reads() - before;
    drop(store);
    let (_, status) = when_released(|| Store::counts_read(home.clone()));
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    let open = store.reads();
    (store, [open_status, status, open])
}

/// What `use_store` gives once the store dropped just before is released:
/// sled's own threads may hold its files a moment after the drop (then
/// opening says the store is in use). Tries a bounded number of times.
pub(super) fn when_released<T>(mut use_store: impl FnMut() -> Result<T, StoreError>) -> T {
    for _ in 0..1_000 {
        match use_store() {
            Err(StoreError::Locked(_) | StoreError::LockReplaced(_)) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            other => return other.unwrap(),
        }
    }
    panic!("the store was never released");
}

/// `status` and opening read counters, not history: the same number of
/// store entries with 1,000 records exported as with 10,000 (reading the
/// records' states made `status` 0.71 s at 20,000).
#[test]
fn status_and_opening_read_the_same_at_any_history() {
    let (_dir, mut store, _) = fresh();
    let mut measured = Vec::new();
    let mut total = 0;
    for n in [1_000, 9_000] {
        let ids = finalize_many(&store, n);
        exported(&store, ids);
        total += n;
        let reads;
        (store, reads) = reads_of_status_and_open(store);
        let status = store.status().unwrap();
        assert_eq!(
            (status.outbox, status.sent, status.bundles),
            (0, total, measured.len() + 1)
        );
        // The counts agree with the records themselves.
        assert_eq!(store.records(State::Sent).unwrap().len(), total);
        assert!(store.records(State::Outbox).unwrap().is_empty());
        measured.push((total, reads));
    }
    assert_eq!(
        measured[0].1, measured[1].1,
        "entries read by status (open store; no passphrase) and by opening, at 1,000 and \
         10,000 records exported: {measured:?}"
    );
}

/// An export stopped between its writes (here: a panic after the second
/// of them) is finished when the store next opens: every record of the
/// bundle in "sent" once, none left in the outbox, the counts and tallies
/// as for an export that never stopped.
#[test]
fn an_export_stopped_between_its_writes_is_finished_on_opening() {
    let (_dir, store, _) = fresh();
    let ids = finalize_many(&store, 25);
    let facts = next_bundle(&store, ids[..20].to_vec());
    let step = MoveStep {
        records: 3,
        bytes: usize::MAX,
    };
    let mut writes = 0;
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.record_export(&facts, step, &mut |n| {
            writes = n;
            if n == 3 {
                panic!("stopped");
            }
        })
    }));
    assert!(stopped.is_err() && writes == 3);
    assert_eq!(
        store.outbox_ids().unwrap().len(),
        25 - 3 - 3,
        "two writes of 3 moved"
    );
    let status = store.status().unwrap();
    assert_eq!(
        (status.outbox, status.sent, status.bundles),
        (5, 20, 1),
        "the counts moved with the first write"
    );
    let home = store.home.clone();
    drop(store);
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    let outbox = store.outbox_ids().unwrap();
    assert_eq!(outbox, ids[20..].to_vec());
    let sent: Vec<String> = store
        .records(State::Sent)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut expected = ids[..20].to_vec();
    expected.sort();
    assert_eq!(sent, expected);
    for listing in store.listing().unwrap() {
        let in_bundle = ids[..20].contains(&listing.id);
        assert_eq!(listing.state == State::Sent, in_bundle);
        assert_eq!(listing.bundle, in_bundle.then_some(1));
    }
    assert_eq!(store.tallies().unwrap()["dtm_site_assessment"].sent, 20);
    assert_eq!(store.bundles().unwrap(), vec![facts]);
    // Nothing is left to finish: opening again reads one entry for it.
    store.finish_export(&mut |_| panic!("no write")).unwrap();
    // The next bundle takes the rest, and a receipt counts its records.
    let next = exported(&store, outbox);
    assert_eq!(store.purge_bundle(&next, "sup", "now").unwrap(), 5);
    let status = store.status().unwrap();
    assert_eq!(
        (status.drafts, status.outbox, status.sent, status.bundles),
        (0, 0, 20, 1)
    );
    assert_eq!(status, count_states_status(&store));
}

/// The counts as the `states` tree has them, for comparing.
fn count_states_status(store: &Store) -> Status {
    count_states(store.backend.as_ref()).unwrap()
}

/// A store made before the counts were kept has them counted once from
/// its records' states, and kept, when it is next opened or counted.
#[test]
fn counts_missing_from_an_older_store_are_counted_once_and_kept() {
    let (_dir, store, _) = fresh();
    finalize_many(&store, 3);
    store.save_draft(&draft("open"), "").unwrap();
    let expected = store.status().unwrap();
    assert_eq!((expected.drafts, expected.outbox), (1, 3));
    store
        .backend
        .apply(&[Change::remove(Tree::Meta, COUNTS)])
        .unwrap();
    assert_eq!(store.status().unwrap(), expected, "counted from the states");
    let home = store.home.clone();
    drop(store);
    assert_eq!(when_released(|| Store::counts(home.clone())), expected);
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    assert!(store.backend.get(Tree::Meta, COUNTS).unwrap().is_some());
    assert_eq!(store.status().unwrap(), expected);
}

/// An exported record stays where it was finalized (moving it rewrote
/// every record at export); a store of an earlier fieldkit, whose
/// exported records were moved to the `sent` tree, still reads them, and
/// a receipt purges them from either.
#[test]
fn exported_records_stay_in_place_and_earlier_stores_still_read() {
    let (_dir, store, _) = fresh();
    let ids = finalize_many(&store, 4);
    let facts = exported(&store, ids.clone());
    let in_tree = |tree, id: &str| {
        let key = uuid::Uuid::parse_str(id).unwrap();
        store.backend.get(tree, key.as_bytes()).unwrap().is_some()
    };
    assert!(
        ids.iter()
            .all(|id| in_tree(Tree::Outbox, id) && !in_tree(Tree::Sent, id))
    );
    assert!(
        store.finalized(&ids[0], State::Outbox).is_err(),
        "it is sent"
    );
    // Two records as an earlier fieldkit left them: in `sent`.
    for id in &ids[..2] {
        let key = uuid::Uuid::parse_str(id).unwrap().as_bytes().to_vec();
        let value = store.backend.get(Tree::Outbox, &key).unwrap().unwrap();
        store
            .backend
            .apply(&[
                Change::remove(Tree::Outbox, key.clone()),
                Change::put(Tree::Sent, key, value),
            ])
            .unwrap();
    }
    assert!(in_tree(Tree::Sent, &ids[0]) && !in_tree(Tree::Outbox, &ids[0]));
    for id in &ids {
        let (listing, _) = store.finalized(id, State::Sent).unwrap();
        assert_eq!(listing.bundle, Some(1));
    }
    let mut sorted = ids.clone();
    sorted.sort();
    let sent: Vec<String> = store
        .records(State::Sent)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(sent, sorted);
    assert!(store.records(State::Outbox).unwrap().is_empty());
    assert_eq!(store.purge_bundle(&facts, "sup", "now").unwrap(), 4);
    assert!(
        ids.iter()
            .all(|id| !in_tree(Tree::Outbox, id) && !in_tree(Tree::Sent, id))
    );
    let status = store.status().unwrap();
    assert_eq!((status.outbox, status.sent, status.bundles), (0, 0, 0));
    assert_eq!(status, count_states_status(&store));
}

/// A form text stays while a draft or an unreceipted record uses it, and
/// goes once nothing does: after the receipt, or with the last draft of
/// its version.
#[test]
fn old_form_texts_are_retired_once_nothing_uses_them() {
    let (_dir, store, _) = fresh();
    let values = serde_json::Map::new();
    const NEWER: &[u8] = b"[settings]\nform_id = \"t\"\nversion = \"2\"\n";
    let newer = || {
        Draft::new(
            "dtm_site_assessment",
            "2026.2",
            &crypt::sha256_hex(NEWER),
            "2026-11-22T09:00:00+07:00",
        )
    };
    let old_sha = draft("x").form_sha256;
    let new_sha = newer().form_sha256;
    let kept = |sha: &str| store.form_text(sha).unwrap().is_some();
    // Round 1: a record and a draft of the old version.
    let sent = finalize_many(&store, 1);
    let old_draft = draft("Ban Phon");
    store.save_draft(&old_draft, "").unwrap();
    // Round 2: a record of the newer version, still in the outbox.
    store.save_final(&newer(), &values, "now", NEWER).unwrap();
    let facts = exported(&store, sent);
    assert_eq!(store.retire_forms("now").unwrap(), 0);
    store.purge_bundle(&facts, "sup", "now").unwrap();
    assert_eq!(
        store.retire_forms("now").unwrap(),
        0,
        "the old draft uses it"
    );
    assert!(kept(&old_sha) && kept(&new_sha));
    store.delete_draft(&old_draft.id, "now").unwrap();
    assert!(!kept(&old_sha), "the last user of the old version is gone");
    assert!(kept(&new_sha), "a record in the outbox uses the newer one");
    let events = store.audit().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event == "form texts retired" && e.detail.contains(&old_sha))
    );
    // A store from before the uses were counted: they are counted once
    // from the listings, but a listing too old to name its text (a draft
    // of an older fieldkit) stops that, since it may use any text.
    store
        .apply(&[Change::remove(Tree::Meta, super::finals::FORM_USES_KEPT)])
        .unwrap();
    let unused = crypt::sha256_hex(b"unused");
    let sealed = crypt::seal(
        &store.profile.seal_key,
        &context(Tree::Forms, unused.as_bytes()),
        b"unused",
    );
    store
        .apply(&[Change::put(Tree::Forms, unused.as_bytes().to_vec(), sealed)])
        .unwrap();
    let mut blind = draft("y");
    blind.form_sha256 = String::new();
    store.save_draft(&blind, "").unwrap();
    assert_eq!(store.retire_forms("now").unwrap(), 0);
    assert!(kept(&unused));
    store.delete_draft(&blind.id, "now").unwrap();
    assert!(!kept(&unused), "counted once the old draft is gone");
    assert!(kept(&new_sha), "still used by the record in the outbox");
}

/// A receipt's purge is one step to the user in several writes: stopped
/// after any of them, the counts already say the bundle is receipted, and
/// the next opening removes the rest of its records; nothing else goes.
#[test]
fn a_purge_stopped_between_its_writes_is_finished_on_opening() {
    let (_dir, store, _) = fresh();
    let ids = finalize_many(&store, 12);
    let facts = exported(&store, ids[..10].to_vec());
    let step = MoveStep {
        records: 3,
        bytes: usize::MAX,
    };
    let mut writes = 0;
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.purge_in_steps(&facts, "sup", "now", step, &mut |n| {
            writes = n;
            if n == 2 {
                panic!("stopped");
            }
        })
    }));
    assert!(stopped.is_err() && writes == 2);
    let status = store.status().unwrap();
    assert_eq!(
        (status.outbox, status.sent, status.bundles),
        (2, 0, 0),
        "the counts moved with the first write"
    );
    assert_eq!(
        store.listing().unwrap().len(),
        12 - 3,
        "one write of 3 went"
    );
    assert_eq!(
        store.tallies().unwrap()["dtm_site_assessment"].receipted,
        10
    );
    let home = store.home.clone();
    drop(store);
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    let left: Vec<String> = store.listing().unwrap().into_iter().map(|l| l.id).collect();
    assert_eq!(left, ids[10..].to_vec(), "the rest went, the outbox stayed");
    assert!(store.bundles().unwrap().is_empty());
    assert_eq!(store.status().unwrap(), count_states_status(&store));
    // Nothing is left to finish.
    store.finish_purge(&mut |_| panic!("no write")).unwrap();
    let events: Vec<String> = store
        .audit()
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events.iter().filter(|e| *e == "purged").count(), 1);
}

/// Retiring form texts reads the texts and their counts, never the
/// records: the same number of entries at any history (reading every
/// listing after each receipt made acks quadratic in a full store).
#[test]
fn retiring_form_texts_reads_the_same_at_any_history() {
    let reads = |n: usize| {
        let (_dir, store, _) = fresh();
        finalize_many(&store, n);
        let before = store.reads();
        assert_eq!(store.retire_forms("now").unwrap(), 0);
        store.reads() - before
    };
    assert_eq!(reads(10), reads(1_000));
}
