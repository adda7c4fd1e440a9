//! `fieldkit fill FORM --answers FILE [--dry-run] [--finalize]`: enter
//! records without the TUI, one JSON object or JSON Lines (one record per
//! line), each run through the form engine and reported as a JSON line.
//! On a laptop with a round pack installed, FORM is one of the pack's.
//! A file question (image, audio, video, file) is answered with the path
//! of the file: read once, checked, kept encrypted, answered by its name.
//! `--record ID` corrects a draft (one a supervisor returned): the answers
//! given go over its own, and it is saved, or finalized as its version.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use super::{Globals, Outcome, print_json};
use crate::files::Picked;
use crate::form::{Env, Form, Kind, Session};
use answers::{Records, open_answers};

use crate::store::{Draft, State, Store};

mod answers;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A form_id of a shipped form, or the path of a form file.
    #[arg(value_name = "FORM")]
    pub form: String,
    /// JSON answers: one object, or JSON Lines with one record per line ('-' reads stdin).
    #[arg(long, value_name = "FILE")]
    pub answers: PathBuf,
    /// Check and compute only; save nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Finalize valid records (send them to the outbox) instead of keeping drafts.
    #[arg(long)]
    pub finalize: bool,
    /// Language for messages and labels, e.g. "Lao (lo)" (default: the form's).
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
    /// Correct a draft of this laptop (one a supervisor returned): its answers, with
    /// those of the answers file (one record) over them.
    #[arg(long, value_name = "RECORD_ID", conflicts_with = "dry_run")]
    pub record: Option<String>,
}

/// Runs one record through the engine: the JSON report, and the session
/// holding the record.
pub fn fill_one(
    form: &Arc<Form>,
    env: Env,
    language: Option<&str>,
    answers: &Map<String, Value>,
) -> (Value, Session) {
    let mut session = Session::new(Arc::clone(form), env);
    if let Some(lang) = language {
        session.set_language(Some(lang.to_string()));
    }
    let mut violations = session.load_answers(answers);
    // A refused answer is already reported; don't report it again as missing.
    let refused: Vec<String> = violations.iter().map(|v| v.path.clone()).collect();
    violations.extend(
        session
            .violations()
            .into_iter()
            .filter(|v| !refused.contains(&v.path)),
    );
    let report = json!({
        "valid": violations.is_empty(),
        "record_id": Value::Null,
        "instance_name": session.instance_name(),
        "values": session.record(),
        "violations": violations,
    });
    (report, session)
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let store = if args.dry_run {
        None
    } else {
        Some(globals.open_store()?)
    };
    // A laptop with a round pack installed takes its forms from the pack
    // only; a dry run (no profile) reads the forms folders.
    let pack_forms = match &store {
        Some(s) => s.pack_forms_dir()?,
        None => None,
    };
    let form = match &pack_forms {
        Some(dir) => {
            if Path::new(&args.form).is_file() {
                bail!(
                    "this laptop takes its forms from its round pack only; give the form_id of \
                     one of the pack's forms ('fieldkit status' names the pack)"
                );
            }
            crate::catalog::resolve(&args.form, Some(dir))?
        }
        None => crate::catalog::resolve(&args.form, globals.forms.as_deref())?,
    };
    if let Some(lang) = &args.language
        && !form.languages.contains(lang)
    {
        bail!(
            "the form has no language '{lang}'; it has: {}",
            form.languages.join(", ")
        );
    }
    // A draft to correct, on the very form text it was started with.
    let mut correcting = match (&store, &args.record) {
        (Some(store), Some(id)) => Some(draft_to_correct(store, &form, id)?),
        _ => None,
    };
    let input = open_answers(&args.answers)?;
    let env = match &store {
        Some(s) => Env {
            now: crate::clock::now(),
            seed: crate::clock::seed(),
            device_id: s.profile().public.device_id.clone(),
            username: s.profile().public.enumerator_id.clone(),
        },
        None => Env {
            now: crate::clock::now(),
            seed: crate::clock::seed(),
            device_id: "dry-run".into(),
            username: String::new(),
        },
    };
    let source = if args.answers == Path::new("-") {
        "standard input".to_string()
    } else {
        args.answers.display().to_string()
    };
    let mut unreadable = 0;
    let mut invalid = 0;
    let records = Records {
        input,
        line: 0,
        done: false,
    };
    for (line, record) in records {
        match record {
            Ok(mut answers) => {
                if let Some(draft) = &correcting {
                    let given = std::mem::replace(&mut answers, draft.answers.clone());
                    answers.extend(given);
                } else if args.record.is_some() {
                    bail!("--record corrects one record: {source} holds more than one");
                }
                let mut picked = Vec::new();
                let mut problems = Vec::new();
                take_files(
                    &form,
                    &mut answers,
                    globals.max_attachment_mb,
                    "",
                    &mut picked,
                    &mut problems,
                );
                // Each record its own random bits: two records of one run
                // must not draw the same uuid() or new entity id.
                let env = Env {
                    seed: crate::clock::seed(),
                    ..env.clone()
                };
                let (mut report, session) =
                    fill_one(&form, env, args.language.as_deref(), &answers);
                if !problems.is_empty()
                    && let Some(v) = report["violations"].as_array_mut()
                {
                    v.splice(0..0, problems);
                    report["valid"] = json!(false);
                }
                let valid = report["valid"] == json!(true);
                if !valid {
                    invalid += 1;
                }
                if let Some(store) = &store {
                    let finalize = valid && args.finalize;
                    let (id, state) = save(store, &session, finalize, &picked, correcting.take())
                        .with_context(|| {
                        format!(
                            "the record on line {line} of {source} was NOT saved (records \
                                 reported above it were)"
                        )
                    })?;
                    report["record_id"] = json!(id);
                    report["saved"] = json!(state);
                }
                print_json(&report, false)?;
            }
            Err(message) => {
                unreadable += 1;
                crate::say!("{source}:{line}: {message}");
            }
        }
    }
    if unreadable > 0 {
        bail!(
            "{unreadable} line(s) of {source} could not be read (see above); fix them and run again"
        );
    }
    Ok(if invalid > 0 {
        Outcome::Invalid
    } else {
        Outcome::Done
    })
}

/// The draft `--record` corrects: in the store, made with this form text.
fn draft_to_correct(store: &Store, form: &Form, id: &str) -> Result<Draft> {
    let draft = store.load_draft(id).with_context(|| {
        format!("record {id} is not a draft on this laptop; 'fieldkit status' counts the drafts")
    })?;
    if draft.form_sha256 != form.sha256() {
        bail!(
            "record {id} was started with another text of {} (SHA-256 {}); correct it on the \
             screen ('fieldkit'), which opens it on its own form text",
            draft.form_id,
            draft.form_sha256
        );
    }
    Ok(draft)
}

/// Saves a filled session as a new draft (or over `existing`, a draft
/// being corrected), and finalizes it when asked (and valid): the record
/// id and where it went.
fn save(
    store: &Store,
    session: &Session,
    finalize: bool,
    picked: &[Picked],
    existing: Option<Draft>,
) -> Result<(String, State)> {
    let form = session.form();
    let now = crate::clock::now().to_string();
    let is_new = existing.is_none();
    let mut draft = existing.unwrap_or_else(|| Draft::start(form, &now));
    draft.take(session, &now);
    // The files first: the record that names them is written after.
    for p in picked {
        store.attach(&draft.id, &p.name, &p.bytes, &now)?;
    }
    if finalize {
        let values = session.record();
        store.check_attachments(&draft.id, &crate::form::media::file_answers(form, &values))?;
        let review = crate::form::review::part(form, &values);
        let text = form.text().as_bytes();
        if is_new {
            store.save_final_with_review(&draft, &values, &now, text, Some(&review))?;
        } else {
            store.finalize_with_review(&draft, &values, &now, text, Some(&review))?;
        }
        return Ok((draft.id, State::Outbox));
    }
    store.keep_form(form)?;
    store.save_draft(&draft, "")?;
    Ok((draft.id, State::Draft))
}

/// Answers to file questions are paths of files (relative to the folder
/// fill runs in): each is read once, checked against its question and the
/// cap, and its answer becomes the attachment's name. A file that cannot
/// be taken is a violation of its question, as a refused answer is.
fn take_files(
    form: &Form,
    answers: &mut Map<String, Value>,
    cap_mb: u64,
    prefix: &str,
    picked: &mut Vec<Picked>,
    problems: &mut Vec<Value>,
) {
    for (key, value) in answers.iter_mut() {
        let Some(node) = form.find(key).map(|id| form.node(id)) else {
            continue;
        };
        match (&node.kind, value) {
            (Kind::File { .. }, Value::String(path)) if !path.is_empty() => {
                match crate::files::attachment(Path::new(path.as_str()), node, cap_mb) {
                    Ok(p) => {
                        *path = p.name.clone();
                        picked.push(p);
                    }
                    Err(message) => {
                        problems.push(json!({
                            "name": key,
                            "path": format!("{prefix}{key}"),
                            "kind": "type",
                            "message": message,
                        }));
                        path.clear();
                    }
                }
            }
            (Kind::Repeat, Value::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::Object(inner) = item {
                        let prefix = format!("{prefix}{key}[{}]/", i + 1);
                        take_files(form, inner, cap_mb, &prefix, picked, problems);
                    }
                }
            }
            _ => {}
        }
    }
}
