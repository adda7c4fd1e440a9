//! The supervisor's screen driven by keys, and drawn to a test terminal:
//! moving, opening a record, approving, returning (a note or comment
//! needed), comments on questions (Lao typed), undo, quitting, F2; and
//! the verdicts file read against the same records.

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Action, App, Effect, Overlay, Page};
use crate::bundle::receipt::Decision;
use crate::record::{REVIEW_FORMAT, ReviewCheck, ReviewView};
use crate::supervise::verdicts::{self, VerdictError};
use crate::supervise::{Bundle, Entry, Opened, Seen};
use crate::tui::words::Lang;

const FORM: &str = r#"
[settings]
form_id = "t"
version = "1"
default_language = "English (en)"

[[survey]]
type = "integer"
name = "hh_total"
label = { "English (en)" = "Households at the site", "Lao (lo)" = "ຄົວເຮືອນ" }
review = "yes"

[[survey]]
type = "text"
name = "phone"
label = { "English (en)" = "Key informant's phone" }

[[survey]]
type = "select_one yn"
name = "water"
label = { "English (en)" = "Safe water?" }
review = "yes"

[[survey]]
type = "begin_repeat"
name = "members"
label = { "English (en)" = "Members" }
review = "yes"

[[survey]]
type = "integer"
name = "age"
label = { "English (en)" = "Age" }

[[survey]]
type = "end_repeat"

[[choices]]
list_name = "yn"
name = "yes"
label = { "English (en)" = "Yes", "Lao (lo)" = "ແມ່ນ" }

[[choices]]
list_name = "yn"
name = "no"
label = { "English (en)" = "No" }
"#;

fn view(id: &str, version: u32) -> ReviewView {
    let values = serde_json::json!({
        "hh_total": 12,
        "water": "yes",
        "members": [{"age": 34}, {"age": 7}],
    });
    ReviewView {
        format: REVIEW_FORMAT.into(),
        record_id: id.into(),
        version,
        supersedes: None,
        form_id: "t".into(),
        form_version: "1".into(),
        form_sha256: String::new(),
        enumerator_id: "enum-03".into(),
        device_id: "dev".into(),
        started: "2026-11-22T08:40:00+07:00".into(),
        finalized_at: "2026-11-22T09:00:00+07:00".into(),
        values: values.as_object().cloned().unwrap_or_default(),
        checks: vec![ReviewCheck {
            field: "members[2]/age".into(),
            kind: "confirmed".into(),
            message: "A child of 7 heads the household?".into(),
        }],
    }
}

fn id(n: usize) -> String {
    format!("0190f3a2-1b2c-7def-8123-{n:012x}")
}

/// Two bundles: the first with `n` records (review views), the second
/// with one record without a view.
fn opened(n: usize) -> Opened {
    let form = crate::form::load_str(FORM, std::path::Path::new("t.toml")).unwrap();
    let bundle = |seq: u64| Bundle {
        file: format!("b{seq}.zip"),
        bundle_id: format!("enum-03-{seq:06}-abcdefabcdef"),
        enumerator_id: "enum-03".into(),
        device_id: "dev".into(),
        sequence: seq,
        manifest_sha256: "00".repeat(32),
        records: 0,
    };
    let entry = |b: usize, i: usize, seen: Seen| Entry {
        bundle: b,
        record_id: id(i),
        version: 1,
        supersedes: None,
        form_id: "t".into(),
        form_version: "1".into(),
        finalized_at: "2026-11-22T09:00:00+07:00".into(),
        form: Some(0),
        seen,
    };
    let mut entries: Vec<Entry> = (0..n)
        .map(|i| entry(0, i, Seen::View(Box::new(view(&id(i), 1)))))
        .collect();
    entries.push(entry(1, n, Seen::NoView));
    Opened {
        bundles: vec![bundle(1), bundle(2)],
        failed: Vec::new(),
        entries,
        forms: vec![Arc::new(form)],
    }
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn press(app: &mut App, code: KeyCode) -> Option<Effect> {
    app.update(key(code))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| super::view::render(app, f)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_list_shows_every_record_and_moves() {
    let opened = opened(3);
    let mut app = App::new(&opened, Lang::En);
    let shown = screen(&app, 80, 24);
    assert!(
        shown.contains("2 bundle(s) · 4 record(s) · 0 verdict(s)"),
        "{shown}"
    );
    assert!(shown.contains("enum-03 #1"), "{shown}");
    assert!(shown.contains("enum-03 #2"), "{shown}");
    assert!(shown.contains("11-22 08:40-09:00"), "{shown}");
    assert!(shown.contains("1 ⚠"), "{shown}");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected, 3, "stops at the last");
    press(&mut app, KeyCode::Home);
    assert_eq!(app.selected, 0);
    press(&mut app, KeyCode::End);
    assert_eq!(app.selected, 3);
}

#[test]
fn a_record_shows_its_labelled_answers_and_checks() {
    let opened = opened(2);
    let mut app = App::new(&opened, Lang::En);
    press(&mut app, KeyCode::Enter);
    let Page::Record(r) = &app.page else {
        panic!("not opened")
    };
    let fields: Vec<&str> = r.rows.iter().map(|r| r.answer.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "hh_total",
            "water",
            "members[1]/age",
            "members[2]/age",
            "members[2]/age"
        ]
    );
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("Households at the site"), "{shown}");
    assert!(shown.contains("Yes (yes)"), "the choice's label: {shown}");
    assert!(shown.contains("A child of 7"), "the check: {shown}");
    assert!(
        shown.contains("Age (members[2])"),
        "the repeat instance: {shown}"
    );
    assert!(!shown.contains("phone"), "{shown}");
    // Lao: the form's Lao label.
    press(&mut app, KeyCode::F(2));
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("ຄົວເຮືອນ"), "{shown}");
    assert!(shown.contains("ແມ່ນ (yes)"), "{shown}");
}

#[test]
fn approve_return_comment_and_undo() {
    let opened = opened(2);
    let mut app = App::new(&opened, Lang::En);
    // Approve the first from the list.
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(app.pending[0].decision, Some(Decision::Approved));
    // Return the second: a note is needed, or a comment.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(app.overlay, Some(Overlay::ReturnNote { .. })),
        "still asking"
    );
    assert_eq!(app.pending[1].decision, None);
    assert!(screen(&app, 80, 24).contains("needs a note or a comment"));
    press(&mut app, KeyCode::Esc);
    // A comment in Lao on the second question.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('c'));
    typed(&mut app, "ກວດຄືນ");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.pending[1].comment("water"), Some("ກວດຄືນ"));
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.pending[1].decision, Some(Decision::Returned));
    assert_eq!(app.verdicts(), 2);
    // Approving it again instead counts it once.
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.verdicts(), 2);
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("Verdict: returned"), "{shown}");
    assert!(shown.contains("✎ comment: ກວດຄືນ"), "{shown}");
    // Undo keeps the comment, drops the decision.
    press(&mut app, KeyCode::Char('u'));
    assert_eq!(app.pending[1].decision, None);
    assert_eq!(app.verdicts(), 1);
    assert!(screen(&app, 80, 24).contains("1 verdict(s)"));
    assert_eq!(app.pending[1].comments.len(), 1);
    // An empty comment removes it.
    press(&mut app, KeyCode::Char('c'));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    press(&mut app, KeyCode::Enter);
    assert!(app.pending[1].comments.is_empty());
    // Next and previous records from a record's page.
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.current(), 2);
    let shown = screen(&app, 80, 24);
    assert!(
        shown.contains("no review view (laptop had no supervisor key)"),
        "{shown}"
    );
    press(&mut app, KeyCode::Char('p'));
    assert_eq!(app.current(), 1);
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.page, Page::List));
    assert_eq!(app.selected, 1);
}

#[test]
fn quitting_asks_to_write_once_something_changed() {
    let opened = opened(1);
    let mut app = App::new(&opened, Lang::En);
    assert_eq!(press(&mut app, KeyCode::Char('q')), Some(Effect::Quit));
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(press(&mut app, KeyCode::Char('q')), None);
    assert!(matches!(app.overlay, Some(Overlay::Quit)));
    assert_eq!(press(&mut app, KeyCode::Esc), None);
    assert_eq!(app.overlay.as_ref().map(|_| ()), None);
    press(&mut app, KeyCode::Char('q'));
    assert_eq!(press(&mut app, KeyCode::Char('y')), Some(Effect::Write));
    // A failed write is said, and the screen stays.
    assert_eq!(app.update(Action::Written(Err("it exists".into()))), None);
    assert!(screen(&app, 80, 24).contains("Receipts not written: it exists"));
    assert_eq!(press(&mut app, KeyCode::Char('w')), Some(Effect::Write));
    assert_eq!(
        app.update(Action::Written(Ok(Vec::new()))),
        Some(Effect::Quit)
    );
}

#[test]
fn help_and_small_terminals() {
    let opened = opened(40);
    let mut app = App::new(&opened, Lang::Lo);
    press(&mut app, KeyCode::F(1));
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("ປຸ່ມ"), "{shown}");
    press(&mut app, KeyCode::Char('x'));
    assert!(app.overlay.is_none());
    app.height = 20;
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.selected, app.list_rows());
    let shown = screen(&app, 60, 20);
    assert!(shown.contains("▸"), "the selection is in view: {shown}");
    press(&mut app, KeyCode::Enter);
    let _ = screen(&app, 60, 20);
}

#[test]
fn a_comment_on_a_question_not_shown() {
    let opened = opened(1);
    let mut app = App::new(&opened, Lang::En);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('f'));
    typed(&mut app, "nowhere");
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(app.overlay, Some(Overlay::Field { .. })),
        "still asking"
    );
    assert!(screen(&app, 80, 24).contains("nowhere is not a question"));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    typed(&mut app, "phone");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::Comment { .. })));
    typed(&mut app, "check the number");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.pending[0].comment("phone"), Some("check the number"));
    let shown = screen(&app, 80, 24);
    assert!(
        shown.contains("Key informant's phone"),
        "a row of its own: {shown}"
    );
    // Still there when the page opens again; the answer never.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("Key informant's phone"), "{shown}");
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.pending[0].decision, Some(Decision::Returned));
}

#[test]
fn no_records_no_panic() {
    let empty = Opened::default();
    let mut app = App::new(&empty, Lang::En);
    for code in [
        KeyCode::Down,
        KeyCode::End,
        KeyCode::PageDown,
        KeyCode::Enter,
        KeyCode::Char('a'),
        KeyCode::Char('r'),
        KeyCode::Enter,
        KeyCode::Char('u'),
        KeyCode::Char('c'),
    ] {
        press(&mut app, code);
        let _ = screen(&app, 80, 24);
    }
    assert_eq!(app.verdicts(), 0);
}

#[test]
fn verdicts_files_are_checked_against_the_records() {
    let opened = opened(2);
    let ok = serde_json::json!([
        {"record_id": id(0), "decision": "approved"},
        {"record_id": id(1), "decision": "returned",
         "comments": [{"field": "members[2]/age", "text": "check the age"}]},
        {"record_id": id(2), "decision": "returned", "note": "ask about the phone",
         "comments": [{"field": "phone", "text": "a field not marked review may be named"}]},
    ]);
    let pending = verdicts::from_file(ok.to_string().as_bytes(), &opened).unwrap();
    assert_eq!(pending[0].decision, Some(Decision::Approved));
    assert_eq!(pending[1].comment("members[2]/age"), Some("check the age"));
    let bundle1 = verdicts::of_bundle(&opened, &pending, 0).unwrap();
    assert_eq!(bundle1.len(), 2);
    assert_eq!(verdicts::of_bundle(&opened, &pending, 1).unwrap().len(), 1);

    let refused = |given: serde_json::Value| {
        verdicts::from_file(given.to_string().as_bytes(), &opened).unwrap_err()
    };
    assert_eq!(
        refused(serde_json::json!([{"record_id": "nope", "decision": "approved"}])),
        VerdictError::UnknownRecord("nope".into())
    );
    assert_eq!(
        refused(serde_json::json!([{"record_id": id(0), "decision": "returned"}])),
        VerdictError::ReturnedWithoutWhy(id(0))
    );
    assert!(matches!(
        refused(
            serde_json::json!([{"record_id": id(0), "decision": "returned",
            "comments": [{"field": "nowhere", "text": "x"}]}])
        ),
        VerdictError::UnknownField { .. }
    ));
    for bad in [
        "members/age",
        "members[0]/age",
        "age",
        "members[1]/hh_total",
        "members",
    ] {
        assert!(
            matches!(
                refused(
                    serde_json::json!([{"record_id": id(0), "decision": "approved",
                    "comments": [{"field": bad, "text": "x"}]}])
                ),
                VerdictError::UnknownField { .. }
            ),
            "{bad}"
        );
    }
    assert_eq!(
        refused(serde_json::json!([
            {"record_id": id(0), "decision": "approved"},
            {"record_id": id(0), "decision": "approved"}
        ])),
        VerdictError::Twice(id(0))
    );
    assert!(matches!(
        refused(serde_json::json!([{"record_id": id(0), "decision": "maybe"}])),
        VerdictError::Malformed(_)
    ));
}
