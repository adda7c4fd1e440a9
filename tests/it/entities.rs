//! Issue 18 part 5 and issue 20 part 1: XLSForm's `entities` sheet and
//! `save_to`, through real workbooks and the real binary (`forms check`,
//! `fill --dry-run`): the corpus workbook with the `trees.csv` it names,
//! and a registration form and its follow-up written from ODK's entities
//! documentation; the record's values carry the entity operation
//! (`meta/entity`). Also lists found in the forms folder, and a workbook's
//! `csv-external` with `pulldata()` read alike by its TOML twin. Each
//! sheet is written row by row, as it reads.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::fieldkit;
use crate::xlsform::dry_run;
use crate::xlsform_pyxform::{workbook, write};

/// Last round's trees: two, with the versions the server gave them.
const TREES: &str = "name,label,species,circumference_cm,__version\n\
oak1,Old oak,oak,310,3\n\
pine2,Pine by the well,pine,95,1\n";

fn answers(dir: &Path, records: &[Value]) -> std::path::PathBuf {
    let path = dir.join("answers.jsonl");
    let text: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    path
}

fn entity(record: &Value) -> &Value {
    &record["values"]["meta/entity"]
}

fn checks(form: &Path) -> Value {
    let out = fieldkit(&["forms", "check", form.to_str().unwrap()]);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_corpus_workbook_loads_with_its_list_and_fills_to_creates_and_updates() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/xlsform/rxform/entities_create_update.xlsx");
    let corpus = if corpus.is_file() {
        corpus
    } else {
        Path::new("/work/shared/corpus/xlsform/rxform/entities_create_update.xlsx").to_path_buf()
    };
    let form = dir.path().join("entities_create_update.xlsx");
    std::fs::copy(&corpus, &form).unwrap();
    // Without its list it is refused, naming the file and where it looked.
    let report = checks(&form);
    let message = report["forms"][0]["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("trees.csv"), "{message}");
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    std::fs::write(dir.path().join("trees.csv"), TREES).unwrap();
    assert_eq!(checks(&form)["ok"], json!(true));
    let (code, records) = dry_run(
        &form,
        &answers(
            dir.path(),
            &[
                json!({"tree": "oak1", "notes": "hollow trunk"}),
                json!({"notes": "young lime"}),
                json!({"notes": "young lime"}),
            ],
        ),
    );
    assert_eq!(code, Some(0), "{records:?}");
    // A tree chosen: updated, from the version the laptop holds.
    assert_eq!(
        entity(&records[0]),
        &json!({
            "list": "trees",
            "id": "oak1",
            "action": "update",
            "label": "t-hollow trunk",
            "base_version": "3",
            "properties": {"notes": "hollow trunk"}
        })
    );
    // No tree chosen: a new one, with a new UUID.
    let created = entity(&records[1]);
    assert_eq!(created["action"], json!("create"));
    assert_eq!(created["label"], json!("t-young lime"));
    assert_eq!(created["properties"], json!({"notes": "young lime"}));
    assert_eq!(created.get("base_version"), None);
    let id = created["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    // The same answers in another record of the same run: another tree.
    assert_eq!(entity(&records[2])["action"], json!("create"));
    assert_ne!(entity(&records[2])["id"], created["id"]);
}

/// ODK's documentation example: trees registered with their species and
/// circumference, then visited again to update the circumference, with
/// last visit's value shown beside the question.
#[test]
fn a_registration_form_and_its_follow_up_as_odk_documents_them() {
    let dir = tempfile::tempdir().unwrap();
    let registration = write(
        dir.path(),
        "tree_registration.xlsx",
        workbook(&[
            (
                "survey",
                &[
                    &["type", "name", "label", "save_to", "required"],
                    &["geopoint", "location", "Tree location", "geometry", ""],
                    &["select_one species", "species", "Species", "species", "yes"],
                    &[
                        "integer",
                        "circumference",
                        "Circumference (cm)",
                        "circumference_cm",
                        "yes",
                    ],
                    &["text", "intake_notes", "Notes", "", ""],
                ],
            ),
            (
                "choices",
                &[
                    &["list_name", "name", "label"],
                    &["species", "oak", "Oak"],
                    &["species", "pine", "Pine"],
                ],
            ),
            (
                "settings",
                &[&["form_id", "version"], &["tree_registration", "1"]],
            ),
            (
                "entities",
                &[
                    &["list_name", "label"],
                    &["trees", "concat(${circumference}, 'cm ', ${species})"],
                ],
            ),
        ]),
    );
    let follow_up = write(
        dir.path(),
        "tree_follow_up.xlsx",
        workbook(&[
            (
                "survey",
                &[
                    &[
                        "type",
                        "name",
                        "label",
                        "save_to",
                        "calculation",
                        "constraint",
                    ],
                    &["select_one_from_file trees.csv", "tree", "Tree", "", "", ""],
                    &[
                        "calculate",
                        "previous",
                        "",
                        "",
                        "instance('trees')/root/item[name = ${tree}]/circumference_cm",
                        "",
                    ],
                    &[
                        "integer",
                        "circumference",
                        "Circumference now (cm; last visit: ${previous})",
                        "circumference_cm",
                        "",
                        ". >= ${previous}",
                    ],
                ],
            ),
            (
                "settings",
                &[&["form_id", "version"], &["tree_follow_up", "1"]],
            ),
            (
                "entities",
                &[&["list_name", "entity_id"], &["trees", "${tree}"]],
            ),
        ]),
    );
    std::fs::write(dir.path().join("trees.csv"), TREES).unwrap();
    for form in [&registration, &follow_up] {
        let report = checks(form);
        assert_eq!(report["ok"], json!(true), "{report:#}");
    }
    let (code, records) = dry_run(
        &registration,
        &answers(
            dir.path(),
            &[json!({"location": "17.96 102.61", "species": "oak", "circumference": 40})],
        ),
    );
    assert_eq!(code, Some(0), "{records:?}");
    let made = entity(&records[0]);
    assert_eq!(made["action"], json!("create"));
    assert_eq!(made["label"], json!("40cm oak"));
    assert_eq!(
        made["properties"],
        json!({"geometry": "17.96 102.61", "species": "oak", "circumference_cm": "40"})
    );
    let (code, records) = dry_run(
        &follow_up,
        &answers(
            dir.path(),
            &[
                json!({"tree": "pine2", "circumference": 97}),
                json!({"tree": "oak1", "circumference": 300}),
            ],
        ),
    );
    // The second shrank below last visit's 310: the constraint says so.
    assert_eq!(code, Some(1), "{records:?}");
    assert_eq!(records[0]["values"]["previous"], json!("95"));
    assert_eq!(
        entity(&records[0]),
        &json!({
            "list": "trees",
            "id": "pine2",
            "action": "update",
            "base_version": "1",
            "properties": {"circumference_cm": "97"}
        })
    );
    assert_eq!(records[1]["valid"], json!(false));
    assert_eq!(records[1]["violations"][0]["name"], json!("circumference"));
}

/// What pyxform refuses in an entities declaration, refused here too,
/// located on its sheet, row and column.
#[test]
fn entity_declarations_pyxform_refuses_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let survey: &[&[&str]] = &[
        &["type", "name", "label", "save_to"],
        &["text", "a", "A", "prop"],
    ];
    let cases: &[(&[&[&str]], &str, &str)] = &[
        (
            &[&["list_name", "update_if"], &["trees", "true()"]],
            "",
            "update_if needs an entity_id",
        ),
        (
            &[
                &["list_name", "entity_id", "create_if"],
                &["trees", "${a}", "true()"],
            ],
            "",
            "needs update_if too",
        ),
        (&[&["list_name"], &["trees"]], "", "needs a label column"),
        (
            &[&["list_name", "label"], &["tr.ees", "${a}"]],
            "list_name",
            "holds a period",
        ),
        (
            &[&["list_name", "label"], &["__trees", "${a}"]],
            "list_name",
            "reserved prefix",
        ),
        (
            &[&["list_name", "label", "colour"], &["trees", "${a}", "x"]],
            "colour",
            "XLSForm does not define",
        ),
        (
            &[
                &["list_name", "label", "repeat"],
                &["trees", "${a}", "${r}"],
            ],
            "repeat",
            "in a repeat",
        ),
        (
            &[
                &["list_name", "label"],
                &["trees", "${a}"],
                &["birds", "${a}"],
            ],
            "",
            "more than one entity",
        ),
        (
            &[&["list_name", "label"], &["trees", "${b}"]],
            "label",
            "${b}",
        ),
        (
            &[
                &["list_name", "label"],
                &["trees", "instance('birds')/root/item/label"],
            ],
            "label",
            "which the survey does not",
        ),
    ];
    for (i, (entities, column, why)) in cases.iter().enumerate() {
        let path = write(
            dir.path(),
            &format!("e{i}.xlsx"),
            workbook(&[("survey", survey), ("entities", entities)]),
        );
        let errors = fieldkit::form::load(&path).expect_err(why);
        let found = errors.iter().find(|e| e.message.contains(why));
        let found = found.unwrap_or_else(|| panic!("{why}: {errors:#?}"));
        assert_eq!(found.sheet, "entities", "{why}");
        assert!(found.row.is_some_and(|r| r >= 2), "{why}: {found}");
        if !column.is_empty() {
            assert_eq!(found.column.as_deref(), Some(*column), "{why}");
        }
    }
    // save_to: an entity to save to, and a property name it may have.
    let entities: &[&[&str]] = &[&["list_name", "label"], &["trees", "${a}"]];
    for (save_to, with_entities, why) in [
        ("prop", false, "declares no entity"),
        ("name", true, "reserved entity property name"),
        ("Label", true, "reserved entity property name"),
        ("__x", true, "reserved prefix"),
        ("1x", true, "not a valid property name"),
    ] {
        let survey: &[&[&str]] = &[
            &["type", "name", "label", "save_to"],
            &["text", "a", "A", save_to],
        ];
        let mut sheets: Vec<(&str, &[&[&str]])> = vec![("survey", survey)];
        if with_entities {
            sheets.push(("entities", entities));
        }
        let path = write(dir.path(), "s.xlsx", workbook(&sheets));
        let errors = fieldkit::form::load(&path).expect_err(why);
        assert!(
            errors.iter().any(|e| e.message.contains(why)
                && e.row == Some(2)
                && e.column.as_deref() == Some("save_to")),
            "{save_to}: {errors:#?}"
        );
    }
}

/// A form given by path finds a list the forms folder keeps in `lists/`
/// (`--forms`), where it is not beside the form.
#[test]
fn a_list_in_the_forms_folder_serves_a_form_given_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("drafts");
    let forms = dir.path().join("forms");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(forms.join("lists")).unwrap();
    let form = elsewhere.join("visit.toml");
    std::fs::write(
        &form,
        "[[survey]]\ntype = \"csv-external\"\nname = \"trees\"\n\n[[survey]]\ntype = \"text\"\nname = \"tree\"\nlabel = \"Tree\"\n\n[[survey]]\ntype = \"calculate\"\nname = \"girth\"\ncalculation = \"pulldata('trees', 'circumference_cm', 'name', ${tree})\"\n",
    )
    .unwrap();
    std::fs::write(forms.join("lists/trees.csv"), TREES).unwrap();
    let input = answers(dir.path(), &[json!({"tree": "oak1"})]);
    let (form, input, forms) = (
        form.to_str().unwrap(),
        input.to_str().unwrap(),
        forms.to_str().unwrap(),
    );
    let out = fieldkit(&["fill", form, "--answers", input, "--dry-run"]);
    assert!(!out.status.success());
    assert!(crate::support::stderr(&out).contains("trees.csv"));
    let out = fieldkit(&[
        "--forms",
        forms,
        "fill",
        form,
        "--answers",
        input,
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["values"]["girth"], json!("310"));
}

/// A workbook's `csv-external` row and `pulldata()`, and the TOML form
/// `forms import` writes of it, read the same list the same way.
#[test]
fn a_workbook_with_csv_external_and_its_toml_twin_look_up_alike() {
    let dir = tempfile::tempdir().unwrap();
    let book = write(
        dir.path(),
        "girth.xlsx",
        workbook(&[
            (
                "survey",
                &[
                    &["type", "name", "label", "calculation"],
                    &["csv-external", "trees", "", ""],
                    &["text", "tree", "Tree", ""],
                    &[
                        "calculate",
                        "girth",
                        "",
                        "pulldata('trees', 'circumference_cm', 'name', ${tree})",
                    ],
                    &[
                        "calculate",
                        "oaks",
                        "",
                        "count(instance('trees')/root/item[species = 'oak'])",
                    ],
                ],
            ),
            ("settings", &[&["form_id"], &["girth"]]),
        ]),
    );
    std::fs::write(dir.path().join("trees.csv"), TREES).unwrap();
    let twin = dir.path().join("girth_twin.toml");
    let out = fieldkit(&[
        "forms",
        "import",
        book.to_str().unwrap(),
        "--out",
        twin.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let input = answers(dir.path(), &[json!({"tree": "pine2"})]);
    for form in [&book, &twin] {
        let (code, records) = dry_run(form, &input);
        assert_eq!(code, Some(0), "{records:?}");
        assert_eq!(records[0]["values"]["girth"], json!("95"));
        assert_eq!(records[0]["values"]["oaks"], json!("1"));
    }
}

/// Through the store and a bundle: a finalized record of a form with an
/// entities sheet, decrypted with the data manager's key, holds its
/// entity operation; aggregate (given the form's list) takes the bundle
/// and writes the answers as for any form.
#[test]
fn a_finalized_record_carries_its_entity_operation_to_the_data_manager() {
    let e = crate::support::Enumerator::init("somchai");
    let forms = e.dir.path().join("forms");
    std::fs::create_dir_all(&forms).unwrap();
    std::fs::write(forms.join("trees.csv"), TREES).unwrap();
    let form = forms.join("tree_visit.toml");
    std::fs::write(
        &form,
        r#"[settings]
form_id = "tree_visit"
version = "1"

[[survey]]
type = "select_one_from_file trees.csv"
name = "tree"
label = "Tree"

[[survey]]
type = "integer"
name = "circumference"
label = "Circumference (cm)"
save_to = "circumference_cm"

[entities]
list_name = "trees"
entity_id = "${tree}"
"#,
    )
    .unwrap();
    let out = e.fill(
        form.to_str().unwrap(),
        "{\"tree\": \"oak1\", \"circumference\": 312}\n",
        &["--finalize"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    let (bundle, _) = {
        let usb = e.dir.path().join("usb");
        std::fs::create_dir_all(&usb).unwrap();
        let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            crate::support::stderr(&out)
        );
        (
            std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
            usb,
        )
    };
    let bytes = std::fs::read(&bundle).unwrap();
    let entries = fieldkit::bundle::archive::read(&bytes).unwrap();
    let sealed = entries
        .iter()
        .find(|x| x.name.starts_with("records/"))
        .unwrap();
    let key =
        std::fs::read_to_string(crate::support::repo().join("keys/demo/data-manager.key")).unwrap();
    let ids = fieldkit::crypt::parse_identities(&key).unwrap();
    let plain = age::decrypt(&ids[0], sealed.data).unwrap();
    let record: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(
        record["values"]["meta/entity"],
        json!({
            "list": "trees",
            "id": "oak1",
            "action": "update",
            "base_version": "3",
            "properties": {"circumference_cm": "312"}
        })
    );
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let tables = e.dir.path().join("tables");
    let out = fieldkit(&[
        "--forms",
        forms.to_str().unwrap(),
        "aggregate",
        "--identity",
        crate::support::repo()
            .join("keys/demo/data-manager.key")
            .to_str()
            .unwrap(),
        "--out",
        tables.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    let table = std::fs::read_to_string(tables.join("tree_visit.csv")).unwrap();
    assert!(table.contains("oak1") && table.contains("312"), "{table}");
}
