//! Attachments on real sled stores with real age: sealed to the profile
//! (no plaintext on disk), replaced and removed, finalized to the
//! deployment only and named by the record, purged with their draft.

use serde_json::{Map, Value, json};

use super::super::tests::{FORM, draft, exported, fresh};
use crate::crypt;
use crate::store::{State, StoreError};

const NOW: &str = "2026-11-22T09:00:00+07:00";

/// A file's bytes with a canary that must never be on disk in plain text.
fn canary_file(tag: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..2000 {
        bytes.extend_from_slice(format!("CANARY-{tag}-{i:05}\n").as_bytes());
    }
    bytes
}

fn files_hold(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn an_attachment_is_sealed_to_the_profile_and_replaced_and_removed() {
    let (dir, store, _) = fresh();
    let d = draft("Ban Nong");
    store.save_draft(&d, "").unwrap();
    let bytes = canary_file("a1");
    store.attach(&d.id, "photo-aaaa.jpg", &bytes, NOW).unwrap();
    assert_eq!(
        *store.draft_attachment(&d.id, "photo-aaaa.jpg").unwrap(),
        bytes
    );
    assert!(files_hold(dir.path(), b"CANARY-a1").is_empty());
    // Nor its name, which holds a hash of the file.
    assert!(files_hold(dir.path(), b"photo-aaaa").is_empty());
    // Replaced: the new one kept, the old one removed.
    store.detach(&d.id, "photo-aaaa.jpg", NOW).unwrap();
    store
        .attach(&d.id, "photo-bbbb.jpg", &canary_file("b2"), NOW)
        .unwrap();
    assert_eq!(store.attachment_names(&d.id).unwrap(), ["photo-bbbb.jpg"]);
    assert_eq!(
        store.attachment_sizes(&d.id).unwrap(),
        [("photo-bbbb.jpg".to_string(), canary_file("b2").len() as u64)]
    );
    assert!(matches!(
        store.draft_attachment(&d.id, "photo-aaaa.jpg"),
        Err(StoreError::NotFound(_))
    ));
    assert!(files_hold(dir.path(), b"CANARY-b2").is_empty());
    // A path is never a name.
    assert!(store.attach(&d.id, "../x.jpg", b"x", NOW).is_err());
    // Deleting the draft deletes its attachments.
    store.delete_draft(&d.id, NOW).unwrap();
    assert!(store.attachment_names(&d.id).unwrap().is_empty());
}

#[test]
fn finalizing_encrypts_named_attachments_to_the_deployment_and_drops_the_rest() {
    let (_dir, store, dm) = fresh();
    let d = draft("Ban Nong");
    store.save_draft(&d, "").unwrap();
    let photo = canary_file("p");
    store.attach(&d.id, "photo-1234.jpg", &photo, NOW).unwrap();
    store
        .attach(&d.id, "old-9999.jpg", b"left over", NOW)
        .unwrap();
    let values: Map<String, Value> = Map::from_iter([
        ("site_name".to_string(), json!("Ban Nong")),
        ("visits".to_string(), json!([{ "photo": "photo-1234.jpg" }])),
    ]);
    store.finalize(&d, &values, NOW, FORM).unwrap();
    let kept = store.record_attachments(&d.id).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        store.attachment_sizes(&d.id).unwrap(),
        [("photo-1234.jpg".to_string(), photo.len() as u64)]
    );
    assert_eq!(kept[0].0, "photo-1234.jpg");
    assert_eq!(*crypt::decrypt_with(&dm, &kept[0].1).unwrap(), photo);
    assert!(crypt::decrypt_with(&store.profile().identity, &kept[0].1).is_err());
    let record: Value = serde_json::from_slice(
        &crypt::decrypt_with(&dm, &store.outbox_record(&d.id).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        record["attachments"],
        json!([{
            "name": "photo-1234.jpg",
            "size": photo.len(),
            "sha256": crypt::sha256_hex(&photo),
        }])
    );
    // A finalized record's attachments cannot be changed.
    assert!(matches!(
        store.attach(&d.id, "photo-5678.jpg", b"x", NOW),
        Err(StoreError::NotADraft {
            state: State::Outbox,
            ..
        })
    ));
    assert!(store.detach(&d.id, "photo-1234.jpg", NOW).is_err());
    assert!(store.draft_attachment(&d.id, "photo-1234.jpg").is_err());
}

#[test]
fn a_record_without_attachments_is_written_as_before() {
    let (_dir, store, dm) = fresh();
    let d = draft("Ban Nong");
    store.save_draft(&d, "").unwrap();
    store.finalize(&d, &Map::new(), NOW, FORM).unwrap();
    let record: Value = serde_json::from_slice(
        &crypt::decrypt_with(&dm, &store.outbox_record(&d.id).unwrap()).unwrap(),
    )
    .unwrap();
    assert!(record.get("attachments").is_none());
}

#[test]
fn a_receipt_purges_a_record_with_its_attachments() {
    let (_dir, store, _) = fresh();
    let d = draft("Ban Nong");
    store.save_draft(&d, "").unwrap();
    store
        .attach(&d.id, "photo-1234.jpg", b"photo", NOW)
        .unwrap();
    let values: Map<String, Value> =
        Map::from_iter([("photo".to_string(), json!("photo-1234.jpg"))]);
    store.finalize(&d, &values, NOW, FORM).unwrap();
    let facts = exported(&store, vec![d.id.clone()]);
    // Sent, not yet receipted: the attachment is still kept for export --again.
    assert_eq!(store.record_attachments(&d.id).unwrap().len(), 1);
    assert_eq!(store.purge_bundle(&facts, "sup", NOW).unwrap(), 1);
    assert!(store.attachment_names(&d.id).unwrap().is_empty());
}

#[test]
fn rescue_copies_attachments_with_their_records() {
    let (dir, store, dm) = fresh();
    let kept = draft("Ban Nong");
    store.save_draft(&kept, "").unwrap();
    store
        .attach(&kept.id, "photo-aaaa.jpg", b"draft photo", NOW)
        .unwrap();
    let done = draft("Ban Done");
    store.save_draft(&done, "").unwrap();
    store
        .attach(&done.id, "photo-bbbb.jpg", b"final photo", NOW)
        .unwrap();
    let values: Map<String, Value> =
        Map::from_iter([("photo".to_string(), json!("photo-bbbb.jpg"))]);
    store.finalize(&done, &values, NOW, FORM).unwrap();
    let home = store.home.clone();
    let profile =
        crate::store::profile::unlock(&home, &crypt::passphrase("correct horse battery")).unwrap();
    drop(store);
    let out = dir.path().join("rescued");
    let report = crate::store::rescue::rescue(&home, Ok(&profile), &out).unwrap();
    assert!(report.opened);
    assert_eq!(report.attachments.len(), 2, "{report:?}");
    let read =
        |id: &str, name: &str| std::fs::read(out.join(format!("media/{id}/{name}.age"))).unwrap();
    let draft_photo = read(&kept.id, "photo-aaaa.jpg");
    assert_eq!(
        *crypt::decrypt_with(&dm, &draft_photo).unwrap(),
        b"draft photo"
    );
    assert_eq!(
        *crypt::decrypt_with(&profile.identity, &draft_photo).unwrap(),
        b"draft photo"
    );
    let final_photo = read(&done.id, "photo-bbbb.jpg");
    assert_eq!(
        *crypt::decrypt_with(&dm, &final_photo).unwrap(),
        b"final photo"
    );
}

#[test]
fn a_record_naming_an_attachment_not_kept_is_not_finalized() {
    let (_dir, store, _) = fresh();
    let d = draft("Ban Nong");
    store.save_draft(&d, "").unwrap();
    store
        .attach(&d.id, "photo-1234.jpg", b"photo", NOW)
        .unwrap();
    assert!(
        store
            .check_attachments(&d.id, &["photo-1234.jpg".to_string()])
            .is_ok()
    );
    let e = store
        .check_attachments(&d.id, &["photo-1234.jpg".into(), "voice-99.m4a".into()])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("'voice-99.m4a', which this laptop does not keep; attach"),
        "{e}"
    );
}
