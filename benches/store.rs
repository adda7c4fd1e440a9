//! Store figures (`cargo bench --bench store`): autosave of one answer
//! (encrypt the draft, write, flush, sync), opening a store of 10,000
//! records and listing them, the passphrase's key derivation apart, and
//! the resident memory of a process holding that store open. The opening
//! is measured in a fresh child process (this binary run again), so the
//! memory figure is not inflated by building the store. Asserts nothing.
//! FIELDKIT_BENCH_AUTOSAVE_ONLY=1 stops after the autosave figures (with
//! and without paradata).

mod common;
use common::{percentiles, proc_kb};

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use fieldkit::crypt;
use fieldkit::store::profile::{self, Home};
use fieldkit::store::{Draft, Store};
use serde_json::{Map, Value, json};

const PASS: &str = "correct horse battery";
const RECORDS: usize = 10_000;

/// A draft of about 2 KB of JSON: 50 answers.
/// The form text the records are made with (its hash is in every draft).
const FORM: &[u8] = b"[settings]\nform_id = \"t\"\n";

fn answers(i: usize) -> Map<String, Value> {
    (0..50)
        .map(|k| {
            (
                format!("question_{k:02}"),
                json!(format!("answer {i}/{k} with some text")),
            )
        })
        .collect()
}

fn draft(i: usize) -> Draft {
    let mut d = Draft::new(
        "dtm_site_assessment",
        "2026.1",
        &fieldkit::bundle::sha256_hex(FORM),
        "2026-11-22T09:00:00+07:00",
    );
    d.answers = answers(i);
    d.instance_name = format!("site {i}");
    d
}

fn create(dir: &Path) -> Store {
    let home = Home::new(dir.join("home"));
    let dm = age::x25519::Identity::generate();
    let made = profile::create(
        &home,
        "bench",
        "",
        &crypt::passphrase(PASS),
        &format!("{}\n", dm.to_public()),
        "2026-11-22T09:00:00+07:00",
    )
    .expect("profile");
    let public = made.public.clone();
    let store = Store::create(home.clone(), made, "2026-11-22T09:00:00+07:00").expect("store");
    profile::finish(&home, &public).expect("profile");
    store
}

fn bench_autosave(dir: &Path) {
    let store = create(dir);
    let mut d = draft(0);
    store.save_draft(&d, "").expect("save");
    let mut samples = Vec::new();
    for k in 0..500 {
        d.answers.insert(
            format!("question_{:02}", k % 50),
            json!(format!("changed {k}")),
        );
        let start = Instant::now();
        store.save_draft(&d, "question").expect("save");
        samples.push(start.elapsed());
    }
    let size = serde_json::to_vec(&d).map(|v| v.len()).unwrap_or(0);
    percentiles(
        &format!("autosave one answer ({size} B draft: encrypt, write, sync)"),
        samples,
    );
    // The same draft with the paradata of its 50 questions (each visited
    // twice): the answer's save, and a question coming into focus (the
    // paradata alone, no audit event).
    let start = fieldkit::clock::now();
    let mut p = fieldkit::store::paradata::DraftParadata::new(start);
    for k in 0..100 {
        let at = fieldkit::form::dates::DateTime {
            epoch_ms: start.epoch_ms + k * 7_000,
            ..start
        };
        p.tick(at, Some(&format!("question_{:02}", k % 50)));
        p.answered(&format!("question_{:02}", k % 50), k >= 50);
    }
    d.paradata = Some(p);
    let mut answered = Vec::new();
    let mut focused = Vec::new();
    for k in 0..500 {
        d.answers.insert(
            format!("question_{:02}", k % 50),
            json!(format!("again {k}")),
        );
        let started = Instant::now();
        store.save_draft(&d, "question").expect("save");
        answered.push(started.elapsed());
        let started = Instant::now();
        store.save_draft_paradata(&d).expect("save");
        focused.push(started.elapsed());
    }
    let size = serde_json::to_vec(&d).map(|v| v.len()).unwrap_or(0);
    percentiles(
        &format!("autosave one answer with paradata ({size} B draft)"),
        answered,
    );
    percentiles(
        &format!("save the paradata alone, focus moved ({size} B draft)"),
        focused,
    );
}

/// Builds a store of 10,000 records: 7,000 finalized, 3,000 drafts.
fn build(dir: &Path) {
    let store = create(dir);
    let start = Instant::now();
    for i in 0..RECORDS {
        let d = draft(i);
        store.save_draft(&d, "").expect("save");
        if i % 10 < 7 {
            store
                .finalize(&d, &d.answers, "2026-11-22T10:00:00+07:00", FORM)
                .expect("finalize");
        }
    }
    println!(
        "built a store of {RECORDS} records (7,000 finalized, 3,000 drafts) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// In the child: unlock, open, list; print the figures.
fn open_and_list(dir: &Path) {
    let home = Home::new(dir.join("home"));
    let rss_start = proc_kb("VmRSS:");
    let start = Instant::now();
    let unlocked = profile::unlock(&home, &crypt::passphrase(PASS)).expect("unlock");
    let kdf = start.elapsed();
    let peak_after_kdf = proc_kb("VmHWM:");
    let mb = |k: Option<u64>| k.map_or("?".into(), |k| (k / 1024).to_string());
    let rss_after_kdf = mb(proc_kb("VmRSS:"));
    let start = Instant::now();
    let store = Store::open_with(home, unlocked).expect("open");
    let opened = start.elapsed();
    let rss_opened = mb(proc_kb("VmRSS:"));
    let listing = store.listing().expect("list");
    let listed = start.elapsed();
    let rss_listed = mb(proc_kb("VmRSS:"));
    let status = store.status().expect("status");
    println!(
        "resident MB: after unlock {rss_after_kdf}, after open {rss_opened}, after listing {rss_listed}"
    );
    black_box(&listing);
    println!(
        "key derivation (scrypt 2^{}, unlock the profile)          {:>8.1} ms  peak RSS {} MB",
        crypt::WORK_FACTOR,
        kdf.as_secs_f64() * 1000.0,
        peak_after_kdf.map_or("?".into(), |k| (k / 1024).to_string())
    );
    println!(
        "open the store of {} records, then list them                {:>8.1} ms  (open {:.1} ms)",
        listing.len(),
        listed.as_secs_f64() * 1000.0,
        opened.as_secs_f64() * 1000.0
    );
    println!(
        "status {status:?}; resident memory with the store open and listed: {} MB (at start {} MB)",
        proc_kb("VmRSS:").map_or("?".into(), |k| (k / 1024).to_string()),
        rss_start.map_or("?".into(), |k| (k / 1024).to_string()),
    );
}

/// Why listing entries are sealed with a symmetric key and not age files:
/// one X25519 age decryption per entry, timed.
fn bench_age_listing_alternative() {
    let id = age::x25519::Identity::generate();
    let entry = vec![b'x'; 300];
    let files: Vec<Vec<u8>> = (0..1000)
        .map(|_| crypt::encrypt_to(&[id.to_public()], &entry).expect("encrypt"))
        .collect();
    let start = Instant::now();
    for f in &files {
        black_box(crypt::decrypt_with(&id, f).expect("decrypt"));
    }
    let per = start.elapsed() / 1000;
    let key = crypt::SealKey::generate();
    let sealed: Vec<Vec<u8>> = (0..1000).map(|_| crypt::seal(&key, b"c", &entry)).collect();
    let start = Instant::now();
    for s in &sealed {
        black_box(crypt::open(&key, b"c", s).expect("open"));
    }
    let sealed_per = start.elapsed() / 1000;
    println!(
        "one 300 B listing entry: age X25519 {:.1} us ({:.0} ms for 10,000), sealed {:.2} us ({:.1} ms for 10,000)",
        per.as_secs_f64() * 1e6,
        per.as_secs_f64() * 1e4 * 1000.0,
        sealed_per.as_secs_f64() * 1e6,
        sealed_per.as_secs_f64() * 1e4 * 1000.0
    );
}

fn main() {
    if let Ok(dir) = std::env::var("FIELDKIT_BENCH_OPEN") {
        open_and_list(Path::new(&dir));
        return;
    }
    let scratch = std::env::var_os("FIELDKIT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&scratch).expect("temp dir");
    println!("store benchmark in {}", dir.path().display());
    bench_autosave(&dir.path().join("autosave"));
    if std::env::var_os("FIELDKIT_BENCH_AUTOSAVE_ONLY").is_some() {
        return;
    }
    bench_age_listing_alternative();
    let big = dir.path().join("big");
    build(&big);
    for _ in 0..3 {
        let out = std::process::Command::new(std::env::current_exe().expect("exe"))
            .env("FIELDKIT_BENCH_OPEN", &big)
            .output()
            .expect("child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
}
