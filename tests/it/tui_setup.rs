//! The first run and later starts of the enumerator's screen, in a real
//! terminal (tmux, 80x24): the setup page makes the profile, a later start
//! asks for the passphrase, refuses a wrong one, and unlocks with the
//! right one; a second fieldkit on the same store is refused at once.

use std::path::Path;

use crate::support::{PASSPHRASE, Tmux, have, repo, stderr, wait_until};

fn start(name: &str, home: &Path, log: &Path) -> Tmux {
    let cmd = format!(
        "cd '{}' && unset FIELDKIT_HOME FIELDKIT_FORMS; \
         FIELDKIT_NOW=2026-11-22T09:00:00+07:00 exec '{}' --home '{}' 2>'{}'",
        repo().display(),
        env!("CARGO_BIN_EXE_fieldkit"),
        home.display(),
        log.display()
    );
    Tmux::start(name, &cmd, 80, 24)
}

fn gone(term: &Tmux) -> bool {
    wait_until(|| {
        !std::process::Command::new("tmux")
            .args(["has-session", "-t", &term.session])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn first_run_sets_up_the_profile_then_later_starts_unlock_it() {
    let test = "first_run_sets_up_the_profile_then_later_starts_unlock_it";
    if !have("tmux", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let log = dir.path().join("stderr");

    // First run: the setup page, the recipients found in keys/.
    let term = start("setup", &home, &log);
    assert!(term.wait_for("set up this laptop"), "{}", term.screen());
    assert!(
        term.screen().contains("keys/recipients.txt"),
        "{}",
        term.screen()
    );
    term.send("enum-09", &["Tab"]);
    term.send("Noy Phommachanh", &["Tab"]);
    term.send(PASSPHRASE, &["Tab"]);
    term.send("not the same at all", &["Enter"]);
    assert!(term.wait_for("differ"), "{}", term.screen());
    assert!(!home.join("profile.toml").exists());
    term.send(PASSPHRASE, &["Enter"]);
    assert!(term.wait_for("Drafts (0)"), "{}", term.screen());
    assert!(term.screen().contains("fieldkit · enum-09"));
    term.send("q", &[]);
    assert!(gone(&term), "fieldkit did not quit: {}", term.screen());
    assert!(home.join("profile.toml").is_file());
    drop(term);

    // A later start asks for the passphrase; a wrong one is refused.
    let term = start("unlock", &home, &log);
    assert!(term.wait_for("Unlock your profile"), "{}", term.screen());
    // While it runs, a second fieldkit on the same store is refused.
    let second = crate::support::command(&["--home", home.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    assert!(stderr(&second).contains("in use by another fieldkit"));
    term.send("wrong passphrase", &["Enter"]);
    assert!(
        term.wait_for("wrong passphrase for profile 'enum-09'"),
        "{}",
        term.screen()
    );
    term.send(PASSPHRASE, &["Enter"]);
    assert!(term.wait_for("Drafts (0)"), "{}", term.screen());
    // F2 switches the program's own words to Lao.
    term.send("", &["F2"]);
    assert!(term.wait_for("ພາສາ: Lao (lo)"), "{}", term.screen());
    term.send("", &["C-c"]);
    assert!(gone(&term), "Ctrl-C quits: {}", term.screen());
    let err = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!err.contains("panicked"), "{err}");
}

/// Export from the home page (progress, then the bundle's name), and a
/// supervisor's receipt imported from the home page, in a real terminal.
#[test]
fn export_and_receipt_from_the_screen() {
    let test = "export_and_receipt_from_the_screen";
    if !have("tmux", test) {
        return;
    }
    let e = crate::support::Enumerator::init("enum-03");
    let usb = crate::tui_history::two_records_and_a_stick(&e);
    let log = e.dir.path().join("stderr");
    let cmd = format!(
        "cd '{}' && unset FIELDKIT_HOME FIELDKIT_FORMS; exec '{}' --home '{}' --passphrase-file '{}' 2>'{}'",
        repo().display(),
        env!("CARGO_BIN_EXE_fieldkit"),
        e.home.display(),
        e.passphrase_file.display(),
        log.display()
    );
    let term = Tmux::start("export", &cmd, 80, 24);
    assert!(term.wait_for("Drafts (0)"), "{}", term.screen());
    term.send("e", &[]);
    assert!(
        term.wait_for("Folder on the USB stick"),
        "{}",
        term.screen()
    );
    term.send(usb.to_str().unwrap(), &["Enter"]);
    assert!(term.wait_for("Bundle written"), "{}", term.screen());
    let bundles: Vec<_> = std::fs::read_dir(&usb).unwrap().flatten().collect();
    assert_eq!(bundles.len(), 1);
    let name = bundles[0].file_name().to_string_lossy().into_owned();
    assert!(term.screen().contains(&name[..20]), "{}", term.screen());
    // The counts moved from finalized to exported.
    assert!(term.screen().contains("0 ·   0 ·   2"), "{}", term.screen());

    // The supervisor's receipt, made on the side, imported on the screen.
    let signers = e.dir.path().join("signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let receipt = e.dir.path().join("receipt.json");
    let out = crate::bundle::demo_receipt(&bundles[0].path(), &signers, &receipt);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    term.send("a", &[]);
    assert!(term.wait_for("Receipt file"), "{}", term.screen());
    term.send(receipt.to_str().unwrap(), &["Enter"]);
    assert!(term.wait_for("2 record(s)"), "{}", term.screen());
    let screen = term.screen();
    assert!(screen.contains("0 ·   0 ·   0"), "{screen}");
    // The whole message is on screen at 80x24, its end too (issue 15
    // point 8), and the form's history stays after the purge (point 11).
    let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("purged from this laptop"), "{screen}");
    assert!(
        screen.contains("sent 2, last ") && screen.contains("receipted 2, last "),
        "{screen}"
    );
    term.send("q", &[]);
    assert!(gone(&term));
    assert_eq!(
        e.status(),
        serde_json::json!({"drafts": 0, "outbox": 0, "sent": 0, "bundles": 0})
    );
}
