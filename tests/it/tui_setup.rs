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
