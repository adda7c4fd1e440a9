//! The TUI without a terminal: the update function driven by actions
//! (state in, action in, state and effect out), and every screen drawn to
//! a TestBackend at 80x24 and 60x20, in English and in Lao, snapshotted.

use std::path::PathBuf;
use std::sync::OnceLock;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value, json};

use super::app::{Action, App, Effect, FormEntry, LAO, Opened, Overlay, Page, Pane, Setup};
use super::input::Input;
use super::record::Editor;
use crate::form::dates::{DateTime, parse_datetime};
use crate::store::{Draft, Listing, State};

fn forms() -> Vec<FormEntry> {
    static FORMS: OnceLock<Vec<FormEntry>> = OnceLock::new();
    FORMS
        .get_or_init(|| {
            super::forms_for_tests(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("forms"))
                .expect("shipped forms")
        })
        .clone()
}

fn now() -> DateTime {
    parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("clock")
}

fn listing(id: &str, form: &str, state: State, name: &str) -> Listing {
    Listing {
        id: id.into(),
        state,
        form_id: form.into(),
        form_version: "2026.1".into(),
        form_sha256: String::new(),
        instance_name: name.into(),
        started: "2026-11-21T08:00:00.000+07:00".into(),
        updated: "2026-11-21T08:30:00.000+07:00".into(),
        finalized: None,
        bundle: None,
        size: 100,
    }
}

/// The home screen of enum-03, with a draft and some finalized records.
fn home() -> App {
    let mut app = App::new(forms(), Page::Busy, now());
    app.update(Action::Opened(Ok(Opened {
        enumerator: "enum-03".into(),
        device_id: "device-1".into(),
        listing: vec![
            listing(
                "01a00000-0000-7000-8000-000000000001",
                "dtm_site_assessment",
                State::Draft,
                "Sanamxay evacuation site 2026-11-20",
            ),
            listing(
                "01a00000-0000-7000-8000-000000000002",
                "dtm_site_assessment",
                State::Outbox,
                "",
            ),
            listing(
                "01a00000-0000-7000-8000-000000000003",
                "dtm_flow_monitoring",
                State::Sent,
                "",
            ),
        ],
    })));
    app
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn press(app: &mut App, code: KeyCode) -> Option<Effect> {
    app.update(key(code))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(app.update(key(KeyCode::Char(c))).is_none());
    }
}

fn form_index(id: &str) -> usize {
    forms().iter().position(|f| f.form.id == id).expect("form")
}

/// A record of `form` opened from a draft holding `answers`.
fn record(form: &str, answers: Value) -> App {
    let mut app = home();
    let entry = &forms()[form_index(form)];
    let mut draft = Draft::new(form, &entry.form.version, &entry.sha256, &now().to_string());
    draft.id = "01a00000-0000-7000-8000-00000000000a".into();
    draft.answers = answers.as_object().cloned().unwrap_or_default();
    app.update(Action::DraftLoaded(Ok(draft)));
    assert!(matches!(app.page, Page::Record(_)));
    app
}

fn site_complete() -> Map<String, Value> {
    serde_json::from_str(include_str!(
        "../../tests/fixtures/site_assessment_complete.json"
    ))
    .expect("fixture")
}

/// The complete site record without some answers.
fn site_without(names: &[&str]) -> Value {
    let mut m = site_complete();
    for n in names {
        m.remove(*n);
    }
    Value::Object(m)
}

fn focused_name(app: &App) -> String {
    let Page::Record(r) = &app.page else {
        panic!("not on a record")
    };
    let pos = r.focused().expect("a question in focus");
    r.session.form().nodes[pos.node].name.clone()
}

/// Moves to the first "add another" page.
fn to_add_repeat(app: &mut App) {
    let Page::Record(r) = &mut app.page else {
        panic!("not on a record")
    };
    r.screen = r
        .session
        .screens()
        .into_iter()
        .find(|s| matches!(s, crate::form::Screen::AddRepeat { .. }))
        .expect("a repeat");
    r.focus = 0;
}

/// Moves to a question by name, as the jump list does.
fn goto(app: &mut App, name: &str) {
    let Page::Record(r) = &mut app.page else {
        panic!("not on a record")
    };
    let entry = r
        .jump_entries()
        .into_iter()
        .find(|e| r.session.form().nodes[e.pos.node].name == name)
        .expect("question on some page");
    r.go_to(&entry.pos);
    assert_eq!(focused_name(app), name);
}

fn saved(effect: Option<Effect>) -> Draft {
    match effect {
        Some(Effect::Save { draft, .. }) => draft,
        other => panic!("expected a save, got {other:?}"),
    }
}

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|f| super::view::render(app, f))
        .expect("draw");
    terminal
}

/// Snapshots a screen at 80x24 and 60x20, in English and Lao.
fn snapshots(name: &str, make: impl Fn() -> App) {
    for (lang, suffix) in [(None, "en"), (Some(LAO), "lo")] {
        let mut app = make();
        if let Some(l) = lang {
            app.language = l.into();
            if let Page::Record(r) = &mut app.page {
                r.set_language(l);
            }
        }
        for (w, h) in [(80, 24), (60, 20)] {
            let terminal = draw(&app, w, h);
            insta::assert_snapshot!(format!("{name}_{suffix}_{w}x{h}"), terminal.backend());
        }
    }
}

// ----- update ------------------------------------------------------------

#[test]
fn setup_checks_every_field_then_asks_to_create_the_profile() {
    let mut app = App::new(
        forms(),
        Page::Setup(Setup::new(Some("keys/recipients.txt".into()))),
        now(),
    );
    type_text(&mut app, "enum 03");
    assert!(press(&mut app, KeyCode::Enter).is_none());
    let Page::Setup(s) = &app.page else { panic!() };
    assert!(s.error.as_deref().unwrap_or("").contains("cannot be used"));
    press(&mut app, KeyCode::Home);
    press(&mut app, KeyCode::End);
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "-03");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "Somchai");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "a long passphrase");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "a long passphrasX");
    assert!(press(&mut app, KeyCode::Enter).is_none());
    let Page::Setup(s) = &app.page else { panic!() };
    assert!(s.error.as_deref().unwrap_or("").contains("differ"));
    assert_eq!(s.again.text, "", "the second passphrase is cleared");
    type_text(&mut app, "a long passphrase");
    match press(&mut app, KeyCode::Enter) {
        Some(Effect::CreateProfile {
            enumerator,
            name,
            recipients,
            ..
        }) => {
            assert_eq!(enumerator, "enum-03");
            assert_eq!(name, "Somchai");
            assert_eq!(recipients, PathBuf::from("keys/recipients.txt"));
        }
        other => panic!("expected CreateProfile, got {other:?}"),
    }
}

#[test]
fn unlock_asks_the_loop_and_shows_a_wrong_passphrase() {
    let mut app = App::new(
        forms(),
        Page::Unlock {
            passphrase: Input::secret(),
            error: None,
        },
        now(),
    );
    assert!(press(&mut app, KeyCode::Enter).is_none(), "nothing typed");
    type_text(&mut app, "secret words");
    assert!(matches!(
        press(&mut app, KeyCode::Enter),
        Some(Effect::Unlock { .. })
    ));
    assert!(matches!(app.page, Page::Busy));
    app.update(Action::Opened(Err("wrong passphrase".into())));
    assert!(matches!(app.page, Page::Unlock { error: Some(_), .. }));
    assert!(matches!(app.update(ctrl('c')), Some(Effect::Quit)));
}

#[test]
fn home_counts_records_per_form_and_resumes_or_deletes_drafts() {
    let mut app = home();
    assert_eq!(app.counts("dtm_site_assessment"), (1, 1, 0));
    assert_eq!(app.counts("dtm_flow_monitoring"), (0, 0, 1));
    let Page::Home(h) = &app.page else { panic!() };
    assert_eq!(h.pane, Pane::Drafts, "drafts first when there are some");
    match press(&mut app, KeyCode::Enter) {
        Some(Effect::Load { id }) => assert_eq!(id, "01a00000-0000-7000-8000-000000000001"),
        other => panic!("expected Load, got {other:?}"),
    }
    let mut app = home();
    assert!(press(&mut app, KeyCode::Delete).is_none());
    assert!(matches!(app.overlay, Some(Overlay::ConfirmDelete { .. })));
    assert!(press(&mut app, KeyCode::Char('n')).is_none(), "n keeps it");
    assert!(app.overlay.is_none());
    press(&mut app, KeyCode::Delete);
    let Some(Effect::Delete { id }) = press(&mut app, KeyCode::Char('y')) else {
        panic!("y deletes")
    };
    app.update(Action::Deleted(Ok(id)));
    assert!(app.drafts().is_empty());
    assert_eq!(press(&mut app, KeyCode::Char('q')).map(|_| ()), Some(()));
}

#[test]
fn a_new_record_is_saved_at_its_first_answer_and_moves_on() {
    let mut app = home();
    press(&mut app, KeyCode::Tab);
    let site = form_index("dtm_site_assessment");
    for _ in 0..site {
        press(&mut app, KeyCode::Down);
    }
    assert!(
        press(&mut app, KeyCode::Enter).is_none(),
        "nothing saved yet"
    );
    assert_eq!(focused_name(&app), "m1855_meta_assessment_date");
    type_text(&mut app, "2026-11-40");
    assert!(
        press(&mut app, KeyCode::Enter).is_none(),
        "refused: not a date"
    );
    let Page::Record(r) = &app.page else { panic!() };
    let pos = r.focused().unwrap();
    assert!(r.message(&pos).unwrap().contains("not a date"));
    assert_eq!(focused_name(&app), "m1855_meta_assessment_date");
    for _ in 0..2 {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "20");
    let draft = saved(press(&mut app, KeyCode::Enter));
    assert_eq!(draft.answers["m1855_meta_assessment_date"], "2026-11-20");
    assert_eq!(draft.form_id, "dtm_site_assessment");
    assert_eq!(focused_name(&app), "m1470_meta_enum_sex");
    // A select_one: Down then Enter picks the second choice and moves on.
    let second = forms()[site].form.lists["enum_sex"].choices[1].name.clone();
    press(&mut app, KeyCode::Down);
    let draft = saved(press(&mut app, KeyCode::Enter));
    assert_eq!(draft.answers["m1470_meta_enum_sex"], json!(second));
    assert_eq!(focused_name(&app), "m1725_meta_interview_type");
    app.update(Action::Saved(Ok(())));
    assert!(app.status.as_ref().unwrap().0.starts_with("Saved 09:00:00"));
    // Esc goes home; the draft is listed.
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.page, Page::Home(_)));
    assert_eq!(app.drafts().len(), 2);
}

#[test]
fn a_constraint_violation_stays_on_the_field_until_corrected() {
    let mut app = record(
        "dtm_site_assessment",
        site_without(&["m0310_loc_num_idp_ind"]),
    );
    assert_eq!(focused_name(&app), "m0310_loc_num_idp_ind");
    type_text(&mut app, "12");
    let draft = saved(press(&mut app, KeyCode::Enter));
    assert_eq!(
        draft.answers["m0310_loc_num_idp_ind"], 12,
        "saved even when violated"
    );
    assert_eq!(focused_name(&app), "m0310_loc_num_idp_ind", "stays");
    let Page::Record(r) = &app.page else { panic!() };
    assert!(r.message(&r.focused().unwrap()).is_some());
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "180");
    saved(press(&mut app, KeyCode::Enter));
    assert_ne!(focused_name(&app), "m0310_loc_num_idp_ind");
}

#[test]
fn the_village_list_filters_as_you_type() {
    let mut app = record(
        "dtm_site_assessment",
        site_without(&["m0306_meta_adm4_pcode_other"]),
    );
    goto(&mut app, "m0306_meta_adm4_pcode");
    let Page::Record(r) = &app.page else { panic!() };
    let Editor::Choices(c) = &r.editor else {
        panic!()
    };
    let all = c.visible.len();
    assert!(all > 10, "the district's villages: {all}");
    type_text(&mut app, "ດາກ");
    let Page::Record(r) = &app.page else { panic!() };
    let Editor::Choices(c) = &r.editor else {
        panic!()
    };
    assert!(!c.visible.is_empty() && c.visible.len() < all);
    let list = r.session.form().list_of(r.focused().unwrap().node).unwrap();
    let first = list.choices[c.visible[0]].name.clone();
    let draft = saved(press(&mut app, KeyCode::Enter));
    assert_eq!(draft.answers["m0306_meta_adm4_pcode"], json!(first));
}

#[test]
fn repeats_add_and_remove_entries() {
    let mut answers = site_complete();
    answers.remove("agencies_present");
    let mut app = record("dtm_site_assessment", Value::Object(answers));
    to_add_repeat(&mut app);
    let draft = saved(press(&mut app, KeyCode::Enter));
    assert_eq!(
        draft.answers["agencies_present"].as_array().unwrap().len(),
        1
    );
    assert_eq!(focused_name(&app), "agency_name");
    type_text(&mut app, "IOM");
    saved(press(&mut app, KeyCode::Enter));
    assert_eq!(focused_name(&app), "agency_sectors");
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    let Page::Record(r) = &app.page else { panic!() };
    assert!(matches!(r.screen, crate::form::Screen::AddRepeat { .. }));
    let draft = saved(press(&mut app, KeyCode::Char('y')));
    assert_eq!(
        draft.answers["agencies_present"].as_array().unwrap().len(),
        2
    );
    assert_eq!(focused_name(&app), "agency_name");
    app.update(ctrl('d'));
    assert_eq!(app.overlay, Some(Overlay::ConfirmRemove));
    let draft = saved(press(&mut app, KeyCode::Char('y')));
    assert_eq!(
        draft.answers["agencies_present"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn review_lists_problems_jumps_to_them_and_finalizes_when_clean() {
    let mut app = record("dtm_site_assessment", site_without(&["wash_num_latrines"]));
    app.update(ctrl('f'));
    assert_eq!(app.overlay, Some(Overlay::Review { cursor: 0 }));
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert_eq!(
        focused_name(&app),
        "wash_num_latrines",
        "jumped to the problem"
    );
    type_text(&mut app, "6");
    saved(press(&mut app, KeyCode::Enter));
    app.update(ctrl('f'));
    match press(&mut app, KeyCode::Enter) {
        Some(Effect::Finalize {
            draft,
            values,
            form_text,
        }) => {
            assert!(
                form_text.starts_with(b"# "),
                "the form file's text travels along"
            );
            assert_eq!(draft.answers["wash_num_latrines"], 6);
            assert_eq!(values["wash_persons_per_latrine"], "30");
        }
        other => panic!("expected Finalize, got {other:?}"),
    }
    app.update(Action::Finalized(Ok(())));
    assert!(matches!(app.page, Page::Home(_)));
    assert_eq!(app.counts("dtm_site_assessment").1, 2, "one more finalized");
}

#[test]
fn the_jump_list_shows_states_and_moves() {
    let mut app = record("dtm_site_assessment", site_without(&["ki_type"]));
    app.update(ctrl('j'));
    let Some(Overlay::Jump { cursor }) = app.overlay.clone() else {
        panic!()
    };
    let Page::Record(r) = &app.page else { panic!() };
    let entries = r.jump_entries();
    assert_eq!(
        r.session.form().nodes[entries[cursor].pos.node].name,
        "ki_type"
    );
    assert_eq!(entries[cursor].state, super::record::QuestionState::Missing);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none());
    assert_ne!(focused_name(&app), "ki_type");
}

#[test]
fn the_language_switches_labels_and_chrome() {
    let mut app = record("dtm_site_assessment", site_without(&["ki_type"]));
    let Page::Record(r) = &app.page else { panic!() };
    let english = r.session.label(&r.focused().unwrap());
    app.update(key(KeyCode::F(2)));
    assert_eq!(app.language, LAO);
    let Page::Record(r) = &app.page else { panic!() };
    assert_ne!(r.session.label(&r.focused().unwrap()), english);
    assert_eq!(app.lang(), super::chrome::Lang::Lo);
}

// ----- screens -------------------------------------------------------------

#[test]
fn screen_setup() {
    snapshots("setup", || {
        App::new(
            forms(),
            Page::Setup(Setup::new(Some("keys/recipients.txt".into()))),
            now(),
        )
    });
}

#[test]
fn screen_unlock() {
    snapshots("unlock", || {
        App::new(
            forms(),
            Page::Unlock {
                passphrase: Input::secret(),
                error: Some("wrong passphrase for profile 'enum-03'".into()),
            },
            now(),
        )
    });
}

#[test]
fn screen_home() {
    snapshots("home", home);
}

#[test]
fn screen_question_text_and_field_list() {
    snapshots("field_list", || {
        record(
            "dtm_site_assessment",
            json!({"m1855_meta_assessment_date": "2026-11-20"}),
        )
    });
}

#[test]
fn screen_question_village_list_filtered() {
    snapshots("village_filtered", || {
        let mut app = record(
            "dtm_site_assessment",
            site_without(&["m0306_meta_adm4_pcode_other"]),
        );
        goto(&mut app, "m0306_meta_adm4_pcode");
        type_text(&mut app, "ດາກ");
        app
    });
}

#[test]
fn screen_question_select_multiple() {
    snapshots("select_multiple", || {
        record(
            "dtm_site_assessment",
            site_without(&["health_main_problems"]),
        )
    });
}

#[test]
fn screen_constraint_message() {
    snapshots("constraint", || {
        let mut app = record(
            "dtm_site_assessment",
            site_without(&["m0310_loc_num_idp_ind"]),
        );
        type_text(&mut app, "12");
        press(&mut app, KeyCode::Enter);
        app
    });
}

#[test]
fn screen_add_repeat() {
    snapshots("add_repeat", || {
        let mut app = record("dtm_site_assessment", Value::Object(site_complete()));
        to_add_repeat(&mut app);
        app
    });
}

#[test]
fn screen_geopoint_and_acknowledge_with_long_labels() {
    snapshots("geopoint", || {
        let mut app = record("dtm_baseline", json!({}));
        goto(&mut app, "m2696_meta_start_gps");
        app
    });
    snapshots("acknowledge", || {
        let mut app = record("dtm_baseline", json!({}));
        goto(&mut app, "ki_consent");
        press(&mut app, KeyCode::Char(' '));
        app
    });
}

#[test]
fn long_text_wraps_at_spaces_and_inside_lao_runs() {
    let lines = super::view::wrap_for_tests("one two three four", 9);
    assert_eq!(lines, ["one two", "three", "four"]);
    let lao = "ອ່ານໃຫ້ຜູ້ໃຫ້ຂໍ້ມູນຫຼັກຟັງ";
    let lines = super::view::wrap_for_tests(lao, 8);
    assert!(lines.len() > 1);
    assert_eq!(
        lines.concat(),
        lao,
        "nothing lost, marks kept with their letters"
    );
    assert!(
        lines
            .iter()
            .all(|l| ratatui::text::Line::from(l.as_str()).width() <= 8)
    );
}

#[test]
fn screen_jump_list() {
    snapshots("jump", || {
        let mut app = record("dtm_site_assessment", site_without(&["ki_type"]));
        app.update(ctrl('j'));
        app
    });
}

#[test]
fn screen_review_with_problems_and_clean() {
    snapshots("review_problems", || {
        let mut app = record(
            "dtm_site_assessment",
            site_without(&["wash_num_latrines", "ki_type"]),
        );
        app.update(ctrl('f'));
        app
    });
    snapshots("review_clean", || {
        let mut app = record("dtm_site_assessment", Value::Object(site_complete()));
        app.update(ctrl('f'));
        app
    });
}

#[test]
fn screen_help_and_confirm() {
    snapshots("help", || {
        let mut app = home();
        app.update(key(KeyCode::F(1)));
        app
    });
    snapshots("confirm_delete", || {
        let mut app = home();
        press(&mut app, KeyCode::Delete);
        app
    });
}

#[test]
fn screens_without_colour_still_mark_the_selection() {
    let mut app = home();
    app.color = false;
    let terminal = draw(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    let selected = (0..80).any(|x| {
        buffer[(x, 8)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    });
    assert!(selected, "the selected draft is shown reversed");
    assert!(
        buffer
            .content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset),
        "no colour with NO_COLOR"
    );
}

#[test]
fn every_screen_draws_at_tiny_sizes_without_panicking() {
    let makers: Vec<Box<dyn Fn() -> App>> = vec![
        Box::new(|| {
            App::new(
                forms(),
                Page::Setup(Setup::new(Some("keys/recipients.txt".into()))),
                now(),
            )
        }),
        Box::new(home),
        Box::new(|| {
            let mut app = home();
            app.update(key(KeyCode::F(1)));
            app
        }),
        Box::new(|| record("dtm_baseline", json!({}))),
        Box::new(|| {
            let mut app = record("dtm_site_assessment", site_without(&["ki_type"]));
            app.update(ctrl('j'));
            app
        }),
        Box::new(|| {
            let mut app = record("dtm_site_assessment", site_without(&["ki_type"]));
            app.update(ctrl('f'));
            app
        }),
        Box::new(|| {
            let mut app = record("dtm_site_assessment", Value::Object(site_complete()));
            to_add_repeat(&mut app);
            app
        }),
    ];
    for make in &makers {
        let app = make();
        for (w, h) in [(1, 1), (10, 3), (20, 5), (30, 8), (200, 60)] {
            draw(&app, w, h);
        }
    }
}

#[test]
fn a_filter_may_hold_spaces_and_never_answers_by_accident() {
    let mut app = record("dtm_site_assessment", json!({}));
    goto(&mut app, "m1725_meta_interview_type");
    // Space picks only while no filter is typed.
    type_text(&mut app, "in person");
    let Page::Record(r) = &app.page else { panic!() };
    let Editor::Choices(c) = &r.editor else {
        panic!()
    };
    assert_eq!(c.filter.text, "in person");
    assert!(!c.visible.is_empty());
    assert_eq!(
        r.session.raw_value(&r.focused().unwrap()),
        "",
        "nothing picked yet"
    );
    type_text(&mut app, " zzz");
    assert!(
        press(&mut app, KeyCode::Enter).is_none(),
        "no match: no answer"
    );
    assert_eq!(focused_name(&app), "m1725_meta_interview_type");
    // A multiple choice: filter, Enter ticks and clears the filter, Enter goes on.
    let mut app = record(
        "dtm_site_assessment",
        site_without(&["health_main_problems"]),
    );
    goto(&mut app, "health_main_problems");
    type_text(&mut app, "diarr");
    let draft = saved(press(&mut app, KeyCode::Enter));
    assert_eq!(draft.answers["health_main_problems"], json!(["diarrhoea"]));
    assert_eq!(
        focused_name(&app),
        "health_main_problems",
        "stays to tick more"
    );
    let Page::Record(r) = &app.page else { panic!() };
    let Editor::Choices(c) = &r.editor else {
        panic!()
    };
    assert_eq!(c.filter.text, "");
    press(&mut app, KeyCode::Enter);
    assert_ne!(focused_name(&app), "health_main_problems");
}

#[test]
fn ctrl_c_saves_what_is_being_typed_before_quitting() {
    let mut app = record("dtm_site_assessment", json!({}));
    goto(&mut app, "m0489_meta_survey_round");
    type_text(&mut app, "R07");
    match app.update(ctrl('c')) {
        Some(Effect::SaveAndQuit { draft, .. }) => {
            assert_eq!(draft.answers["m0489_meta_survey_round"], "R07")
        }
        other => panic!("expected SaveAndQuit, got {other:?}"),
    }
    let mut app = home();
    assert!(matches!(app.update(ctrl('c')), Some(Effect::Quit)));
}

#[test]
fn screen_busy_and_confirm_remove() {
    snapshots("busy", || App::new(forms(), Page::Busy, now()));
    snapshots("confirm_remove", || {
        let mut app = record("dtm_site_assessment", Value::Object(site_complete()));
        goto(&mut app, "agency_name");
        app.update(ctrl('d'));
        app
    });
}

#[test]
fn lao_am_takes_two_one_column_cells() {
    // ຄຳ is one cluster two columns wide; drawn as ຄໍ + າ, each cell holds
    // a one-column cluster, as terminals draw it.
    let mut app = App::new(forms(), Page::Busy, now());
    app.language = LAO.into();
    let terminal = draw(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert!(
            !cell.symbol().contains('\u{0EB3}'),
            "AM reached the terminal: {:?}",
            cell.symbol()
        );
        assert!(ratatui::text::Line::from(cell.symbol()).width() <= 1);
    }
}

#[test]
fn a_failed_save_is_shown_and_retried_on_leaving() {
    let mut app = record("dtm_site_assessment", json!({}));
    goto(&mut app, "m0489_meta_survey_round");
    type_text(&mut app, "R07");
    saved(press(&mut app, KeyCode::Enter));
    app.update(Action::Saved(Err("the disk is full".into())));
    let (text, problem) = app.status.clone().unwrap();
    assert!(problem && text.contains("NOT SAVED") && text.contains("disk is full"));
    let draft = saved(press(&mut app, KeyCode::Esc));
    assert_eq!(draft.answers["m0489_meta_survey_round"], "R07");
}

#[test]
fn export_and_receipts_from_the_home_page() {
    let mut app = home();
    assert!(press(&mut app, KeyCode::Char('e')).is_none());
    assert!(matches!(app.overlay, Some(Overlay::Export { .. })));
    type_text(&mut app, "/media/usb");
    match press(&mut app, KeyCode::Enter) {
        Some(Effect::Export { dir }) => assert_eq!(dir, PathBuf::from("/media/usb")),
        other => panic!("expected Export, got {other:?}"),
    }
    assert_eq!(app.progress, Some((0, 0)));
    app.update(Action::ExportProgress { done: 5, total: 10 });
    let terminal = draw(&app, 80, 24);
    insta::assert_snapshot!("export_progress_en_80x24", terminal.backend());
    let mut listing = app.listing().to_vec();
    for l in &mut listing {
        if l.state == State::Outbox {
            l.state = State::Sent;
        }
    }
    app.update(Action::Exported(Ok((
        vec!["/media/usb/fieldkit-enum-03-1.zip".into()],
        listing,
    ))));
    assert_eq!(app.progress, None);
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .0
            .contains("fieldkit-enum-03-1.zip")
    );
    assert_eq!(app.counts("dtm_site_assessment"), (1, 0, 1));
    // The folder is offered again next time.
    press(&mut app, KeyCode::Char('e'));
    let Some(Overlay::Export { dir }) = &app.overlay else {
        panic!()
    };
    assert_eq!(dir.text, "/media/usb");
    press(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());

    press(&mut app, KeyCode::Char('a'));
    type_text(&mut app, "receipt.json");
    assert!(matches!(
        press(&mut app, KeyCode::Enter),
        Some(Effect::Ack { .. })
    ));
    app.update(Action::Acked(Err("forged or damaged receipt".into())));
    assert!(app.status.as_ref().unwrap().1, "shown as a problem");
}

#[test]
fn an_export_in_several_bundles_names_the_first_and_the_last() {
    let mut app = home();
    let listing = app.listing().to_vec();
    let paths = (1..=3)
        .map(|n| format!("/media/usb/fieldkit-enum-03-ab-{n:06}.zip"))
        .collect();
    app.update(Action::Exported(Ok((paths, listing))));
    let (text, problem) = app.status.clone().unwrap();
    assert!(!problem, "{text}");
    assert!(
        text.contains("fieldkit-enum-03-ab-000001.zip … fieldkit-enum-03-ab-000003.zip (3)")
            && text.contains("(in /media/usb)"),
        "{text}"
    );
}

#[test]
fn screen_export_dialog() {
    snapshots("export_dialog", || {
        let mut app = home();
        press(&mut app, KeyCode::Char('e'));
        type_text(&mut app, "/media/usb");
        app
    });
}

#[test]
fn the_setup_page_shows_the_cursor_in_its_field_at_80_columns() {
    let mut app = App::new(
        forms(),
        Page::Setup(Setup::new(Some("keys/recipients.txt".into()))),
        now(),
    );
    type_text(&mut app, "enum");
    let mut terminal = draw(&app, 80, 24);
    let at = terminal.get_cursor_position().unwrap();
    let row: String = (0..80)
        .map(|x| terminal.backend().buffer()[(x, at.y)].symbol().to_string())
        .collect();
    assert!(
        row.contains("Enumerator id: enum"),
        "cursor on row {}: {row}",
        at.y
    );
    assert_eq!(usize::from(at.x), "▸ Enumerator id: enum".chars().count());
}
