//! The file picker without a terminal: a file question opens it, a
//! folder's listing is shown folders first with sizes and types, typing
//! filters, a file over the cap or of another type is refused with its
//! reason, a pick asks the loop to keep the file and the answer becomes
//! its name; a replaced or cleared attachment is removed. Drawn at 80x24
//! and 60x20, in English and Lao.

use std::path::PathBuf;
use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Action, App, Effect, LAO, Opened, Overlay, Page};
use super::picker::FolderEntry;
use crate::form::dates::parse_datetime;

const FORM: &str = r#"
[settings]
form_id = "media_check"
version = "1"
form_title = "Media check"

[[survey]]
type = "image"
name = "photo"
label = "Photo of the site"
"#;

fn app() -> App {
    let form = crate::form::load_str(FORM, std::path::Path::new("m.toml")).expect("form");
    let entries = super::form_entries(vec![Arc::new(form)]);
    let now = parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("clock");
    let mut app = App::new(entries, Page::Busy, now);
    app.update(Action::Opened(Ok(Opened {
        enumerator: "enum-03".into(),
        device_id: "device-1".into(),
        listing: Vec::new(),
        tallies: Default::default(),
        forms: None,
        keys: Default::default(),
        visits: Vec::new(),
    })));
    app.start_record(0);
    app
}

fn key(app: &mut App, code: KeyCode) -> Option<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn text(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|f| super::view::render(app, f))
        .expect("draw");
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

fn folder() -> PathBuf {
    PathBuf::from("/home/somchai")
}

/// The picker open on a folder of a sub-folder, a big photo, a small one
/// and a text file.
fn open() -> App {
    let mut app = app();
    let effect = key(&mut app, KeyCode::Char(' '));
    assert!(
        matches!(effect, Some(Effect::ListFolder { folder: None })),
        "{effect:?}"
    );
    let entry = |name: &str, folder: bool, size: u64| FolderEntry {
        name: name.into(),
        folder,
        size,
    };
    app.update(Action::Listed(Ok((
        folder(),
        vec![
            entry("site.jpg", false, 40_000),
            entry("notes.txt", false, 10),
            entry("Photos", true, 0),
            entry("big.jpg", false, 11 * 1024 * 1024),
        ],
    ))));
    app
}

#[test]
fn the_picker_lists_folders_first_with_sizes_and_types_and_filters() {
    let mut app = open();
    let screen = text(&app, 80, 24);
    assert!(screen.contains("Attach a file"), "{screen}");
    assert!(screen.contains("/home/somchai"), "{screen}");
    assert!(screen.contains("Takes: .jpg .jpeg"), "{screen}");
    let at = |s: &str| screen.find(s).unwrap_or_else(|| panic!("{s}: {screen}"));
    assert!(at("../") < at("Photos/") && at("Photos/") < at("big.jpg"));
    assert!(at("big.jpg") < at("notes.txt") && at("notes.txt") < at("site.jpg"));
    assert!(screen.contains("39.1 KB") && screen.contains("11.0 MB"));
    assert!(screen.contains("JPG") && screen.contains("TXT"));
    for c in "SITE".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let screen = text(&app, 80, 24);
    assert!(screen.contains("site.jpg") && !screen.contains("notes.txt"));
    assert!(!screen.contains("../"), "the filter hides the way up");
    // Lao, and a small terminal.
    app.set_language(LAO);
    let screen = text(&app, 80, 24);
    assert!(screen.contains("ແນບໄຟລ໌"), "{screen}");
    let small = text(&app, 60, 20);
    assert!(small.contains("site.jpg"), "{small}");
}

#[test]
fn a_folder_opens_up_goes_up_and_esc_cancels() {
    let mut app = open();
    key(&mut app, KeyCode::Down);
    let effect = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&effect, Some(Effect::ListFolder { folder: Some(f) }) if *f == folder().join("Photos")),
        "{effect:?}"
    );
    key(&mut app, KeyCode::Up);
    let effect = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&effect, Some(Effect::ListFolder { folder: Some(f) }) if f.as_path() == std::path::Path::new("/home")),
        "{effect:?}"
    );
    assert!(key(&mut app, KeyCode::Esc).is_none());
    assert!(app.overlay.is_none());
}

#[test]
fn a_file_too_large_or_of_another_type_is_refused_with_why() {
    let mut app = open();
    // ../, Photos/, big.jpg
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    assert!(key(&mut app, KeyCode::Enter).is_none());
    let screen = text(&app, 80, 24);
    assert!(screen.contains("over the 10 MB"), "{screen}");
    key(&mut app, KeyCode::Down);
    assert!(key(&mut app, KeyCode::Enter).is_none());
    let screen = text(&app, 80, 24);
    assert!(screen.contains("it takes .jpg"), "{screen}");
    // Said in Lao when the screen is in Lao.
    key(&mut app, KeyCode::Esc);
    app.set_language(LAO);
    key(&mut app, KeyCode::Char(' '));
    app.update(Action::Listed(Ok((
        folder(),
        vec![FolderEntry {
            name: "notes.txt".into(),
            folder: false,
            size: 10,
        }],
    ))));
    key(&mut app, KeyCode::Down);
    assert!(key(&mut app, KeyCode::Enter).is_none());
    let screen = text(&app, 80, 24);
    assert!(screen.contains("ຮັບສະເພາະ"), "{screen}");
}

#[test]
fn a_pick_becomes_the_answer_and_a_replaced_or_cleared_one_is_removed() {
    let mut app = open();
    for _ in 0..4 {
        key(&mut app, KeyCode::Down);
    }
    let Some(Effect::Attach {
        path,
        pos,
        record_id,
        replaced,
        ..
    }) = key(&mut app, KeyCode::Enter)
    else {
        panic!("no attach");
    };
    assert_eq!(path, folder().join("site.jpg"));
    assert_eq!(replaced, None);
    // While the file is read, keys wait.
    assert!(key(&mut app, KeyCode::Up).is_none());
    let name = "photo-0123456789ab.jpg".to_string();
    let effect = app.update(Action::Attached(Ok((pos.clone(), name.clone(), 40_000))));
    let Some(Effect::Save { draft, .. }) = effect else {
        panic!("not saved: {effect:?}");
    };
    assert_eq!(draft.id, record_id);
    assert_eq!(draft.answers["photo"], name);
    assert!(app.overlay.is_none());
    let screen = text(&app, 80, 24);
    assert!(
        screen.contains("photo-0123456789ab.jpg (39.1 KB)"),
        "{screen}"
    );
    // Picked again: the old one is named to be removed.
    key(&mut app, KeyCode::Char(' '));
    assert!(app.last_folder() == Some(&folder()));
    app.update(Action::Listed(Ok((
        folder(),
        vec![FolderEntry {
            name: "other.png".into(),
            folder: false,
            size: 5,
        }],
    ))));
    key(&mut app, KeyCode::Down);
    let effect = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&effect, Some(Effect::Attach { replaced: Some(r), .. }) if *r == name),
        "{effect:?}"
    );
    // A failure is said in the picker, which stays open.
    app.update(Action::Attached(Err("cannot read it".into())));
    assert!(matches!(app.overlay, Some(Overlay::Picker(_))));
    assert!(text(&app, 80, 24).contains("cannot read it"));
    key(&mut app, KeyCode::Esc);
    // Cleared: the attachment is removed, then the draft saved.
    let effect = app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    let Some(Effect::Detach {
        name: gone, then, ..
    }) = effect
    else {
        panic!("not detached: {effect:?}");
    };
    assert_eq!(gone, name);
    assert!(matches!(*then, Effect::Save { .. }));
    assert!(text(&app, 80, 24).contains("no file attached"));
}

#[test]
fn a_resumed_draft_asks_for_its_attachments_sizes_and_shows_them() {
    let mut app = app();
    let Page::Record(r) = &app.page else {
        panic!("no record");
    };
    let mut draft = r.draft.clone();
    draft
        .answers
        .insert("photo".into(), "photo-0123456789ab.jpg".into());
    let effect = app.update(Action::DraftLoaded(Ok((draft.clone(), None))));
    assert!(
        matches!(&effect, Some(Effect::AttachmentSizes { record_id }) if *record_id == draft.id),
        "{effect:?}"
    );
    app.update(Action::AttachmentSizes(Ok(vec![(
        "photo-0123456789ab.jpg".into(),
        2 * 1024 * 1024,
    )])));
    let screen = text(&app, 80, 24);
    assert!(
        screen.contains("photo-0123456789ab.jpg (2.0 MB)"),
        "{screen}"
    );
}
