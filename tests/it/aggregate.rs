//! Aggregation end to end with the real binary: two enumerators fill and
//! export; one bundle arrives twice, one tampered, and one laptop signs a
//! record whose id another already used, with other content. The tables
//! are read back with a CSV parser and the workbook with calamine.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{Enumerator, repo, stderr};

fn site(name: &str) -> String {
    let mut v: Value =
        serde_json::from_str(include_str!("../fixtures/site_assessment_complete.json")).unwrap();
    v["m0448_loc_site_name"] = json!(name);
    v.to_string()
}

fn flow(place: &str) -> String {
    let mut v: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    v["destination_place"] = json!(place);
    v.to_string()
}

pub(crate) fn fill(e: &Enumerator, form: &str, lines: &[String]) -> Vec<String> {
    let out = e.fill(form, &(lines.join("\n") + "\n"), &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["record_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

pub(crate) fn export(e: &Enumerator, usb: &Path) -> PathBuf {
    let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A bundle signed by `e`'s key, next in its chain, holding one record that
/// reuses `record_id` with other content: what a broken or forged laptop
/// would send.
fn forged_bundle(e: &Enumerator, usb: &Path, record_id: &str, form_text: &[u8]) -> PathBuf {
    let store = e.open();
    let (last, prev) = store.chain_head().unwrap();
    let key = std::fs::read_to_string(repo().join("keys/recipients.txt")).unwrap();
    let recipients = fieldkit::crypt::parse_recipients(&key).unwrap();
    let mut record: Value = serde_json::from_str(&site("A different site")).unwrap();
    let values = record.take();
    let plain = json!({
        "format": "fieldkit-record/1",
        "record_id": record_id,
        "form_id": "dtm_site_assessment",
        "form_version": "2026.1",
        "enumerator_id": "enum-02",
        "device_id": store.profile().public.device_id,
        "finalized_at": "2026-11-22T11:00:00.000+07:00",
        "values": values,
    });
    let ciphertext =
        fieldkit::crypt::encrypt_to(&recipients, plain.to_string().as_bytes()).unwrap();
    let records = vec![fieldkit::bundle::Outgoing {
        record_id: record_id.into(),
        form_id: "dtm_site_assessment".into(),
        form_version: "2026.1".into(),
        form_sha256: fieldkit::bundle::sha256_hex(form_text),
        finalized_at: "2026-11-22T11:00:00.000+07:00".into(),
        ciphertext,
    }];
    let forms = vec![(
        "dtm_site_assessment".to_string(),
        "2026.1".to_string(),
        fieldkit::bundle::sha256_hex(form_text),
        form_text.to_vec(),
    )];
    let public = store.profile().public.clone();
    let plan = fieldkit::bundle::Plan {
        enumerator_id: &public.enumerator_id,
        device_id: &public.device_id,
        sequence: last + 1,
        prev_manifest_sha256: &prev,
        records: &records,
        forms: &forms,
    };
    let built = fieldkit::bundle::build(&plan, &store.profile().signing_key).unwrap();
    let path = usb.join(fieldkit::bundle::file_name(
        &public.enumerator_id,
        &public.device_id,
        plan.sequence,
    ));
    std::fs::write(&path, &built.zip).unwrap();
    path
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with("\u{FEFF}".as_bytes()), "a BOM for Excel");
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// `fieldkit aggregate` of `inputs` into `out` with the demo data
/// manager's key, the `signers` file and `extra` arguments: its output.
pub(crate) fn aggregate(
    out: &Path,
    inputs: &[&Path],
    signers: &Path,
    extra: &[&str],
) -> std::process::Output {
    let key = repo().join("keys/demo/data-manager.key");
    let mut args = vec![
        "aggregate",
        "--identity",
        key.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    crate::support::fieldkit(&args)
}

#[test]
fn bundles_from_several_laptops_become_clean_tables_and_a_summary() {
    let e1 = Enumerator::init("enum-01");
    let e2 = Enumerator::init("enum-02");
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let signers = dir.path().join("allowed_signers");
    std::fs::write(
        &signers,
        format!("{}\n{}\n", e1.signers_line, e2.signers_line),
    )
    .unwrap();

    let sites = fill(
        &e1,
        "dtm_site_assessment",
        &[site("Site A"), site("Site B"), site("Site C")],
    );
    let b1 = export(&e1, &usb);
    fill(
        &e1,
        "dtm_flow_monitoring",
        &[flow("Bangkok"), flow("Udon Thani")],
    );
    export(&e1, &usb);
    fill(&e2, "dtm_flow_monitoring", &[flow("ວຽງຈັນ"), flow("Pakse")]);
    let b3 = export(&e2, &usb);
    // The same stick twice, a tampered copy, a forged record.
    std::fs::copy(&b1, usb.join("again-b1.zip")).unwrap();
    let mut bytes = std::fs::read(&b3).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(usb.join("tampered.zip"), &bytes).unwrap();
    let form_text = std::fs::read(repo().join("forms/dtm_site_assessment.toml")).unwrap();
    forged_bundle(&e2, &usb, &sites[1], &form_text);

    let out = dir.path().join("tables");
    let run = aggregate(&out, &[&usb], &signers, &["--xlsx", "--hxl", "--labels"]);
    assert_eq!(
        run.status.code(),
        Some(1),
        "problems found: exit 1; {}",
        stderr(&run)
    );

    // The site table: three records, the forged one not among them.
    let (header, rows) = read_csv(&out.join("dtm_site_assessment.csv"));
    assert_eq!(&header[..3], ["record_id", "enumerator_id", "device_id"]);
    assert!(
        header.contains(&"grp_site/m0448_loc_site_name".to_string()),
        "{header:?}"
    );
    assert!(
        header.contains(&"grp_assessment/grp_shelter/shelter_types/tent".to_string()),
        "{header:?}"
    );
    // The label column is `field:label` (issue 15: `field/label` was taken
    // by the 0/1 column of a choice named `label`).
    assert!(
        header.contains(&"grp_site/m0303_meta_adm1_pcode:label".to_string()),
        "{header:?}"
    );
    assert_eq!(rows[0][0], "#meta+id", "the HXL row");
    assert!(
        rows[0].contains(&"#affected+idps".to_string()),
        "{:?}",
        rows[0]
    );
    let data = &rows[1..];
    assert_eq!(data.len(), 3);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let names: Vec<&str> = data
        .iter()
        .map(|r| r[col("grp_site/m0448_loc_site_name")].as_str())
        .collect();
    assert_eq!(names, ["Site A", "Site B", "Site C"]);
    assert_eq!(
        data[0][col("grp_assessment/grp_shelter/shelter_types/tent")],
        "1"
    );
    assert_eq!(
        data[0][col("grp_site/m0303_meta_adm1_pcode:label")],
        "Attapeu"
    );

    // The repeat table: two agencies per site, keyed to their record.
    let (rheader, rrows) = read_csv(&out.join("dtm_site_assessment__agencies_present.csv"));
    assert_eq!(&rheader[..4], ["record_id", "parent_key", "key", "index"]);
    let rdata = &rrows[1..];
    assert_eq!(rdata.len(), 6);
    assert_eq!(rdata[0][0], sites[0]);
    assert_eq!(rdata[1][2], "agencies_present[2]");
    assert_eq!(rdata[1][3], "2");

    // Flow monitoring: four records from two laptops, Lao text intact.
    let (fheader, frows) = read_csv(&out.join("dtm_flow_monitoring.csv"));
    let fdata = &frows[1..];
    assert_eq!(fdata.len(), 4);
    let place = fheader
        .iter()
        .position(|h| h.ends_with("destination_place"))
        .unwrap();
    assert!(fdata.iter().any(|r| r[place] == "ວຽງຈັນ"));

    // The summary names every problem.
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["records"], 7);
    assert_eq!(summary["duplicate_bundles"], 1);
    assert_eq!(summary["by_form"]["dtm_site_assessment"], 3);
    assert_eq!(summary["by_enumerator"]["enum-02"], 2);
    assert_eq!(summary["failed_bundles"].as_array().unwrap().len(), 1);
    assert!(
        summary["failed_bundles"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("tampered.zip")
    );
    let conflicts = summary["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["record_id"], json!(sites[1]));
    assert_eq!(conflicts[0]["bundles"].as_array().unwrap().len(), 2);
    assert_eq!(
        std::fs::read_dir(out.join("conflicts").join(&sites[1]))
            .unwrap()
            .count(),
        2,
        "both versions kept aside"
    );
    assert_eq!(
        summary["totals"]["dtm_site_assessment"]["#affected+idps (m0310_loc_num_idp_ind)"],
        540.0
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("conflict: record"), "{md}");
    assert!(md.contains("tampered.zip"), "{md}");
    assert!(
        !out.join(".spool").exists(),
        "no decrypted spool left behind"
    );

    // The workbook, read back.
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(out.join("dtm_site_assessment.xlsx")).unwrap();
    let names = book.sheet_names().to_vec();
    assert_eq!(
        names,
        ["records", "agencies_present", "paradata", "choices"]
    );
    let range = book.worksheet_range("records").unwrap();
    assert_eq!(range.height(), 5, "header, HXL row, three records");

    // Re-running with fewer bundles, then all: the same tables as at once.
    let partial = dir.path().join("partial");
    let only_b1 = dir.path().join("only-b1");
    std::fs::create_dir_all(&only_b1).unwrap();
    std::fs::copy(&b1, only_b1.join(b1.file_name().unwrap())).unwrap();
    aggregate(&partial, &[&only_b1], &signers, &[]);
    let again = aggregate(&partial, &[&usb], &signers, &[]);
    assert_eq!(again.status.code(), Some(1));
    let once = dir.path().join("once");
    aggregate(&once, &[&usb], &signers, &[]);
    for table in [
        "dtm_site_assessment.csv",
        "dtm_flow_monitoring.csv",
        "dtm_site_assessment__agencies_present.csv",
    ] {
        assert_eq!(
            std::fs::read(partial.join(table)).unwrap(),
            std::fs::read(once.join(table)).unwrap(),
            "{table}"
        );
    }
}

/// The correction of one record of a bundle `e` exported: its version 1
/// decrypted with the demo data manager's key, one answer changed, made
/// version 2 (superseding 1) by the same laptop and signed next in its
/// chain, as the laptop writes a returned record corrected.
fn correction_bundle(
    e: &Enumerator,
    usb: &Path,
    first: &Path,
    record_id: &str,
    change: (&str, Value),
) -> PathBuf {
    use fieldkit::bundle::{self, archive};
    let zip = std::fs::read(first).unwrap();
    let entries = archive::read_verified(&zip).unwrap();
    let file = |name: &str| entries.iter().find(|x| x.name == name).unwrap().data;
    let manifest: bundle::Manifest = serde_json::from_slice(file(bundle::MANIFEST)).unwrap();
    let dm = fieldkit::crypt::parse_identities(
        &std::fs::read_to_string(repo().join("keys/demo/data-manager.key")).unwrap(),
    )
    .unwrap();
    let plain =
        fieldkit::crypt::decrypt_with_any(&dm, file(&bundle::record_path(record_id))).unwrap();
    let mut record: Value = serde_json::from_slice(&plain).unwrap();
    record["values"][change.0] = change.1;
    record["version"] = json!(2);
    record["supersedes"] = json!(1);
    record["finalized_at"] = json!("2026-11-25T16:30:00.000+07:00");
    let key = std::fs::read_to_string(repo().join("keys/recipients.txt")).unwrap();
    let recipients = fieldkit::crypt::parse_recipients(&key).unwrap();
    let ciphertext =
        fieldkit::crypt::encrypt_to(&recipients, record.to_string().as_bytes()).unwrap();
    let form_id = record["form_id"].as_str().unwrap();
    let form_version = record["form_version"].as_str().unwrap();
    let mut entry = bundle::entry_of(
        record_id,
        form_id,
        form_version,
        "2026-11-25T16:30:00.000+07:00",
        &ciphertext,
    );
    entry.version = 2;
    entry.supersedes = Some(1);
    let forms: Vec<(String, String, String, Vec<u8>)> = manifest
        .forms
        .iter()
        .map(|f| {
            let text = file(&bundle::form_path(&f.form_id, &f.version)).to_vec();
            (f.form_id.clone(), f.version.clone(), f.sha256.clone(), text)
        })
        .collect();
    let store = e.open();
    let (last, prev) = store.chain_head().unwrap();
    let public = store.profile().public.clone();
    let plan = bundle::Streamed {
        enumerator_id: &public.enumerator_id,
        device_id: &public.device_id,
        sequence: last + 1,
        prev_manifest_sha256: &prev,
        entries: vec![entry],
        forms: &forms,
        media: Vec::new(),
    };
    let built = bundle::build_streamed(plan, &store.profile().signing_key, &mut |_| {
        Ok(std::borrow::Cow::Borrowed(ciphertext.as_slice()))
    })
    .unwrap();
    let path = usb.join(bundle::file_name(
        &public.enumerator_id,
        &public.device_id,
        last + 1,
    ));
    std::fs::write(&path, &built.zip).unwrap();
    path
}

/// A format 2 receipt for a bundle, signed with the demo supervisor key.
pub(crate) fn receipt_with_verdicts(
    bundle: &Path,
    signers: &Path,
    verdicts: Vec<fieldkit::bundle::receipt::Verdict>,
) -> Vec<u8> {
    use fieldkit::bundle::receipt::{self, Receipt};
    let allowed = fieldkit::bundle::signers::AllowedSigners::parse(
        &std::fs::read_to_string(signers).unwrap(),
    )
    .unwrap();
    let report = fieldkit::bundle::verify::verify("b", &std::fs::read(bundle).unwrap(), &allowed);
    assert!(report.ok, "{:?}", report.problems);
    let key = ssh_key::PrivateKey::from_openssh(
        std::fs::read_to_string(repo().join("keys/demo/supervisor")).unwrap(),
    )
    .unwrap();
    let r = Receipt {
        format: Receipt::format_for(&verdicts).into(),
        bundle_id: report.bundle_id.unwrap(),
        enumerator_id: report.enumerator_id.unwrap(),
        device_id: report.device_id.unwrap(),
        sequence: report.sequence.unwrap(),
        manifest_sha256: report.manifest_sha256.unwrap(),
        received_at: "2026-11-23T08:00:00.000+07:00".into(),
        supervisor: key.public_key().to_openssh().unwrap(),
        verdicts,
    };
    receipt::sign(&r, &key).unwrap()
}

#[test]
fn a_returned_record_corrected_is_version_2_in_the_tables_with_its_change_logged() {
    use fieldkit::bundle::receipt::{Comment, Decision, Verdict};
    let e1 = Enumerator::init("enum-01");
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let signers = dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e1.signers_line)).unwrap();
    let sites = fill(
        &e1,
        "dtm_site_assessment",
        &[site("Site A"), site("Site B")],
    );
    let b1 = export(&e1, &usb);
    // The supervisor returns Site A with a comment on its name, approves
    // Site B.
    let name = "m0448_loc_site_name";
    let receipts = dir.path().join("receipts");
    std::fs::create_dir_all(&receipts).unwrap();
    let verdicts = vec![
        Verdict {
            record_id: sites[0].clone(),
            version: 1,
            decision: Decision::Returned,
            comments: vec![Comment {
                field: name.into(),
                text: "the site's official name, please".into(),
            }],
            note: String::new(),
        },
        Verdict {
            record_id: sites[1].clone(),
            version: 1,
            decision: Decision::Approved,
            comments: Vec::new(),
            note: String::new(),
        },
    ];
    std::fs::write(
        receipts.join("b1.json"),
        receipt_with_verdicts(&b1, &signers, verdicts),
    )
    .unwrap();
    correction_bundle(&e1, &usb, &b1, &sites[0], (name, json!("Ban Site A")));

    let out = dir.path().join("tables");
    let supervisors = repo().join("keys/supervisors");
    let run = aggregate(
        &out,
        &[&usb],
        &signers,
        &[
            "--receipts",
            receipts.to_str().unwrap(),
            "--supervisors",
            supervisors.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains(
            "review: 1 approved, 0 returned, 0 received, 1 pending; 1 corrected, 1 earlier \
             version(s) in versions/, 1 change(s) in changes.csv"
        ),
        "{}",
        stderr(&run)
    );

    let (header, rows) = read_csv(&out.join("dtm_site_assessment.csv"));
    assert_eq!(
        &header[..9],
        [
            "record_id",
            "enumerator_id",
            "device_id",
            "bundle_id",
            "form_version",
            "started",
            "finalized_at",
            "version",
            "review_status"
        ]
    );
    let col = |n: &str| header.iter().position(|h| h.ends_with(n)).unwrap();
    assert_eq!(rows.len(), 2);
    let a = rows.iter().find(|r| r[0] == sites[0]).unwrap();
    let b = rows.iter().find(|r| r[0] == sites[1]).unwrap();
    assert_eq!(
        (a[col(name)].as_str(), a[7].as_str(), a[8].as_str()),
        ("Ban Site A", "2", "pending")
    );
    assert_eq!(
        (b[col(name)].as_str(), b[7].as_str(), b[8].as_str()),
        ("Site B", "1", "approved")
    );
    // Version 1 aside, in the same layout, returned; its repeat rows too.
    let (vheader, vrows) = read_csv(&out.join("versions/dtm_site_assessment.csv"));
    assert_eq!(vheader, header);
    assert_eq!(vrows.len(), 1);
    assert_eq!(
        (vrows[0][0].as_str(), vrows[0][col(name)].as_str()),
        (sites[0].as_str(), "Site A")
    );
    assert_eq!(
        (vrows[0][7].as_str(), vrows[0][8].as_str()),
        ("1", "returned")
    );
    let (_, vrepeat) = read_csv(&out.join("versions/dtm_site_assessment__agencies_present.csv"));
    assert_eq!(vrepeat.len(), 2);
    assert!(vrepeat.iter().all(|r| r[4] == "1" && r[5] == "returned"));
    // The change log: the one answer changed, with the supervisor's
    // comment as the reason.
    let (lheader, log) = read_csv(&out.join("changes.csv"));
    assert_eq!(
        lheader,
        [
            "record_id",
            "version",
            "field",
            "old_value",
            "new_value",
            "who",
            "when",
            "reason"
        ]
    );
    assert_eq!(
        log,
        [[
            sites[0].as_str(),
            "2",
            name,
            "Site A",
            "Ban Site A",
            "enum-01",
            "2026-11-25T16:30:00.000+07:00",
            "the site's official name, please"
        ]]
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let review = &summary["review"];
    assert_eq!(
        (
            &review["approved"],
            &review["pending"],
            &review["corrected"],
            &review["changes"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1))
    );

    // A receipt changed after signing: named, not used, exit 1.
    let forged = std::fs::read_to_string(receipts.join("b1.json"))
        .unwrap()
        .replace("approved", "returned");
    std::fs::write(receipts.join("b1.json"), forged).unwrap();
    let again = dir.path().join("again");
    let run = aggregate(
        &again,
        &[&usb],
        &signers,
        &[
            "--receipts",
            receipts.to_str().unwrap(),
            "--supervisors",
            supervisors.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("forged or damaged receipt"),
        "{}",
        stderr(&run)
    );
    let (_, rows) = read_csv(&again.join("dtm_site_assessment.csv"));
    assert!(
        rows.iter().all(|r| r[8] == "pending"),
        "the receipt is not used"
    );
}
