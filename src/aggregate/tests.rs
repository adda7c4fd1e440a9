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
        let rows = parse_csv(&line.end());
        prop_assert_eq!(rows, vec![fields]);
    }
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
            if table.repeat.is_none() {
                let mut line = Line::default();
                tables::write_row(&mut line, table, &record.values, &layout.labels);
                out.extend(parse_csv(&line.end()));
            } else {
                for (parent, key, index, item) in tables::instances(&record.values, &table.path) {
                    let mut line = Line::default();
                    for k in [parent.as_str(), &key, &index.to_string()] {
                        line.field(k);
                    }
                    tables::write_row(&mut line, table, &item, &layout.labels);
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
    assert_eq!(tables.len(), 3);
    // Main table: the answer, a 0/1 column per choice, the Lao label.
    assert_eq!(tables[0], vec![vec!["blue", "0", "1", "ສີຟ້າ"]]);
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
}
