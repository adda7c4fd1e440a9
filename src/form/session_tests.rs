//! Unit tests of the session: the running counts against the caps, and
//! month-year and year date questions.

use super::*;
use crate::form::dates::parse_datetime;

const FORM: &str = r#"
[[survey]]
type = "text"
name = "a"
label = "a"

[[survey]]
type = "integer"
name = "n"
label = "n"

[[survey]]
type = "begin_repeat"
name = "r"
label = "r"

[[survey]]
type = "text"
name = "b"
label = "b"

[[survey]]
type = "calculate"
name = "c"
calculation = "concat(${b}, ${a})"

[[survey]]
type = "begin_repeat"
name = "f"
label = "f"
repeat_count = "${n}"

[[survey]]
type = "text"
name = "d"
label = "d"
default = "concat(${a}, 'x')"

[[survey]]
type = "end_repeat"

[[survey]]
type = "end_repeat"
"#;

/// A session of the form `toml` at the clock `now`.
fn session_at(toml: &str, now: &str) -> Session {
    let form = crate::form::load_str(toml, std::path::Path::new("t.toml"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let env = Env {
        now: parse_datetime(now, 0).expect("clock"),
        device_id: "d".into(),
        username: "u".into(),
        seed: 7,
    };
    Session::new(Arc::new(form), env)
}

/// The running counts against the caps match what the record holds.
fn counted(s: &Session) {
    assert_eq!((s.values, s.bytes), s.root.held());
}

#[test]
fn the_counts_against_the_caps_follow_every_change() {
    let mut s = session_at(FORM, "2026-11-22T09:00:00+07:00");
    let node = |s: &Session, name: &str| s.form().find(name).expect("node");
    let (a, n, r, b) = (node(&s, "a"), node(&s, "n"), node(&s, "r"), node(&s, "b"));
    let at = |path: &Path, node| Pos {
        path: path.clone(),
        node,
    };
    counted(&s);
    s.answer(&at(&vec![], a), "hello").expect("a");
    counted(&s);
    let first = s.add_instance(&[], r).expect("add");
    let second = s.add_instance(&[], r).expect("add");
    counted(&s);
    s.answer(&at(&first, b), "one").expect("b");
    s.answer(&at(&second, b), "two two").expect("b");
    counted(&s);
    s.answer(&at(&vec![], n), "3").expect("n");
    counted(&s);
    assert_eq!(s.instance_count(&second, node(&s, "f")), 3);
    s.answer(&at(&vec![], n), "1").expect("n");
    counted(&s);
    s.remove_instance(&first).expect("remove");
    counted(&s);
    s.answer(&at(&vec![], a), "").expect("a");
    counted(&s);
    s.touch(parse_datetime("2026-11-22T10:00:00+07:00", 0).expect("clock"));
    counted(&s);
}

const DATES: &str = r#"
[[survey]]
type = "date"
name = "arrived"
label = "Month of arrival"
appearance = "month-year"
constraint = ". <= today()"

[[survey]]
type = "date"
name = "born"
label = "Year of birth"
appearance = "year"
constraint = ". >= date('1900-01-01')"

[[survey]]
type = "date"
name = "visit"
label = "Day of the visit"
"#;

fn dated_session() -> (Session, Pos, Pos, Pos) {
    let s = session_at(DATES, "2026-09-15T09:00:00+07:00");
    let at = |name: &str| Pos {
        path: Vec::new(),
        node: s.form().find(name).expect("node"),
    };
    let (a, b, v) = (at("arrived"), at("born"), at("visit"));
    (s, a, b, v)
}

#[test]
fn month_year_and_year_questions_store_the_first_day() {
    let (mut s, arrived, born, visit) = dated_session();
    s.answer(&arrived, "2026-09").expect("month");
    assert_eq!(s.raw_value(&arrived), "2026-09-01");
    s.answer(&born, "1984").expect("year");
    assert_eq!(s.raw_value(&born), "1984-01-01");
    // The stored forms are accepted as typed.
    s.answer(&arrived, "2026-08-01").expect("stored month");
    s.answer(&born, "1984-01-01").expect("stored year");
    // A plain date question is unchanged.
    assert!(s.answer(&visit, "2026-09").is_err());
    s.answer(&visit, "2026-09-15").expect("day");
    // A full date in a month-year question is refused and nothing changes.
    let e = s.answer(&arrived, "2026-09-15").unwrap_err();
    assert_eq!(s.raw_value(&arrived), "2026-08-01");
    assert!(s.explain(&e).contains("type 2026-09"), "{}", s.explain(&e));
    s.set_language(Some("Lao (lo)".into()));
    assert!(s.explain(&e).contains("ພິມ 2026-09"), "{}", s.explain(&e));
    let e = s.answer(&born, "1984-06").unwrap_err();
    assert_eq!(s.raw_value(&born), "1984-01-01");
    assert!(s.explain(&e).contains("1984"));
}

#[test]
fn constraints_and_today_work_on_the_stored_date() {
    let (mut s, arrived, born, _) = dated_session();
    // Today is 2026-09-15: this month is not after today, next month is.
    s.answer(&arrived, "2026-09").expect("month");
    assert_eq!(s.check(&arrived), None);
    s.answer(&arrived, "2026-10").expect("month");
    let v = s.check(&arrived).expect("after today");
    assert_eq!(v.kind, ViolationKind::Constraint);
    s.answer(&born, "1899").expect("year");
    assert_eq!(
        s.check(&born).map(|v| v.kind),
        Some(ViolationKind::Constraint)
    );
    s.answer(&born, "1900").expect("year");
    assert_eq!(s.check(&born), None);
}

#[test]
fn answers_files_and_drafts_keep_month_year_answers_and_refuse_a_day() {
    let (mut s, arrived, born, _) = dated_session();
    let answers = serde_json::json!({"arrived": "2026-07-01", "born": "1984-01-01"});
    let problems = s.load_answers(answers.as_object().expect("object"));
    assert_eq!(problems, Vec::new());
    assert_eq!(s.raw_value(&arrived), "2026-07-01");
    // What the session gives back loads again unchanged (a resumed draft).
    let again = s.answers();
    let (mut t, ..) = dated_session();
    assert_eq!(t.load_answers(&again), Vec::new());
    assert_eq!(t.answers(), again);
    assert_eq!(t.raw_value(&born), "1984-01-01");
    // A stored month-year value whose day is not the 1st is refused.
    let (mut u, arrived, ..) = dated_session();
    let bad = serde_json::json!({"arrived": "2026-07-15"});
    let problems = u.load_answers(bad.as_object().expect("object"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, ViolationKind::Type);
    assert!(problems[0].message.contains("type 2026-07"), "{problems:?}");
    assert_eq!(u.raw_value(&arrived), "");
}

/// Issue 16, point 6: what an answers file gets wrong is said with what
/// to do instead.
#[test]
fn answers_file_problems_say_what_to_do() {
    let mut s = session_at(FORM, "2026-11-22T09:00:00+07:00");
    let answers = serde_json::json!({
        "nmae": "x",
        "a": ["not", "a", "list"],
        "r": [7, {"b": {"x": 1}}],
    });
    let problems = s.load_answers(answers.as_object().expect("object"));
    let said = |name: &str| -> Vec<String> {
        problems
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.message.clone())
            .collect()
    };
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        said("nmae")[0].contains("; check its spelling"),
        "{problems:#?}"
    );
    assert!(said("a")[0].contains("; give one value"), "{problems:#?}");
    assert!(
        said("r")[0].contains("; give each entry as an object"),
        "{problems:#?}"
    );
    assert!(said("b")[0].contains("; give one value"), "{problems:#?}");
}

const DRAWS: &str = r#"
[[survey]]
type = "text"
name = "a"
label = "a"

[[survey]]
type = "calculate"
name = "r"
calculation = "random()"

[[survey]]
type = "calculate"
name = "u"
calculation = "concat('id-', uuid())"

[[survey]]
type = "calculate"
name = "first_a"
calculation = "once(${a})"

[[survey]]
type = "begin_repeat"
name = "m"
label = "m"

[[survey]]
type = "calculate"
name = "mr"
calculation = "random()"

[[survey]]
type = "end_repeat"
"#;

/// random() and uuid() are drawn once per question and record instance,
/// as `once()` makes them in ODK; `once()` keeps its first value; a
/// resumed draft keeps what was drawn, whatever the new session's seed.
#[test]
fn random_uuid_and_once_keep_their_first_value_through_answers_and_resume() {
    let form = crate::form::load_str(DRAWS, std::path::Path::new("t.toml"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let form = Arc::new(form);
    let env = |seed| Env {
        now: parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("clock"),
        device_id: "d".into(),
        username: "u".into(),
        seed,
    };
    let mut s = Session::new(Arc::clone(&form), env(7));
    let value = |s: &Session, name: &str| {
        s.record()
            .get(name)
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .unwrap_or_default()
    };
    let r = value(&s, "r");
    let x: f64 = r.parse().expect("a number");
    assert!((0.0..1.0).contains(&x), "{r}");
    let u = value(&s, "u");
    let id = u.strip_prefix("id-").expect("the prefix");
    assert_eq!((id.len(), &id[14..15]), (36, "4"), "{u}");
    assert_eq!(value(&s, "first_a"), "");
    let a = Pos {
        path: vec![],
        node: form.find("a").expect("a"),
    };
    s.answer(&a, "first").expect("a");
    s.answer(&a, "second").expect("a");
    assert_eq!(value(&s, "first_a"), "first");
    assert_eq!((value(&s, "r"), value(&s, "u")), (r.clone(), u.clone()));
    // Two repeat instances draw apart.
    let m = form.find("m").expect("m");
    s.add_instance(&[], m).expect("add");
    s.add_instance(&[], m).expect("add");
    let draws: Vec<String> = s.record()["m"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["mr"].to_string())
        .collect();
    assert_ne!(draws[0], draws[1]);
    // Another seed draws another value; the draft's answers bring the
    // first session's back.
    let other = Session::new(Arc::clone(&form), env(8));
    assert_ne!(value(&other, "r"), r);
    let mut resumed = Session::new(Arc::clone(&form), env(8));
    let problems = resumed.load_answers(&s.answers());
    assert!(problems.is_empty(), "{problems:?}");
    for name in ["r", "u", "first_a"] {
        assert_eq!(value(&resumed, name), value(&s, name), "{name}");
    }
    assert_eq!(resumed.record()["m"], s.record()["m"]);
}
