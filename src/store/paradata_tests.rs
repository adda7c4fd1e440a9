//! A draft's paradata in the real store: saved alone without an audit
//! event and never for a draft not stored, carried into the finalized
//! record (encrypted with it), absent from records made without the
//! screen, and not kept for a correction.

use serde_json::{Map, Value};

use super::paradata::DraftParadata;
use super::tests::{FORM, draft, exported, fresh, outbox_json, purge};
use super::*;
use crate::form::dates::parse_datetime;

fn timed(answer: &str) -> Draft {
    let start = parse_datetime("2026-11-22T09:00:00+07:00", 0).unwrap();
    let mut d = draft(answer);
    let mut p = DraftParadata::new(start);
    p.tick(start, Some("site_name"));
    p.answered("site_name", false);
    p.tick(start, Some("site_type"));
    p.tick(start, Some("site_name"));
    p.answered("site_name", true);
    let later = crate::form::dates::DateTime {
        epoch_ms: start.epoch_ms + 42_400,
        ..start
    };
    p.tick(later, Some("members[2]/age"));
    d.paradata = Some(p);
    d
}

fn values(d: &Draft) -> Map<String, Value> {
    d.answers.clone()
}

#[test]
fn paradata_alone_is_saved_without_an_audit_event_and_never_makes_a_draft() {
    let (_dir, store, _) = fresh();
    let d = timed("Ban Nong");
    assert!(matches!(
        store.save_draft_paradata(&d),
        Err(StoreError::NotFound(_))
    ));
    assert!(store.listing().unwrap().is_empty());
    store.save_draft(&draft("Ban Nong"), "site_name").unwrap();
    let mut stored = timed("Ban Nong");
    stored.id = store.listing().unwrap()[0].id.clone();
    let events = store.audit().unwrap().len();
    store.save_draft_paradata(&stored).unwrap();
    assert_eq!(store.audit().unwrap().len(), events);
    let back = store.load_draft(&stored.id).unwrap();
    let p = back.paradata.expect("paradata read back");
    assert_eq!(p.questions[0].field, "site_name");
    assert_eq!((p.questions[0].ms, p.questions[0].changes), (42_400, 1));
}

#[test]
fn the_finalized_record_carries_its_paradata_and_a_record_without_none() {
    let (_dir, store, dm) = fresh();
    let d = timed("Ban Nong");
    store.save_draft(&d, "site_name").unwrap();
    let end = "2026-11-22T09:30:00.000+07:00";
    store.finalize(&d, &values(&d), end, FORM).unwrap();
    let record = outbox_json(&store, &dm, &d.id);
    let p = &record["paradata"];
    assert_eq!(p["start"], "2026-11-22T09:00:00.000+07:00");
    assert_eq!(p["end"], end);
    assert_eq!(p["duration_s"], 42);
    assert_eq!(p["questions"][0]["field"], "site_name");
    assert_eq!(p["questions"][0]["seconds"], 42);
    assert_eq!(p["questions"][0]["changes"], 1);
    assert_eq!(p["questions"][0]["visits"], 2);
    assert_eq!(p["questions"][1]["field"], "site_type");
    assert_eq!(p["questions"][2]["field"], "members[2]/age");
    assert_eq!(p["questions"][2]["seconds"], 0);
    // After `attachments`, last.
    let keys: Vec<&String> = record.as_object().unwrap().keys().collect();
    assert_eq!(keys.last().map(|k| k.as_str()), Some("paradata"));
    // The answers kept for a correction leave it out: the record has it.
    let kept = store.kept(&d.id).unwrap().expect("answers kept");
    assert_eq!((kept.answers, kept.paradata), (d.answers.clone(), None));

    // `fill --finalize`: no screen, no paradata, not even a null.
    let plain = draft("Ban Phon");
    store
        .save_final(&plain, &values(&plain), end, FORM)
        .unwrap();
    let ct = store.outbox_record(&plain.id).unwrap();
    let text = crypt::decrypt_with(&dm, &ct).unwrap();
    assert!(!String::from_utf8_lossy(&text).contains("paradata"));
}

#[test]
fn a_returned_record_is_corrected_with_paradata_of_its_own() {
    let (_dir, store, _) = fresh();
    let d = timed("Ban Nong");
    store.save_draft(&d, "site_name").unwrap();
    store
        .finalize(&d, &values(&d), "2026-11-22T09:30:00.000+07:00", FORM)
        .unwrap();
    let facts = exported(&store, vec![d.id.clone()]);
    let returned = Returned {
        version: 1,
        by: "sup-01".into(),
        at: "2026-11-23T09:00:00+07:00".into(),
        note: String::new(),
        comments: Vec::new(),
    };
    let returns = Returns::from([(d.id.clone(), returned)]);
    purge(&store, &facts, &returns);
    let correction = store.load_draft(&d.id).unwrap();
    assert_eq!(correction.version, 2);
    assert_eq!(correction.answers, d.answers);
    assert_eq!(correction.paradata, None, "version 1's stays in version 1");
}
