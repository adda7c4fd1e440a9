//! A draft resumes and finalizes with the form text it was started on
//! (issue 16 point 1), whatever the forms folder holds by then: the store
//! keeps that text when the draft is first saved. A draft of an older
//! store, whose text is gone, moves to the form now offered and says so.
//! Both finalize, export, and verify.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fieldkit::form::Form;
use fieldkit::store::Draft;
use fieldkit::store::profile::Home;
use fieldkit::tui::action::{Action, Effect};
use fieldkit::tui::app::{App, Page};
use fieldkit::tui::words::Lang;
use fieldkit::tui::{Runtime, Start};

use crate::support::{Enumerator, stderr};

const FORM: &str = "dtm_flow_monitoring";

/// A copy of the shipped forms, the flow-monitoring form's text changed
/// by `edit` (same id).
fn forms_folder(root: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
    for file in std::fs::read_dir(&shipped).unwrap().flatten() {
        let mut bytes = std::fs::read(file.path()).unwrap();
        if file.file_name().to_string_lossy() == format!("{FORM}.toml") {
            bytes = edit(&String::from_utf8(bytes).unwrap()).into_bytes();
        }
        std::fs::write(dir.join(file.file_name()), bytes).unwrap();
    }
    dir
}

/// The screen's model and loop on `forms`, unlocked.
fn screen(e: &Enumerator, forms: &Path) -> (App, Runtime) {
    let found = fieldkit::catalog::discover(Some(forms)).unwrap();
    let (app, runtime) = fieldkit::tui::start(Start {
        home: Home::new(e.home.clone()),
        forms: found.into_iter().map(|(_, f)| f).collect(),
        passphrase_file: Some(e.passphrase_file.clone()),
        max_attachment_mb: fieldkit::form::media::DEFAULT_MAX_ATTACHMENT_MB,
    })
    .unwrap();
    assert!(matches!(app.page, Page::Home(_)), "{:?}", app.page);
    (app, runtime)
}

fn offered(app: &App) -> Arc<Form> {
    let entry = app.forms.iter().find(|f| f.form.id == FORM).unwrap();
    Arc::clone(&entry.form)
}

/// Loads draft `id` through the loop and opens it: the form it is on.
fn resume(app: &mut App, runtime: &mut Runtime, id: &str) -> Arc<Form> {
    let loaded = runtime.run_effect(Effect::Load { id: id.into() }).unwrap();
    app.update(loaded);
    let Page::Record(view) = &app.page else {
        panic!("the draft did not open: {:?}", app.page);
    };
    Arc::clone(view.session.form())
}

/// Finalizes the open draft through the loop, then exports and verifies
/// the bundle with the real binary.
fn finalize_export_verify(e: &Enumerator, mut app: App, mut runtime: Runtime) {
    let Page::Record(view) = &mut app.page else {
        panic!("no record open");
    };
    let (draft, values) = view.final_record(fieldkit::clock::now());
    let form = Arc::clone(view.session.form());
    let done = runtime.run_effect(Effect::Finalize {
        draft,
        values,
        form,
    });
    assert!(matches!(done, Some(Action::Finalized(Ok(())))), "{done:?}");
    drop(runtime);
    let usb = e.dir.path().join("usb");
    let bundle = crate::bundle::export(e, &usb);
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let out = crate::support::fieldkit(&[
        "verify",
        bundle.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_draft_resumes_and_finalizes_on_the_form_text_it_was_started_on() {
    let e = Enumerator::init("enum-05");
    let first = forms_folder(e.dir.path(), "forms-1", |t| t.to_string());
    let second = forms_folder(e.dir.path(), "forms-2", |t| {
        format!("{t}\n# round 2: the same questions, another text\n")
    });

    let (app, mut runtime) = screen(&e, &first);
    let form = offered(&app);
    let mut draft = Draft::start(&form, &fieldkit::clock::now().to_string());
    draft.answers = serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    let saved = runtime.run_effect(Effect::Save {
        draft: draft.clone(),
        form: Arc::clone(&form),
        detail: String::new(),
    });
    assert!(matches!(saved, Some(Action::Saved(Ok(())))), "{saved:?}");
    drop(runtime);

    let (mut app, mut runtime) = screen(&e, &second);
    assert_ne!(offered(&app).sha256(), form.sha256(), "the text changed");
    let resumed = resume(&mut app, &mut runtime, &draft.id);
    assert_eq!(resumed.sha256(), form.sha256(), "resumed on its own text");
    assert_eq!(resumed.text(), form.text());
    finalize_export_verify(&e, app, runtime);
}

#[test]
fn a_draft_whose_text_is_gone_moves_to_the_form_offered_and_says_so() {
    let e = Enumerator::init("enum-06");
    let first = forms_folder(e.dir.path(), "forms-1", |t| t.to_string());
    let second = forms_folder(e.dir.path(), "forms-2", |t| format!("{t}\n# changed\n"));
    let (app, runtime) = screen(&e, &first);
    let form = offered(&app);
    drop(runtime);
    // As an older fieldkit saved drafts: the form text not kept.
    let draft = Draft::start(&form, &fieldkit::clock::now().to_string());
    e.open().save_draft(&draft, "").unwrap();

    let (mut app, mut runtime) = screen(&e, &second);
    let now_offered = offered(&app);
    let resumed = resume(&mut app, &mut runtime, &draft.id);
    assert_eq!(resumed.sha256(), now_offered.sha256());
    let said = app
        .status
        .as_ref()
        .map(|n| n.text(Lang::En))
        .unwrap_or_default();
    assert!(said.contains("no longer on this laptop"), "{said}");
    finalize_export_verify(&e, app, runtime);
}
