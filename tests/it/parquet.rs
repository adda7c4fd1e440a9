//! `aggregate --parquet`: the tables as Parquet, read back with the
//! parquet crate's own reader and, where installed, with pyarrow (what
//! pandas, Polars and DuckDB users read them with): every cell the CSV
//! has, typed from the form, exactly as typed.

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde_json::{Value, json};

use crate::aggregate::aggregate;
use crate::bundle::{export, with_records};
use crate::support::{Interpreter, PYARROW, csv_rows, run_script, stderr};

#[test]
fn parquet_tables_hold_the_csv_cells_typed_from_the_form() {
    let test = "parquet_tables_hold_the_csv_cells_typed_from_the_form";
    let (e, signers) = with_records(3);
    let usb = e.dir.path().join("usb");
    let bundle = export(&e, &usb);
    let out = e.dir.path().join("out");
    let pq = e.dir.path().join("pq");
    let run = aggregate(
        &out,
        &[&bundle],
        &signers,
        &["--parquet", pq.to_str().unwrap()],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    // Made without a pack: the records have no round (hive's null).
    let file = pq.join(
        "form_id=dtm_flow_monitoring/round=__HIVE_DEFAULT_PARTITION__/dtm_flow_monitoring.parquet",
    );
    let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let physical = |name: &str| {
        schema
            .columns()
            .iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .physical_type()
            .to_string()
    };
    assert_eq!(physical("grp_profile/age"), "INT64");
    assert_eq!(physical("grp_recruitment/fees_amount_lak"), "DOUBLE");
    assert_eq!(
        physical("grp_documents/documents_carried/border_pass"),
        "INT32"
    );
    assert_eq!(physical("grp_journey/destination_place"), "BYTE_ARRAY");
    assert_eq!(physical("record_id"), "BYTE_ARRAY");

    // Every cell as the CSV has it: numbers as numbers of the same value,
    // text exactly, empty cells null.
    let rows = csv_rows(&out.join("dtm_flow_monitoring.csv"));
    let header = &rows[0];
    let mut read = 0;
    for (row, csv) in reader.get_row_iter(None).unwrap().zip(&rows[1..]) {
        let row = row.unwrap();
        for (name, field) in row.get_column_iter() {
            assert_ne!(name, "round", "the round is in the path");
            let at = header.iter().position(|h| h == name).unwrap();
            let cell = &csv[at];
            match field {
                Field::Null => assert_eq!(cell, "", "{name}"),
                Field::Long(n) => assert_eq!(&n.to_string(), cell, "{name}"),
                Field::Int(n) => assert_eq!(&n.to_string(), cell, "{name}"),
                Field::Double(n) => assert_eq!(*n, cell.parse::<f64>().unwrap(), "{name}"),
                Field::Str(s) => assert_eq!(s, cell.strip_prefix('\'').unwrap_or(cell), "{name}"),
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        read += 1;
    }
    assert_eq!(read, 3);
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["parquet_tables"]
            .as_array()
            .unwrap()
            .contains(&json!([
                "form_id=dtm_flow_monitoring/round=__HIVE_DEFAULT_PARTITION__/\
                 dtm_flow_monitoring.parquet",
                3
            ])),
        "{}",
        summary["parquet_tables"]
    );

    // pyarrow reads the folder as one dataset, partitioned by form and
    // round (null: no round).
    let script = r#"
import sys
import pyarrow.dataset as ds
import pyarrow as pa
# The partitions' types given (as the README does): with every round
# null, "hive" alone has nothing to infer the round's type from.
parts = ds.partitioning(pa.schema([("form_id", pa.string()), ("round", pa.string())]),
                        flavor="hive")
t = ds.dataset(sys.argv[1], format="parquet", partitioning=parts).to_table()
print(t.schema.field("grp_profile/age").type, t.schema.field("grp_recruitment/fees_amount_lak").type,
      t.schema.field("grp_journey/destination_place").type, t.num_rows,
      sorted(set(t.column("form_id").to_pylist())), t.column("round").to_pylist(),
      sorted(t.column("grp_journey/destination_place").to_pylist()))
"#;
    let Some(said) = run_script(
        test,
        Interpreter::Python,
        PYARROW,
        script,
        &[pq.as_os_str()],
        &pq,
    ) else {
        return;
    };
    let said = said.trim();
    assert_eq!(
        said,
        "int64 double string 3 ['dtm_flow_monitoring'] [None, None, None] \
         ['place 0', 'place 1', 'place 2']"
    );
}
