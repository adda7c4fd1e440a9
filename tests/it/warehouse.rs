//! The warehouse (`aggregate --db FILE`) through the real binary: bundles
//! taken in over several runs give, from the warehouse, the very tables
//! (byte for byte, conflicts and attachments too) that the same bundles
//! give when aggregated at once; a bundle given again, from any path, is
//! taken in once; a run killed (SIGKILL) at any point leaves a warehouse
//! that SQLite finds sound, with each bundle wholly in or not at all, and
//! the next run finishes the job; a tampered bundle is refused and nothing
//! of it kept; a file that is not a warehouse is refused, unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use ssh_key::rand_core::OsRng;

use crate::support::{Enumerator, command, fieldkit, repo, stderr};

const FORM: &str = r#"[settings]
form_id = "warehouse_check"
version = "1"
form_title = "Warehouse check"

[[survey]]
type = "text"
name = "site"
label = "Site"

[[survey]]
type = "integer"
name = "households"
label = "Households"
"#;

/// A laptop that signs bundles: its key, ids and chain.
struct Laptop {
    key: ssh_key::PrivateKey,
    enumerator: String,
    device: String,
    sequence: u64,
    prev: String,
}

impl Laptop {
    fn new(enumerator: &str, device: &str) -> Self {
        Laptop {
            key: ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap(),
            enumerator: enumerator.into(),
            device: device.into(),
            sequence: 0,
            prev: fieldkit::bundle::NO_PREVIOUS.into(),
        }
    }

    fn signers_line(&self) -> String {
        format!(
            "{} {}",
            self.enumerator,
            self.key.public_key().to_openssh().unwrap()
        )
    }

    /// The next bundle of this laptop, holding `records` (id, site,
    /// households), sealed to the demo data manager; written into `dir`.
    fn bundle(&mut self, dir: &Path, records: &[(String, String, i64)]) -> PathBuf {
        use fieldkit::bundle::{self, Outgoing, Plan};
        let text = FORM.as_bytes().to_vec();
        let sha = bundle::sha256_hex(&text);
        let recipients = fieldkit::crypt::parse_recipients(
            &std::fs::read_to_string(repo().join("keys/recipients.txt")).unwrap(),
        )
        .unwrap();
        let records: Vec<Outgoing> = records
            .iter()
            .map(|(id, site, households)| {
                let plain = json!({
                    "format": "fieldkit-record/1", "record_id": id,
                    "form_id": "warehouse_check", "form_version": "1",
                    "enumerator_id": self.enumerator, "device_id": self.device,
                    "started": "2026-11-22T09:00:00+07:00",
                    "finalized_at": "2026-11-22T09:30:00+07:00",
                    "values": {"site": site, "households": households},
                });
                Outgoing {
                    record_id: id.clone(),
                    form_id: "warehouse_check".into(),
                    form_version: "1".into(),
                    form_sha256: sha.clone(),
                    finalized_at: "2026-11-22T09:30:00+07:00".into(),
                    ciphertext: fieldkit::crypt::encrypt_to(
                        &recipients,
                        plain.to_string().as_bytes(),
                    )
                    .unwrap(),
                }
            })
            .collect();
        self.sequence += 1;
        let forms = vec![("warehouse_check".into(), "1".into(), sha, text)];
        let built = bundle::build(
            &Plan {
                enumerator_id: &self.enumerator,
                device_id: &self.device,
                sequence: self.sequence,
                prev_manifest_sha256: &self.prev,
                records: &records,
                forms: &forms,
            },
            &self.key,
        )
        .unwrap();
        self.prev = built.manifest_sha256.clone();
        std::fs::create_dir_all(dir).unwrap();
        let file = dir.join(format!("{}-{:03}.zip", self.enumerator, self.sequence));
        std::fs::write(&file, &built.zip).unwrap();
        file
    }
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|_| uuid::Uuid::now_v7().to_string()).collect()
}

/// Runs `aggregate` with the demo data manager's key and `signers`.
fn aggregate(signers: &Path, args: &[&str], bundles: &[&Path]) -> std::process::Output {
    let key = repo().join("keys/demo/data-manager.key");
    let mut all = vec![
        "aggregate",
        "--identity",
        key.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    all.extend(bundles.iter().map(|b| b.to_str().unwrap()));
    fieldkit(&all)
}

/// Every file under `dir` but the run's own summary and report, by path.
fn tables(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if name.starts_with("summary.") {
                continue;
            }
            out.insert(name, std::fs::read(&path).unwrap());
        }
    }
    out
}

fn assert_same_tables(at_once: &Path, from_warehouse: &Path) {
    let (a, b) = (tables(at_once), tables(from_warehouse));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, bytes) in &a {
        assert!(
            bytes == &b[name],
            "{name} differs:\n--- at once\n{}\n--- from the warehouse\n{}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&b[name])
        );
    }
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// Two laptops' bundles: a conflict (the same id with other content), a
/// duplicate record, and a real exported bundle with a photo, as files in
/// `dir/usb`; the signers file beside them.
fn round(dir: &Path) -> (Vec<PathBuf>, PathBuf) {
    let usb = dir.join("usb");
    let mut a = Laptop::new("enum-a", "01a00000-0000-7000-8000-00000000000a");
    let mut b = Laptop::new("enum-b", "01a00000-0000-7000-8000-00000000000b");
    let first = ids(12);
    let row = |id: &String, k: usize| (id.clone(), format!("Site {k}"), k as i64);
    let mut bundles = vec![
        a.bundle(
            &usb,
            &first[..6]
                .iter()
                .enumerate()
                .map(|(k, id)| row(id, k))
                .collect::<Vec<_>>(),
        ),
        a.bundle(
            &usb,
            &first[6..]
                .iter()
                .enumerate()
                .map(|(k, id)| row(id, k + 6))
                .collect::<Vec<_>>(),
        ),
    ];
    // Laptop b: two records of its own, one of a's again with the same
    // content (a duplicate), one of a's with other content (a conflict).
    let own = ids(2);
    bundles.push(b.bundle(
        &usb,
        &[
            row(&own[0], 20),
            row(&own[1], 21),
            row(&first[0], 0),
            (first[1].clone(), "Another site".into(), 99),
        ],
    ));
    // A real laptop's bundle with an attachment.
    let e = Enumerator::init("enum-07");
    let form = dir.join("media_check.toml");
    std::fs::write(&form, crate::media::FORM).unwrap();
    let photo = dir.join("photo.jpg");
    std::fs::write(
        &photo,
        (0..50_000u32).map(|i| (i * 7) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    let line = json!({"site": "Ban Nong", "photo": photo.to_str().unwrap()});
    let out = e.fill(
        form.to_str().unwrap(),
        &format!("{line}\n"),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let export = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(export.status.code(), Some(0), "{}", stderr(&export));
    bundles.push(PathBuf::from(
        String::from_utf8_lossy(&export.stdout).trim(),
    ));
    let signers = dir.join("allowed_signers");
    std::fs::write(
        &signers,
        format!(
            "{}\n{}\n{}\n",
            a.signers_line(),
            b.signers_line(),
            e.signers_line
        ),
    )
    .unwrap();
    (bundles, signers)
}

#[test]
fn tables_from_the_warehouse_are_those_of_the_same_bundles_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (bundles, signers) = round(dir.path());
    let refs: Vec<&Path> = bundles.iter().map(|b| b.as_path()).collect();
    let at_once = dir.path().join("at-once");
    let run = aggregate(&signers, &["--out", at_once.to_str().unwrap()], &refs);
    // The conflict is a problem said (exit 1), in both.
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(at_once.join("conflicts").is_dir());
    assert!(at_once.join("media").is_dir());

    // Two bundles taken in, then all given (one of them twice, from
    // another path): only the new ones are read.
    let db = dir.path().join("dm.sqlite");
    let db_arg = db.to_str().unwrap();
    let first = aggregate(&signers, &["--db", db_arg], &refs[..2]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("2 new bundle(s) taken in (12 record(s)"),
        "{}",
        stderr(&first)
    );
    let copy = dir.path().join("copy-of-first.zip");
    std::fs::copy(refs[0], &copy).unwrap();
    let mut again = refs.clone();
    again.push(&copy);
    let from_db = dir.path().join("from-db");
    let second = aggregate(
        &signers,
        &["--db", db_arg, "--out", from_db.to_str().unwrap()],
        &again,
    );
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("2 new bundle(s) taken in")
            && stderr(&second).contains("3 already in; it holds 4 bundle(s)"),
        "{}",
        stderr(&second)
    );
    assert_same_tables(&at_once, &from_db);
    let s = summary(&from_db);
    assert_eq!(s["warehouse"]["bundles"], 4);
    assert_eq!(s["records"], summary(&at_once)["records"]);

    // The tables again from the warehouse alone: no bundle given, none read.
    let alone = dir.path().join("alone");
    let third = aggregate(
        &signers,
        &["--db", db_arg, "--out", alone.to_str().unwrap()],
        &[],
    );
    assert_eq!(third.status.code(), Some(1), "{}", stderr(&third));
    assert!(
        stderr(&third).contains("0 new bundle(s)"),
        "{}",
        stderr(&third)
    );
    assert_same_tables(&at_once, &alone);

    // What SQLite says of it: sound, each record version once.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let versions: i64 = conn
        .query_row(
            "SELECT count(*) FROM entries WHERE kind = 'record'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(versions, 12 + 4 + 1);
    // The `records` view reads the answers exactly as given.
    let (enumerator, households): (String, i64) = conn
        .query_row(
            "SELECT enumerator_id, json_extract(record, '$.values.households') FROM records \
             WHERE json_extract(record, '$.values.site') = 'Another site'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((enumerator.as_str(), households), ("enum-b", 99));
    // The last run's conflicts and checks are kept beside the records.
    let conflicted: (String, i64) = conn
        .query_row(
            "SELECT record_id, count(*) FROM conflicts GROUP BY record_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(conflicted.1, 2, "both bundles named");
    let checks: i64 = conn
        .query_row("SELECT count(*) FROM checks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        checks as usize,
        crate::support::csv_rows(&alone.join("checks.csv")).len() - 1
    );
}

/// Every bundle's records and attachments are all in, or none: what a
/// transaction per bundle promises.
fn assert_whole(db: &Path, round: usize) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "round {round}");
    // Killed before the transaction that makes the tables committed: an
    // empty database, which the next run makes a warehouse of.
    let made: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'bundles'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if made == 0 {
        return 0;
    }
    let mut q = conn
        .prepare(
            "SELECT b.records, (SELECT count(*) FROM entries e WHERE e.bundle = b.id AND e.kind = 'record')
             FROM bundles b",
        )
        .unwrap();
    let rows: Vec<(i64, i64)> = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (records, kept) in &rows {
        assert_eq!(records, kept, "round {round}: a bundle half in");
    }
    rows.len() as i64
}

/// `aggregate --db` of the bundles in `usb` (no tables), started.
fn take_in(signers: &Path, db: &Path, usb: &Path, out: std::process::Stdio) -> std::process::Child {
    let key = repo().join("keys/demo/data-manager.key");
    command(&[
        "aggregate",
        "--identity",
        key.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        usb.to_str().unwrap(),
    ])
    .stdout(std::process::Stdio::null())
    .stderr(out)
    .spawn()
    .unwrap()
}

#[test]
fn a_run_killed_at_any_point_leaves_a_sound_warehouse_and_the_next_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    let mut laptops = [
        Laptop::new("enum-a", "01a00000-0000-7000-8000-00000000000a"),
        Laptop::new("enum-b", "01a00000-0000-7000-8000-00000000000b"),
    ];
    let mut bundles = Vec::new();
    for k in 0..24 {
        let laptop = &mut laptops[k % 2];
        let rows: Vec<_> = ids(40)
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, format!("Site {k}/{i}"), i as i64))
            .collect();
        bundles.push(laptop.bundle(&usb, &rows));
    }
    let signers = dir.path().join("allowed_signers");
    std::fs::write(
        &signers,
        format!(
            "{}\n{}\n",
            laptops[0].signers_line(),
            laptops[1].signers_line()
        ),
    )
    .unwrap();
    let at_once = dir.path().join("at-once");
    let run = aggregate(
        &signers,
        &["--out", at_once.to_str().unwrap(), usb.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));

    let db = dir.path().join("dm.sqlite");
    let mut wait = std::time::Duration::from_millis(5);
    let mut killed_with_some_in = 0;
    for round in 0..200 {
        let mut child = take_in(&signers, &db, &usb, std::process::Stdio::null());
        std::thread::sleep(wait);
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap();
        }
        child.wait().unwrap();
        if db.exists() {
            let held = assert_whole(&db, round);
            eprintln!("round {round}: killed after {wait:?}: {held} bundle(s) in");
            if !finished && held > 0 && held < bundles.len() as i64 {
                killed_with_some_in += 1;
            }
            if held == bundles.len() as i64 {
                break;
            }
        }
        wait += std::time::Duration::from_millis(7);
    }
    // The kills must land part-way at least once, or the test saw nothing.
    assert!(killed_with_some_in > 0, "no kill landed part-way");
    let from_db = dir.path().join("from-db");
    let last = aggregate(
        &signers,
        &[
            "--db",
            db.to_str().unwrap(),
            "--out",
            from_db.to_str().unwrap(),
            usb.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(last.status.code(), Some(0), "{}", stderr(&last));
    assert_eq!(assert_whole(&db, 99), bundles.len() as i64);
    assert_same_tables(&at_once, &from_db);
}

#[test]
fn a_tampered_bundle_or_a_file_that_is_no_warehouse_is_refused_and_nothing_kept() {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    let mut a = Laptop::new("enum-a", "01a00000-0000-7000-8000-00000000000a");
    let good = a.bundle(&usb, &[(ids(1).remove(0), "Site".into(), 3)]);
    let bad = a.bundle(&usb, &[(ids(1).remove(0), "Other".into(), 4)]);
    let mut bytes = std::fs::read(&bad).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&bad, bytes).unwrap();
    let signers = dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", a.signers_line())).unwrap();

    let db = dir.path().join("dm.sqlite");
    let run = aggregate(&signers, &["--db", db.to_str().unwrap()], &[&good, &bad]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("not taken in"), "{}", stderr(&run));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (bundles, records): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM bundles), (SELECT count(*) FROM entries)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((bundles, records), (1, 1));

    // A file that is not a warehouse: refused (exit 2), left as it was.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "minutes of the meeting\n".repeat(400)).unwrap();
    let before = std::fs::read(&notes).unwrap();
    let run = aggregate(&signers, &["--db", notes.to_str().unwrap()], &[&good]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("not a fieldkit warehouse"),
        "{}",
        stderr(&run)
    );
    assert_eq!(std::fs::read(&notes).unwrap(), before);
}

#[test]
fn two_runs_at_once_on_one_warehouse_take_each_bundle_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    let mut a = Laptop::new("enum-a", "01a00000-0000-7000-8000-00000000000a");
    for k in 0..8 {
        let rows: Vec<_> = ids(30)
            .into_iter()
            .map(|id| (id, format!("Site {k}"), k))
            .collect();
        a.bundle(&usb, &rows);
    }
    let signers = dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", a.signers_line())).unwrap();
    let db = dir.path().join("dm.sqlite");
    let run = || take_in(&signers, &db, &usb, std::process::Stdio::piped());
    let (first, second) = (run(), run());
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(assert_whole(&db, 0), 8);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let records: i64 = conn
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(records, 8 * 30);
}

/// Bundles too large to keep from their verification (here: nothing is
/// kept) are read again, checked against their manifests, and give the
/// same warehouse and tables.
#[test]
fn bundles_read_again_after_verification_give_the_same_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (bundles, signers) = round(dir.path());
    let refs: Vec<&Path> = bundles.iter().map(|b| b.as_path()).collect();
    let at_once = dir.path().join("at-once");
    aggregate(&signers, &["--out", at_once.to_str().unwrap()], &refs);
    let out = dir.path().join("reread");
    let db = dir.path().join("dm.sqlite");
    let mut opts = crate::support::aggregate_options(&signers, &out, 0);
    opts.db = Some(db.clone());
    let (taken, refused) = fieldkit::aggregate::take_in(&bundles, &db, &opts).unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!((taken.new_bundles, taken.new_attachments), (4, 1));
    fieldkit::aggregate::run(&[], &opts).unwrap();
    assert_same_tables(&at_once, &out);
}

/// Receipts given once are kept in the warehouse: later tables runs give
/// each record its review status without being given them again; a
/// receipt whose signature does not check is said and not kept.
#[test]
fn receipts_given_once_are_kept_for_later_runs() {
    use fieldkit::bundle::receipt::{Decision, Verdict};
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    let mut a = Laptop::new("enum-a", "01a00000-0000-7000-8000-00000000000a");
    let id = ids(2);
    let bundle = a.bundle(
        &usb,
        &[
            (id[0].clone(), "Site".into(), 3),
            (id[1].clone(), "Other".into(), 4),
        ],
    );
    let signers = dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", a.signers_line())).unwrap();
    let approve = Verdict {
        record_id: id[0].clone(),
        version: 1,
        decision: Decision::Approved,
        comments: Vec::new(),
        note: String::new(),
    };
    let receipt = dir.path().join("receipt.json");
    std::fs::write(
        &receipt,
        crate::aggregate::receipt_with_verdicts(&bundle, &signers, vec![approve]),
    )
    .unwrap();
    let forged = dir.path().join("forged.json");
    let mut bytes = std::fs::read(&receipt).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&forged, bytes).unwrap();

    let db = dir.path().join("dm.sqlite");
    let db_arg = db.to_str().unwrap();
    let supervisors = repo().join("keys/supervisors");
    let given = [
        "--db",
        db_arg,
        "--supervisors",
        supervisors.to_str().unwrap(),
        "--receipts",
        receipt.to_str().unwrap(),
        "--receipts",
        forged.to_str().unwrap(),
    ];
    let run = aggregate(&signers, &given, &[&bundle]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("1 receipt(s) kept") && stderr(&run).contains("forged.json not kept"),
        "{}",
        stderr(&run)
    );
    // A later run, given no receipt: the kept one still counts.
    let out = dir.path().join("tables");
    let supervisors_arg = ["--supervisors", supervisors.to_str().unwrap()];
    let mut args = vec!["--db", db_arg, "--out", out.to_str().unwrap()];
    args.extend_from_slice(&supervisors_arg);
    let run = aggregate(&signers, &args, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let rows = crate::support::csv_rows(&out.join("warehouse_check.csv"));
    let status = rows[0].iter().position(|h| h == "review_status").unwrap();
    let of = |id: &str| rows.iter().find(|r| r[0] == id).unwrap()[status].clone();
    assert_eq!(of(&id[0]), "approved");
    assert_eq!(of(&id[1]), "received");
}
