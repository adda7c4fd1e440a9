//! The TUI's model and its update function, Elm style: `App` is the whole
//! state, `Action` (in `action.rs`) everything that can happen, `Effect`
//! the I/O the loop must do. `App::update` changes state and does no I/O;
//! what keys do is in `keys.rs`; rendering (`view/`) reads `&App` only.

use std::sync::Arc;

use super::input::Input;
use super::picker::Picker;
use super::record::RecordView;
use super::review::ReviewItem;
use super::words::{Lang, Msg, Notice};
use crate::form::dates::DateTime;
use crate::form::{Env, Form, Session};
use crate::store::{Draft, Listing, State};

pub use super::action::{Action, Effect, FormEntry, Opened, Receipted, ToVisit};
pub use super::setup::{Setup, SetupField};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Forms,
    /// The round's entities still to visit (with assignments only).
    Visits,
    Drafts,
}

/// Where the home page's highlight is.
#[derive(Debug, Clone, PartialEq)]
pub struct HomePage {
    pub pane: Pane,
    pub form: usize,
    pub draft: usize,
    /// Among the entities still to visit.
    pub visit: usize,
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
    Home(HomePage),
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
    /// Asks for the round pack file.
    Pack {
        file: Input,
    },
    /// Picks a file for a file question.
    Picker(Box<Picker>),
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
    /// The review page's entries while it is open: made when it opens
    /// and on a change of language, not at every frame or key.
    pub review: Vec<ReviewItem>,
    /// The largest file a file question takes, in MB.
    pub attach_cap_mb: u64,
    /// The folder the file picker was last in, where it opens next.
    pub picker_folder: Option<std::path::PathBuf>,
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
            review: Vec::new(),
            attach_cap_mb: crate::form::media::DEFAULT_MAX_ATTACHMENT_MB,
            picker_folder: None,
        }
    }

    /// The folder the file picker opens in next, once it has been used.
    pub fn last_folder(&self) -> Option<&std::path::PathBuf> {
        self.picker_folder.as_ref()
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

    /// The drafts: those a supervisor returned to correct first, then
    /// the others, each most recently changed first.
    pub fn drafts(&self) -> Vec<&Listing> {
        let mut d: Vec<&Listing> = self
            .listing()
            .iter()
            .filter(|l| l.state == State::Draft)
            .collect();
        d.sort_by(|a, b| {
            (b.returned.is_some(), &b.updated).cmp(&(a.returned.is_some(), &a.updated))
        });
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

    pub(super) fn say(&mut self, notice: Notice) {
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
        let (name, form) = self.draft_names(l);
        [name, form, short_time(&l.started)]
    }

    /// A draft's name (or "no name yet") and its form's title.
    pub fn draft_names(&self, l: &Listing) -> (String, String) {
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
        (name, form)
    }

    pub(super) fn go_home(&mut self) {
        let pane = if self.drafts().is_empty() {
            Pane::Forms
        } else {
            Pane::Drafts
        };
        self.page = Page::Home(HomePage {
            pane,
            form: 0,
            draft: 0,
            visit: 0,
        });
    }

    /// Switches to the next language: the current form's, or English/Lao.
    pub(super) fn switch_language(&mut self) {
        let languages: Vec<String> = match &self.page {
            Page::Record(r) => r.session.form().languages.clone(),
            _ => vec![ENGLISH.into(), LAO.into()],
        };
        if languages.is_empty() {
            return;
        }
        let at = languages.iter().position(|l| *l == self.language);
        let next = match at {
            Some(i) => languages[(i + 1) % languages.len()].clone(),
            None => languages[0].clone(),
        };
        self.set_language(&next);
    }

    /// Words, labels and the review page in `language`.
    pub fn set_language(&mut self, language: &str) {
        self.language = language.to_string();
        if let Page::Record(r) = &mut self.page {
            r.set_language(language);
            if matches!(self.overlay, Some(Overlay::Review { .. })) {
                self.review = r.review_items();
            }
        }
    }

    /// Opens the review page on its first entry.
    pub(super) fn open_review(&mut self) {
        if let Page::Record(r) = &self.page {
            self.review = r.review_items();
            self.overlay = Some(Overlay::Review { cursor: 0 });
        }
    }

    pub fn update(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Resize => None,
            Action::Key(key) => self.timed_key(key),
            Action::Opened(Ok(mut opened)) => {
                if let Some(forms) = opened.forms.take() {
                    self.forms = forms;
                }
                self.who = Some(opened);
                self.go_home();
                self.status = None;
                if self.forms.is_empty() {
                    self.say(Notice::problem(Msg::NoForms, &[]));
                }
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
            Action::ParadataSaved(Ok(())) => None,
            Action::Saved(Err(e)) | Action::ParadataSaved(Err(e)) => {
                self.say(Notice::failed(Msg::NotSaved, e));
                if let Page::Record(r) = &mut self.page {
                    r.mark_unsaved();
                }
                None
            }
            Action::DraftLoaded(Ok((draft, kept))) => {
                self.open_draft(draft, kept);
                if let Page::Record(r) = &mut self.page {
                    // It is in the store; its time counts from now.
                    r.saved_once = true;
                    r.note_time(self.now);
                }
                self.ask_sizes()
            }
            Action::AttachmentSizes(result) => {
                self.sizes(result);
                None
            }
            Action::DraftLoaded(Err(e)) => self.failed(Msg::LoadFailed, e),
            Action::Finalized(Err(e)) => self.failed(Msg::FinalizeFailed, e),
            Action::Deleted(Err(e)) => self.failed(Msg::DeleteFailed, e),
            Action::Finalized(Ok(())) => {
                if let Page::Record(r) = &self.page {
                    let mut listing = r.listing();
                    listing.state = State::Outbox;
                    listing.returned = None;
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
            Action::Listed(result) => {
                self.listed(result);
                None
            }
            Action::Attached(result) => self.attached(result),
            Action::PackImported(result) => {
                match result {
                    Ok((pack, counts, mut opened)) => {
                        if let Some(forms) = opened.forms.take() {
                            self.forms = forms;
                            self.go_home();
                        }
                        self.who = Some(opened);
                        self.say(Notice::good(Msg::PackInstalled, &[&pack, &counts]));
                    }
                    Err(e) => self.say(Notice::failed(Msg::PackFailed, e)),
                }
                None
            }
            Action::Acked(result) => {
                match result {
                    Ok((done, opened)) => {
                        self.who = Some(opened);
                        let purged = done.purged.to_string();
                        if done.verdicts == 0 {
                            self.say(Notice::good(
                                Msg::Receipted,
                                &[&done.by, &purged, &done.bundle_id],
                            ));
                        } else {
                            let n = [done.approved, done.returned, done.received]
                                .map(|n| n.to_string());
                            self.say(Notice::good(
                                Msg::ReceiptedVerdicts,
                                &[&done.by, &n[0], &n[1], &n[2]],
                            ));
                            self.go_home();
                        }
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
    pub(super) fn failed(&mut self, what: Msg, detail: String) -> Option<Effect> {
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

    fn env(&self) -> Env {
        Env {
            now: self.now,
            seed: crate::clock::seed(),
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

    pub(super) fn start_record(&mut self, form: usize) {
        self.start_record_with(form, &[]);
    }

    /// Starts a record of `form` with some answers given (see
    /// `Session::started_with`).
    fn start_record_with(&mut self, form: usize, given: &[(crate::form::NodeId, String)]) {
        let Some(entry) = self.forms.get(form) else {
            return;
        };
        let session = Session::started_with(Arc::clone(&entry.form), self.env(), given);
        let draft = Draft::new(
            &entry.form.id,
            &entry.form.version,
            &entry.sha256,
            &self.now.to_string(),
        );
        self.page = Page::Record(Box::new(RecordView::new(session, draft, &self.language)));
    }

    /// The round's entities this enumerator has still to visit, and how
    /// many of all assigned are done.
    pub fn to_visit(&self) -> (Vec<&ToVisit>, usize, usize) {
        let all: &[ToVisit] = self.who.as_ref().map_or(&[], |w| &w.visits);
        let left: Vec<&ToVisit> = all.iter().filter(|v| !v.done).collect();
        let done = all.len() - left.len();
        (left, done, all.len())
    }

    /// Starts a record of the form that updates `visit`'s list, with the
    /// question its `entity_id` names answered with the entity: the site
    /// chosen on the home page. Says so when no form of the pack does.
    pub(super) fn start_visit(&mut self, visit: &ToVisit) {
        let target = self.forms.iter().enumerate().find_map(|(i, f)| {
            let decl = f.form.entity.as_ref().filter(|d| d.list == visit.list)?;
            match &decl.entity_id {
                Some(crate::form::expr::Expr::Ref(r)) => Some((i, r.node?)),
                _ => None,
            }
        });
        let Some((form, node)) = target else {
            self.say(Notice::problem(Msg::NoFormForVisit, &[&visit.list]));
            return;
        };
        // The site first, so that the defaults that depend on it (its
        // province, its district) are filled in from the start.
        self.start_record_with(form, &[(node, visit.name.clone())]);
        if let Page::Record(r) = &mut self.page {
            r.mark_unsaved();
        }
    }

    /// Opens a draft on the form text it was started on: an offered form
    /// with its hash, else the text the store kept for it (`kept`). A
    /// draft saved before the store kept form texts, whose text is gone,
    /// moves to the offered form of its id, and the page says so.
    pub(super) fn open_draft(&mut self, mut draft: Draft, kept: Option<Arc<Form>>) {
        let same_text = self.forms.iter().find(|f| f.sha256 == draft.form_sha256);
        let same_text = same_text.map(|e| Arc::clone(&e.form));
        let same_id = self.forms.iter().find(|f| f.form.id == draft.form_id);
        let same_id = same_id.map(|e| Arc::clone(&e.form));
        let form = match (same_text, kept, same_id) {
            (Some(form), _, _) => form,
            (None, Some(kept), offered) => {
                let now_offered = offered.as_ref().map_or("-", |f| f.version.as_str());
                self.say(Notice::good(
                    Msg::KeptVersion,
                    &[&kept.version, now_offered],
                ));
                kept
            }
            (None, None, Some(form)) => {
                draft.form_sha256 = form.sha256().to_string();
                draft.form_version = form.version.clone();
                self.say(Notice::problem(Msg::MovedVersion, &[&form.version]));
                form
            }
            (None, None, None) => {
                self.say(Notice::problem(Msg::FormMissing, &[&draft.form_id]));
                self.go_home();
                return;
            }
        };
        let mut session = Session::new(form, self.env());
        let problems = session.load_answers(&draft.answers);
        // A record returned to correct: what the supervisor said of it
        // as a whole (their comments show under their questions).
        if let Some(r) = &draft.returned {
            let note = if r.note.is_empty() {
                self.t(Msg::ReturnedToCorrect).to_string()
            } else {
                r.note.clone()
            };
            self.say(Notice::good(
                Msg::ReturnedOpened,
                &[&r.version.to_string(), &note],
            ));
        }
        let mut view = RecordView::new(session, draft, &self.language);
        if !view.to_first_comment() {
            view.resume_point();
        }
        if !problems.is_empty() {
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            self.say(Notice::problem(
                Msg::AnswersMisfit,
                &[&problems.len().to_string(), &paths.join(", ")],
            ));
        }
        self.page = Page::Record(Box::new(view));
    }
}

/// "2026-11-21 08:00" of a stored time.
pub fn short_time(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}
