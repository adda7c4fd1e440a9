//! Issue 18, part 7: workbooks put together from the rows pyxform's own
//! test tables are made of (its types, columns, loops, groups, relative
//! paths, functions, choice filters, names shared between groups) never
//! make the converter, the loader or a session panic or hang, and the
//! real `forms check` answers every one with exit 0 or 1.

use proptest::prelude::*;

use fieldkit::form::{self, Pos, Session};

use crate::support::{env, fieldkit, stderr};
use crate::xlsform_pyxform::{workbook, write};

/// Types as pyxform's test tables spell them.
const TYPES: &[&str] = &[
    "text",
    "integer",
    "decimal",
    "note",
    "calculate",
    "date",
    "geopoint",
    "geotrace",
    "geoshape",
    "select_one c1",
    "select_multiple c1",
    "select_one c2 or_other",
    "select one from c1",
    "select_one_external c1",
    "select_one_from_file things.csv",
    "rank c1",
    "range",
    "image",
    "osm osm_tags",
    "acknowledge",
    "trigger",
    "begin group",
    "end group",
    "begin repeat",
    "end repeat",
    "begin_loop over c1",
    "begin loop over c2",
    "end loop",
    "end_loop",
    "start",
    "deviceid",
    "audit",
    "barcode",
    "",
];

/// Names from a small pool, so that they repeat across groups and loops.
const NAMES: &[&str] = &["q1", "q2", "a", "g", "r", "data", "", "l1", "x.y", "1bad"];

/// Expressions pyxform's tables use, relative paths and ODK functions
/// included.
const EXPRESSIONS: &[&str] = &[
    "${q1} > 1",
    "${a}",
    "../q1 = 2",
    "current()/../q2 != ''",
    "../../q1",
    ". > 0",
    "./c = 'x'",
    "once(random())",
    "uuid()",
    "concat(${q1}, '%(label)s')",
    "area(${g})",
    "distance(${a}, ${q2})",
    "position(..)",
    "count(${r})",
    "selected(${q1}, 'other')",
    "pastel = yes",
    "label::English != ''",
    "digest(${a}, 'SHA-256')",
    "pulldata('f', 'a', 'b', 'c')",
    "instance('c1')/root/item[name = ${q1}]/label",
    "jr:choice-name(${q1}, '${q1}')",
    "indexed-repeat(${q1}, ${r}, 1)",
    "checklist(1, 2, ${a}, ${q1})",
    "format-date-time(now(), '%H')",
    "if(",
    "",
];

const COLUMNS: &[&str] = &[
    "relevant",
    "constraint",
    "calculation",
    "required",
    "choice_filter",
    "repeat_count",
    "default",
    "appearance",
    "parameters",
];

const APPEARANCES: &[&str] = &[
    "likert",
    "quick",
    "minimal",
    "autocomplete",
    "search('things')",
    "map",
    "table-list",
    "field-list",
    "yes",
];

fn row() -> impl Strategy<Value = Vec<String>> {
    (
        prop::sample::select(TYPES),
        prop::sample::select(NAMES),
        "[A-Za-z %()]{0,12}",
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(EXPRESSIONS).prop_map(str::to_string),
                prop::sample::select(APPEARANCES).prop_map(str::to_string),
                Just("yes".to_string()),
                Just("randomize=true seed=${q1}".to_string()),
            ],
            COLUMNS.len(),
        ),
    )
        .prop_map(|(t, name, label, rest)| {
            let mut cells = vec![t.to_string(), name.to_string(), label];
            cells.extend(rest);
            cells
        })
}

fn choices() -> Vec<Vec<String>> {
    let rows: &[&[&str]] = &[
        &["list_name", "name", "label::English", "label::Lao", "c"],
        &["c1", "a", "A %(label)s", "ກ", "x"],
        &["c1", "b", "B", "ຂ", "y"],
        &["c2", "other", "Other", "", ""],
        &["c2", "z", "Z", "", "x"],
    ];
    rows.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// Converts, loads and, when it loads, runs a session over every
/// question with a few answers: none of it may panic.
fn exercise(dir: &std::path::Path, rows: &[Vec<String>]) {
    let mut header = vec!["type".to_string(), "name".into(), "label::English".into()];
    header.extend(COLUMNS.iter().map(|c| c.to_string()));
    let mut survey: Vec<Vec<String>> = vec![header];
    survey.extend(rows.iter().cloned());
    let survey: Vec<Vec<&str>> = survey
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let survey: Vec<&[&str]> = survey.iter().map(Vec::as_slice).collect();
    let choices = choices();
    let choices: Vec<Vec<&str>> = choices
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let choices: Vec<&[&str]> = choices.iter().map(Vec::as_slice).collect();
    let path = write(
        dir,
        "fuzz.xlsx",
        workbook(&[("survey", &survey), ("choices", &choices)]),
    );
    let f = match form::load(&path) {
        Ok(f) => f,
        Err(errors) => {
            if std::env::var_os("FIELDKIT_FUZZ_SAY").is_some() {
                eprintln!("fuzz: refused: {}", errors[0].message);
            }
            return;
        }
    };
    if std::env::var_os("FIELDKIT_FUZZ_SAY").is_some() {
        eprintln!("fuzz: loaded");
    }
    let f = std::sync::Arc::new(f);
    let mut s = Session::new(std::sync::Arc::clone(&f), env());
    for (id, node) in f.nodes.iter().enumerate() {
        if node.repeats.is_empty() && node.kind.is_input() {
            for answer in ["1", "a", "0 0; 0 1; 1 1", "2026-11-22", ""] {
                let _ = s.answer(
                    &Pos {
                        path: vec![],
                        node: id,
                    },
                    answer,
                );
            }
        }
    }
    let _ = s.record();
    let mut resumed = Session::new(f, env());
    let _ = resumed.load_answers(&s.answers());
}

/// Questions pyxform converts, with a column or two that may not apply.
const QUESTIONS: &[&str] = &[
    "text",
    "integer",
    "decimal",
    "note",
    "date",
    "geopoint",
    "geotrace",
    "geoshape",
    "select_one c1",
    "select_multiple c1",
    "select_one c2 or_other",
    "acknowledge",
    "range",
];

/// Expressions that resolve where they stand, per column (`../q1` is
/// each section's first question).
fn sound(column: &str) -> &'static [&'static str] {
    match column {
        "relevant" => &[
            "",
            "../q1 != ''",
            "once(random()) < 2",
            "string-length(uuid()) = 36",
        ],
        "constraint" => &["", ". != 'x'", "distance(.) >= 0"],
        "calculation" => &["", "round(area('0 0;0 1;1 1'), 0)", "concat(../q1, 'x')"],
        "choice_filter" => &["", "c = 'x'", "label::English != ''", "pastel = yes"],
        "required" => &["", "yes"],
        "appearance" => &["", "likert", "minimal", "map"],
        "parameters" => &["", "randomize=true"],
        _ => &[""],
    }
}

/// One question row: a type, a name from a pool shared between groups,
/// and sound expressions in some columns (some not applying to the type).
fn question() -> impl Strategy<Value = Vec<String>> {
    (
        prop::sample::select(QUESTIONS),
        prop::sample::select(&["q2", "g", "a", "b"][..]),
        prop::collection::vec(0..4usize, COLUMNS.len()),
    )
        .prop_map(|(t, name, picks)| {
            let mut cells = vec![t.to_string(), name.to_string(), "Q %(label)s".into()];
            cells.extend(COLUMNS.iter().zip(picks).map(|(c, i)| {
                let options = sound(c);
                options[i % options.len()].to_string()
            }));
            cells
        })
}

/// Balanced sections: questions, and groups, repeats and loops holding
/// questions, each section's names unique within it.
fn sections() -> impl Strategy<Value = Vec<Vec<String>>> {
    let section = (
        prop::sample::select(&["group", "repeat", "loop"][..]),
        prop::collection::vec(question(), 1..4),
        0..1000u32,
    )
        .prop_map(|(kind, qs, n)| {
            let mut seen = std::collections::HashSet::new();
            let mut first = vec!["text".to_string(), "q1".into(), "First".into()];
            first.extend(vec![String::new(); COLUMNS.len()]);
            let mut body: Vec<Vec<String>> = std::iter::once(first)
                .chain(qs)
                .filter(|q| seen.insert(q[1].clone()))
                .collect();
            let wrap = |begin: &str, end: &str, body: &mut Vec<Vec<String>>| {
                let blank = vec![String::new(); COLUMNS.len()];
                let mut first = vec![begin.to_string(), format!("s{n}"), "Section".into()];
                first.extend(blank.iter().cloned());
                let mut last = vec![end.to_string(), String::new(), String::new()];
                last.extend(blank);
                body.insert(0, first);
                body.push(last);
            };
            match kind {
                "group" => wrap("begin group", "end group", &mut body),
                "repeat" => wrap("begin repeat", "end repeat", &mut body),
                _ => wrap("begin loop over c1", "end loop", &mut body),
            }
            body
        });
    prop::collection::vec(section, 1..5).prop_map(|s| s.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// Rows in any order: mostly refused, never a panic.
    #[test]
    fn pyxform_shaped_workbooks_never_panic(rows in prop::collection::vec(row(), 1..14)) {
        let dir = tempfile::tempdir().unwrap();
        exercise(dir.path(), &rows);
    }

    /// Balanced workbooks: many load, and their sessions run.
    #[test]
    fn balanced_workbooks_load_or_are_refused_and_their_sessions_never_panic(
        rows in sections()
    ) {
        let dir = tempfile::tempdir().unwrap();
        exercise(dir.path(), &rows);
    }
}

/// A loop holding a group holding a loop, with shared names and relative
/// paths all the way down: the real `forms check` answers (no panic, no
/// hang) and the form loads.
#[test]
fn nested_loops_and_groups_check_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<String>> = [
        &[
            "begin_loop over c1",
            "l1",
            "Outer %(label)s",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ][..],
        &[
            "begin group",
            "g",
            "Group",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        &[
            "begin loop over c2",
            "l2",
            "Inner %(label)s",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        &[
            "integer",
            "q1",
            "How many %(label)s?",
            "../../../q2 = ''",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        &["end loop", "", "", "", "", "", "", "", "", "", "", ""],
        &["text", "q2", "Say", "", "", "", "", "", "", "", "", ""],
        &["end group", "", "", "", "", "", "", "", "", "", "", ""],
        &["end_loop", "", "", "", "", "", "", "", "", "", "", ""],
    ]
    .iter()
    .map(|r| r.iter().map(|c| c.to_string()).collect())
    .collect();
    exercise(dir.path(), &rows);
    let path = dir.path().join("fuzz.xlsx");
    let out = fieldkit(&["forms", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let f = form::load(&path).unwrap();
    // 2 outer choices x (group: 2 inner choices x q1, and q2).
    assert!(
        f.find("l1/a/g/l2/z/q1").is_some(),
        "{:?}",
        f.nodes.iter().map(|n| &n.name).collect::<Vec<_>>()
    );
    assert!(f.find("l1/b/g/q2").is_some());
}
