//! Kept answers and returned records (kept.rs, the purge in bundles.rs),
//! on real sled stores in temp folders, with real age.

use serde_json::json;

use super::backend::Tree;
use super::tests::{FORM, PASS, draft, exported, fresh, outbox_json, purge, when_released};
use super::*;
use crate::bundle::receipt::Comment;

/// Two records finalized and exported in one bundle: their ids, the facts.
fn two_sent(store: &Store) -> (Vec<String>, BundleFacts) {
    let mut ids = Vec::new();
    for name in ["Ban Nong", "Ban Phon"] {
        let d = draft(name);
        store.save_draft(&d, "site_name").unwrap();
        let values = serde_json::Map::from_iter([("site_name".to_string(), json!(name))]);
        store
            .finalize(&d, &values, "2026-11-22T10:00:00+07:00", FORM)
            .unwrap();
        ids.push(d.id);
    }
    let facts = exported(store, ids.clone());
    (ids, facts)
}

fn returned(version: u32) -> Returned {
    Returned {
        version,
        by: "sup-01".into(),
        at: "2026-11-23T09:00:00+07:00".into(),
        note: "household count looks low".into(),
        comments: vec![Comment {
            field: "site_name".into(),
            text: "spelling: Ban Nong Khai".into(),
        }],
    }
}

fn kept_entries(store: &Store) -> usize {
    store.backend.count(Tree::Kept).unwrap()
}

#[test]
fn answers_are_kept_sealed_at_finalize_and_purged_on_approval() {
    let (_dir, store, _) = fresh();
    let (ids, facts) = two_sent(&store);
    assert_eq!(kept_entries(&store), 2);
    assert!(store.keeps_answers(&ids[0]).unwrap());
    // Keyed tags, not record ids, name the entries.
    store
        .backend
        .visit(Tree::Kept, &mut |k, v| {
            assert_eq!(k.len(), 16);
            for id in &ids {
                let uuid = uuid::Uuid::parse_str(id).unwrap();
                assert_ne!(k, uuid.as_bytes());
            }
            assert!(!v.windows(8).any(|w| w == b"Ban Nong"), "sealed");
            true
        })
        .unwrap();
    // A receipt without verdicts (or approving all) purges them with the
    // records, in the purge's writes.
    let purged = purge(&store, &facts, &Returns::new());
    assert_eq!(purged.records, 2);
    assert!(purged.returned.is_empty());
    assert_eq!(kept_entries(&store), 0);
    assert!(store.listing().unwrap().is_empty());
    assert_eq!(
        store.status().unwrap(),
        Status {
            drafts: 0,
            outbox: 0,
            sent: 0,
            bundles: 0
        }
    );
    assert!(
        store
            .receipt_taken(&facts.manifest_sha256)
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_returned_record_becomes_a_draft_of_its_next_version_with_the_comments() {
    let (_dir, store, dm) = fresh();
    let (ids, facts) = two_sent(&store);
    let returns = Returns::from([(ids[1].clone(), returned(1))]);
    let purged = purge(&store, &facts, &returns);
    assert_eq!(purged.returned, [ids[1].clone()]);
    assert_eq!(
        store.status().unwrap(),
        Status {
            drafts: 1,
            outbox: 0,
            sent: 0,
            bundles: 0
        }
    );
    let tally = &store.tallies().unwrap()["dtm_site_assessment"];
    assert_eq!((tally.sent, tally.receipted, tally.returned), (2, 2, 1));
    let listing = store.listing().unwrap();
    assert_eq!(listing.len(), 1);
    let l = &listing[0];
    assert_eq!(l.state, State::Draft);
    assert_eq!((l.version, l.supersedes), (2, Some(1)));
    assert_eq!(l.returned.as_deref(), Some("household count looks low"));
    assert_eq!(l.instance_name, "Ban Phon");
    let d = store.load_draft(&ids[1]).unwrap();
    assert_eq!(d.answers["site_name"], "Ban Phon");
    assert_eq!(d.returned, Some(returned(1)));
    let r = d.returned.as_ref().unwrap();
    assert_eq!(
        r.comments_on("site_name").collect::<Vec<_>>(),
        ["spelling: Ban Nong Khai"]
    );
    assert_eq!(kept_entries(&store), 0, "the draft holds the answers now");
    // The form text stays: the draft uses it.
    assert!(store.form_text(&d.form_sha256).unwrap().is_some());
    store.retire_forms("now").unwrap();
    assert!(store.form_text(&d.form_sha256).unwrap().is_some());

    // Corrected and finalized: version 2 supersedes 1, same record id,
    // kept again until its own receipt.
    let mut d = d;
    d.answers.insert("site_name".into(), json!("Ban Nong Khai"));
    d.updated = "2026-11-23T10:00:00+07:00".into();
    store.save_draft(&d, "site_name").unwrap();
    let values = serde_json::Map::from_iter([("site_name".to_string(), json!("Ban Nong Khai"))]);
    store
        .finalize(&d, &values, "2026-11-23T10:05:00+07:00", FORM)
        .unwrap();
    let record = outbox_json(&store, &dm, &ids[1]);
    assert_eq!(record["record_id"], json!(ids[1]));
    assert_eq!(record["version"], 2);
    assert_eq!(record["supersedes"], 1);
    assert_eq!(record["values"]["site_name"], "Ban Nong Khai");
    let l = &store.listing().unwrap()[0];
    assert_eq!(
        (l.state, l.version, l.supersedes),
        (State::Outbox, 2, Some(1))
    );
    assert_eq!(l.returned, None);
    assert_eq!(kept_entries(&store), 1);
    let kept = store.kept(&ids[1]).unwrap().unwrap();
    assert_eq!((kept.version, kept.returned), (2, None));
    assert_eq!(
        store.status().unwrap(),
        Status {
            drafts: 0,
            outbox: 1,
            sent: 0,
            bundles: 0
        }
    );
    // Returned again, it becomes version 3.
    let facts = exported(&store, vec![ids[1].clone()]);
    assert_eq!(store.record_version(&ids[1]).unwrap(), Some(2));
    let returns = Returns::from([(ids[1].clone(), returned(2))]);
    purge(&store, &facts, &returns);
    let d = store.load_draft(&ids[1]).unwrap();
    assert_eq!((d.version, d.supersedes), (3, Some(2)));
    assert_eq!(d.answers["site_name"], "Ban Nong Khai");
}

#[test]
fn a_record_finalized_before_answers_were_kept_cannot_be_returned() {
    let (_dir, store, _) = fresh();
    let (ids, facts) = two_sent(&store);
    // As an older fieldkit left it: nothing kept.
    store
        .apply(&[store.unkeep_change(&ids[0]).unwrap()])
        .unwrap();
    assert!(!store.keeps_answers(&ids[0]).unwrap());
    let returns = Returns::from([(ids[0].clone(), returned(1))]);
    let purged = purge(&store, &facts, &returns);
    assert!(purged.returned.is_empty());
    assert!(store.listing().unwrap().is_empty());
    assert_eq!(store.status().unwrap().drafts, 0);
}

#[test]
fn a_purge_with_returns_stopped_between_its_writes_is_finished_on_opening() {
    let (_dir, store, _) = fresh();
    let (ids, facts) = two_sent(&store);
    let returns = Returns::from([(ids[1].clone(), returned(1))]);
    let step = MoveStep {
        records: 1,
        bytes: usize::MAX,
    };
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.purge_returning(&facts, &returns, "sup-01", "now", step, &mut |n| {
            if n == 2 {
                panic!("stopped");
            }
        })
    }));
    assert!(stopped.is_err());
    let home = store.home.clone();
    drop(store);
    let store = when_released(|| Store::open(home.clone(), &crypt::passphrase(PASS)));
    let listing = store.listing().unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].id, ids[1]);
    assert_eq!(listing[0].state, State::Draft);
    assert_eq!(store.status().unwrap().drafts, 1);
    assert_eq!(store.load_draft(&ids[1]).unwrap().version, 2);
    // Finishing again changes nothing.
    store.finish_purge(&mut |_| panic!("no write")).unwrap();
    assert_eq!(store.load_draft(&ids[1]).unwrap().version, 2);
}

#[test]
fn a_returned_draft_is_not_deleted() {
    let (_dir, store, _) = fresh();
    let (ids, facts) = two_sent(&store);
    let returns = Returns::from([(ids[0].clone(), returned(1))]);
    purge(&store, &facts, &returns);
    assert!(matches!(
        store.delete_draft(&ids[0], "now"),
        Err(StoreError::ReturnedDraft(_))
    ));
    assert_eq!(store.load_draft(&ids[0]).unwrap().version, 2);
}

#[test]
fn a_purge_an_earlier_fieldkit_stopped_is_finished_alike() {
    let (_dir, store, _) = fresh();
    let (_, facts) = two_sent(&store);
    // As an earlier fieldkit left it after the purge's first write: the
    // bundle's facts alone under `purging`.
    store
        .apply(&[
            super::backend::Change::remove(Tree::Bundles, facts.sequence.to_be_bytes().to_vec()),
            super::backend::Change::put(
                Tree::Meta,
                "purging",
                store.sealed(Tree::Meta, b"purging", &facts),
            ),
        ])
        .unwrap();
    store.finish_purge(&mut |_| {}).unwrap();
    assert!(store.listing().unwrap().is_empty());
    assert_eq!(kept_entries(&store), 0);
    store.finish_purge(&mut |_| panic!("no write")).unwrap();
}

/// Installs the next pack of `dtm-lao` for `round`, signed by `key` (a
/// list only: records stay encrypted to the profile's recipients).
fn install_round(store: &Store, key: &ssh_key::PrivateKey, round: &str) {
    use crate::pack::{NO_PREVIOUS, Plan, build, verify::verify};
    let installed = store.installed_pack().unwrap();
    let prev = installed.as_ref().map(|p| p.manifest_sha256.clone());
    let built = build(
        Plan {
            deployment: "dtm-lao",
            sequence: installed.as_ref().map_or(1, |p| p.sequence + 1),
            prev_pack_sha256: prev.as_deref().unwrap_or(NO_PREVIOUS),
            round,
            created_at: "2026-12-01T09:00:00+07:00",
            files: vec![("lists/villages.csv".into(), b"name,label\nv1,V1\n".to_vec())],
        },
        key,
    )
    .unwrap();
    let signers = crate::bundle::signers::AllowedSigners::parse(&format!(
        "dtm-office namespaces=\"{}\" {}\n",
        crate::pack::NAMESPACE,
        key.public_key().to_openssh().unwrap()
    ))
    .unwrap();
    let chain = installed.map(|p| p.chain());
    let (report, verified) = verify("p.zip", &built.zip, &signers, chain.as_ref());
    assert!(report.ok, "{:?}", report.problems);
    store.install_pack(&verified.unwrap(), "now").unwrap();
}

#[test]
fn a_record_takes_the_round_of_the_pack_installed_and_its_correction_keeps_it() {
    let (_dir, store, dm) = fresh();
    let finalize = |name: &str| {
        let d = draft(name);
        let values = serde_json::Map::from_iter([("site_name".to_string(), json!(name))]);
        store.save_final(&d, &values, "now", FORM).unwrap();
        d.id
    };
    // No pack: no round, the record as earlier fieldkits wrote it.
    let before = finalize("Ban Kao");
    let record = outbox_json(&store, &dm, &before);
    assert!(record.get("round").is_none(), "{record}");

    let key =
        ssh_key::PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519)
            .unwrap();
    install_round(&store, &key, "R1-2026");
    let r1 = finalize("Ban Nong");
    assert_eq!(outbox_json(&store, &dm, &r1)["round"], "R1-2026");
    assert_eq!(
        store.kept(&r1).unwrap().unwrap().round.as_deref(),
        Some("R1-2026")
    );
    let facts = exported(&store, vec![before.clone(), r1.clone()]);

    // Round 2's pack comes; then both records are returned.
    install_round(&store, &key, "R2-2026");
    let returns = Returns::from([(before.clone(), returned(1)), (r1.clone(), returned(1))]);
    purge(&store, &facts, &returns);
    for (id, round) in [(&r1, Some("R1-2026")), (&before, None)] {
        let d = store.load_draft(id).unwrap();
        assert_eq!(d.round.as_deref(), round, "the draft keeps its round");
        let values = serde_json::Map::from_iter([("site_name".to_string(), json!("fixed"))]);
        store.finalize(&d, &values, "later", FORM).unwrap();
        let record = outbox_json(&store, &dm, id);
        assert_eq!(
            (record["version"].clone(), record["supersedes"].clone()),
            (json!(2), json!(1))
        );
        // The same assessment: its first version's round, not the pack's.
        assert_eq!(
            record.get("round").and_then(|r| r.as_str()),
            round,
            "{record}"
        );
    }
    // A new record is of round 2.
    let r2 = finalize("Ban Phon");
    assert_eq!(outbox_json(&store, &dm, &r2)["round"], "R2-2026");
}
