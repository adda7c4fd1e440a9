//! The TUI without a terminal: the update function driven by actions
//! (state in, action in, state and effect out), and every screen drawn to
//! a TestBackend at 80x24 and 60x20, in English and in Lao, snapshotted.
//! One file over 700 lines: the snapshot files are named after this
//! module (`fieldkit__tui__tests__*`), and the fixtures are shared by
//! every test here.

use std::path::PathBuf;
use std::sync::OnceLock;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value, json};

use super::app::{
    Action, App, Effect, FormEntry, LAO, Opened, Overlay, Page, Pane, Receipted, Setup,
};
use super::input::Input;
use super::record::Editor;
use super::words::{Msg, Notice};
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
        entity: None,
        size: 100,
        version: 1,
        supersedes: None,
        returned: None,
    }
}

/// The home screen of enum-03, with a draft and some finalized records.
fn home() -> App {
    let mut app = App::new(forms(), Page::Busy, now());
    app.update(Action::Opened(Ok(Opened {
        enumerator: "enum-03".into(),
        device_id: "device-1".into(),
        tallies: Default::default(),
        forms: None,
        keys: super::action::KeysInForce {
            pack: Some((2, "R2-2026".into())),
            recipients: 2,
            from_pack: true,
        },
        visits: Vec::new(),
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

/// The store as it stands after an export or a receipt.
fn opened_with(app: &App, listing: Vec<Listing>) -> Opened {
    Opened {
        listing,
        ..app.who.clone().expect("opened")
    }
}

fn error_text(error: &Option<Notice>) -> String {
    error
        .as_ref()
        .map(|n| n.text(super::words::Lang::En))
        .unwrap_or_default()
}

/// The screen's text, row by row.
fn screen_text(app: &App, width: u16, height: u16) -> String {
    let terminal = draw(app, width, height);
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
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
    app.update(Action::DraftLoaded(Ok((draft, None))));
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

/// Nothing saved but, the question in focus having changed, the draft's
/// paradata (`paradata`).
fn no_answer_saved(effect: Option<Effect>) -> bool {
    matches!(effect, None | Some(Effect::SaveParadata { .. }))
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
            app.set_language(l);
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
    assert!(error_text(&s.error).contains("cannot be used"));
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
    assert!(error_text(&s.error).contains("differ"));
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
    app.update(Action::Opened(Err(Notice::problem(
        Msg::WrongPassphrase,
        &["enum-03"],
    ))));
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
    // A select_one: Down then Space picks the second choice, Enter goes on.
    let second = forms()[site].form.lists["enum_sex"].choices[1].name.clone();
    press(&mut app, KeyCode::Down);
    let draft = saved(press(&mut app, KeyCode::Char(' ')));
    assert_eq!(draft.answers["m1470_meta_enum_sex"], json!(second));
    assert!(no_answer_saved(press(&mut app, KeyCode::Enter)));
    assert_eq!(focused_name(&app), "m1725_meta_interview_type");
    app.update(Action::Saved(Ok(())));
    assert!(app.status_line().unwrap().0.starts_with("Saved 09:00:00"));
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
    // Enter never picks: it says how to.
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert_eq!(focused_name(&app), "m0306_meta_adm4_pcode");
    // Down goes into the list on its first match; Space picks it.
    press(&mut app, KeyCode::Down);
    let draft = saved(press(&mut app, KeyCode::Char(' ')));
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
            form,
        }) => {
            assert!(
                form.text().starts_with("# "),
                "the form file's text travels along"
            );
            assert_eq!(form.sha256(), draft.form_sha256, "the draft's own form");
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
    assert_eq!(entries[cursor].state, super::review::QuestionState::Missing);
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
    assert_eq!(app.lang(), super::words::Lang::Lo);
}

#[test]
fn a_refused_answer_is_said_in_the_chosen_language() {
    for (switch, expected) in [(false, "is not a whole number"), (true, "ບໍ່ແມ່ນຈຳນວນເຕັມ")]
    {
        let mut app = record(
            "dtm_site_assessment",
            site_without(&["m0310_loc_num_idp_ind"]),
        );
        if switch {
            app.update(key(KeyCode::F(2)));
        }
        type_text(&mut app, "38,2");
        assert!(press(&mut app, KeyCode::Enter).is_none(), "nothing saved");
        let Page::Record(r) = &app.page else { panic!() };
        let message = r.message(&r.focused().unwrap()).unwrap_or_default();
        assert!(message.contains(expected), "{message}");
    }
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
                error: Some(Notice::problem(Msg::WrongPassphrase, &["enum-03"])),
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
    // A multiple choice: filter, Down, Space ticks; Enter goes on.
    let mut app = record(
        "dtm_site_assessment",
        site_without(&["health_main_problems"]),
    );
    goto(&mut app, "health_main_problems");
    type_text(&mut app, "diarr");
    assert!(
        press(&mut app, KeyCode::Enter).is_none(),
        "Enter never ticks"
    );
    assert_eq!(focused_name(&app), "health_main_problems");
    press(&mut app, KeyCode::Down);
    let draft = saved(press(&mut app, KeyCode::Char(' ')));
    assert_eq!(draft.answers["health_main_problems"], json!(["diarrhoea"]));
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
    let (text, problem) = app.status_line().unwrap();
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
    let opened = opened_with(&app, listing);
    app.update(Action::Exported(Ok((
        vec!["/media/usb/fieldkit-enum-03-1.zip".into()],
        opened,
    ))));
    assert_eq!(app.progress, None);
    assert!(
        app.status_line()
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
    assert!(app.status_line().unwrap().1, "shown as a problem");
}

#[test]
fn an_export_in_several_bundles_names_the_first_and_the_last() {
    let mut app = home();
    let listing = app.listing().to_vec();
    let paths = (1..=3)
        .map(|n| format!("/media/usb/fieldkit-enum-03-ab-{n:06}.zip"))
        .collect();
    app.update(Action::Exported(Ok((paths, opened_with(&app, listing)))));
    let (text, problem) = app.status_line().unwrap();
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

// ----- nothing recorded that was not given (issue 15) ---------------------

/// A form with every kind of question, none with a default or a
/// calculation: every answer in it can only come from the keyboard.
const EVERY_KIND: &str = r#"
[settings]
form_id = "every_kind"
version = "1"
form_title = { "English (en)" = "Every kind", "Lao (lo)" = "ທຸກຊະນິດ" }
default_language = "English (en)"

[[survey]]
type = "text"
name = "t_text"
label = { "English (en)" = "Text", "Lao (lo)" = "ຂໍ້ຄວາມ" }

[[survey]]
type = "select_one abc"
name = "t_one"
label = { "English (en)" = "One", "Lao (lo)" = "ໜຶ່ງ" }

[[survey]]
type = "integer"
name = "t_int"
label = { "English (en)" = "Integer", "Lao (lo)" = "ຈຳນວນ" }
required = "yes"

[[survey]]
type = "select_one abc"
name = "t_one_req"
label = { "English (en)" = "One, required", "Lao (lo)" = "ໜຶ່ງ" }
required = "yes"

[[survey]]
type = "decimal"
name = "t_dec"
label = { "English (en)" = "Decimal", "Lao (lo)" = "ທົດສະນິຍົມ" }

[[survey]]
type = "date"
name = "t_date"
label = { "English (en)" = "Date", "Lao (lo)" = "ວັນທີ" }

[[survey]]
type = "select_multiple abc"
name = "t_many"
label = { "English (en)" = "Many", "Lao (lo)" = "ຫຼາຍ" }

[[survey]]
type = "acknowledge"
name = "t_ack"
label = { "English (en)" = "Acknowledge", "Lao (lo)" = "ຮັບຊາບ" }

[[survey]]
type = "geopoint"
name = "t_geo"
label = { "English (en)" = "Point", "Lao (lo)" = "ຈຸດ" }

[[survey]]
type = "begin_group"
name = "g_page"
label = { "English (en)" = "Page", "Lao (lo)" = "ໜ້າ" }
appearance = "field-list"

[[survey]]
type = "select_one abc"
name = "fl_one"
label = { "English (en)" = "On a page", "Lao (lo)" = "ໃນໜ້າ" }

[[survey]]
type = "text"
name = "fl_text"
label = { "English (en)" = "Text on a page", "Lao (lo)" = "ຂໍ້ຄວາມ" }

[[survey]]
type = "end_group"
name = "g_page"

[[survey]]
type = "begin_repeat"
name = "people"
label = { "English (en)" = "People", "Lao (lo)" = "ຄົນ" }

[[survey]]
type = "text"
name = "p_name"
label = { "English (en)" = "Name", "Lao (lo)" = "ຊື່" }

[[survey]]
type = "select_one abc"
name = "p_one"
label = { "English (en)" = "Choice", "Lao (lo)" = "ເລືອກ" }

[[survey]]
type = "end_repeat"
name = "people"

[[choices]]
list_name = "abc"
name = "a1"
label = { "English (en)" = "Alpha", "Lao (lo)" = "ກ" }

[[choices]]
list_name = "abc"
name = "b2"
label = { "English (en)" = "Banana nut", "Lao (lo)" = "ຂ" }

[[choices]]
list_name = "abc"
name = "c3"
label = { "English (en)" = "Cherry", "Lao (lo)" = "ຄ" }
"#;

/// An app with one form made from `text`, the store opened.
fn app_with_form(text: &str) -> App {
    let form = crate::form::load::load_str(text, std::path::Path::new("test.toml"))
        .expect("the test form loads");
    let entry = FormEntry {
        form: std::sync::Arc::new(form),
        sha256: crate::bundle::sha256_hex(text.as_bytes()),
        text: std::sync::Arc::new(text.as_bytes().to_vec()),
    };
    let mut app = App::new(vec![entry], Page::Busy, now());
    app.update(Action::Opened(Ok(Opened {
        enumerator: "enum-03".into(),
        device_id: "device-1".into(),
        listing: Vec::new(),
        tallies: Default::default(),
        forms: None,
        keys: super::action::KeysInForce {
            pack: None,
            recipients: 1,
            from_pack: false,
        },
        visits: Vec::new(),
    })));
    app
}

fn every_kind_app() -> App {
    let mut app = app_with_form(EVERY_KIND);
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.page, Page::Record(_)));
    app
}

/// The keys the property test presses.
const KEYS: &[(KeyCode, bool)] = &[
    (KeyCode::Enter, false),
    (KeyCode::Enter, false),
    (KeyCode::Enter, false),
    (KeyCode::Char(' '), false),
    (KeyCode::Up, false),
    (KeyCode::Down, false),
    (KeyCode::Tab, false),
    (KeyCode::BackTab, false),
    (KeyCode::PageDown, false),
    (KeyCode::PageUp, false),
    (KeyCode::Backspace, false),
    (KeyCode::Delete, false),
    (KeyCode::Char('u'), true),
    (KeyCode::Char('t'), true),
    (KeyCode::Char('f'), true),
    (KeyCode::Char('j'), true),
    (KeyCode::Char('d'), true),
    (KeyCode::Char('a'), false),
    (KeyCode::Char('b'), false),
    (KeyCode::Char('n'), false),
    (KeyCode::Char('1'), false),
    (KeyCode::Char('2'), false),
    (KeyCode::Char('.'), false),
    (KeyCode::Char('-'), false),
    (KeyCode::Char('y'), false),
    (KeyCode::Esc, false),
];

/// What the keys gave, per question name: texts seen in the editor,
/// choices highlighted when Space was pressed, today's date on Ctrl-T.
type Given = std::collections::HashMap<String, std::collections::HashSet<String>>;

fn note_given(app: &App, code: KeyCode, ctrl: bool, given: &mut Given) {
    let Page::Record(r) = &app.page else { return };
    if app.overlay.is_some() {
        return;
    }
    let Some(pos) = r.focused() else { return };
    let name = r.session.form().nodes[pos.node].name.clone();
    let set = given.entry(name).or_default();
    match (&r.editor, code) {
        (Editor::Text(input), _) => {
            set.insert(input.text.clone());
            if ctrl && code == KeyCode::Char('t') {
                set.insert(crate::form::dates::format_date(now().local_date()));
            }
        }
        (Editor::Choices(c), KeyCode::Char(' ')) => {
            if let (Some(&i), Some(list)) =
                (c.visible.get(c.cursor), r.session.form().list_of(pos.node))
            {
                set.insert(list.choices[i].name.clone());
            }
        }
        (Editor::Acknowledge, KeyCode::Char(' ')) => {
            set.insert("OK".into());
        }
        _ => {}
    }
}

/// Every value saved was given: a text typed, a choice picked.
fn check_given(answers: &Map<String, Value>, given: &Given) -> Result<(), String> {
    let empty = std::collections::HashSet::new();
    for (name, value) in answers {
        let set = given.get(name).unwrap_or(&empty);
        let was_given = |s: &str| s.is_empty() || set.iter().any(|g| g.trim() == s.trim());
        match value {
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(inner) => check_given(inner, given)?,
                        Value::String(s) if was_given(s) => {}
                        other => return Err(format!("{name}: {other} was never picked")),
                    }
                }
            }
            Value::String(s) if was_given(s) => {}
            Value::Number(n) => {
                let n = n.as_f64().unwrap_or(f64::NAN);
                if !set
                    .iter()
                    .any(|g| g.trim().parse::<f64>().is_ok_and(|g| g == n))
                {
                    return Err(format!("{name}: {n} was never typed (given: {set:?})"));
                }
            }
            Value::Null => {}
            other => {
                return Err(format!(
                    "{name}: {other} was never typed or picked ({set:?})"
                ));
            }
        }
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Random keys on every kind of question: every answer saved was
    /// typed or explicitly picked (Enter on a list never picks).
    #[test]
    fn every_saved_answer_was_typed_or_picked(
        keys in proptest::collection::vec(0..KEYS.len(), 1..120)
    ) {
        let mut app = every_kind_app();
        let mut given = Given::new();
        for k in keys {
            let (code, ctrl) = KEYS[k];
            if !matches!(app.page, Page::Record(_)) {
                break;
            }
            note_given(&app, code, ctrl, &mut given);
            let modifiers = if ctrl { KeyModifiers::CONTROL } else { KeyModifiers::NONE };
            let effect = app.update(Action::Key(KeyEvent::new(code, modifiers)));
            let draft = match effect {
                Some(Effect::Save { draft, .. })
                | Some(Effect::SaveAndQuit { draft, .. })
                | Some(Effect::Finalize { draft, .. }) => draft,
                _ => continue,
            };
            if let Err(e) = check_given(&draft.answers, &given) {
                proptest::prop_assert!(false, "{e}");
            }
        }
    }
}

/// The focused question's answer as it stands in the session.
fn raw(app: &App) -> String {
    let Page::Record(r) = &app.page else {
        panic!("not on a record")
    };
    r.session.raw_value(&r.focused().unwrap()).to_string()
}

#[test]
fn enter_on_a_list_never_picks() {
    let mut app = every_kind_app();
    type_text(&mut app, "x");
    saved(press(&mut app, KeyCode::Enter));
    // Optional: Enter leaves it empty and goes on, nothing saved.
    assert_eq!(focused_name(&app), "t_one");
    assert!(no_answer_saved(press(&mut app, KeyCode::Enter)));
    assert_eq!(focused_name(&app), "t_int");
    type_text(&mut app, "3");
    saved(press(&mut app, KeyCode::Enter));
    // Required: Enter says so and stays.
    assert_eq!(focused_name(&app), "t_one_req");
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert_eq!(focused_name(&app), "t_one_req");
    let Page::Record(r) = &app.page else { panic!() };
    assert_eq!(
        r.message(&r.focused().unwrap()).as_deref(),
        Some("This question needs an answer.")
    );
    assert_eq!(raw(&app), "");
    // Space picks the highlighted choice.
    let draft = saved(press(&mut app, KeyCode::Char(' ')));
    assert_eq!(draft.answers["t_one_req"], "a1");
    assert!(no_answer_saved(press(&mut app, KeyCode::Enter)));
    assert_eq!(focused_name(&app), "t_dec");
}

#[test]
fn space_in_a_filter_types_until_an_arrow_goes_into_the_list() {
    let mut app = every_kind_app();
    goto(&mut app, "t_one");
    type_text(&mut app, "banana nut");
    assert_eq!(raw(&app), "", "the space was part of the filter");
    // Down goes into the list on the first match, without moving.
    press(&mut app, KeyCode::Down);
    let draft = saved(press(&mut app, KeyCode::Char(' ')));
    assert_eq!(draft.answers["t_one"], "b2");
    // Typing goes back to the filter, where Space is a space again.
    type_text(&mut app, "x ");
    let Page::Record(r) = &app.page else { panic!() };
    let Editor::Choices(c) = &r.editor else {
        panic!()
    };
    assert_eq!(c.filter.text, "banana nutx ");
    assert!(!c.browsing);
    assert_eq!(raw(&app), "b2");
}

#[test]
fn every_answer_can_be_cleared_and_the_clearing_is_saved() {
    let mut app = every_kind_app();
    // A text: Ctrl-U clears what is saved, at once.
    type_text(&mut app, "Camp");
    saved(press(&mut app, KeyCode::Enter));
    goto(&mut app, "t_text");
    let draft = saved(app.update(ctrl('u')));
    assert!(!draft.answers.contains_key("t_text") || draft.answers["t_text"] == "");
    // A single choice: Ctrl-U, and Delete.
    goto(&mut app, "t_one");
    saved(press(&mut app, KeyCode::Char(' ')));
    assert_eq!(raw(&app), "a1");
    saved(app.update(ctrl('u')));
    assert_eq!(raw(&app), "");
    saved(press(&mut app, KeyCode::Char(' ')));
    saved(press(&mut app, KeyCode::Delete));
    assert_eq!(raw(&app), "");
    // With a filter typed, Ctrl-U clears the filter first.
    saved(press(&mut app, KeyCode::Char(' ')));
    type_text(&mut app, "ch");
    assert!(app.update(ctrl('u')).is_none());
    assert_eq!(raw(&app), "a1");
    saved(app.update(ctrl('u')));
    assert_eq!(raw(&app), "");
    // Ticks, acknowledge.
    goto(&mut app, "t_many");
    saved(press(&mut app, KeyCode::Char(' ')));
    saved(app.update(ctrl('u')));
    assert_eq!(raw(&app), "");
    goto(&mut app, "t_ack");
    saved(press(&mut app, KeyCode::Char(' ')));
    assert_eq!(raw(&app), "OK");
    saved(press(&mut app, KeyCode::Delete));
    assert_eq!(raw(&app), "");
}

#[test]
fn ctrl_t_answers_today_on_a_date() {
    let mut app = every_kind_app();
    goto(&mut app, "t_date");
    let draft = saved(app.update(ctrl('t')));
    assert_eq!(draft.answers["t_date"], "2026-11-22");
    // Not on other questions.
    goto(&mut app, "t_text");
    assert!(app.update(ctrl('t')).is_none());
    assert_eq!(raw(&app), "");
    let Page::Record(r) = &app.page else { panic!() };
    assert_eq!(super::view::hint_for_tests(r), super::keymap::Hints::Text);
    goto(&mut app, "t_date");
    let Page::Record(r) = &app.page else { panic!() };
    assert_eq!(super::view::hint_for_tests(r), super::keymap::Hints::Date);
}

#[test]
fn number_fields_show_no_number_before_one_is_typed() {
    let mut app = every_kind_app();
    goto(&mut app, "t_int");
    let screen = format!("{:?}", draw(&app, 80, 24).backend());
    let answer_line = screen
        .lines()
        .find(|l| l.contains("   > "))
        .expect("the answer line");
    assert!(
        !answer_line.chars().any(|c| c.is_ascii_digit()),
        "{answer_line}"
    );
    goto(&mut app, "t_dec");
    let screen = format!("{:?}", draw(&app, 80, 24).backend());
    let answer_line = screen.lines().find(|l| l.contains("   > ")).unwrap();
    assert!(
        !answer_line.chars().any(|c| c.is_ascii_digit()),
        "{answer_line}"
    );
}

#[test]
fn the_question_count_stays_put_as_questions_become_relevant() {
    // On the site form, answers open and close questions: "of m" stays.
    let mut app = record("dtm_site_assessment", json!({}));
    let Page::Record(r) = &app.page else { panic!() };
    let (_, total) = r.progress();
    goto(&mut app, "m1725_meta_interview_type");
    let Page::Record(r) = &app.page else { panic!() };
    let (at, m) = r.progress();
    assert_eq!(m, total);
    // Picking "in person at the site" makes the GPS question required,
    // other answers open whole sections: neither number moves.
    press(&mut app, KeyCode::Char(' '));
    let Page::Record(r) = &app.page else { panic!() };
    assert_eq!(r.progress(), (at, total));
    let mut app = record("dtm_site_assessment", site_without(&["agencies_present"]));
    let Page::Record(r) = &app.page else { panic!() };
    assert_eq!(r.progress().1, total, "a complete record counts the same");
    to_add_repeat(&mut app);
    let Page::Record(r) = &app.page else { panic!() };
    assert!(r.progress().0 <= total);
}

#[test]
fn the_review_lists_every_answer_in_the_language_and_jumps_to_it() {
    let mut app = record("dtm_site_assessment", Value::Object(site_complete()));
    app.update(ctrl('f'));
    let Page::Record(r) = &app.page else { panic!() };
    let items = r.review_items();
    assert_eq!(items[0], super::review::ReviewItem::Finalize);
    // Choice labels, not names.
    let sex = items
        .iter()
        .find_map(|i| match i {
            super::review::ReviewItem::Question { entry, answer }
                if r.session.form().nodes[entry.pos.node].name == "m1470_meta_enum_sex" =>
            {
                Some(answer.clone())
            }
            _ => None,
        })
        .expect("the enumerator's sex is listed");
    let value = site_complete()["m1470_meta_enum_sex"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(sex, value, "a label, not the name");
    let frame = format!("{:?}", draw(&app, 80, 24).backend());
    assert!(frame.contains("Every question and its answer"), "{frame}");
    // Scrolls and jumps: End, then Enter goes to the last question.
    press(&mut app, KeyCode::End);
    let Some(Overlay::Review { cursor }) = app.overlay.clone() else {
        panic!()
    };
    assert_eq!(cursor, items.len() - 1);
    let frame = format!("{:?}", draw(&app, 80, 24).backend());
    let super::review::ReviewItem::Question { entry, .. } = &items[cursor] else {
        panic!()
    };
    assert!(
        frame.contains(&entry.label[..entry.label.len().min(20)]),
        "{frame}"
    );
    assert!(no_answer_saved(press(&mut app, KeyCode::Enter)));
    assert!(app.overlay.is_none());
    let Page::Record(r) = &app.page else { panic!() };
    assert_eq!(r.focused().as_ref(), Some(&entry.pos));
    // In Lao, the labels are Lao.
    app.update(Action::Key(KeyEvent::new(
        KeyCode::F(2),
        KeyModifiers::NONE,
    )));
    let Page::Record(r) = &app.page else { panic!() };
    let lao = r.review_items();
    assert_ne!(lao, items);
}

#[test]
fn problems_wrap_their_reasons_instead_of_losing_their_end() {
    let mut app = record("dtm_site_assessment", site_without(&["wash_num_latrines"]));
    app.update(ctrl('f'));
    let Page::Record(r) = &app.page else { panic!() };
    let Some(super::review::ReviewItem::Problem { text, .. }) = r.review_items().first().cloned()
    else {
        panic!("a problem first")
    };
    let frame = draw(&app, 60, 20);
    let shown: String = format!("{:?}", frame.backend())
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '"' || c == '│' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ");
    let last = text.split_whitespace().last().unwrap();
    assert!(
        text.chars().count() > 56,
        "long enough to need wrapping: {text}"
    );
    assert!(shown.contains(last), "'{last}' is on screen:\n{shown}");
}

#[test]
fn a_village_not_in_the_list_is_reached_with_enter() {
    let mut app = record(
        "dtm_site_assessment",
        site_without(&["m0306_meta_adm4_pcode", "m0306_meta_adm4_pcode_other"]),
    );
    goto(&mut app, "m0306_meta_adm4_pcode");
    assert!(
        no_answer_saved(press(&mut app, KeyCode::Enter)),
        "nothing picked"
    );
    assert_eq!(focused_name(&app), "m0306_meta_adm4_pcode_other");
    // A village picked by mistake is cleared, and the path opens again.
    goto(&mut app, "m0306_meta_adm4_pcode");
    saved(press(&mut app, KeyCode::Char(' ')));
    saved(app.update(ctrl('u')));
    press(&mut app, KeyCode::Enter);
    assert_eq!(focused_name(&app), "m0306_meta_adm4_pcode_other");
}

// ----- issue 15 point 8: messages in the chosen language, whole --------

#[test]
fn saved_is_worded_in_the_language_chosen_after_it() {
    let mut app = record("dtm_site_assessment", json!({}));
    goto(&mut app, "m0489_meta_survey_round");
    type_text(&mut app, "R07");
    saved(press(&mut app, KeyCode::Enter));
    app.update(Action::Saved(Ok(())));
    assert_eq!(app.status_line().unwrap().0, "Saved 09:00:00");
    // F2 on the record: the form's next language (Lao); the time stays.
    press(&mut app, KeyCode::F(2));
    assert_eq!(app.language, LAO);
    assert_eq!(app.status_line().unwrap().0, "ບັນທຶກແລ້ວ 09:00:00");
    assert!(screen_text(&app, 80, 24).contains("ບັນທຶກແລ້ວ 09:00:00"));
}

#[test]
fn a_long_status_wraps_onto_more_rows_instead_of_losing_its_end() {
    let mut app = home();
    let opened = opened_with(&app, Vec::new());
    app.update(Action::Acked(Ok((
        Receipted {
            by: "supervisor-vientiane-02".into(),
            purged: 3,
            bundle_id: "enum-07-000001-91a2c3d4e5f60718".into(),
            verdicts: 0,
            approved: 0,
            returned: 0,
            received: 0,
        },
        opened,
    ))));
    for (w, h) in [(80, 24), (60, 20)] {
        let shown = screen_text(&app, w, h);
        // The last words are on screen, on a row of their own if need be.
        assert!(shown.contains("purged from this"), "{shown}");
        assert!(shown.contains("laptop"), "{shown}");
        assert!(shown.contains("Enter open"), "the key hints stay: {shown}");
    }
    let mut lao = app;
    lao.language = LAO.into();
    let shown = screen_text(&lao, 80, 24);
    assert!(shown.contains("ຄອມພິວເຕີນີ້ແລ້ວ"), "{shown}");
}

#[test]
fn confirmations_name_what_they_delete() {
    let mut app = home();
    press(&mut app, KeyCode::Delete);
    let shown = screen_text(&app, 80, 24);
    assert!(
        shown.contains("Sanamxay evacuation site 2026-11-20")
            && shown.contains("DTM Site Assessment")
            && shown.contains("2026-11-21 08:00"),
        "{shown}"
    );
    press(&mut app, KeyCode::Char('y'));
    app.update(Action::Deleted(Ok(
        "01a00000-0000-7000-8000-000000000001".into()
    )));
    assert!(
        app.status_line()
            .unwrap()
            .0
            .contains("Sanamxay evacuation site 2026-11-20")
    );

    let mut app = record("dtm_site_assessment", Value::Object(site_complete()));
    to_add_repeat(&mut app);
    press(&mut app, KeyCode::Char('y'));
    app.update(ctrl('d'));
    assert_eq!(app.overlay, Some(Overlay::ConfirmRemove));
    let shown = screen_text(&app, 80, 24);
    assert!(shown.contains("Remove entry "), "{shown}");
    assert!(!shown.contains("{0}") && !shown.contains("{1}"), "{shown}");
}

// ----- issue 15 point 11: the home page keeps a history -----------------

#[test]
fn the_home_page_keeps_what_was_sent_and_receipted_after_a_purge() {
    let mut app = home();
    let mut tallies = crate::store::Tallies::new();
    tallies.insert(
        "dtm_flow_monitoring".into(),
        crate::store::FormTally {
            sent: 3,
            receipted: 2,
            last_export: "2026-11-20T16:00:00.000+07:00".into(),
            last_receipt: "2026-11-21T10:00:00.000+07:00".into(),
            returned: 0,
        },
    );
    let listing = Vec::new();
    let opened = Opened {
        tallies,
        ..opened_with(&app, listing)
    };
    app.update(Action::Acked(Ok((
        Receipted {
            by: "sup-01".into(),
            purged: 2,
            bundle_id: "enum-03-000001".into(),
            verdicts: 0,
            approved: 0,
            returned: 0,
            received: 0,
        },
        opened,
    ))));
    assert_eq!(app.counts("dtm_flow_monitoring"), (0, 0, 0));
    for (w, h) in [(80, 24), (60, 20)] {
        let shown = screen_text(&app, w, h);
        assert!(
            shown.contains("sent 3, last 2026-11-20 · receipted 2, last 2026-11-21"),
            "{shown}"
        );
    }
    app.language = LAO.into();
    let shown = screen_text(&app, 80, 24);
    assert!(shown.contains("ສົ່ງແລ້ວ 3"), "{shown}");
}

// ----- issue 15 point 5: month-year and year dates on screen -----------

const MONTHS: &str = r#"
[settings]
form_id = "months"
version = "1"
form_title = { "English (en)" = "Months", "Lao (lo)" = "ເດືອນ" }
default_language = "English (en)"

[[survey]]
type = "date"
name = "d_month"
appearance = "month-year"
label = { "English (en)" = "Arrived (month and year)", "Lao (lo)" = "ມາຮອດ (ເດືອນ ແລະ ປີ)" }

[[survey]]
type = "date"
name = "d_year"
appearance = "year"
label = { "English (en)" = "Born (year)", "Lao (lo)" = "ເກີດ (ປີ)" }

[[survey]]
type = "date"
name = "d_day"
label = { "English (en)" = "Interview date", "Lao (lo)" = "ວັນທີສຳພາດ" }
"#;

/// A draft of the MONTHS form holding `answers`, opened.
fn months_app(answers: Value) -> App {
    let mut app = app_with_form(MONTHS);
    let sha256 = crate::bundle::sha256_hex(MONTHS.as_bytes());
    let mut draft = Draft::new("months", "1", &sha256, &now().to_string());
    draft.answers = answers.as_object().cloned().unwrap_or_default();
    app.update(Action::DraftLoaded(Ok((draft, None))));
    assert!(matches!(app.page, Page::Record(_)));
    app
}

fn editor_text(app: &App) -> String {
    let Page::Record(r) = &app.page else {
        panic!("not on a record")
    };
    match &r.editor {
        Editor::Text(input) => input.text.clone(),
        other => panic!("not a text editor: {other:?}"),
    }
}

#[test]
fn month_year_and_year_dates_are_typed_and_shown_in_their_shape() {
    let mut app = months_app(json!({"d_month": "2026-09-01", "d_year": "2025-01-01"}));
    // Resumed: the stored dates are shown as they are typed.
    goto(&mut app, "d_month");
    assert_eq!(editor_text(&app), "2026-09");
    assert!(screen_text(&app, 80, 24).contains("> 2026-09 "));
    // Leaving it unchanged changes nothing.
    assert!(no_answer_saved(press(&mut app, KeyCode::PageDown)));
    assert_eq!(focused_name(&app), "d_year");
    assert_eq!(editor_text(&app), "2025");
    // The review page shows them so too.
    app.update(ctrl('f'));
    let shown = screen_text(&app, 80, 24);
    assert!(
        shown.contains("2026-09") && !shown.contains("2026-09-01"),
        "{shown}"
    );
    assert!(
        shown.contains(": 2025") && !shown.contains("2025-01-01"),
        "{shown}"
    );
    press(&mut app, KeyCode::Esc);

    // Empty, the editor shows the shape to type; Ctrl-T gives this
    // month, this year, today.
    for (name, shape, today) in [
        ("d_month", "YYYY-MM", "2026-11"),
        ("d_year", "YYYY", "2026"),
        ("d_day", "YYYY-MM-DD", "2026-11-22"),
    ] {
        goto(&mut app, name);
        app.update(ctrl('u'));
        assert_eq!(editor_text(&app), "");
        let shown = screen_text(&app, 80, 24);
        assert!(shown.contains(&format!(">  {shape} ")), "{name}: {shown}");
        if shape == "YYYY-MM-DD" {
            assert!(!shown.contains("YYYY-MM "), "{shown}");
        }
        app.update(ctrl('t'));
        assert_eq!(editor_text(&app), today, "{name}");
    }
}

// ----- issue 16: the review page is made when it opens -----------------

#[test]
fn the_review_page_is_made_when_it_opens_and_again_in_another_language() {
    let mut app = record("dtm_site_assessment", Value::Object(site_complete()));
    assert!(app.review.is_empty());
    app.update(ctrl('f'));
    let Page::Record(r) = &app.page else { panic!() };
    assert_eq!(app.review, r.review_items());
    let english = app.review.clone();
    press(&mut app, KeyCode::Down);
    assert_eq!(app.overlay, Some(Overlay::Review { cursor: 1 }));
    assert_eq!(app.review, english, "kept while moving in it");
    app.set_language(LAO);
    let Page::Record(r) = &app.page else { panic!() };
    assert_ne!(app.review, english);
    assert_eq!(app.review, r.review_items());
}

/// A round pack's forms, given when the store opens, replace the forms
/// offered before (the folder's); without a pack they stay.
#[test]
fn the_forms_of_an_installed_pack_replace_the_folders_when_the_store_opens() {
    let app = home();
    let before: Vec<String> = app.forms.iter().map(|f| f.form.id.clone()).collect();
    assert!(before.len() > 1);
    let mut app = App::new(forms(), Page::Busy, now());
    let only = vec![forms().remove(0)];
    app.update(Action::Opened(Ok(Opened {
        forms: Some(only.clone()),
        ..home().who.expect("opened")
    })));
    assert_eq!(app.forms, only);
    let app = home();
    let after: Vec<String> = app.forms.iter().map(|f| f.form.id.clone()).collect();
    assert_eq!(after, before);
}

/// `p` on the home page asks for a round pack's file; taking it replaces
/// the forms when the pack has some and says what was installed; a pack
/// refused says why and leaves the forms.
#[test]
fn a_round_pack_is_taken_from_the_home_page() {
    let mut app = home();
    let before = app.forms.clone();
    assert!(press(&mut app, KeyCode::Char('p')).is_none());
    assert!(matches!(app.overlay, Some(Overlay::Pack { .. })));
    type_text(&mut app, "/media/usb/fieldkit-pack-dtm-lao-000002.zip");
    match press(&mut app, KeyCode::Enter) {
        Some(Effect::ImportPack { file }) => assert_eq!(
            file,
            PathBuf::from("/media/usb/fieldkit-pack-dtm-lao-000002.zip")
        ),
        other => panic!("expected ImportPack, got {other:?}"),
    }
    app.update(Action::PackImported(Err(
        "the pack did not verify: a replay: pack 2 of 'dtm-lao' is already installed here".into(),
    )));
    let (line, _) = app.status_line().unwrap();
    assert!(
        line.contains("Nothing was installed") && line.contains("a replay"),
        "{line}"
    );
    assert_eq!(app.forms, before);

    let only = vec![forms().remove(0)];
    let opened = Opened {
        forms: Some(only.clone()),
        ..app.who.clone().expect("opened")
    };
    app.update(Action::PackImported(Ok((
        "pack 2 of 'dtm-lao' (round R2)".into(),
        "1 file(s) added, 0 changed, 0 removed, 6 unchanged".into(),
        opened,
    ))));
    assert_eq!(app.forms, only);
    let (line, _) = app.status_line().unwrap();
    assert!(
        line.contains("pack 2 of 'dtm-lao' (round R2) installed: 1 file(s) added"),
        "{line}"
    );
    // Esc closes the dialog without taking anything.
    press(&mut app, KeyCode::Char('p'));
    assert!(press(&mut app, KeyCode::Esc).is_none());
    assert!(app.overlay.is_none());
}

/// A laptop whose forms come only from its round pack starts without a
/// forms folder: once unlocked it says how to get forms, and the home
/// page takes keys without a form to open.
#[test]
fn a_laptop_without_forms_says_how_to_get_them() {
    let mut app = App::new(Vec::new(), Page::Busy, now());
    app.update(Action::Opened(Ok(Opened {
        forms: None,
        listing: Vec::new(),
        ..home().who.expect("opened")
    })));
    let (line, problem) = app.status_line().unwrap();
    assert!(problem, "{line}");
    assert!(line.contains("take the round pack (p)"), "{line}");
    for key in [KeyCode::Enter, KeyCode::Down, KeyCode::Tab, KeyCode::Enter] {
        press(&mut app, key);
    }
    assert!(matches!(app.page, Page::Home(_)));
    // A pack's forms arrive: offered, and nothing more is said of it.
    let mut app = App::new(Vec::new(), Page::Busy, now());
    app.update(Action::Opened(Ok(Opened {
        forms: Some(forms()),
        ..home().who.expect("opened")
    })));
    assert!(app.status_line().is_none());
    assert_eq!(app.forms.len(), forms().len());
}

/// With the round's assignments, the home page lists the sites still to
/// visit under how many are done; Tab reaches them, and Enter on one
/// starts a record of the form that updates its list, the site answered.
#[test]
fn the_home_page_lists_the_rounds_visits_and_starts_one() {
    const VISIT: &str = r#"[settings]
form_id = "site_visit"
version = "1"

[entities]
list_name = "sites"
entity_id = "${site}"

[[survey]]
type = "text"
name = "site"
label = "Site code"

[[survey]]
type = "text"
name = "where"
label = "Where"
default = "concat('near ', ${site})"

[[survey]]
type = "integer"
name = "ind_total"
label = "Individuals"
save_to = "last_ind_total"
"#;
    let mut app = app_with_form(VISIT);
    let visit = |name: &str, label: &str, done: bool| super::action::ToVisit {
        list: "sites".into(),
        name: name.into(),
        label: label.into(),
        done,
    };
    let opened = Opened {
        visits: vec![
            visit("site-a", "Ban Nong camp", true),
            visit("site-b", "Ban Phon school", false),
            visit("site-c", "", false),
        ],
        ..app.who.clone().expect("opened")
    };
    app.update(Action::Opened(Ok(opened)));
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("To visit this round: 1 of 3 done"), "{text}");
    assert!(text.contains("Ban Phon school · site-b"), "{text}");
    assert!(
        text.contains("site-c") && !text.contains("Ban Nong camp"),
        "{text}"
    );
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    let Page::Record(r) = &app.page else {
        panic!("a record is started: {}", screen_text(&app, 80, 24));
    };
    let site = crate::form::Pos {
        path: Vec::new(),
        node: r.session.form().find("site").expect("site"),
    };
    assert_eq!(r.session.raw_value(&site), "site-b");
    // A default that depends on the site is worked out with it.
    let at = crate::form::Pos {
        path: Vec::new(),
        node: r.session.form().find("where").expect("where"),
    };
    assert_eq!(r.session.raw_value(&at), "near site-b");
    // A list no form updates: said, and nothing starts.
    let mut app = app_with_form(VISIT);
    let opened = Opened {
        visits: vec![super::action::ToVisit {
            list: "villages".into(),
            ..visit("v-1", "Ban Na", false)
        }],
        ..app.who.clone().expect("opened")
    };
    app.update(Action::Opened(Ok(opened)));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.page, Page::Home(_)));
    let (line, problem) = app.status_line().expect("said");
    assert!(
        problem && line.contains("No form here updates the list 'villages'"),
        "{line}"
    );
}

mod paradata;
mod returned;
