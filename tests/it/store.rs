//! The enumerator's profile and store through the real binary: init,
//! keygen, fill saving drafts and finalized records, status, the reference
//! `age` CLI reading what fieldkit wrote, no plaintext at rest, and every
//! failure path's message.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{Enumerator, PASSPHRASE, Tmux, have, repo, skip, stderr, wait_until};

/// A valid flow-monitoring record (the README's example).
pub fn valid_record(extra: Value) -> String {
    let mut v: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v.to_string()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn init_prints_the_signers_line_and_never_overwrites() {
    let e = Enumerator::init("enum-03");
    assert!(
        e.signers_line
            .starts_with("enum-03 namespaces=\"fieldkit-bundle\" ssh-ed25519 AAAA"),
        "{}",
        e.signers_line
    );
    for f in ["profile.toml", "profile.age", "recipients.txt", "store"] {
        assert!(e.home.join(f).exists(), "{f}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(e.home.join("profile.age"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(e.home.join("profile.age")).unwrap();
    let again = e.run(&["init", "--enumerator", "enum-04"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("never overwrites"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(e.home.join("profile.age")).unwrap(), before);
    assert_eq!(
        e.status(),
        json!({"drafts": 0, "outbox": 0, "sent": 0, "bundles": 0})
    );
}

#[test]
fn init_refuses_bad_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "short\n").unwrap();
    let home = dir.path().join("h");
    let run = |args: &[&str]| {
        let mut all = vec![
            "--home",
            home.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        crate::support::fieldkit(&all)
    };
    let out = run(&["init", "--enumerator", "enum-03"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("at least 8 characters"),
        "{}",
        stderr(&out)
    );
    let out = run(&["init", "--enumerator", "has space"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot be used"), "{}", stderr(&out));
    let bad = dir.path().join("recipients.txt");
    std::fs::write(&bad, "ssh-ed25519 AAAA not an age key\n").unwrap();
    std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
    let out = run(&[
        "init",
        "--enumerator",
        "enum-03",
        "--recipients",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));
    assert!(!home.exists(), "nothing written when init is refused");
}

#[test]
fn fill_saves_drafts_and_finalizes_only_valid_records() {
    let e = Enumerator::init("enum-03");
    let input = format!(
        "{}\n{}\n{}\n",
        valid_record(json!({})),
        valid_record(json!({"age": 300})),
        valid_record(json!({"destination_place": "Udon Thani"})),
    );
    let out = e.fill("dtm_flow_monitoring", &input, &["--finalize"]);
    assert_eq!(out.status.code(), Some(1), "one record is invalid: exit 1");
    let reports = lines(&out);
    assert_eq!(reports.len(), 3);
    let saved: Vec<&str> = reports
        .iter()
        .map(|r| r["saved"].as_str().unwrap())
        .collect();
    assert_eq!(saved, ["outbox", "draft", "outbox"]);
    assert!(reports.iter().all(|r| r["record_id"].is_string()));
    assert_eq!(
        e.status(),
        json!({"drafts": 1, "outbox": 2, "sent": 0, "bundles": 0})
    );
    // Without --finalize everything stays a draft.
    let out = e.fill("dtm_flow_monitoring", &valid_record(json!({})), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(lines(&out)[0]["saved"], "draft");
    assert_eq!(e.status()["drafts"], 2);

    // The draft holds exactly the answers given, ready to resume.
    let store = e.open();
    let invalid_id = reports[1]["record_id"].as_str().unwrap();
    let draft = store.load_draft(invalid_id).unwrap();
    assert_eq!(draft.answers["age"], 300);
    assert_eq!(draft.form_id, "dtm_flow_monitoring");
    assert_eq!(draft.form_sha256.len(), 64);
    let events: Vec<String> = store
        .audit()
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        events,
        [
            "store created",
            "deployment signers pinned",
            "created",
            "finalized",
            "created",
            "created",
            "finalized",
            "created"
        ]
    );
}

#[test]
fn a_finalized_record_decrypts_with_the_reference_age_cli_and_the_demo_key() {
    let e = Enumerator::init("enum-03");
    let out = e.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({"destination_place": "Pakse"})),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = lines(&out)[0]["record_id"].as_str().unwrap().to_string();
    let store = e.open();
    let ct = store.outbox_record(&id).unwrap();
    assert!(
        fieldkit::crypt::decrypt_with(&store.profile().identity, &ct).is_err(),
        "the laptop cannot read a finalized record back"
    );
    let file = e.dir.path().join(format!("{id}.age"));
    std::fs::write(&file, &ct).unwrap();
    if !have(
        "age",
        "a_finalized_record_decrypts_with_the_reference_age_cli",
    ) {
        return;
    }
    let key = repo().join("keys/demo/data-manager.key");
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["format"], "fieldkit-record/1");
    assert_eq!(record["record_id"], json!(id));
    assert_eq!(record["enumerator_id"], "enum-03");
    assert_eq!(record["values"]["destination_place"], "Pakse");
    assert!(
        record["values"]["is_minor"].is_string(),
        "calculations included: {record}"
    );
}

#[test]
fn keygen_writes_private_files_that_standard_tools_read() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
    let dm = dir.path().join("dm.key");
    let out = crate::support::fieldkit(&[
        "keygen",
        "--role",
        "data-manager",
        "--out",
        dm.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let public = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(public.starts_with("age1"), "{public}");
    let text = std::fs::read_to_string(&dm).unwrap();
    assert!(text.contains(&format!("# public key: {public}")));
    assert!(text.lines().last().unwrap().starts_with("AGE-SECRET-KEY-1"));

    let wrapped = dir.path().join("dm-wrapped.key");
    let wrapped_public = keygen_protected(&pass, &wrapped);
    let bytes = std::fs::read(&wrapped).unwrap();
    assert!(bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    let inner =
        fieldkit::crypt::unwrap_with_passphrase(&fieldkit::crypt::passphrase(PASSPHRASE), &bytes)
            .unwrap();
    let ids = fieldkit::crypt::parse_identities(&String::from_utf8_lossy(&inner)).unwrap();
    assert_eq!(ids[0].to_public().to_string(), wrapped_public);

    let sup = dir.path().join("supervisor");
    let out = crate::support::fieldkit(&[
        "keygen",
        "--role",
        "supervisor",
        "--id",
        "sup-vte",
        "--out",
        sup.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let public = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    assert!(stderr(&out).contains("sup-vte namespaces=\"fieldkit-receipt\" ssh-ed25519"));
    #[cfg(unix)]
    for f in [&dm, &wrapped, &sup] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }
    let again = crate::support::fieldkit(&[
        "keygen",
        "--role",
        "supervisor",
        "--out",
        sup.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2), "never overwrites a key");

    if have(
        "ssh-keygen",
        "keygen_writes_private_files_that_standard_tools_read",
    ) {
        let out = std::process::Command::new("ssh-keygen")
            .arg("-y")
            .arg("-f")
            .arg(&sup)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let derived = String::from_utf8_lossy(&out.stdout);
        let key_part = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        assert_eq!(key_part(&derived), key_part(&public));
    }
    if have(
        "age",
        "keygen_writes_private_files_that_standard_tools_read",
    ) {
        // The plain identity works with the reference CLI both ways.
        let msg = dir.path().join("msg.age");
        let enc = std::process::Command::new("age")
            .args(["-r", &ids[0].to_public().to_string(), "-o"])
            .arg(&msg)
            .arg(&dm)
            .output()
            .unwrap();
        assert!(enc.status.success(), "{}", stderr(&enc));
        let plain_public = text
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_string();
        let enc = std::process::Command::new("age")
            .args(["-r", &plain_public, "-o"])
            .arg(dir.path().join("m2.age"))
            .arg(&pass)
            .output()
            .unwrap();
        assert!(enc.status.success());
        let dec = std::process::Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&dm)
            .arg(dir.path().join("m2.age"))
            .output()
            .unwrap();
        assert!(dec.status.success(), "{}", stderr(&dec));
        assert_eq!(dec.stdout, format!("{PASSPHRASE}\n").as_bytes());
    }
}

#[test]
fn nothing_readable_at_rest_under_the_profile_folder() {
    let e = Enumerator::init("enum-03");
    let canary = "CANARY-7f3a-ບ້ານໂນນສະຫວ່າງ";
    let input = format!(
        "{}\n{}\n",
        valid_record(json!({"destination_place": canary})),
        valid_record(json!({"destination_place": canary, "age": 300})),
    );
    let out = e.fill("dtm_flow_monitoring", &input, &["--finalize"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        e.status(),
        json!({"drafts": 1, "outbox": 1, "sent": 0, "bundles": 0})
    );
    // Answer text, the instance name, a choice's label, a question's label
    // (English and Lao), the enumerator's name: none may be on disk.
    let needles: Vec<&str> = vec![
        canary,
        "CANARY-7f3a",
        "friendship_bridge_1",
        "Thai-Lao Friendship Bridge",
        "ຂົວມິດຕະພາບລາວ",
        "Flow monitoring point",
        "unregistered_broker",
        "Somchai Canary",
    ];
    let files = files_under(&e.home);
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for n in &needles {
            assert!(
                !contains(&bytes, n.as_bytes()),
                "{} holds {n:?} in plain text",
                f.display()
            );
        }
    }
}

#[test]
fn every_failure_gives_its_message_and_exit_2() {
    // No profile yet.
    let dir = tempfile::tempdir().unwrap();
    let nobody = dir.path().join("nobody");
    for args in [
        vec!["status", "--json"],
        vec!["fill", "dtm_baseline", "--answers", "-"],
        vec!["rescue", "--out", "x"],
    ] {
        let mut all = vec!["--home", nobody.to_str().unwrap()];
        all.extend(args);
        let out = crate::support::fieldkit(&all);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("fieldkit init --enumerator"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"));
    }
    assert!(!nobody.exists(), "nothing created for a missing profile");

    // Wrong passphrase.
    let e = Enumerator::init("enum-03");
    std::fs::write(&e.passphrase_file, "not the passphrase\n").unwrap();
    let out = e.fill("dtm_flow_monitoring", &valid_record(json!({})), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("wrong passphrase for profile 'enum-03'"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&e.passphrase_file, format!("{PASSPHRASE}\n")).unwrap();

    // Locked by another fieldkit (this test process holds the store open).
    let store = e.open();
    let out = e.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("in use by another fieldkit"),
        "{}",
        stderr(&out)
    );
    let out = e.fill("dtm_flow_monitoring", &valid_record(json!({})), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("in use by another fieldkit"));
    drop(store);
    assert_eq!(e.status()["drafts"], 0, "usable again once released");
}

/// Flips bytes all over the store's files: whatever sled makes of it,
/// fieldkit answers with a message and an exit code, never a panic, and
/// the message for a store that will not open points to rescue.
#[test]
fn a_store_with_flipped_bytes_gives_a_message_not_a_panic() {
    let e = Enumerator::init("enum-03");
    let input: String = (0..20)
        .map(|i| valid_record(json!({"destination_place": format!("place {i}")})) + "\n")
        .collect();
    let out = e.fill("dtm_flow_monitoring", &input, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pristine = e.dir.path().join("pristine");
    copy_dir(&e.home.join("store"), &pristine);
    let db = e.home.join("store/db");
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    let mut seen_refusal = false;
    for step in 0..24 {
        std::fs::remove_dir_all(e.home.join("store")).unwrap();
        copy_dir(&pristine, &e.home.join("store"));
        let mut bytes = std::fs::read(&db).unwrap();
        let at = (step * 7919 + 13) % len;
        for b in &mut bytes[at..(at + 64).min(len)] {
            *b ^= 0x5a;
        }
        std::fs::write(&db, &bytes).unwrap();
        for args in [&["status", "--json"][..], &["rescue", "--out"][..]] {
            let mut args = args.to_vec();
            let out_dir = e.dir.path().join(format!("rescue-{step}"));
            if args[0] == "rescue" {
                args.push(out_dir.to_str().unwrap());
            }
            let out = e.run(&args);
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "step {step}: {err}");
            match out.status.code() {
                Some(0) => {}
                Some(2) => {
                    if err.contains("will not open") {
                        assert!(err.contains("fieldkit rescue --out DIR"), "{err}");
                        seen_refusal = true;
                    }
                }
                other => panic!("step {step}: exit {other:?}: {err}"),
            }
        }
    }
    // A damaged config file is always refused with the rescue pointer.
    std::fs::remove_dir_all(e.home.join("store")).unwrap();
    copy_dir(&pristine, &e.home.join("store"));
    std::fs::write(e.home.join("store/conf"), b"\xff\xfe not a sled config").unwrap();
    let out = e.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("will not open"), "{}", stderr(&out));
    assert!(stderr(&out).contains("fieldkit rescue --out DIR"));
    let _ = seen_refusal;
    let out_dir = e.dir.path().join("rescued");
    let out = e.run(&["rescue", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["drafts"], 20, "{report}");
    assert_eq!(
        std::fs::read_dir(out_dir.join("drafts")).unwrap().count(),
        20
    );
}

/// A full disk while saving: the save fails with a message and exit 2, and
/// what was saved before is intact. Needs a small tmpfs (root); skips
/// otherwise.
#[test]
fn a_full_disk_keeps_the_previous_state() {
    let e = Enumerator::init("enum-03");
    let mnt = e.dir.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&mnt)
        .output();
    if !matches!(&mounted, Ok(o) if o.status.success()) {
        skip(
            "a_full_disk_keeps_the_previous_state",
            "cannot mount a small tmpfs here (needs root)",
        );
        return;
    }
    let result = std::panic::catch_unwind(|| full_disk(&e, &mnt));
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn full_disk(e: &Enumerator, mnt: &Path) {
    // The profile moves onto the small disk.
    let home = mnt.join("home");
    copy_dir(&e.home, &home);
    let small = Enumerator {
        dir: tempfile::tempdir().unwrap(),
        home,
        passphrase_file: e.passphrase_file.clone(),
        signers_line: String::new(),
    };
    let first = small.fill(
        "dtm_flow_monitoring",
        &valid_record(json!({"destination_place": "before the disk filled"})),
        &[],
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let kept = lines(&first)[0]["record_id"].as_str().unwrap().to_string();
    // Fill the disk to the last byte.
    let filler = mnt.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    while std::io::Write::write_all(&mut f, &chunk[..1]).is_ok() {}
    drop(f);
    let input: String = (0..50)
        .map(|i| valid_record(json!({"destination_place": format!("after {i}")})) + "\n")
        .collect();
    let out = small.fill("dtm_flow_monitoring", &input, &[]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("disk is full"), "{err}");
    let saved_after: Vec<String> = lines(&out)
        .iter()
        .map(|r| r["record_id"].as_str().unwrap().to_string())
        .collect();
    std::fs::remove_file(&filler).unwrap();
    let store = small.open();
    let draft = store.load_draft(&kept).unwrap();
    assert_eq!(draft.answers["destination_place"], "before the disk filled");
    for id in saved_after {
        assert!(
            store.load_draft(&id).is_ok(),
            "a save that was reported is there"
        );
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn an_unfinished_init_is_set_aside_and_a_rescued_profile_gets_a_new_store() {
    let e = Enumerator::init("enum-03");
    // Status in words names the allowed_signers line again.
    let out = e.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&e.signers_line));

    // An init killed before profile.toml: the next init moves its files aside.
    std::fs::remove_file(e.home.join("profile.toml")).unwrap();
    let out = e.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("fieldkit init"));
    let out = e.run(&["init", "--enumerator", "enum-03"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("did not finish"), "{}", stderr(&out));
    let aside: Vec<_> = std::fs::read_dir(&e.home)
        .unwrap()
        .flatten()
        .filter(|d| {
            d.file_name()
                .to_string_lossy()
                .starts_with("unfinished-init-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(
        aside[0].path().join("profile.age").is_file(),
        "moved, not deleted"
    );
    assert!(aside[0].path().join("store").is_dir());

    // A store moved aside after a rescue: refused until --new-store.
    let out = e.fill("dtm_flow_monitoring", &valid_record(json!({})), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::rename(e.home.join("store"), e.home.join("store.broken")).unwrap();
    let out = e.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("init --new-store"),
        "{}",
        stderr(&out)
    );
    let out = e.run(&["init", "--new-store"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        e.status(),
        json!({"drafts": 0, "outbox": 0, "sent": 0, "bundles": 0})
    );
    let out = e.run(&["init", "--new-store"]);
    assert_eq!(out.status.code(), Some(2), "only when the store is gone");
}

#[test]
fn a_passphrase_file_saved_by_notepad_works() {
    let e = Enumerator::init("enum-03");
    std::fs::write(&e.passphrase_file, format!("\u{FEFF}{PASSPHRASE}\r\n")).unwrap();
    let out = e.fill("dtm_flow_monitoring", &valid_record(json!({})), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A passphrase-wrapped data-manager key from `keygen --protect` works
/// with the reference `age` CLI, which asks for the passphrase on a
/// terminal: typed into a real one (tmux).
#[test]
fn a_protected_data_manager_key_works_with_age_cli_in_a_terminal() {
    let test = "a_protected_data_manager_key_works_with_age_cli_in_a_terminal";
    if !have("age", test) || !have("tmux", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
    let key = dir.path().join("dm.key");
    let public = keygen_protected(&pass, &key);
    let msg = dir.path().join("msg.age");
    let enc = std::process::Command::new("age")
        .args(["-r", &public, "-o"])
        .arg(&msg)
        .arg(&pass)
        .output()
        .unwrap();
    assert!(enc.status.success(), "{}", stderr(&enc));
    let plain = dir.path().join("plain.txt");
    let flag = dir.path().join("flag");
    let cmd = format!(
        "age -d -i '{}' -o '{}' '{}'; echo $? > '{}'",
        key.display(),
        plain.display(),
        msg.display(),
        flag.display()
    );
    let term = Tmux::start("age", &cmd, 100, 10);
    assert!(
        term.wait_for("passphrase"),
        "age never asked for the passphrase"
    );
    term.send(PASSPHRASE, &["Enter"]);
    assert!(wait_until(|| written(&flag)), "age did not finish");
    assert_eq!(std::fs::read_to_string(&flag).unwrap().trim(), "0");
    assert_eq!(
        std::fs::read_to_string(&plain).unwrap(),
        format!("{PASSPHRASE}\n")
    );
}

/// `init` at a real terminal asks for the passphrase twice, refuses two
/// that differ (writing nothing), and accepts two that match.
#[test]
fn init_asks_for_the_passphrase_twice_at_a_terminal() {
    let test = "init_asks_for_the_passphrase_twice_at_a_terminal";
    if !have("tmux", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let flag = dir.path().join("flag");
    let cmd = format!(
        "'{}' --home '{}' init --enumerator enum-05 > '{}.out' 2>&1; echo $? > '{}'",
        env!("CARGO_BIN_EXE_fieldkit"),
        home.display(),
        flag.display(),
        flag.display()
    );
    let term = Tmux::start("init-differ", &cmd, 100, 10);
    assert!(
        term.wait_for("New passphrase for enum-05"),
        "{}",
        term.screen()
    );
    term.send(PASSPHRASE, &["Enter"]);
    assert!(term.wait_for("Type it again"), "{}", term.screen());
    term.send("something else entirely", &["Enter"]);
    assert!(wait_until(|| written(&flag)));
    assert_eq!(std::fs::read_to_string(&flag).unwrap().trim(), "2");
    let said = std::fs::read_to_string(format!("{}.out", flag.display())).unwrap();
    assert!(said.contains("the two passphrases differ"), "{said}");
    assert!(!home.join("profile.toml").exists());
    drop(term);

    std::fs::remove_file(&flag).unwrap();
    let term = Tmux::start("init-match", &cmd, 100, 10);
    assert!(term.wait_for("New passphrase"), "{}", term.screen());
    term.send(PASSPHRASE, &["Enter"]);
    assert!(term.wait_for("Type it again"), "{}", term.screen());
    term.send(PASSPHRASE, &["Enter"]);
    assert!(wait_until(|| written(&flag)));
    assert_eq!(std::fs::read_to_string(&flag).unwrap().trim(), "0");
    assert!(home.join("profile.toml").is_file());
}

/// Runs `keygen --role data-manager --protect --out key` with the
/// passphrase file; returns the public key it printed.
fn keygen_protected(pass: &Path, key: &Path) -> String {
    let out = crate::support::fieldkit(&[
        "--passphrase-file",
        pass.to_str().unwrap(),
        "keygen",
        "--role",
        "data-manager",
        "--protect",
        "--out",
        key.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What the reference `age` CLI encrypts to several recipients, fieldkit's
/// X25519 identity (the one `aggregate` decrypts with) opens, byte for byte.
#[test]
fn age_cli_files_open_with_fieldkits_identity() {
    let test = "age_cli_files_open_with_fieldkits_identity";
    if !have("age", test) {
        return;
    }
    use fieldkit::crypt;
    let dir = tempfile::tempdir().unwrap();
    let dm = age::x25519::Identity::generate();
    let other = age::x25519::Identity::generate();
    let plain = "ບ້ານ record ".repeat(4000);
    std::fs::write(dir.path().join("plain"), &plain).unwrap();
    let out = std::process::Command::new("age")
        .args(["-r", &other.to_public().to_string()])
        .args(["-r", &dm.to_public().to_string()])
        .arg("-o")
        .arg(dir.path().join("file.age"))
        .arg(dir.path().join("plain"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let file = std::fs::read(dir.path().join("file.age")).unwrap();
    let ours = [crypt::X25519Identity::new(&dm)];
    assert_eq!(
        crypt::decrypt_with_any(&ours, &file).unwrap(),
        plain.as_bytes()
    );
    let stranger = [crypt::X25519Identity::new(
        &age::x25519::Identity::generate(),
    )];
    assert!(crypt::decrypt_with_any(&stranger, &file).is_err());
}

/// Whether the shell has written its exit code line to `flag` (`echo $? >`
/// makes the file empty first, then writes: it may be read in between).
fn written(flag: &std::path::Path) -> bool {
    std::fs::read_to_string(flag).is_ok_and(|t| t.ends_with('\n'))
}
