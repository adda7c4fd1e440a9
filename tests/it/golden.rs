//! Golden files of what people read: the real binary's output (stdout,
//! stderr and exit code) at each step of a round, and its messages for
//! the mistakes people make, kept as insta snapshots in `snapshots/`.
//! A change of wording shows up as a snapshot diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test golden` and
//! read the diff in git). Whatever differs from run to run (temp paths,
//! ids, keys, hashes, sizes) is replaced by a name in brackets first.

use std::path::Path;
use std::process::Output;

use crate::support::{Enumerator, fieldkit, repo};

/// Stdout, stderr and the exit code as one text, with what changes from
/// run to run named instead of shown.
fn shown(out: &Output, dir: &Path) -> String {
    // JSON lines pretty-printed, so that a diff shows the field changed.
    let stdout: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(
            |line| match serde_json::from_str::<serde_json::Value>(line) {
                Ok(v @ serde_json::Value::Object(_)) => {
                    serde_json::to_string_pretty(&v).unwrap() + "\n"
                }
                _ => format!("{line}\n"),
            },
        )
        .collect();
    let text = format!(
        "exit: {:?}\n--- stdout\n{stdout}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    redact(&text, dir)
}

fn redact(text: &str, dir: &Path) -> String {
    let mut text = text.replace(&dir.display().to_string(), "[dir]");
    text = text.replace(&repo().display().to_string(), "[repo]");
    let rules: &[(&str, &str)] = &[
        // An SSH public key, an age recipient or identity.
        (r"ssh-ed25519 AAAA[A-Za-z0-9+/=]+", "ssh-ed25519 [key]"),
        (r"age1[0-9a-z]{58}", "[recipient]"),
        (r"SHA256:[A-Za-z0-9+/=]{43}", "SHA256:[fingerprint]"),
        // Record, device and other ids.
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uuid]",
        ),
        // Hashes: long hex; a bundle's name and id carry a short one.
        (r"\b[0-9a-f]{16,64}\b", "[hex]"),
        (r"-[0-9a-f]{8}-(\d{6})\.zip\b", "-[device]-$1.zip"),
        (r"-(\d{6})-[0-9a-f]{12}\b", "-$1-[hex]"),
        // Byte counts and sizes vary with compression and keys.
        (r"\b\d+(\.\d+)? ?(bytes|B|KiB|MiB|KB|MB)\b", "[size]"),
        // Times the clock gives other than FIELDKIT_NOW (file times).
        (r"\d+(\.\d+)? ?s\b", "[secs]"),
    ];
    for (pattern, name) in rules {
        text = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, *name)
            .into_owned();
    }
    text
}

fn snapshot(name: &str, out: &Output, dir: &Path) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, shown(out, dir)));
}

fn flow_record(place: &str) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    v["destination_place"] = serde_json::json!(place);
    v.to_string() + "\n"
}

/// A round as the README tells it: init, fill (one record with a mistake,
/// two that finalize), status, export, verify, receipt, ack, aggregate.
#[test]
fn a_round_reads_the_same() {
    let e = Enumerator::init("enum-07");
    let dir = e.dir.path();
    let signers = dir.join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();

    let mut wrong: serde_json::Value =
        serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    wrong["age"] = serde_json::json!(12);
    let out = e.fill(
        "dtm_flow_monitoring",
        &format!("{wrong}\n"),
        &["--finalize"],
    );
    snapshot("round_1_fill_with_a_mistake", &out, dir);

    let both = flow_record("Vientiane") + &flow_record("Pakse");
    let out = e.fill("dtm_flow_monitoring", &both, &["--finalize"]);
    snapshot("round_2_fill_finalize", &out, dir);

    snapshot("round_3_status", &e.run(&["status"]), dir);

    let usb = dir.join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let out = e.run(&["export", "--out", &s(&usb)]);
    snapshot("round_4_export", &out, dir);
    let bundle = std::fs::read_dir(&usb)
        .unwrap()
        .map(|d| d.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "zip"))
        .expect("a bundle on the stick");

    let out = fieldkit(&["verify", "--signers", &s(&signers), &s(&bundle)]);
    snapshot("round_5_verify", &out, dir);

    let receipt = dir.join("receipt.json");
    let out = crate::bundle::demo_receipt(&bundle, &signers, &receipt);
    snapshot("round_6_receipt", &out, dir);

    let out = e.run(&["ack", &s(&receipt)]);
    snapshot("round_7_ack", &out, dir);

    let tables = dir.join("tables");
    let key = repo().join("keys/demo/data-manager.key");
    let out = fieldkit(&[
        "aggregate",
        "--identity",
        &s(&key),
        "--out",
        &s(&tables),
        "--signers",
        &s(&signers),
        &s(&bundle),
    ]);
    snapshot("round_8_aggregate", &out, dir);

    snapshot("round_9_status_after", &e.run(&["status"]), dir);
}

/// The messages for the mistakes people make, each with what to do.
#[test]
fn mistakes_are_said_the_same() {
    let e = Enumerator::init("enum-08");
    let dir = e.dir.path();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let signers = dir.join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();

    let out = e.fill("no_such_form", "{}\n", &[]);
    snapshot("mistake_unknown_form", &out, dir);

    let out = e.fill("dtm_flow_monitoring", "{\"a\": 1,,}\n[1]\n", &["--dry-run"]);
    snapshot("mistake_answers_not_json", &out, dir);

    let wrong = dir.join("wrong-pass");
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    let out = crate::support::command(&[
        "--home",
        &s(&e.home),
        "--passphrase-file",
        &s(&wrong),
        "export",
        "--out",
        &s(dir),
    ])
    .output()
    .unwrap();
    snapshot("mistake_wrong_passphrase", &out, dir);

    let out = fieldkit(&["status", "--home", &s(&dir.join("nobody"))]);
    snapshot("mistake_no_profile", &out, dir);

    let out = e.run(&["init", "--enumerator", "enum-08", "--name", "Again"]);
    snapshot("mistake_init_twice", &out, dir);

    let out = e.run(&["export", "--out", &s(&dir.join("no-stick"))]);
    snapshot("mistake_export_to_a_missing_folder", &out, dir);

    let empty = dir.join("empty-stick");
    std::fs::create_dir_all(&empty).unwrap();
    let out = e.run(&["export", "--out", &s(&empty)]);
    snapshot("mistake_export_with_nothing_to_send", &out, dir);

    // A bundle with one byte changed, and one checked without signers.
    e.fill(
        "dtm_flow_monitoring",
        &flow_record("Thakhek"),
        &["--finalize"],
    );
    let usb = dir.join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let out = e.run(&["export", "--out", &s(&usb)]);
    assert_eq!(out.status.code(), Some(0));
    let bundle = std::fs::read_dir(&usb)
        .unwrap()
        .map(|d| d.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "zip"))
        .unwrap();
    let out = fieldkit(&["verify", &s(&bundle)]);
    snapshot("mistake_verify_without_signers", &out, dir);
    let other = dir.join("other_signers");
    std::fs::write(
        &other,
        "enum-99 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBSDyKwHX3tqVtW0kdC8ZyUhq5wDBTw0DkU9Qbjx2Vf1\n",
    )
    .unwrap();
    let out = fieldkit(&["verify", "--signers", &s(&other), &s(&bundle)]);
    snapshot("mistake_verify_unknown_signer", &out, dir);
    // A byte of the carried form's compressed text: the same bytes in
    // every run, so the same complaint.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let name = b"forms/dtm_flow_monitoring@2026.1.toml";
    let at = bytes
        .windows(name.len())
        .position(|w| w == name)
        .expect("the form's entry");
    bytes[at + name.len() + 100] ^= 0x01;
    let tampered = dir.join("tampered.zip");
    std::fs::write(&tampered, &bytes).unwrap();
    let out = fieldkit(&["verify", "--signers", &s(&signers), &s(&tampered)]);
    snapshot("mistake_verify_a_changed_byte", &out, dir);

    let out = fieldkit(&[
        "aggregate",
        "--identity",
        &s(&dir.join("no-such.key")),
        "--out",
        &s(&dir.join("tables")),
        "--signers",
        &s(&signers),
        &s(&bundle),
    ]);
    snapshot("mistake_aggregate_without_the_key", &out, dir);

    let broken = dir.join("forms");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("broken.toml"),
        "[settings]\nform_id = \"broken\"\nversion = \"1\"\nform_title = \"Broken\"\n\n\
         [[survey]]\ntype = \"integer\"\nname = \"age\"\nlabel = \"Age\"\n\n\
         [[survey]]\ntype = \"text\"\nname = \"school\"\nlabel = \"School\"\n\
         relevant = \"${agee} > 3\"\n",
    )
    .unwrap();
    let out = fieldkit(&["forms", "check", &s(&broken)]);
    snapshot("mistake_form_with_a_wrong_reference", &out, dir);
}
