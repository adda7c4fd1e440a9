//! Aggregation figures (`cargo bench --bench aggregate`): throughput of the
//! whole aggregation (verify, decrypt, merge, tables) on records of about
//! 2 KB, side by side with a bare single-core loop decrypting the same
//! record files with the age crate; then a million records (generated
//! here) with the peak resident memory of the aggregating process. The
//! aggregations run in child processes so that their memory is their own.
//! FIELDKIT_BENCH_MILLION=0 skips the million; FIELDKIT_BENCH_KEEP=1 keeps
//! the small set and prints how to aggregate it alone (for a profiler).
//! Then two laptops' bundles sharing 500 and 2,000 record ids with other
//! content (every one a conflict, both versions written aside).
//! FIELDKIT_BENCH_CONFLICTS=N,DIR only writes such a pair for N conflicts
//! into DIR (with `dm.key` and `allowed_signers`), to time the release
//! binary on it. FIELDKIT_BENCH_CORRECTIONS=N only aggregates one
//! laptop's N records and their corrections (version 2 of each, five
//! answers changed: N earlier versions held, 5N changes), with the peak
//! resident memory.
//!
//! FIELDKIT_BENCH_WAREHOUSE=N only times the warehouse (`--db`) on N
//! records (bundles of 10,000): taking them all in (against the bare
//! loop on all cores), then 10 new bundles of 1,000 given with all the
//! old ones (against the same 10 taken into an empty warehouse), the
//! warehouse's bytes a record against the bundles', and the tables
//! written from it; each step a child process with its peak RSS.
//!
//! First, side by side in one run (FIELDKIT_BENCH_TABLE_ONLY=1 stops
//! after it): `verify` time per record (best pass) on one bundle of 1,000 to 65,531
//! records (the most a bundle can hold) and over 200,000 records in 20
//! bundles, with the ratio of the largest to the smallest per record; then
//! aggregate's records/s on one 20,000-record bundle and on 20 bundles of
//! 1,000, each against (cores x the bare one-core age loop) over the same
//! record files. Asserts nothing.
//!
//! FIELDKIT_BENCH_PARADATA=1 (or 0) only aggregates 20 bundles of 1,000
//! records with (or without) the paradata of their 50 questions, beside
//! the bare age loop over the same files.

mod common;
use common::proc_kb;

use std::path::{Path, PathBuf};
use std::time::Instant;

use fieldkit::aggregate::{self, Options};
use fieldkit::bundle::signers::AllowedSigners;
use fieldkit::bundle::{self, Outgoing, Plan};
use serde_json::json;
use ssh_key::rand_core::OsRng;

const FORM: &str = r#"[settings]
form_id = "bench"
version = "1"
form_title = "Bench"
"#;

fn form_text() -> String {
    let mut text = FORM.to_string();
    for k in 0..50 {
        text.push_str(&format!(
            "[[survey]]\ntype = \"text\"\nname = \"question_{k:02}\"\nlabel = \"Question {k}\"\n"
        ));
    }
    text
}

/// One record of the bench form in plain (50 answers, `answer(k)` the
/// k-th) by `laptop` (enumerator, device).
fn plain_record(
    id: &str,
    laptop: (&str, &str),
    answer: impl Fn(usize) -> String,
) -> serde_json::Value {
    let values: serde_json::Map<String, serde_json::Value> = (0..50)
        .map(|k| (format!("question_{k:02}"), json!(answer(k))))
        .collect();
    json!({
        "format": "fieldkit-record/1", "record_id": id, "form_id": "bench",
        "form_version": "1", "enumerator_id": laptop.0, "device_id": laptop.1,
        "started": "2026-11-22T09:00:00+07:00",
        "finalized_at": "2026-11-22T10:00:00+07:00", "values": values,
    })
}

/// [`plain_record`] (with paradata when `FIELDKIT_BENCH_PARADATA=1`),
/// encrypted to `recipient`.
fn outgoing(
    id: &str,
    laptop: (&str, &str),
    answer: impl Fn(usize) -> String,
    sha: &str,
    recipient: &age::x25519::Recipient,
) -> Outgoing {
    let mut plain = plain_record(id, laptop, answer);
    if std::env::var("FIELDKIT_BENCH_PARADATA").as_deref() == Ok("1") {
        let questions: Vec<serde_json::Value> = (0..50)
            .map(|k| json!({"field": format!("question_{k:02}"), "seconds": 20 + k, "changes": k % 3, "visits": 1 + k % 2}))
            .collect();
        plain["paradata"] = json!({
            "start": "2026-11-22T09:00:00.000+07:00", "end": "2026-11-22T10:00:00+07:00",
            "duration_s": 2420, "questions": questions,
        });
    }
    Outgoing {
        record_id: id.to_string(),
        form_id: "bench".into(),
        form_version: "1".into(),
        form_sha256: sha.to_string(),
        finalized_at: "2026-11-22T10:00:00+07:00".into(),
        ciphertext: fieldkit::crypt::encrypt_to(
            std::slice::from_ref(recipient),
            plain.to_string().as_bytes(),
        )
        .expect("encrypt"),
    }
}

/// Writes `bundles` bundles of `per` records into `dir`; returns the DM
/// identity (as text) and the signers line.
fn generate(dir: &Path, bundles: usize, per: usize) -> (String, String) {
    generate_on(dir, bundles, per, Laptop::fresh()).0
}

/// One laptop's keys (and its data manager's) and where its chain is.
struct Laptop {
    dm: age::x25519::Identity,
    key: ssh_key::PrivateKey,
    next: u64,
    prev: String,
}

impl Laptop {
    /// New keys, the chain not begun.
    fn fresh() -> Laptop {
        Laptop {
            dm: age::x25519::Identity::generate(),
            key: ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).expect("key"),
            next: 1,
            prev: bundle::NO_PREVIOUS.to_string(),
        }
    }
}

/// The forms a bundle carries: (form id, version, sha-256, text).
type Forms = Vec<(String, String, String, Vec<u8>)>;

/// The bench form's sha-256 and the forms list a bundle carries.
fn bench_forms() -> (String, Forms) {
    let text = form_text().into_bytes();
    let sha = bundle::sha256_hex(&text);
    let forms = vec![("bench".to_string(), "1".to_string(), sha.clone(), text)];
    (sha, forms)
}

/// `dir/dm.key` (the data manager's identity) and `dir/allowed_signers`
/// (`signers` as given).
fn write_keys(dir: &Path, dm: &age::x25519::Identity, signers: &str) {
    let dm_text = age::secrecy::ExposeSecret::expose_secret(&dm.to_string()).to_string();
    std::fs::write(dir.join("dm.key"), dm_text + "\n").expect("write");
    std::fs::write(dir.join("allowed_signers"), signers).expect("write");
}

/// [`generate`] for a given laptop, whose chain goes on: the laptop after.
fn generate_on(
    dir: &Path,
    bundles: usize,
    per: usize,
    laptop: Laptop,
) -> ((String, String), Laptop) {
    std::fs::create_dir_all(dir).expect("dir");
    let Laptop {
        dm,
        key,
        next,
        mut prev,
    } = laptop;
    let recipient = dm.to_public();
    let (sha, forms) = bench_forms();
    for b in 0..bundles {
        let ids: Vec<String> = (0..per).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = per.div_ceil(threads);
        let records: Vec<Outgoing> = std::thread::scope(|scope| {
            let workers: Vec<_> = ids
                .chunks(chunk)
                .map(|part| {
                    let recipient = recipient.clone();
                    let sha = sha.clone();
                    scope.spawn(move || {
                        part.iter()
                            .enumerate()
                            .map(|(i, id)| {
                                let laptop = ("bench", "01a00000-0000-7000-8000-0000000be4c4");
                                let answer = |k| format!("answer {i}/{k} text");
                                outgoing(id, laptop, answer, &sha, &recipient)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("worker"))
                .collect()
        });
        let plan = Plan {
            enumerator_id: "bench",
            device_id: "01a00000-0000-7000-8000-0000000be4c4",
            sequence: next + b as u64,
            prev_manifest_sha256: &prev,
            records: &records,
            forms: &forms,
        };
        let built = bundle::build(&plan, &key).expect("build");
        prev = built.manifest_sha256.clone();
        let name = format!("b{:05}.zip", next + b as u64);
        std::fs::write(dir.join(name), &built.zip).expect("write");
    }
    let dm_text = age::secrecy::ExposeSecret::expose_secret(&dm.to_string()).to_string();
    let signers = format!("bench {}", key.public_key().to_openssh().expect("public"));
    let next = next + bundles as u64;
    (
        (dm_text, signers),
        Laptop {
            dm,
            key,
            next,
            prev,
        },
    )
}

/// Two laptops' bundles in `dir/bundles` sharing `n` record ids, with other
/// answers in each: `n` conflicts. Writes `dir/dm.key` and
/// `dir/allowed_signers` beside them.
fn generate_conflicts(dir: &Path, n: usize) {
    let bundles = dir.join("bundles");
    std::fs::create_dir_all(&bundles).expect("dir");
    let dm = age::x25519::Identity::generate();
    let recipient = dm.to_public();
    let (sha, forms) = bench_forms();
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut signers = String::new();
    for (laptop, device) in [
        ("bench-a", "01a00000-0000-7000-8000-00000000000a"),
        ("bench-b", "01a00000-0000-7000-8000-00000000000b"),
    ] {
        let key =
            ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).expect("key");
        signers.push_str(&format!(
            "{laptop} {}\n",
            key.public_key().to_openssh().expect("public")
        ));
        let records: Vec<Outgoing> = ids
            .iter()
            .map(|id| {
                outgoing(
                    id,
                    (laptop, device),
                    |k| format!("{laptop} {k}"),
                    &sha,
                    &recipient,
                )
            })
            .collect();
        let plan = Plan {
            enumerator_id: laptop,
            device_id: device,
            sequence: 1,
            prev_manifest_sha256: bundle::NO_PREVIOUS,
            records: &records,
            forms: &forms,
        };
        let built = bundle::build(&plan, &key).expect("build");
        std::fs::write(bundles.join(format!("{laptop}.zip")), &built.zip).expect("write");
    }
    write_keys(dir, &dm, &signers);
}

/// One laptop's two bundles in `dir/bundles`: `n` records, then the
/// correction of each (version 2, superseding 1, five answers changed):
/// `n` records with two versions, the earlier in `versions/`, five changes
/// each in `changes.csv`. Writes `dir/dm.key` and `dir/allowed_signers`.
fn generate_corrections(dir: &Path, n: usize) {
    let bundles = dir.join("bundles");
    std::fs::create_dir_all(&bundles).expect("dir");
    let dm = age::x25519::Identity::generate();
    let recipient = dm.to_public();
    let (_, forms) = bench_forms();
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let key = ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).expect("key");
    let laptop = ("bench", "01a00000-0000-7000-8000-0000000be4c4");
    let mut prev = bundle::NO_PREVIOUS.to_string();
    for version in [1u32, 2] {
        let mut entries = Vec::with_capacity(n);
        let mut bytes = std::collections::HashMap::with_capacity(n);
        for (i, id) in ids.iter().enumerate() {
            let answer = |k: usize| {
                if version == 2 && k < 5 {
                    format!("corrected {i}/{k}")
                } else {
                    format!("answer {i}/{k} text")
                }
            };
            let mut plain = plain_record(id, laptop, answer);
            if version == 2 {
                plain["version"] = json!(2);
                plain["supersedes"] = json!(1);
            }
            let ciphertext = fieldkit::crypt::encrypt_to(
                std::slice::from_ref(&recipient),
                plain.to_string().as_bytes(),
            )
            .expect("encrypt");
            let mut e =
                bundle::entry_of(id, "bench", "1", "2026-11-22T10:00:00+07:00", &ciphertext);
            if version == 2 {
                e.version = 2;
                e.supersedes = Some(1);
            }
            entries.push(e);
            bytes.insert(id.clone(), ciphertext);
        }
        let plan = bundle::Streamed {
            enumerator_id: laptop.0,
            device_id: laptop.1,
            sequence: u64::from(version),
            prev_manifest_sha256: &prev,
            entries,
            forms: &forms,
            media: Vec::new(),
        };
        let built = bundle::build_streamed(plan, &key, &mut |e| {
            Ok(std::borrow::Cow::Borrowed(bytes[&e.record_id].as_slice()))
        })
        .expect("build");
        prev = built.manifest_sha256.clone();
        std::fs::write(bundles.join(format!("v{version}.zip")), &built.zip).expect("write");
    }
    let signers = format!("bench {}\n", key.public_key().to_openssh().expect("public"));
    write_keys(dir, &dm, &signers);
}

/// In a child: aggregate `dir`'s conflicting pair, with the figures.
fn conflicts_figure(dir: &Path, n: usize) {
    generate_conflicts(dir, n);
    let dm = std::fs::read_to_string(dir.join("dm.key")).expect("dm");
    let signers = std::fs::read_to_string(dir.join("allowed_signers")).expect("signers");
    print!("{n} conflicts: ");
    run_child(&dir.join("bundles"), &dir.join("out"), dm.trim(), &signers);
}

/// Aggregates every bundle of `dir` into `out` in this process: the
/// summary, and the seconds it took.
/// The bundle files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

fn options(out: &Path, (dm, signers): (&str, &str), threads: usize, xlsx: bool) -> Options {
    Options {
        identities: fieldkit::crypt::parse_identities(dm).expect("identity"),
        signers: AllowedSigners::parse(signers).expect("signers"),
        out: out.to_path_buf(),
        forms_dir: None,
        labels: None,
        hxl: false,
        xlsx,
        progress: false,
        threads,
        entities: None,
        assignments: None,
        checks: Default::default(),
        keep_bytes: aggregate::KEEP_BYTES,
        receipts: Vec::new(),
        supervisors: None,
        parquet: None,
        db: None,
    }
}

fn timed_aggregate(
    dir: &Path,
    out: &Path,
    keys: (&str, &str),
    threads: usize,
    xlsx: bool,
) -> (aggregate::summary::Summary, f64) {
    let files = files_in(dir);
    let opts = options(out, keys, threads, xlsx);
    let start = Instant::now();
    let summary = aggregate::run(&files, &opts).expect("aggregate");
    (summary, start.elapsed().as_secs_f64())
}

/// In a child: the bundles of the folders in FIELDKIT_BENCH_CHILD_DB
/// (`;`-separated) taken into the warehouse FIELDKIT_BENCH_DB, and with
/// FIELDKIT_BENCH_OUT the tables written from it; time and peak RSS.
fn warehouse_child(dirs: &str) {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let files: Vec<PathBuf> = dirs
        .split(';')
        .filter(|d| !d.is_empty())
        .flat_map(|d| files_in(Path::new(d)))
        .collect();
    let out = var("FIELDKIT_BENCH_OUT");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut opts = options(
        Path::new(&out),
        (&var("FIELDKIT_BENCH_DM"), &var("FIELDKIT_BENCH_SIGNERS")),
        threads,
        false,
    );
    let db = PathBuf::from(var("FIELDKIT_BENCH_DB"));
    opts.db = Some(db.clone());
    let start = Instant::now();
    let (what, records) = if out.is_empty() {
        let (taken, refused) = aggregate::take_in(&files, &db, &opts).expect("take in");
        assert!(refused.is_empty(), "{refused:?}");
        (
            format!(
                "took in {} new bundle(s), {} already in; holds {} records",
                taken.new_bundles, taken.known_bundles, taken.records
            ),
            taken.new_records,
        )
    } else {
        let summary = aggregate::run(&files, &opts).expect("aggregate");
        (
            format!(
                "tables of {} records, problems {}",
                summary.records,
                summary.problems()
            ),
            summary.records,
        )
    };
    let took = start.elapsed().as_secs_f64();
    println!(
        "  {what}: {took:.2} s ({:.0} records/s); peak RSS {} MB",
        records as f64 / took,
        proc_kb("VmHWM:").map_or(0, |k| k / 1024)
    );
}

fn run_warehouse_child(dirs: &[&Path], db: &Path, out: Option<&Path>, keys: (&str, &str)) {
    let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let result = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env("FIELDKIT_BENCH_CHILD_DB", dirs.join(";"))
        .env("FIELDKIT_BENCH_DB", db)
        .env(
            "FIELDKIT_BENCH_OUT",
            out.map(|o| o.display().to_string()).unwrap_or_default(),
        )
        .env("FIELDKIT_BENCH_DM", keys.0)
        .env("FIELDKIT_BENCH_SIGNERS", keys.1)
        .output()
        .expect("child");
    print!("{}", String::from_utf8_lossy(&result.stdout));
    eprint!("{}", String::from_utf8_lossy(&result.stderr));
}

/// Bytes of the files in `dir` (not below).
fn bytes_in(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum()
}

/// The warehouse figures on `n` records (see the header).
fn warehouse_figures(tmp: &Path, n: usize, cores: usize) {
    let per = n.min(10_000);
    let old = tmp.join("old");
    let start = Instant::now();
    let laptop = Laptop::fresh();
    let ((dm, signers), laptop) = generate_on(&old, n.div_ceil(per), per, laptop);
    // The new bundles: the same laptop's next ones.
    let new = tmp.join("new");
    generate_on(&new, 10, 1_000, laptop);
    println!(
        "generated {n} records in bundles of {per} and 10 new bundles of 1,000 in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    let rate = bare(&new, &dm);
    println!(
        "target for taking all in: at least 0.8 x {cores} cores x {rate:.0} = {:.0} records/s",
        0.8 * cores as f64 * rate
    );
    let db = tmp.join("warehouse.sqlite");
    println!("1. all {n} records taken into an empty warehouse:");
    run_warehouse_child(&[&old], &db, None, (&dm, &signers));
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let db_bytes = size(&db) + size(&tmp.join("warehouse.sqlite-wal"));
    println!(
        "   warehouse {:.1} MB = {:.0} B a record; the bundles {:.1} MB = {:.0} B a record ({:.2} x)",
        db_bytes as f64 / 1e6,
        db_bytes as f64 / n as f64,
        bytes_in(&old) as f64 / 1e6,
        bytes_in(&old) as f64 / n as f64,
        db_bytes as f64 / bytes_in(&old) as f64
    );
    println!("2. 10 new bundles given with all the old ones:");
    run_warehouse_child(&[&old, &new], &db, None, (&dm, &signers));
    println!("   the same 10 into an empty warehouse:");
    run_warehouse_child(&[&new], &tmp.join("alone.sqlite"), None, (&dm, &signers));
    println!(
        "3. the tables of all {} records written from the warehouse:",
        n + 10_000
    );
    run_warehouse_child(&[], &db, Some(&tmp.join("out")), (&dm, &signers));
}

/// In a child: aggregate `dir` into `out`, print records/s and peak RSS.
fn child(dir: &Path, out: &Path, dm: &str, signers: &str) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (summary, took) = timed_aggregate(dir, out, (dm, signers), threads, false);
    println!(
        "aggregate: {} records in {took:.2} s = {:.0} records/s; peak RSS {} MB; problems {}; \
         {:?}",
        summary.records,
        summary.records as f64 / took,
        proc_kb("VmHWM:").map_or(0, |k| k / 1024),
        summary.problems(),
        summary.work
    );
    if let Some(f) = summary.failed_bundles.first() {
        println!("first failed bundle: {}: {:?}", f.file, f.problems);
    }
}

/// The record files of the bundles in `dir`.
fn record_files(dir: &Path) -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        for e in fieldkit::bundle::archive::read(&bytes).expect("zip") {
            if e.name.starts_with("records/") {
                records.push(e.data.to_vec());
            }
        }
    }
    records
}

/// The same bare loop on every core at once: what this machine can do
/// when nothing but decryption runs.
fn bare_all_cores(dir: &Path, dm: &str, cores: usize) -> f64 {
    let identity: age::x25519::Identity = dm.parse().expect("identity");
    let records = record_files(dir);
    let chunk = records.len().div_ceil(cores);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for part in records.chunks(chunk) {
            let identity = &identity;
            scope.spawn(move || {
                for r in part {
                    std::hint::black_box(age::decrypt(identity, r).expect("decrypt"));
                }
            });
        }
    });
    let rate = records.len() as f64 / start.elapsed().as_secs_f64();
    println!("bare loop, {cores} cores at once: {rate:.0} records/s");
    rate
}

/// The bare loop: one core, age::decrypt over the same record files.
fn bare(dir: &Path, dm: &str) -> f64 {
    let identity: age::x25519::Identity = dm.parse().expect("identity");
    let records = record_files(dir);
    let start = Instant::now();
    for r in &records {
        std::hint::black_box(age::decrypt(&identity, r).expect("decrypt"));
    }
    let rate = records.len() as f64 / start.elapsed().as_secs_f64();
    println!(
        "bare loop, one core: {} records in {:.2} s = {rate:.0} records/s",
        records.len(),
        records.len() as f64 / rate
    );
    rate
}

/// The same bare loop with fieldkit's X25519 identity, which works out
/// its public key once instead of for every file (what `aggregate` uses).
fn bare_fieldkit(dir: &Path, dm: &str) {
    let identity: age::x25519::Identity = dm.parse().expect("identity");
    let ours = [fieldkit::crypt::X25519Identity::new(&identity)];
    let records = record_files(dir);
    let start = Instant::now();
    for r in &records {
        std::hint::black_box(fieldkit::crypt::decrypt_with_any(&ours, r).expect("decrypt"));
    }
    let rate = records.len() as f64 / start.elapsed().as_secs_f64();
    println!("bare loop, one core, fieldkit's identity: {rate:.0} records/s");
}

fn run_child(dir: &Path, out: &Path, dm: &str, signers: &str) {
    let result = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env("FIELDKIT_BENCH_CHILD", dir)
        .env("FIELDKIT_BENCH_OUT", out)
        .env("FIELDKIT_BENCH_DM", dm)
        .env("FIELDKIT_BENCH_SIGNERS", signers)
        .output()
        .expect("child");
    print!("{}", String::from_utf8_lossy(&result.stdout));
    eprint!("{}", String::from_utf8_lossy(&result.stderr));
}

fn main() {
    if let Ok(dir) = std::env::var("FIELDKIT_BENCH_CHILD") {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        child(
            Path::new(&dir),
            Path::new(&var("FIELDKIT_BENCH_OUT")),
            &var("FIELDKIT_BENCH_DM"),
            &var("FIELDKIT_BENCH_SIGNERS"),
        );
        return;
    }
    if let Ok(dirs) = std::env::var("FIELDKIT_BENCH_CHILD_DB") {
        warehouse_child(&dirs);
        return;
    }
    if let Ok(spec) = std::env::var("FIELDKIT_BENCH_CONFLICTS") {
        let (n, dir) = spec
            .split_once(',')
            .expect("FIELDKIT_BENCH_CONFLICTS=N,DIR");
        generate_conflicts(Path::new(dir), n.parse().expect("a number of conflicts"));
        return;
    }
    if let Ok(n) = std::env::var("FIELDKIT_BENCH_CORRECTIONS") {
        // Only the corrections figure: `n` records each corrected once.
        let n: usize = n.parse().expect("FIELDKIT_BENCH_CORRECTIONS=N");
        let tmp = tempfile::tempdir().expect("temp dir");
        generate_corrections(tmp.path(), n);
        let dm = std::fs::read_to_string(tmp.path().join("dm.key")).expect("dm");
        let signers = std::fs::read_to_string(tmp.path().join("allowed_signers")).expect("signers");
        print!("{n} records corrected once ({} versions): ", 2 * n);
        run_child(
            &tmp.path().join("bundles"),
            &tmp.path().join("out"),
            dm.trim(),
            &signers,
        );
        return;
    }
    if let Ok(with) = std::env::var("FIELDKIT_BENCH_PARADATA") {
        paradata_figures(&with);
        return;
    }
    let scratch = std::env::var_os("FIELDKIT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::tempdir_in(&scratch).expect("temp dir");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    if let Ok(n) = std::env::var("FIELDKIT_BENCH_WAREHOUSE") {
        let n: usize = n.parse().expect("FIELDKIT_BENCH_WAREHOUSE=N records");
        warehouse_figures(tmp.path(), n, cores);
        return;
    }
    table(tmp.path(), cores);
    if std::env::var_os("FIELDKIT_BENCH_TABLE_ONLY").is_some() {
        return;
    }

    let small = tmp.path().join("small");
    let start = Instant::now();
    let (dm, signers) = generate(&small, 20, 1000);
    println!(
        "generated 20 bundles of 1,000 records in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let rate = bare(&small, &dm);
    bare_all_cores(&small, &dm, cores);
    bare_fieldkit(&small, &dm);
    println!(
        "target: at least 0.8 x {cores} cores x {rate:.0} = {:.0} records/s",
        0.8 * cores as f64 * rate
    );
    run_child(&small, &tmp.path().join("out-small"), &dm, &signers);
    if std::env::var_os("FIELDKIT_BENCH_KEEP").is_some() {
        // For profiling the aggregation alone: the child's environment.
        let dir = tmp.keep();
        println!(
            "kept: FIELDKIT_BENCH_CHILD={} FIELDKIT_BENCH_OUT={} FIELDKIT_BENCH_DM={dm} FIELDKIT_BENCH_SIGNERS='{signers}'",
            dir.join("small").display(),
            dir.join("out-small").display()
        );
        return;
    }

    for n in [500, 2000] {
        conflicts_figure(&tmp.path().join(format!("conflicts-{n}")), n);
    }

    if std::env::var("FIELDKIT_BENCH_MILLION").as_deref() != Ok("0") {
        let big = tmp.path().join("big");
        let start = Instant::now();
        let (dm, signers) = generate(&big, 100, 10_000);
        println!(
            "generated 100 bundles of 10,000 records in {:.0} s",
            start.elapsed().as_secs_f64()
        );
        run_child(&big, &tmp.path().join("out-big"), &dm, &signers);
    }
}

/// Verifies every bundle in `dir` again and again for at least half a
/// second (and at least three times): the best pass, in microseconds a
/// record (a small bundle verifies in milliseconds, where one slow pass
/// says nothing).
fn verify_per_record(dir: &Path, signers: &str) -> f64 {
    let signers = AllowedSigners::parse(signers).expect("signers");
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let path = e.expect("entry").path();
            (
                path.display().to_string(),
                std::fs::read(&path).expect("read"),
            )
        })
        .collect();
    let mut best = f64::MAX;
    let mut records = 0;
    let started = Instant::now();
    let mut passes = 0;
    while passes < 3 || started.elapsed().as_secs_f64() < 0.5 {
        passes += 1;
        let start = Instant::now();
        records = 0;
        for (name, bytes) in &files {
            let report = fieldkit::bundle::verify::verify(name, bytes, &signers);
            assert!(report.ok, "{:?}", report.problems.first());
            records += report.records;
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    best * 1e6 / records as f64
}

/// Aggregates `dir` in this process: records/s.
fn aggregate_rate(dir: &Path, out: &Path, keys: (&str, &str), cores: usize, xlsx: bool) -> f64 {
    let (summary, took) = timed_aggregate(dir, out, keys, cores, xlsx);
    assert_eq!(summary.problems(), 0, "aggregate had problems");
    summary.records as f64 / took
}

/// The side-by-side table of issue 17: verify per record by size, and
/// aggregate against the decryption limit on both shapes of input.
fn table(tmp: &Path, cores: usize) {
    println!("== verify, time per record (best pass of at least 0.5 s)");
    let mut per_record = Vec::new();
    let mut twenty_k = None;
    for per in [1_000, 10_000, 20_000, 32_766, 65_531] {
        let dir = tmp.join(format!("verify-{per}"));
        let (dm, signers) = generate(&dir, 1, per);
        let us = verify_per_record(&dir, &signers);
        println!("one bundle of {per:>6} records: {us:6.1} us/record");
        per_record.push(us);
        if per == 20_000 {
            twenty_k = Some((dir, dm, signers));
        } else {
            std::fs::remove_dir_all(&dir).expect("clean");
        }
    }
    let dir = tmp.join("verify-200k");
    let (_, signers) = generate(&dir, 20, 10_000);
    let us = verify_per_record(&dir, &signers);
    println!("20 bundles of 10,000 (200,000 records): {us:6.1} us/record");
    per_record.push(us);
    std::fs::remove_dir_all(&dir).expect("clean");
    let (lo, hi) = per_record
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    println!(
        "largest / smallest per record: {:.2} (target <= 1.5)",
        hi / lo
    );
    println!(
        "(a zip without zip64 counts 65,534 entries: 65,531 records, a form, the manifest and \
         its signature; export puts at most 32,766 records in a bundle, 10,000 by default)"
    );

    println!("== aggregate against {cores} x the bare one-core age loop, same files");
    let (big, dm, signers) = twenty_k.expect("the 20k bundle");
    let small = tmp.join("table-20x1k");
    let (small_dm, small_signers) = generate(&small, 20, 1_000);
    for (name, dir, dm, signers) in [
        ("one bundle of 20,000", &big, &dm, &signers),
        ("20 bundles of 1,000", &small, &small_dm, &small_signers),
    ] {
        let limit = cores as f64 * bare(dir, dm);
        for xlsx in [false, true] {
            let out = tmp.join("table-out");
            let rate = aggregate_rate(dir, &out, (dm, signers), cores, xlsx);
            std::fs::remove_dir_all(&out).expect("clean");
            let what = if xlsx { "CSV and XLSX" } else { "CSV" };
            println!(
                "{name}, {what}: {rate:.0} records/s, limit {limit:.0}: ratio {:.2}{}",
                rate / limit,
                if xlsx { "" } else { " (target >= 0.8)" }
            );
        }
    }
    std::fs::remove_dir_all(&big).expect("clean");
    std::fs::remove_dir_all(&small).expect("clean");
}

/// 20 bundles of 1,000 records, with the paradata of their 50 questions
/// when `with` is "1" (`outgoing` reads the same variable): the record
/// file's size, the bare age loop and the aggregation.
fn paradata_figures(with: &str) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let small = tmp.path().join("small");
    let (dm, signers) = generate(&small, 20, 1000);
    let bytes: usize = record_files(&small).iter().map(Vec::len).sum();
    println!(
        "paradata {with}: 20,000 records, {} B a record file",
        bytes / 20_000
    );
    let rate = bare(&small, &dm);
    bare_all_cores(&small, &dm, cores);
    println!(
        "target: 0.8 x {cores} x {rate:.0} = {:.0} records/s",
        0.8 * cores as f64 * rate
    );
    run_child(&small, &tmp.path().join("out-small"), &dm, &signers);
}
