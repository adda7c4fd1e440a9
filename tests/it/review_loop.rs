//! The whole review loop through the real binary, as issue 21 tells it:
//! an enumerator finalizes two records and exports; the supervisor
//! reviews the bundle on the `fieldkit review` screen (tmux), approves one
//! and returns the other with a comment on a question it cannot even read
//! (the destination, not marked for review); the enumerator acks the
//! receipt and corrects the record on the screen (tmux), and exports
//! again; the supervisor approves the correction (`--verdicts`); the data
//! manager aggregates both bundles with both receipts: the tables hold
//! version 2 of the returned record and version 1 of the approved one,
//! `changes.csv` the edit with the supervisor's comment as its reason.
//! Along the way the supervisor's key never opens a record nor a field not
//! marked (age CLI), and the profile never holds a comment or an answer in
//! plain text.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::aggregate::aggregate;
use crate::bundle::{export, unzip};
use crate::review::return_and_write;
use crate::support::{
    Enumerator, Tmux, age_decrypt, canary, csv_rows, fieldkit, have, repo, stderr,
};
use crate::tui_e2e::Screen;

const COMMENT: &str = "LOOP-COMMENT write the city in full";
const FIXED: &str = "LOOP-FIXED Bangkok Metropolis";

fn record(place: &str) -> String {
    let mut v: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    v["destination_place"] = json!(place);
    v.to_string()
}

fn manifest(bundle: &Path) -> Value {
    serde_json::from_slice(&unzip(bundle, "manifest.json")).unwrap()
}

/// The demo supervisor key, as a file age accepts (private to its owner).
fn supervisor_key(dir: &Path) -> PathBuf {
    let key = dir.join("supervisor");
    std::fs::copy(repo().join("keys/demo/supervisor"), &key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    key
}

#[test]
fn finalize_review_return_correct_and_aggregate_every_version() {
    let test = "finalize_review_return_correct_and_aggregate_every_version";
    if !have("tmux", test) {
        return;
    }
    // ---- The enumerator: two records, one bundle.
    let e = Enumerator::init("enum-03");
    let input = format!("{}\n{}\n", record("LOOP-PLACE-A"), record("LOOP-PLACE-B"));
    let out = e.fill("dtm_flow_monitoring", &input, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = export(&e, &e.dir.path().join("usb1"));
    let ids: Vec<String> = manifest(&first)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record_id"].as_str().unwrap().to_string())
        .collect();
    let [a, b] = [&ids[0], &ids[1]];
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    canary(&e.home, "after export", &["LOOP-PLACE"]);

    // ---- The supervisor's key opens the review views, never a record,
    // and the views hold no destination (not marked for review).
    let key = supervisor_key(e.dir.path());
    if have("age", test) {
        for entry in manifest(&first)["entries"].as_array().unwrap() {
            let view = age_decrypt(
                e.dir.path(),
                &key,
                &unzip(&first, entry["review"]["path"].as_str().unwrap()),
            )
            .expect("the supervisor opens the review view");
            let view = String::from_utf8(view).unwrap();
            assert!(!view.contains("LOOP-PLACE"), "{view}");
            assert!(!view.contains("destination_place"), "{view}");
            let record = entry["path"].as_str().unwrap();
            assert!(age_decrypt(e.dir.path(), &key, &unzip(&first, record)).is_none());
        }
    }

    // ---- Review on the supervisor's screen: approve the first, return
    // the second with a comment on the destination (asked by name).
    let receipts = e.dir.path().join("receipts");
    let command = format!(
        "cd {} && {} review {} --key {} --signers {} --out {}; echo EXIT=$?; sleep 30",
        repo().display(),
        env!("CARGO_BIN_EXE_fieldkit"),
        first.display(),
        key.display(),
        signers.display(),
        receipts.display()
    );
    let t = Tmux::start("loop-review", &command, 80, 24);
    assert!(t.wait_for("2 record(s)"), "{}", t.screen());
    t.send("a", &[]);
    assert!(t.wait_for("1 verdict(s)"), "{}", t.screen());
    t.send("", &["Down", "Enter"]);
    assert!(t.wait_for("Answers marked for review"), "{}", t.screen());
    assert!(!t.screen().contains("LOOP-PLACE"), "{}", t.screen());
    t.send("f", &[]);
    t.send("destination_place", &["Enter"]);
    assert!(t.wait_for("Comment on"), "{}", t.screen());
    t.send(COMMENT, &["Enter"]);
    return_and_write(&t);
    let receipt1 = std::fs::read_dir(&receipts)
        .unwrap()
        .flatten()
        .map(|f| f.path())
        .next()
        .expect("a receipt written");

    // ---- The enumerator takes the receipt: one purged, one to correct.
    let out = e.run(&["ack", receipt1.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 approved, 1 returned: to correct"),
        "{}",
        stderr(&out)
    );
    canary(&e.home, "after ack", &[COMMENT, "LOOP-PLACE"]);

    // ---- The correction, on the enumerator's screen.
    let s = Screen::start(&e, "loop-correct");
    s.see("returned: to correct");
    s.keys(&["Enter"]);
    s.at("Destination province or city");
    s.see(COMMENT);
    s.keys(&["C-u"]);
    s.type_text(FIXED);
    s.keys(&["Enter"]);
    s.keys(&["C-f"]);
    s.see("Review before finalizing");
    s.keys(&["Enter"]);
    s.see("Record finalized");
    s.keys(&["q"]);
    s.wait_gone();
    let free = crate::support::wait_until(|| e.run(&["status", "--json"]).status.code() == Some(0));
    assert!(free, "the store stays in use");
    canary(
        &e.home,
        "after the correction",
        &[COMMENT, FIXED, "LOOP-PLACE"],
    );
    let second = export(&e, &e.dir.path().join("usb2"));
    let entry = &manifest(&second)["entries"][0];
    assert_eq!(
        (&entry["record_id"], &entry["version"], &entry["supersedes"]),
        (&json!(b), &json!(2), &json!(1))
    );

    // ---- The supervisor approves the correction (the scriptable way).
    let verdicts = e.dir.path().join("verdicts.json");
    std::fs::write(
        &verdicts,
        json!([{"record_id": b, "decision": "approved"}]).to_string(),
    )
    .unwrap();
    let receipts2 = e.dir.path().join("receipts2");
    let out = fieldkit(&[
        "review",
        second.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        "--out",
        receipts2.to_str().unwrap(),
        "--verdicts",
        verdicts.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // ---- The data manager: both bundles, both receipts.
    let tables = e.dir.path().join("tables");
    let out = aggregate(
        &tables,
        &[&first, &second],
        &signers,
        &[
            "--receipts",
            receipts.to_str().unwrap(),
            "--receipts",
            receipts2.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = csv_rows(&tables.join("dtm_flow_monitoring.csv"));
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (id, version, status, place) = (
        col("record_id"),
        col("version"),
        col("review_status"),
        col("grp_journey/destination_place"),
    );
    let mut got: Vec<(String, String, String, String)> = rows[1..]
        .iter()
        .map(|r| {
            (
                r[id].clone(),
                r[version].clone(),
                r[status].clone(),
                r[place].clone(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (
            a.clone(),
            "1".into(),
            "approved".into(),
            "LOOP-PLACE-A".into(),
        ),
        (b.clone(), "2".into(), "approved".into(), FIXED.into()),
    ];
    want.sort();
    assert_eq!(got, want);
    let changes = csv_rows(&tables.join("changes.csv"));
    let head = &changes[0];
    let at = |name: &str| head.iter().position(|h| h == name).unwrap();
    let edit: Vec<&Vec<String>> = changes[1..]
        .iter()
        .filter(|r| r[at("field")] == "destination_place")
        .collect();
    assert_eq!(edit.len(), 1, "{changes:?}");
    let edit = edit[0];
    assert_eq!(edit[at("record_id")], *b);
    assert_eq!(edit[at("version")], "2");
    assert_eq!(edit[at("old_value")], "LOOP-PLACE-B");
    assert_eq!(edit[at("new_value")], FIXED);
    assert_eq!(edit[at("who")], "enum-03");
    assert_eq!(edit[at("reason")], COMMENT);
    // The returned version 1 is kept aside, not lost.
    let aside = tables.join("versions/dtm_flow_monitoring.csv");
    let earlier = csv_rows(&aside);
    assert!(
        earlier[1..]
            .iter()
            .any(|r| r.contains(b) && r.contains(&"LOOP-PLACE-B".to_string())),
        "{earlier:?}"
    );
    canary(&e.home, "at the end", &[COMMENT, FIXED, "LOOP-PLACE"]);
}
