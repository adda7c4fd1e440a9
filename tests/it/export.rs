//! Export through the real binary: an outbox over the per-bundle limits
//! split into bundles that all verify, `export --again` writing the same
//! bytes, the store recorded before the stick so that a failed or killed
//! export never forks the chain, and unfinished files cleaned up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::crash::Rng;
use crate::support::{Enumerator, stderr};

fn record(place: &str) -> String {
    let mut v: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    v["destination_place"] = json!(place);
    v.to_string() + "\n"
}

/// Finalizes `n` more records named after `tag`.
fn finalize(e: &Enumerator, tag: &str, n: usize) {
    let input: String = (0..n).map(|i| record(&format!("{tag} {i}"))).collect();
    let out = e.fill("dtm_flow_monitoring", &input, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// An enumerator with `n` finalized records, and its signers file.
fn with_records(n: usize) -> (Enumerator, PathBuf) {
    let e = Enumerator::init("enum-03");
    finalize(&e, "place", n);
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    (e, signers)
}

/// `fieldkit export` with extra arguments and environment.
fn export(
    e: &Enumerator,
    usb: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    std::fs::create_dir_all(usb).unwrap();
    let mut args = vec!["export", "--out", usb.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut cmd = e.command(&args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The bundle paths an export printed, after checking it succeeded.
fn written(out: &std::process::Output) -> Vec<PathBuf> {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// `fieldkit verify --json` over what is given.
fn verify(what: &[&Path], signers: &Path) -> (Option<i32>, Value) {
    let mut args: Vec<&str> = vec!["verify", "--json", "--signers", signers.to_str().unwrap()];
    args.extend(what.iter().map(|p| p.to_str().unwrap()));
    let out = crate::support::fieldkit(&args);
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", stderr(&out)));
    (out.status.code(), report)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn an_outbox_over_the_limits_makes_several_bundles_that_all_verify() {
    let (e, signers) = with_records(5);
    let usb = e.dir.path().join("usb");
    let out = export(&e, &usb, &[], &[("FIELDKIT_BUNDLE_MAX_RECORDS", "2")]);
    let paths = written(&out);
    assert_eq!(paths.len(), 3, "5 records, 2 a bundle: {paths:?}");
    assert!(
        stderr(&out).contains("3 bundle(s) written"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        e.status(),
        json!({"drafts": 0, "outbox": 0, "sent": 5, "bundles": 3})
    );
    let (code, report) = verify(&[&usb], &signers);
    assert_eq!(code, Some(0), "{report:#}");
    let counts: Vec<(u64, u64)> = report["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["sequence"].as_u64().unwrap(),
                b["records"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [(1, 2), (2, 2), (3, 1)]);

    // The byte limit splits too: one record a bundle, chained on.
    finalize(&e, "later", 2);
    let out = export(&e, &usb, &[], &[("FIELDKIT_BUNDLE_MAX_BYTES", "1")]);
    assert_eq!(written(&out).len(), 2);
    let (code, report) = verify(&[&usb], &signers);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["bundles"].as_array().unwrap().len(), 5);
    assert_eq!(report["sequence_problems"], json!([]));

    // A limit that is not a number is refused before anything is done.
    finalize(&e, "last", 1);
    let out = export(&e, &usb, &[], &[("FIELDKIT_BUNDLE_MAX_RECORDS", "lots")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("FIELDKIT_BUNDLE_MAX_RECORDS"),
        "{}",
        stderr(&out)
    );
    assert_eq!(e.status()["outbox"], 1);
}

#[test]
fn export_again_writes_the_same_bytes_and_refuses_what_it_does_not_hold() {
    let (e, signers) = with_records(3);
    let usb = e.dir.path().join("usb");
    let first = written(&export(
        &e,
        &usb,
        &[],
        &[("FIELDKIT_BUNDLE_MAX_RECORDS", "2")],
    ));
    assert_eq!(first.len(), 2);

    let one = e.dir.path().join("again-one");
    let again = written(&export(&e, &one, &["--again", "2"], &[]));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].file_name(), first[1].file_name());
    assert_eq!(
        std::fs::read(&again[0]).unwrap(),
        std::fs::read(&first[1]).unwrap()
    );

    let all = e.dir.path().join("again-all");
    let again = written(&export(&e, &all, &["--again", "all"], &[]));
    assert_eq!(again.len(), 2);
    for (a, b) in again.iter().zip(&first) {
        assert_eq!(a.file_name(), b.file_name());
        assert_eq!(
            std::fs::read(a).unwrap(),
            std::fs::read(b).unwrap(),
            "{a:?}"
        );
    }
    assert_eq!(
        e.status(),
        json!({"drafts": 0, "outbox": 0, "sent": 3, "bundles": 2}),
        "writing again changes nothing"
    );

    // Bundle 1 acknowledged: it is no longer held, and says so.
    let receipt = e.dir.path().join("receipt.json");
    let out = crate::bundle::demo_receipt(&first[0], &signers, &receipt);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.run(&["ack", receipt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let refused = e.dir.path().join("refused");
    let out = export(&e, &refused, &["--again", "1"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let says = stderr(&out);
    assert!(says.contains("receipt covered it"), "{says}");
    assert!(says.contains("Bundles waiting for a receipt: 2"), "{says}");
    let out = export(&e, &refused, &["--again", "7"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("there is no bundle 7"),
        "{}",
        stderr(&out)
    );
    let out = export(&e, &refused, &["--again", "soon"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(names(&refused).is_empty(), "nothing written");
}

/// The file a laptop's `sequence`th bundle gets, from its first one.
fn bundle_name(first: &Path, sequence: u64) -> String {
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    let stem = name.strip_suffix("000001.zip").expect("a first bundle");
    format!("{stem}{sequence:06}.zip")
}

#[test]
fn a_failed_stick_write_is_written_again_the_same_bytes_and_never_forks() {
    let (e, signers) = with_records(1);
    // A copy of the laptop exporting normally: the bundle 1 to expect.
    let copy = e.dir.path().join("home-copy");
    crate::store::copy_dir(&e.home, &copy);
    let twin = Enumerator {
        dir: tempfile::tempdir().unwrap(),
        home: copy,
        passphrase_file: e.passphrase_file.clone(),
        signers_line: String::new(),
    };
    let expected = written(&export(&twin, &e.dir.path().join("twin"), &[], &[]));
    let name = expected[0].file_name().unwrap();

    // The stick refuses the bundle's name (a folder is in the way): the
    // store has recorded it, the file is not there.
    let usb = e.dir.path().join("usb");
    std::fs::create_dir_all(usb.join(name)).unwrap();
    let out = export(&e, &usb, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    let says = stderr(&out);
    assert!(
        says.contains("bundle 1 is recorded on this laptop"),
        "{says}"
    );
    assert!(says.contains("the same bundle, byte for byte"), "{says}");
    assert_eq!(
        e.status(),
        json!({"drafts": 0, "outbox": 0, "sent": 1, "bundles": 1})
    );
    assert_eq!(names(&usb), [name.to_string_lossy()], "no partial left");

    // More records, and the stick fixed: bundle 1 as it was, then 2.
    finalize(&e, "after", 2);
    std::fs::remove_dir(usb.join(name)).unwrap();
    let out = export(&e, &usb, &[], &[]);
    let paths = written(&out);
    assert!(
        stderr(&out).contains("written now, the same bytes"),
        "{}",
        stderr(&out)
    );
    assert_eq!(paths.len(), 2);
    assert_eq!(
        std::fs::read(&paths[0]).unwrap(),
        std::fs::read(&expected[0]).unwrap()
    );
    assert_eq!(
        paths[1].file_name().unwrap().to_string_lossy(),
        bundle_name(&paths[0], 2)
    );
    // With the twin's copy of bundle 1 too: one chain, no fork.
    let (code, report) = verify(&[&expected[0], &paths[1]], &signers);
    assert_eq!(code, Some(0), "{report:#}");
    let (code, report) = verify(&[&usb], &signers);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["bundles"][1]["records"], 2);
    // Written now: an export with an empty outbox writes nothing again.
    let out = export(&e, &usb, &[], &[]);
    assert!(written(&out).is_empty());
    assert!(stderr(&out).contains("outbox is empty"), "{}", stderr(&out));
}

#[test]
fn unfinished_files_of_an_interrupted_export_are_removed_or_named() {
    let (e, _) = with_records(1);
    let usb = e.dir.path().join("usb");
    let first = written(&export(&e, &usb, &[], &[]));
    let ours = format!(".{}.partial", bundle_name(&first[0], 2));
    let other = ".fieldkit-enum-99-deadbeef-000004.zip.partial";
    for n in [ours.as_str(), other, ".notes.partial"] {
        std::fs::write(usb.join(n), b"half a bundle").unwrap();
    }
    finalize(&e, "more", 1);
    let out = export(&e, &usb, &[], &[]);
    assert_eq!(written(&out).len(), 1);
    let says = stderr(&out);
    assert!(
        says.contains(&format!("removed {}", usb.join(&ours).display())),
        "{says}"
    );
    assert!(
        says.contains(other) && says.contains("another laptop"),
        "{says}"
    );
    let left = names(&usb);
    assert!(!left.contains(&ours), "{left:?}");
    assert!(left.iter().any(|n| n == other) && left.iter().any(|n| n == ".notes.partial"));
}

/// Every bundle file in `usb` so far; a name seen before must hold the
/// same bytes (a different bundle under a number already used is a fork).
fn collect(usb: &Path, seen: &mut HashMap<String, Vec<u8>>, seed: u64) {
    for name in names(usb) {
        if !name.ends_with(".zip") || name.starts_with('.') {
            continue;
        }
        let bytes = std::fs::read(usb.join(&name)).unwrap();
        if let Some(before) = seen.get(&name) {
            assert!(
                *before == bytes,
                "seed {seed}: {name} was written twice, differently"
            );
        }
        seen.insert(name, bytes);
    }
}

#[test]
fn killed_mid_export_never_forks_the_chain() {
    const ROUNDS: usize = 6;
    const EACH: usize = 4;
    let (e, signers) = with_records(0);
    let usb = e.dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let seed = crate::crash::seed();
    let mut rng = Rng(seed);
    let mut seen = HashMap::new();
    let one_a_bundle = [("FIELDKIT_BUNDLE_MAX_RECORDS", "1")];
    let zips = |usb: &Path| names(usb).iter().filter(|n| n.ends_with(".zip")).count();
    let partials = |usb: &Path| -> Vec<String> {
        names(usb)
            .into_iter()
            .filter(|n| n.ends_with(".partial"))
            .collect()
    };
    let mut filled = 0;
    for round in 0..ROUNDS {
        finalize(&e, &format!("round {round}"), EACH);
        filled += EACH as u64;
        let before = zips(&usb);
        let stale = partials(&usb);
        let mut child = e
            .command(&["export", "--out", usb.to_str().unwrap()])
            .envs(one_a_bundle)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(format!("/tmp/dbg-export-{round}.err")).unwrap())
            .spawn()
            .unwrap();
        // Killed while bundles are made: as a bundle's unfinished file
        // shows (the store has recorded it), or just after the k-th file
        // is renamed into place (before or after the store notes it).
        let k = rng.below(EACH as u64) as usize;
        let on_partial = rng.below(2) == 0;
        let then = Duration::from_micros(rng.below(2) * rng.below(3_000));
        let start = Instant::now();
        let mut when = None;
        while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(60) {
            let hit = if on_partial {
                zips(&usb) >= before + k && partials(&usb).iter().any(|p| !stale.contains(p))
            } else {
                zips(&usb) > before + k
            };
            if hit {
                std::thread::sleep(then);
                when = Some(start.elapsed());
                break;
            }
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        collect(&usb, &mut seen, seed);
        // The store opens after every kill.
        let out = e.run(&["status", "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round} (seed {seed}, killed after {when:?}, {status}): {}",
            stderr(&out)
        );
    }
    let out = export(&e, &usb, &[], &one_a_bundle);
    assert_eq!(out.status.code(), Some(0), "seed {seed}: {}", stderr(&out));
    collect(&usb, &mut seen, seed);
    let left = names(&usb);
    assert!(
        left.iter().all(|n| !n.ends_with(".partial")),
        "seed {seed}: {left:?}"
    );
    let (code, report) = verify(&[&usb], &signers);
    assert_eq!(code, Some(0), "seed {seed}: {report:#}");
    let records: u64 = report["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records, filled, "seed {seed}: every record in one bundle");
    assert_eq!(e.status()["outbox"], 0);
}

/// The record ids in every bundle file of `usb`, each with its file.
fn bundled_records(usb: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in names(usb) {
        if !name.ends_with(".zip") || name.starts_with('.') {
            continue;
        }
        let bytes = std::fs::read(usb.join(&name)).unwrap();
        for entry in fieldkit::bundle::archive::read(&bytes).unwrap() {
            if let Some(id) = entry.name.strip_prefix("records/") {
                out.push((id.trim_end_matches(".age").to_string(), name.clone()));
            }
        }
    }
    out
}

/// Export records a bundle in bounded steps (the bundle, then its records
/// moved to "sent" a few at a time, its file, then "written"). Killed
/// (SIGKILL) after each step in turn, then run again: every record is in
/// exactly one bundle, none is lost or left in the outbox, no bundle
/// number holds two different files, and the counts of `status` (no
/// passphrase) say the bundle is exported as soon as its first step is
/// done.
#[test]
fn killed_between_the_steps_of_recording_an_export_loses_or_doubles_nothing() {
    use std::io::{BufRead, BufReader};
    // 7 records, 4 a bundle, 2 moved a write: bundle 1 takes steps 1
    // (recorded), 2-4 (moved), 5 (file), 6 (noted); bundle 2 steps 7-11.
    const EACH: usize = 7;
    const STEPS: usize = 11;
    let (e, signers) = with_records(0);
    let usb = e.dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let env = [
        ("FIELDKIT_BUNDLE_MAX_RECORDS", "4"),
        ("FIELDKIT_EXPORT_STEP_RECORDS", "2"),
    ];
    let mut seen = HashMap::new();
    let mut filled = 0;
    for k in 1..=STEPS {
        finalize(&e, &format!("step {k}"), EACH);
        filled += EACH;
        let mut child = e
            .command(&["export", "--out", usb.to_str().unwrap()])
            .envs(env)
            .env("FIELDKIT_TEST_PAUSE_EXPORT_AFTER", k.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stderr_lines = BufReader::new(child.stderr.take().unwrap());
        while stderr_lines.read_line(&mut line).unwrap() > 0 && !line.contains("paused after") {}
        assert!(
            line.contains(&format!("paused after step {k} ")),
            "step {k}: {line}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        collect(&usb, &mut seen, k as u64);
        // Each bundle counts as exported from its first step on.
        let bundles_done = if k >= 7 { 2 } else { 1 };
        let status = e.status();
        assert_eq!(
            status["outbox"],
            EACH - if k >= 7 { EACH } else { 4 },
            "killed after step {k}: {status}"
        );
        assert_eq!(status["sent"], filled - EACH + [4, EACH][bundles_done - 1]);
        // The next export finishes the move and writes what is missing.
        let out = export(&e, &usb, &[], &env);
        assert_eq!(out.status.code(), Some(0), "step {k}: {}", stderr(&out));
        collect(&usb, &mut seen, k as u64);
        assert_eq!(
            e.status(),
            json!({"drafts": 0, "outbox": 0, "sent": filled, "bundles": 2 * k}),
            "after step {k}"
        );
        let (code, report) = verify(&[&usb], &signers);
        assert_eq!(code, Some(0), "after step {k}: {report:#}");
        assert_eq!(report["sequence_problems"], json!([]), "after step {k}");
        let records = bundled_records(&usb);
        let mut ids: Vec<&String> = records.iter().map(|(id, _)| id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), filled, "after step {k}: each record once");
        assert_eq!(records.len(), filled, "after step {k}: no record twice");
    }
    assert!(names(&usb).iter().all(|n| !n.ends_with(".partial")));
}
