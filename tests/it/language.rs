//! The engine's own words come in the language the enumerator chose: a
//! refused answer in `fill --language "Lao (lo)"` is said in Lao (draft
//! Lao, to be reviewed by a Lao speaker), in English otherwise.

use serde_json::{Value, json};

use crate::support::{fieldkit, stderr};

fn violations(language: Option<&str>) -> Vec<Value> {
    let mut v: Value = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    v["age"] = json!("38,2");
    v["fees_amount_lak"] = json!("3.500.000");
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("answers.json");
    std::fs::write(&answers, format!("{v}\n")).unwrap();
    let mut args = vec![
        "fill",
        "dtm_flow_monitoring",
        "--answers",
        answers.to_str().unwrap(),
        "--dry-run",
    ];
    if let Some(l) = language {
        args.extend(["--language", l]);
    }
    let out = fieldkit(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["violations"].as_array().unwrap().clone()
}

#[test]
fn type_errors_are_said_in_the_chosen_language() {
    let english = violations(None);
    let lao = violations(Some("Lao (lo)"));
    assert_eq!(english.len(), 2, "{english:?}");
    assert_eq!(lao.len(), 2, "{lao:?}");
    for (en, lo) in english.iter().zip(&lao) {
        assert_eq!(en["kind"], "type");
        assert_eq!(en["name"], lo["name"]);
        let (en, lo) = (
            en["message"].as_str().unwrap(),
            lo["message"].as_str().unwrap(),
        );
        assert!(en.contains("is not a"), "{en}");
        assert!(lo.contains("ບໍ່ແມ່ນ"), "{lo}");
        assert!(!lo.contains("is not"), "{lo}");
    }
}
