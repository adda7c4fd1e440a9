//! Crash safety: the real binary saving records is killed (SIGKILL on
//! Unix, TerminateProcess on Windows) at random points, many times; every
//! save it reported before dying must be there, and the store must open.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use fieldkit::store::backend::{Backend, Change, SledBackend, Tree};

use crate::support::{Enumerator, stderr};

const ROUNDS: usize = 30;

/// A small xorshift generator: random kill points without a dependency.
pub(crate) struct Rng(pub(crate) u64);

/// A seed from the clock (odd, as xorshift needs), printed on failure.
pub(crate) fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1
}

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn record(i: usize) -> String {
    let mut v: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    v["destination_place"] = json!(format!("round place {i}"));
    if i.is_multiple_of(3) {
        v["age"] = json!(300); // invalid: stays a draft
    }
    v.to_string()
}

#[test]
fn killed_mid_save_loses_no_reported_save_and_the_store_opens() {
    let e = Enumerator::init("enum-03");
    let seed = seed();
    let mut rng = Rng(seed);
    let mut reported: Vec<(String, String)> = Vec::new();
    let mut sent = 0usize;
    for round in 0..ROUNDS {
        let mut child = e
            .command(&[
                "fill",
                "dtm_flow_monitoring",
                "--answers",
                "-",
                "--finalize",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let base = sent;
        let writer = std::thread::spawn(move || {
            // Feeds records until the process dies (a broken pipe).
            for i in 0.. {
                if writeln!(stdin, "{}", record(base + i)).is_err() || stdin.flush().is_err() {
                    return i;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            0
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        // Kill after a random time: during the unlock, between saves, or
        // in the middle of one (encrypt, write, flush, sync).
        let wait = Duration::from_micros(rng.below(900_000));
        let start = Instant::now();
        let mut lines = Vec::new();
        while start.elapsed() < wait {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(1)) {
                lines.push(l);
            }
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        reader.join().unwrap();
        // Lines printed before the kill are saves that returned.
        lines.extend(rx.try_iter());
        sent += writer.join().unwrap();
        for l in &lines {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|err| panic!("round {round}: bad line {l:?}: {err}"));
            reported.push((
                v["record_id"].as_str().unwrap().to_string(),
                v["saved"].as_str().unwrap().to_string(),
            ));
        }
        // The store opens after every kill.
        let out = e.run(&["status", "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round} (seed {seed}, killed after {wait:?}, {status}): {}",
            stderr(&out)
        );
    }
    let store = e.open();
    for (id, state) in &reported {
        match state.as_str() {
            "draft" => {
                store
                    .load_draft(id)
                    .unwrap_or_else(|err| panic!("seed {seed}: draft {id} lost: {err}"));
            }
            "outbox" => {
                store
                    .outbox_record(id)
                    .unwrap_or_else(|err| panic!("seed {seed}: record {id} lost: {err}"));
            }
            other => panic!("unexpected state {other}"),
        }
    }
    let status = store.status().unwrap();
    let drafts = reported.iter().filter(|r| r.1 == "draft").count();
    assert!(status.drafts >= drafts && status.outbox >= reported.len() - drafts);
    // The kills must land after some saves too, or the test checked
    // nothing; how many depends on the machine's load, so only none fails.
    assert!(
        !reported.is_empty(),
        "seed {seed}: every kill landed before the first save"
    );
}

/// The engine on the store in `dir`, once the fieldkit closed before has
/// let go of sled's lock (its threads may hold it a moment after exit).
fn engine(dir: &std::path::Path) -> SledBackend {
    for _ in 0..1_000 {
        match SledBackend::open(dir) {
            Err(e) if e.to_string().contains("acquire lock") => {
                std::thread::sleep(Duration::from_millis(5))
            }
            other => return other.unwrap(),
        }
    }
    panic!("sled's lock on {} was never released", dir.display());
}

/// Every entry of every tree but the compaction's own, read with the
/// engine itself.
fn entries(home: &std::path::Path) -> Vec<(Tree, Vec<u8>, Vec<u8>)> {
    let db = engine(&home.join("store"));
    Tree::ALL
        .into_iter()
        .flat_map(|t| {
            let all = db.entries(t).unwrap();
            all.into_iter().map(move |(k, v)| (t, k, v))
        })
        // What a compaction writes of its own: the engine's counters and
        // the schema.
        .filter(|(t, k, _)| !(*t == Tree::Meta && (k.starts_with(b"engine/") || k == b"schema")))
        .collect()
}

/// A store grown in short runs (sled keeps old copies in its log then) is
/// compacted by the next opening; killed in the middle of the copy (eight
/// times, just after its folder appears) and then at every point, from
/// 5 ms on in steps of 4 ms until a run ends by itself, the store opens after
/// every kill with every entry it had, nothing is left beside it, and the
/// run that finishes leaves it smaller.
#[test]
fn killed_mid_compaction_the_store_opens_whole_every_time() {
    let e = Enumerator::init("enum-03");
    let records: Vec<String> = (0..6).map(|i| record(3 * i + 1)).collect();
    let out = e.fill("dtm_flow_monitoring", &records.join("\n"), &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Entries written in one run and removed in the next, as a round's
    // records are (finalized, exported, received); the last run's stay
    // (1.6 MB, so that the copy takes a while).
    let dir = e.home.join("store");
    for run in 0..24 {
        let db = engine(&dir);
        for i in 0..100u32 {
            let key = |r: usize| format!("churn {r} {i}").into_bytes();
            let mut changes = vec![Change::put(Tree::Drafts, key(run), vec![7; 16_000])];
            if run > 0 {
                changes.push(Change::remove(Tree::Drafts, key(run - 1)));
            }
            db.apply(&changes).unwrap();
        }
    }
    let before = entries(&e.home);
    let status = e.status();
    let files = std::fs::metadata(dir.join("db")).unwrap().len();
    let mut wait = Duration::from_millis(5);
    let mut killed = 0;
    let mut mid_copy = 0;
    for round in 0..400 {
        // An opening with the passphrase that writes nothing else: `fill`
        // given no answers.
        let mut child = e
            .command(&["fill", "dtm_flow_monitoring", "--answers", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The first eight runs are killed 0 to 7 ms after the copy's
        // folder appears; the others at a time that grows each run.
        let copy = e.home.join("store-compacted");
        if round < 8 {
            let start = Instant::now();
            while !copy.exists()
                && child.try_wait().unwrap().is_none()
                && start.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_millis(round));
        } else {
            std::thread::sleep(wait);
            wait += Duration::from_millis(4);
        }
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        // A kill in the middle of the copy leaves it beside the store.
        if copy.exists() {
            mid_copy += 1;
        }
        assert_eq!(e.status(), status, "round {round}, killed after {wait:?}");
        let after = entries(&e.home);
        // Opening writes its own audit events; nothing else changes.
        let held: Vec<_> = after.iter().filter(|(t, ..)| *t != Tree::Audit).collect();
        let had: Vec<_> = before.iter().filter(|(t, ..)| *t != Tree::Audit).collect();
        assert_eq!(held, had, "round {round}, killed after {wait:?}");
        let audit_had = before.iter().filter(|(t, ..)| *t == Tree::Audit);
        assert!(
            audit_had.into_iter().all(|x| after.contains(x)),
            "round {round}"
        );
        for beside in ["store-compacted", "store-replaced"] {
            assert!(
                !e.home.join(beside).exists(),
                "round {round}: {beside} left"
            );
        }
        if finished {
            eprintln!(
                "run {round} ended by itself; {killed} killed before, {mid_copy} of them in \
                 the middle of the copy"
            );
            break;
        }
    }
    let now = std::fs::metadata(dir.join("db")).unwrap().len();
    assert!(
        now < files / 2,
        "{now} bytes of log after compaction, {files} before"
    );
    assert!(
        mid_copy >= 4,
        "only {mid_copy} kill(s) landed in the middle of the copy ({killed} killed)"
    );
}
