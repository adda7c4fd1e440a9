//! The README's value-label recipes, run as written on a real aggregate
//! output: three flow-monitoring records filled, exported and aggregated
//! (`choices.csv` beside the tables), then the pandas block (python3 with
//! pandas) and the R block (Rscript with haven, which also writes and
//! reads back .dta and .sav) with checks appended. Each is skipped, and
//! said, where its tools are missing.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::cli::readme_block;
use crate::support::{Enumerator, Interpreter, csv_rows, run_script, stderr};

/// Where the recipes are in README.md.
const PANDAS: &str = "<!-- recipe: pandas value labels -->";
const R: &str = "<!-- recipe: R value labels -->";

/// Three records exported and aggregated into `dir/tables` (the folder
/// name the recipes use).
fn aggregated(e: &Enumerator) -> std::path::PathBuf {
    let base: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    let mut lines = String::new();
    for (transport, documents) in [
        ("bus", json!(["border_pass"])),
        ("minivan", json!(["passport", "work_permit"])),
        ("bus", json!(["passport"])),
    ] {
        let mut r = base.clone();
        r["transport_mode"] = json!(transport);
        r["documents_carried"] = documents;
        lines.push_str(&format!("{r}\n"));
    }
    let out = e.fill("dtm_flow_monitoring", &lines, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d = e.dir.path();
    crate::support::export_and_aggregate(e, d, &["--labels"])
}

/// The transport labels the records' rows should show, in the table's
/// row order.
fn transport_labels(tables: &Path) -> Vec<String> {
    let rows = csv_rows(&tables.join("dtm_flow_monitoring.csv"));
    let at = rows[0]
        .iter()
        .position(|h| h == "grp_journey/transport_mode")
        .unwrap();
    rows[1..]
        .iter()
        .map(|r| match r[at].as_str() {
            "bus" => "Bus or coach".to_string(),
            "minivan" => "Minivan".to_string(),
            other => panic!("unexpected {other}"),
        })
        .collect()
}

#[test]
fn choices_csv_has_every_choice_with_its_labels_in_every_language() {
    let e = Enumerator::init("enum-32");
    let tables = aggregated(&e);
    let rows = csv_rows(&tables.join("choices.csv"));
    assert_eq!(
        rows[0],
        [
            "form_id",
            "list_name",
            "name",
            "label",
            "label::English (en)",
            "label::Lao (lo)"
        ]
    );
    let bus = rows
        .iter()
        .find(|r| r[1] == "transport" && r[2] == "bus")
        .unwrap();
    assert_eq!(
        bus,
        &[
            "dtm_flow_monitoring",
            "transport",
            "bus",
            "Bus or coach",
            "Bus or coach",
            "ລົດເມ / ລົດໂດຍສານ"
        ]
    );
    // The CSV lists beside the form too (provinces, by p-code).
    assert!(
        rows.iter()
            .any(|r| r[0] == "dtm_flow_monitoring" && r[2] == "LA01"),
        "the provinces' list"
    );
    // Each (form, list, choice) once.
    let mut seen = std::collections::HashSet::new();
    for r in &rows[1..] {
        assert!(seen.insert((&r[0], &r[1], &r[2])), "{r:?}");
    }
}

#[test]
fn the_readme_pandas_recipe_labels_the_codes() {
    let test = "value_labels::the_readme_pandas_recipe_labels_the_codes";
    let e = Enumerator::init("enum-33");
    let tables = aggregated(&e);
    let recipe = readme_block(PANDAS, "```python");
    assert!(recipe.contains("rename_categories"), "{recipe}");
    let script = format!(
        "{recipe}\n\nimport json\nt = df[\"grp_journey/transport_mode\"]\n\
         print(\"RESULT \" + json.dumps({{\"dtype\": str(t.dtype), \
         \"transport\": [None if pd.isna(v) else v for v in t], \
         \"categories\": list(t.cat.categories), \
         \"documents\": {{k: int(v) for k, v in documents.sum().items()}}}}, ensure_ascii=False))\n"
    );
    let needs = (
        "import pandas",
        "pandas is not installed (apt-get install python3-pandas)",
    );
    let dir = tables.parent().unwrap();
    let Some(stdout) = run_script(test, Interpreter::Python, needs, &script, &[], dir) else {
        return;
    };
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let got: Value = serde_json::from_str(line).unwrap();
    assert_eq!(got["dtype"], "category");
    assert_eq!(got["transport"], json!(transport_labels(&tables)));
    assert_eq!(got["categories"][0], "Bus or coach", "the form's order");
    let documents: BTreeMap<String, i64> =
        serde_json::from_value(got["documents"].clone()).unwrap();
    assert_eq!(documents["Passport"], 2);
    assert_eq!(documents["Border pass"], 1);
    assert_eq!(documents["Work permit"], 1);
    assert_eq!(documents["None"], 0);
}

#[test]
fn the_readme_r_recipe_labels_the_codes_and_writes_stata_and_spss() {
    let test = "value_labels::the_readme_r_recipe_labels_the_codes_and_writes_stata_and_spss";
    let e = Enumerator::init("enum-34");
    let tables = aggregated(&e);
    let recipe = readme_block(R, "```r");
    assert!(recipe.contains("write_dta"), "{recipe}");
    let script = format!(
        "{recipe}\n\n\
         cat(paste0(\"FACTOR \", as.character(df[[\"grp_journey/transport_mode\"]])), sep = \"\\n\")\n\
         back <- read_dta(file.path(out, paste0(form, \".dta\")))\n\
         cat(paste0(\"DTA \", as.character(as_factor(back$grp_journey_transport_mode))), sep = \"\\n\")\n\
         sav <- read_sav(file.path(out, paste0(form, \".sav\")))\n\
         cat(paste0(\"SAV \", as.character(as_factor(sav$grp_journey_transport_mode))), sep = \"\\n\")\n\
         cat(paste0(\"NAME \", names(back)[1:3]), sep = \"\\n\")\n"
    );
    let needs = (
        "library(haven)",
        "R's haven is not installed (apt-get install r-cran-haven)",
    );
    let dir = tables.parent().unwrap();
    let Some(stdout) = run_script(test, Interpreter::R, needs, &script, &[], dir) else {
        return;
    };
    let said = |prefix: &str| -> Vec<String> {
        stdout
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(str::to_string)
            .collect()
    };
    let want = transport_labels(&tables);
    assert_eq!(said("FACTOR "), want, "{stdout}");
    assert_eq!(said("DTA "), want, "{stdout}");
    assert_eq!(said("SAV "), want, "{stdout}");
    assert_eq!(
        said("NAME "),
        ["record_id", "enumerator_id", "device_id"],
        "{stdout}"
    );
}
