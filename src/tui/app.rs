//! The TUI's model and its update function, Elm style: `App` is the whole
//! state, `Action` everything that can happen (keys, and the results of
//! I/O), `Effect` the I/O the loop must do. `App::update` changes state
//! and does no I/O; rendering (`view.rs`) reads `&App` only.

use std::path::PathBuf;
use std::sync::Arc;

use age::secrecy::SecretString;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value};

use super::chrome::{Lang, Msg, Notice};
use super::input::Input;
use super::record::{self, RecordView};
use crate::form::dates::DateTime;
use crate::form::{Env, Form, Session};
use crate::store::{Draft, Listing, State, Tallies};

/// A form the enumerator can fill, with the hash records name it by.
#[derive(Debug, Clone)]
pub struct FormEntry {
    pub form: Arc<Form>,
    pub sha256: String,
    /// The form file's text, kept with finalized records.
    pub text: Arc<Vec<u8>>,
}

/// Who is working, once the store is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub enumerator: String,
    pub device_id: String,
    pub listing: Vec<Listing>,
    /// Per form id, what was sent and receipted (kept after a purge).
    pub tallies: Tallies,
}

/// What a receipt did.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipted {
    pub by: String,
    pub purged: usize,
    pub bundle_id: String,
}

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Resize,
    Opened(Result<Opened, Notice>),
    Saved(Result<(), String>),
    DraftLoaded(Result<Draft, String>),
    Finalized(Result<(), String>),
    Deleted(Result<String, String>),
    /// Records read into the bundle being exported, of all.
    ExportProgress {
        done: usize,
        total: usize,
    },
    /// The bundles written (several when the outbox was split; none when
    /// the outbox was empty) and the store as it now stands.
    Exported(Result<(Vec<String>, Opened), String>),
    /// What the receipt did, and the store as it now stands.
    Acked(Result<(Receipted, Opened), String>),
}

/// I/O for the loop to do; its result comes back as an `Action`.
#[derive(Debug)]
pub enum Effect {
    CreateProfile {
        enumerator: String,
        name: String,
        passphrase: SecretString,
        recipients: PathBuf,
    },
    Unlock {
        passphrase: SecretString,
    },
    Save {
        draft: Draft,
        detail: String,
    },
    Load {
        id: String,
    },
    Finalize {
        draft: Draft,
        values: Map<String, Value>,
        form_text: Arc<Vec<u8>>,
    },
    Delete {
        id: String,
    },
    Quit,
    /// Write the next bundle into a folder (the USB stick).
    Export {
        dir: PathBuf,
    },
    /// Import a supervisor's receipt.
    Ack {
        file: PathBuf,
    },
    /// Save what was being typed, then quit (Ctrl-C on a record).
    SaveAndQuit {
        draft: Draft,
        detail: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupField {
    Id,
    Name,
    Pass,
    Again,
    Recipients,
}

impl SetupField {
    pub const ALL: [SetupField; 5] = [
        SetupField::Id,
        SetupField::Name,
        SetupField::Pass,
        SetupField::Again,
        SetupField::Recipients,
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub id: Input,
    pub name: Input,
    pub pass: Input,
    pub again: Input,
    pub recipients: Input,
    pub focus: SetupField,
    pub error: Option<Notice>,
}

impl Setup {
    pub fn new(recipients: Option<PathBuf>) -> Self {
        Setup {
            id: Input::default(),
            name: Input::default(),
            pass: Input::secret(),
            again: Input::secret(),
            recipients: Input::new(
                &recipients
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            focus: SetupField::Id,
            error: None,
        }
    }

    pub fn field(&self, f: SetupField) -> &Input {
        match f {
            SetupField::Id => &self.id,
            SetupField::Name => &self.name,
            SetupField::Pass => &self.pass,
            SetupField::Again => &self.again,
            SetupField::Recipients => &self.recipients,
        }
    }

    fn field_mut(&mut self, f: SetupField) -> &mut Input {
        match f {
            SetupField::Id => &mut self.id,
            SetupField::Name => &mut self.name,
            SetupField::Pass => &mut self.pass,
            SetupField::Again => &mut self.again,
            SetupField::Recipients => &mut self.recipients,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Forms,
    Drafts,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Home {
    pub pane: Pane,
    pub form: usize,
    pub draft: usize,
}

#[derive(Debug)]
pub enum Page {
    Setup(Setup),
    Unlock {
        passphrase: Input,
        error: Option<Notice>,
    },
    /// Waiting for an effect (unlocking takes the key derivation's time).
    Busy,
    Home(Home),
    Record(Box<RecordView>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    ConfirmDelete {
        id: String,
    },
    ConfirmRemove,
    Jump {
        cursor: usize,
    },
    Review {
        cursor: usize,
    },
    /// Asks for the folder to export to.
    Export {
        dir: Input,
    },
    /// Asks for the receipt file.
    Ack {
        file: Input,
    },
}

#[derive(Debug)]
pub struct App {
    pub forms: Vec<FormEntry>,
    pub page: Page,
    pub overlay: Option<Overlay>,
    /// The chosen language, as forms name it ("English (en)", "Lao (lo)").
    pub language: String,
    pub who: Option<Opened>,
    /// The status line, worded when drawn.
    pub status: Option<Notice>,
    /// The clock, set by the loop before each update.
    pub now: DateTime,
    pub color: bool,
    /// The folder of the last export, offered again.
    pub export_dir: String,
    /// An export under way: (records done, records in all).
    pub progress: Option<(usize, usize)>,
}

pub const ENGLISH: &str = "English (en)";
pub const LAO: &str = "Lao (lo)";

impl App {
    pub fn new(forms: Vec<FormEntry>, page: Page, now: DateTime) -> Self {
        App {
            forms,
            page,
            overlay: None,
            language: ENGLISH.into(),
            who: None,
            status: None,
            now,
            color: true,
            export_dir: String::new(),
            progress: None,
        }
    }

    pub fn lang(&self) -> Lang {
        Lang::of_form_language(Some(&self.language))
    }

    pub fn t(&self, m: Msg) -> &'static str {
        m.text(self.lang())
    }

    pub fn listing(&self) -> &[Listing] {
        self.who.as_ref().map_or(&[], |w| &w.listing)
    }

    /// The drafts, most recently changed first.
    pub fn drafts(&self) -> Vec<&Listing> {
        let mut d: Vec<&Listing> = self
            .listing()
            .iter()
            .filter(|l| l.state == State::Draft)
            .collect();
        d.sort_by(|a, b| b.updated.cmp(&a.updated));
        d
    }

    /// (drafts, finalized, exported) of a form.
    pub fn counts(&self, form_id: &str) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for l in self.listing().iter().filter(|l| l.form_id == form_id) {
            match l.state {
                State::Draft => c.0 += 1,
                State::Outbox => c.1 += 1,
                State::Sent => c.2 += 1,
            }
        }
        c
    }

    /// What was sent and receipted of a form, if anything ever was.
    pub fn tally(&self, form_id: &str) -> Option<&crate::store::FormTally> {
        self.who.as_ref()?.tallies.get(form_id)
    }

    fn say(&mut self, notice: Notice) {
        self.status = Some(notice);
    }

    /// The status line in the chosen language, and whether it reports a
    /// problem.
    pub fn status_line(&self) -> Option<(String, bool)> {
        let n = self.status.as_ref()?;
        Some((n.text(self.lang()), n.problem))
    }

    /// The draft behind a listing id as the enumerator knows it: its
    /// name (or "no name yet"), its form's title, when it was started.
    pub fn draft_words(&self, id: &str) -> [String; 3] {
        let Some(l) = self.listing().iter().find(|l| l.id == id) else {
            return [id.to_string(), String::new(), String::new()];
        };
        let name = if l.instance_name.trim().is_empty() {
            self.t(Msg::Untitled).to_string()
        } else {
            l.instance_name.clone()
        };
        let form = self
            .forms
            .iter()
            .find(|f| f.form.id == l.form_id)
            .map_or(l.form_id.clone(), |f| {
                f.form.title_in(Some(&self.language)).to_string()
            });
        [name, form, short_time(&l.started)]
    }

    fn go_home(&mut self) {
        let pane = if self.drafts().is_empty() {
            Pane::Forms
        } else {
            Pane::Drafts
        };
        self.page = Page::Home(Home {
            pane,
            form: 0,
            draft: 0,
        });
    }

    /// Switches to the next language: the current form's, or English/Lao.
    fn switch_language(&mut self) {
        let languages: Vec<String> = match &self.page {
            Page::Record(r) => r.session.form().languages.clone(),
            _ => vec![ENGLISH.into(), LAO.into()],
        };
        if languages.is_empty() {
            return;
        }
        let at = languages.iter().position(|l| *l == self.language);
        self.language = match at {
            Some(i) => languages[(i + 1) % languages.len()].clone(),
            None => languages[0].clone(),
        };
        if let Page::Record(r) = &mut self.page {
            r.set_language(&self.language);
        }
    }

    pub fn update(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Resize => None,
            Action::Key(key) => self.key(key),
            Action::Opened(Ok(opened)) => {
                self.who = Some(opened);
                self.go_home();
                self.status = None;
                None
            }
            Action::Opened(Err(e)) => {
                match &mut self.page {
                    Page::Setup(s) => s.error = Some(e),
                    _ => {
                        self.page = Page::Unlock {
                            passphrase: Input::secret(),
                            error: Some(e),
                        }
                    }
                }
                None
            }
            Action::Saved(Ok(())) => {
                let at = self.now.to_string();
                self.say(Notice::good(Msg::Saved, &[at.get(11..19).unwrap_or("")]));
                if let Page::Record(r) = &self.page {
                    let listing = r.listing();
                    self.put_listing(listing);
                }
                None
            }
            Action::Saved(Err(e)) => {
                self.say(Notice::failed(Msg::NotSaved, e));
                if let Page::Record(r) = &mut self.page {
                    r.mark_unsaved();
                }
                None
            }
            Action::DraftLoaded(Ok(draft)) => {
                self.open_draft(draft);
                None
            }
            Action::DraftLoaded(Err(e)) => self.failed(Msg::LoadFailed, e),
            Action::Finalized(Err(e)) => self.failed(Msg::FinalizeFailed, e),
            Action::Deleted(Err(e)) => self.failed(Msg::DeleteFailed, e),
            Action::Finalized(Ok(())) => {
                if let Page::Record(r) = &self.page {
                    let mut listing = r.listing();
                    listing.state = State::Outbox;
                    listing.instance_name.clear();
                    listing.finalized = Some(self.now.to_string());
                    self.put_listing(listing);
                }
                self.overlay = None;
                self.go_home();
                self.say(Notice::good(Msg::FinalizedStatus, &[]));
                None
            }
            Action::ExportProgress { done, total } => {
                self.progress = Some((done, total));
                None
            }
            Action::Exported(result) => {
                self.progress = None;
                match result {
                    Ok((paths, opened)) => {
                        self.who = Some(opened);
                        match (paths.first(), paths.last()) {
                            (Some(first), Some(last)) => {
                                // The names first: the status line is short.
                                let name = |p: &String| {
                                    std::path::Path::new(p)
                                        .file_name()
                                        .map_or(p.clone(), |n| n.to_string_lossy().into_owned())
                                };
                                let names = if paths.len() == 1 {
                                    name(first)
                                } else {
                                    format!("{} … {} ({})", name(first), name(last), paths.len())
                                };
                                let folder = std::path::Path::new(first)
                                    .parent()
                                    .map(|d| d.display().to_string())
                                    .unwrap_or_default();
                                self.say(Notice::good(Msg::ExportDone, &[&names, &folder]))
                            }
                            _ => self.say(Notice::good(Msg::OutboxEmpty, &[])),
                        }
                    }
                    Err(e) => self.say(Notice::failed(Msg::ExportFailed, e)),
                }
                None
            }
            Action::Acked(result) => {
                match result {
                    Ok((done, opened)) => {
                        self.who = Some(opened);
                        let purged = done.purged.to_string();
                        self.say(Notice::good(
                            Msg::Receipted,
                            &[&done.by, &purged, &done.bundle_id],
                        ));
                    }
                    Err(e) => self.say(Notice::failed(Msg::ReceiptFailed, e)),
                }
                None
            }
            Action::Deleted(Ok(id)) => {
                let [name, ..] = self.draft_words(&id);
                if let Some(w) = &mut self.who {
                    w.listing.retain(|l| l.id != id);
                }
                self.say(Notice::good(Msg::Deleted, &[&name]));
                if let Page::Home(h) = &mut self.page {
                    h.draft = h.draft.saturating_sub(1);
                }
                None
            }
        }
    }

    /// An effect failed: say what, and leave a waiting page.
    fn failed(&mut self, what: Msg, detail: String) -> Option<Effect> {
        self.say(Notice::failed(what, detail));
        if matches!(self.page, Page::Busy) {
            self.go_home();
        }
        None
    }

    fn put_listing(&mut self, listing: Listing) {
        if let Some(w) = &mut self.who {
            match w.listing.iter_mut().find(|l| l.id == listing.id) {
                Some(l) => *l = listing,
                None => w.listing.push(listing),
            }
        }
    }

    fn key(&mut self, key: KeyEvent) -> Option<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            let now = self.now;
            if let Page::Record(r) = &mut self.page
                && let Some(Effect::Save { draft, detail }) = r.save_if_dirty(now)
            {
                return Some(Effect::SaveAndQuit { draft, detail });
            }
            return Some(Effect::Quit);
        }
        if let Some(overlay) = self.overlay.clone() {
            return self.overlay_key(overlay, key);
        }
        if key.code == KeyCode::F(1) {
            self.overlay = Some(Overlay::Help);
            return None;
        }
        if key.code == KeyCode::F(2) {
            self.switch_language();
            return None;
        }
        match &mut self.page {
            Page::Setup(_) => self.setup_key(key),
            Page::Unlock { passphrase, error } => match key.code {
                KeyCode::Esc => Some(Effect::Quit),
                KeyCode::Enter if !passphrase.text.is_empty() => {
                    let passphrase = crate::store::crypt::passphrase(&passphrase.text);
                    self.page = Page::Busy;
                    Some(Effect::Unlock { passphrase })
                }
                _ => {
                    passphrase.handle(&key);
                    *error = None;
                    None
                }
            },
            Page::Busy => None,
            Page::Home(_) => self.home_key(key),
            Page::Record(_) => self.record_key(key),
        }
    }

    fn setup_key(&mut self, key: KeyEvent) -> Option<Effect> {
        let Page::Setup(s) = &mut self.page else {
            return None;
        };
        let at = SetupField::ALL
            .iter()
            .position(|f| *f == s.focus)
            .unwrap_or(0);
        match key.code {
            KeyCode::Esc => return Some(Effect::Quit),
            KeyCode::Tab | KeyCode::Down => {
                s.focus = SetupField::ALL[(at + 1) % SetupField::ALL.len()];
            }
            KeyCode::BackTab | KeyCode::Up => {
                s.focus = SetupField::ALL[(at + SetupField::ALL.len() - 1) % SetupField::ALL.len()];
            }
            KeyCode::Enter => {
                let shortest = crate::store::profile::MIN_PASSPHRASE.to_string();
                if crate::store::profile::check_enumerator_id(&s.id.text).is_err() {
                    s.error = Some(Notice::problem(Msg::BadEnumeratorId, &[&s.id.text]));
                    s.focus = SetupField::Id;
                } else if s.pass.text.chars().count() < crate::store::profile::MIN_PASSPHRASE {
                    s.error = Some(Notice::problem(Msg::ShortPassphrase, &[&shortest]));
                    s.focus = SetupField::Pass;
                } else if s.pass.text != s.again.text {
                    s.error = Some(Notice::problem(Msg::PassphrasesDiffer, &[]));
                    s.again.clear();
                    s.focus = SetupField::Again;
                } else if s.recipients.text.trim().is_empty() {
                    s.error = Some(Notice::problem(Msg::RecipientsMissing, &[]));
                    s.focus = SetupField::Recipients;
                } else {
                    let effect = Effect::CreateProfile {
                        enumerator: s.id.text.clone(),
                        name: s.name.text.clone(),
                        passphrase: crate::store::crypt::passphrase(&s.pass.text),
                        recipients: PathBuf::from(s.recipients.text.trim()),
                    };
                    s.error = None;
                    return Some(effect);
                }
            }
            _ => {
                let focus = s.focus;
                s.field_mut(focus).handle(&key);
            }
        }
        None
    }

    fn home_key(&mut self, key: KeyEvent) -> Option<Effect> {
        let drafts: Vec<String> = self.drafts().iter().map(|l| l.id.clone()).collect();
        let forms = self.forms.len();
        let Page::Home(h) = &mut self.page else {
            return None;
        };
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Some(Effect::Quit),
            KeyCode::Tab | KeyCode::BackTab => {
                h.pane = match h.pane {
                    Pane::Forms => Pane::Drafts,
                    Pane::Drafts => Pane::Forms,
                };
            }
            KeyCode::Up => match h.pane {
                Pane::Forms => h.form = h.form.saturating_sub(1),
                Pane::Drafts => h.draft = h.draft.saturating_sub(1),
            },
            KeyCode::Down => match h.pane {
                Pane::Forms => h.form = (h.form + 1).min(forms.saturating_sub(1)),
                Pane::Drafts => h.draft = (h.draft + 1).min(drafts.len().saturating_sub(1)),
            },
            KeyCode::Char('e') => {
                self.overlay = Some(Overlay::Export {
                    dir: Input::new(&self.export_dir),
                });
            }
            KeyCode::Char('a') => {
                self.overlay = Some(Overlay::Ack {
                    file: Input::default(),
                });
            }
            KeyCode::Delete | KeyCode::Char('d') if h.pane == Pane::Drafts => {
                if let Some(id) = drafts.get(h.draft) {
                    self.overlay = Some(Overlay::ConfirmDelete { id: id.clone() });
                }
            }
            KeyCode::Enter => match h.pane {
                Pane::Forms => {
                    let form = h.form;
                    self.start_record(form);
                }
                Pane::Drafts => {
                    if let Some(id) = drafts.get(h.draft) {
                        let id = id.clone();
                        self.page = Page::Busy;
                        return Some(Effect::Load { id });
                    }
                }
            },
            _ => {}
        }
        None
    }

    fn env(&self) -> Env {
        Env {
            now: self.now,
            device_id: self
                .who
                .as_ref()
                .map(|w| w.device_id.clone())
                .unwrap_or_default(),
            username: self
                .who
                .as_ref()
                .map(|w| w.enumerator.clone())
                .unwrap_or_default(),
        }
    }

    fn start_record(&mut self, form: usize) {
        let Some(entry) = self.forms.get(form) else {
            return;
        };
        let session = Session::new(Arc::clone(&entry.form), self.env());
        let draft = Draft::new(
            &entry.form.id,
            &entry.form.version,
            &entry.sha256,
            &self.now.to_string(),
        );
        self.page = Page::Record(Box::new(RecordView::new(session, draft, &self.language)));
    }

    fn open_draft(&mut self, draft: Draft) {
        let Some(entry) = self.forms.iter().find(|f| f.form.id == draft.form_id) else {
            self.say(Notice::problem(Msg::FormMissing, &[&draft.form_id]));
            self.go_home();
            return;
        };
        let mut session = Session::new(Arc::clone(&entry.form), self.env());
        let problems = session.load_answers(&draft.answers);
        let mut view = RecordView::new(session, draft, &self.language);
        view.resume_point();
        if !problems.is_empty() {
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            self.say(Notice::problem(
                Msg::AnswersMisfit,
                &[&problems.len().to_string(), &paths.join(", ")],
            ));
        }
        self.page = Page::Record(Box::new(view));
    }

    fn record_key(&mut self, key: KeyEvent) -> Option<Effect> {
        let now = self.now;
        let Page::Record(r) = &mut self.page else {
            return None;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                let save = r.save_if_dirty(now);
                self.go_home();
                return save;
            }
            KeyCode::Char('j') if ctrl => {
                let effect = r.commit_pending(now);
                self.overlay = Some(Overlay::Jump {
                    cursor: r.jump_position(),
                });
                return effect;
            }
            KeyCode::Char('f') if ctrl => {
                let effect = r.commit_pending(now);
                self.overlay = Some(Overlay::Review { cursor: 0 });
                return effect;
            }
            KeyCode::Char('d') if ctrl => {
                if r.in_repeat_instance() {
                    self.overlay = Some(Overlay::ConfirmRemove);
                }
                return None;
            }
            _ => {}
        }
        match r.key(key, now) {
            record::Outcome::Stay(effect) => effect,
            record::Outcome::End(effect) => {
                self.overlay = Some(Overlay::Review { cursor: 0 });
                effect
            }
        }
    }

    fn overlay_key(&mut self, overlay: Overlay, key: KeyEvent) -> Option<Effect> {
        let now = self.now;
        match overlay {
            Overlay::Help => {
                if matches!(key.code, KeyCode::Esc | KeyCode::F(1) | KeyCode::Enter) {
                    self.overlay = None;
                }
                None
            }
            Overlay::ConfirmDelete { id } => {
                self.overlay = None;
                match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => Some(Effect::Delete { id }),
                    _ => None,
                }
            }
            Overlay::Export { mut dir } => match key.code {
                KeyCode::Esc => {
                    self.overlay = None;
                    None
                }
                KeyCode::Enter if !dir.text.trim().is_empty() => {
                    self.overlay = None;
                    self.export_dir = dir.text.trim().to_string();
                    self.progress = Some((0, 0));
                    Some(Effect::Export {
                        dir: PathBuf::from(&self.export_dir),
                    })
                }
                _ => {
                    dir.handle(&key);
                    self.overlay = Some(Overlay::Export { dir });
                    None
                }
            },
            Overlay::Ack { mut file } => match key.code {
                KeyCode::Esc => {
                    self.overlay = None;
                    None
                }
                KeyCode::Enter if !file.text.trim().is_empty() => {
                    self.overlay = None;
                    Some(Effect::Ack {
                        file: PathBuf::from(file.text.trim()),
                    })
                }
                _ => {
                    file.handle(&key);
                    self.overlay = Some(Overlay::Ack { file });
                    None
                }
            },
            Overlay::ConfirmRemove => {
                self.overlay = None;
                match (&mut self.page, key.code) {
                    (Page::Record(r), KeyCode::Char('y') | KeyCode::Char('Y')) => {
                        r.remove_instance(now)
                    }
                    _ => None,
                }
            }
            Overlay::Jump { cursor } => {
                let Page::Record(r) = &mut self.page else {
                    self.overlay = None;
                    return None;
                };
                let entries = r.jump_entries();
                match key.code {
                    KeyCode::Esc => self.overlay = None,
                    KeyCode::Up => {
                        self.overlay = Some(Overlay::Jump {
                            cursor: cursor.saturating_sub(1),
                        })
                    }
                    KeyCode::Down => {
                        self.overlay = Some(Overlay::Jump {
                            cursor: (cursor + 1).min(entries.len().saturating_sub(1)),
                        })
                    }
                    KeyCode::PageUp => {
                        self.overlay = Some(Overlay::Jump {
                            cursor: cursor.saturating_sub(10),
                        })
                    }
                    KeyCode::PageDown => {
                        self.overlay = Some(Overlay::Jump {
                            cursor: (cursor + 10).min(entries.len().saturating_sub(1)),
                        })
                    }
                    KeyCode::Enter => {
                        if let Some(e) = entries.get(cursor) {
                            r.go_to(&e.pos);
                        }
                        self.overlay = None;
                    }
                    _ => {}
                }
                None
            }
            Overlay::Review { cursor } => {
                let Page::Record(r) = &mut self.page else {
                    self.overlay = None;
                    return None;
                };
                let items = r.review_items();
                let last = items.len().saturating_sub(1);
                let moved = match key.code {
                    KeyCode::Up => Some(cursor.saturating_sub(1)),
                    KeyCode::Down => Some((cursor + 1).min(last)),
                    KeyCode::PageUp => Some(cursor.saturating_sub(10)),
                    KeyCode::PageDown => Some((cursor + 10).min(last)),
                    KeyCode::Home => Some(0),
                    KeyCode::End => Some(last),
                    _ => None,
                };
                if let Some(cursor) = moved {
                    self.overlay = Some(Overlay::Review { cursor });
                    return None;
                }
                match (key.code, items.get(cursor)) {
                    (KeyCode::Esc, _) => self.overlay = None,
                    (KeyCode::Enter, Some(record::ReviewItem::Finalize)) => {
                        let (draft, values) = r.final_record(now);
                        let form_text = self
                            .forms
                            .iter()
                            .find(|f| f.sha256 == draft.form_sha256)
                            .map(|f| Arc::clone(&f.text))
                            .unwrap_or_default();
                        return Some(Effect::Finalize {
                            draft,
                            values,
                            form_text,
                        });
                    }
                    (KeyCode::Enter, Some(record::ReviewItem::Problem { pos, .. })) => {
                        if let Some(pos) = pos {
                            r.go_to(pos);
                        }
                        self.overlay = None;
                    }
                    (KeyCode::Enter, Some(record::ReviewItem::Question { entry, .. })) => {
                        r.go_to(&entry.pos);
                        self.overlay = None;
                    }
                    _ => {}
                }
                None
            }
        }
    }
}

/// "2026-11-21 08:00" of a stored time.
pub fn short_time(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}
