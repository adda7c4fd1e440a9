//! The profile folder against someone who can write to it (issue 14): the
//! recipients and public facts are sealed in `profile.age` and a changed
//! copy is refused by the CLI and the screen; a profile of an earlier
//! fieldkit is sealed on first use; a damaged `profile.age` gives advice
//! and rescue still copies the finalized records; a deleted lock file is
//! said as such; no core dumps of a running fieldkit.

use std::path::Path;

use fieldkit::crypt;
use serde_json::{Value, json};

use crate::store::valid_record;
use crate::support::{Enumerator, PASSPHRASE, Tmux, have, repo, skip, stderr};

/// An attacker's age key: its recipients file text and its identity.
fn attacker() -> (String, age::x25519::Identity) {
    let id = age::x25519::Identity::generate();
    (format!("{}\n", id.to_public()), id)
}

/// The demo data manager's identity (keys/recipients.txt's key).
fn data_manager() -> age::x25519::Identity {
    let text = std::fs::read_to_string(repo().join("keys/demo/data-manager.key")).unwrap();
    crypt::parse_identities(&text).unwrap().remove(0)
}

/// Every age file fieldkit wrote under `dir` (the envelopes in the store's
/// files hold whole age files; a scan for the header finds them) that the
/// identity can open.
fn opened_by(dir: &Path, id: &age::x25519::Identity) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            let magic = b"age-encryption.org/v1\n";
            let mut at = 0;
            while let Some(i) = bytes[at..].windows(magic.len()).position(|w| w == magic) {
                if crypt::decrypt_with(id, &bytes[at + i..]).is_ok() {
                    n += 1;
                }
                at += i + 1;
            }
        }
    }
    n
}

#[test]
fn a_replaced_recipients_file_is_refused_and_nothing_is_encrypted_to_it() {
    let e = Enumerator::init("enum-03");
    let genuine = std::fs::read_to_string(e.home.join("recipients.txt")).unwrap();
    let (text, attacker_id) = attacker();
    std::fs::write(e.home.join("recipients.txt"), &text).unwrap();

    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("was changed after it was made"), "{err}");
    assert!(err.contains(text.trim()), "names the key it lists: {err}");
    assert!(
        err.contains("age1xprezpmlt5yk9"),
        "names the profile's key: {err}"
    );
    assert!(err.contains("Put the original file"), "{err}");
    assert_eq!(e.status()["outbox"], 0);
    assert_eq!(
        opened_by(&e.home, &attacker_id),
        0,
        "nothing for the attacker"
    );

    // Comments and order do not matter; the same keys open again.
    std::fs::write(
        e.home.join("recipients.txt"),
        format!("# restored\n{genuine}"),
    )
    .unwrap();
    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(e.status()["outbox"], 1);

    // An added key (the genuine one kept) is refused too, and so is a
    // deleted file.
    std::fs::write(e.home.join("recipients.txt"), format!("{genuine}{text}")).unwrap();
    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("that the profile was not made with"));
    std::fs::remove_file(e.home.join("recipients.txt")).unwrap();
    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("recipients.txt is missing"));
    assert_eq!(e.status()["outbox"], 1);
    assert_eq!(
        opened_by(&e.home, &attacker_id),
        0,
        "nothing for the attacker"
    );
}

#[test]
fn an_edited_profile_toml_is_refused() {
    let e = Enumerator::init("enum-03");
    let path = e.home.join("profile.toml");
    let genuine = std::fs::read_to_string(&path).unwrap();
    let public: toml::Table = toml::from_str(&genuine).unwrap();
    let device = public["device_id"].as_str().unwrap().to_string();
    for (field, value) in [
        (
            "device_id",
            "01a2380a-0000-7000-8000-000000000000".to_string(),
        ),
        (
            "recipient",
            age::x25519::Identity::generate().to_public().to_string(),
        ),
        (
            "signing_key",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILWskY5iwNxLN+f3CmOtyejNDkh+yiuox68o0PQZ+unK x"
                .to_string(),
        ),
    ] {
        let mut edited = public.clone();
        edited.insert(field.into(), toml::Value::String(value.clone()));
        std::fs::write(&path, toml::to_string(&edited).unwrap()).unwrap();
        let out = e.fill(
            "dtm_flow_monitoring",
            &valid_record(json!({})),
            &["--finalize"],
        );
        assert_eq!(out.status.code(), Some(2), "{field}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("profile.toml says {field} = \"{value}\"")),
            "{err}"
        );
        if field == "device_id" {
            assert!(err.contains(&device), "says what it holds: {err}");
        }
    }
    assert_eq!(e.status()["outbox"], 0);
    std::fs::write(&path, &genuine).unwrap();
    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The screen unlocks through the same check.
#[test]
fn the_screen_refuses_a_replaced_recipients_file() {
    let test = "the_screen_refuses_a_replaced_recipients_file";
    if !have("tmux", test) {
        return;
    }
    let e = Enumerator::init("enum-03");
    let (text, attacker_id) = attacker();
    std::fs::write(e.home.join("recipients.txt"), &text).unwrap();
    let log = e.dir.path().join("stderr");
    let cmd = format!(
        "cd '{}' && unset FIELDKIT_HOME FIELDKIT_FORMS; \
         FIELDKIT_NOW=2026-11-22T09:00:00+07:00 exec '{}' --home '{}' 2>'{}'",
        repo().display(),
        env!("CARGO_BIN_EXE_fieldkit"),
        e.home.display(),
        log.display()
    );
    let term = Tmux::start("sealed", &cmd, 80, 24);
    assert!(term.wait_for("Unlock your profile"), "{}", term.screen());
    term.send(PASSPHRASE, &["Enter"]);
    assert!(term.wait_for("changed"), "{}", term.screen());
    assert!(!term.screen().contains("Drafts ("), "{}", term.screen());
    drop(term);
    assert_eq!(opened_by(&e.home, &attacker_id), 0);
}

/// Rewrites `profile.age` as an earlier fieldkit wrote it: secrets format
/// /1, no sealed facts.
fn make_legacy(home: &Path) -> Vec<u8> {
    let pass = crypt::passphrase(PASSPHRASE);
    let wrapped = std::fs::read(home.join("profile.age")).unwrap();
    let plain = crypt::unwrap_with_passphrase(&pass, &wrapped).unwrap();
    let mut secrets: serde_json::Map<String, Value> = serde_json::from_slice(&plain).unwrap();
    assert!(secrets.remove("sealed").is_some(), "a sealed profile");
    secrets.insert("format".into(), json!("fieldkit-profile/1"));
    let legacy =
        crypt::wrap_with_passphrase(&pass, &serde_json::to_vec(&secrets).unwrap(), true).unwrap();
    std::fs::write(home.join("profile.age"), &legacy).unwrap();
    legacy
}

fn is_sealed(home: &Path) -> bool {
    let wrapped = std::fs::read(home.join("profile.age")).unwrap();
    let plain = crypt::unwrap_with_passphrase(&crypt::passphrase(PASSPHRASE), &wrapped).unwrap();
    let secrets: Value = serde_json::from_slice(&plain).unwrap();
    secrets.get("sealed").is_some()
}

#[test]
fn a_profile_of_an_earlier_fieldkit_is_sealed_on_first_use_and_not_again() {
    // Made before sealing existed and never opened since: its store has no
    // copy of the facts either (as with an earlier fieldkit's store).
    let e = Enumerator::init("enum-04");
    let genuine = std::fs::read_to_string(e.home.join("recipients.txt")).unwrap();
    let legacy = make_legacy(&e.home);
    assert!(!is_sealed(&e.home));
    assert_eq!(e.status()["drafts"], 0);
    assert!(
        !is_sealed(&e.home),
        "status needs no passphrase, seals nothing"
    );

    // The first unlock seals what is on disk, and says so in the audit log.
    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(is_sealed(&e.home), "sealed on first use");
    let store = e.open();
    let sealed: Vec<_> = store
        .audit()
        .unwrap()
        .into_iter()
        .filter(|ev| ev.event == "profile sealed")
        .collect();
    assert_eq!(sealed.len(), 1, "said once");
    assert!(
        sealed[0].detail.contains("age1xprezpmlt5yk9"),
        "{:?}",
        sealed[0]
    );
    drop(store);
    let out = e.fill("dtm_flow_monitoring", r#"{"consent": "yes"}"#, &[]);
    assert_eq!(out.status.code(), Some(1), "a draft: {}", stderr(&out));

    // From now on a replaced recipients file is refused...
    let (text, attacker_id) = attacker();
    std::fs::write(e.home.join("recipients.txt"), &text).unwrap();
    let rescued = |name: &str| e.dir.path().join(name);
    let out = e.run(&["rescue", "--out", rescued("r1").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the drafts were not rescued"),
        "{}",
        stderr(&out)
    );
    // ... and so is the earlier fieldkit's profile.age put back with it
    // (e.g. from an old backup): the store's copy of the facts says no.
    std::fs::write(e.home.join("profile.age"), &legacy).unwrap();
    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("compared with what the store was used with"),
        "{}",
        stderr(&out)
    );
    assert!(!is_sealed(&e.home), "not sealed with the attacker's key");
    assert_eq!(opened_by(&e.home, &attacker_id), 0);
    // A rescue with that profile encrypts drafts to the store's copy of
    // the recipients, never to the replaced file's.
    let draft = e.fill("dtm_flow_monitoring", r#"{"consent": "yes"}"#, &[]);
    assert_eq!(
        draft.status.code(),
        Some(2),
        "refused too: {}",
        stderr(&draft)
    );
    let out = e.run(&["rescue", "--out", rescued("r2").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["drafts"], 1, "{report}");
    assert_eq!(opened_by(&rescued("r2"), &attacker_id), 0);
    assert_eq!(opened_by(&rescued("r2").join("drafts"), &data_manager()), 1);

    // The old backup with the genuine recipients opens and is sealed again.
    std::fs::write(e.home.join("recipients.txt"), &genuine).unwrap();
    assert_eq!(e.status()["outbox"], 1);
    let out = e.fill("dtm_flow_monitoring", r#"{"consent": "yes"}"#, &[]);
    assert_eq!(out.status.code(), Some(1), "a draft: {}", stderr(&out));
    assert!(is_sealed(&e.home));
    assert_eq!(e.status()["drafts"], 2);
}

#[test]
fn a_deleted_lock_file_while_fieldkit_runs_is_said_not_called_damage() {
    let e = Enumerator::init("enum-03");
    // This test process holds the store open, as another fieldkit would.
    let store = e.open();
    std::fs::remove_file(e.home.join("store.lock")).unwrap();
    for args in [
        &["status", "--json"][..],
        &["fill", "dtm_flow_monitoring", "--answers", "-"][..],
    ] {
        let out = e.run(args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("in use by another fieldkit"), "{err}");
        assert!(err.contains("store.lock was missing"), "{err}");
        assert!(!err.contains("damaged ("), "{err}");
        assert!(!err.contains("rescue"), "{err}");
    }
    drop(store);
    assert_eq!(
        e.status()["drafts"],
        0,
        "usable again once the other one closed"
    );
}

/// Ways `profile.age` gets damaged: a changed character, cut short, gone.
fn damage(path: &Path, how: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    match how {
        0 => {
            let at = bytes.len() / 2;
            bytes[at] = if bytes[at] == b'!' { b'?' } else { b'!' };
            std::fs::write(path, bytes).unwrap();
        }
        1 => std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap(),
        2 => {
            // A character of the base64 body changed to another valid one:
            // the armor reads, the authentication fails.
            let at = bytes.len() - 80;
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            std::fs::write(path, bytes).unwrap();
        }
        _ => std::fs::remove_file(path).unwrap(),
    }
}

#[test]
fn a_damaged_secrets_file_says_what_to_do_and_rescue_still_copies_the_records() {
    let e = Enumerator::init("enum-03");
    // Two finalized records, one of them sent in a bundle, and a draft.
    let input = format!(
        "{}\n{}\n",
        valid_record(json!({"destination_place": "one"})),
        valid_record(json!({"destination_place": "two"}))
    );
    let out = e.fill("dtm_flow_monitoring", &input, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let usb = e.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.fill("dtm_flow_monitoring", r#"{"consent": "yes"}"#, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        e.status(),
        json!({"drafts": 1, "outbox": 1, "sent": 2, "bundles": 1})
    );
    let good = std::fs::read(e.home.join("profile.age")).unwrap();
    let dm = [data_manager()];

    for how in 0..4 {
        damage(&e.home.join("profile.age"), how);
        let out = e.fill("dtm_flow_monitoring", &valid_record(json!({})), &[]);
        assert_eq!(out.status.code(), Some(2), "{how}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("secrets file"), "{how}: {err}");
        assert!(err.contains("from a backup"), "{how}: {err}");
        assert!(err.contains("'fieldkit rescue --out DIR'"), "{how}: {err}");
        assert!(!err.contains("wrong passphrase"), "{how}: {err}");

        let rescued = e.dir.path().join(format!("rescued-{how}"));
        let out = e.run(&["rescue", "--out", rescued.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{how}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("the drafts were not rescued"), "{how}: {err}");
        assert!(err.contains("1 left in the store"), "{how}: {err}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["outbox"], 1, "{report}");
        assert_eq!(report["sent"], 2, "{report}");
        assert_eq!(report["drafts"], 0, "{report}");
        assert_eq!(report["drafts_left"], 1, "{report}");
        for state in ["outbox", "sent"] {
            for f in std::fs::read_dir(rescued.join(state)).unwrap().flatten() {
                let bytes = std::fs::read(f.path()).unwrap();
                let plain = crypt::decrypt_with(&dm[0], &bytes).unwrap();
                let record: Value = serde_json::from_slice(&plain).unwrap();
                assert!(record.is_object());
            }
        }
        assert!(rescued.join("rescue.json").is_file());
        std::fs::write(e.home.join("profile.age"), &good).unwrap();
    }

    // A lost passphrase: a wrong one is refused with the way out, which
    // copies the records without asking.
    std::fs::write(&e.passphrase_file, "not the passphrase\n").unwrap();
    let out = e.run(&[
        "rescue",
        "--out",
        e.dir.path().join("r-wrong").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--without-profile"),
        "{}",
        stderr(&out)
    );
    let out = e.run(&[
        "rescue",
        "--without-profile",
        "--out",
        e.dir.path().join("r-without").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["outbox"].clone(), report["sent"].clone()),
        (json!(1), json!(2))
    );
    std::fs::write(&e.passphrase_file, format!("{PASSPHRASE}\n")).unwrap();
    // With the profile back, everything.
    let out = e.run(&[
        "rescue",
        "--out",
        e.dir.path().join("r-all").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["drafts"], 1, "{report}");
}

/// A running fieldkit cannot leave a core dump: limit 0 and not dumpable.
/// Checked on the screen waiting for input (tmux) from /proc. The owner of
/// /proc/PID becomes root for a process that is not dumpable, which shows
/// only for a process that does not run as root: as root, the screen is
/// started as nobody (setpriv).
#[cfg(target_os = "linux")]
#[test]
fn a_running_fieldkit_leaves_no_core_dump() {
    use std::os::unix::fs::MetadataExt;
    let test = "a_running_fieldkit_leaves_no_core_dump";
    if !have("tmux", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = rustix::process::getuid().is_root();
    let as_nobody = if root && have("setpriv", test) {
        "setpriv --reuid=65534 --regid=65534 --clear-groups "
    } else {
        ""
    };
    // A setup screen (no profile), waiting for typing.
    let cmd = format!(
        "cd '{}' && unset FIELDKIT_HOME FIELDKIT_FORMS; ulimit -c unlimited 2>/dev/null; \
         FIELDKIT_NOW=2026-11-22T09:00:00+07:00 exec {as_nobody}'{}' --home '{}' 2>/dev/null",
        repo().display(),
        env!("CARGO_BIN_EXE_fieldkit"),
        dir.path().join("home").display(),
    );
    let term = Tmux::start("core", &cmd, 80, 24);
    assert!(term.wait_for("set up this laptop"), "{}", term.screen());
    let pid = std::process::Command::new("tmux")
        .args(["display", "-p", "-t", &term.session, "#{pane_pid}"])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
    let proc = Path::new("/proc").join(&pid);
    let exe = std::fs::read_link(proc.join("exe")).unwrap_or_default();
    assert!(
        exe.to_string_lossy().contains("fieldkit"),
        "pane runs {}",
        exe.display()
    );
    let limits = std::fs::read_to_string(proc.join("limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], &["0", "0"], "{core}");

    let status = std::fs::read_to_string(proc.join("status")).unwrap();
    let uid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .unwrap();
    if uid == 0 {
        skip(test, "runs as root without setpriv: dumpable not checked");
    } else {
        let owner = std::fs::metadata(proc.join("mem")).unwrap().uid();
        assert_eq!(
            owner, 0,
            "/proc/{pid} of a not-dumpable process belongs to root"
        );
    }
    drop(term);
}
