//! Enumerator-screen figures (`cargo bench --bench tui`): start to the
//! first frame with a passphrase file (and the key derivation in it), key
//! press to finished frame (update and render to an 80x24 TestBackend)
//! while filtering all 8,916 villages, on the baseline form and on its
//! review page (every question with its answer), on a site picker over
//! 10,000 sites of an entity list with last round's value shown beside the
//! next question (issue 20: p99 under 5 ms), and, with
//! the real binary in tmux, CPU used while idle for a minute and resident
//! memory with the baseline form open. Asserts nothing.
//! FIELDKIT_BENCH_IDLE sets the idle seconds (default 60; 0 skips tmux).

mod common;
use common::percentiles;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fieldkit::commands::Globals;
use fieldkit::crypt;
use fieldkit::form::dates::parse_datetime;
use fieldkit::store::Store;
use fieldkit::store::profile::{self, Home};
use fieldkit::tui::app::{Action, App, Opened, Page};
use fieldkit::tui::{forms_for_tests, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const PASS: &str = "correct horse battery";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn make_profile(dir: &Path) -> (Home, PathBuf) {
    let home = Home::new(dir.join("home"));
    let recipients = std::fs::read_to_string(repo().join("keys/recipients.txt")).expect("keys");
    let made = profile::create(
        &home,
        "bench",
        "",
        &crypt::passphrase(PASS),
        &recipients,
        "2026-11-22T09:00:00+07:00",
    )
    .expect("profile");
    let public = made.public.clone();
    drop(Store::create(home.clone(), made, "2026-11-22T09:00:00+07:00").expect("store"));
    profile::finish(&home, &public).expect("finish");
    let pass = dir.join("pass");
    std::fs::write(&pass, format!("{PASS}\n")).expect("pass");
    (home, pass)
}

fn bench_start(home: &Home, pass: &Path) {
    let globals = Globals {
        home: Some(home.dir.clone()),
        passphrase_file: Some(pass.to_path_buf()),
        forms: Some(repo().join("forms")),
        max_attachment_mb: fieldkit::form::media::DEFAULT_MAX_ATTACHMENT_MB,
    };
    let mut totals = Vec::new();
    let mut kdfs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let (app, runtime) = fieldkit::commands::screen(&globals)
            .and_then(fieldkit::tui::start)
            .expect("start");
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        terminal.draw(|f| view::render(&app, f)).expect("draw");
        totals.push(start.elapsed());
        assert!(matches!(app.page, Page::Home(_)));
        drop(runtime);
        let start = Instant::now();
        drop(profile::unlock(home, &crypt::passphrase(PASS)).expect("unlock"));
        kdfs.push(start.elapsed());
    }
    percentiles("start to first frame (passphrase file)", totals.clone());
    percentiles("  of which the key derivation (scrypt 2^16)", kdfs.clone());
    totals.sort();
    kdfs.sort();
    println!(
        "  start to first frame without the key derivation: {:.1} ms (medians)",
        (totals[2].as_secs_f64() - kdfs[2].as_secs_f64()) * 1000.0
    );
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// An app on a record of `form_id` from the forms in `dir`.
fn app_on(dir: &Path, form_id: &str) -> App {
    let forms = forms_for_tests(dir.to_path_buf()).expect("forms");
    let now = parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("now");
    let index = forms
        .iter()
        .position(|f| f.form.id == form_id)
        .expect("form");
    let mut app = App::new(forms, Page::Busy, now);
    app.update(Action::Opened(Ok(Opened {
        enumerator: "bench".into(),
        device_id: "bench".into(),
        listing: Vec::new(),
        tallies: Default::default(),
        forms: None,
        keys: Default::default(),
        visits: Vec::new(),
    })));
    // No drafts: the forms pane has the focus.
    for _ in 0..index {
        app.update(key(KeyCode::Down));
    }
    app.update(key(KeyCode::Enter));
    app
}

fn timed_keys(app: &mut App, keys: &[KeyCode]) -> Vec<Duration> {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    keys.iter()
        .map(|&k| {
            let start = Instant::now();
            let _ = app.update(key(k));
            terminal.draw(|f| view::render(app, f)).expect("draw");
            start.elapsed()
        })
        .collect()
}

/// Typing into, and backing out of, a filter; moving in the list.
fn filter_keys(words: &[&str]) -> Vec<KeyCode> {
    let mut keys = Vec::new();
    for _ in 0..10 {
        for w in words {
            keys.extend(w.chars().map(KeyCode::Char));
            keys.extend([KeyCode::Down, KeyCode::Down, KeyCode::Up]);
            keys.extend(w.chars().map(|_| KeyCode::Backspace));
        }
    }
    keys
}

fn bench_keys(scratch: &Path) {
    // A form with all 8,916 villages in one list, no district filter.
    let form = common::villages_form(scratch);
    let dir = form.parent().expect("folder").to_path_buf();
    let mut app = app_on(&dir, "villages");
    assert!(
        matches!(app.page, Page::Record(_)),
        "on the village question"
    );
    let samples = timed_keys(&mut app, &filter_keys(&["ນາ", "ban", "ດອນ", "x"]));
    percentiles("key to frame, filtering 8,916 villages", samples);

    let mut app = app_on(&repo().join("forms"), "dtm_baseline");
    assert!(matches!(app.page, Page::Record(_)), "on the baseline form");
    let mut keys = Vec::new();
    for _ in 0..20 {
        keys.extend("2026-11-2".chars().map(KeyCode::Char));
        keys.extend(std::iter::repeat_n(KeyCode::Backspace, 9));
        keys.extend([KeyCode::Tab, KeyCode::Down, KeyCode::BackTab]);
    }
    let samples = timed_keys(&mut app, &keys);
    percentiles("key to frame, baseline form (text and lists)", samples);

    // The review page lists every relevant question with its answer.
    let mut app = app_on(&repo().join("forms"), "dtm_baseline");
    let _ = app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('f'),
        KeyModifiers::CONTROL,
    )));
    let mut keys = Vec::new();
    for _ in 0..10 {
        keys.extend(std::iter::repeat_n(KeyCode::Down, 15));
        keys.extend([KeyCode::PageDown, KeyCode::End, KeyCode::Home]);
    }
    let samples = timed_keys(&mut app, &keys);
    percentiles("key to frame, review page (every answer)", samples);
}

/// A visit form picking one of 10,000 sites (an entity list named from the
/// real villages), with last round's total looked up and shown beside the
/// question that updates it; its folder.
fn sites_form(scratch: &Path) -> PathBuf {
    let dir = scratch.join("sites");
    std::fs::create_dir_all(&dir).expect("dir");
    let villages = std::fs::read_to_string(repo().join("forms/lao_villages.csv")).expect("csv");
    let names: Vec<&str> = villages
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    let mut csv = String::from("name,label,__version,__updatedAt,last_ind_total\n");
    for i in 0..10_000 {
        let village = names[i % names.len()];
        csv.push_str(&format!(
            "site-{i:05},Ban {village} site {i},1,2026-08-14T10:00:00+07:00,{}\n",
            100 + i % 900
        ));
    }
    std::fs::write(dir.join("sites.csv"), csv).expect("sites");
    let form = r#"[settings]
form_id = "site_visit"
version = "1"
form_title = "Site visit"

[entities]
list_name = "sites"
entity_id = "${site}"

[[survey]]
type = "select_one_from_file sites.csv"
name = "site"
label = "Site"
appearance = "search"

[[survey]]
type = "calculate"
name = "last"
calculation = "pulldata('sites', 'last_ind_total', 'name', ${site})"

[[survey]]
type = "integer"
name = "ind_total"
label = "Individuals"
save_to = "last_ind_total"
soft_constraint = "${last} = '' or (. <= ${last} * 2 and . * 2 >= ${last})"
"#;
    std::fs::write(dir.join("site_visit.toml"), form).expect("form");
    dir
}

fn bench_sites(scratch: &Path) {
    let dir = sites_form(scratch);
    let mut app = app_on(&dir, "site_visit");
    assert!(matches!(app.page, Page::Record(_)), "on the site question");
    let samples = timed_keys(&mut app, &filter_keys(&["ban", "site 99", "ນາ", "x"]));
    percentiles("key to frame, picking one of 10,000 sites", samples);
    // Pick the first site, go on to the total: last round's value is
    // looked up for every frame.
    for code in [
        KeyCode::Char('1'),
        KeyCode::Down,
        KeyCode::Char(' '),
        KeyCode::Enter,
    ] {
        let _ = app.update(key(code));
    }
    let mut keys = Vec::new();
    for _ in 0..50 {
        keys.extend("1800".chars().map(KeyCode::Char));
        keys.extend(std::iter::repeat_n(KeyCode::Backspace, 4));
    }
    let samples = timed_keys(&mut app, &keys);
    percentiles(
        "key to frame, the total with last round's value shown",
        samples,
    );
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    terminal.draw(|f| view::render(&app, f)).expect("draw");
    let shown: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    println!(
        "  (the frame shows last round's value: {})",
        if shown.contains("last round: ") {
            "yes"
        } else {
            "NO"
        }
    );
}

/// Runs the real binary in tmux: idle CPU and resident memory.
fn bench_real_terminal(home: &Home, pass: &Path) {
    let idle: u64 = std::env::var("FIELDKIT_BENCH_IDLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    if idle == 0 {
        return;
    }
    let exe = repo().join("target/release/fieldkit");
    if !exe.is_file()
        || std::process::Command::new("tmux")
            .arg("-V")
            .output()
            .is_err()
    {
        println!("idle CPU and memory: skipped (needs tmux and `cargo build --release`)");
        return;
    }
    let session = format!("fk-bench-{}", std::process::id());
    let cmd = format!(
        "'{}' --home '{}' --passphrase-file '{}' --forms '{}'",
        exe.display(),
        home.dir.display(),
        pass.display(),
        repo().join("forms").display()
    );
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux")
    };
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "80",
        "-y",
        "24",
        &cmd,
    ]);
    std::thread::sleep(Duration::from_secs(2));
    let pid =
        String::from_utf8_lossy(&tmux(&["display", "-p", "-t", &session, "#{pane_pid}"]).stdout)
            .trim()
            .to_string();
    // Open a baseline record: the first form (no drafts: the forms pane).
    tmux(&["send-keys", "-t", &session, "Enter"]);
    std::thread::sleep(Duration::from_secs(1));
    let screen =
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout).to_string();
    if !screen.contains("Question 1 of") {
        println!("idle CPU: the baseline form did not open; the screen was:\n{screen}");
    }
    std::thread::sleep(Duration::from_secs(1));
    let cpu = |pid: &str| -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    };
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        });
    let before = cpu(&pid);
    std::thread::sleep(Duration::from_secs(idle));
    let after = cpu(&pid);
    tmux(&["kill-session", "-t", &session]);
    match (before, after, rss) {
        (Some(b), Some(a), Some(rss)) => {
            println!(
                "CPU while idle for {idle} s on the baseline form: {:.2} s",
                a - b
            );
            println!(
                "resident memory with the baseline form open: {} MB",
                rss.parse::<u64>().unwrap_or(0) / 1024
            );
        }
        _ => println!("idle CPU and memory: could not read /proc for pid {pid}"),
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (home, pass) = make_profile(dir.path());
    bench_start(&home, &pass);
    bench_keys(dir.path());
    bench_sites(dir.path());
    bench_real_terminal(&home, &pass);
}
