//! Issue 18: workbooks that pyxform converts load here. Names unique
//! within their group (a shared name stored under its path, `${name}`
//! refused only when ambiguous, naming both rows), columns that do not
//! apply to a row's type left out with a located warning, relative paths
//! in expressions and choice filters; each checked on real workbooks
//! through `forms check`, `fill` and the data manager's tables.

use std::path::Path;

use fieldkit::form::{self, FormError};

use crate::support::{fieldkit, stderr};
use crate::xlsform::{dry_run, export_and_aggregate};

/// A workbook of these sheets, each given as rows (the first: headers).
pub(crate) fn workbook(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32, c as u16, *v).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

pub(crate) fn write(dir: &Path, name: &str, bytes: Vec<u8>) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn said(warnings: &[FormError]) -> Vec<String> {
    warnings.iter().map(|w| w.to_string()).collect()
}

const HEADERS: &[&str] = &[
    "type",
    "name",
    "label",
    "relevant",
    "required",
    "constraint",
    "calculation",
    "repeat_count",
];

/// Two groups asking the same questions under the same names, each
/// reading its own group's answer by a relative path; a calculation
/// marked required, a note with a constraint, a group with a repeat count.
fn households() -> Vec<u8> {
    workbook(&[(
        "survey",
        &[
            HEADERS,
            &[
                "begin_group",
                "head",
                "Head of household",
                "",
                "",
                "",
                "",
                "2",
            ],
            &["integer", "age", "Age", "", "yes", ". < 130", "", ""],
            &["text", "school", "School", "../age < 18", "", "", "", ""],
            &["end_group", "", "", "", "", "", "", ""],
            &["begin_group", "spouse", "Spouse", "", "", "", "", ""],
            &["integer", "age", "Age", "", "", "", "", ""],
            &[
                "text",
                "school",
                "School",
                "current()/../age < 18",
                "",
                "",
                "",
                "",
            ],
            &["end_group", "", "", "", "", "", "", ""],
            &["calculate", "ages", "", "", "yes", "", "${head} + 0", ""],
            &["note", "done", "Thank you", "", "", ". > 0", "", ""],
        ],
    )])
}

#[test]
fn names_shared_between_groups_load_and_are_stored_under_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    // `${head}` names the group: a sum of nothing, but a valid reference.
    let path = write(dir.path(), "households.xlsx", households());
    let f = form::load(&path).unwrap_or_else(|e| panic!("{e:#?}"));
    assert!(f.find("head/age").is_some() && f.find("spouse/age").is_some());
    assert!(f.find("age").is_none());
    let said = said(&f.warnings);
    // Each warning is on the workbook's own row and column.
    for (row, column, text) in [
        (3, "name", "stored as 'head/age'"),
        (7, "name", "stored as 'spouse/age'"),
        (
            2,
            "repeat_count",
            "repeat_count only applies to begin_repeat rows",
        ),
        (
            10,
            "required",
            "required only applies to questions the enumerator answers",
        ),
        (11, "constraint", "constraint only applies to questions"),
    ] {
        let at = format!("households.xlsx:survey row {row}:{column}:");
        assert!(
            said.iter().any(|w| w.contains(&at) && w.contains(text)),
            "no warning {at} {text}: {said:#?}"
        );
    }
    // Relative paths read the row's own group.
    let answers = dir.path().join("a.jsonl");
    std::fs::write(
        &answers,
        concat!(
            "{\"head/age\": 40, \"head/school\": \"no\", \"spouse/age\": 16, \"spouse/school\": \"yes\"}\n",
            "{\"head/age\": 12, \"head/school\": \"yes\", \"spouse/age\": 30, \"spouse/school\": \"no\"}\n",
            "{\"head/age\": 140}\n",
        ),
    )
    .unwrap();
    let (code, lines) = dry_run(&path, &answers);
    assert_eq!(code, Some(1), "{lines:#?}");
    let values = |i: usize| lines[i]["values"].as_object().unwrap().clone();
    assert!(values(0).contains_key("spouse/school") && !values(0).contains_key("head/school"));
    assert!(values(1).contains_key("head/school") && !values(1).contains_key("spouse/school"));
    assert_eq!(
        lines[2]["violations"][0]["kind"], "constraint",
        "{:#}",
        lines[2]
    );
}

#[test]
fn an_ambiguous_or_duplicate_name_is_refused_naming_both_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows: &[&[&str]] = &[
        &["type", "name", "label", "relevant"],
        &["begin_group", "a", "A", ""],
        &["integer", "age", "Age", ""],
        &["end_group", "", "", ""],
        &["begin_group", "b", "B", ""],
        &["integer", "age", "Age", ""],
        &["end_group", "", "", ""],
        &["text", "why", "Why", "${age} > 3"],
    ];
    let path = write(dir.path(), "ambiguous.xlsx", workbook(&[("survey", rows)]));
    let errors = form::load(&path).unwrap_err();
    assert!(
        errors.iter().any(|e| e.row == Some(8)
            && e.column.as_deref() == Some("relevant")
            && e.message
                .contains("survey row 3 (in 'a') and survey row 6 (in 'b')")),
        "{errors:#?}"
    );
    // The same name twice in one group: refused as pyxform does.
    let rows: &[&[&str]] = &[
        &["type", "name", "label"],
        &["begin_group", "a", "A"],
        &["integer", "age", "Age"],
        &["text", "age", "Age again"],
        &["end_group", "", ""],
    ];
    let path = write(dir.path(), "twice.xlsx", workbook(&[("survey", rows)]));
    let errors = form::load(&path).unwrap_err();
    assert!(
        errors.iter().any(|e| e.row == Some(4)
            && e.message
                .contains("already used by survey row 3 in the same group 'a'")),
        "{errors:#?}"
    );
    // A relative path to nothing says where it looked.
    let rows: &[&[&str]] = &[
        &["type", "name", "label", "relevant"],
        &["begin_group", "a", "A", ""],
        &["integer", "age", "Age", "../../x = 1"],
        &["end_group", "", "", ""],
    ];
    let path = write(dir.path(), "above.xlsx", workbook(&[("survey", rows)]));
    let errors = form::load(&path).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("the top of the survey has no field")),
        "{errors:#?}"
    );
}

/// `./column` is a column of the choice being filtered, `current()/../x`
/// the select's neighbour, as ODK Collect reads them.
#[test]
fn relative_paths_in_choice_filters_filter_as_odk_does() {
    let dir = tempfile::tempdir().unwrap();
    let survey: &[&[&str]] = &[
        &["type", "name", "label", "choice_filter"],
        &["begin_group", "place", "Place", ""],
        &["select_one provinces", "province", "Province", ""],
        &[
            "select_one districts",
            "district",
            "District",
            "./province = current()/../province",
        ],
        &["end_group", "", "", ""],
    ];
    let choices: &[&[&str]] = &[
        &["list_name", "name", "label", "province"],
        &["provinces", "vte", "Vientiane", ""],
        &["provinces", "lpb", "Luang Prabang", ""],
        &["districts", "chanthabuly", "Chanthabuly", "vte"],
        &["districts", "nan", "Nan", "lpb"],
    ];
    let path = write(
        dir.path(),
        "places.xlsx",
        workbook(&[("survey", survey), ("choices", choices)]),
    );
    let answers = dir.path().join("a.jsonl");
    std::fs::write(
        &answers,
        "{\"province\": \"vte\", \"district\": \"chanthabuly\"}\n{\"province\": \"vte\", \"district\": \"nan\"}\n",
    )
    .unwrap();
    let (code, lines) = dry_run(&path, &answers);
    assert_eq!(code, Some(1), "{lines:#?}");
    assert_eq!(lines[0]["valid"], true, "{:#}", lines[0]);
    assert_eq!(lines[1]["valid"], false, "{:#}", lines[1]);
}

/// A shared name goes through fill, export and aggregate: the table's
/// columns are the group paths, as Kobo's exports name them.
#[test]
fn shared_names_reach_the_data_managers_table_under_their_group_paths() {
    let e = crate::support::Enumerator::init("enum-07");
    let path = write(e.dir.path(), "households.xlsx", households());
    let check = fieldkit(&["forms", "check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let out = e.fill(
        path.to_str().unwrap(),
        "{\"head/age\": 40, \"spouse/age\": 16, \"spouse/school\": \"yes\"}\n",
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, table) = export_and_aggregate(&e, "households");
    let mut rows = csv::Reader::from_path(table).unwrap();
    let headers = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let at = |h: &str| {
        headers
            .iter()
            .position(|x| x == h)
            .unwrap_or_else(|| panic!("no column {h}: {headers:?}"))
    };
    assert_eq!(&row[at("head/age")], "40");
    assert_eq!(&row[at("spouse/age")], "16");
    assert_eq!(&row[at("spouse/school")], "yes");
}
