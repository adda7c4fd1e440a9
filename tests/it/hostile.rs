//! Hostile bundles through the real binary: bundles signed by a listed
//! signer (so the signature is good) whose manifest or records lie, as a
//! forged or broken laptop would send them. `verify` must refuse each with
//! a clear problem, and `aggregate` must write nothing outside `--out`,
//! credit records to their signer, and leave out only the bad bundle.

use std::path::{Path, PathBuf};

use fieldkit::bundle::{self, Built, Manifest, Outgoing, Plan};
use serde_json::{Value, json};
use ssh_key::rand_core::OsRng;

use crate::support::{fieldkit, repo, stderr};

/// A small form of our own: one field, and a repeat.
const FORM: &str = r#"[settings]
form_id = "hostile_test"
version = "1"
form_title = "Hostile test"

[[survey]]
type = "text"
name = "site"
label = "Site"
"#;

/// A laptop: an enumerator's signing key and device.
struct Laptop {
    key: ssh_key::PrivateKey,
    enumerator: String,
    device: String,
}

impl Laptop {
    fn new(enumerator: &str) -> Self {
        Laptop {
            key: ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap(),
            enumerator: enumerator.into(),
            device: uuid::Uuid::now_v7().to_string(),
        }
    }

    /// Its allowed_signers line.
    fn signers_line(&self) -> String {
        format!(
            "{} namespaces=\"fieldkit-bundle\" {}",
            self.enumerator,
            self.key.public_key().to_openssh().unwrap()
        )
    }

    /// A record's body as this laptop would write it.
    fn body(&self, record_id: &str, site: &str) -> Value {
        json!({
            "format": "fieldkit-record/1",
            "record_id": record_id,
            "form_id": "hostile_test",
            "form_version": "1",
            "enumerator_id": self.enumerator,
            "device_id": self.device,
            "started": "2026-11-22T09:00:00.000+07:00",
            "finalized_at": "2026-11-22T10:00:00.000+07:00",
            "values": {"site": site},
        })
    }

    /// Bundle 1 of this laptop: the records (id, body) and the forms
    /// (form_id, version, text) given, built and signed by the library.
    fn bundle(&self, records: &[(&str, Value)], forms: &[(&str, &str, &[u8])]) -> Built {
        let recipients = fieldkit::crypt::parse_recipients(
            &std::fs::read_to_string(repo().join("keys/recipients.txt")).unwrap(),
        )
        .unwrap();
        let (form_id, version, text) = forms[0];
        let outgoing: Vec<Outgoing> = records
            .iter()
            .map(|(id, body)| Outgoing {
                record_id: id.to_string(),
                form_id: form_id.into(),
                form_version: version.into(),
                form_sha256: bundle::sha256_hex(text),
                finalized_at: "2026-11-22T10:00:00.000+07:00".into(),
                ciphertext: fieldkit::crypt::encrypt_to(&recipients, body.to_string().as_bytes())
                    .unwrap(),
            })
            .collect();
        let forms: Vec<(String, String, String, Vec<u8>)> = forms
            .iter()
            .map(|(id, v, text)| {
                (
                    id.to_string(),
                    v.to_string(),
                    bundle::sha256_hex(text),
                    text.to_vec(),
                )
            })
            .collect();
        let plan = Plan {
            enumerator_id: &self.enumerator,
            device_id: &self.device,
            sequence: 1,
            prev_manifest_sha256: bundle::NO_PREVIOUS,
            records: &outgoing,
            forms: &forms,
        };
        bundle::build(&plan, &self.key).unwrap()
    }

    /// A bundle whose manifest is changed after building, then signed
    /// again with this laptop's key: the signature is good, the content
    /// lies.
    fn lying(&self, built: &Built, change: impl FnOnce(&mut Manifest)) -> Vec<u8> {
        let mut manifest = built.manifest.clone();
        change(&mut manifest);
        let mut text = serde_json::to_vec_pretty(&manifest).unwrap();
        text.push(b'\n');
        let sig = bundle::signers::sign(&self.key, bundle::NAMESPACE, &text).unwrap();
        let mut files: Vec<(String, Vec<u8>)> = bundle::archive::read(&built.zip)
            .unwrap()
            .into_iter()
            .map(|e| {
                let data = match e.name.as_str() {
                    bundle::MANIFEST => text.clone(),
                    bundle::SIGNATURE => sig.clone().into_bytes(),
                    _ => e.data.to_vec(),
                };
                (e.name, data)
            })
            .collect();
        bundle::archive::write(&mut files).unwrap()
    }
}

fn form() -> (&'static str, &'static str, &'static [u8]) {
    ("hostile_test", "1", FORM.as_bytes())
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A folder with a signers file listing `laptops` and a `usb` folder.
fn place(laptops: &[&Laptop]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let signers = dir.path().join("allowed_signers");
    let lines: String = laptops.iter().map(|l| l.signers_line() + "\n").collect();
    std::fs::write(&signers, lines).unwrap();
    (dir, usb, signers)
}

fn verify(bundle: &Path, signers: &Path) -> std::process::Output {
    fieldkit(&[
        "verify",
        bundle.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ])
}

fn aggregate(out: &Path, inputs: &[&Path], signers: &Path) -> std::process::Output {
    let identity = repo().join("keys/demo/data-manager.key");
    let mut args = vec![
        "aggregate",
        "--identity",
        identity.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    fieldkit(&args)
}

fn summary(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// The rows of a CSV table (without the byte-order mark), header first.
fn table(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_bundle_id_that_is_a_path_is_refused_and_nothing_lands_outside_out() {
    let (a, b, c) = (
        Laptop::new("enum-a"),
        Laptop::new("enum-b"),
        Laptop::new("enum-c"),
    );
    let (dir, usb, signers) = place(&[&a, &b, &c]);
    let work = dir.path().join("work");
    let out = work.join("out");
    // Where an absolute bundle id points: a folder that exists, so that
    // only the check keeps a file out of it.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let id = new_id();
    // Three versions of one record: each other bundle is a conflict, which
    // aggregate would write to conflicts/<id>/<bundle_id>.json.
    let good = a.bundle(&[(&id, a.body(&id, "Site A"))], &[form()]);
    std::fs::write(usb.join("a.zip"), &good.zip).unwrap();
    let relative = b.lying(&b.bundle(&[(&id, b.body(&id, "Site B"))], &[form()]), |m| {
        m.bundle_id = "../../../planted".into()
    });
    std::fs::write(usb.join("b.zip"), &relative).unwrap();
    let absolute_id = elsewhere.join("planted").to_str().unwrap().to_string();
    let absolute = c.lying(&c.bundle(&[(&id, c.body(&id, "Site C"))], &[form()]), |m| {
        m.bundle_id = absolute_id.clone()
    });
    std::fs::write(usb.join("c.zip"), &absolute).unwrap();

    for (file, bad) in [
        ("b.zip", "../../../planted"),
        ("c.zip", absolute_id.as_str()),
    ] {
        let run = verify(&usb.join(file), &signers);
        assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
        assert!(
            stdout(&run).contains(&format!(
                "malformed manifest: bundle_id {bad:?} is not this bundle's id"
            )),
            "{}",
            stdout(&run)
        );
    }
    assert_eq!(verify(&usb.join("a.zip"), &signers).status.code(), Some(0));

    let run = aggregate(&out, &[&usb], &signers);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let s = summary(&out);
    let failed: Vec<&str> = s["failed_bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 2, "{s}");
    assert!(
        failed.iter().any(|f| f.ends_with("b.zip")) && failed.iter().any(|f| f.ends_with("c.zip"))
    );
    assert_eq!(s["records"], 1);
    // Nothing outside --out: its parent holds only it, the other folders
    // hold what they held.
    let beside: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["out"]);
    assert!(
        files_under(&elsewhere).is_empty(),
        "{:?}",
        files_under(&elsewhere)
    );
    let mut top: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["allowed_signers", "elsewhere", "usb", "work"]);
    assert_eq!(files_under(&usb).len(), 3);
    assert!(
        !out.join("conflicts").exists(),
        "no conflict: the liars are left out"
    );
}

#[test]
fn a_record_id_in_another_spelling_is_refused() {
    let a = Laptop::new("enum-a");
    let (dir, usb, signers) = place(&[&a]);
    let id = new_id();
    let upper = id.to_uppercase();
    let braces = format!("{{{id}}}");
    let urn = format!("urn:uuid:{id}");
    let simple = id.replace('-', "");
    let spellings = [id.as_str(), &upper, &braces, &urn, &simple];
    let records: Vec<(&str, Value)> = spellings
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, a.body(s, &format!("Site {i}"))))
        .collect();
    let built = a.bundle(&records, &[form()]);
    let file = usb.join("a.zip");
    std::fs::write(&file, &built.zip).unwrap();

    let run = verify(&file, &signers);
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    for other in &spellings[1..] {
        assert!(
            stdout(&run).contains(&format!("record id {other:?} is not written as fieldkit")),
            "{other}: {}",
            stdout(&run)
        );
    }
    assert!(!stdout(&run).contains(&format!("record id {id:?}")));

    let out = dir.path().join("out");
    let run = aggregate(&out, &[&usb], &signers);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(summary(&out)["failed_bundles"].as_array().unwrap().len(), 1);
    assert_eq!(summary(&out)["records"], 0);
    assert!(!out.join("conflicts").exists());
}

#[test]
fn records_are_credited_to_their_signer_not_to_what_their_body_says() {
    let x = Laptop::new("enum-x");
    let (dir, usb, signers) = place(&[&x]);
    let (honest, lying) = (new_id(), new_id());
    let mut body = x.body(&lying, "Site Y");
    body["enumerator_id"] = json!("enum-y");
    body["device_id"] = json!(uuid::Uuid::now_v7().to_string());
    let built = x.bundle(
        &[(&honest, x.body(&honest, "Site X")), (&lying, body)],
        &[form()],
    );
    std::fs::write(usb.join("x.zip"), &built.zip).unwrap();

    let out = dir.path().join("out");
    let run = aggregate(&out, &[&usb], &signers);
    assert_eq!(run.status.code(), Some(1), "the disagreement is a problem");
    let rows = table(&out.join("hostile_test.csv"));
    assert_eq!(&rows[0][..3], ["record_id", "enumerator_id", "device_id"]);
    assert_eq!(rows.len(), 3, "both records kept: {rows:?}");
    for row in &rows[1..] {
        assert_eq!(row[1], "enum-x", "{row:?}");
        assert_eq!(row[2], x.device, "{row:?}");
    }
    let s = summary(&out);
    assert_eq!(s["by_enumerator"], json!({"enum-x": 2}));
    let disagreements = s["disagreements"].as_array().unwrap();
    assert_eq!(disagreements.len(), 1, "{s}");
    assert_eq!(disagreements[0]["record_id"], json!(lying));
    let problem = disagreements[0]["problem"].as_str().unwrap();
    assert!(
        problem.contains("\"enum-y\"") && problem.contains("credited to enum-x"),
        "{problem}"
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains(&format!("record {lying}")), "{md}");
}

#[test]
fn a_record_of_a_later_format_is_named_with_what_to_do_never_misread() {
    let x = Laptop::new("enum-x");
    let (dir, usb, signers) = place(&[&x]);
    let (known, same_fields, new_fields) = (new_id(), new_id(), new_id());
    // A later layout that happens to have today's fields, and one that
    // does not (its values are no longer an object).
    let mut later = x.body(&same_fields, "Site L");
    later["format"] = json!("fieldkit-record/2");
    let mut changed = x.body(&new_fields, "Site M");
    changed["format"] = json!("fieldkit-record/2");
    changed["values"] = json!([{"name": "site", "value": "Site M"}]);
    let built = x.bundle(
        &[
            (&known, x.body(&known, "Site K")),
            (&same_fields, later),
            (&new_fields, changed),
        ],
        &[form()],
    );
    std::fs::write(usb.join("x.zip"), &built.zip).unwrap();

    let out = dir.path().join("out");
    let run = aggregate(&out, &[&usb], &signers);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let rows = table(&out.join("hostile_test.csv"));
    assert_eq!(rows.len(), 2, "only the known record: {rows:?}");
    assert_eq!(rows[1][0], known);
    let s = summary(&out);
    let unread = s["undecryptable"].as_array().unwrap();
    assert_eq!(unread.len(), 2, "{s}");
    for (u, id) in unread.iter().zip([&same_fields, &new_fields]) {
        assert_eq!(u["record_id"], json!(id), "{u}");
        let reason = u["reason"].as_str().unwrap();
        assert!(
            reason.contains("\"fieldkit-record/2\"") && reason.contains("upgrade fieldkit"),
            "{reason}"
        );
    }
    let said = stderr(&run);
    assert!(said.contains(&format!("record {new_fields}")), "{said}");
}

#[test]
fn an_output_folder_that_cannot_be_made_is_said_with_what_to_do() {
    let x = Laptop::new("enum-x");
    let (dir, usb, signers) = place(&[&x]);
    let id = new_id();
    let built = x.bundle(&[(&id, x.body(&id, "Site K"))], &[form()]);
    std::fs::write(usb.join("x.zip"), &built.zip).unwrap();
    // A file where the output folder's parent should be.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let run = aggregate(&blocker.join("out"), &[&usb], &signers);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let said = stderr(&run);
    assert!(
        said.contains("cannot create the output folder") && said.contains("Check the path"),
        "{said}"
    );
}

/// Work counted, not timed: conflicts cost each bundle involved one more
/// read, however many conflicts it holds (re-reading both bundles for
/// every conflict made 2,000 conflicts take 88 s), and every bundle is
/// read and parsed once (verify with its forms, the bytes kept for
/// decryption), or twice where its bytes are not kept; the tables are the
/// same either way.
#[test]
fn conflicts_cost_one_more_read_per_bundle_not_per_conflict() {
    let (x, y, z) = (
        Laptop::new("enum-x"),
        Laptop::new("enum-y"),
        Laptop::new("enum-z"),
    );
    let (dir, usb, signers) = place(&[&x, &y, &z]);
    let shared: Vec<String> = (0..40).map(|_| new_id()).collect();
    let own: Vec<String> = (0..5).map(|_| new_id()).collect();
    let bodies = |laptop: &Laptop, ids: &[String], site: &str| -> Vec<(String, Value)> {
        ids.iter()
            .map(|id| (id.clone(), laptop.body(id, site)))
            .collect()
    };
    let mut files = Vec::new();
    for (laptop, ids, site) in [(&x, &shared, "X"), (&y, &shared, "Y"), (&z, &own, "Z")] {
        let records = bodies(laptop, ids, site);
        let records: Vec<(&str, Value)> = records
            .iter()
            .map(|(id, b)| (id.as_str(), b.clone()))
            .collect();
        let path = usb.join(format!("{}.zip", laptop.enumerator));
        std::fs::write(&path, laptop.bundle(&records, &[form()]).zip).unwrap();
        files.push(path);
    }
    let mut tables = Vec::new();
    for (keep_bytes, reads) in [(fieldkit::aggregate::KEEP_BYTES, 3), (0, 3 * 2)] {
        let out = dir.path().join(format!("out-{keep_bytes}"));
        let opts = crate::support::aggregate_options(&signers, &out, keep_bytes);
        let summary = fieldkit::aggregate::run(&files, &opts).unwrap();
        assert_eq!(summary.conflicts.len(), 40, "{:?}", summary.problem_lines());
        assert_eq!(summary.records, 45);
        let written = files_under(&out.join("conflicts"));
        assert_eq!(written.len(), 80, "both versions of every conflict");
        let work = summary.work;
        assert_eq!(work.bundle_reads, reads + 2, "{work:?}");
        assert_eq!(work.archive_parses, reads + 2, "{work:?}");
        // Each record once; each conflict's two versions once more.
        assert_eq!(work.decryptions, 85 + 2 * 40, "{work:?}");
        tables.push(std::fs::read(out.join("hostile_test.csv")).ok());
    }
    assert!(tables[0].is_some());
    assert_eq!(tables[0], tables[1], "the same table either way");
}

#[test]
fn a_bundle_whose_form_does_not_load_is_left_out_and_the_others_are_read() {
    let (a, b, c, d) = (
        Laptop::new("enum-a"),
        Laptop::new("enum-b"),
        Laptop::new("enum-c"),
        Laptop::new("enum-d"),
    );
    let (dir, usb, signers) = place(&[&a, &b, &c, &d]);
    let id = new_id();
    std::fs::write(
        usb.join("a.zip"),
        a.bundle(&[(&id, a.body(&id, "Site A"))], &[form()]).zip,
    )
    .unwrap();
    // A form that is not a form.
    let broken = b"[settings]\nform_id = \"broken\"\n[[survey]]\ntype = \"no such type\"\n";
    let id = new_id();
    std::fs::write(
        usb.join("b.zip"),
        b.bundle(&[(&id, b.body(&id, "B"))], &[("broken", "1", broken)])
            .zip,
    )
    .unwrap();
    // A form whose CSV choice list is not here.
    let needs_csv = b"[settings]\nform_id = \"needs_csv\"\nversion = \"1\"\nform_title = \"T\"\n\
        [[survey]]\ntype = \"select_one_from_file nowhere_list.csv\"\nname = \"v\"\nlabel = \"V\"\n";
    let id = new_id();
    std::fs::write(
        usb.join("c.zip"),
        c.bundle(&[(&id, c.body(&id, "C"))], &[("needs_csv", "1", needs_csv)])
            .zip,
    )
    .unwrap();
    // A form that loads, but whose repeat would make a table name longer
    // than a file name may be.
    let long = format!(
        "[settings]\nform_id = \"long_repeat\"\nversion = \"1\"\nform_title = \"T\"\n\
         [[survey]]\ntype = \"begin_repeat\"\nname = \"{}\"\nlabel = \"R\"\n\
         [[survey]]\ntype = \"text\"\nname = \"t\"\nlabel = \"T\"\n[[survey]]\ntype = \"end_repeat\"\n",
        "r".repeat(300)
    );
    let id = new_id();
    std::fs::write(
        usb.join("d.zip"),
        d.bundle(
            &[(&id, d.body(&id, "D"))],
            &[("long_repeat", "1", long.as_bytes())],
        )
        .zip,
    )
    .unwrap();
    for f in ["b.zip", "c.zip", "d.zip"] {
        assert_eq!(
            verify(&usb.join(f), &signers).status.code(),
            Some(0),
            "{f}: validly signed, its forms are aggregate's business"
        );
    }

    let out = dir.path().join("out");
    let run = aggregate(&out, &[&usb], &signers);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let rows = table(&out.join("hostile_test.csv"));
    assert_eq!(rows.len(), 2, "a's record is read: {rows:?}");
    let s = summary(&out);
    assert_eq!(s["records"], 1);
    let failed = s["failed_bundles"].as_array().unwrap();
    assert_eq!(failed.len(), 3, "{s}");
    let problem = |file: &str| {
        failed
            .iter()
            .find(|f| f["file"].as_str().unwrap().ends_with(file))
            .map(|f| f["problems"].to_string())
            .unwrap_or_else(|| panic!("{file} not reported: {s}"))
    };
    let b_problem = problem("b.zip");
    assert!(
        b_problem.contains("does not load") && b_problem.contains("the form itself is broken"),
        "{b_problem}"
    );
    assert!(
        !b_problem.contains("--forms"),
        "a misleading hint: {b_problem}"
    );
    let c_problem = problem("c.zip");
    assert!(c_problem.contains("--forms DIR"), "{c_problem}");
    let d_problem = problem("d.zip");
    assert!(d_problem.contains("is too long"), "{d_problem}");
    let written: Vec<PathBuf> = files_under(&out);
    assert!(
        written.iter().all(|f| {
            let name = f.file_name().unwrap().to_string_lossy();
            name.starts_with("hostile_test")
                || name.starts_with("summary")
                || name == "checks.csv"
                || name == "choices.csv"
        }),
        "{written:?}"
    );
}

#[test]
fn another_text_under_the_same_form_version_is_a_form_conflict() {
    let (a, b) = (Laptop::new("enum-a"), Laptop::new("enum-b"));
    let (dir, usb, signers) = place(&[&a, &b]);
    let changed = format!("{FORM}\n[[survey]]\ntype = \"text\"\nname = \"extra\"\nlabel = \"E\"\n");
    let (ia, ib) = (new_id(), new_id());
    let fa = usb.join("a.zip");
    let fb = usb.join("b.zip");
    std::fs::write(&fa, a.bundle(&[(&ia, a.body(&ia, "A"))], &[form()]).zip).unwrap();
    let built_b = b.bundle(
        &[(&ib, b.body(&ib, "B"))],
        &[("hostile_test", "1", changed.as_bytes())],
    );
    std::fs::write(&fb, &built_b.zip).unwrap();
    // The first bundle in (device, sequence) order wins, whatever the
    // order given.
    let (first, other) = if a.device < b.device {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let first_id = format!("{}-000001-", first.enumerator);
    for (name, order) in [("ab", [&fa, &fb]), ("ba", [&fb, &fa])] {
        let out = dir.path().join(name);
        let run = aggregate(&out, &[order[0], order[1]], &signers);
        assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
        let s = summary(&out);
        assert_eq!(s["records"], 2, "both bundles read: {s}");
        let conflicts = s["form_conflicts"].as_array().unwrap();
        assert_eq!(conflicts.len(), 1, "{s}");
        let c = &conflicts[0];
        assert_eq!(c["form_id"], "hostile_test");
        assert_eq!(c["version"], "1");
        assert!(c["used"].as_str().unwrap().starts_with(&first_id), "{c}");
        assert!(
            c["other"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}-000001-", other.enumerator)),
            "{c}"
        );
        assert_ne!(c["used_sha256"], c["other_sha256"]);
        let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(md.contains("form conflict: hostile_test 1"), "{md}");
        let header = &table(&out.join("hostile_test.csv"))[0];
        assert_eq!(
            header.contains(&"extra".to_string()),
            first.enumerator == "enum-b",
            "the first text's columns: {header:?}"
        );
    }
    assert_eq!(
        std::fs::read(dir.path().join("ab/hostile_test.csv")).unwrap(),
        std::fs::read(dir.path().join("ba/hostile_test.csv")).unwrap()
    );
}

/// A file over the bundle size cap is reported and not read (a sparse
/// file: it takes no disk); the other bundles are aggregated.
#[cfg(unix)]
#[test]
fn a_file_over_the_bundle_size_cap_is_left_out_unread() {
    let a = Laptop::new("enum-a");
    let (dir, usb, signers) = place(&[&a]);
    let id = new_id();
    std::fs::write(
        usb.join("a.zip"),
        a.bundle(&[(&id, a.body(&id, "Site A"))], &[form()]).zip,
    )
    .unwrap();
    let huge = std::fs::File::create(usb.join("huge.zip")).unwrap();
    huge.set_len(fieldkit::bundle::archive::MAX_BUNDLE_BYTES + 1)
        .unwrap();
    let out = dir.path().join("out");
    let run = aggregate(&out, &[&usb], &signers);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let s = summary(&out);
    assert_eq!(s["records"], 1);
    let failed = s["failed_bundles"].to_string();
    assert!(
        failed.contains("huge.zip") && failed.contains("over the bundle limit"),
        "{failed}"
    );
}
