//! Round-pack figures (`cargo bench --bench pack`), issue 19's targets:
//! `pack build` of the four shipped forms with the 8,916-village list
//! (under 1 s), and `pack import` of it on a laptop (under 300 ms). Both
//! through the real binary, as an office and an enumerator run them
//! (process start, the signing key or the passphrase's key derivation
//! included), and the import once more in this process on an open store:
//! verify, load every form, install, without the key derivation. Each
//! import takes the next pack of one chain, as a laptop does round after
//! round. Asserts nothing. FIELDKIT_BENCH_ROUNDS sets the packs (default 10).

mod common;
use common::percentiles;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fieldkit::crypt;
use fieldkit::store::Store;
use fieldkit::store::profile::Home;

const PASS: &str = "correct horse battery";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fieldkit(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldkit"));
    cmd.args(args)
        .env("XDG_DATA_HOME", "/nonexistent/fieldkit-bench")
        .env("LOCALAPPDATA", "/nonexistent/fieldkit-bench")
        .env_remove("FIELDKIT_HOME")
        .env_remove("FIELDKIT_FORMS")
        .current_dir(repo());
    cmd
}

/// Runs the binary and returns how long it took; stops the bench on failure.
fn timed(mut cmd: Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("run fieldkit");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// Builds packs 1..=n of one chain into `usb`, timing each build.
fn build_chain(usb: &Path, n: usize) -> (Vec<PathBuf>, Vec<Duration>) {
    let key = repo().join("keys/demo/deployment");
    let forms = repo().join("forms");
    let s = |p: &Path| p.display().to_string();
    let mut packs: Vec<PathBuf> = Vec::new();
    let mut times = Vec::new();
    for i in 1..=n {
        let round = format!("R{i}-2026");
        let mut args = vec![
            "pack".to_string(),
            "build".into(),
            "--key".into(),
            s(&key),
            "--out".into(),
            s(usb),
            "--forms".into(),
            s(&forms),
            "--recipients".into(),
            s(&repo().join("keys/recipients.txt")),
            "--round".into(),
            round,
        ];
        match packs.last() {
            Some(last) => args.extend(["--previous".into(), s(last)]),
            None => args.extend(["--deployment".into(), "dtm-lao".into()]),
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        times.push(timed(fieldkit(&args)));
        packs.push(usb.join(fieldkit::pack::file_name("dtm-lao", i as u64)));
    }
    (packs, times)
}

/// A laptop made by the real `init`, pinning the repository's DEMO
/// deployment signers; its home and passphrase file.
fn laptop(dir: &Path, id: &str) -> (PathBuf, PathBuf) {
    let home = dir.join(id);
    let pass = dir.join(format!("{id}.pass"));
    std::fs::write(&pass, format!("{PASS}\n")).expect("pass");
    let s = |p: &Path| p.display().to_string();
    timed(fieldkit(&[
        "--home",
        &s(&home),
        "--passphrase-file",
        &s(&pass),
        "init",
        "--enumerator",
        id,
        "--name",
        "Bench",
    ]));
    (home, pass)
}

fn main() {
    let rounds: usize = std::env::var("FIELDKIT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .max(2);
    let scratch = tempfile::tempdir().expect("tempdir");
    let usb = scratch.path().join("usb");
    std::fs::create_dir_all(&usb).expect("usb");
    let (packs, builds) = build_chain(&usb, rounds);
    let size = std::fs::metadata(&packs[0]).map(|m| m.len()).unwrap_or(0);
    println!(
        "pack of the 4 shipped forms, 8,916 villages, keys: {:.1} MB",
        size as f64 / 1e6
    );
    percentiles("pack build (real binary, target < 1000 ms)", builds);

    let s = |p: &Path| p.display().to_string();
    let (home, pass) = laptop(scratch.path(), "enum-cli");
    let imports = packs
        .iter()
        .map(|pack| {
            timed(fieldkit(&[
                "--home",
                &s(&home),
                "--passphrase-file",
                &s(&pass),
                "pack",
                "import",
                &s(pack),
            ]))
        })
        .collect();
    percentiles("pack import (real binary, target < 300 ms)", imports);

    let (home, _) = laptop(scratch.path(), "enum-lib");
    let unlock = Instant::now();
    let store = Store::open(Home::new(home), &crypt::passphrase(PASS)).expect("open");
    let unlock = unlock.elapsed();
    let mut in_process = Vec::new();
    for pack in &packs {
        let bytes = std::fs::read(pack).expect("pack");
        let start = Instant::now();
        let done =
            fieldkit::delivery::pack::import(&store, &bytes, &s(pack), "2026-12-03T09:00:00+07:00")
                .expect("import");
        in_process.push(start.elapsed());
        assert!(done.is_ok(), "the pack was refused");
    }
    percentiles("pack import in process, store open (no KDF)", in_process);
    println!(
        "unlocking the store (passphrase key derivation): {:.0} ms",
        unlock.as_secs_f64() * 1000.0
    );
}
