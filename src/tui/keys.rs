//! What keys do on each page and overlay: the part of `App::update`
//! that takes a key. The key's command comes from the keymap
//! (`keymap.rs`); a key with none is typed into the field in focus.
//! Pure, like the rest of the update.

use std::path::PathBuf;
use std::sync::Arc;

use ratatui::crossterm::event::KeyEvent;

use super::action::Effect;
use super::app::{App, Overlay, Page, Pane, ToVisit};
use super::editing::AfterKey;
use super::input::Input;
use super::keymap::{Command, Context, command};
use super::review::ReviewItem;
use super::setup::SetupField;
use super::words::{Msg, Notice};

impl App {
    pub(super) fn key(&mut self, key: KeyEvent) -> Option<Effect> {
        if command(&[Context::Always], &key) == Some(Command::Quit) {
            let now = self.now;
            if let Page::Record(r) = &mut self.page {
                match r.save_if_dirty(now) {
                    Some(Effect::Save {
                        draft,
                        form,
                        detail,
                    }) => {
                        return Some(Effect::SaveAndQuit {
                            draft,
                            form,
                            detail,
                        });
                    }
                    Some(Effect::SaveParadata { draft, .. }) => {
                        return Some(Effect::SaveParadata { draft, quit: true });
                    }
                    _ => {}
                }
            }
            return Some(Effect::Quit);
        }
        if let Some(overlay) = self.overlay.clone() {
            return self.overlay_key(overlay, key);
        }
        match command(&[Context::Everywhere], &key) {
            Some(Command::Help) => {
                self.overlay = Some(Overlay::Help);
                return None;
            }
            Some(Command::Language) => {
                self.switch_language();
                return None;
            }
            _ => {}
        }
        match &mut self.page {
            Page::Setup(_) => self.setup_key(key),
            Page::Unlock { passphrase, error } => match command(&[Context::Unlock], &key) {
                Some(Command::Quit) => Some(Effect::Quit),
                Some(Command::Submit) if !passphrase.text.is_empty() => {
                    let passphrase = crate::crypt::passphrase(&passphrase.text);
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
        match command(&[Context::Setup], &key) {
            Some(Command::Quit) => return Some(Effect::Quit),
            Some(Command::NextField) => {
                s.focus = SetupField::ALL[(at + 1) % SetupField::ALL.len()];
            }
            Some(Command::PreviousField) => {
                s.focus = SetupField::ALL[(at + SetupField::ALL.len() - 1) % SetupField::ALL.len()];
            }
            Some(Command::Submit) => {
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
                        passphrase: crate::crypt::passphrase(&s.pass.text),
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
        let visits: Vec<ToVisit> = self.to_visit().0.into_iter().cloned().collect();
        let Page::Home(h) = &mut self.page else {
            return None;
        };
        match command(&[Context::Home], &key) {
            Some(Command::Quit) => return Some(Effect::Quit),
            Some(Command::SwitchPane) => {
                h.pane = match h.pane {
                    Pane::Forms if !visits.is_empty() => Pane::Visits,
                    Pane::Forms | Pane::Visits => Pane::Drafts,
                    Pane::Drafts => Pane::Forms,
                };
            }
            Some(Command::Up) => match h.pane {
                Pane::Forms => h.form = h.form.saturating_sub(1),
                Pane::Visits => h.visit = h.visit.saturating_sub(1),
                Pane::Drafts => h.draft = h.draft.saturating_sub(1),
            },
            Some(Command::Down) => match h.pane {
                Pane::Forms => h.form = (h.form + 1).min(forms.saturating_sub(1)),
                Pane::Visits => h.visit = (h.visit + 1).min(visits.len().saturating_sub(1)),
                Pane::Drafts => h.draft = (h.draft + 1).min(drafts.len().saturating_sub(1)),
            },
            Some(Command::Export) => {
                self.overlay = Some(Overlay::Export {
                    dir: Input::new(&self.export_dir),
                });
            }
            Some(Command::Receipt) => {
                self.overlay = Some(Overlay::Ack {
                    file: Input::default(),
                });
            }
            Some(Command::Pack) => {
                self.overlay = Some(Overlay::Pack {
                    file: Input::default(),
                });
            }
            Some(Command::Delete) if h.pane == Pane::Drafts => {
                if let Some(id) = drafts.get(h.draft) {
                    self.overlay = Some(Overlay::ConfirmDelete { id: id.clone() });
                }
            }
            Some(Command::Submit) => match h.pane {
                Pane::Forms => {
                    let form = h.form;
                    self.start_record(form);
                }
                Pane::Visits => {
                    if let Some(visit) = visits.get(h.visit) {
                        self.start_visit(visit);
                    }
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

    fn record_key(&mut self, key: KeyEvent) -> Option<Effect> {
        let now = self.now;
        if let Some(effect) = self.file_key(&key) {
            return effect;
        }
        let Page::Record(r) = &mut self.page else {
            return None;
        };
        match command(&[Context::Record], &key) {
            Some(Command::Home) => {
                let save = r.save_if_dirty(now);
                self.go_home();
                return save;
            }
            Some(Command::Jump) => {
                let effect = r.commit_pending(now);
                self.overlay = Some(Overlay::Jump {
                    cursor: r.jump_position(),
                });
                return effect;
            }
            Some(Command::Review) => {
                let effect = r.commit_pending(now);
                self.open_review();
                return effect;
            }
            Some(Command::RemoveEntry) => {
                if r.in_repeat_instance() {
                    self.overlay = Some(Overlay::ConfirmRemove);
                }
                return None;
            }
            _ => {}
        }
        match r.key(key, now) {
            AfterKey::Stay(effect) => effect,
            AfterKey::End(effect) => {
                self.open_review();
                effect
            }
        }
    }

    fn overlay_key(&mut self, overlay: Overlay, key: KeyEvent) -> Option<Effect> {
        let now = self.now;
        match overlay {
            Overlay::Picker(picker) => self.picker_key(picker, key),
            Overlay::Help => {
                if command(&[Context::Help], &key) == Some(Command::Close) {
                    self.overlay = None;
                }
                None
            }
            Overlay::ConfirmDelete { id } => {
                self.overlay = None;
                match command(&[Context::Confirm], &key) {
                    Some(Command::Yes) => Some(Effect::Delete { id }),
                    _ => None,
                }
            }
            Overlay::Export { mut dir } => match command(&[Context::Dialog], &key) {
                Some(Command::Close) => {
                    self.overlay = None;
                    None
                }
                Some(Command::Submit) if !dir.text.trim().is_empty() => {
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
            Overlay::Ack { mut file } => match command(&[Context::Dialog], &key) {
                Some(Command::Close) => {
                    self.overlay = None;
                    None
                }
                Some(Command::Submit) if !file.text.trim().is_empty() => {
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
            Overlay::Pack { mut file } => match command(&[Context::Dialog], &key) {
                Some(Command::Close) => {
                    self.overlay = None;
                    None
                }
                Some(Command::Submit) if !file.text.trim().is_empty() => {
                    self.overlay = None;
                    Some(Effect::ImportPack {
                        file: PathBuf::from(file.text.trim()),
                    })
                }
                _ => {
                    file.handle(&key);
                    self.overlay = Some(Overlay::Pack { file });
                    None
                }
            },
            Overlay::ConfirmRemove => {
                self.overlay = None;
                match (&mut self.page, command(&[Context::Confirm], &key)) {
                    (Page::Record(r), Some(Command::Yes)) => r.remove_instance(now),
                    _ => None,
                }
            }
            Overlay::Jump { cursor } => {
                let Page::Record(r) = &mut self.page else {
                    self.overlay = None;
                    return None;
                };
                let entries = r.jump_entries();
                match command(&[Context::Jump], &key) {
                    Some(Command::Close) => self.overlay = None,
                    Some(Command::Up) => {
                        self.overlay = Some(Overlay::Jump {
                            cursor: cursor.saturating_sub(1),
                        })
                    }
                    Some(Command::Down) => {
                        self.overlay = Some(Overlay::Jump {
                            cursor: (cursor + 1).min(entries.len().saturating_sub(1)),
                        })
                    }
                    Some(Command::PageUp) => {
                        self.overlay = Some(Overlay::Jump {
                            cursor: cursor.saturating_sub(10),
                        })
                    }
                    Some(Command::PageDown) => {
                        self.overlay = Some(Overlay::Jump {
                            cursor: (cursor + 10).min(entries.len().saturating_sub(1)),
                        })
                    }
                    Some(Command::Submit) => {
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
                let items = &self.review;
                let last = items.len().saturating_sub(1);
                let pressed = command(&[Context::Review], &key);
                let moved = match pressed {
                    Some(Command::Up) => Some(cursor.saturating_sub(1)),
                    Some(Command::Down) => Some((cursor + 1).min(last)),
                    Some(Command::PageUp) => Some(cursor.saturating_sub(10)),
                    Some(Command::PageDown) => Some((cursor + 10).min(last)),
                    Some(Command::Top) => Some(0),
                    Some(Command::Bottom) => Some(last),
                    _ => None,
                };
                if let Some(cursor) = moved {
                    self.overlay = Some(Overlay::Review { cursor });
                    return None;
                }
                match (pressed, items.get(cursor)) {
                    (Some(Command::Close), _) => self.overlay = None,
                    (Some(Command::Submit), Some(ReviewItem::Finalize)) => {
                        let (draft, values) = r.final_record(now);
                        return Some(Effect::Finalize {
                            draft,
                            values,
                            form: Arc::clone(r.session.form()),
                        });
                    }
                    (
                        Some(Command::Submit),
                        Some(ReviewItem::Problem { pos, .. } | ReviewItem::Comment { pos, .. }),
                    ) => {
                        if let Some(pos) = pos {
                            r.go_to(pos);
                        }
                        self.overlay = None;
                    }
                    (Some(Command::Submit), Some(ReviewItem::Question { entry, .. })) => {
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
