//! Versions, review status and the change log with real bundles: built
//! and signed by the library, records encrypted to the demo data
//! manager's key (corrections written directly as record JSON), receipts
//! signed with the demo supervisor's key; the whole aggregation run on
//! them and its files read back with the csv crate. (Answers by path and
//! their comparison are tested in `changes`.)

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use ssh_key::rand_core::OsRng;

use super::changes;
use super::{Options, Summary, run};
use crate::bundle::receipt::{self, Comment, Decision, Receipt, Verdict};
use crate::bundle::signers::AllowedSigners;
use crate::bundle::{self, Built, Streamed};

const FORM: &str = r#"
[settings]
form_id = "visit"
version = "1"
form_title = "Visit"

[[survey]]
type = "text"
name = "site"
label = "Site"

[[survey]]
type = "integer"
name = "count"
label = "Count"

[[survey]]
type = "begin_repeat"
name = "members"
label = "Members"

[[survey]]
type = "integer"
name = "age"
label = "Age"

[[survey]]
type = "end_repeat"
"#;

const R1: &str = "0190a1b2-0000-7000-8000-000000000001";
const R2: &str = "0190a1b2-0000-7000-8000-000000000002";
const R3: &str = "0190a1b2-0000-7000-8000-000000000003";
const R4: &str = "0190a1b2-0000-7000-8000-000000000004";
const R5: &str = "0190a1b2-0000-7000-8000-000000000005";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One record version going into a bundle.
struct Rec {
    id: &'static str,
    version: u32,
    supersedes: Option<u32>,
    /// What the body says, when it is not what the manifest says.
    body_version: Option<u32>,
    values: Value,
    finalized_at: &'static str,
}

fn rec(id: &'static str, version: u32, values: Value) -> Rec {
    Rec {
        id,
        version,
        supersedes: (version > 1).then(|| version - 1),
        body_version: None,
        values,
        finalized_at: if version == 1 {
            "2026-11-22T10:00:00.000+07:00"
        } else {
            "2026-11-25T16:30:00.000+07:00"
        },
    }
}

fn values(site: &str, count: u32, ages: &[u32]) -> Value {
    json!({
        "site": site,
        "count": count,
        "members": ages.iter().map(|a| json!({"age": a})).collect::<Vec<_>>(),
    })
}

/// A laptop: its signing key, enumerator and device, and its chain.
struct Laptop {
    key: ssh_key::PrivateKey,
    enumerator: String,
    device: String,
    sequence: u64,
    prev: String,
}

impl Laptop {
    fn new(enumerator: &str, device: &str) -> Laptop {
        Laptop {
            key: ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap(),
            enumerator: enumerator.into(),
            device: device.into(),
            sequence: 0,
            prev: crate::crypt::NO_PREVIOUS.to_string(),
        }
    }

    fn signers_line(&self) -> String {
        format!(
            "{} namespaces=\"fieldkit-bundle\" {}",
            self.enumerator,
            self.key.public_key().to_openssh().unwrap()
        )
    }

    /// The next bundle of this laptop, written into `dir`.
    fn bundle(&mut self, dir: &Path, records: &[Rec]) -> (PathBuf, Built) {
        let recipients = crate::crypt::parse_recipients(
            &std::fs::read_to_string(repo().join("keys/recipients.txt")).unwrap(),
        )
        .unwrap();
        let mut ciphertexts = std::collections::HashMap::new();
        let mut entries = Vec::new();
        for r in records {
            let mut body = json!({
                "format": "fieldkit-record/1",
                "record_id": r.id,
                "form_id": "visit",
                "form_version": "1",
                "enumerator_id": self.enumerator,
                "device_id": self.device,
                "started": "2026-11-22T09:00:00.000+07:00",
                "finalized_at": r.finalized_at,
                "values": r.values,
            });
            let version = r.body_version.unwrap_or(r.version);
            if version != 1 {
                body["version"] = json!(version);
            }
            if let Some(s) = r.supersedes {
                body["supersedes"] = json!(s);
            }
            let ct = crate::crypt::encrypt_to(&recipients, body.to_string().as_bytes()).unwrap();
            let mut e = bundle::entry_of(r.id, "visit", "1", r.finalized_at, &ct);
            e.version = r.version;
            e.supersedes = r.supersedes;
            entries.push(e);
            ciphertexts.insert(r.id.to_string(), ct);
        }
        self.sequence += 1;
        let forms = vec![(
            "visit".to_string(),
            "1".to_string(),
            bundle::sha256_hex(FORM.as_bytes()),
            FORM.as_bytes().to_vec(),
        )];
        let plan = Streamed {
            enumerator_id: &self.enumerator,
            device_id: &self.device,
            sequence: self.sequence,
            prev_manifest_sha256: &self.prev,
            entries,
            forms: &forms,
            media: Vec::new(),
        };
        let built = bundle::build_streamed(plan, &self.key, &mut |e| {
            Ok(std::borrow::Cow::Owned(ciphertexts[&e.record_id].clone()))
        })
        .unwrap();
        self.prev = built.manifest_sha256.clone();
        let path = dir.join(bundle::file_name(
            &self.enumerator,
            &self.device,
            self.sequence,
        ));
        std::fs::write(&path, &built.zip).unwrap();
        (path, built)
    }
}

/// A receipt for a bundle with verdicts, signed by the demo supervisor.
fn receipt_for(built: &Built, verdicts: Vec<Verdict>) -> Vec<u8> {
    let m = &built.manifest;
    let key = ssh_key::PrivateKey::from_openssh(
        std::fs::read_to_string(repo().join("keys/demo/supervisor")).unwrap(),
    )
    .unwrap();
    let r = Receipt {
        format: Receipt::format_for(&verdicts).into(),
        bundle_id: m.bundle_id.clone(),
        enumerator_id: m.enumerator_id.clone(),
        device_id: m.device_id.clone(),
        sequence: m.sequence,
        manifest_sha256: built.manifest_sha256.clone(),
        received_at: "2026-11-23T08:00:00.000+07:00".into(),
        supervisor: key.public_key().to_openssh().unwrap(),
        verdicts,
    };
    receipt::sign(&r, &key).unwrap()
}

fn verdict(id: &str, version: u32, decision: Decision, comments: &[(&str, &str)]) -> Verdict {
    Verdict {
        record_id: id.into(),
        version,
        decision,
        comments: comments
            .iter()
            .map(|(f, t)| Comment {
                field: f.to_string(),
                text: t.to_string(),
            })
            .collect(),
        note: if decision == Decision::Returned {
            "please check the household".into()
        } else {
            String::new()
        },
    }
}

fn aggregate(
    bundles: &[PathBuf],
    laptops: &[&Laptop],
    receipts: &[PathBuf],
    out: &Path,
) -> Summary {
    let signers: String = laptops.iter().map(|l| l.signers_line() + "\n").collect();
    let supervisors = std::fs::read_to_string(repo().join("keys/supervisors")).unwrap();
    let opts = Options {
        identities: crate::crypt::parse_identities(
            &std::fs::read_to_string(repo().join("keys/demo/data-manager.key")).unwrap(),
        )
        .unwrap(),
        signers: AllowedSigners::parse(&signers).unwrap(),
        out: out.to_path_buf(),
        forms_dir: None,
        labels: None,
        hxl: false,
        xlsx: false,
        progress: false,
        threads: 2,
        entities: None,
        assignments: None,
        keep_bytes: super::KEEP_BYTES,
        receipts: receipts.to_vec(),
        supervisors: Some(AllowedSigners::parse(&supervisors).unwrap()),
        parquet: None,
        checks: Default::default(),
        db: None,
    };
    run(bundles, &opts).unwrap()
}

/// A CSV file written by aggregate, as maps of header to cell.
fn table(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap();
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn row<'a>(
    rows: &'a [std::collections::BTreeMap<String, String>],
    id: &str,
) -> &'a std::collections::BTreeMap<String, String> {
    let found: Vec<_> = rows.iter().filter(|r| r["record_id"] == id).collect();
    assert_eq!(found.len(), 1, "{id} once in {rows:?}");
    found[0]
}

#[test]
fn a_correction_replaces_its_version_and_every_change_is_logged_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let mut a = Laptop::new("enum-01", "0190a1b2-0000-7000-8000-00000000d001");
    let (b1, built1) = a.bundle(
        &usb,
        &[
            rec(R1, 1, values("Ban Na", 5, &[30, 40])),
            rec(R2, 1, values("Ban Phon", 3, &[25])),
        ],
    );
    // The supervisor returns R1 with a comment on the second member's
    // age, approves R2.
    let receipts = dir.path().join("receipts");
    std::fs::create_dir_all(&receipts).unwrap();
    let r1 = receipts.join("b1.json");
    std::fs::write(
        &r1,
        receipt_for(
            &built1,
            vec![
                verdict(
                    R1,
                    1,
                    Decision::Returned,
                    &[("members[2]/age", "40 for a child?")],
                ),
                verdict(R2, 1, Decision::Approved, &[]),
            ],
        ),
    )
    .unwrap();
    // The correction: the second member's age, the count, a third member.
    let (b2, built2) = a.bundle(&usb, &[rec(R1, 2, values("Ban Na", 6, &[30, 4, 1]))]);
    // A v1 receipt for bundle 2: received, not reviewed.
    let r2 = receipts.join("b2.json");
    std::fs::write(&r2, receipt_for(&built2, Vec::new())).unwrap();

    let out = dir.path().join("out");
    let summary = aggregate(&[b2.clone(), b1.clone()], &[&a], &[r1, r2], &out);
    assert_eq!(summary.problems(), 0, "{:?}", summary.problem_lines());
    assert_eq!(summary.records, 2);
    // Each record decrypted once, the earlier version too: no second pass.
    assert_eq!(summary.work.decryptions, 3);

    let main = table(&out.join("visit.csv"));
    assert_eq!(main.len(), 2);
    let r1_row = row(&main, R1);
    assert_eq!(r1_row["version"], "2");
    assert_eq!(r1_row["review_status"], "received");
    assert_eq!(r1_row["count"], "6");
    let r2_row = row(&main, R2);
    assert_eq!(r2_row["version"], "1");
    assert_eq!(r2_row["review_status"], "approved");
    // The key columns: the meta ones, then version, review_status and
    // round (none: the records were made without a pack).
    let head = std::fs::read_to_string(out.join("visit.csv")).unwrap();
    assert!(
        head.starts_with(
            "\u{FEFF}record_id,enumerator_id,device_id,bundle_id,form_version,started,\
             finalized_at,version,review_status,round,site,count\n"
        ),
        "{head}"
    );
    let members = table(&out.join("visit__members.csv"));
    let of_r1: Vec<_> = members.iter().filter(|r| r["record_id"] == R1).collect();
    assert_eq!(of_r1.len(), 3, "version 2's members only");
    assert!(of_r1.iter().all(|r| r["version"] == "2"));

    // The earlier version, aside in the same layout, with its status.
    let earlier = table(&out.join("versions/visit.csv"));
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0]["record_id"], R1);
    assert_eq!(earlier[0]["version"], "1");
    assert_eq!(earlier[0]["review_status"], "returned");
    assert_eq!(earlier[0]["count"], "5");
    let earlier_members = table(&out.join("versions/visit__members.csv"));
    assert_eq!(earlier_members.len(), 2);
    assert_eq!(earlier_members[1]["age"], "40");

    // The change log: one row per changed answer, in the cleaning-log
    // shape, the supervisor's comment as the reason where there is one,
    // else the verdict's note.
    let log = table(&out.join("changes.csv"));
    let got: Vec<Vec<&str>> = log
        .iter()
        .map(|r| {
            changes::HEADER
                .iter()
                .map(|h| r[*h].as_str())
                .collect::<Vec<_>>()
        })
        .collect();
    let when = "2026-11-25T16:30:00.000+07:00";
    assert_eq!(
        got,
        vec![
            vec![
                R1,
                "2",
                "count",
                "5",
                "6",
                "enum-01",
                when,
                "please check the household"
            ],
            vec![
                R1,
                "2",
                "members[2]/age",
                "40",
                "4",
                "enum-01",
                when,
                "40 for a child?"
            ],
            vec![
                R1,
                "2",
                "members[3]/age",
                "",
                "1",
                "enum-01",
                when,
                "please check the household"
            ],
        ]
    );

    let r = &summary.review;
    assert_eq!(
        (r.approved, r.returned, r.received, r.pending, r.corrected),
        (1, 0, 1, 0, 1)
    );
    assert_eq!(
        (r.earlier_versions, r.changes, r.receipts_used),
        (1, Some(3), 2)
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["review"]["corrected"], 1);
    assert_eq!(json["review"]["approved"], 1);

    // Bundle 1 alone: R1's version 1 is in the tables, returned; no
    // versions, no change log.
    let alone = dir.path().join("alone");
    let s = aggregate(std::slice::from_ref(&b1), &[&a], &[], &alone);
    assert_eq!(s.problems(), 0, "{:?}", s.problem_lines());
    let main = table(&alone.join("visit.csv"));
    assert_eq!(row(&main, R1)["version"], "1");
    assert_eq!(row(&main, R1)["review_status"], "pending");
    assert!(!alone.join("versions").exists());
    assert!(!alone.join("changes.csv").exists());
}

#[test]
fn hostile_corrections_are_named_kept_aside_and_never_merged() {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let mut a = Laptop::new("enum-01", "0190a1b2-0000-7000-8000-00000000d001");
    let mut b = Laptop::new("enum-02", "0190a1b2-0000-7000-8000-00000000d002");
    let (a1, _) = a.bundle(
        &usb,
        &[
            rec(R1, 1, values("A one", 1, &[])),
            rec(R2, 1, values("A two", 2, &[])),
            rec(R3, 1, values("A three", 3, &[])),
            rec(R4, 1, values("A four", 4, &[])),
        ],
    );
    // Another enumerator's correction of enum-01's record.
    let (b1, _) = b.bundle(&usb, &[rec(R1, 2, values("B's one", 9, &[]))]);
    // One of two different corrections of R4; a correction whose version
    // 1 is not given; a correction of R2 sent twice (the same content).
    let (a2, _) = a.bundle(
        &usb,
        &[
            rec(R4, 2, values("A four, fixed", 4, &[])),
            rec(R5, 2, values("A five", 5, &[])),
            rec(R2, 2, values("A two, fixed", 2, &[])),
        ],
    );
    let (a3, _) = a.bundle(
        &usb,
        &[
            rec(R4, 2, values("A four, fixed otherwise", 4, &[])),
            rec(R2, 2, values("A two, fixed", 2, &[])),
        ],
    );

    // A correction that skips a version: verify refuses its bundle (the
    // plan would keep it aside too: below).
    let mut skip = rec(R3, 3, values("A three, again", 3, &[]));
    skip.supersedes = Some(1);
    let (a4, _) = a.bundle(&usb, &[skip]);

    let out = dir.path().join("out");
    let summary = aggregate(&[a1, b1, a2, a3, a4], &[&a, &b], &[], &out);
    let lines = summary.problem_lines().join("\n");
    let conflicts: Vec<(&str, u32)> = summary
        .version_conflicts
        .iter()
        .map(|c| (c.record_id.as_str(), c.version))
        .collect();
    assert_eq!(conflicts.len(), 2, "{lines}");
    assert_eq!(summary.failed_bundles.len(), 1, "{lines}");
    assert!(
        lines.contains("says version 3 superseding Some(1)"),
        "{lines}"
    );
    for want in [(R1, 2), (R4, 2)] {
        assert!(conflicts.contains(&want), "{want:?}: {lines}");
    }
    assert!(
        lines.contains("points at another enumerator's record"),
        "{lines}"
    );
    assert!(
        lines.contains("two different corrections of version 1"),
        "{lines}"
    );
    assert!(lines.contains("the tables keep version 1"), "{lines}");
    // The correction without its version 1: taken, with a note.
    assert_eq!(
        summary.version_notes.len(),
        1,
        "{:?}",
        summary.version_notes
    );
    assert!(summary.version_notes[0].contains(R5));

    assert_eq!(summary.duplicates, 1, "R2's correction given twice");
    let main = table(&out.join("visit.csv"));
    assert_eq!(main.len(), 5);
    assert_eq!(row(&main, R2)["version"], "2");
    assert_eq!(row(&main, R1)["site"], "A one");
    assert_eq!(row(&main, R1)["enumerator_id"], "enum-01");
    assert_eq!(row(&main, R3)["version"], "1");
    assert_eq!(row(&main, R4)["site"], "A four");
    assert_eq!(row(&main, R5)["version"], "2");
    // Every claim kept aside is written out, never in a table.
    for (id, n) in [(R1, 1), (R4, 2)] {
        let aside = std::fs::read_dir(out.join("conflicts").join(id))
            .unwrap()
            .count();
        assert_eq!(aside, n, "{id}");
    }
    // R2's version 1 is the only earlier version; its change, the only one.
    let earlier = table(&out.join("versions/visit.csv"));
    assert_eq!(earlier.len(), 1);
    assert_eq!(
        (
            earlier[0]["record_id"].as_str(),
            earlier[0]["version"].as_str()
        ),
        (R2, "1")
    );
    let log = table(&out.join("changes.csv"));
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0]["field"].as_str(), log[0]["new_value"].as_str()),
        ("site", "A two, fixed")
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("version conflict: record"), "{md}");
}

/// What the plan makes of manifests that verify would refuse (a
/// correction that does not supersede the version before it, a version 0,
/// a first version superseding one): kept aside, named, never merged.
#[test]
fn the_plan_keeps_aside_what_does_not_follow_from_the_version_before() {
    use super::versions::{EntryFacts, Role, plan};
    let good: Vec<super::Good> = (0..2)
        .map(|n| super::Good {
            device_id: "d".into(),
            sequence: n + 1,
            manifest_sha256: format!("m{n}"),
            file: PathBuf::from(format!("b{n}.zip")),
            bundle_id: format!("enum-01-00000{n}"),
            enumerator_id: "enum-01".into(),
            stored: None,
        })
        .collect();
    let id = |s: &str| uuid::Uuid::parse_str(s).unwrap().as_u128();
    let fact = |r: &str, version, supersedes| EntryFacts {
        id: id(r),
        version,
        supersedes,
    };
    let entries = std::collections::HashMap::from([
        (
            "m0".to_string(),
            vec![fact(R1, 1, None), fact(R2, 1, Some(1)), fact(R3, 0, None)],
        ),
        ("m1".to_string(), vec![fact(R1, 3, Some(1))]),
    ]);
    let mut summary = Summary::default();
    let p = plan(&good, &entries, &mut summary);
    assert_eq!(p.role(id(R1), 0, 0), Some(Role::Table));
    for (r, b, e) in [(R1, 1, 0), (R2, 0, 1), (R3, 0, 2)] {
        assert_eq!(p.role(id(r), b, e), Some(Role::Hostile), "{r}");
    }
    let lines = summary.problem_lines().join("\n");
    assert_eq!(summary.version_conflicts.len(), 3, "{lines}");
    assert!(
        lines.contains("version 3 supersedes version 1, not version 2"),
        "{lines}"
    );
    assert!(lines.contains("a first version supersedes none"), "{lines}");
    assert!(lines.contains("versions start at 1"), "{lines}");
    assert_eq!(p.role(id(R4), 0, 0), None, "not in any manifest: no plan");
}

#[test]
fn receipts_that_fail_or_name_other_records_are_named_and_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let mut a = Laptop::new("enum-01", "0190a1b2-0000-7000-8000-00000000d001");
    let (b1, built) = a.bundle(&usb, &[rec(R1, 1, values("Ban Na", 5, &[]))]);
    // Forged: a verdict changed after signing.
    let good = receipt_for(&built, vec![verdict(R1, 1, Decision::Approved, &[])]);
    let forged = String::from_utf8(good.clone())
        .unwrap()
        .replacen("approved", "returned", 1);
    let forged_file = dir.path().join("forged.json");
    std::fs::write(&forged_file, forged).unwrap();
    // Genuine, but returning a record the bundle never held.
    let stray = dir.path().join("stray.json");
    std::fs::write(
        &stray,
        receipt_for(&built, vec![verdict(R2, 1, Decision::Returned, &[])]),
    )
    .unwrap();
    let out = dir.path().join("out");
    let summary = aggregate(&[b1], &[&a], &[forged_file, stray], &out);
    assert_eq!(
        summary.receipt_problems.len(),
        2,
        "{:?}",
        summary.receipt_problems
    );
    assert!(summary.receipt_problems[0].contains("forged.json"));
    assert!(summary.receipt_problems[0].contains("forged or damaged"));
    assert!(summary.receipt_problems[1].contains(R2));
    let main = table(&out.join("visit.csv"));
    // The stray receipt still says the bundle arrived.
    assert_eq!(row(&main, R1)["review_status"], "received");
}

#[test]
fn a_body_whose_version_is_not_its_manifest_entrys_is_left_out_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let mut a = Laptop::new("enum-01", "0190a1b2-0000-7000-8000-00000000d001");
    let (b1, _) = a.bundle(&usb, &[rec(R1, 1, values("Ban Na", 5, &[]))]);
    let mut lying = rec(R1, 2, values("Ban Na", 7, &[]));
    lying.body_version = Some(3);
    let (b2, _) = a.bundle(&usb, &[lying]);
    let out = dir.path().join("out");
    let summary = aggregate(&[b1, b2], &[&a], &[], &out);
    assert_eq!(summary.undecryptable.len(), 1);
    assert!(
        summary.undecryptable[0]
            .reason
            .contains("body says version 3"),
        "{:?}",
        summary.undecryptable
    );
    // Version 2 could not be taken: version 1 stays in the tables, said.
    let main = table(&out.join("visit.csv"));
    assert_eq!(row(&main, R1)["version"], "1");
    assert_eq!(row(&main, R1)["count"], "5");
    assert!(
        summary
            .version_notes
            .iter()
            .any(|n| n.contains("version 1 is in the tables")),
        "{:?}",
        summary.version_notes
    );
}

/// A bundle too large to keep from its verification is read again for
/// the warehouse: a record that is no longer the bytes its signed manifest
/// names stops the intake of that bundle (nothing of it is kept).
#[cfg(feature = "warehouse")]
#[test]
fn a_bundle_read_again_for_the_warehouse_must_be_the_one_verified() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Laptop::new("enum-01", "0190a1b2-0000-7000-8000-00000000d001");
    let (file, built) = a.bundle(dir.path(), &[rec(R1, 1, values("Ban Na", 5, &[30]))]);
    let good = super::Good {
        device_id: a.device.clone(),
        sequence: 1,
        manifest_sha256: built.manifest_sha256.clone(),
        file,
        bundle_id: built.manifest.bundle_id.clone(),
        enumerator_id: a.enumerator.clone(),
        stored: None,
    };
    let count = super::WorkCount::default();
    let mut opened = super::read::open_again(&good, &count).unwrap();
    super::warehouse::same_files(&opened, &good).unwrap();
    let record = opened.files[&built.manifest.entries[0].path].at.clone();
    std::sync::Arc::make_mut(&mut opened.bytes)[record.start + 40] ^= 1;
    assert!(matches!(
        super::warehouse::same_files(&opened, &good),
        Err(super::AggregateError::Changed { .. })
    ));
}
