//! Issue 18: workbooks that pyxform converts load here. Names unique
//! within their group (a shared name stored under its path, `${name}`
//! refused only when ambiguous, naming both rows), columns that do not
//! apply to a row's type left out with a located warning, relative paths
//! in expressions and choice filters, loops, ODK's functions, randomized
//! choices, lines and shapes; each checked on real workbooks through
//! `forms check`, `fill`, sessions and the data manager's tables. Just
//! over 700 lines: one test per part of the issue, the workbooks written
//! out row by row so that each reads like the sheet it stands for.

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
        (3, "name", "store them as 'head/age', 'spouse/age'"),
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
        &["text", "AGE", "Age again"],
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
    // A question fieldkit cannot ask, read by a relative path: refused
    // naming what it is, not as a missing field.
    let rows: &[&[&str]] = &[
        &["type", "name", "label", "relevant"],
        &["begin_group", "a", "A", ""],
        &["osm", "building", "Building", ""],
        &["text", "why", "Why no building?", "../building = ''"],
        &["end_group", "", "", ""],
    ];
    let path = write(dir.path(), "osm.xlsx", workbook(&[("survey", rows)]));
    let errors = form::load(&path).unwrap_err();
    assert!(
        errors.iter().any(|e| e.row == Some(3)
            && e.message.contains("OpenStreetMap")
            && e.message.contains("the form needs it")),
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

/// ODK's further functions, worked out as ODK Collect does, through
/// `fill --dry-run` on a workbook.
#[test]
fn odk_functions_a_laptop_can_compute_are_computed() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("sb", "substring-before('2026-11-22', '-')", "2026"),
        ("sa", "substring-after('a=b=c', '=')", "b=c"),
        ("tr", "translate('abcabc', 'ab', 'B')", "BcBc"),
        ("bfs", "if(boolean-from-string('true'), 'y', 'n')", "y"),
        ("b64", "base64-decode('aGVsbG8=')", "hello"),
        (
            "dg",
            "digest('abc', 'SHA-256', 'hex')",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "dg64",
            "digest('abc', 'SHA-256')",
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
        ),
        ("sq", "sqrt(16) + log10(1000)", "7"),
        (
            "trig",
            "round(atan2(1, 1) * 4 + sin(0) + cos(0) - 1, 6)",
            "3.141593",
        ),
        (
            "ex",
            "round(exp(1) + exp10(2) + log(1) + pi() - pi(), 4)",
            "102.7183",
        ),
        ("dt", "decimal-time('18:00:00')", "0.75"),
        ("ck", "if(checklist(1, 2, 'yes', '', 'x'), 'y', 'n')", "y"),
        (
            "wck",
            "if(weighted-checklist(3, -1, 'yes', 2, '', 5, 'x', 1), 'y', 'n')",
            "y",
        ),
        ("dist", "round(distance('0 0 0 0;0 1 0 0'), 0)", "111319"),
        (
            "ar",
            "round(area('0 0;0 1;1 1;1 0') div 1000000, 0)",
            "12392",
        ),
        (
            "fdt",
            "format-date-time('2026-11-22T09:05:00', '%H:%M')",
            "09:05",
        ),
        (
            "dtm",
            "format-date-time(date-time(1), '%Y-%m-%d')",
            "1970-01-02",
        ),
    ];
    let mut rows: Vec<Vec<&str>> = vec![vec!["type", "name", "calculation"]];
    for (name, calc, _) in cases {
        rows.push(vec!["calculate", name, calc]);
    }
    rows.push(vec!["calculate", "rnd", "random()"]);
    rows.push(vec!["calculate", "id", "uuid()"]);
    rows.push(vec!["calculate", "code", "uuid(8)"]);
    rows.push(vec!["text", "q", ""]);
    let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    // A visible question, so that the form asks something.
    let label_rows: Vec<Vec<&str>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.to_vec();
            r.resize(3, "");
            r.push(if i == 0 {
                "label"
            } else if r[0] == "text" {
                "Q"
            } else {
                ""
            });
            r
        })
        .collect();
    let label_rows: Vec<&[&str]> = label_rows.iter().map(Vec::as_slice).collect();
    let path = write(
        dir.path(),
        "functions.xlsx",
        workbook(&[("survey", &label_rows)]),
    );
    let answers = dir.path().join("a.json");
    std::fs::write(&answers, "{\"q\": \"x\"}\n").unwrap();
    let (code, lines) = dry_run(&path, &answers);
    assert_eq!(code, Some(0), "{lines:#?}");
    let values = lines[0]["values"].as_object().unwrap();
    let text = |name: &str| match &values[name] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (name, calc, want) in cases {
        assert_eq!(text(name), *want, "{calc}");
    }
    let x: f64 = text("rnd").parse().unwrap();
    assert!((0.0..1.0).contains(&x));
    assert_eq!(text("id").len(), 36);
    assert_eq!(text("code").len(), 8);
    // MD5 is named as what is missing; pulldata()'s CSV too.
    for (calc, why) in [
        ("digest('abc', 'MD5')", "MD5 and SHA-1 are not carried"),
        ("pulldata('f', 'a', 'b', 'c')", "the lookup list f.csv"),
    ] {
        let rows: &[&[&str]] = &[&["type", "name", "calculation"], &["calculate", "c", calc]];
        let path = write(dir.path(), "refused.xlsx", workbook(&[("survey", rows)]));
        let errors = form::load(&path).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.row == Some(2) && e.message.contains(why)),
            "{errors:#?}"
        );
    }
}

/// `begin_loop over LIST` as pyxform expands it: a group per choice, the
/// loop's questions in each with `%(label)s` filled in, stored under
/// `loop/choice/name`; `${name}` of a looped question is ambiguous, as
/// pyxform says too.
#[test]
fn a_loop_over_a_choice_list_asks_its_questions_once_per_choice() {
    let dir = tempfile::tempdir().unwrap();
    let survey: &[&[&str]] = &[
        &["type", "name", "label::English", "label::Lao"],
        &["begin loop over toilets", "toilet_loop", "Toilets", "ຫ້ອງນ້ຳ"],
        &["integer", "count", "How many %(label)s?", "%(label)s ຈັກອັນ?"],
        &["note", "seen", "Counted ${count} %(name)s", ""],
        &["end loop", "", "", ""],
    ];
    let choices: &[&[&str]] = &[
        &["list_name", "name", "label::English", "label::Lao"],
        &["toilets", "pit", "pit latrines", "ຂຸມ"],
        &["toilets", "flush", "flush toilets", "ຊັກໂຄກ"],
    ];
    let path = write(
        dir.path(),
        "loop.xlsx",
        workbook(&[("survey", survey), ("choices", choices)]),
    );
    // ${count} inside the loop names three questions: refused at its row.
    let errors = form::load(&path).unwrap_err();
    assert!(
        errors.iter().any(|e| e.row == Some(4)
            && e.message.contains("${count} is ambiguous")
            && e.message
                .contains("(in 'pit') and survey row 3 (in 'flush')")),
        "{errors:#?}"
    );
    // Read from inside the loop as ../count: each choice's own.
    let survey: &[&[&str]] = &[
        &[
            "type",
            "name",
            "label::English",
            "label::Lao",
            "calculation",
        ],
        survey[1],
        survey[2],
        &["calculate", "double", "", "", "../count * 2"],
        survey[4],
    ];
    let path = write(
        dir.path(),
        "loop2.xlsx",
        workbook(&[("survey", survey), ("choices", choices)]),
    );
    let f = form::load(&path).unwrap_or_else(|e| panic!("{e:#?}"));
    let count = f
        .find("toilet_loop/flush/count")
        .expect("one question per choice");
    assert_eq!(
        f.node(count).label.get(Some("Lao"), None),
        Some("ຊັກໂຄກ ຈັກອັນ?")
    );
    assert_eq!(
        f.node(count).label.get(Some("English"), None),
        Some("How many flush toilets?")
    );
    let group = f.node(count).parent.unwrap();
    assert_eq!(
        f.node(group).label.get(Some("English"), None),
        Some("flush toilets")
    );
    let answers = dir.path().join("a.json");
    std::fs::write(
        &answers,
        "{\"toilet_loop/pit/count\": 2, \"toilet_loop/flush/count\": 5}\n",
    )
    .unwrap();
    let (code, lines) = dry_run(&path, &answers);
    assert_eq!(code, Some(0), "{lines:#?}");
    assert_eq!(
        lines[0]["values"]["toilet_loop/flush/double"], "10",
        "{:#}",
        lines[0]
    );
    assert_eq!(
        lines[0]["values"]["toilet_loop/pit/double"], "4",
        "{:#}",
        lines[0]
    );
}

/// Choice filters as pyxform passes them on and ODK Collect runs them: a
/// column the list lacks is empty (no choice matches a comparison with
/// it, said in a warning), `label::English` is the choice's English label.
#[test]
fn choice_filters_on_missing_columns_and_translated_labels_run_as_in_odk() {
    let dir = tempfile::tempdir().unwrap();
    let survey: &[&[&str]] = &[
        &["type", "name", "label::English", "choice_filter"],
        &["select_one colors", "pastel", "Pastel colour", "pastel=yes"],
        &[
            "select_one colors",
            "r_colour",
            "A colour with R",
            "starts-with(label::English, 'R')",
        ],
    ];
    let choices: &[&[&str]] = &[
        &[
            "list_name",
            "name",
            "label::English",
            "label::Lao",
            "pastel",
        ],
        &["colors", "red", "Red", "ແດງ", "no"],
        &["colors", "rose", "Rose", "ບົວ", "yes"],
        &["colors", "blue", "Blue", "ຟ້າ", "no"],
    ];
    let settings: &[&[&str]] = &[&["instance_name"], &["household-v1"]];
    let path = write(
        dir.path(),
        "filters.xlsx",
        workbook(&[
            ("survey", survey),
            ("choices", choices),
            ("settings", settings),
        ]),
    );
    let f = form::load(&path).unwrap_or_else(|e| panic!("{e:#?}"));
    let said = said(&f.warnings);
    for (at, text) in [
        ("survey row 2:choice_filter:", "have no column 'yes'"),
        ("settings:instance_name:", "bare name"),
    ] {
        assert!(
            said.iter().any(|w| w.contains(at) && w.contains(text)),
            "no warning {at} {text}: {said:#?}"
        );
    }
    let answers = dir.path().join("a.jsonl");
    std::fs::write(
        &answers,
        "{\"pastel\": \"rose\"}\n{\"r_colour\": \"rose\"}\n{\"r_colour\": \"blue\"}\n",
    )
    .unwrap();
    let (code, lines) = dry_run(&path, &answers);
    assert_eq!(code, Some(1), "{lines:#?}");
    let valid: Vec<bool> = lines.iter().map(|l| l["valid"] == true).collect();
    assert_eq!(valid, [false, true, false], "{lines:#?}");
}

/// geotrace and geoshape asked as typed points, validated and stored as
/// XLSForm stores them (a shape closed by its first point); appearances
/// a terminal asks another way said in a warning; a rank asked as every
/// choice ticked in order; OSM refused by name when the form needs it.
#[test]
fn lines_and_shapes_are_typed_points_and_other_widgets_say_how_they_are_asked() {
    let dir = tempfile::tempdir().unwrap();
    let survey: &[&[&str]] = &[
        &[
            "type",
            "name",
            "label",
            "appearance",
            "calculation",
            "required",
        ],
        &["geotrace", "road", "Road", "", "", ""],
        &["geoshape", "field", "Field", "", "", ""],
        &[
            "calculate",
            "hectares",
            "",
            "",
            "round(area(${field}) div 10000, 1)",
            "",
        ],
        &[
            "calculate",
            "km",
            "",
            "",
            "round(distance(${road}) div 1000, 2)",
            "",
        ],
        &["geopoint", "home", "Home", "placement-map", "", ""],
        &["select_one yn", "ok", "OK?", "likert", "", ""],
        &["rank yn", "rk", "Rank them", "", "", ""],
    ];
    let choices: &[&[&str]] = &[
        &["list_name", "name", "label"],
        &["yn", "yes", "Yes"],
        &["yn", "no", "No"],
    ];
    let path = write(
        dir.path(),
        "geo.xlsx",
        workbook(&[("survey", survey), ("choices", choices)]),
    );
    let f = form::load(&path).unwrap_or_else(|e| panic!("{e:#?}"));
    let said = said(&f.warnings);
    for (at, text) in [
        ("survey row 6:appearance:", "asks the coordinates typed in"),
        ("survey row 7:appearance:", "'likert' is asked as a list"),
        (
            "survey row 8:type:",
            "is a rank: asked as ticking every choice",
        ),
    ] {
        assert!(
            said.iter().any(|w| w.contains(at) && w.contains(text)),
            "no warning {at} {text}: {said:#?}"
        );
    }
    let answers = dir.path().join("a.jsonl");
    std::fs::write(
        &answers,
        concat!(
            "{\"road\": \"17.9 102.6; 17.9 102.61 5 3\", \"field\": \"0 0; 0 0.01; 0.01 0.01; 0.01 0\", \"rk\": \"no yes\"}\n",
            "{\"road\": \"17.9 102.6\", \"field\": \"0 0; 0 0.01; 0 0\", \"rk\": \"no\"}\n",
        ),
    )
    .unwrap();
    let (code, lines) = dry_run(&path, &answers);
    assert_eq!(code, Some(1), "{lines:#?}");
    let v = &lines[0]["values"];
    assert_eq!(v["road"], "17.9 102.6;17.9 102.61 5 3", "{v:#}");
    assert_eq!(v["field"], "0 0;0 0.01;0.01 0.01;0.01 0;0 0", "{v:#}");
    assert_eq!(v["hectares"], "123.9", "{v:#}");
    assert_eq!(v["km"], "1.06", "{v:#}");
    assert_eq!(v["rk"], serde_json::json!(["no", "yes"]), "{v:#}");
    let kinds: Vec<&str> = lines[1]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["type", "type", "constraint"], "{:#}", lines[1]);
    // An OSM question the form needs is refused by name.
    let rows: &[&[&str]] = &[
        &["type", "name", "label", "required"],
        &["osm building_tags", "building", "Building", "yes"],
    ];
    let path = write(dir.path(), "osm.xlsx", workbook(&[("survey", rows)]));
    let errors = form::load(&path).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.row == Some(2) && e.message.contains("OpenStreetMap")),
        "{errors:#?}"
    );
}

/// `randomize=true` shuffles a select's choices; with a `seed` the order
/// is the same in every session (as ODK gives the same order for the same
/// seed), without one it is drawn per session; the answer is checked
/// against the choices whatever their order.
#[test]
fn randomize_shuffles_choices_the_same_way_for_the_same_seed() {
    use fieldkit::form::{Pos, Session};
    let dir = tempfile::tempdir().unwrap();
    let survey: &[&[&str]] = &[
        &["type", "name", "label", "parameters"],
        &["integer", "s", "Seed", ""],
        &[
            "select_one n",
            "seeded",
            "Seeded",
            "randomize=true, seed=${s}",
        ],
        &["select_one n", "drawn", "Drawn", "randomize = true"],
        &["select_one n", "plain", "Plain", ""],
        &["geopoint", "where", "Where", "capture-accuracy=10"],
    ];
    let mut choices: Vec<Vec<String>> =
        vec![vec!["list_name".into(), "name".into(), "label".into()]];
    for i in 0..12 {
        choices.push(vec!["n".into(), format!("c{i}"), format!("C {i}")]);
    }
    let choices: Vec<Vec<&str>> = choices
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let choices: Vec<&[&str]> = choices.iter().map(Vec::as_slice).collect();
    let path = write(
        dir.path(),
        "random.xlsx",
        workbook(&[("survey", survey), ("choices", &choices)]),
    );
    let f = std::sync::Arc::new(form::load(&path).unwrap_or_else(|e| panic!("{e:#?}")));
    assert!(
        said(&f.warnings)
            .iter()
            .any(|w| w.contains("survey row 6:parameters:") && w.contains("capture-accuracy=10")),
        "{:#?}",
        f.warnings
    );
    let at = |name: &str| Pos {
        path: vec![],
        node: f.find(name).unwrap(),
    };
    let session = |seed| {
        let mut env = crate::support::env();
        env.seed = seed;
        let mut s = Session::new(std::sync::Arc::clone(&f), env);
        s.answer(&at("s"), "42").unwrap();
        s
    };
    let (one, two) = (session(1), session(2));
    let in_order: Vec<usize> = (0..12).collect();
    assert_eq!(one.choices(&at("plain")), in_order);
    let seeded = one.choices(&at("seeded"));
    assert_ne!(seeded, in_order);
    assert_eq!(seeded, two.choices(&at("seeded")));
    let mut sorted = seeded.clone();
    sorted.sort();
    assert_eq!(sorted, in_order);
    assert_ne!(one.choices(&at("drawn")), two.choices(&at("drawn")));
    assert_eq!(one.choices(&at("drawn")), one.choices(&at("drawn")));
    // Another seed, another order.
    let mut three = session(1);
    three.answer(&at("s"), "7").unwrap();
    assert_ne!(three.choices(&at("seeded")), seeded);
}
