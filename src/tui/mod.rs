//! The enumerator's screen (`fieldkit` / `fieldkit collect`): the loop
//! that owns the terminal and the store. It draws `App`, turns terminal
//! events into `Action`s, runs each `Effect` (create the profile, unlock,
//! save, finalize, delete) and feeds the result back. It blocks on the
//! terminal between keys, so an idle screen costs no CPU. The terminal is
//! restored on quit, on error and on panic (ratatui's hook).
//!
//! The parts: `app` (the model and `update`), `action` (what passes
//! between the model and this loop), `keys` (what keys do), `setup`,
//! `record` (a record being filled), `editing` (keys on a record),
//! `review` (the jump list and the review page), `paradata` (time on each
//! question, counted on keys), `input` (a line editor),
//! `words` (the program's words in English and Lao), `view/` (drawing,
//! a file per page). No module here imports one that imports it.

pub mod action;
pub mod app;
mod attach;
pub mod editing;
pub mod input;
pub mod keymap;
pub mod keys;
mod paradata;
pub mod picker;
pub mod record;
pub mod review;
pub mod setup;
pub mod supervisor;
pub mod view;
pub mod words;

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::form::Form;
use crate::paths;
use crate::store::profile::{self, Home};
use crate::store::{Draft, Store, StoreError};
use action::{KeysInForce, ToVisit};
use app::{Action, App, Effect, FormEntry, Opened, Page, Receipted, Setup};
use input::Input;
use words::{Msg, Notice};

/// Everything the loop owns besides the model.
pub struct Runtime {
    home: Home,
    store: Option<Store>,
    lock: Option<File>,
    /// The forms offered, to tell whether a draft's form text is among them.
    offered: Vec<Arc<Form>>,
    /// The largest file a file question takes, in MB.
    cap_mb: u64,
}

/// Saves a draft, the text of its form kept first (once per text).
fn save(store: &Store, draft: &Draft, form: &Form, detail: &str) -> Result<(), StoreError> {
    if form.sha256() != draft.form_sha256 {
        return Err(StoreError::FormMismatch {
            id: draft.id.clone(),
            form_id: draft.form_id.clone(),
            expected: draft.form_sha256.clone(),
            given: form.sha256().to_string(),
        });
    }
    store.keep_form(form)?;
    store.save_draft(draft, detail)
}

impl Runtime {
    /// Runs an effect; the result as an action (None: quit).
    pub fn run_effect(&mut self, effect: Effect) -> Option<Action> {
        Some(match effect {
            Effect::Quit => return None,
            // Quit only once the last answer is saved; else say why.
            Effect::SaveAndQuit {
                draft,
                form,
                detail,
            } => match self.with_store(|s| save(s, &draft, &form, &detail)) {
                Ok(()) => return None,
                Err(e) => Action::Saved(Err(e)),
            },
            Effect::CreateProfile {
                enumerator,
                name,
                passphrase,
                recipients,
            } => Action::Opened(self.create(&enumerator, &name, &passphrase, &recipients)),
            Effect::Unlock { passphrase } => Action::Opened(self.unlock(&passphrase)),
            Effect::Save {
                draft,
                form,
                detail,
            } => Action::Saved(self.with_store(|s| save(s, &draft, &form, &detail))),
            // Paradata alone: never worth staying for at quit.
            Effect::SaveParadata { draft, quit } => {
                let saved = self.with_store(|s| s.save_draft_paradata(&draft));
                if quit {
                    return None;
                }
                Action::ParadataSaved(saved)
            }
            Effect::Load { id } => Action::DraftLoaded(self.load_draft(&id)),
            Effect::Finalize {
                draft,
                values,
                form,
            } => {
                let form_text = form.text().as_bytes();
                let now = crate::clock::now().to_string();
                let files = crate::form::media::file_answers(&form, &values);
                let review = crate::form::review::part(&form, &values);
                Action::Finalized(self.with_store(|s| {
                    s.check_attachments(&draft.id, &files)?;
                    // A record never saved as a draft is created and
                    // finalized in one write.
                    match s.finalize_with_review(&draft, &values, &now, form_text, Some(&review)) {
                        Err(StoreError::NotFound(_)) => s.save_final_with_review(
                            &draft,
                            &values,
                            &now,
                            form_text,
                            Some(&review),
                        ),
                        other => other,
                    }
                }))
            }
            Effect::Export { dir } => self.export(&dir, &mut |_| {}),
            Effect::Ack { file } => Action::Acked(self.ack(&file)),
            Effect::ImportPack { file } => Action::PackImported(self.import_pack(&file)),
            Effect::ListFolder { folder } => Action::Listed(list_folder(folder)),
            Effect::AttachmentSizes { record_id } => {
                Action::AttachmentSizes(self.with_store(|s| s.attachment_sizes(&record_id)))
            }
            Effect::Attach {
                path,
                pos,
                record_id,
                form,
                replaced,
            } => Action::Attached(self.attach(&path, pos, &record_id, &form, replaced)),
            Effect::Detach {
                record_id,
                name,
                then,
            } => {
                let now = crate::clock::now().to_string();
                match self.with_store(|s| s.detach(&record_id, &name, &now)) {
                    Ok(()) => return self.run_effect(*then),
                    Err(e) => Action::Saved(Err(e)),
                }
            }
            Effect::Delete { id } => Action::Deleted(
                self.with_store(|s| s.delete_draft(&id, &crate::clock::now().to_string()))
                    .map(|()| id),
            ),
        })
    }

    /// Reads a picked file for the question at `pos` (checked against
    /// its type and the cap again: it may have changed since it was
    /// listed) and keeps it for the record; removes the one it replaces.
    fn attach(
        &mut self,
        path: &std::path::Path,
        pos: crate::form::Pos,
        record_id: &str,
        form: &Form,
        replaced: Option<String>,
    ) -> Result<(crate::form::Pos, String, u64), String> {
        let node = form.node(pos.node);
        let picked = crate::files::attachment(path, node, self.cap_mb)?;
        let now = crate::clock::now().to_string();
        let size = picked.bytes.len() as u64;
        self.with_store(|s| s.attach(record_id, &picked.name, &picked.bytes, &now))?;
        if let Some(old) = replaced.filter(|old| *old != picked.name) {
            self.with_store(|s| s.detach(record_id, &old, &now))?;
        }
        Ok((pos, picked.name, size))
    }

    /// A draft from the store and, when the forms offered do not have the
    /// text it was started on, that text as the store keeps it, loaded
    /// with the lists of the offered form of the same id.
    fn load_draft(&mut self, id: &str) -> Result<(Draft, Option<Arc<Form>>), String> {
        let draft = self.with_store(|s| s.load_draft(id))?;
        if self.offered.iter().any(|f| f.sha256() == draft.form_sha256) {
            return Ok((draft, None));
        }
        let Some(text) = self.with_store(|s| s.form_text(&draft.form_sha256))? else {
            return Ok((draft, None));
        };
        let source = self
            .offered
            .iter()
            .find(|f| f.id == draft.form_id)
            .map_or_else(|| PathBuf::from("kept-form.toml"), |f| f.source.clone());
        let kept = std::str::from_utf8(&text)
            .ok()
            .and_then(|text| crate::form::load_str(text, &source).ok())
            .filter(|form| form.sha256() == draft.form_sha256);
        Ok((draft, kept.map(Arc::new)))
    }

    /// Exports on a thread, reporting progress as actions.
    pub fn export(&mut self, dir: &std::path::Path, progress: &mut dyn FnMut(Action)) -> Action {
        let Some(store) = &self.store else {
            return Action::Exported(Err("the store is not open".into()));
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let result = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                crate::delivery::export::export(store, dir, &mut |done, total| {
                    let _ = tx.send((done, total));
                })
            });
            let mut shown = usize::MAX;
            for (done, total) in rx {
                // A frame per percent, not per record.
                let percent = done * 100 / total.max(1);
                if percent != shown {
                    shown = percent;
                    progress(Action::ExportProgress { done, total });
                }
            }
            worker.join()
        });
        Action::Exported(match result {
            Ok(Ok(done)) => exported(done).and_then(|paths| self.opened().map(|o| (paths, o))),
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(_) => Err("the export stopped unexpectedly; nothing was marked as sent".into()),
        })
    }

    /// Takes a round pack: verified and installed, or why not.
    fn import_pack(&mut self, file: &std::path::Path) -> Result<(String, String, Opened), String> {
        let bytes = crate::files::read_bundle(file).map_err(|e| format!("{e:#}"))?;
        let store = self.store.as_ref().ok_or("the store is not open")?;
        let name = file.display().to_string();
        let now = crate::clock::now().to_string();
        let done = crate::delivery::pack::import(store, &bytes, &name, &now)
            .map_err(|e| format!("{e:#}"))?
            .map_err(|refused| format!("{}: {}", refused.why, refused.problems.join("; ")))?;
        Ok((done.pack(), done.counts(), self.opened_with_forms()?))
    }

    fn ack(&mut self, file: &std::path::Path) -> Result<(Receipted, Opened), String> {
        let bytes = std::fs::read(file)
            .map_err(|e| format!("cannot read the receipt {}: {e}", file.display()))?;
        let store = self.store.as_ref().ok_or("the store is not open")?;
        let supervisors = crate::files::laptop_signers(store, None, "supervisors")
            .map_err(|e| format!("{e:#}"))?;
        let done = crate::delivery::ack::ack(store, &bytes, &supervisors)
            .map_err(|e| format!("{e:#}"))??;
        let receipted = Receipted {
            by: done.by,
            purged: done.purged,
            bundle_id: done.bundle_id,
            approved: done.approved,
            returned: done.returned.len(),
            received: done.received,
            verdicts: done.verdicts,
        };
        Ok((receipted, self.opened()?))
    }

    fn with_store<T>(
        &mut self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, String> {
        match &self.store {
            Some(s) => f(s).map_err(|e| e.to_string()),
            None => Err("the store is not open".into()),
        }
    }

    /// The store as it stands, and the forms of its round pack: when it
    /// is opened and when a pack is taken (the only times they change).
    fn opened_with_forms(&mut self) -> Result<Opened, String> {
        let store = self.store.as_ref().ok_or("the store is not open")?;
        // A round pack installed: its forms, and only its, are offered.
        let forms = match store.pack_forms_dir().map_err(|e| e.to_string())? {
            Some(dir) => {
                let found = crate::catalog::discover(Some(&dir)).map_err(|e| format!("{e:#}"))?;
                let forms: Vec<Arc<Form>> = found.into_iter().map(|(_, f)| f).collect();
                self.offered = forms.clone();
                Some(form_entries(forms))
            }
            None => None,
        };
        Ok(Opened {
            forms,
            ..self.opened()?
        })
    }

    /// The store as it stands (after an export or a receipt: the forms
    /// are as they were).
    fn opened(&self) -> Result<Opened, String> {
        let store = self.store.as_ref().ok_or("the store is not open")?;
        let (listing, damaged) = store.listing_checked().map_err(|e| e.to_string())?;
        if !damaged.is_empty() {
            return Err(format!(
                "{} record(s) in the store cannot be read ({}); run 'fieldkit rescue --out DIR'",
                damaged.len(),
                damaged.join(", ")
            ));
        }
        Ok(Opened {
            enumerator: store.profile().public.enumerator_id.clone(),
            device_id: store.profile().public.device_id.clone(),
            listing,
            tallies: store.tallies().map_err(|e| e.to_string())?,
            forms: None,
            keys: keys_in_force(store).map_err(|e| e.to_string())?,
            visits: to_visit(store)?,
        })
    }

    fn unlock(&mut self, passphrase: &age::secrecy::SecretString) -> Result<Opened, Notice> {
        let failed = |e: StoreError| match e {
            StoreError::Profile(profile::ProfileError::WrongPassphrase(who)) => {
                Notice::problem(Msg::WrongPassphrase, &[&who])
            }
            other => Notice::failed(Msg::OpenFailed, other.to_string()),
        };
        let lock = match self.lock.take() {
            Some(l) => l,
            None => crate::store::lock(&self.home).map_err(failed)?,
        };
        let store = Store::open_locked(self.home.clone(), passphrase, lock).map_err(failed)?;
        self.store = Some(store);
        self.opened_with_forms()
            .map_err(|e| Notice::failed(Msg::OpenFailed, e))
    }

    fn create(
        &mut self,
        enumerator: &str,
        name: &str,
        passphrase: &age::secrecy::SecretString,
        recipients: &std::path::Path,
    ) -> Result<Opened, Notice> {
        self.create_profile(enumerator, name, passphrase, recipients)
            .map_err(|e| Notice::failed(Msg::CreateFailed, e))
    }

    fn create_profile(
        &mut self,
        enumerator: &str,
        name: &str,
        passphrase: &age::secrecy::SecretString,
        recipients: &std::path::Path,
    ) -> Result<Opened, String> {
        let text = std::fs::read_to_string(recipients).map_err(|e| {
            format!(
                "cannot read the data managers' keys {}: {e}",
                recipients.display()
            )
        })?;
        let now = crate::clock::now().to_string();
        let made = profile::create(&self.home, enumerator, name, passphrase, &text, &now)
            .map_err(|e| e.to_string())?;
        let public = made.public.clone();
        let pinned = crate::files::deployment_signers(None).map_err(|e| format!("{e:#}"))?;
        let store = Store::create(self.home.clone(), made, &now).map_err(|e| e.to_string())?;
        if let Some(signers) = &pinned {
            store
                .pin_signers(signers, &now)
                .map_err(|e| e.to_string())?;
        }
        profile::finish(&self.home, &public).map_err(|e| e.to_string())?;
        self.store = Some(store);
        self.opened_with_forms()
    }
}
/// The bundle paths of an export, or what stopped it or left records
/// behind (after the paths of the bundles it did write).
fn exported(done: crate::delivery::export::Exported) -> Result<Vec<String>, String> {
    let paths: Vec<String> = done.paths.iter().map(|p| p.display().to_string()).collect();
    let mut problems: Vec<String> = done.refused;
    if let Some(e) = done.stopped {
        problems.push(format!("{e:#}"));
    }
    if problems.is_empty() {
        return Ok(paths);
    }
    let written = if paths.is_empty() {
        String::new()
    } else {
        format!("{} bundle(s) written ({}); ", paths.len(), paths.join(", "))
    };
    Err(format!("{written}{}", problems.join("; ")))
}

/// What the screen starts with, gathered by the command line.
pub struct Start {
    /// Where the profile and the store are, or will be made.
    pub home: Home,
    /// The forms offered (see `catalog`).
    pub forms: Vec<Arc<Form>>,
    /// A passphrase file given ahead (`--passphrase-file`): an existing
    /// store is unlocked with it at once.
    pub passphrase_file: Option<PathBuf>,
    /// The largest file a file question takes, in MB.
    pub max_attachment_mb: u64,
}

/// A folder's entries for the file picker (None: the home folder, else
/// the folder fieldkit runs in). Entries that cannot be read are left out;
/// hidden ones (a leading dot) too.
fn list_folder(folder: Option<PathBuf>) -> Result<(PathBuf, Vec<picker::FolderEntry>), String> {
    let folder = match folder {
        Some(f) => f,
        None => std::env::home_dir()
            .filter(|h| h.is_dir())
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let read = std::fs::read_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let mut entries = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // Followed links: a link to a folder is a folder.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        entries.push(picker::FolderEntry {
            name,
            folder: meta.is_dir(),
            size: if meta.is_dir() { 0 } else { meta.len() },
        });
    }
    Ok((folder, entries))
}

/// The forms as the screen offers them, each with its hash and text.
pub fn form_entries(forms: Vec<Arc<Form>>) -> Vec<FormEntry> {
    forms
        .into_iter()
        .map(|form| FormEntry {
            sha256: form.sha256().to_string(),
            text: Arc::new(form.text().as_bytes().to_vec()),
            form,
        })
        .collect()
}

/// The first model and runtime: setup when there is no profile, unlock
/// otherwise (done at once with `--passphrase-file`).
pub fn start(start: Start) -> Result<(App, Runtime)> {
    let cap_mb = start.max_attachment_mb;
    let offered = start.forms.clone();
    let forms = form_entries(start.forms);
    let home = start.home;
    // Setting a laptop up needs forms to offer; a profile may get them
    // from its round pack once unlocked.
    if forms.is_empty() && !home.exists() {
        anyhow::bail!("no forms found; give a folder of forms with --forms DIR");
    }
    let mut runtime = Runtime {
        home: home.clone(),
        store: None,
        lock: None,
        offered,
        cap_mb,
    };
    let now = crate::clock::now();
    if !home.exists() {
        let recipients = paths::shipped_key("recipients.txt");
        let mut app = App::new(forms, Page::Setup(Setup::new(recipients)), now);
        app.attach_cap_mb = cap_mb;
        return Ok((app, runtime));
    }
    // Say "in use" before asking for anything.
    runtime.lock = Some(crate::store::lock(&home)?);
    let mut app = App::new(
        forms,
        Page::Unlock {
            passphrase: Input::secret(),
            error: None,
        },
        now,
    );
    app.attach_cap_mb = cap_mb;
    if let Some(file) = &start.passphrase_file {
        let passphrase = crate::files::passphrase(file)?;
        let opened = runtime
            .unlock(&passphrase)
            .map_err(|e| anyhow::Error::msg(e.text(words::Lang::En)))?;
        app.update(Action::Opened(Ok(opened)));
    }
    Ok((app, runtime))
}

pub fn run(start: Start) -> Result<()> {
    let (mut app, mut runtime) = self::start(start)?;
    app.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut terminal = ratatui::try_init().context("cannot start the screen")?;
    let result = event_loop(&mut terminal, &mut app, &mut runtime);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    runtime: &mut Runtime,
) -> Result<()> {
    loop {
        terminal.draw(|f| view::render(app, f))?;
        // Block until something happens: no timer, no CPU while idle.
        if !event::poll(Duration::from_secs(3600))? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(key) if key.kind == KeyEventKind::Press => Action::Key(key),
            Event::Resize(..) => Action::Resize,
            _ => continue,
        };
        app.now = crate::clock::now();
        let mut next = app.update(action);
        while let Some(effect) = next {
            // Show "working" while a slow effect (unlocking) runs.
            terminal.draw(|f| view::render(app, f))?;
            let result = match effect {
                Effect::Export { dir } => runtime.export(&dir, &mut |progress| {
                    app.update(progress);
                    let _ = terminal.draw(|f| view::render(app, f));
                }),
                other => match runtime.run_effect(other) {
                    Some(result) => result,
                    None => return Ok(()),
                },
            };
            app.now = crate::clock::now();
            next = app.update(result);
        }
    }
}

/// Used by tests and benchmarks: an app on a home, forms loaded.
pub fn forms_for_tests(dir: PathBuf) -> Result<Vec<FormEntry>> {
    let forms = crate::catalog::discover(Some(&dir))?;
    Ok(form_entries(forms.into_iter().map(|(_, f)| f).collect()))
}

#[cfg(test)]
mod picker_tests;
#[cfg(test)]
mod tests;

/// The round pack installed and who new records are encrypted to.
fn keys_in_force(store: &Store) -> Result<KeysInForce, StoreError> {
    let pack = store.installed_pack()?;
    Ok(KeysInForce {
        from_pack: pack
            .as_ref()
            .is_some_and(|p| p.entries.iter().any(|e| e.path == "keys/recipients.txt")),
        pack: pack.map(|p| (p.sequence, p.round)),
        recipients: store.recipients()?.len(),
    })
}

/// This enumerator's assignments in the pack installed, each with its
/// label from the pack's entity list and whether it was visited.
fn to_visit(store: &Store) -> Result<Vec<ToVisit>, String> {
    let failed = |e: StoreError| e.to_string();
    let Some(bytes) = store.pack_file("assignments.csv").map_err(failed)? else {
        return Ok(Vec::new());
    };
    let me = store.profile().public.enumerator_id.clone();
    let mine: Vec<_> = crate::assignments::parse("the round pack's assignments.csv", &bytes)?
        .into_iter()
        .filter(|a| a.enumerator_id == me)
        .collect();
    let visited = store.visited().map_err(failed)?;
    let mut labels: std::collections::HashMap<String, _> = Default::default();
    let mut out = Vec::with_capacity(mine.len());
    for a in mine {
        if !labels.contains_key(&a.list) {
            let list = store
                .pack_file(&format!("entities/{}.csv", a.list))
                .map_err(failed)?
                .map(|csv| crate::assignments::labels(&csv))
                .unwrap_or_default();
            labels.insert(a.list.clone(), list);
        }
        let label = labels[&a.list].get(&a.name).cloned().unwrap_or_default();
        let done = visited.contains(&format!("{}/{}", a.list, a.name));
        out.push(ToVisit {
            label,
            done,
            list: a.list,
            name: a.name,
        });
    }
    Ok(out)
}
