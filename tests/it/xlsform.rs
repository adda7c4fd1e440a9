//! XLSForm workbooks: every workbook of the corpus in ../shared (skipped,
//! saying so, where that folder is absent) loads or is refused as its
//! SOURCES.md status says; the copied fixtures; `forms import` round trips
//! to a TOML form that loads to the same model; a workbook written from
//! each shipped TOML form answers like its twin under `fill --dry-run`;
//! and the loader, fuzzed, never panics.

use std::path::{Path, PathBuf};

use fieldkit::form::{self, Form, FormError, xlsform};
use proptest::prelude::*;
use serde_json::Value;

use crate::support::{fieldkit, repo, skip, stderr};

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/xlsform")
}

fn corpus() -> PathBuf {
    repo().join("../shared/corpus/xlsform")
}

/// What a workbook must do: load, or be refused with a message holding
/// this text (the unsupported feature, or what is broken).
#[derive(Debug, Clone, Copy)]
enum Expect {
    Loads,
    Refused(&'static str),
}
use Expect::{Loads, Refused};

/// Every workbook of the corpus. Broken on purpose (SOURCES.md): refused.
/// Valid: loads, or names what fieldkit does not run (OpenStreetMap tags,
/// loops, random(), CSVs the corpus does not include) or the form's own
/// mistake that fieldkit's stricter checks catch.
const CORPUS: &[(&str, Expect)] = &[
    ("cleaningtools/kobo_tool.xlsx", Loads),
    ("docs/recensement_etablissements_scolaires_24.xlsx", Loads),
    (
        "fmtm/building_natural_risks_survey.xlsx",
        Refused("features.csv"),
    ),
    // INVALID as published.
    (
        "fmtm/simple_building_survey_wildfires.xlsx",
        Refused("form_category"),
    ),
    ("onadata/GeoLocationForm.xlsx", Loads),
    ("onadata/double_repeat.xlsx", Loads),
    ("onadata/good_eats_multilang.xlsx", Loads),
    // Broken on purpose: a repeat named like the survey root.
    ("onadata/group_names_must_be_unique.xlsx", Refused("root")),
    ("onadata/hxl_example.xlsx", Loads),
    ("onadata/nested_repeats.xlsx", Loads),
    ("onadata/new_cascading_select.xlsx", Loads),
    ("onadata/subdistrict_profiling_tool.xlsx", Loads),
    // Broken on purpose: selects without a choices sheet.
    (
        "onadata/transportation.no_choices.xlsx",
        Refused("no choice list"),
    ),
    ("onadata/tutorial_arabic_labels.xlsx", Loads),
    ("onadata/tutorial_encrypted.xlsx", Loads),
    // Its photos load now; its CSVs are not in the corpus (and it has
    // smart quotes in expressions and a ':' in its version: issue 18's
    // other parts).
    (
        "pyxform/UCL_Biomass_Plot_Form.xlsx",
        Refused("Put UCL_regions.csv beside the form"),
    ),
    ("pyxform/attribute_columns_test.xlsx", Loads),
    // Broken on purpose: prose in a calculation.
    ("pyxform/bad_calc.xlsx", Refused("does not parse")),
    ("pyxform/case_insensitivity.xlsx", Loads),
    ("pyxform/choice_filter_test.xlsx", Loads),
    // Broken on purpose: not a zip.
    ("pyxform/corrupt.xlsx", Refused("not an .xlsx workbook")),
    // Broken on purpose: two label columns.
    ("pyxform/duplicate_columns.xlsx", Refused("appears twice")),
    // Broken on purpose: an empty sheet.
    ("pyxform/empty.xlsx", Refused("no 'type' column")),
    ("pyxform/empty_sheets.xlsx", Loads),
    ("pyxform/extra_sheet_names.xlsx", Loads),
    ("pyxform/field-list.xlsx", Loads),
    ("pyxform/flat_xlsform_test.xlsx", Loads),
    ("pyxform/group.xlsx", Loads),
    ("pyxform/loop.xlsx", Loads),
    // `pastel=yes` compares with a column the list does not have: no
    // choice matches, as in ODK (a warning says so).
    ("pyxform/or_other.xlsx", Loads),
    ("pyxform/select_one_external.xlsx", Loads),
    ("pyxform/specify_other.xlsx", Loads),
    ("pyxform/survey_no_name.xlsx", Loads),
    ("pyxform/text_and_integer.xlsx", Loads),
    // A label column in a choice filter: the choice's English label.
    ("pyxform/xl_date_ambiguous.xlsx", Loads),
    ("pyxform/xlsform_spec_test.xlsx", Loads),
    ("pyxform/yes_or_no_question.xlsx", Loads),
    ("rxform/dynamic_default.xlsx", Loads),
    ("rxform/entities_create_update.xlsx", Refused("trees.csv")),
    ("rxform/widgets.xlsx", Loads),
];

fn check(path: &Path, expect: Expect) -> Result<Option<Form>, String> {
    let shown = path.display();
    match (form::load(path), expect) {
        (Ok(f), Loads) => Ok(Some(f)),
        (Err(errors), Refused(why)) => {
            if !errors.iter().any(|e| e.message.contains(why)) {
                return Err(format!(
                    "{shown}: refused, but not for '{why}': {errors:#?}"
                ));
            }
            located(&errors).map_err(|e| format!("{shown}: {e}"))?;
            Ok(None)
        }
        (Ok(_), Refused(why)) => Err(format!("{shown}: loads, but must be refused ({why})")),
        (Err(errors), Loads) => Err(format!("{shown}: must load: {errors:#?}")),
    }
}

/// Every error names the workbook, and a sheet row unless it is about
/// the file as a whole.
fn located(errors: &[FormError]) -> Result<(), String> {
    for e in errors {
        if !e.path.ends_with(".xlsx") {
            return Err(format!("no workbook path: {e}"));
        }
        if e.sheet != "file" && e.sheet != "settings" && e.row.is_none() {
            return Err(format!("no row: {e}"));
        }
    }
    Ok(())
}

#[test]
fn every_corpus_workbook_loads_or_is_refused_as_its_status_says() {
    let test = "every_corpus_workbook_loads_or_is_refused_as_its_status_says";
    let dir = corpus();
    if !dir.is_dir() {
        skip(test, &format!("{} is absent", dir.display()));
        return;
    }
    let mut found = Vec::new();
    for sub in std::fs::read_dir(&dir).unwrap().flatten() {
        if sub.path().is_dir() {
            for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if name.ends_with(".xlsx") {
                    found.push(format!("{}/{name}", sub.file_name().to_string_lossy()));
                }
            }
        }
    }
    found.sort();
    let listed: Vec<String> = CORPUS.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(found, listed, "the corpus and this test's table differ");
    let mut failures = Vec::new();
    let mut loaded = 0;
    for (name, expect) in CORPUS {
        match check(&dir.join(name), *expect) {
            Ok(Some(_)) => loaded += 1,
            Ok(None) => {}
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(
        loaded,
        CORPUS.iter().filter(|(_, e)| matches!(e, Loads)).count()
    );
}

/// The fixtures copied into the repository, with the same expectations.
fn fixture_expectations() -> Vec<(PathBuf, Expect)> {
    CORPUS
        .iter()
        .filter_map(|(name, expect)| {
            let file = fixtures().join(name.replace('/', "__"));
            file.exists().then_some((file, *expect))
        })
        .collect()
}

#[test]
fn fixtures_load_or_are_refused_with_their_location() {
    let all = fixture_expectations();
    assert_eq!(all.len(), 14, "every fixture is in the table");
    for (file, expect) in all {
        if let Err(e) = check(&file, expect) {
            panic!("{e}");
        }
    }
    // Where exactly: the duplicate column, the bad calculation's cell.
    let errors = form::load(&fixtures().join("pyxform__duplicate_columns.xlsx")).unwrap_err();
    assert_eq!(
        (errors[0].sheet, errors[0].row, errors[0].column.as_deref()),
        ("survey", Some(1), Some("label"))
    );
    assert!(errors[0].message.contains("columns D and E"), "{errors:?}");
    let errors = form::load(&fixtures().join("pyxform__bad_calc.xlsx")).unwrap_err();
    assert_eq!(
        (errors[0].sheet, errors[0].row, errors[0].column.as_deref()),
        ("survey", Some(2), Some("calculation"))
    );
}

#[test]
fn legacy_spellings_or_other_and_unused_columns_load_with_warnings() {
    // `select one from sexes or specify other`: the list gains 'other'
    // and a text question for it, shown when 'other' is chosen.
    let f = form::load(&fixtures().join("pyxform__specify_other.xlsx")).unwrap();
    assert!(f.lists["sexes"].find("other").is_some());
    let other = f.find("sex_other").expect("the other question");
    assert!(f.nodes[other].relevant.is_some());
    // Upper-case sheets and headers, an external list filtered by its own
    // column, the OSM sheet and the osm question left out; the ENTITIES
    // sheet's old `dataset` column read as list_name, its bare-name label
    // empty as in ODK (said in a warning).
    let f = form::load(&fixtures().join("pyxform__case_insensitivity.xlsx")).unwrap();
    assert_eq!(f.id, "YesNo");
    assert_eq!(f.entity.as_ref().map(|e| e.list.as_str()), Some("e1"));
    let said: Vec<String> = f.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        said.iter().any(|w| w.contains("entities row 2:label"))
            && said.iter().any(|w| w.contains("OpenStreetMap")),
        "{said:#?}"
    );
    // The spec test: media columns, barcode, server settings, metadata.
    let f = form::load(&fixtures().join("pyxform__xlsform_spec_test.xlsx")).unwrap();
    let said: Vec<String> = f.warnings.iter().map(|w| w.to_string()).collect();
    for expected in [
        "public_key",
        "barcode",
        "media",
        "phonenumber",
        "form_id 'Spec test'",
    ] {
        assert!(
            said.iter().any(|w| w.contains(expected)),
            "no warning about {expected}: {said:#?}"
        );
    }
    // Every warning is located in the workbook.
    located(&f.warnings).unwrap();
    // or_other does not make up a list that is missing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("survey").unwrap();
    for (c, v) in ["type", "name", "label"].iter().enumerate() {
        ws.write_string(0, c as u16, *v).unwrap();
    }
    for (c, v) in ["select_one colours_typo or_other", "colour", "Colour?"]
        .iter()
        .enumerate()
    {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    std::fs::write(&path, book.save_to_buffer().unwrap()).unwrap();
    let errors = form::load(&path).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("no choice list 'colours_typo'") && e.row == Some(2)),
        "{errors:#?}"
    );
    // A lone sheet is the survey.
    let f = form::load(&fixtures().join("pyxform__survey_no_name.xlsx")).unwrap();
    assert_eq!(f.question_count(), 1);
}

/// A workbook of one survey sheet with these rows (the first: headers).
fn survey_only(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("survey").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[test]
fn a_range_is_a_number_within_its_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("range.xlsx");
    std::fs::write(
        &path,
        survey_only(&[
            &["type", "name", "label", "parameters", "constraint"],
            &[
                "range",
                "pain",
                "Pain, 0 to 5",
                "start=0 end=5 step=1",
                ". != 4",
            ],
        ]),
    )
    .unwrap();
    let answers = dir.path().join("a.jsonl");
    std::fs::write(
        &answers,
        "{\"pain\": 3}\n{\"pain\": 7}\n{\"pain\": 4}\n{\"pain\": 2.5}\n",
    )
    .unwrap();
    let (code, lines) = dry_run(&path, &answers);
    assert_eq!(code, Some(1));
    let kinds: Vec<String> = lines
        .iter()
        .map(|l| {
            l["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["kind"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    // In range; above it; refused by the form's own constraint; not whole.
    assert_eq!(
        kinds,
        ["", "constraint", "constraint", "type"],
        "{lines:#?}"
    );
}

/// The parts of a model that say what the form asks and how.
fn model(f: &Form) -> String {
    let lists: Vec<String> = f
        .lists
        .values()
        .map(|l| format!("{} {:?} {:?}", l.name, l.choices, l.columns))
        .collect();
    format!(
        "{} {} {:?} {:?} {:?} {:?} {:?}\n{:#?}\n{:?} {:?}\n{lists:#?}",
        f.id,
        f.version,
        f.title,
        f.default_language,
        f.languages,
        f.needs_review,
        f.instance_name,
        f.nodes,
        f.top,
        f.order,
    )
}

/// `forms import` through the binary, then the TOML loaded.
fn import(workbook: &Path, dir: &Path) -> Form {
    let out = dir.join(format!(
        "{}.toml",
        workbook.file_stem().unwrap().to_string_lossy()
    ));
    let run = fieldkit(&[
        "forms",
        "import",
        workbook.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    form::load(&out).unwrap_or_else(|e| panic!("{}: {e:#?}", out.display()))
}

#[test]
fn import_writes_a_toml_form_that_loads_to_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut workbooks: Vec<PathBuf> = fixture_expectations()
        .into_iter()
        .filter(|(_, e)| matches!(e, Loads))
        .map(|(f, _)| f)
        .collect();
    if corpus().is_dir() {
        workbooks.extend(
            CORPUS
                .iter()
                .filter(|(_, e)| matches!(e, Loads))
                .map(|(n, _)| corpus().join(n)),
        );
    }
    for (i, workbook) in workbooks.iter().enumerate() {
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir_all(&sub).unwrap();
        let from_xlsx = form::load(workbook).unwrap();
        let from_toml = import(workbook, &sub);
        assert_eq!(
            model(&from_xlsx),
            model(&from_toml),
            "{}",
            workbook.display()
        );
    }
    // Refused: nothing written, exit 1, the problems on stderr.
    let out = dir.path().join("bad.toml");
    let run = fieldkit(&[
        "forms",
        "import",
        fixtures().join("pyxform__bad_calc.xlsx").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("survey row 2:calculation"),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists());
    // An existing file is never overwritten.
    std::fs::write(&out, "mine").unwrap();
    let run = fieldkit(&[
        "forms",
        "import",
        fixtures()
            .join("pyxform__specify_other.xlsx")
            .to_str()
            .unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
}

// ---- workbooks written from the shipped TOML forms ----

/// Writes a TOML form as the XLSForm workbook a designer would keep:
/// survey, choices and settings sheets, a `column::Language` header per
/// translation.
fn workbook_of(toml_text: &str) -> Vec<u8> {
    let doc: toml::Table = toml::from_str(toml_text).unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let empty = Vec::new();
    for sheet in ["survey", "choices", "settings", "entities"] {
        let rows: Vec<toml::Table> = match doc.get(sheet) {
            Some(toml::Value::Array(a)) => {
                a.iter().map(|v| v.as_table().unwrap().clone()).collect()
            }
            Some(toml::Value::Table(t)) => vec![t.clone()],
            _ => empty.clone(),
        };
        // Headers in first-seen order.
        let mut headers: Vec<String> = Vec::new();
        let cells = |row: &toml::Table| -> Vec<(String, String)> {
            row.iter()
                .flat_map(|(k, v)| match v {
                    toml::Value::Table(langs) => langs
                        .iter()
                        .map(|(l, t)| (format!("{k}::{l}"), t.as_str().unwrap().to_string()))
                        .collect::<Vec<_>>(),
                    toml::Value::Array(items) => vec![(
                        k.clone(),
                        items
                            .iter()
                            .map(|i| i.as_str().unwrap().to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    )],
                    toml::Value::String(s) => vec![(k.clone(), s.clone())],
                    other => vec![(k.clone(), other.to_string())],
                })
                .collect()
        };
        for row in &rows {
            for (h, _) in cells(row) {
                if !headers.contains(&h) {
                    headers.push(h);
                }
            }
        }
        let ws = book.add_worksheet();
        ws.set_name(sheet).unwrap();
        for (c, h) in headers.iter().enumerate() {
            ws.write_string(0, c as u16, h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (h, v) in cells(row) {
                let c = headers.iter().position(|x| *x == h).unwrap();
                ws.write_string(r as u32 + 1, c as u16, &v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

pub(crate) fn dry_run(form: &Path, answers: &Path) -> (Option<i32>, Vec<Value>) {
    let out = fieldkit(&[
        "fill",
        form.to_str().unwrap(),
        "--answers",
        answers.to_str().unwrap(),
        "--dry-run",
    ]);
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code(), lines)
}

#[test]
fn workbooks_of_the_shipped_forms_answer_like_their_toml_twins() {
    let dir = tempfile::tempdir().unwrap();
    let forms = repo().join("forms");
    for csv in std::fs::read_dir(&forms).unwrap().flatten() {
        if csv.path().extension().is_some_and(|x| x == "csv") {
            std::fs::copy(csv.path(), dir.path().join(csv.file_name())).unwrap();
        }
    }
    let bases = crate::shipped::complete_answers();
    assert_eq!(bases.len(), 4);
    for (name, base) in bases {
        let toml_path = forms.join(name);
        let text = std::fs::read_to_string(&toml_path).unwrap();
        let xlsx = dir.path().join(name.replace(".toml", ".xlsx"));
        std::fs::write(&xlsx, workbook_of(&text)).unwrap();
        // The complete record, one with a wrong answer, one empty.
        let mut wrong = base.clone();
        let first = base.as_object().unwrap().keys().next().unwrap().clone();
        wrong[&first] = Value::from("not an answer 🙃");
        let answers = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&answers, format!("{base}\n{wrong}\n{{}}\n")).unwrap();
        // A new entity's id is a new UUID each time: set aside.
        let without_new_ids = |(code, mut lines): (Option<i32>, Vec<Value>)| {
            for line in &mut lines {
                if let Some(op) = line["values"].get_mut("meta/entity")
                    && op["action"] == "create"
                {
                    op["id"] = Value::from("(new)");
                }
            }
            (code, lines)
        };
        let (toml_code, toml_lines) = without_new_ids(dry_run(&toml_path, &answers));
        let (xlsx_code, xlsx_lines) = without_new_ids(dry_run(&xlsx, &answers));
        assert_eq!(toml_lines.len(), 3, "{name}");
        assert_eq!(
            toml_lines[0]["valid"],
            Value::Bool(true),
            "{name}: {:#}",
            toml_lines[0]
        );
        assert_eq!((toml_code, &toml_lines), (xlsx_code, &xlsx_lines), "{name}");
        // And the same model, field by field.
        let a = form::load(&toml_path).unwrap();
        let b = form::load(&xlsx).unwrap();
        assert!(b.warnings.is_empty(), "{name}: {:#?}", b.warnings);
        assert_eq!(model(&a), model(&b), "{name}");
    }
}

// ---- fuzz: never a panic ----

fn no_caught_panic(bytes: &[u8]) -> Result<(), TestCaseError> {
    // convert() turns a panic inside calamine into a "damaged" error; the
    // fuzz wants to know it never happens at all.
    if let Err(errors) = xlsform::convert(bytes, "fuzz.xlsx") {
        prop_assert!(
            !errors.iter().any(|e| e.message.contains("is damaged")),
            "a panic was caught: {errors:?}"
        );
    }
    Ok(())
}

fn seed() -> Vec<u8> {
    std::fs::read(fixtures().join("pyxform__specify_other.xlsx")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn flipped_truncated_and_spliced_workbooks_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        junk in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = seed();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() / 2));
        bytes.extend(junk);
        no_caught_panic(&bytes)?;
    }

    /// Real workbooks holding arbitrary cells where the loader looks:
    /// types, names, headers, expressions, settings.
    #[test]
    fn arbitrary_cells_never_panic(
        headers in prop::collection::vec(
            prop::sample::select(vec![
                "type", "name", "label", "label::Lao (lo)", "label:English", "hint", "required",
                "relevant", "constraint", "calculation", "choice_filter", "appearance",
                "repeat_count", "media::image", "bind:relevant", "TYPE", "", "list_name",
                "İ::x", "\u{212A}\u{212A}::y", "label::default", "hint:ລາວ",
            ]),
            1..8,
        ),
        cells in prop::collection::vec(
            prop::collection::vec(
                prop::string::string_regex(
                    "(select_one|select one from|begin group|end repeat|integer|note|or_other|\
                     \\$\\{[a-z]{0,3}\\}|[a-z_ ()'=.,:-]{0,6}|ລາວ|\\d{1,3}){0,3}"
                ).unwrap(),
                0..8,
            ),
            0..12,
        ),
        settings in prop::collection::vec("[a-zA-Z ()_]{0,10}", 0..4),
    ) {
        let mut book = rust_xlsxwriter::Workbook::new();
        for sheet in ["survey", "choices"] {
            let ws = book.add_worksheet();
            ws.set_name(sheet).unwrap();
            for (c, h) in headers.iter().enumerate() {
                ws.write_string(0, c as u16, *h).unwrap();
            }
            for (r, row) in cells.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    ws.write_string(r as u32 + 1, c as u16, v).unwrap();
                }
            }
        }
        let ws = book.add_worksheet();
        ws.set_name("settings").unwrap();
        for (c, v) in settings.iter().enumerate() {
            ws.write_string(0, c as u16, ["form_id", "version", "needs_review", "name"][c % 4]).unwrap();
            ws.write_string(1, c as u16, v).unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        no_caught_panic(&bytes)?;
        // And the whole load, TOML checks included.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.xlsx");
        std::fs::write(&path, &bytes).unwrap();
        let _ = form::load(&path);
    }
}

/// A workbook form all the way: filled and finalized, exported, verified
/// and aggregated; the bundle carries the TOML form it stands for.
#[test]
fn a_workbook_form_goes_from_fill_to_the_data_managers_table() {
    let e = crate::support::Enumerator::init("enum-07");
    let workbook = fixtures().join("pyxform__specify_other.xlsx");
    let out = e.fill(
        workbook.to_str().unwrap(),
        "{\"sex\": \"other\", \"sex_other\": \"prefers to self-describe\"}\n",
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (bundle, table) = export_and_aggregate(&e, "pyxform__specify_other");
    // The form inside (its id from the file name, as the workbook has no
    // settings) is TOML, and loads.
    let bytes = std::fs::read(&bundle).unwrap();
    let entries = fieldkit::bundle::archive::read(&bytes).unwrap();
    let carried = entries
        .iter()
        .find(|x| x.name.starts_with("forms/pyxform__specify_other@"))
        .expect("the form is in the bundle");
    let text = std::str::from_utf8(carried.data).unwrap();
    assert!(text.contains("[[survey]]"), "{text}");
    form::load_str(text, Path::new("specify_other.toml")).unwrap();
    let mut rows = csv::Reader::from_path(table).unwrap();
    let headers = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let at = |h: &str| headers.iter().position(|x| x == h).unwrap();
    assert_eq!(&row[at("sex")], "other");
    assert_eq!(&row[at("sex_other")], "prefers to self-describe");
}

/// Exports the enumerator's finalized records and aggregates the bundle
/// as the data manager: the bundle's path and the CSV table of `form_id`.
pub(crate) fn export_and_aggregate(
    e: &crate::support::Enumerator,
    form_id: &str,
) -> (PathBuf, PathBuf) {
    let usb = e.dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bundle = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let tables = e.dir.path().join("tables");
    let out = fieldkit(&[
        "aggregate",
        "--identity",
        repo().join("keys/demo/data-manager.key").to_str().unwrap(),
        "--out",
        tables.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (bundle, tables.join(format!("{form_id}.csv")))
}

const ARRIVALS: &str = r#"
[settings]
form_id = "arrivals"

[[survey]]
type = "date"
name = "arrived"
label = "Month of arrival"
appearance = "month-year"

[[survey]]
type = "date"
name = "born"
label = "Year of birth"
appearance = "year"
"#;

/// Issue 15, point 5: a workbook's `month-year` and `year` appearances
/// survive import and check; `fill` stores `2026-09` as `2026-09-01` and
/// `1984` as `1984-01-01` (and takes the stored form back), refuses a full
/// date saying what to type, and the data manager's table shows the dates.
#[test]
fn month_year_and_year_questions_go_from_fill_to_the_table_as_first_days() {
    let e = crate::support::Enumerator::init("enum-07");
    let workbook = e.dir.path().join("arrivals.xlsx");
    std::fs::write(&workbook, workbook_of(ARRIVALS)).unwrap();
    let check = fieldkit(&["forms", "check", workbook.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(!stderr(&check).contains("appearance"), "{}", stderr(&check));
    let imported = import(&workbook, e.dir.path());
    let arrived = imported.find("arrived").unwrap();
    assert!(imported.node(arrived).has_appearance("month-year"));
    let born = imported.find("born").unwrap();
    assert!(imported.node(born).has_appearance("year"));
    // The workbook's form holds the TOML it was turned into, and its hash.
    let loaded = form::load(&workbook).unwrap();
    assert!(loaded.text().contains("appearance = \"month-year\""));
    assert_eq!(
        loaded.sha256(),
        fieldkit::bundle::sha256_hex(loaded.text().as_bytes())
    );
    // A full date is refused with what to type, in the chosen language.
    let answers = e.dir.path().join("day.json");
    std::fs::write(
        &answers,
        "{\"arrived\": \"2026-09-15\", \"born\": \"1984\"}\n",
    )
    .unwrap();
    let (code, lines) = dry_run(&workbook, &answers);
    assert_eq!(code, Some(1), "{lines:?}");
    let message = lines[0]["violations"][0]["message"].as_str().unwrap();
    assert!(message.contains("type 2026-09"), "{message}");
    // The stored form round trips through --answers.
    let out = e.fill(
        workbook.to_str().unwrap(),
        "{\"arrived\": \"2026-09\", \"born\": \"1984\"}\n{\"arrived\": \"2026-08-01\", \"born\": \"1984-01-01\"}\n",
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, table) = export_and_aggregate(&e, "arrivals");
    let mut rows = csv::Reader::from_path(table).unwrap();
    let headers = rows.headers().unwrap().clone();
    let at = |h: &str| headers.iter().position(|x| x == h).unwrap();
    let mut got: Vec<(String, String)> = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[at("arrived")].to_string(), r[at("born")].to_string())
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("2026-08-01".to_string(), "1984-01-01".to_string()),
            ("2026-09-01".to_string(), "1984-01-01".to_string())
        ]
    );
}

#[test]
fn import_refuses_what_it_cannot_do_and_writes_one_line_comments() {
    let dir = tempfile::tempdir().unwrap();
    let import = |args: &[&str]| fieldkit(&[&["forms", "import"], args].concat());
    // Nothing there, a folder, a missing output folder: exit 2, nothing written.
    let missing = dir.path().join("missing.xlsx");
    let run = import(&[missing.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let folder = dir.path().join("folder.xlsx");
    std::fs::create_dir(&folder).unwrap();
    let run = import(&[folder.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let nowhere = dir.path().join("nowhere/x.toml");
    let workbook = fixtures().join("pyxform__specify_other.xlsx");
    let run = import(&[
        workbook.to_str().unwrap(),
        "--out",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("create it first"), "{}", stderr(&run));
    assert!(!nowhere.exists());

    // A title typed over two lines in its cell: the file still loads.
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("survey").unwrap();
    for (c, v) in ["type", "name", "label", "image"].iter().enumerate() {
        ws.write_string(0, c as u16, *v).unwrap();
    }
    for (c, v) in ["text", "village", "Village", "v.png"].iter().enumerate() {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    let ws = book.add_worksheet();
    ws.set_name("settings").unwrap();
    ws.write_string(0, 0, "form_title").unwrap();
    ws.write_string(1, 0, "Village\r\nprofile").unwrap();
    let path = dir.path().join("two_lines.xlsx");
    std::fs::write(&path, book.save_to_buffer().unwrap()).unwrap();
    let out = dir.path().join("two_lines.toml");
    let run = import(&[path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("# Village  profile (two_lines 1)"),
        "{text}"
    );
    // The left-out media column is named with the workbook's file name only.
    assert!(
        text.contains("# left out: two_lines.xlsx:survey row 1:image:"),
        "{text}"
    );
    form::load(&out).unwrap();
}

#[test]
fn the_same_form_twice_in_a_folder_is_said_not_silently_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let workbook = dir.path().join("household.xlsx");
    std::fs::copy(fixtures().join("pyxform__specify_other.xlsx"), &workbook).unwrap();
    let run = fieldkit(&[
        "forms",
        "import",
        workbook.to_str().unwrap(),
        "--out",
        dir.path().join("household.toml").to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let run = fieldkit(&["forms", "list", "--forms", dir.path().to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&run.stdout).lines().count(), 1);
    assert!(
        stderr(&run).contains("same form_id 'household'") && stderr(&run).contains("keep one"),
        "{}",
        stderr(&run)
    );
    // A forms folder that is not there says so, and where it came from.
    let run = fieldkit(&["forms", "list", "--forms", "/nonexistent/forms"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("FIELDKIT_FORMS"), "{}", stderr(&run));
}

#[test]
fn media_questions_load_from_a_workbook_with_body_accept_and_a_signature() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("media.xlsx");
    std::fs::write(
        &path,
        survey_only(&[
            &[
                "type",
                "name",
                "label",
                "appearance",
                "body::accept",
                "required",
            ],
            &["photo", "site", "Site", "", "", "yes"],
            &["audio", "voice", "Voice", "", "", ""],
            &["video", "walk", "Walk", "", "", ""],
            &["file", "doc", "Document", "", ".pdf", ""],
            &["image", "sig", "Signature", "signature", "", ""],
        ]),
    )
    .unwrap();
    let f = form::load(&path).unwrap_or_else(|e| panic!("{e:#?}"));
    let media = |n: &str| f.nodes[f.find(n).unwrap()].kind.media();
    use fieldkit::form::model::Media;
    assert_eq!(media("site"), Some(Media::Image));
    assert_eq!(media("voice"), Some(Media::Audio));
    assert_eq!(media("walk"), Some(Media::Video));
    assert_eq!(media("doc"), Some(Media::File));
    assert_eq!(media("sig"), Some(Media::Signature));
    assert_eq!(f.nodes[f.find("doc").unwrap()].accept, vec!["pdf"]);
    assert!(
        f.warnings
            .iter()
            .any(|w| w.row == Some(6) && w.message.contains("cannot be drawn")),
        "{:#?}",
        f.warnings
    );
}
