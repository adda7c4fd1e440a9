//! Forms, workbooks and answers made to exhaust the computer (issue 14,
//! points 8, 9 and 15): each is refused through the real binary with a
//! message naming the cap, under a memory limit where the platform has
//! one, instead of crashing or taking gigabytes.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use fieldkit::form::answer::AnswerError;
use fieldkit::form::limits::{
    MAX_CHOICES, MAX_FORM_BYTES, MAX_FORM_KEYS, MAX_RECORD_BYTES, MAX_TEXT_BYTES,
    MAX_WORKBOOK_PART_BYTES,
};
use fieldkit::form::{Pos, ViolationKind};

use crate::support::{command, session, stderr};

/// The address space the binary gets in these tests: a hostile input that
/// is not refused early runs out of it (or out of stack) and the test fails.
#[cfg(unix)]
const MEMORY_KIB: u64 = 1024 * 1024;

/// Runs the real binary, with its memory capped (on unix, by the shell's
/// ulimit).
fn capped(args: &[&str]) -> Output {
    #[allow(unused_mut)]
    let mut cmd = command(args);
    #[cfg(unix)]
    {
        let mut shell = std::process::Command::new("sh");
        shell
            .arg("-c")
            .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => shell.env(key, v),
                None => shell.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            shell.current_dir(dir);
        }
        cmd = shell;
    }
    cmd.output().expect("run fieldkit")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn rows(rows: &[String]) -> String {
    let mut out = String::from("[settings]\nform_id = \"hostile\"\nversion = \"1\"\n");
    for r in rows {
        out.push_str("\n[[survey]]\n");
        out.push_str(r);
    }
    out
}

/// A form of one text question, q.
fn one_question() -> String {
    rows(&["type = \"text\"\nname = \"q\"\nlabel = \"q\"\n".into()])
}

fn nested(kind: &str, depth: usize) -> String {
    let mut r: Vec<String> = (0..depth)
        .map(|i| format!("type = \"begin_{kind}\"\nname = \"g{i}\"\nlabel = \"g\"\n"))
        .collect();
    r.push("type = \"text\"\nname = \"q\"\nlabel = \"q\"\n".into());
    r.extend((0..depth).map(|_| format!("type = \"end_{kind}\"\n")));
    rows(&r)
}

fn check(path: &Path) -> Output {
    capped(&["forms", "check", path.to_str().expect("utf-8 path")])
}

/// Exit 1 (the form is bad), with `needle` in what is said.
fn refused(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(needle), "expected '{needle}' in:\n{err}");
}

#[test]
fn twenty_thousand_nested_groups_are_refused_not_a_crash() {
    let dir = tempfile::tempdir().expect("tmp");
    let form = write(dir.path(), "groups.toml", &nested("group", 20_000));
    refused(&check(&form), "over fieldkit's cap of 10000");
    // fill loads the form the same way: refused, never a stack overflow.
    let (out, _) = dry_run(dir.path(), &form, "{\"q\": \"a\"}\n");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cap of 10000"), "{}", stderr(&out));
}

#[test]
fn ten_thousand_nested_repeats_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let form = write(dir.path(), "repeats.toml", &nested("repeat", 10_000));
    refused(&check(&form), "over fieldkit's cap of 10000");
}

#[test]
fn nesting_deeper_than_the_cap_is_located() {
    let dir = tempfile::tempdir().expect("tmp");
    let form = write(dir.path(), "deep.toml", &nested("group", 40));
    let out = check(&form);
    refused(&out, "survey row 33:type: this group is nested 33 deep");
    assert!(stderr(&out).contains("cap of 32"), "{}", stderr(&out));
    // One error, not one per row below it.
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // At the cap, the form loads.
    let form = write(dir.path(), "ok.toml", &nested("repeat", 32));
    let out = check(&form);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_form_file_over_the_cap_is_not_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = nested("group", 1);
    text.push_str(&format!("# {}\n", "a".repeat(MAX_FORM_BYTES)));
    let form = write(dir.path(), "big.toml", &text);
    refused(
        &check(&form),
        "larger than 8 MiB, fieldkit's cap for a form",
    );
    // Small keys cost the TOML parser the most: their number is capped too.
    let mut text = nested("group", 1);
    text.push_str(&"a=1\n".repeat(MAX_FORM_KEYS));
    let form = write(dir.path(), "keys.toml", &text);
    refused(
        &check(&form),
        "the form has 400009 '=' signs (keys and values), over fieldkit's cap of 400000",
    );
}

#[test]
fn a_choices_file_over_the_cap_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut csv = String::from("name,label\n");
    for i in 0..=MAX_CHOICES {
        csv.push_str(&format!("c{i},x\n"));
    }
    write(dir.path(), "big.csv", &csv);
    let form = write(
        dir.path(),
        "form.toml",
        &rows(&["type = \"select_one_from_file big.csv\"\nname = \"s\"\nlabel = \"s\"\n".into()]),
    );
    refused(
        &check(&form),
        "big.csv line 200002: the form now has more than 200000 choices",
    );
}

fn doubling(rows_after: usize) -> String {
    let mut r = vec!["type = \"text\"\nname = \"c0\"\nlabel = \"c0\"\n".to_string()];
    for i in 1..=rows_after {
        r.push(format!(
            "type = \"calculate\"\nname = \"c{i}\"\ncalculation = \"concat(${{c{}}}, ${{c{}}})\"\n",
            i - 1,
            i - 1
        ));
    }
    rows(&r)
}

#[test]
fn a_chain_of_doubling_calculations_is_refused_by_forms_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let form = write(dir.path(), "concat.toml", &doubling(34));
    // 2^17 one-character answers: row 18 is the first over 64 KiB.
    let out = check(&form);
    refused(
        &out,
        "survey row 18:calculation: c17: this calculation makes a text",
    );
    assert!(stderr(&out).contains("cap of 64 KiB"), "{}", stderr(&out));
}

fn dry_run(dir: &Path, form: &Path, answers: &str) -> (Output, Vec<serde_json::Value>) {
    let answers = write(dir, "answers.json", answers);
    let out = capped(&[
        "fill",
        form.to_str().expect("utf-8"),
        "--answers",
        answers.to_str().expect("utf-8"),
        "--dry-run",
    ]);
    let reports = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON report"))
        .collect();
    (out, reports)
}

#[test]
fn a_calculation_over_the_cap_is_a_violation_not_gigabytes() {
    let dir = tempfile::tempdir().expect("tmp");
    // 16 rows pass the static check; a two-character answer takes the
    // last over 64 KiB.
    let form = write(dir.path(), "chain.toml", &doubling(16));
    assert_eq!(check(&form).status.code(), Some(0));
    let (out, reports) = dry_run(dir.path(), &form, "{\"c0\": \"xy\"}\n");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = &reports[0];
    assert_eq!(report["valid"], false);
    let violations = report["violations"].as_array().expect("violations");
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0]["name"], "c16");
    assert_eq!(violations[0]["kind"], "limit");
    assert!(
        violations[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("longer than 64 KiB")),
        "{violations:?}"
    );
    assert_eq!(report["values"]["c15"].as_str().map(str::len), Some(65_536));
    assert!(report["values"].get("c16").is_none());
}

#[test]
fn nested_repeat_counts_cannot_multiply_past_the_record_cap() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut r: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "type = \"begin_repeat\"\nname = \"r{i}\"\nlabel = \"r\"\nrepeat_count = \"1000\"\n"
            )
        })
        .collect();
    r.push("type = \"integer\"\nname = \"q\"\nlabel = \"q\"\n".into());
    r.extend((0..3).map(|_| "type = \"end_repeat\"\n".to_string()));
    let form = write(dir.path(), "nest.toml", &rows(&r));
    // A billion entries asked for: the record holds what fits, and says so.
    let (out, reports) = dry_run(dir.path(), &form, "{}\n");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let violations = reports[0]["violations"].as_array().expect("violations");
    assert!(
        violations.iter().any(|v| v["kind"] == "limit"
            && v["message"]
                .as_str()
                .is_some_and(|m| m.contains("a record holds at most 200000 values"))),
        "{violations:?}"
    );
}

#[test]
fn answers_with_more_entries_than_a_record_holds_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut r: Vec<String> = (0..2)
        .map(|i| format!("type = \"begin_repeat\"\nname = \"r{i}\"\nlabel = \"r\"\n"))
        .collect();
    r.push("type = \"text\"\nname = \"q\"\nlabel = \"q\"\n".into());
    r.extend((0..2).map(|_| "type = \"end_repeat\"\n".to_string()));
    let form = write(dir.path(), "nest.toml", &rows(&r));
    // 300,000 entries in 0.9 MB: each costs a value and itself.
    let inner = vec!["{}"; 1000].join(",");
    let outer = vec![format!("{{\"r1\": [{inner}]}}"); 300].join(",");
    let (out, reports) = dry_run(dir.path(), &form, &format!("{{\"r0\": [{outer}]}}\n"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let violations = reports[0]["violations"].as_array().expect("violations");
    assert_eq!(violations[0]["path"], "r0[100]/r1", "{:?}", violations[0]);
    assert_eq!(violations[0]["kind"], "limit");
    assert!(
        violations[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the record is full: it holds at most 200000 values")),
        "{:?}",
        violations[0]
    );
}

#[test]
fn an_answers_line_over_the_cap_is_skipped_with_a_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let form = write(dir.path(), "form.toml", &one_question());
    let long = format!("{{\"q\": \"{}\"}}\n", "a".repeat(2 * MAX_RECORD_BYTES));
    let (out, reports) = dry_run(dir.path(), &form, &format!("{long}{{\"q\": \"b\"}}\n"));
    let err = stderr(&out);
    assert!(
        err.contains("answers.json:1: the record is longer than 1 MiB"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The next line is read as usual.
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["values"]["q"], "b");

    // Spread over lines, the rest of the file cannot be told apart from
    // records: reading stops.
    let half = "a".repeat(MAX_RECORD_BYTES / 2 + 10);
    let spread = format!("{{\n\"x\": \"{half}\",\n\"q\": \"{half}\"\n}}\n{{\"q\": \"b\"}}\n");
    let (out, reports) = dry_run(dir.path(), &form, &spread);
    let err = stderr(&out);
    assert!(
        err.contains("answers.json:1: the record is longer than 1 MiB")
            && err.contains("the rest of the file is not read"),
        "{err}"
    );
    assert!(reports.is_empty());
}

#[test]
fn a_text_answer_over_the_cap_is_refused_wherever_it_comes_from() {
    let dir = tempfile::tempdir().expect("tmp");
    let form = write(dir.path(), "form.toml", &one_question());
    let (out, reports) = dry_run(
        dir.path(),
        &form,
        &format!("{{\"q\": \"{}\"}}\n", "a".repeat(MAX_TEXT_BYTES + 1)),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let violation = &reports[0]["violations"][0];
    assert_eq!(violation["kind"], "limit");
    assert!(
        violation["message"]
            .as_str()
            .is_some_and(|m| m.contains("over fieldkit's cap of 64 KiB")),
        "{violation:?}"
    );
    // The screen goes through the same session: refused there too.
    let mut s = session(&one_question());
    let q = s.form().find("q").expect("q");
    let pos = Pos {
        path: Vec::new(),
        node: q,
    };
    assert_eq!(
        s.answer(&pos, &"ບ".repeat(MAX_TEXT_BYTES / 3 + 1)),
        Err(AnswerError::TooLong(3 * (MAX_TEXT_BYTES / 3 + 1)))
    );
    assert_eq!(s.answer(&pos, &"a".repeat(MAX_TEXT_BYTES)), Ok(()));
    assert!(
        s.violations()
            .iter()
            .all(|v| v.kind != ViolationKind::Limit)
    );
}

// ----- workbooks -----------------------------------------------------------

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="survey" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// A sheet of shared-string cells: `(cell reference, string index)` by row.
fn sheet(rows: &[(u32, Vec<(String, usize)>)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet \
         xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>",
    );
    for (r, cells) in rows {
        out.push_str(&format!("<row r=\"{r}\">"));
        for (at, v) in cells {
            out.push_str(&format!("<c r=\"{at}\" t=\"s\"><v>{v}</v></c>"));
        }
        out.push_str("</row>");
    }
    out + "</sheetData></worksheet>"
}

/// The survey sheet of a one-question form, plus `extra` rows.
fn survey(extra: &[(u32, Vec<(String, usize)>)]) -> String {
    let cell = |c: &str, v| (c.to_string(), v);
    let mut rows = vec![
        (1, vec![cell("A1", 0), cell("B1", 1), cell("C1", 4)]),
        (2, vec![cell("A2", 2), cell("B2", 3), cell("C2", 3)]),
    ];
    rows.extend_from_slice(extra);
    sheet(&rows)
}

/// Shared strings: type, name, text, q, label, then `long` bytes of 'a'.
fn shared_strings(zip: &mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>, long: usize) {
    zip.write_all(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst \
          xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><si><t>type</t></si>\
          <si><t>name</t></si><si><t>text</t></si><si><t>q</t></si><si><t>label</t></si><si><t>",
    )
    .expect("write");
    let chunk = vec![b'a'; 1 << 20];
    let mut left = long;
    while left > 0 {
        let n = left.min(chunk.len());
        zip.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    zip.write_all(b"</t></si></sst>").expect("write");
}

/// A minimal .xlsx: the survey sheet `sheet_xml`, shared strings with a
/// string of `long` bytes, and `padding` empty files more.
fn workbook(sheet_xml: &str, long: usize, padding: usize) -> Vec<u8> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/worksheets/sheet1.xml", sheet_xml),
    ] {
        zip.start_file(name, options).expect("zip");
        zip.write_all(text.as_bytes()).expect("zip");
    }
    zip.start_file("xl/sharedStrings.xml", options)
        .expect("zip");
    shared_strings(&mut zip, long);
    for i in 0..padding {
        zip.start_file(format!("docProps/pad{i}.xml"), options)
            .expect("zip");
    }
    zip.finish().expect("zip").into_inner()
}

fn check_workbook(bytes: &[u8]) -> Output {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("hostile.xlsx");
    std::fs::write(&path, bytes).expect("write");
    check(&path)
}

#[test]
fn a_minimal_workbook_loads() {
    // What the hostile workbooks below are made from is a form.
    let out = check_workbook(&workbook(&survey(&[]), 3, 0));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_shared_string_over_the_cap_is_refused_before_calamine_reads_it() {
    // 33 MiB of one letter: a small file, refused from its declared size.
    let long = MAX_WORKBOOK_PART_BYTES as usize + (1 << 20);
    let bytes = workbook(&survey(&[]), long, 0);
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    refused(
        &check_workbook(&bytes),
        "\"xl/sharedStrings.xml\" says it unzips to",
    );
    refused(&check_workbook(&bytes), "32 MiB for one file inside it");
}

/// Sets the uncompressed size that the zip's records declare for `name`.
fn declare_size(bytes: &mut [u8], name: &str, size: u32) {
    let u16_at = |b: &[u8], i: usize| usize::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let mut i = 0;
    while let Some(at) = bytes[i..].windows(4).position(|w| w == b"PK\x01\x02") {
        let c = i + at;
        let len = u16_at(bytes, c + 28);
        if &bytes[c + 46..c + 46 + len] == name.as_bytes() {
            bytes[c + 24..c + 28].copy_from_slice(&size.to_le_bytes());
            let local =
                u32::from_le_bytes([bytes[c + 42], bytes[c + 43], bytes[c + 44], bytes[c + 45]])
                    as usize;
            bytes[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
            return;
        }
        i = c + 4;
    }
    panic!("no {name} in the zip");
}

#[test]
fn a_declared_size_that_lies_is_caught() {
    // Says 1,000 bytes, unzips to 40 MiB: never read past what it says.
    let mut bytes = workbook(&survey(&[]), 40 << 20, 0);
    declare_size(&mut bytes, "xl/sharedStrings.xml", 1000);
    let out = check_workbook(&bytes);
    refused(&out, "larger than its declared uncompressed size");
}

#[test]
fn too_many_files_in_a_workbook_are_refused() {
    let out = check_workbook(&workbook(&survey(&[]), 3, 1000));
    refused(
        &out,
        "the workbook holds 1006 files, over fieldkit's cap of 1000",
    );
}

#[test]
fn a_value_in_the_last_cell_of_a_sheet_allocates_nothing() {
    // calamine lays a sheet out as a full rectangle: A1 to XFD1048576
    // would be 17 billion cells.
    let corner = [(1_048_576, vec![("XFD1048576".to_string(), 3)])];
    let out = check_workbook(&workbook(&survey(&corner), 3, 0));
    refused(
        &out,
        "survey row 1048576:XFD: the sheet 'survey' has a value in column XFD",
    );
    refused(&out, "cap of 1024 columns");
}

#[test]
fn a_workbook_over_the_row_cap_is_refused() {
    let extra: Vec<(u32, Vec<(String, usize)>)> = (3..10_004)
        .map(|r| (r, vec![(format!("A{r}"), 2), (format!("B{r}"), 3)]))
        .collect();
    let out = check_workbook(&workbook(&survey(&extra), 3, 0));
    refused(
        &out,
        "survey row 10002:-: the workbook has 10002 survey rows, over fieldkit's cap of 10000",
    );
}

#[test]
fn a_cell_over_the_cap_is_refused() {
    let out = check_workbook(&workbook(&survey(&[]), MAX_TEXT_BYTES + 1, 0));
    // The long string is shared string 5: used nowhere, it costs nothing.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let used = [(3, vec![("C3".to_string(), 5)])];
    let out = check_workbook(&workbook(&survey(&used), MAX_TEXT_BYTES + 1, 0));
    refused(&out, "survey row 3:C: the cell holds 65537 bytes of text");
}
