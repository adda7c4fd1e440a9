//! The supervisor's screen's model and `update`: the records of the
//! bundles (a list, and a record's page with its reviewed answers and
//! the engine's checks), the verdicts so far, and the prompts (a comment,
//! a return's note, quitting). `update` changes state and does no I/O:
//! writing the receipts is an `Effect` the loop runs. A key costs O(1),
//! or O(the record) when a record's page opens; never O(all records).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::words::W;
use crate::bundle::receipt::Decision;
use crate::supervise::labels::{self, Answer};
use crate::supervise::verdicts::Pending;
use crate::supervise::{Opened, Seen};
use crate::tui::input::Input;
use crate::tui::words::Lang;

/// Everything that can happen.
#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    /// The receipts were written (their paths and verdicts), or why not.
    Written(Result<Vec<(std::path::PathBuf, usize)>, String>),
}

/// What the loop does for the model.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    /// Sign and write the receipts with the verdicts so far.
    Write,
    Quit,
}

/// One line of a record's page: an answer, or one of the engine's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub answer: Answer,
    /// For a check: its kind and message.
    pub check: Option<String>,
}

impl Row {
    /// A row naming a question without its answer: a check's, or a
    /// comment's on a question the page does not list.
    fn unanswered(field: &str, label: String, check: Option<String>) -> Row {
        Row {
            answer: Answer {
                field: field.to_string(),
                label,
                value: String::new(),
            },
            check,
        }
    }
}

/// A question's label in `form`, else its path.
fn label_or_path(form: Option<&crate::form::Form>, field: &str, lang: Lang) -> String {
    labels::label_of(form, field, lang).unwrap_or_else(|| field.to_string())
}

/// A record's page.
#[derive(Debug, Clone)]
pub struct RecordPage {
    /// Index into the entries.
    pub entry: usize,
    pub rows: Vec<Row>,
    /// The selected row.
    pub at: usize,
}

#[derive(Debug, Clone)]
pub enum Page {
    List,
    Record(RecordPage),
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help,
    Comment {
        field: String,
        label: String,
        input: Input,
    },
    /// Which question of the form to comment on, typed as the record's
    /// values name it (`members[2]/age`): also one not marked for review.
    Field {
        input: Input,
    },
    ReturnNote {
        input: Input,
    },
    Quit,
}

/// A line for the status bar: words and facts, drawn in the language of
/// the moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub words: W,
    pub facts: Vec<String>,
    pub detail: Option<String>,
    pub problem: bool,
}

pub struct App<'o> {
    pub opened: &'o Opened,
    /// The verdict so far of each entry.
    pub pending: Vec<Pending>,
    pub lang: Lang,
    pub color: bool,
    pub page: Page,
    /// The selected record in the list.
    pub selected: usize,
    pub overlay: Option<Overlay>,
    pub said: Option<Said>,
    /// Verdicts changed since the screen opened.
    pub changed: bool,
    /// Records with a verdict.
    given: usize,
    /// Rows of the terminal (for paging), as last told.
    pub height: u16,
    /// What was written, once it was.
    pub written: Option<Vec<(std::path::PathBuf, usize)>>,
}

impl<'o> App<'o> {
    pub fn new(opened: &'o Opened, lang: Lang) -> Self {
        App {
            pending: vec![Pending::default(); opened.entries.len()],
            opened,
            lang,
            color: true,
            page: Page::List,
            selected: 0,
            overlay: None,
            said: (!opened.failed.is_empty()).then(|| Said {
                words: W::NotReviewed,
                facts: vec![opened.failed.len().to_string()],
                detail: None,
                problem: true,
            }),
            changed: false,
            given: 0,
            height: 24,
            written: None,
        }
    }

    pub fn t(&self, w: W) -> &'static str {
        w.text(self.lang)
    }

    /// The verdicts given so far (counted as they are given: a frame
    /// never counts all records).
    pub fn verdicts(&self) -> usize {
        self.given
    }

    /// The record the keys act on: the page's, else the list's selection.
    pub fn current(&self) -> usize {
        match &self.page {
            Page::Record(r) => r.entry,
            Page::List => self.selected,
        }
    }

    /// Rows a list gets on this terminal (the rest is bars and headings).
    pub fn list_rows(&self) -> usize {
        usize::from(self.height.saturating_sub(5)).max(1)
    }

    /// Rows a record's page gets for its answers.
    pub fn record_rows(&self) -> usize {
        usize::from(self.height.saturating_sub(12)).max(1)
    }

    fn say(&mut self, words: W, facts: &[&str], problem: bool) {
        self.said = Some(Said {
            words,
            facts: facts.iter().map(|f| f.to_string()).collect(),
            detail: None,
            problem,
        });
    }

    pub fn update(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Written(Ok(paths)) => {
                self.written = Some(paths);
                Some(Effect::Quit)
            }
            Action::Written(Err(why)) => {
                self.said = Some(Said {
                    words: W::NotWritten,
                    facts: Vec::new(),
                    detail: Some(why),
                    problem: true,
                });
                None
            }
            Action::Key(key) => self.key(key),
        }
    }

    fn key(&mut self, key: KeyEvent) -> Option<Effect> {
        if key.code == KeyCode::F(2) {
            self.lang = match self.lang {
                Lang::En => Lang::Lo,
                Lang::Lo => Lang::En,
            };
            if let Page::Record(r) = &self.page {
                let entry = r.entry;
                let at = r.at;
                self.open(entry);
                if let Page::Record(r) = &mut self.page {
                    r.at = at.min(r.rows.len().saturating_sub(1));
                }
            }
            return None;
        }
        if let Some(overlay) = self.overlay.take() {
            return self.overlay_key(overlay, key);
        }
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code == KeyCode::F(1) {
            self.overlay = Some(Overlay::Help);
            return None;
        }
        if ctrl_c {
            return self.quit();
        }
        let n = self.opened.entries.len();
        let page_rows = match &self.page {
            Page::List => self.list_rows(),
            Page::Record(_) => self.record_rows(),
        };
        match key.code {
            KeyCode::Char('a') => self.decide(Decision::Approved),
            KeyCode::Char('r') => {
                if let Some(p) = self.pending.get(self.current()) {
                    self.overlay = Some(Overlay::ReturnNote {
                        input: Input::new(&p.note),
                    });
                }
            }
            KeyCode::Char('u') => self.undo(),
            KeyCode::Char('w') => {
                self.say(W::Writing, &[], false);
                return Some(Effect::Write);
            }
            _ => {}
        }
        match &mut self.page {
            Page::List => match key.code {
                KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => {
                    self.selected = (self.selected + 1).min(n.saturating_sub(1));
                }
                KeyCode::PageUp => self.selected = self.selected.saturating_sub(page_rows),
                KeyCode::PageDown => {
                    self.selected = (self.selected + page_rows).min(n.saturating_sub(1));
                }
                KeyCode::Home => self.selected = 0,
                KeyCode::End => self.selected = n.saturating_sub(1),
                KeyCode::Enter if n > 0 => self.open(self.selected),
                KeyCode::Char('q') | KeyCode::Esc => return self.quit(),
                _ => {}
            },
            Page::Record(r) => {
                let last = r.rows.len().saturating_sub(1);
                match key.code {
                    KeyCode::Up | KeyCode::Char('k') => r.at = r.at.saturating_sub(1),
                    KeyCode::Down | KeyCode::Char('j') => r.at = (r.at + 1).min(last),
                    KeyCode::PageUp => r.at = r.at.saturating_sub(page_rows),
                    KeyCode::PageDown => r.at = (r.at + page_rows).min(last),
                    KeyCode::Home => r.at = 0,
                    KeyCode::End => r.at = last,
                    KeyCode::Char('c') => match r.rows.get(r.at) {
                        Some(row) => {
                            let field = row.answer.field.clone();
                            let text = self.pending[r.entry].comment(&field).unwrap_or("");
                            self.overlay = Some(Overlay::Comment {
                                input: Input::new(text),
                                label: row.answer.label.clone(),
                                field,
                            });
                        }
                        None => self.say(W::NoQuestion, &[], true),
                    },
                    KeyCode::Char('f') => {
                        self.overlay = Some(Overlay::Field {
                            input: Input::default(),
                        });
                    }
                    KeyCode::Char('n') => {
                        let next = (r.entry + 1).min(n.saturating_sub(1));
                        self.selected = next;
                        self.open(next);
                    }
                    KeyCode::Char('p') => {
                        let previous = r.entry.saturating_sub(1);
                        self.selected = previous;
                        self.open(previous);
                    }
                    KeyCode::Esc | KeyCode::Char('q') => {
                        self.selected = r.entry;
                        self.page = Page::List;
                    }
                    _ => {}
                }
            }
        }
        None
    }

    fn overlay_key(&mut self, overlay: Overlay, key: KeyEvent) -> Option<Effect> {
        match overlay {
            Overlay::Help => None,
            Overlay::Quit => match key.code {
                KeyCode::Char('y') => {
                    self.say(W::Writing, &[], false);
                    Some(Effect::Write)
                }
                KeyCode::Char('n') => Some(Effect::Quit),
                KeyCode::Esc => None,
                _ => {
                    self.overlay = Some(Overlay::Quit);
                    None
                }
            },
            Overlay::Comment {
                field,
                label,
                mut input,
            } => {
                match key.code {
                    KeyCode::Esc => {}
                    KeyCode::Enter => {
                        let entry = self.current();
                        self.pending[entry].set_comment(&field, &input.text);
                        self.changed = true;
                        self.show_comment_row(&field, label);
                    }
                    _ => {
                        input.handle(&key);
                        self.overlay = Some(Overlay::Comment {
                            field,
                            label,
                            input,
                        });
                    }
                }
                None
            }
            Overlay::Field { mut input } => {
                match key.code {
                    KeyCode::Esc => {}
                    KeyCode::Enter => {
                        let field = input.text.trim().to_string();
                        let entry = self.current();
                        let known = self.opened.entries.get(entry).is_some_and(|e| {
                            crate::supervise::verdicts::comment_allowed(e, self.opened, &field)
                        });
                        if known {
                            let label = self.label(entry, &field);
                            let text = self.pending[entry].comment(&field).unwrap_or("");
                            self.overlay = Some(Overlay::Comment {
                                input: Input::new(text),
                                label,
                                field,
                            });
                        } else {
                            self.say(W::NotAField, &[&field], true);
                            self.overlay = Some(Overlay::Field { input });
                        }
                    }
                    _ => {
                        input.handle(&key);
                        self.overlay = Some(Overlay::Field { input });
                    }
                }
                None
            }
            Overlay::ReturnNote { mut input } => {
                match key.code {
                    KeyCode::Esc => {}
                    KeyCode::Enter => {
                        let entry = self.current();
                        let p = &mut self.pending[entry];
                        let before = std::mem::replace(&mut p.note, input.text.trim().to_string());
                        if p.says_why() {
                            self.decide(Decision::Returned);
                        } else {
                            self.pending[entry].note = before;
                            self.say(W::NeedsWhy, &[], true);
                            self.overlay = Some(Overlay::ReturnNote { input });
                        }
                    }
                    _ => {
                        input.handle(&key);
                        self.overlay = Some(Overlay::ReturnNote { input });
                    }
                }
                None
            }
        }
    }

    /// The form a record was made with, when it is known.
    fn form_of(&self, entry: usize) -> Option<&'o crate::form::Form> {
        let opened = self.opened;
        let e = opened.entries.get(entry)?;
        e.form.and_then(|i| opened.forms.get(i)).map(|f| &**f)
    }

    /// A question's label on a record, else its path.
    fn label(&self, entry: usize, field: &str) -> String {
        label_or_path(self.form_of(entry), field, self.lang)
    }

    /// A comment on a question the page does not list (not marked for
    /// review) gets a row of its own, so that it shows and can be changed.
    fn show_comment_row(&mut self, field: &str, label: String) {
        if let Page::Record(r) = &mut self.page
            && !r.rows.iter().any(|row| row.answer.field == field)
        {
            r.rows.push(Row::unanswered(field, label, None));
            r.at = r.rows.len() - 1;
        }
    }

    fn decide(&mut self, decision: Decision) {
        let entry = self.current();
        let Some(e) = self.opened.entries.get(entry) else {
            return;
        };
        if self.pending[entry].decision.replace(decision).is_none() {
            self.given += 1;
        }
        self.changed = true;
        let words = match decision {
            Decision::Approved => W::DidApprove,
            Decision::Returned => W::DidReturn,
        };
        self.say(words, &[short_id(&e.record_id)], false);
    }

    fn undo(&mut self) {
        let entry = self.current();
        let Some(e) = self.opened.entries.get(entry) else {
            return;
        };
        let p = &mut self.pending[entry];
        if p.decision.take().is_some() {
            self.given -= 1;
            p.note.clear();
            self.changed = true;
            self.say(W::DidUndo, &[short_id(&e.record_id)], false);
        } else {
            self.say(W::NothingToUndo, &[short_id(&e.record_id)], true);
        }
    }

    fn quit(&mut self) -> Option<Effect> {
        if self.changed {
            self.overlay = Some(Overlay::Quit);
            None
        } else {
            Some(Effect::Quit)
        }
    }

    /// Opens a record's page: its answers (with their labels) and the
    /// engine's checks, one row each.
    pub fn open(&mut self, entry: usize) {
        let Some(e) = self.opened.entries.get(entry) else {
            return;
        };
        let form = self.form_of(entry);
        let mut rows = Vec::new();
        if let Seen::View(view) = &e.seen {
            rows.extend(
                labels::answers(view, form, self.lang)
                    .into_iter()
                    .map(|answer| Row {
                        answer,
                        check: None,
                    }),
            );
            for c in &view.checks {
                rows.push(Row::unanswered(
                    &c.field,
                    label_or_path(form, &c.field, self.lang),
                    Some(format!("{}: {}", c.kind, c.message)),
                ));
            }
        }
        for c in &self.pending[entry].comments {
            if !rows.iter().any(|row| row.answer.field == c.field) {
                let label = label_or_path(form, &c.field, self.lang);
                rows.push(Row::unanswered(&c.field, label, None));
            }
        }
        self.page = Page::Record(RecordPage { entry, rows, at: 0 });
    }
}

/// A record id as the status line names it: its last part (a UUIDv7's
/// random digits; its first are the time, shared by records made in the
/// same millisecond).
pub fn short_id(id: &str) -> &str {
    id.rsplit('-').next().unwrap_or(id)
}
