//! The session engine on real forms: relevance and skipping, navigation,
//! repeats, constraints, required answers, choice filters, calculations,
//! and the record it produces.

use fieldkit::form::{Pos, Screen, Session, ViolationKind};
use serde_json::json;

use crate::support::{session, shipped_session};

const HOUSEHOLD: &str = r#"
[settings]
form_id = "household"
version = "1"
default_language = "English (en)"
instance_name = "concat(${head_name}, ' (', ${hh_size}, ')')"

[[survey]]
type = "today"
name = "today"

[[survey]]
type = "text"
name = "head_name"
label = { "English (en)" = "Name of the head", "Lao (lo)" = "ຊື່ຫົວໜ້າຄອບຄົວ" }

[[survey]]
type = "calculate"
name = "double_total"
calculation = "${total_age} * 2"

[[survey]]
type = "select_one yn"
name = "displaced"
label = "Displaced?"
required = "yes"

[[survey]]
type = "begin_group"
name = "displacement"
label = "Displacement"
relevant = "${displaced} = 'yes'"
appearance = "field-list"

[[survey]]
type = "date"
name = "displaced_on"
label = "Date of displacement"
constraint = ". <= today()"
constraint_message = { "English (en)" = "Cannot be after ${today}", "Lao (lo)" = "ບໍ່ສາມາດຫຼັງ ${today}" }
required = "yes"

[[survey]]
type = "select_multiple reason"
name = "reasons"
label = "Reasons"
constraint = "count-selected(.) <= 2"

[[survey]]
type = "text"
name = "reasons_other"
label = "Other reason"
relevant = "selected(${reasons}, 'other')"
required = "yes"

[[survey]]
type = "end_group"

[[survey]]
type = "integer"
name = "hh_size"
label = "People in the household"
required = "yes"
constraint = ". >= 1"

[[survey]]
type = "begin_repeat"
name = "member"
label = "Member"

[[survey]]
type = "integer"
name = "age"
label = "Age of member ${member_no}"
required = "yes"

[[survey]]
type = "calculate"
name = "member_no"
calculation = "position(..)"

[[survey]]
type = "select_one sex"
name = "sex"
label = "Sex"

[[survey]]
type = "select_one yn"
name = "pregnant"
label = "Pregnant?"
relevant = "${sex} = 'f' and ${age} >= 12 and ${age} <= 55"
required = "${age} >= 15"

[[survey]]
type = "end_repeat"

[[survey]]
type = "calculate"
name = "total_age"
calculation = "sum(${age})"

[[survey]]
type = "calculate"
name = "members_listed"
calculation = "count(${member})"

[[survey]]
type = "note"
name = "mismatch"
label = "Listed ${members_listed} of ${hh_size}"
relevant = "${members_listed} != ${hh_size}"

[[survey]]
type = "calculate"
name = "first_age"
calculation = "indexed-repeat(${age}, ${member}, 1)"

[[survey]]
type = "calculate"
name = "displaced_label"
calculation = "jr:choice-name(${displaced}, '${displaced}')"

[[choices]]
list_name = "yn"
name = "yes"
label = { "English (en)" = "Yes", "Lao (lo)" = "ແມ່ນ" }

[[choices]]
list_name = "yn"
name = "no"
label = { "English (en)" = "No", "Lao (lo)" = "ບໍ່" }

[[choices]]
list_name = "sex"
name = "f"
label = "Female"

[[choices]]
list_name = "sex"
name = "m"
label = "Male"

[[choices]]
list_name = "reason"
name = "flood"
label = "Flood"

[[choices]]
list_name = "reason"
name = "dam_collapse"
label = "Dam collapse"

[[choices]]
list_name = "reason"
name = "other"
label = "Other"
"#;

fn top(s: &Session, name: &str) -> Pos {
    Pos {
        path: vec![],
        node: s
            .form()
            .find(name)
            .unwrap_or_else(|| panic!("no field {name}")),
    }
}

fn in_member(s: &Session, i: usize, name: &str) -> Pos {
    let member = s.form().find("member").unwrap();
    Pos {
        path: vec![(member, i)],
        node: s.form().find(name).unwrap(),
    }
}

fn names(s: &Session) -> Vec<String> {
    s.screens()
        .iter()
        .map(|sc| match sc {
            Screen::Question(p) => s.describe(p),
            Screen::FieldList(p) => format!("[{}]", s.describe(p)),
            Screen::AddRepeat { repeat, .. } => format!("+{}", s.form().node(*repeat).name),
        })
        .collect()
}

#[test]
fn relevance_skips_questions_and_groups() {
    let mut s = session(HOUSEHOLD);
    assert_eq!(
        names(&s),
        ["head_name", "displaced", "hh_size", "+member", "mismatch"]
    );
    s.answer(&top(&s, "displaced"), "yes").unwrap();
    assert_eq!(
        names(&s),
        [
            "head_name",
            "displaced",
            "[displacement]",
            "hh_size",
            "+member",
            "mismatch"
        ]
    );
    let page = s.screens()[2].clone();
    let on_page: Vec<String> = s
        .questions_on(&page)
        .iter()
        .map(|p| s.describe(p))
        .collect();
    assert_eq!(on_page, ["displaced_on", "reasons"]);
    s.answer(&top(&s, "reasons"), "flood other").unwrap();
    let on_page: Vec<String> = s
        .questions_on(&page)
        .iter()
        .map(|p| s.describe(p))
        .collect();
    assert_eq!(on_page, ["displaced_on", "reasons", "reasons_other"]);
}

#[test]
fn next_and_previous_follow_relevant_screens() {
    let mut s = session(HOUSEHOLD);
    let first = s.screens()[0].clone();
    let second = s.step(&first, true).unwrap();
    assert_eq!(second, Screen::Question(top(&s, "displaced")));
    assert_eq!(s.step(&second, false), Some(first.clone()));
    assert_eq!(s.step(&first, false), None);
    s.answer(&top(&s, "displaced"), "no").unwrap();
    assert_eq!(
        s.step(&second, true),
        Some(Screen::Question(top(&s, "hh_size")))
    );
}

#[test]
fn irrelevant_answers_are_dropped_from_the_record_and_from_expressions() {
    let mut s = session(HOUSEHOLD);
    s.answer(&top(&s, "displaced"), "yes").unwrap();
    s.answer(&top(&s, "displaced_on"), "2026-10-01").unwrap();
    assert_eq!(s.record()["displaced_on"], json!("2026-10-01"));
    s.answer(&top(&s, "displaced"), "no").unwrap();
    assert!(!s.record().contains_key("displaced_on"));
    assert_eq!(s.value(&top(&s, "displaced_on")), "");
    // The answer is kept in case the enumerator changes back.
    s.answer(&top(&s, "displaced"), "yes").unwrap();
    assert_eq!(s.record()["displaced_on"], json!("2026-10-01"));
}

#[test]
fn repeats_relative_references_sum_and_count() {
    let mut s = session(HOUSEHOLD);
    let member = s.form().find("member").unwrap();
    let first = s.add_instance(&[], member).unwrap();
    assert_eq!(first, vec![(member, 0)]);
    s.add_instance(&[], member).unwrap();
    s.answer(&in_member(&s, 0, "age"), "34").unwrap();
    s.answer(&in_member(&s, 0, "sex"), "f").unwrap();
    s.answer(&in_member(&s, 1, "age"), "8").unwrap();
    s.answer(&in_member(&s, 1, "sex"), "f").unwrap();
    // ${age} inside the repeat is the same instance's age.
    assert!(s.is_relevant(&in_member(&s, 0, "pregnant")));
    assert!(!s.is_relevant(&in_member(&s, 1, "pregnant")));
    assert_eq!(s.label(&in_member(&s, 1, "age")), "Age of member 2");
    assert_eq!(s.value(&top(&s, "total_age")), "42");
    assert_eq!(s.value(&top(&s, "double_total")), "84");
    assert_eq!(s.value(&top(&s, "members_listed")), "2");
    assert_eq!(s.value(&top(&s, "first_age")), "34");
    s.answer(&top(&s, "hh_size"), "2").unwrap();
    assert!(!s.is_relevant(&top(&s, "mismatch")));
    s.remove_instance(&[(member, 0)]).unwrap();
    assert_eq!(s.value(&top(&s, "total_age")), "8");
    assert!(s.is_relevant(&top(&s, "mismatch")));
    assert_eq!(s.label(&top(&s, "mismatch")), "Listed 1 of 2");
    let record = s.record();
    assert_eq!(
        record["member"],
        json!([{"age": 8, "member_no": "1", "sex": "f"}])
    );
}

#[test]
fn required_and_constraints_are_listed_with_messages() {
    let mut s = session(HOUSEHOLD);
    let kinds: Vec<(String, ViolationKind)> = s
        .violations()
        .into_iter()
        .map(|v| (v.path, v.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("displaced".into(), ViolationKind::Required),
            ("hh_size".into(), ViolationKind::Required)
        ]
    );
    s.answer(&top(&s, "displaced"), "yes").unwrap();
    s.answer(&top(&s, "displaced_on"), "2027-01-01").unwrap();
    s.answer(&top(&s, "reasons"), "flood dam_collapse other")
        .unwrap();
    s.answer(&top(&s, "hh_size"), "0").unwrap();
    let v = s.violations();
    let found: Vec<(&str, ViolationKind)> = v.iter().map(|v| (v.path.as_str(), v.kind)).collect();
    assert_eq!(
        found,
        [
            ("displaced_on", ViolationKind::Constraint),
            ("reasons", ViolationKind::Constraint),
            ("reasons_other", ViolationKind::Required),
            ("hh_size", ViolationKind::Constraint),
        ]
    );
    assert_eq!(v[0].message, "Cannot be after 2026-11-22");
    s.set_language(Some("Lao (lo)".into()));
    assert_eq!(s.violations()[0].message, "ບໍ່ສາມາດຫຼັງ 2026-11-22");
    assert_eq!(
        s.check(&top(&s, "hh_size")).unwrap().message,
        "ຄຳຕອບນີ້ບໍ່ຖືກຕ້ອງຕາມເງື່ອນໄຂຂອງແບບຟອມ. (. >= 1)"
    );
    s.set_language(None);
    assert_eq!(
        s.check(&top(&s, "hh_size")).unwrap().message,
        "This answer is not allowed here. (. >= 1)"
    );
}

#[test]
fn required_can_be_an_expression() {
    let mut s = session(HOUSEHOLD);
    let member = s.form().find("member").unwrap();
    s.add_instance(&[], member).unwrap();
    s.answer(&in_member(&s, 0, "sex"), "f").unwrap();
    s.answer(&in_member(&s, 0, "age"), "13").unwrap();
    assert!(s.check(&in_member(&s, 0, "pregnant")).is_none());
    s.answer(&in_member(&s, 0, "age"), "20").unwrap();
    assert_eq!(
        s.check(&in_member(&s, 0, "pregnant")).unwrap().kind,
        ViolationKind::Required
    );
    assert_eq!(
        s.check(&in_member(&s, 0, "pregnant")).unwrap().path,
        "member[1]/pregnant"
    );
}

#[test]
fn type_errors_are_refused_and_nothing_changes() {
    let mut s = session(HOUSEHOLD);
    let hh = top(&s, "hh_size");
    s.answer(&hh, "4").unwrap();
    assert!(s.answer(&hh, "four").is_err());
    assert!(s.answer(&top(&s, "displaced"), "maybe").is_err());
    assert!(s.answer(&top(&s, "total_age"), "3").is_err());
    assert_eq!(s.value(&hh), "4");
    s.answer(&hh, "").unwrap();
    assert_eq!(s.value(&hh), "");
}

#[test]
fn metadata_defaults_and_instance_name() {
    let mut s = session(HOUSEHOLD);
    assert_eq!(s.value(&top(&s, "today")), "2026-11-22");
    s.answer(&top(&s, "head_name"), "Somchai").unwrap();
    s.answer(&top(&s, "hh_size"), "5").unwrap();
    assert_eq!(s.instance_name(), "Somchai (5)");
    s.answer(&top(&s, "displaced"), "yes").unwrap();
    assert_eq!(s.value(&top(&s, "displaced_label")), "Yes");
    s.set_language(Some("Lao (lo)".into()));
    s.recompute();
    assert_eq!(s.value(&top(&s, "displaced_label")), "ແມ່ນ");
    assert_eq!(s.label(&top(&s, "head_name")), "ຊື່ຫົວໜ້າຄອບຄົວ");
}

#[test]
fn repeat_count_and_nested_repeats() {
    let toml = r#"
[[survey]]
type = "integer"
name = "n_hh"
label = "Households"

[[survey]]
type = "begin_repeat"
name = "hh"
label = "Household"
repeat_count = "${n_hh}"

[[survey]]
type = "integer"
name = "size"
label = "Size"
default = "1"

[[survey]]
type = "begin_repeat"
name = "person"
label = "Person"

[[survey]]
type = "integer"
name = "p_age"
label = "Age"

[[survey]]
type = "calculate"
name = "older_than_size"
calculation = "${p_age} > ${size}"

[[survey]]
type = "end_repeat"

[[survey]]
type = "calculate"
name = "hh_total_age"
calculation = "sum(${p_age})"

[[survey]]
type = "end_repeat"

[[survey]]
type = "calculate"
name = "all_ages"
calculation = "sum(${p_age})"
"#;
    let mut s = session(toml);
    let hh = s.form().find("hh").unwrap();
    let person = s.form().find("person").unwrap();
    let n = Pos {
        path: vec![],
        node: s.form().find("n_hh").unwrap(),
    };
    s.answer(&n, "2").unwrap();
    assert_eq!(s.instance_count(&[], hh), 2);
    assert!(
        s.add_instance(&[], hh).is_err(),
        "repeat_count decides the number"
    );
    let size0 = Pos {
        path: vec![(hh, 0)],
        node: s.form().find("size").unwrap(),
    };
    assert_eq!(s.value(&size0), "1", "default applied to new instances");
    for (h, ages) in [(0, ["30", "3"]), (1, ["50", "70"])] {
        for (i, age) in ages.iter().enumerate() {
            s.add_instance(&[(hh, h)], person).unwrap();
            let p = Pos {
                path: vec![(hh, h), (person, i)],
                node: s.form().find("p_age").unwrap(),
            };
            s.answer(&p, age).unwrap();
        }
    }
    let total = |s: &Session, h| {
        s.value(&Pos {
            path: vec![(hh, h)],
            node: s.form().find("hh_total_age").unwrap(),
        })
        .to_string()
    };
    assert_eq!(total(&s, 0), "33");
    assert_eq!(total(&s, 1), "120");
    assert_eq!(
        s.value(&Pos {
            path: vec![],
            node: s.form().find("all_ages").unwrap()
        }),
        "153"
    );
    let older = Pos {
        path: vec![(hh, 0), (person, 1)],
        node: s.form().find("older_than_size").unwrap(),
    };
    assert_eq!(s.value(&older), "true");
    s.answer(&n, "1").unwrap();
    assert_eq!(
        s.value(&Pos {
            path: vec![],
            node: s.form().find("all_ages").unwrap()
        }),
        "33"
    );
}

#[test]
fn choice_filters_cascade_through_the_lao_admin_lists() {
    let toml = r#"
[[survey]]
type = "select_one_from_file lao_adm1.csv"
name = "province"
label = "Province"

[[survey]]
type = "select_one_from_file lao_adm2.csv"
name = "district"
label = "District"
choice_filter = "adm1 = ${province}"

[[survey]]
type = "select_one_from_file lao_villages.csv"
name = "village"
label = "Village"
choice_filter = "adm2 = ${district}"

[[survey]]
type = "select_one_from_file lao_adm2.csv"
name = "district_general"
label = "District (general filter)"
choice_filter = "starts-with(name, ${province}) and name != 'LA0101'"
"#;
    let mut s = session(toml);
    let p = |s: &Session, n: &str| Pos {
        path: vec![],
        node: s.form().find(n).unwrap(),
    };
    assert_eq!(s.choices(&p(&s, "province")).len(), 18);
    assert!(s.choices(&p(&s, "district")).is_empty());
    s.answer(&p(&s, "province"), "LA01").unwrap();
    let districts = s.choices(&p(&s, "district"));
    assert_eq!(districts.len(), 9, "Vientiane Capital has 9 districts");
    assert_eq!(s.choices(&p(&s, "district_general")).len(), 8);
    s.answer(&p(&s, "district"), "LA0101").unwrap();
    let villages = s.choices(&p(&s, "village"));
    assert!(!villages.is_empty());
    let form = s.form().clone();
    let list = form.list_of(p(&s, "village").node).unwrap();
    assert!(
        villages
            .iter()
            .all(|&i| list.choices[i].columns[list.column("adm2").unwrap()] == "LA0101")
    );
    // A village outside the filter is a violation, not silently kept.
    let other = list
        .choices
        .iter()
        .find(|c| c.columns[list.column("adm2").unwrap()] != "LA0101")
        .unwrap();
    s.answer(&p(&s, "village"), &other.name).unwrap();
    assert_eq!(
        s.check(&p(&s, "village")).unwrap().kind,
        ViolationKind::Constraint
    );
    // Type-to-filter inside the filtered villages.
    let search = list.search();
    let first_label = &list.choices[villages[0]].label.0[0].1;
    if !first_label.is_empty() {
        let hits = search.filter(&villages, &first_label.to_uppercase());
        assert!(hits.contains(&villages[0]));
    }
}

#[test]
fn answers_from_json_load_with_type_and_unknown_problems() {
    let mut s = session(HOUSEHOLD);
    let problems = s.load_answers(
        json!({
            "head_name": "Noy",
            "displaced": "no",
            "hh_size": "three",
            "nonsense": 1,
            "age": 4,
            "total_age": 9,
            "member": [{"age": 40, "sex": "m"}, {"age": "x"}]
        })
        .as_object()
        .unwrap(),
    );
    let found: Vec<(&str, ViolationKind)> =
        problems.iter().map(|v| (v.path.as_str(), v.kind)).collect();
    assert!(
        found.contains(&("hh_size", ViolationKind::Type)),
        "{found:?}"
    );
    assert!(found.contains(&("nonsense", ViolationKind::Unknown)));
    assert!(found.contains(&("age", ViolationKind::Unknown)));
    assert!(found.contains(&("total_age", ViolationKind::Unknown)));
    assert!(
        found.contains(&("member[2]/age", ViolationKind::Type)),
        "{found:?}"
    );
    assert_eq!(s.record()["member"][0]["age"], json!(40));
}

#[test]
fn shipped_forms_load_and_start() {
    for name in [
        "dtm_baseline.toml",
        "dtm_site_assessment.toml",
        "dtm_flow_monitoring.toml",
        "migrant_health_poe.toml",
    ] {
        if !crate::support::shipped(name).exists() {
            panic!("shipped form {name} is missing");
        }
        let s = shipped_session(name);
        assert!(!s.screens().is_empty(), "{name} shows no screen");
        assert!(
            s.form().languages.contains(&"Lao (lo)".to_string()),
            "{name} has no Lao"
        );
        assert!(
            !s.violations().is_empty(),
            "{name}: an empty record should not be complete"
        );
    }
}

#[test]
fn absurd_dates_and_numbers_give_nan_not_a_panic() {
    let s = session(
        "[[survey]]\ntype = \"calculate\"\nname = \"d\"\ncalculation = \"format-date(date(99999999999999999999999999999), '%Y') + date(-99999999999) + decimal-date-time('9999-12-31T23:59:59Z') + substr('ບ້ານ', 99999999999, -5)\"\n",
    );
    let d = Pos {
        path: vec![],
        node: s.form().find("d").unwrap(),
    };
    assert_eq!(s.value(&d), "NaN");
}

#[test]
fn a_field_list_with_nothing_relevant_is_no_page() {
    let s = session(
        "[[survey]]\ntype = \"integer\"\nname = \"n\"\nlabel = \"N\"\n\n[[survey]]\ntype = \"begin_group\"\nname = \"g\"\nappearance = \"field-list\"\n\n[[survey]]\ntype = \"integer\"\nname = \"m\"\nlabel = \"M\"\nrelevant = \"${n} > 1\"\n\n[[survey]]\ntype = \"end_group\"\n",
    );
    assert_eq!(names(&s), ["n"]);
}
