//! The round in records, through the real binary: a laptop fills the
//! shipped site assessment (with its repeat of agencies) before any pack,
//! then in round `R1-2026` and in a round whose name needs escaping in a
//! path (a space, a `/`, Lao); one bundle; `aggregate --parquet`. The
//! tables' `round` column (main and repeat) says each record's round, the
//! Parquet files are partitioned by form and round, read back with the
//! parquet crate and, where installed, with pyarrow as a hive-partitioned
//! dataset (the round a string, null for the records without a pack).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;

use crate::support::{
    Enumerator, Interpreter, PYARROW, csv_rows, fieldkit, repo, run_script, stderr,
};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A round name a data manager might type that is not a folder name.
const ODD_ROUND: &str = "R2 2026/ພາກໃຕ້";
const ODD_FOLDER: &str = "round=R2%202026%2Fພາກໃຕ້";
const FORM: &str = "dtm_site_assessment";

/// Builds the next pack of `dtm-lao` with the shipped forms for `round`,
/// signed with the DEMO deployment key `init` pins, and takes it.
fn take_pack(e: &Enumerator, dir: &Path, round: &str, previous: Option<&Path>) -> PathBuf {
    let out_dir = dir.join(format!("packs-{}", previous.is_some() as u8));
    std::fs::create_dir_all(&out_dir).unwrap();
    let key = repo().join("keys/demo/deployment");
    let forms = repo().join("forms");
    let mut args = vec![
        "pack",
        "build",
        "--key",
        s(&key),
        "--out",
        s(&out_dir),
        "--round",
        round,
        "--forms",
        s(&forms),
    ];
    match previous {
        Some(p) => args.extend(["--previous", s(p)]),
        None => args.extend(["--deployment", "dtm-lao"]),
    }
    let out = fieldkit(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pack = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let out = e.run(&["pack", "import", s(&pack)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    pack
}

fn site(name: &str) -> String {
    let mut v: Value =
        serde_json::from_str(include_str!("../fixtures/site_assessment_complete.json")).unwrap();
    let field = v
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.ends_with("site_name"))
        .cloned()
        .expect("a site name field");
    v[field] = Value::String(name.into());
    v.to_string() + "\n"
}

/// The record ids `fill` printed, one per line of answers.
fn filled(e: &Enumerator, records: &[&str]) -> Vec<String> {
    let out = e.fill(FORM, &records.concat(), &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(|v| v.unwrap()["record_id"].as_str().unwrap().to_string())
        .collect()
}

/// The rows of a Parquet file: its column names and each row's cells as
/// text (None: null).
fn parquet_rows(path: &Path) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let names = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let rows = reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(_, f)| match f {
                    parquet::record::Field::Null => None,
                    parquet::record::Field::Str(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
                .collect()
        })
        .collect();
    (names, rows)
}

#[test]
fn records_carry_their_round_and_parquet_is_partitioned_by_form_and_round() {
    let test =
        "rounds_parquet::records_carry_their_round_and_parquet_is_partitioned_by_form_and_round";
    let e = Enumerator::init("enum-31");
    let d = e.dir.path().to_path_buf();
    let before = filled(&e, &[&site("Site before packs")]);
    let one = take_pack(&e, &d, "R1-2026", None);
    let r1 = filled(&e, &[&site("Site R1 a"), &site("Site R1 b")]);
    take_pack(&e, &d, ODD_ROUND, Some(&one));
    let r2 = filled(&e, &[&site("Site R2")]);
    assert_eq!((before.len(), r1.len(), r2.len()), (1, 2, 1));
    let mut round_of: BTreeMap<String, &str> = BTreeMap::new();
    round_of.insert(before[0].clone(), "");
    for id in &r1 {
        round_of.insert(id.clone(), "R1-2026");
    }
    round_of.insert(r2[0].clone(), ODD_ROUND);

    let pq = d.join("pq");
    let tables = crate::support::export_and_aggregate(&e, &d, &["--parquet", s(&pq)]);

    // The CSV tables: the round after review_status, in the main table
    // and in every row of the repeat.
    let main = csv_rows(&tables.join(format!("{FORM}.csv")));
    assert_eq!(main[0][8..10], ["review_status", "round"]);
    assert_eq!(main.len() - 1, 4);
    for row in &main[1..] {
        assert_eq!(row[9], round_of[&row[0]], "{}", row[0]);
    }
    let repeat_file = std::fs::read_dir(&tables)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with(&format!("{FORM}__")) && n.ends_with(".csv"))
        .expect("the repeat's table");
    let repeat = csv_rows(&tables.join(&repeat_file));
    assert_eq!(repeat[0][4..7], ["version", "review_status", "round"]);
    assert!(repeat.len() > 4, "every record has agencies");
    for row in &repeat[1..] {
        assert_eq!(row[6], round_of[&row[0]], "{}", row[0]);
    }

    // The Parquet files: one per table and round, the round in the path
    // only, each file the rows of its round.
    let stem = |csv: &str| csv.strip_suffix(".csv").unwrap().to_string();
    let form_dir = pq.join(format!("form_id={FORM}"));
    let mut folders: Vec<String> = std::fs::read_dir(&form_dir)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "round=R1-2026",
            ODD_FOLDER,
            "round=__HIVE_DEFAULT_PARTITION__"
        ]
    );
    for (table, rows, id_at) in [
        (format!("{FORM}.csv"), &main, 0),
        (repeat_file.clone(), &repeat, 0),
    ] {
        for (folder, round) in [
            (ODD_FOLDER, ODD_ROUND),
            ("round=R1-2026", "R1-2026"),
            ("round=__HIVE_DEFAULT_PARTITION__", ""),
        ] {
            let file = form_dir
                .join(folder)
                .join(format!("{}.parquet", stem(&table)));
            let (names, got) = parquet_rows(&file);
            assert!(!names.contains(&"round".to_string()), "{names:?}");
            assert_eq!(names.len(), rows[0].len() - 1);
            let want: Vec<&Vec<String>> = rows[1..]
                .iter()
                .filter(|r| round_of[&r[id_at]] == round)
                .collect();
            assert_eq!(got.len(), want.len(), "{}", file.display());
            for (g, w) in got.iter().zip(want) {
                assert_eq!(g[0].as_deref(), Some(w[0].as_str()));
            }
        }
    }
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tables.join("summary.json")).unwrap()).unwrap();
    let listed: Vec<String> = summary["parquet_tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{} {}", t[0].as_str().unwrap(), t[1]))
        .collect();
    assert!(
        listed.contains(&format!("form_id={FORM}/round=R1-2026/{FORM}.parquet 2")),
        "{listed:?}"
    );

    // pyarrow: each table's files as one hive-partitioned dataset.
    let script = r#"
import sys, glob, json
import pyarrow.dataset as ds
root, table = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(f"{root}/form_id=*/round=*/{table}.parquet"))
t = ds.dataset(files, format="parquet", partitioning="hive", partition_base_dir=root).to_table()
print(json.dumps({
    "types": [str(t.schema.field("form_id").type), str(t.schema.field("round").type),
              str(t.schema.field("version").type)],
    "rounds": sorted(zip(t.column("record_id").to_pylist(), t.column("round").to_pylist()),
                     key=lambda p: (p[0], p[1] or "")),
}))
"#;
    for table in [FORM.to_string(), stem(&repeat_file)] {
        let args = [pq.as_os_str(), table.as_ref()];
        let Some(said) = run_script(test, Interpreter::Python, PYARROW, script, &args, &pq) else {
            return;
        };
        let said: Value = serde_json::from_str(said.trim()).unwrap();
        assert_eq!(
            said["types"],
            serde_json::json!(["string", "string", "int64"])
        );
        let rows = if table == FORM { &main } else { &repeat };
        let mut want: Vec<(String, Option<&str>)> = rows[1..]
            .iter()
            .map(|r| {
                let round = round_of[&r[0]];
                (r[0].clone(), (!round.is_empty()).then_some(round))
            })
            .collect();
        want.sort_by(|a, b| (&a.0, a.1.unwrap_or("")).cmp(&(&b.0, b.1.unwrap_or(""))));
        let got: Vec<(String, Option<&str>)> = said["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str()))
            .collect();
        assert_eq!(got, want, "{table}");
    }
}
