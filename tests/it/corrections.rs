//! Corrections on the laptop through the real binary: two records
//! finalized and exported, a supervisor's receipt of format 2 (made here
//! as `fieldkit review --verdicts` makes one: the verdicts, signed with
//! the demo supervisor key) approving one and returning the other with a
//! note and a comment on a question; `ack` purges the first and makes the
//! second a draft "returned: to correct"; the enumerator corrects it on
//! the screen (tmux: the comment under its question) and finalizes; the
//! next bundle carries version 2 superseding 1, which the data manager
//! decrypts with the age CLI. The hostile receipts change nothing, and
//! neither the comments nor the corrected answer are ever readable in
//! the profile's files.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::bundle::{demo_receipt, export, unzip};
use crate::support::{Enumerator, canary, csv_rows, fill_ok, have, repo, stderr};
use crate::tui_e2e::Screen;
use fieldkit::bundle::receipt::{self, Comment, Decision, Receipt, Verdict};

const NOTE: &str = "CANARY-NOTE check the destination";
const COMMENT: &str = "CANARY-COMMENT write the city in full";
const FIXED: &str = "CANARY-FIXED Bangkok";

fn record(place: &str) -> String {
    let mut v: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    v["destination_place"] = json!(place);
    v.to_string()
}

/// An enumerator with two finalized records (destinations A and B) sent
/// in one bundle: the profile, the bundle, its record ids in order.
fn two_sent(id: &str) -> (Enumerator, PathBuf, Vec<String>) {
    let e = Enumerator::init(id);
    let input = format!(
        "{}\n{}\n",
        record("CANARY-PLACE-A"),
        record("CANARY-PLACE-B")
    );
    let out = e.fill("dtm_flow_monitoring", &input, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bundle = export(&e, &e.dir.path().join("usb"));
    let ids = manifest(&bundle)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record_id"].as_str().unwrap().to_string())
        .collect();
    (e, bundle, ids)
}

fn manifest(bundle: &Path) -> Value {
    serde_json::from_slice(&unzip(bundle, "manifest.json")).unwrap()
}

fn supervisor_key() -> ssh_key::PrivateKey {
    let text = std::fs::read_to_string(repo().join("keys/demo/supervisor")).unwrap();
    ssh_key::PrivateKey::from_openssh(text).unwrap()
}

/// The demo supervisor's receipt for `bundle` with `verdicts`: the
/// receipt `fieldkit receipt` writes, with the verdicts, signed again.
fn receipt_with(e: &Enumerator, bundle: &Path, verdicts: Vec<Verdict>, name: &str) -> PathBuf {
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let plain = e.dir.path().join(format!("{name}.v1.json"));
    let out = demo_receipt(bundle, &signers, &plain);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file: Value = serde_json::from_slice(&std::fs::read(&plain).unwrap()).unwrap();
    let mut r: Receipt = serde_json::from_str(file["receipt"].as_str().unwrap()).unwrap();
    r.format = Receipt::format_for(&verdicts).into();
    r.verdicts = verdicts;
    let path = e.dir.path().join(format!("{name}.json"));
    std::fs::write(&path, receipt::sign(&r, &supervisor_key()).unwrap()).unwrap();
    path
}

fn approved(id: &str) -> Verdict {
    Verdict {
        record_id: id.into(),
        version: 1,
        decision: Decision::Approved,
        comments: Vec::new(),
        note: String::new(),
    }
}

fn returned(id: &str, version: u32) -> Verdict {
    Verdict {
        record_id: id.into(),
        version,
        decision: Decision::Returned,
        comments: vec![Comment {
            field: "destination_place".into(),
            text: COMMENT.into(),
        }],
        note: NOTE.into(),
    }
}

/// `fieldkit status --json` once the screen has let the store go.
fn status_when_free(e: &Enumerator) -> Value {
    let free = crate::support::wait_until(|| e.run(&["status", "--json"]).status.code() == Some(0));
    assert!(free, "the store stays in use");
    e.status()
}

#[test]
fn a_returned_record_is_corrected_on_screen_and_sent_as_version_2() {
    let test = "a_returned_record_is_corrected_on_screen_and_sent_as_version_2";
    let (e, bundle, ids) = two_sent("enum-03");
    let [a, b] = [&ids[0], &ids[1]];
    let good = receipt_with(&e, &bundle, vec![approved(a), returned(b, 1)], "verdicts");

    let out = e.run(&["ack", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 approved, 1 returned: to correct, 0 received"),
        "{}",
        stderr(&out)
    );
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["returned"], json!([b]));
    assert_eq!(said["purged"], 1);
    assert_eq!(
        e.status(),
        json!({"drafts": 1, "outbox": 0, "sent": 0, "bundles": 0})
    );
    {
        let store = e.open();
        let listing = store.listing().unwrap();
        assert_eq!(listing.len(), 1, "the approved record is purged");
        assert_eq!(&listing[0].id, b);
        assert_eq!(listing[0].returned.as_deref(), Some(NOTE));
        assert_eq!((listing[0].version, listing[0].supersedes), (2, Some(1)));
        let draft = store.load_draft(b).unwrap();
        assert_eq!(draft.answers["destination_place"], "CANARY-PLACE-B");
    }
    canary(&e.home, "after ack", &[NOTE, COMMENT, "CANARY-PLACE"]);

    // The same receipt again: taken already, nothing changes.
    let out = e.run(&["ack", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already taken"), "{}", stderr(&out));
    assert_eq!(
        e.status(),
        json!({"drafts": 1, "outbox": 0, "sent": 0, "bundles": 0})
    );

    if !have("tmux", test) {
        return;
    }
    // ---- The enumerator corrects it on the screen.
    let s = Screen::start(&e, "corrections");
    let home = s.see("returned: to correct");
    assert!(home.contains("Supervisor: CANARY-NOTE"), "{}", s.shows());
    s.keys(&["Enter"]);
    s.at("Destination province or city");
    let page = s.see(&format!("» Supervisor: {COMMENT}"));
    let question = page
        .find("Destination province or city")
        .unwrap_or(usize::MAX);
    let comment = page.find(COMMENT).unwrap_or(0);
    assert!(
        question < comment,
        "the comment under its question; {}",
        s.shows()
    );
    s.keys(&["C-u"]);
    s.type_text(FIXED);
    s.keys(&["Enter"]);
    s.keys(&["C-f"]);
    s.see("Review before finalizing");
    s.see("Every required question is answered");
    s.keys(&["Enter"]);
    let home = s.see("Record finalized");
    assert!(home.contains("Drafts (0)"), "{}", s.shows());
    s.keys(&["q"]);
    s.wait_gone();
    assert_eq!(
        status_when_free(&e),
        json!({"drafts": 0, "outbox": 1, "sent": 0, "bundles": 0})
    );
    canary(&e.home, "after the correction", &[NOTE, COMMENT, FIXED]);

    // ---- The next bundle: version 2 of the same record, superseding 1.
    let next = export(&e, &e.dir.path().join("usb2"));
    let m = manifest(&next);
    let entries = m["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["record_id"], json!(b));
    assert_eq!(entries[0]["version"], 2);
    assert_eq!(entries[0]["supersedes"], 1);
    let signers = e.dir.path().join("allowed_signers");
    let out = crate::support::fieldkit(&[
        "verify",
        next.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    if !have("age", test) {
        return;
    }
    let path = entries[0]["path"].as_str().unwrap();
    let age_file = e.dir.path().join("record.age");
    std::fs::write(&age_file, unzip(&next, path)).unwrap();
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(repo().join("keys/demo/data-manager.key"))
        .arg(&age_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["record_id"], json!(b));
    assert_eq!(record["version"], 2);
    assert_eq!(record["supersedes"], 1);
    assert_eq!(record["values"]["destination_place"], FIXED);
    canary(&e.home, "after the export", &[NOTE, COMMENT, FIXED]);
}

/// Status, listing and audit length: what a refused receipt must leave.
fn snapshot(e: &Enumerator) -> (Value, usize, usize) {
    let status = e.status();
    let store = e.open();
    (
        status,
        store.listing().unwrap().len(),
        store.audit().unwrap().len(),
    )
}

#[test]
fn hostile_receipts_change_nothing() {
    let (e, bundle, ids) = two_sent("enum-03");
    let before = snapshot(&e);
    let refused = |path: &Path, says: &str| {
        let out = e.run(&["ack", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert_eq!(snapshot(&e), before, "{says}: nothing changed");
    };

    // A verdict on a record that was never in the bundle.
    let stranger = "01900000-0000-7000-8000-0000000000ff";
    let path = receipt_with(
        &e,
        &bundle,
        vec![approved(&ids[0]), returned(stranger, 1)],
        "stranger",
    );
    refused(
        &path,
        &format!("record {stranger} (version 1) names no record"),
    );

    // A verdict on a version the bundle did not carry.
    let path = receipt_with(&e, &bundle, vec![returned(&ids[1], 2)], "version");
    refused(&path, "(version 2) names no record");

    // A forged verdict: an approval turned into a return, the signature kept.
    let path = receipt_with(&e, &bundle, vec![approved(&ids[1])], "genuine");
    let mut file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let text = file["receipt"]
        .as_str()
        .unwrap()
        .replace("approved", "returned");
    file["receipt"] = json!(text);
    let forged = e.dir.path().join("forged.json");
    std::fs::write(&forged, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    refused(&forged, "forged or damaged receipt");

    // A receipt for another laptop's bundle (signed by a real supervisor).
    let (other, other_bundle, other_ids) = two_sent("enum-04");
    let theirs = receipt_with(
        &other,
        &other_bundle,
        vec![returned(&other_ids[0], 1)],
        "theirs",
    );
    refused(&theirs, "not of this laptop");

    // The genuine receipt is then taken.
    let path = receipt_with(&e, &bundle, vec![returned(&ids[1], 1)], "good");
    let out = e.run(&["ack", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0 approved, 1 returned: to correct, 1 received"),
        "{}",
        stderr(&out)
    );

    // `fill --record` corrects it too: the answers given over its own.
    let fix = json!({"destination_place": FIXED}).to_string();
    let out = e.fill(
        "dtm_flow_monitoring",
        &fix,
        &["--record", &ids[0], "--finalize"],
    );
    assert_eq!(out.status.code(), Some(2), "not a draft: {}", stderr(&out));
    assert!(stderr(&out).contains("is not a draft"), "{}", stderr(&out));
    let said = fill_ok(
        &e,
        "dtm_flow_monitoring",
        &fix,
        &["--record", &ids[1], "--finalize"],
    );
    assert_eq!(
        (&said["record_id"], &said["saved"]),
        (&json!(ids[1]), &json!("outbox"))
    );
    assert_eq!(said["values"]["destination_place"], FIXED);
    assert_eq!(
        said["values"]["age"],
        serde_json::from_str::<Value>(&record("x")).unwrap()["age"]
    );
    assert_eq!(
        e.status(),
        json!({"drafts": 0, "outbox": 1, "sent": 0, "bundles": 0})
    );
    let store = e.open();
    let l = &store.listing().unwrap()[0];
    assert_eq!(
        (l.version, l.supersedes, l.returned.clone()),
        (2, Some(1), None)
    );
    drop(store);
    canary(&e.home, "after fill --record", &[NOTE, COMMENT, FIXED]);
}

const PHOTO_FORM: &str = r#"
[settings]
form_id = "photo_check"
version = "1"

[[survey]]
type = "text"
name = "site"
label = "Site"
review = "yes"

[[survey]]
type = "image"
name = "photo"
label = "Photo of the site"
"#;

/// A returned record whose photo is taken again: both versions' photos
/// come out of aggregate, version 1's beside the version kept in
/// `versions/`, each byte for byte what was attached.
#[test]
fn every_version_keeps_its_attachments_in_the_tables_and_in_versions() {
    let e = Enumerator::init("enum-05");
    let dir = e.dir.path();
    let form = dir.join("photo_check.toml");
    std::fs::write(&form, PHOTO_FORM).unwrap();
    let (first_photo, second_photo) = (dir.join("first.jpg"), dir.join("second.jpg"));
    std::fs::write(&first_photo, vec![1u8; 40_000]).unwrap();
    std::fs::write(&second_photo, vec![2u8; 50_000]).unwrap();
    let line = json!({"site": "Ban Nong", "photo": first_photo.to_str().unwrap()});
    let filled = fill_ok(
        &e,
        form.to_str().unwrap(),
        &format!("{line}\n"),
        &["--finalize"],
    );
    let id = filled["record_id"].as_str().unwrap().to_string();
    let first_name = filled["values"]["photo"].as_str().unwrap().to_string();
    let first_bundle = export(&e, &dir.join("usb1"));

    let mut verdict = returned(&id, 1);
    verdict.comments[0].field = "photo".into();
    let receipt = receipt_with(&e, &first_bundle, vec![verdict], "photo");
    let out = e.run(&["ack", receipt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let fix = json!({"photo": second_photo.to_str().unwrap()});
    let said = fill_ok(
        &e,
        form.to_str().unwrap(),
        &format!("{fix}\n"),
        &["--record", &id, "--finalize"],
    );
    let second_name = said["values"]["photo"].as_str().unwrap().to_string();
    assert_ne!(first_name, second_name);
    let second_bundle = export(&e, &dir.join("usb2"));

    let tables = dir.join("tables");
    let signers = dir.join("allowed_signers");
    let out = crate::aggregate::aggregate(&tables, &[&first_bundle, &second_bundle], &signers, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let media = tables.join("media").join(&id);
    assert_eq!(
        std::fs::read(media.join(&second_name)).unwrap(),
        vec![2u8; 50_000]
    );
    assert_eq!(
        std::fs::read(media.join(&first_name)).unwrap(),
        vec![1u8; 40_000]
    );
    let cell = |csv: &Path| -> String {
        let rows = csv_rows(csv);
        let at = rows[0].iter().position(|h| h == "photo").unwrap();
        rows[1][at].clone()
    };
    assert_eq!(
        cell(&tables.join("photo_check.csv")),
        format!("media/{id}/{second_name}")
    );
    assert_eq!(
        cell(&tables.join("versions/photo_check.csv")),
        format!("media/{id}/{first_name}")
    );
}
