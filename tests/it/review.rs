//! `fieldkit review` through the real binary: bundles exported by a real
//! profile, verdicts from a file (`--verdicts`) written into signed
//! receipts (checked with `ssh-keygen -Y verify`, format 2, the verdicts
//! as given), bad verdicts files refused with nothing written, a tampered
//! bundle named and not reviewed while the others are, and the screen in
//! a real terminal (tmux): approve one record, return one with a comment.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::bundle::{export, unzip, with_records};
use crate::support::{Enumerator, Tmux, have, repo, stderr};

/// On the review screen: `r` returns the record in view (the prompt for
/// what to correct taken as it stands), then `w` writes the receipt and
/// the command exits 0.
pub(crate) fn return_and_write(t: &Tmux) {
    t.send("r", &[]);
    assert!(
        t.wait_for("what should the enumerator correct"),
        "{}",
        t.screen()
    );
    t.send("", &["Enter"]);
    assert!(t.wait_for("Verdict: returned"), "{}", t.screen());
    t.send("w", &[]);
    assert!(t.wait_for("EXIT=0"), "{}", t.screen());
}

/// The record ids of a bundle, in manifest order.
fn record_ids(bundle: &Path) -> Vec<String> {
    let manifest: Value = serde_json::from_slice(&unzip(bundle, "manifest.json")).unwrap();
    manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record_id"].as_str().unwrap().to_string())
        .collect()
}

fn bundle_id(bundle: &Path) -> String {
    let manifest: Value = serde_json::from_slice(&unzip(bundle, "manifest.json")).unwrap();
    manifest["bundle_id"].as_str().unwrap().to_string()
}

fn supervisor_key() -> PathBuf {
    repo().join("keys/demo/supervisor")
}

/// `fieldkit review BUNDLES --key demo --signers S --out OUT [extra]`.
fn review(bundles: &[&Path], signers: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = crate::support::command(&["review"]);
    cmd.args(bundles)
        .arg("--key")
        .arg(supervisor_key())
        .arg("--signers")
        .arg(signers)
        .arg("--out")
        .arg(out)
        .args(extra);
    cmd.output().expect("run fieldkit")
}

/// The receipt inside a receipt file: its signed text and signature.
fn receipt_parts(file: &Path) -> (String, String) {
    let outer: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    (
        outer["receipt"].as_str().unwrap().to_string(),
        outer["signature"].as_str().unwrap().to_string(),
    )
}

/// `ssh-keygen -Y verify` of a receipt against the shipped supervisors file.
fn ssh_keygen_verifies(file: &Path, dir: &Path) -> bool {
    let (text, signature) = receipt_parts(file);
    let sig = dir.join("receipt.sig");
    std::fs::write(&sig, signature).unwrap();
    let mut child = std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(repo().join("keys/supervisors"))
        .args(["-I", "demo-supervisor", "-n", "fieldkit-receipt", "-s"])
        .arg(&sig)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        eprintln!("{}", stderr(&out));
    }
    out.status.success()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Err(_) => Vec::new(),
        Ok(list) => list.map(|e| e.unwrap().path()).collect(),
    }
}

/// An enumerator with two bundles of `n` records each.
fn two_bundles(n: usize) -> (Enumerator, PathBuf, PathBuf, PathBuf) {
    let (e, signers) = with_records(n);
    let usb = e.dir.path().join("usb");
    let first = export(&e, &usb);
    let input: String = (0..n)
        .map(|_| crate::cli::readme_fill_example() + "\n")
        .collect();
    let out = e.fill("dtm_flow_monitoring", &input, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = export(&e, &usb);
    (e, signers, first, second)
}

#[test]
fn verdicts_file_writes_signed_receipts_with_the_verdicts() {
    let (e, signers, first, second) = two_bundles(3);
    let ids = record_ids(&first);
    let other = record_ids(&second);
    let verdicts = json!([
        {"record_id": ids[0], "decision": "approved"},
        {"record_id": ids[1], "decision": "returned",
         "comments": [{"field": "age", "text": "16 and travelling alone? check the age"},
                      {"field": "destination_place", "text": "ask for the district"}]},
        {"record_id": other[0], "decision": "returned", "note": "the group size is missing"},
    ]);
    let file = e.dir.path().join("verdicts.json");
    std::fs::write(&file, verdicts.to_string()).unwrap();
    let out_dir = e.dir.path().join("receipts");
    let out = review(
        &[&first, &second],
        &signers,
        &out_dir,
        &["--verdicts", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect();
    assert_eq!(
        printed,
        [
            out_dir.join(format!("{}.receipt.json", bundle_id(&first))),
            out_dir.join(format!("{}.receipt.json", bundle_id(&second))),
        ]
    );
    let (text, _) = receipt_parts(&printed[0]);
    let receipt: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(receipt["format"], "fieldkit-receipt/2");
    assert_eq!(receipt["bundle_id"], bundle_id(&first).as_str());
    assert_eq!(
        receipt["verdicts"],
        json!([
            {"record_id": ids[0], "version": 1, "decision": "approved"},
            {"record_id": ids[1], "version": 1, "decision": "returned",
             "comments": [{"field": "age", "text": "16 and travelling alone? check the age"},
                          {"field": "destination_place", "text": "ask for the district"}]},
        ]),
        "the third record of the bundle has no verdict: received, not reviewed"
    );
    let (text, _) = receipt_parts(&printed[1]);
    let receipt: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        receipt["verdicts"],
        json!([{"record_id": other[0], "version": 1, "decision": "returned",
                "note": "the group size is missing"}])
    );
    // fieldkit reads them as genuine receipts, and so does ssh-keygen.
    for p in &printed {
        let (r, _) = fieldkit::bundle::receipt::genuine(&std::fs::read(p).unwrap()).unwrap();
        assert_eq!(r.enumerator_id, "enum-03");
        if have("ssh-keygen", "review::verdicts_file_writes_signed_receipts") {
            assert!(ssh_keygen_verifies(p, e.dir.path()), "{}", p.display());
        }
    }
    // Never overwritten: the same again is refused, the files unchanged.
    let before = std::fs::read(&printed[0]).unwrap();
    let out = review(
        &[&first, &second],
        &signers,
        &out_dir,
        &["--verdicts", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&printed[0]).unwrap(), before);
}

#[test]
fn bad_verdicts_files_write_nothing() {
    let (e, signers) = with_records(2);
    let usb = e.dir.path().join("usb");
    let bundle = export(&e, &usb);
    let ids = record_ids(&bundle);
    let cases = [
        (
            json!([{"record_id": "0190f3a2-1b2c-7def-8123-000000000000", "decision": "approved"}]),
            "is not in the bundles given",
        ),
        (
            json!([{"record_id": ids[0], "decision": "returned"}]),
            "returned without a note or a comment",
        ),
        (
            json!([{"record_id": ids[0], "decision": "returned",
                    "comments": [{"field": "no_such_question", "text": "?"}]}]),
            "not a field of form dtm_flow_monitoring",
        ),
        (
            json!([{"record_id": ids[0], "decision": "approved"},
                   {"record_id": ids[0], "decision": "returned", "note": "x"}]),
            "two verdicts",
        ),
        (
            json!({"record_id": ids[0]}),
            "cannot read the verdicts file",
        ),
    ];
    for (i, (given, says)) in cases.iter().enumerate() {
        let file = e.dir.path().join(format!("verdicts-{i}.json"));
        std::fs::write(&file, given.to_string()).unwrap();
        let out_dir = e.dir.path().join(format!("receipts-{i}"));
        let out = review(
            &[&bundle],
            &signers,
            &out_dir,
            &["--verdicts", file.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(2), "{given}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{given}: {}", stderr(&out));
        assert!(files_in(&out_dir).is_empty(), "{given}: nothing written");
    }
}

#[test]
fn a_tampered_bundle_is_named_and_not_reviewed() {
    let (e, signers, first, second) = two_bundles(2);
    // A byte of a record file changed in the second bundle.
    let mut bytes = std::fs::read(&second).unwrap();
    let ids = record_ids(&second);
    let name = format!("records/{}.age", ids[0]);
    // Its name is in the manifest, then in its local header, right
    // before its bytes.
    let at = bytes
        .windows(name.len())
        .enumerate()
        .filter(|(_, w)| *w == name.as_bytes())
        .nth(1)
        .unwrap()
        .0
        + name.len()
        + 60;
    bytes[at] ^= 0x01;
    let tampered = e.dir.path().join("tampered.zip");
    std::fs::write(&tampered, &bytes).unwrap();
    let verdicts = json!([{"record_id": record_ids(&first)[0], "decision": "approved"}]);
    let file = e.dir.path().join("verdicts.json");
    std::fs::write(&file, verdicts.to_string()).unwrap();
    let out_dir = e.dir.path().join("receipts");
    let out = review(
        &[&first, &tampered],
        &signers,
        &out_dir,
        &["--verdicts", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("tampered.zip: not reviewed"), "{said}");
    assert!(
        said.contains(&format!("tampered.zip: {name}")) || said.contains("hash mismatch"),
        "the problem is named: {said}"
    );
    assert_eq!(
        files_in(&out_dir),
        [out_dir.join(format!("{}.receipt.json", bundle_id(&first)))]
    );
    // A verdict on a record of the tampered bundle names it unknown.
    let verdicts = json!([{"record_id": ids[1], "decision": "approved"}]);
    std::fs::write(&file, verdicts.to_string()).unwrap();
    let out = review(
        &[&first, &tampered],
        &signers,
        &e.dir.path().join("receipts-2"),
        &["--verdicts", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is not in the bundles given"));
}

#[test]
fn the_screen_approves_one_returns_one_with_a_comment_and_writes() {
    if !have("tmux", "review::the_screen") {
        return;
    }
    let (e, signers, first, second) = two_bundles(1);
    let out_dir = e.dir.path().join("receipts");
    let command = format!(
        "cd {} && FIELDKIT_NOW=2026-11-22T09:00:00+07:00 {} review {} {} --key {} --signers {} --out {}; \
         echo EXIT=$?; sleep 30",
        repo().display(),
        env!("CARGO_BIN_EXE_fieldkit"),
        first.display(),
        second.display(),
        supervisor_key().display(),
        signers.display(),
        out_dir.display()
    );
    let t = Tmux::start("review", &command, 80, 24);
    assert!(t.wait_for("2 record(s)"), "{}", t.screen());
    // Approve the first from the list.
    t.send("a", &[]);
    assert!(t.wait_for("1 verdict(s)"), "{}", t.screen());
    // Open the second, comment on its first question, return it.
    t.send("", &["Down", "Enter"]);
    assert!(t.wait_for("Answers marked for review"), "{}", t.screen());
    // Labelled answers; never an answer the form does not mark.
    assert!(t.screen().contains("How old are you?"), "{}", t.screen());
    t.send("", &["End"]);
    assert!(t.wait_for("▸"), "{}", t.screen());
    assert!(!t.screen().contains("Bangkok"), "{}", t.screen());
    t.send("", &["Home"]);
    t.send("c", &[]);
    assert!(t.wait_for("Comment on"), "{}", t.screen());
    t.send("ກວດຄືນ please", &["Enter"]);
    assert!(t.wait_for("✎"), "{}", t.screen());
    return_and_write(&t);
    let ids = (record_ids(&first), record_ids(&second));
    let receipt = |bundle: &Path| -> Value {
        let file = out_dir.join(format!("{}.receipt.json", bundle_id(bundle)));
        serde_json::from_str(&receipt_parts(&file).0).unwrap()
    };
    assert_eq!(
        receipt(&first)["verdicts"],
        json!([{"record_id": ids.0[0], "version": 1, "decision": "approved"}])
    );
    let second_receipt = receipt(&second);
    let verdict = &second_receipt["verdicts"][0];
    assert_eq!(verdict["record_id"], ids.1[0].as_str());
    assert_eq!(verdict["decision"], "returned");
    assert_eq!(verdict["comments"][0]["text"], "ກວດຄືນ please");
    assert!(verdict["comments"][0]["field"].as_str().is_some());
}
