//! Nothing from a bundle, a receipt or a file name reaches the terminal
//! as a control sequence: a tampered bundle once erased its own BAD lines
//! (`ESC [1A ESC [2K`) and drew a fake "ok" line. Every command prints
//! through `fieldkit::printable`; these tests look at the bytes it wrote.

use std::path::Path;

use fieldkit::bundle::{self, Outgoing, Plan};
use ssh_key::rand_core::OsRng;

use crate::support::{fieldkit, stderr};

/// A cursor-up, erase-line, carriage return and a fake verdict.
const ATTACK: &str = "\x1b[1A\x1b[2K\r\u{9b}2Kok \u{202e}";

fn assert_inert(out: &std::process::Output, what: &str) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let bad: Vec<char> = text
            .chars()
            .filter(|&c| fieldkit::printable::is_unsafe(c) && c != '\n')
            .collect();
        assert!(bad.is_empty(), "{what}: {stream} holds {bad:?}:\n{text}");
    }
}

/// A bundle signed by a fresh key whose manifest's names carry `ATTACK`.
fn hostile_bundle(dir: &Path) -> std::path::PathBuf {
    let key = ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap();
    let dm = age::x25519::Identity::generate().to_public();
    let id = "01a00000-0000-7000-8000-000000000001";
    let record = Outgoing {
        record_id: id.into(),
        form_id: format!("form{ATTACK}"),
        form_version: format!("1{ATTACK}"),
        form_sha256: bundle::sha256_hex(b"form"),
        finalized_at: format!("2026-11-22{ATTACK}"),
        ciphertext: fieldkit::crypt::encrypt_to(&[dm], b"{}").unwrap(),
    };
    let forms = vec![(
        record.form_id.clone(),
        record.form_version.clone(),
        record.form_sha256.clone(),
        b"form".to_vec(),
    )];
    let records = [record];
    let enumerator = format!("enum-03{ATTACK}");
    let device = format!("dev{ATTACK}");
    let plan = Plan {
        enumerator_id: &enumerator,
        device_id: &device,
        sequence: 1,
        prev_manifest_sha256: bundle::NO_PREVIOUS,
        records: &records,
        forms: &forms,
    };
    let built = bundle::build(&plan, &key).unwrap();
    let path = dir.join(format!("bundle{ATTACK}.zip"));
    std::fs::write(&path, &built.zip).unwrap();
    path
}

#[test]
fn verify_prints_no_control_sequence_from_a_hostile_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = hostile_bundle(dir.path());
    for extra in [&[][..], &["--json"][..]] {
        let mut args = vec!["verify", bundle.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = fieldkit(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_inert(&out, "verify");
        // The names are still shown, escaped.
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("\\x1b[1A") || text.contains("\\u001b[1A"),
            "{text}"
        );
    }
    // A receipt for it is refused, just as quietly.
    let out = fieldkit(&[
        "receipt",
        bundle.to_str().unwrap(),
        "--key",
        "keys/demo/supervisor",
        "--out",
        dir.path().join("r.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_inert(&out, "receipt");
}

#[test]
fn errors_naming_a_hostile_file_print_no_control_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(format!("receipt{ATTACK}.json"));
    let out = fieldkit(&["ack", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("\\x1b[2K"), "{}", stderr(&out));
    assert_inert(&out, "ack");
    std::fs::write(
        &missing,
        format!("{{\"receipt\": \"{ATTACK}\"}}").replace('\x1b', "\\u001b"),
    )
    .unwrap();
    let out = fieldkit(&["ack", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_inert(&out, "ack of a bad receipt");
}
