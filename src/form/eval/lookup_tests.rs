//! Lookups over a real form file and a real 10,000-row list beside it:
//! `pulldata()` and `instance()` in calculations, defaults, relevance,
//! constraints and choice filters, counted and summed; the index built
//! once; lookup lists without name or label; missing lists and columns
//! refused at load.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::form::dates::parse_datetime;
use crate::form::expr::parse;
use crate::form::{Env, Form, Pos, Session};

/// 10,000 sites: S00000..S09999, in 100 districts (D00..D99), the last
/// round's total equal to the site's number, every tenth one closed.
fn sites_csv() -> String {
    let mut csv = String::from("name,label,adm2,last_total,status,__version\n");
    for i in 0..10_000 {
        let status = if i % 10 == 0 { "closed" } else { "open" };
        csv.push_str(&format!(
            "S{i:05},Site {i},D{:02},{i},{status},{}\n",
            i % 100,
            i % 7 + 1
        ));
    }
    csv
}

const FORM: &str = r#"
[settings]
form_id = "lookups"

[[survey]]
type = "csv-external"
name = "districts"

[[survey]]
type = "select_one_from_file sites.csv"
name = "site"
label = "Site"

[[survey]]
type = "calculate"
name = "by_pulldata"
calculation = "pulldata('sites', 'last_total', 'name', ${site})"

[[survey]]
type = "calculate"
name = "by_path"
calculation = "instance('sites')/root/item[name = ${site}]/last_total"

[[survey]]
type = "calculate"
name = "doubled"
calculation = "pulldata('sites', 'last_total', 'name', ${site}) * 2"

[[survey]]
type = "calculate"
name = "district"
calculation = "instance('sites')/root/item[name = ${site}]/adm2"

[[survey]]
type = "calculate"
name = "in_district"
calculation = "count(instance('sites')/root/item[adm2 = ${district}])"

[[survey]]
type = "calculate"
name = "district_total"
calculation = "sum(instance('sites')/root/item[adm2 = ${district}]/last_total)"

[[survey]]
type = "calculate"
name = "big_ones"
calculation = "count(instance('sites')/root/item[last_total > 9990 and status = 'open'])"

[[survey]]
type = "calculate"
name = "district_name"
calculation = "pulldata('districts', 'title', 'code', ${district})"

[[survey]]
type = "integer"
name = "total"
label = "Individuals"
default = "pulldata('sites', 'last_total', 'name', 'S00042')"
constraint = ". <= 2 * instance('sites')/root/item[name = ${site}]/last_total"

[[survey]]
type = "text"
name = "why_closed"
label = "Why was it closed?"
relevant = "instance('sites')/root/item[name = current()/../site]/status = 'closed'"

[[survey]]
type = "select_one_from_file sites.csv"
name = "neighbour"
label = "Neighbouring site"
choice_filter = "adm2 = instance('sites')/root/item[name = ${site}]/adm2"
"#;

/// The form written beside its lists in a fresh folder, loaded from disk.
fn loaded(form: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Form, String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("lookups.toml"), form).expect("write form");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write list");
    }
    let form = crate::form::load(&dir.path().join("lookups.toml")).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    });
    (dir, form)
}

fn lookups() -> Arc<Form> {
    let districts = "code,title\nD42,Forty-two\nD42,Shadowed\nD07,Seven\n";
    let (_dir, form) = loaded(
        FORM,
        &[("sites.csv", &sites_csv()), ("districts.csv", districts)],
    );
    Arc::new(form.unwrap_or_else(|e| panic!("{e}")))
}

fn session(form: &Arc<Form>, answers: Value) -> Session {
    let env = Env {
        now: parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("clock"),
        device_id: "d".into(),
        username: "u".into(),
        seed: 7,
    };
    let mut s = Session::new(Arc::clone(form), env);
    let answers: Map<String, Value> = serde_json::from_value(answers).expect("object");
    let refused = s.load_answers(&answers);
    assert!(refused.is_empty(), "{refused:?}");
    s
}

fn value(s: &Session, name: &str) -> String {
    let node = s.form().find(name).expect("field");
    s.raw_value(&Pos {
        path: Vec::new(),
        node,
    })
    .to_string()
}

#[test]
fn lookups_in_calculations_over_ten_thousand_rows() {
    let form = lookups();
    let s = session(&form, json!({"site": "S04242"}));
    assert_eq!(value(&s, "by_pulldata"), "4242");
    assert_eq!(value(&s, "by_path"), "4242");
    // Values are strings, as in ODK; arithmetic converts them.
    assert_eq!(value(&s, "doubled"), "8484");
    assert_eq!(value(&s, "district"), "D42");
    assert_eq!(value(&s, "in_district"), "100");
    let sum: u64 = (0..100).map(|k| 42 + 100 * k).sum();
    assert_eq!(value(&s, "district_total"), sum.to_string());
    // A filter that is no equality is evaluated item by item.
    assert_eq!(value(&s, "big_ones"), "9");
    // A lookup list with neither name nor label, a key twice: the first.
    assert_eq!(value(&s, "district_name"), "Forty-two");
    // A dynamic default is worked out when the record starts (as in
    // ODK: before ${site} is answered), so it looks a fixed key up.
    assert_eq!(value(&s, "total"), "42");
}

#[test]
fn a_key_not_in_the_list_gives_empty_values() {
    let form = lookups();
    let s = session(&form, json!({"site": "S00001", "total": 3}));
    assert_eq!(value(&s, "by_pulldata"), "1");
    // The lookup of a site no list has: empty, and NaN in arithmetic.
    let mut s = session(&form, json!({}));
    s.recompute();
    assert_eq!(value(&s, "by_pulldata"), "");
    assert_eq!(value(&s, "in_district"), "0");
}

#[test]
fn lookups_in_constraints_relevance_and_choice_filters() {
    let form = lookups();
    // 2 × last round's 4242 is the most the constraint lets through.
    let s = session(&form, json!({"site": "S04242", "total": 8484}));
    assert!(s.violations().is_empty(), "{:?}", s.violations());
    let s = session(&form, json!({"site": "S04242", "total": 8485}));
    let v = s.violations();
    assert!(v.iter().any(|v| v.name == "total"), "{v:?}");
    // Relevant only for a closed site (every tenth).
    let why = form.find("why_closed").expect("field");
    let at = |s: &Session| {
        s.is_relevant(&Pos {
            path: Vec::new(),
            node: why,
        })
    };
    assert!(at(&session(&form, json!({"site": "S04240"}))));
    assert!(!at(&session(&form, json!({"site": "S04241"}))));
    // The neighbours offered are the 100 sites of the same district.
    let s = session(&form, json!({"site": "S04242"}));
    let neighbour = form.find("neighbour").expect("field");
    let offered = s.choices(&Pos {
        path: Vec::new(),
        node: neighbour,
    });
    assert_eq!(offered.len(), 100);
    let list = form.list_of(neighbour).expect("list");
    assert!(offered.iter().all(|&i| list.choices[i].columns[0] == "D42"));
}

#[test]
fn the_index_of_a_column_is_built_once_and_shared() {
    let form = lookups();
    let sites = form.instance("sites").expect("instance");
    let first = sites.by_key("adm2").expect("column");
    let s = session(&form, json!({"site": "S00007"}));
    assert_eq!(value(&s, "in_district"), "100");
    let again = sites.by_key("adm2").expect("column");
    assert!(Arc::ptr_eq(&first, &again));
    assert!(sites.by_key("no_such_column").is_none());
}

#[test]
fn instance_paths_print_as_they_parse() {
    for src in [
        "instance('sites')/root/item[name = ${site}]/last_total",
        "count(instance('sites')/root/item[adm2 = ${d} and status != 'closed'])",
        "instance('sites')/root/item/label",
        "instance('sites')/root/item[name = current()/../site]/adm2",
        "pulldata('sites', 'last_total', 'name', ${site}) + 1",
    ] {
        let e = parse(src).unwrap_or_else(|err| panic!("{src}: {err}"));
        assert_eq!(parse(&e.to_string()), Ok(e), "{src}");
    }
    for bad in [
        "instance('sites')",
        "instance(sites)/root/item",
        "instance('sites')/data/item",
        "instance('sites')/root/item[name = 1",
        "instance('sites')/root/item/a/b",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_missing_list_is_refused_naming_every_place_looked() {
    let (dir, form) = loaded(FORM, &[("sites.csv", &sites_csv())]);
    let err = form.expect_err("districts.csv is missing");
    let shown = dir.path().display().to_string();
    assert!(err.contains("districts.csv"), "{err}");
    for place in [
        shown.clone(),
        format!("{shown}/lists"),
        format!("{shown}/entities"),
    ] {
        assert!(err.contains(&place), "{place} in {err}");
    }
    // A lookup of a list nothing declares looks for its CSV too.
    let (_dir, form) = loaded(
        "[[survey]]\ntype = \"calculate\"\nname = \"c\"\ncalculation = \"pulldata('nowhere', 'a', 'b', 'c')\"\n",
        &[],
    );
    assert!(form.expect_err("missing").contains("nowhere.csv"));
}

#[test]
fn lists_are_found_in_the_data_folders_given() {
    let form = "[[survey]]\ntype = \"csv-external\"\nname = \"districts\"\n\n[[survey]]\ntype = \"calculate\"\nname = \"c\"\ncalculation = \"pulldata('districts', 'title', 'code', 'D07')\"\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let forms = dir.path().join("forms");
    let pack = dir.path().join("pack");
    std::fs::create_dir_all(&forms).expect("forms");
    std::fs::create_dir_all(pack.join("entities")).expect("pack");
    std::fs::write(forms.join("f.toml"), form).expect("form");
    std::fs::write(
        pack.join("entities/districts.csv"),
        "code,title\nD07,Seven\n",
    )
    .expect("csv");
    assert!(crate::form::load(&forms.join("f.toml")).is_err());
    let loaded = crate::form::load_in(&forms.join("f.toml"), &[pack]).expect("loads");
    let s = session(&Arc::new(loaded), json!({}));
    assert_eq!(value(&s, "c"), "Seven");
}

#[test]
fn a_column_the_list_lacks_is_refused_at_load() {
    let csv = sites_csv();
    for (calc, why) in [
        (
            "pulldata('sites', 'population', 'name', ${site})",
            "the property 'population'",
        ),
        (
            "pulldata('sites', 'label', 'code', ${site})",
            "the key column 'code'",
        ),
        (
            "instance('sites')/root/item[name = ${site}]/population",
            "no column 'population'",
        ),
        (
            "instance('sites')/root/item[code = ${site}]/label",
            "no column 'code'",
        ),
        (
            "instance('sites')/root/item[name = ${nobody}]/label",
            "${nobody}",
        ),
        (
            "count(instance('sites')/root/item[count(instance('sites')/root/item[adm2 != ${site}]) > 1])",
            "inside a filter already tried on every item",
        ),
    ] {
        let form = format!(
            "[[survey]]\ntype = \"select_one_from_file sites.csv\"\nname = \"site\"\nlabel = \"S\"\n\n[[survey]]\ntype = \"calculate\"\nname = \"c\"\ncalculation = \"{calc}\"\n"
        );
        let (_dir, loaded) = loaded(&form, &[("sites.csv", &csv)]);
        let err = loaded.expect_err(calc);
        assert!(err.contains(why), "{calc}: {err}");
    }
}

#[test]
fn a_choice_list_of_the_form_is_an_instance_too() {
    let form = r#"
[[survey]]
type = "select_one yes_no"
name = "q"
label = "Q"

[[survey]]
type = "calculate"
name = "c"
calculation = "instance('yes_no')/root/item[name = ${q}]/label"

[[choices]]
list_name = "yes_no"
name = "y"
label = "Yes"

[[choices]]
list_name = "yes_no"
name = "n"
label = "No"
"#;
    let (_dir, loaded) = loaded(form, &[]);
    let form = Arc::new(loaded.unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(value(&session(&form, json!({"q": "n"})), "c"), "No");
}

#[test]
fn where_the_lookups_are_read_they_are_ordered_after_their_fields() {
    // The calculation reads ${site} inside a filter: worked out after it.
    let form = lookups();
    let site = form.find("site").expect("site");
    let by_path = form.find("by_path").expect("by_path");
    let at = |n| form.order.iter().position(|&o| o == n).expect("ordered");
    assert!(at(site) < at(by_path));
    assert!(Path::new(&form.source).ends_with("lookups.toml"));
}

/// A form whose list `l` has the given values in its column `k`, with a
/// text question `q` and calculations reading the list through the index
/// and item by item (`and true()` keeps the filter off the index).
fn indexed_and_scanned(values: &[u8]) -> Arc<Form> {
    let mut toml = String::from(
        "[[survey]]\ntype = \"text\"\nname = \"q\"\nlabel = \"Q\"\n\n\
         [[survey]]\ntype = \"calculate\"\nname = \"indexed\"\n\
         calculation = \"join(' ', instance('l')/root/item[k = ${q}]/name)\"\n\n\
         [[survey]]\ntype = \"calculate\"\nname = \"scanned\"\n\
         calculation = \"join(' ', instance('l')/root/item[k = ${q} and true()]/name)\"\n\n\
         [[survey]]\ntype = \"calculate\"\nname = \"first\"\n\
         calculation = \"pulldata('l', 'name', 'k', ${q})\"\n\n\
         [[survey]]\ntype = \"select_one l\"\nname = \"s\"\nlabel = \"S\"\n",
    );
    for (i, v) in values.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[choices]]\nlist_name = \"l\"\nname = \"c{i}\"\nlabel = \"C\"\nk = \"{v}\"\n"
        ));
    }
    let form =
        crate::form::load_str(&toml, Path::new("p.toml")).unwrap_or_else(|e| panic!("{e:?}"));
    Arc::new(form)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// The index finds what a scan of every item finds, in list order,
    /// and pulldata() the first of them.
    #[test]
    fn the_index_agrees_with_a_scan_of_every_item(
        values in proptest::collection::vec(0u8..6, 1..40),
        key in 0u8..8,
    ) {
        let form = indexed_and_scanned(&values);
        let s = session(&form, json!({"q": key.to_string()}));
        let want: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v == key)
            .map(|(i, _)| format!("c{i}"))
            .collect();
        proptest::prop_assert_eq!(value(&s, "indexed"), want.join(" "));
        proptest::prop_assert_eq!(value(&s, "scanned"), want.join(" "));
        proptest::prop_assert_eq!(value(&s, "first"), want.first().cloned().unwrap_or_default());
    }
}

#[test]
fn a_choice_filter_reads_instances_only_through_an_index() {
    let csv = sites_csv();
    let form = |filter: &str| {
        format!(
            "[[survey]]\ntype = \"text\"\nname = \"d\"\nlabel = \"D\"\n\n[[survey]]\ntype = \"select_one_from_file sites.csv\"\nname = \"site\"\nlabel = \"S\"\nchoice_filter = \"{filter}\"\n"
        )
    };
    let (_dir, ok) = loaded(
        &form("adm2 = instance('sites')/root/item[name = ${d}]/adm2"),
        &[("sites.csv", &csv)],
    );
    ok.unwrap_or_else(|e| panic!("{e}"));
    let (_dir, refused) = loaded(
        &form("count(instance('sites')/root/item[last_total > ${d}]) > 0"),
        &[("sites.csv", &csv)],
    );
    assert!(
        refused
            .expect_err("scans")
            .contains("already tried on every item or choice")
    );
}
