//! What a key does on a record page: move between questions and pages,
//! type, pick, tick, clear, give today's date. Enter never picks.

use ratatui::crossterm::event::KeyEvent;

use super::action::Effect;
use super::input::Input;
use super::keymap::{Command, Context, command};
use super::record::{DateShape, Editor, RecordView};
use super::words::{Lang, Msg};
use crate::form::dates::DateTime;
use crate::form::{Kind, Pos, Screen};

/// What happened to a key: stay on the record, or the end of the form was
/// reached (the review opens).
pub enum AfterKey {
    Stay(Option<Effect>),
    End(Option<Effect>),
}

impl RecordView {
    /// The contexts a key is looked up in on this page, first first.
    pub fn key_contexts(&self) -> &'static [Context] {
        if let Screen::AddRepeat { .. } = self.screen {
            return &[Context::AddRepeat];
        }
        let kind = self
            .focused()
            .map(|p| &self.session.form().nodes[p.node].kind);
        match &self.editor {
            Editor::Choices(c) if c.multiple => &[Context::Question, Context::Ticks],
            Editor::Choices(_) => &[Context::Question, Context::List],
            Editor::Acknowledge => &[Context::Question, Context::Ack],
            Editor::File => &[Context::Question, Context::File],
            Editor::Text(_) if matches!(kind, Some(Kind::Date | Kind::Time | Kind::DateTime)) => {
                &[Context::Question, Context::Date, Context::Text]
            }
            Editor::Text(_) => &[Context::Question, Context::Text],
            Editor::Note | Editor::Nothing => &[Context::Question],
        }
    }

    pub fn key(&mut self, key: KeyEvent, now: DateTime) -> AfterKey {
        let pressed = command(self.key_contexts(), &key);
        if let Screen::AddRepeat { path, repeat } = self.screen.clone() {
            return match pressed {
                Some(Command::AddEntry) => match self.session.add_instance(&path, repeat) {
                    Ok(inner) => {
                        self.dirty = true;
                        let first = self
                            .session
                            .screens()
                            .into_iter()
                            .find(|s| screen_in(s, &inner));
                        if let Some(s) = first {
                            self.show(s, 0);
                        }
                        let name = self.session.form().nodes[repeat].name.clone();
                        AfterKey::Stay(Some(self.save(now, &name)))
                    }
                    Err(e) => {
                        let message = self.session.explain(&e);
                        self.messages.insert(
                            Pos {
                                path: path.clone(),
                                node: repeat,
                            },
                            message,
                        );
                        AfterKey::Stay(None)
                    }
                },
                Some(Command::NextPage) => {
                    if self.next_page() {
                        AfterKey::Stay(None)
                    } else {
                        AfterKey::End(None)
                    }
                }
                Some(Command::PreviousPage) => {
                    self.previous_page();
                    AfterKey::Stay(None)
                }
                _ => AfterKey::Stay(None),
            };
        }
        let Some(pos) = self.focused() else {
            return if self.next_page() {
                AfterKey::Stay(None)
            } else {
                AfterKey::End(None)
            };
        };
        match pressed {
            Some(Command::NextPage) => {
                let effect = self.commit_pending(now);
                if self.next_page() {
                    AfterKey::Stay(effect)
                } else {
                    AfterKey::End(effect)
                }
            }
            Some(Command::PreviousPage) => {
                let effect = self.commit_pending(now);
                self.previous_page();
                AfterKey::Stay(effect)
            }
            Some(Command::NextField) => {
                let effect = self.commit_pending(now);
                if self.focus + 1 < self.questions().len() {
                    self.focus += 1;
                    self.load_editor();
                }
                AfterKey::Stay(effect)
            }
            Some(Command::PreviousField) => {
                let effect = self.commit_pending(now);
                if self.focus > 0 {
                    self.focus -= 1;
                    self.load_editor();
                }
                AfterKey::Stay(effect)
            }
            Some(Command::Submit) => self.enter(&pos, now),
            other => self.edit(&pos, other, key, now),
        }
    }

    /// Enter: answer what is typed in a text editor, then go on unless the
    /// answer is refused, breaks a constraint, or a required answer is
    /// missing. Enter never picks a choice: an unanswered list stays
    /// unanswered (Space picks).
    fn enter(&mut self, pos: &Pos, now: DateTime) -> AfterKey {
        let mut effect = None;
        match &self.editor {
            Editor::Text(input) => {
                let raw = input.text.clone();
                match self.commit(pos, &raw, now) {
                    Ok(e) => effect = e,
                    Err(()) => return AfterKey::Stay(None),
                }
            }
            // A filter typed and nothing chosen: say how to pick rather
            // than leave the question empty unnoticed.
            Editor::Choices(c)
                if !c.filter.text.is_empty() && self.session.raw_value(pos).is_empty() =>
            {
                let lang = Lang::of_form_language(self.session.language());
                self.messages
                    .insert(pos.clone(), Msg::NothingPicked.text(lang).to_string());
                return AfterKey::Stay(None);
            }
            _ => {}
        }
        if let Some(v) = self.session.check(pos) {
            self.messages.insert(pos.clone(), v.message);
            return AfterKey::Stay(effect);
        }
        // A soft check: said once; Enter again keeps the answer, and the
        // confirmation is saved with the draft.
        if let Some(v) = self.session.soft_check(pos) {
            if self.warned.as_ref() != Some(pos) {
                let lang = Lang::of_form_language(self.session.language());
                let again = Msg::ConfirmUnusual.text(lang);
                self.messages
                    .insert(pos.clone(), format!("{} {again}", v.message));
                self.warned = Some(pos.clone());
                return AfterKey::Stay(effect);
            }
            self.session.confirm(pos);
            self.warned = None;
            let name = self.session.form().nodes[pos.node].name.clone();
            effect = Some(self.save(now, &format!("{name} confirmed")));
        }
        self.messages.remove(pos);
        if self.advance() {
            AfterKey::Stay(effect)
        } else {
            AfterKey::End(effect)
        }
    }

    /// Clears the answer in focus (Ctrl-U, or Delete on a list), saved at
    /// once like any answer.
    fn clear(&mut self, pos: &Pos, now: DateTime) -> Option<Effect> {
        match &mut self.editor {
            Editor::Text(input) => input.clear(),
            Editor::Choices(c) => {
                c.filter.clear();
                c.browsing = true;
            }
            _ => {}
        }
        self.refresh_choices();
        self.commit(pos, "", now).ok().flatten()
    }

    /// Picks (select_one) or ticks and unticks (select_multiple) the
    /// highlighted choice.
    fn toggle(&mut self, pos: &Pos, now: DateTime) -> Option<Effect> {
        let Editor::Choices(c) = &self.editor else {
            return None;
        };
        let &i = c.visible.get(c.cursor)?;
        let multiple = c.multiple;
        let list = self.session.form().list_of(pos.node)?;
        let name = list.choices[i].name.clone();
        let raw = if multiple {
            let mut ticked: Vec<String> = self
                .session
                .raw_value(pos)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            match ticked.iter().position(|t| *t == name) {
                Some(at) => {
                    ticked.remove(at);
                }
                None => ticked.push(name),
            }
            ticked.join(" ")
        } else {
            name
        };
        self.commit(pos, &raw, now).ok().flatten()
    }

    /// A key on the editor in focus: its command (a field's Up and Down,
    /// Ctrl-T, picking, clearing, moving in a list) or, with none or one
    /// that does not apply here, typed into the editor.
    fn edit(
        &mut self,
        pos: &Pos,
        pressed: Option<Command>,
        key: KeyEvent,
        now: DateTime,
    ) -> AfterKey {
        let questions = self.questions().len();
        let kind = self.session.form().nodes[pos.node].kind.clone();
        // Clearing clears the answer, whatever the question; in a list
        // with a filter typed, the key goes to the filter (Ctrl-U empties
        // it, Delete deletes a letter).
        let filtering = matches!(&self.editor, Editor::Choices(c) if !c.filter.text.is_empty());
        if pressed == Some(Command::Clear) && !filtering {
            if matches!(self.editor, Editor::Note | Editor::Nothing) {
                return AfterKey::Stay(None);
            }
            return AfterKey::Stay(self.clear(pos, now));
        }
        match &mut self.editor {
            Editor::Text(input) => {
                match pressed {
                    Some(Command::PreviousField) if self.focus > 0 => {
                        let effect = self.commit_pending(now);
                        self.focus -= 1;
                        self.load_editor();
                        return AfterKey::Stay(effect);
                    }
                    Some(Command::NextField) if self.focus + 1 < questions => {
                        let effect = self.commit_pending(now);
                        self.focus += 1;
                        self.load_editor();
                        return AfterKey::Stay(effect);
                    }
                    // Today (or now), answered at once.
                    Some(Command::Today) => {
                        let node = &self.session.form().nodes[pos.node];
                        let Some(today) = today(&kind, DateShape::of(node), now) else {
                            return AfterKey::Stay(None);
                        };
                        *input = Input::new(&today);
                        return AfterKey::Stay(self.commit(pos, &today, now).ok().flatten());
                    }
                    _ => {
                        input.handle(&key);
                    }
                }
                AfterKey::Stay(None)
            }
            Editor::Choices(c) => {
                match pressed {
                    // The first arrow after typing goes into the list on
                    // its first match; then arrows move.
                    Some(Command::Up | Command::Down) if !c.browsing => c.browsing = true,
                    Some(Command::Up) => c.cursor = c.cursor.saturating_sub(1),
                    Some(Command::Down) => {
                        c.cursor = (c.cursor + 1).min(c.visible.len().saturating_sub(1))
                    }
                    Some(Command::Top) => c.cursor = 0,
                    // Space picks or ticks in the list; while a filter is
                    // being typed it is part of the filter ("in person").
                    Some(Command::Pick) if c.browsing || c.filter.text.is_empty() => {
                        let effect = self.toggle(pos, now);
                        self.refresh_choices();
                        return AfterKey::Stay(effect);
                    }
                    _ if c.filter.handle(&key) => {
                        c.cursor = 0;
                        c.browsing = c.filter.text.is_empty();
                        self.refresh_choices();
                    }
                    _ => {}
                }
                AfterKey::Stay(None)
            }
            Editor::Acknowledge => match pressed {
                Some(Command::Pick) => {
                    let raw = if self.session.raw_value(pos) == "OK" {
                        ""
                    } else {
                        "OK"
                    };
                    AfterKey::Stay(self.commit(pos, raw, now).ok().flatten())
                }
                _ => AfterKey::Stay(None),
            },
            // Space opens the picker: the app does it (an overlay).
            Editor::File | Editor::Note | Editor::Nothing => AfterKey::Stay(None),
        }
    }
}

/// What Ctrl-T answers on a date, time or date-time question.
fn today(kind: &Kind, shape: DateShape, now: DateTime) -> Option<String> {
    let stamp = now.to_string();
    match kind {
        Kind::Date => {
            let date = crate::form::dates::format_date(now.local_date());
            Some(shape.shown(&date).to_string())
        }
        Kind::Time => stamp.get(11..16).map(str::to_string),
        Kind::DateTime => stamp.get(..16).map(str::to_string),
        _ => None,
    }
}

/// Whether a screen belongs to the repeat instance at `inner`.
fn screen_in(screen: &Screen, inner: &[(usize, usize)]) -> bool {
    let path = match screen {
        Screen::Question(p) | Screen::FieldList(p) => &p.path,
        Screen::AddRepeat { path, .. } => path,
    };
    path.starts_with(inner)
}
