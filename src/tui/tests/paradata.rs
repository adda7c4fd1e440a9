//! Paradata on screen with a driven clock (`App::now`): time on each
//! question counted on keys and capped, visits, changes of answers,
//! repeat instances by path, and what is saved when.

use super::*;
use crate::store::paradata::{DraftParadata, IDLE_CAP_S, QuestionTime};

fn at(s: i64) -> DateTime {
    DateTime {
        epoch_ms: now().epoch_ms + s * 1000,
        ..now()
    }
}

/// Presses `code` with the clock at `s` seconds after `now()`.
fn press_at(app: &mut App, s: i64, code: KeyCode) -> Option<Effect> {
    app.now = at(s);
    press(app, code)
}

fn paradata(app: &App) -> &DraftParadata {
    let Page::Record(r) = &app.page else {
        panic!("not on a record")
    };
    r.draft.paradata.as_ref().expect("paradata")
}

fn entry<'a>(p: &'a DraftParadata, field: &str) -> &'a QuestionTime {
    p.questions
        .iter()
        .find(|q| q.field == field)
        .unwrap_or_else(|| panic!("no entry for {field} in {p:?}"))
}

#[test]
fn time_visits_and_changes_are_counted_per_question_and_saved_with_the_answer() {
    let mut app = every_kind_app();
    // Opened at now(): the first question is in focus, nothing stored.
    assert_eq!(entry(paradata(&app), "t_text").visits, 1);
    assert!(press_at(&mut app, 5, KeyCode::Char('x')).is_none());
    // The first answer: saved, the paradata with it (8 s on t_text, and
    // t_one in focus since).
    let draft = saved(press_at(&mut app, 8, KeyCode::Enter));
    let p = draft.paradata.expect("paradata saved with the answer");
    assert_eq!(
        (entry(&p, "t_text").ms, entry(&p, "t_text").changes),
        (8000, 0)
    );
    assert_eq!(entry(&p, "t_one").visits, 1);
    assert_eq!(
        entry(&p, "t_one").first,
        at(8).to_string(),
        "kept in the draft"
    );
    // An hour with t_one in focus counts five minutes; moving on saves
    // the paradata alone (no answer changed).
    let effect = press_at(&mut app, 8 + 3600, KeyCode::Enter);
    let Some(Effect::SaveParadata { draft, quit: false }) = effect else {
        panic!("expected the paradata saved, got {effect:?}")
    };
    let p = draft.paradata.expect("paradata");
    assert_eq!(entry(&p, "t_one").ms, IDLE_CAP_S as u64 * 1000);
    assert_eq!(entry(&p, "t_int").visits, 1);
    assert_eq!(p.ms, 8000 + IDLE_CAP_S as u64 * 1000);
    // Back to t_text (as the jump list does) and its answer changed twice.
    for (i, more) in ["y", "z"].iter().enumerate() {
        goto(&mut app, "t_text");
        let t = 4000 + 10 * i as i64;
        press_at(&mut app, t, KeyCode::Char(more.chars().next().unwrap()));
        saved(press_at(&mut app, t + 2, KeyCode::Enter));
    }
    let p = paradata(&app);
    let text = entry(p, "t_text");
    assert_eq!((text.changes, text.visits), (2, 3));
    assert_eq!(text.last, at(4012).to_string());
    let done = p.finish("end");
    assert_eq!(done.questions[0].field, "t_text");
    assert_eq!(done.questions[0].seconds, 8 + 2 + 2);
    assert_eq!(done.questions[0].changes, 2);
}

#[test]
fn a_record_nobody_answered_saves_nothing_for_its_paradata() {
    let mut app = every_kind_app();
    // Enter on the empty optional question moves on: nothing stored.
    assert!(press_at(&mut app, 30, KeyCode::Enter).is_none());
    assert_eq!(focused_name(&app), "t_one");
    assert_eq!(entry(paradata(&app), "t_text").ms, 30_000);
    // Quitting neither: the record was never stored.
    assert!(matches!(
        {
            app.now = at(40);
            app.update(ctrl('c'))
        },
        Some(Effect::Quit)
    ));
}

#[test]
fn a_resumed_draft_counts_from_when_it_is_opened_and_quitting_saves_the_time() {
    let mut app = months_app(json!({"d_month": "2026-09-01"}));
    let Page::Record(r) = &app.page else { panic!() };
    let first = focused_name(&app);
    assert_eq!(
        r.draft.paradata.as_ref().map(|p| p.start.clone()),
        Some(now().to_string())
    );
    // A day later the same draft (its paradata as saved) is opened again.
    let mut draft = r.draft.clone();
    draft.paradata =
        Some(serde_json::from_value(serde_json::to_value(&draft.paradata).unwrap()).unwrap());
    app.go_home();
    app.now = at(86_400);
    app.update(Action::DraftLoaded(Ok((draft, None))));
    app.now = at(86_400 + 20);
    let effect = app.update(ctrl('c'));
    let Some(Effect::SaveParadata { draft, quit: true }) = effect else {
        panic!("expected the paradata saved at quit, got {effect:?}")
    };
    let p = draft.paradata.expect("paradata");
    // 20 s, not the day between the two sessions; two visits.
    let q = entry(&p, &first);
    assert_eq!((q.ms, q.visits), (20_000, 2));
    assert_eq!(p.start, now().to_string());
}

#[test]
fn repeat_instances_are_counted_by_path() {
    let mut app = every_kind_app();
    type_text(&mut app, "a");
    saved(press(&mut app, KeyCode::Enter));
    to_add_repeat(&mut app);
    // "Add one": the first entry's first question.
    saved(press_at(&mut app, 10, KeyCode::Enter));
    assert_eq!(focused_name(&app), "p_name");
    press_at(&mut app, 13, KeyCode::Char('B'));
    saved(press_at(&mut app, 15, KeyCode::Enter));
    let p = paradata(&app);
    let name = entry(p, "people[1]/p_name");
    assert_eq!((name.ms, name.visits, name.changes), (5000, 1, 0));
    assert_eq!(entry(p, "people[1]/p_one").visits, 1);
    assert!(p.questions.iter().all(|q| q.field != "p_name"));
}

#[test]
fn leaving_a_stored_draft_saves_its_time_and_help_moves_nothing() {
    let mut app = months_app(json!({"d_month": "2026-09-01"}));
    // F1 and back: the same question in focus, nothing to save.
    assert!(press_at(&mut app, 3, KeyCode::F(1)).is_none());
    assert!(press_at(&mut app, 4, KeyCode::Esc).is_none());
    let effect = press_at(&mut app, 9, KeyCode::Esc);
    let Some(Effect::SaveParadata { draft, quit: false }) = effect else {
        panic!("expected the paradata saved on leaving, got {effect:?}")
    };
    assert!(matches!(app.page, Page::Home(_)));
    let p = draft.paradata.expect("paradata");
    assert_eq!(p.ms, 9_000);
    // Saved: the home page takes the result quietly.
    assert!(app.update(Action::ParadataSaved(Ok(()))).is_none());
    assert!(app.status.is_none());
}
