//! Bundle figures (`cargo bench --bench bundle`): export 10,000 finalized
//! records of about 2 KB (read the outbox, build and sign the bundle,
//! write and sync it, move the records to sent), then verify the bundle
//! as a supervisor would. FIELDKIT_BENCH_DIR chooses the disk. Asserts
//! nothing.

use std::time::Instant;

use fieldkit::bundle::signers::AllowedSigners;
use fieldkit::bundle::verify;
use fieldkit::crypt;
use fieldkit::delivery::export::export;
use fieldkit::store::profile::{self, Home};
use fieldkit::store::{Draft, Store};
use serde_json::{Map, Value, json};

const RECORDS: usize = 10_000;

fn values(i: usize) -> Map<String, Value> {
    (0..50)
        .map(|k| {
            (
                format!("question_{k:02}"),
                json!(format!("answer {i}/{k} with some text")),
            )
        })
        .collect()
}

fn main() {
    let scratch = std::env::var_os("FIELDKIT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&scratch).expect("temp dir");
    let home = Home::new(dir.path().join("home"));
    let dm = age::x25519::Identity::generate();
    let made = profile::create(
        &home,
        "bench",
        "",
        &crypt::passphrase("correct horse battery"),
        &format!("{}\n", dm.to_public()),
        "2026-11-22T09:00:00+07:00",
    )
    .expect("profile");
    let public = made.public.clone();
    let store = Store::create(home.clone(), made, "2026-11-22T09:00:00+07:00").expect("store");
    profile::finish(&home, &public).expect("finish");
    let form = b"[settings]\nform_id = \"bench\"\n".to_vec();
    let sha = fieldkit::bundle::sha256_hex(&form);
    let start = Instant::now();
    let mut size = 0;
    for i in 0..RECORDS {
        let mut d = Draft::new("bench", "1", &sha, "2026-11-22T09:00:00+07:00");
        d.answers = values(i);
        let v = values(i);
        size = serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0);
        store
            .save_final(&d, &v, "2026-11-22T10:00:00+07:00", &form)
            .expect("finalize");
    }
    println!(
        "filled the outbox with {RECORDS} records of {size} B of values in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let out = dir.path().join("usb");
    std::fs::create_dir_all(&out).expect("usb");
    let start = Instant::now();
    let done = export(&store, &out, &mut |_, _| {}).expect("export");
    let path = done.paths.first().expect("a bundle").clone();
    let took = start.elapsed();
    let bytes = std::fs::read(&path).expect("bundle");
    println!(
        "export of {RECORDS} records: {:.2} s ({:.1} MB bundle)",
        took.as_secs_f64(),
        bytes.len() as f64 / 1e6
    );
    let signers =
        AllowedSigners::parse(&format!("bench {}\n", public.signing_key)).expect("signers");
    let start = Instant::now();
    let report = verify::verify("bench.zip", &bytes, &signers);
    println!(
        "verify of that bundle: {:.2} s, ok = {} {:?}",
        start.elapsed().as_secs_f64(),
        report.ok,
        report.problems.first()
    );
}
