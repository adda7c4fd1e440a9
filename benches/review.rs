//! The supervisor's review figures (`cargo bench --bench review`): 20
//! bundles of 500 records (each with its review view, encrypted to the
//! supervisor's ssh-ed25519 key, as a laptop makes them), made once into a
//! temp folder through the library; then, over several runs, the time to
//! open them all as `fieldkit review` does (read the files, verify every
//! bundle, decrypt and check every review view, load the carried form,
//! draw the first screen), and the time of a key that moves between
//! records (the screen's model driven by key events and drawn to an 80x24
//! test terminal, no real terminal), and of opening a record's page.
//! Targets (issue 21): open under 1 s, a move under 5 ms. Asserts nothing.
//! FIELDKIT_BENCH_BUNDLES / FIELDKIT_BENCH_RECORDS change the 20 and 500.

mod common;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldkit::bundle::signers::AllowedSigners;
use fieldkit::bundle::{self, FileRef, Readers, Streamed};
use fieldkit::record::{REVIEW_FORMAT, ReviewCheck, ReviewView};
use fieldkit::supervise::{self, FormsAt, Given};
use fieldkit::tui::supervisor::app::{Action, App};
use fieldkit::tui::words::Lang;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use ssh_key::rand_core::OsRng;

const QUESTIONS: usize = 30;

/// A form of 30 integer questions, every other one marked for review.
fn form_text() -> String {
    let mut text = String::from(
        "[settings]\nform_id = \"bench_review\"\nversion = \"1\"\nform_title = \"Bench\"\n",
    );
    for k in 0..QUESTIONS {
        text.push_str(&format!(
            "[[survey]]\ntype = \"integer\"\nname = \"q{k:02}\"\nlabel = \"Question {k}\"\n{}",
            if k % 2 == 0 { "review = \"yes\"\n" } else { "" }
        ));
    }
    text
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes `bundles` bundles of `records` records into `dir`; returns the
/// signers file's text.
fn make_bundles(
    dir: &Path,
    bundles: usize,
    records: usize,
    supervisor: &ssh_key::PublicKey,
) -> String {
    let text = form_text();
    let sha = bundle::sha256_hex(text.as_bytes());
    let forms = vec![(
        "bench_review".to_string(),
        "1".to_string(),
        sha.clone(),
        text.into_bytes(),
    )];
    let dm = age::x25519::Identity::generate().to_public();
    let mut signers = String::new();
    for b in 0..bundles {
        let enumerator = format!("enum-{b:02}");
        let device = format!("01a00000-0000-7000-8000-{:012x}", b + 1);
        let key =
            ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).expect("key");
        signers.push_str(&format!(
            "{enumerator} namespaces=\"fieldkit-bundle\" {}\n",
            key.public_key().to_openssh().expect("public")
        ));
        let mut entries = Vec::with_capacity(records);
        let mut files = std::collections::HashMap::new();
        for r in 0..records {
            let id = format!("0190f3a2-1b2c-7def-8{b:03}-{r:012x}");
            let values: serde_json::Map<String, serde_json::Value> = (0..QUESTIONS)
                .map(|k| (format!("q{k:02}"), json!(r * 7 + k)))
                .collect();
            let finalized = "2026-11-22T10:00:00+07:00";
            let record = json!({
                "format": "fieldkit-record/1", "record_id": id, "form_id": "bench_review",
                "form_version": "1", "enumerator_id": enumerator, "device_id": device,
                "started": "2026-11-22T09:40:00+07:00", "finalized_at": finalized,
                "values": values,
            });
            let view = ReviewView {
                format: REVIEW_FORMAT.into(),
                record_id: id.clone(),
                version: 1,
                supersedes: None,
                form_id: "bench_review".into(),
                form_version: "1".into(),
                form_sha256: sha.clone(),
                enumerator_id: enumerator.clone(),
                device_id: device.clone(),
                started: "2026-11-22T09:40:00+07:00".into(),
                finalized_at: finalized.into(),
                values: values
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| k % 2 == 0)
                    .map(|(_, (n, v))| (n.clone(), v.clone()))
                    .collect(),
                checks: if r % 10 == 0 {
                    vec![ReviewCheck {
                        field: "q00".into(),
                        kind: "confirmed".into(),
                        message: "Unusually high; confirmed".into(),
                    }]
                } else {
                    Vec::new()
                },
            };
            let cipher = fieldkit::crypt::encrypt_to(
                std::slice::from_ref(&dm),
                record.to_string().as_bytes(),
            )
            .expect("encrypt");
            let review = fieldkit::crypt::encrypt_to_ssh(
                std::slice::from_ref(supervisor),
                &serde_json::to_vec(&view).expect("view"),
            )
            .expect("encrypt review");
            let mut entry = bundle::entry_of(&id, "bench_review", "1", finalized, &cipher);
            entry.review = Some(FileRef::of(bundle::review_path(&id), &review));
            entries.push(entry);
            files.insert(id, (cipher, review));
        }
        let plan = Streamed {
            enumerator_id: &enumerator,
            device_id: &device,
            sequence: 1,
            prev_manifest_sha256: bundle::NO_PREVIOUS,
            entries,
            forms: &forms,
            media: Vec::new(),
        };
        let built = bundle::build_from(
            plan,
            &key,
            Readers {
                record: &mut |e| Ok(Cow::Owned(files[&e.record_id].0.clone())),
                review: &mut |e| Ok(Cow::Owned(files[&e.record_id].1.clone())),
                media: &mut |m| Err(format!("no media {}", m.path)),
            },
        )
        .expect("build");
        std::fs::write(
            dir.join(bundle::file_name(&enumerator, &device, 1)),
            built.zip,
        )
        .expect("write bundle");
    }
    signers
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn main() {
    let bundles = env_usize("FIELDKIT_BENCH_BUNDLES", 20);
    let records = env_usize("FIELDKIT_BENCH_RECORDS", 500);
    let scratch = tempfile::tempdir().expect("tempdir");
    let supervisor =
        ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).expect("key");
    let started = Instant::now();
    let signers_text = make_bundles(scratch.path(), bundles, records, supervisor.public_key());
    let bytes: u64 = std::fs::read_dir(scratch.path())
        .expect("list")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum();
    println!(
        "made {bundles} bundles of {records} records ({:.1} MB) in {:.1} s; {} cores",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let signers = AllowedSigners::parse(&signers_text).expect("signers");
    // As `fieldkit review` opens them; age's own ssh identity for the
    // single-core comparison below.
    let identity = supervise::key::SupervisorIdentity::new(&supervisor).expect("identity");
    let age_identity = fieldkit::crypt::ssh_identity(&supervisor).expect("identity");
    let forms_at = FormsAt {
        dir: Some(scratch.path().to_path_buf()),
    };
    let mut files: Vec<_> = std::fs::read_dir(scratch.path())
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    files.sort();

    // Its parts, on one core: verifying every bundle, and decrypting
    // (and parsing) 1,000 review views.
    let all: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    let t = Instant::now();
    for (p, b) in files.iter().zip(&all) {
        let report = fieldkit::bundle::verify::verify(&p.display().to_string(), b, &signers);
        assert!(report.ok, "{:?}", report.problems);
    }
    println!(
        "verify alone, one core: {:.0} ms for {bundles} bundles",
        t.elapsed().as_secs_f64() * 1e3
    );
    let views: Vec<Vec<u8>> = fieldkit::bundle::archive::read(&all[0])
        .expect("archive")
        .into_iter()
        .filter(|e| e.name.starts_with("review/"))
        .map(|e| e.data.to_vec())
        .collect();
    let per_view = |name: &str, open: &dyn Fn(&[u8]) -> Vec<u8>| {
        let t = Instant::now();
        for v in &views {
            let _: ReviewView = serde_json::from_slice(&open(v)).expect("view");
        }
        println!(
            "decrypt + parse alone, one core, {name}: {:.1} us a review view ({} views)",
            t.elapsed().as_secs_f64() * 1e6 / views.len() as f64,
            views.len()
        );
    };
    for _ in 0..2 {
        per_view("fieldkit's identity", &|v| {
            fieldkit::crypt::decrypt_with_any(std::slice::from_ref(&identity), v).expect("decrypt")
        });
        per_view("age's ssh identity", &|v| {
            fieldkit::crypt::decrypt_with_any(std::slice::from_ref(&age_identity), v)
                .expect("decrypt")
        });
    }
    drop(all);

    // Opening: read, verify, decrypt, load the form, first frame.
    let runs = env_usize("FIELDKIT_BENCH_RUNS", 15);
    let mut open_times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let given: Vec<Given> = files
            .iter()
            .map(|p| Given {
                file: p.display().to_string(),
                bytes: std::fs::read(p).expect("read"),
            })
            .collect();
        let opened = supervise::open(given, &signers, &identity, &forms_at);
        {
            let app = App::new(&opened, Lang::En);
            let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
            terminal
                .draw(|f| fieldkit::tui::supervisor::view::render(&app, f))
                .expect("draw");
        }
        open_times.push(t.elapsed());
        last = Some(opened);
    }
    let opened = Arc::new(last.expect("runs"));
    assert!(opened.failed.is_empty(), "{:?}", opened.failed);
    let viewed = opened.entries.iter().filter(|e| e.view().is_some()).count();
    println!(
        "{} records, {viewed} review views decrypted, {} forms loaded",
        opened.entries.len(),
        opened.forms.len()
    );
    common::percentiles(
        &format!("open {bundles} bundles x {records} (verify+decrypt+list)"),
        open_times,
    );

    // Moving: a key and the frame it draws.
    let mut app = App::new(&opened, Lang::En);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let mut moves = Vec::new();
    let n = opened.entries.len();
    for i in 0..4_000 {
        // Down to the end and back up, paging through the whole list.
        let code = if (i / n.max(1)) % 2 == 0 {
            KeyCode::Down
        } else {
            KeyCode::Up
        };
        let t = Instant::now();
        app.update(key(code));
        terminal
            .draw(|f| fieldkit::tui::supervisor::view::render(&app, f))
            .expect("draw");
        moves.push(t.elapsed());
    }
    common::percentiles("move between records (key + 80x24 frame)", moves);
    let mut opens: Vec<Duration> = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        app.update(key(KeyCode::Enter));
        app.update(key(KeyCode::Down));
        terminal
            .draw(|f| fieldkit::tui::supervisor::view::render(&app, f))
            .expect("draw");
        opens.push(t.elapsed());
        app.update(key(KeyCode::Esc));
        app.update(key(KeyCode::Down));
    }
    common::percentiles("open a record's page (Enter + a move + frame)", opens);
    let mut next: Vec<Duration> = Vec::new();
    app.update(key(KeyCode::Home));
    app.update(key(KeyCode::Enter));
    for _ in 0..2_000 {
        let t = Instant::now();
        app.update(key(KeyCode::Char('n')));
        terminal
            .draw(|f| fieldkit::tui::supervisor::view::render(&app, f))
            .expect("draw");
        next.push(t.elapsed());
    }
    common::percentiles("next record from a record's page (n + frame)", next);
    if let Some(kb) = common::proc_kb("VmHWM") {
        println!("peak resident memory: {:.1} MB", kb as f64 / 1024.0);
    }
}
