//! Unit tests of the tables: CSV lines as a real CSV parser reads them,
//! cells from raw JSON values, select_multiple columns, nested repeats.

use std::path::Path;

use proptest::prelude::*;
use serde_json::json;

use super::tables::{self, Layout, Line, RecordRef, Values};

const FORM: &str = r#"
[settings]
form_id = "t"
version = "1"
form_title = "T"

[[survey]]
type = "begin_group"
name = "g"
label = "G"

[[survey]]
type = "select_multiple colours"
name = "colours"
label = "Colours"

[[survey]]
type = "end_group"

[[survey]]
type = "begin_repeat"
name = "household"
label = "Household"

[[survey]]
type = "text"
name = "head"
label = "Head"

[[survey]]
type = "begin_repeat"
name = "member"
label = "Member"

[[survey]]
type = "integer"
name = "age"
label = "Age"

[[survey]]
type = "end_repeat"

[[survey]]
type = "end_repeat"

[[choices]]
list_name = "colours"
name = "red"
label = { "English (en)" = "Red", "Lao (lo)" = "ສີແດງ" }

[[choices]]
list_name = "colours"
name = "blue"
label = { "English (en)" = "Blue", "Lao (lo)" = "ສີຟ້າ" }
"#;

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

proptest! {
    /// Whatever the text (commas, quotes, line breaks, Lao), the csv
    /// crate reads back exactly the fields written.
    #[test]
    fn lines_read_back_as_written(fields in prop::collection::vec(
        "[a-z ,\"\r\nລາວ]{0,12}", 2..8,
    )) {
        let mut line = Line::default();
        for f in &fields {
            line.field(f);
        }
        // A cell starting with CR gets the `'` guard (issue 15): read
        // back, the guard removed, it is the text written.
        let rows: Vec<Vec<String>> = parse_csv(&line.end())
            .into_iter()
            .map(|r| r.iter().map(|c| tables::unguard(c).to_string()).collect())
            .collect();
        prop_assert_eq!(rows, vec![fields]);
    }

    /// The `'` guard is exactly undone by removing one leading `'`, and
    /// no guarded cell starts what a spreadsheet reads as a formula.
    #[test]
    fn the_guard_is_reversible_and_leaves_no_formula(
        fields in prop::collection::vec("[-=+@'\t\r ,\"0-9a-zລ.eE]{0,8}", 1..6),
    ) {
        let mut line = Line::default();
        for f in &fields {
            line.field(f);
        }
        let rows = parse_csv(&line.end());
        prop_assert_eq!(rows.len(), 1);
        for (cell, typed) in rows[0].iter().zip(&fields) {
            prop_assert_eq!(tables::unguard(cell), typed.as_str());
            let first = cell.bytes().next();
            prop_assert!(!matches!(first, Some(b'=' | b'+' | b'@' | b'\t' | b'\r')), "{:?}", cell);
            if first == Some(b'-') {
                prop_assert!(cell.parse::<f64>().is_ok(), "{:?}", cell);
            }
        }
    }
}

#[test]
fn cells_are_numbers_only_when_their_field_holds_numbers() {
    use tables::Cell;
    for text in [
        "0012", "Nan", "NaN", "inf", "-inf", "+5", "1.", ".5", "1e", "12a", "",
    ] {
        assert_eq!(Cell::Integer.number(text), None, "{text}");
        assert_eq!(Cell::Decimal.number(text), None, "{text}");
    }
    for text in ["+856 20 5555 1234", "-5", "1e3", "3"] {
        assert_eq!(Cell::Text.number(text), None, "{text}");
    }
    assert_eq!(Cell::Integer.number("-5"), Some(-5.0));
    assert_eq!(
        Cell::Integer.number("1e3"),
        None,
        "not how an integer is stored"
    );
    assert_eq!(
        Cell::Integer.number("1234567890123456"),
        None,
        "over 15 digits"
    );
    assert_eq!(Cell::Decimal.number("1e-7"), Some(1e-7));
    assert_eq!(Cell::Decimal.number("-0.5"), Some(-0.5));
    assert_eq!(Cell::Flag.number("1"), Some(1.0));
    assert_eq!(Cell::Flag.number("2"), None);
    assert!(tables::guarded("=1+2") && tables::guarded("-1+1") && tables::guarded("'x"));
    assert!(!tables::guarded("-5") && !tables::guarded("-0.5") && !tables::guarded("a=b"));
}

#[test]
fn sheet_names_follow_excel_rules_whatever_the_repeats_are_called() {
    let repeat = |name: &str| tables::Table {
        repeat: Some(name.into()),
        path: vec![name.into()],
        columns: Vec::new(),
        paradata: false,
    };
    let main = tables::Table {
        repeat: None,
        path: Vec::new(),
        columns: Vec::new(),
        paradata: false,
    };
    let long = "a_repeat_whose_name_is_longer_than_31";
    let tables = vec![
        main,
        repeat("choices"),
        repeat("Records"),
        repeat(&format!("{long}_x")),
        repeat(&format!("{long}_y")),
        repeat("history"),
        repeat("a/b:c*d?e[f]g\\h'"),
        repeat("'quoted"),
    ];
    let names = super::xlsx::sheet_names(&tables);
    assert_eq!(names.len(), tables.len() + 1);
    assert_eq!(names[0], "records");
    assert_eq!(names[names.len() - 1], "choices");
    let mut lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    lower.sort();
    lower.dedup();
    assert_eq!(lower.len(), names.len(), "{names:?}");
    for n in &names {
        assert!(n.encode_utf16().count() <= 31, "{n}");
        assert!(!n.contains(['[', ']', ':', '*', '?', '/', '\\']), "{n}");
        assert!(!n.starts_with('\'') && !n.ends_with('\''), "{n}");
        assert!(!n.eq_ignore_ascii_case("history"), "{n}");
    }
    // A workbook with these names saves.
    let mut book = rust_xlsxwriter::Workbook::new();
    for n in &names {
        book.add_worksheet().set_name(n).unwrap();
    }
    book.save_to_buffer().unwrap();
}

#[test]
fn cells_from_raw_values() {
    let json = json!({
        "s": "plain ລາວ", "q": "say \"hi\"\nbye", "n": 12.5, "i": 3, "z": null,
        "l": ["a", "b"], "b": true
    })
    .to_string();
    let values: Values = serde_json::from_str(&json).unwrap();
    let cell = |k| tables::cell(&values, k).into_owned();
    assert_eq!(cell("s"), "plain ລາວ");
    assert_eq!(cell("q"), "say \"hi\"\nbye");
    assert_eq!(cell("n"), "12.5");
    assert_eq!(cell("i"), "3");
    assert_eq!(cell("z"), "");
    assert_eq!(cell("l"), "a b");
    assert_eq!(cell("b"), "true");
    assert_eq!(cell("missing"), "");
}

fn rows_of(record: &serde_json::Value, labels: Option<&str>) -> Vec<Vec<Vec<String>>> {
    let form = crate::form::load_str(FORM, Path::new("t.toml")).unwrap();
    let mut layout = Layout::default();
    layout.add_version(&form, labels);
    let text = record.to_string();
    let record: RecordRef = serde_json::from_str(&text).unwrap();
    layout
        .tables
        .iter()
        .map(|table| {
            let mut out = Vec::new();
            if table.paradata {
                for line in record.paradata.iter().flat_map(|p| {
                    let round = record.round.as_deref().unwrap_or("");
                    tables::paradata_rows(&record.record_id, &record.version.to_string(), round, p)
                }) {
                    out.extend(parse_csv(&line));
                }
            } else if table.repeat.is_none() {
                let mut line = Line::default();
                tables::write_row(
                    &mut line,
                    table,
                    &record.values,
                    &layout.labels,
                    &record.record_id,
                );
                out.extend(parse_csv(&line.end()));
            } else {
                for (parent, key, index, item) in tables::instances(&record.values, &table.path) {
                    let mut line = Line::default();
                    for k in [parent.as_str(), &key, &index.to_string()] {
                        line.field(k);
                    }
                    tables::write_row(&mut line, table, &item, &layout.labels, &record.record_id);
                    out.extend(parse_csv(&line.end()));
                }
            }
            out
        })
        .collect()
}

#[test]
fn select_multiple_and_nested_repeats_become_columns_and_tables() {
    let record = json!({
        "record_id": "r1",
        "values": {
            "colours": "blue",
            "household": [
                {"head": "Noy", "member": [{"age": 30}, {"age": 4}]},
                "not an object: skipped",
                {"head": "Bounmy, \"Mee\"", "member": []}
            ]
        }
    });
    let tables = rows_of(&record, Some("Lao (lo)"));
    // The form's, its two repeats' and the paradata table (empty: the
    // record has none).
    assert_eq!(tables.len(), 4);
    assert!(tables[3].is_empty());
    // Main table: the answer, a 0/1 column per choice, the Lao label.
    assert_eq!(tables[0], vec![vec!["blue", "0", "1", "ສີຟ້າ"]]);
    let headers: Vec<&str> = {
        let form = crate::form::load_str(FORM, Path::new("t.toml")).unwrap();
        let mut layout = Layout::default();
        layout.add_version(&form, Some("Lao (lo)"));
        let h = layout.tables[0].columns.iter().map(|c| c.header.clone());
        h.collect::<Vec<_>>()
            .leak()
            .iter()
            .map(String::as_str)
            .collect()
    };
    assert_eq!(
        headers,
        [
            "g/colours",
            "g/colours/red",
            "g/colours/blue",
            "g/colours:label"
        ]
    );
    // Households: parent key, key, index, then the head; the third entry
    // keeps its position.
    assert_eq!(
        tables[1],
        vec![
            vec!["", "household[1]", "1", "Noy"],
            vec!["", "household[3]", "3", "Bounmy, \"Mee\""],
        ]
    );
    // Members under their household.
    assert_eq!(
        tables[2],
        vec![
            vec!["household[1]", "household[1]/member[1]", "1", "30"],
            vec!["household[1]", "household[1]/member[2]", "2", "4"],
        ]
    );
    // A list answer counts as the same choices; unanswered leaves the 0/1
    // columns empty, not 0.
    let listed = rows_of(
        &json!({"record_id": "r2", "values": {"colours": ["red", "blue"]}}),
        None,
    );
    assert_eq!(listed[0], vec![vec!["red blue", "1", "1"]]);
    let none = rows_of(&json!({"record_id": "r3", "values": {}}), None);
    assert_eq!(none[0], vec![vec!["", "", ""]]);
}

#[test]
fn headers_name_groups_and_choices() {
    let form = crate::form::load_str(FORM, Path::new("t.toml")).unwrap();
    let mut layout = Layout::default();
    layout.add_version(&form, None);
    let headers: Vec<&str> = layout.tables[0]
        .columns
        .iter()
        .map(|c| c.header.as_str())
        .collect();
    assert_eq!(headers, ["g/colours", "g/colours/red", "g/colours/blue"]);
    assert_eq!(layout.tables[2].file_name("t"), "t__member.csv");
    assert_eq!(layout.tables[3].file_name("t"), "t__paradata.csv");
}

/// A record's paradata: a line per question, the numbers as recorded and
/// the record's start, end and duration on each; the table stays last
/// when a later version adds a repeat, and its header is its own.
#[test]
fn paradata_is_a_line_per_question_in_the_last_table() {
    let record = json!({
        "record_id": "r1",
        "version": 2,
        "round": "R2-2026",
        "values": {"colours": "red"},
        "paradata": {
            "start": "2026-11-22T09:00:00.000+07:00",
            "end": "2026-11-22T09:31:00.000+07:00",
            "duration_s": 1503,
            "questions": [
                {"field": "colours", "seconds": 41, "changes": 2, "visits": 3},
                {"field": "household[2]/member[1]/age", "seconds": 0, "changes": 0, "visits": 1}
            ]
        }
    });
    let tables = rows_of(&record, None);
    assert_eq!(
        tables[3],
        vec![
            vec![
                "r1",
                "2",
                "R2-2026",
                "colours",
                "41",
                "2",
                "3",
                "2026-11-22T09:00:00.000+07:00",
                "2026-11-22T09:31:00.000+07:00",
                "1503"
            ],
            vec![
                "r1",
                "2",
                "R2-2026",
                "household[2]/member[1]/age",
                "0",
                "0",
                "1",
                "2026-11-22T09:00:00.000+07:00",
                "2026-11-22T09:31:00.000+07:00",
                "1503"
            ],
        ]
    );
    let form = crate::form::load_str(FORM, Path::new("t.toml")).unwrap();
    let mut layout = Layout::default();
    layout.add_version(&form, None);
    layout.add_version(&form, None);
    // A repeat named `paradata` keeps its name; the paradata table moves.
    let clash = FORM.replace("name = \"household\"", "name = \"paradata\"");
    let clash = crate::form::load_str(&clash, Path::new("t.toml")).unwrap();
    let mut other = Layout::default();
    other.add_version(&clash, None);
    let names: Vec<String> = other.tables.iter().map(|t| t.file_name("t")).collect();
    assert_eq!(
        names,
        [
            "t.csv",
            "t__paradata.csv",
            "t__member.csv",
            "t__paradata~2.csv"
        ]
    );
    let paradata: Vec<_> = layout.tables.iter().filter(|t| t.paradata).collect();
    assert_eq!(paradata.len(), 1);
    assert!(layout.tables.last().is_some_and(|t| t.paradata));
    assert_eq!(
        tables::head_rows(paradata[0], false)[0],
        [
            "record_id",
            "version",
            "round",
            "field",
            "seconds",
            "changes",
            "visits",
            "start",
            "end",
            "duration_s"
        ]
    );
}
