//! Bundles through the real binary: export to a folder, verify as a
//! supervisor (also with `ssh-keygen -Y verify`, `unzip -t` and `age -d`),
//! receipts and ack, sequence gaps and replays across bundles, and every
//! refusal with its message and exit code.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{Enumerator, have, repo, stderr};

fn record(place: &str) -> String {
    let mut v: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    v["destination_place"] = json!(place);
    v.to_string()
}

/// An enumerator with `n` finalized records, and a signers file listing them.
pub fn with_records(n: usize) -> (Enumerator, PathBuf) {
    let e = Enumerator::init("enum-03");
    let input: String = (0..n)
        .map(|i| record(&format!("place {i}")) + "\n")
        .collect();
    let out = e.fill("dtm_flow_monitoring", &input, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    (e, signers)
}

pub fn export(e: &Enumerator, usb: &Path) -> PathBuf {
    std::fs::create_dir_all(usb).unwrap();
    let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn verify(args: &[&str]) -> std::process::Output {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    crate::support::fieldkit(&all)
}

/// Runs `fieldkit receipt BUNDLE --signers S --key K --out OUT`.
fn make_receipt(bundle: &str, signers: &str, key: &str, out: &str) -> std::process::Output {
    crate::support::fieldkit(&[
        "receipt",
        bundle,
        "--signers",
        signers,
        "--key",
        key,
        "--out",
        out,
    ])
}

/// `ssh-keygen -Y verify` of a bundle's manifest as `principal` against
/// `signers`, with extra options (`-O verify-time=...`); `dir` holds the
/// signature file it needs.
pub fn ssh_keygen_verify(
    bundle: &Path,
    signers: &Path,
    principal: &str,
    dir: &Path,
    options: &[&str],
) -> std::process::Output {
    ssh_keygen_verify_as(bundle, signers, principal, "fieldkit-bundle", dir, options)
}

/// The same for any signed zip of fieldkit's (`manifest.json` and
/// `manifest.sig`: a bundle, a round pack) in `namespace`.
pub fn ssh_keygen_verify_as(
    bundle: &Path,
    signers: &Path,
    principal: &str,
    namespace: &str,
    dir: &Path,
    options: &[&str],
) -> std::process::Output {
    let sig = dir.join("manifest.sig");
    std::fs::write(&sig, unzip(bundle, "manifest.sig")).unwrap();
    let mut child = std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(signers)
        .args(["-I", principal, "-n", namespace])
        .args(options)
        .arg("-s")
        .arg(&sig)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        &unzip(bundle, "manifest.json"),
    )
    .unwrap();
    child.wait_with_output().unwrap()
}

/// The demo supervisor's receipt for `bundle`, checked against `signers`.
pub fn demo_receipt(bundle: &Path, signers: &Path, out: &Path) -> std::process::Output {
    make_receipt(
        bundle.to_str().unwrap(),
        signers.to_str().unwrap(),
        repo().join("keys/demo/supervisor").to_str().unwrap(),
        out.to_str().unwrap(),
    )
}

pub fn unzip(bundle: &Path, entry: &str) -> Vec<u8> {
    let entries = fieldkit::bundle::archive::read(&std::fs::read(bundle).unwrap())
        .unwrap()
        .into_iter()
        .find(|e| e.name == entry)
        .map(|e| e.data.to_vec());
    entries.unwrap_or_else(|| panic!("no {entry}"))
}

#[test]
fn export_verify_receipt_ack_round_trip() {
    let (e, signers) = with_records(3);
    let usb = e.dir.path().join("usb");
    let bundle = export(&e, &usb);
    assert!(bundle.is_file());
    assert_eq!(
        e.status(),
        json!({"drafts": 0, "outbox": 0, "sent": 3, "bundles": 1})
    );
    let names: Vec<String> = std::fs::read_dir(&usb)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");

    let out = verify(&[
        bundle.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("enum-03 bundle 1, 3 record(s)"));
    let out = verify(&[
        usb.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["bundles"][0]["records"], 3);

    // An empty outbox: said, nothing written.
    let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("outbox is empty"));
    assert_eq!(std::fs::read_dir(&usb).unwrap().count(), 1);

    // The supervisor's receipt, and the enumerator's ack.
    let receipt = e.dir.path().join("receipt.json");
    let out = make_receipt(
        bundle.to_str().unwrap(),
        signers.to_str().unwrap(),
        repo().join("keys/demo/supervisor").to_str().unwrap(),
        receipt.to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.run(&["ack", receipt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 record(s)"));
    assert_eq!(
        e.status(),
        json!({"drafts": 0, "outbox": 0, "sent": 0, "bundles": 0})
    );
    let store = e.open();
    // The purge, then the form text no record uses any more retired.
    let mut events = store.audit().unwrap();
    let retired = events.pop().unwrap();
    assert_eq!(retired.event, "form texts retired");
    let last = events.pop().unwrap();
    assert_eq!(last.event, "purged");
    assert!(last.detail.contains("demo-supervisor"), "{}", last.detail);
    drop(store);
    // The same receipt again: nothing left to purge.
    let out = e.run(&["ack", receipt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("matches no bundle"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_same_store_state_exports_the_same_bytes() {
    let (e, _) = with_records(2);
    let copy = e.dir.path().join("home-copy");
    crate::store::copy_dir(&e.home, &copy);
    let first = export(&e, &e.dir.path().join("a"));
    let twin = Enumerator {
        dir: tempfile::tempdir().unwrap(),
        home: copy,
        passphrase_file: e.passphrase_file.clone(),
        signers_line: String::new(),
    };
    let second = export(&twin, &e.dir.path().join("b"));
    assert_eq!(first.file_name(), second.file_name());
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
}

#[test]
fn bad_bundles_and_sequences_exit_1_with_each_problem_named() {
    let (e, signers) = with_records(1);
    let usb = e.dir.path().join("usb");
    let one = export(&e, &usb);
    for i in 0..2 {
        let out = e.fill(
            "dtm_flow_monitoring",
            &record(&format!("later {i}")),
            &["--finalize"],
        );
        assert_eq!(out.status.code(), Some(0));
        export(&e, &usb);
    }
    let s = signers.to_str().unwrap();
    let bundles: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&usb)
            .unwrap()
            .map(|d| d.unwrap().path())
            .collect();
        v.sort();
        v
    };
    assert_eq!(bundles.len(), 3);
    // All three: fine. Without the second: a gap, named.
    assert_eq!(
        verify(&[usb.to_str().unwrap(), "--signers", s])
            .status
            .code(),
        Some(0)
    );
    let out = verify(&[
        bundles[0].to_str().unwrap(),
        bundles[2].to_str().unwrap(),
        "--signers",
        s,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("enum-03: bundle 2 missing between 1 and 3"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A replayed old bundle next to its original.
    let replay = e.dir.path().join("replay.zip");
    std::fs::copy(&one, &replay).unwrap();
    let out = verify(&[
        one.to_str().unwrap(),
        replay.to_str().unwrap(),
        "--signers",
        s,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("replay"));
    // Unknown signer: the shipped signers file does not list this laptop.
    let out = verify(&[one.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unknown signer"));
    // A flipped byte.
    let mut bytes = std::fs::read(&one).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    let bad = e.dir.path().join("flipped.zip");
    std::fs::write(&bad, &bytes).unwrap();
    let out = verify(&[bad.to_str().unwrap(), "--signers", s]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("BAD"));
    // Unreadable: exit 2.
    let out = verify(&["/no/such/bundle.zip", "--signers", s]);
    assert_eq!(out.status.code(), Some(2));
    // No receipt for a bundle that does not verify.
    let receipt = e.dir.path().join("r.json");
    let out = make_receipt(
        bad.to_str().unwrap(),
        s,
        repo().join("keys/demo/supervisor").to_str().unwrap(),
        receipt.to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!receipt.exists());
}

#[test]
fn forged_and_unknown_receipts_purge_nothing() {
    let (e, signers) = with_records(2);
    let bundle = export(&e, &e.dir.path().join("usb"));
    let receipt = e.dir.path().join("receipt.json");
    // A receipt from a supervisor not in keys/supervisors.
    let stranger = e.dir.path().join("stranger");
    let out = crate::support::fieldkit(&[
        "keygen",
        "--role",
        "supervisor",
        "--out",
        stranger.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = make_receipt(
        bundle.to_str().unwrap(),
        signers.to_str().unwrap(),
        stranger.to_str().unwrap(),
        receipt.to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.run(&["ack", receipt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not in the supervisors file"),
        "{}",
        stderr(&out)
    );

    // A genuine receipt, altered to name another bundle.
    let genuine = e.dir.path().join("genuine.json");
    let out = make_receipt(
        bundle.to_str().unwrap(),
        signers.to_str().unwrap(),
        repo().join("keys/demo/supervisor").to_str().unwrap(),
        genuine.to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&genuine).unwrap();
    let forged = e.dir.path().join("forged.json");
    std::fs::write(
        &forged,
        text.replace("\\\"sequence\\\":1", "\\\"sequence\\\":2"),
    )
    .unwrap();
    assert_ne!(
        std::fs::read(&forged).unwrap(),
        text.as_bytes(),
        "the forgery changed something"
    );
    let out = e.run(&["ack", forged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("forged or damaged"),
        "{}",
        stderr(&out)
    );
    assert_eq!(e.status()["sent"], 2, "nothing purged");
    // Not a receipt at all.
    std::fs::write(&forged, "hello").unwrap();
    assert_eq!(
        e.run(&["ack", forged.to_str().unwrap()]).status.code(),
        Some(1)
    );
    assert_eq!(e.status()["sent"], 2);
}

/// The standard tools read what fieldkit writes: `unzip -t`, `ssh-keygen
/// -Y verify` on the manifest, `age -d` on a record with the demo key.
#[test]
fn standard_tools_check_a_bundle_without_fieldkit() {
    let (e, signers) = with_records(2);
    let bundle = export(&e, &e.dir.path().join("usb"));
    let test = "standard_tools_check_a_bundle_without_fieldkit";
    if have("unzip", test) {
        let out = std::process::Command::new("unzip")
            .arg("-t")
            .arg(&bundle)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("No errors detected"));
    }
    if have("ssh-keygen", test) {
        let out = ssh_keygen_verify(&bundle, &signers, "enum-03", e.dir.path(), &[]);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Good \"fieldkit-bundle\" signature")
        );
    }
    if have("age", test) {
        let manifest: Value = serde_json::from_slice(&unzip(&bundle, "manifest.json")).unwrap();
        let path = manifest["entries"][0]["path"].as_str().unwrap().to_string();
        let file = e.dir.path().join("record.age");
        std::fs::write(&file, unzip(&bundle, &path)).unwrap();
        let out = std::process::Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(repo().join("keys/demo/data-manager.key"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let record: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(record["record_id"], manifest["entries"][0]["record_id"]);
    }
}
