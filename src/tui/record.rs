//! One record being filled on screen: the engine's session, the page
//! shown, the field in focus and its editor (a line of text, or a list of
//! choices filtered as you type), the messages under fields, and the
//! draft that is saved after every answer. Pure: saving is an `Effect`.

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value};

use super::app::Effect;
use super::chrome::{Lang, Msg};
use super::input::Input;
use crate::form::dates::DateTime;
use crate::form::model::Node;
use crate::form::{Kind, Pos, Screen, Session, ViolationKind};
use crate::store::{Draft, Listing};

#[derive(Debug, Clone, PartialEq)]
pub struct Choices {
    pub filter: Input,
    /// Index into `visible`.
    pub cursor: usize,
    /// Indexes into the list's choices: those allowed here that match the filter.
    pub visible: Vec<usize>,
    pub multiple: bool,
    /// Whether the highlight is in the list (Space picks) rather than in
    /// the filter (Space is part of the filter, as in "ban na"). True while
    /// the filter is empty and after an arrow key; typing returns to the
    /// filter.
    pub browsing: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Editor {
    Text(Input),
    Choices(Choices),
    Acknowledge,
    Note,
    Nothing,
}

/// What happened to a key: stay on the record, or the end of the form was
/// reached (the review opens).
pub enum Outcome {
    Stay(Option<Effect>),
    End(Option<Effect>),
}

/// One line of the jump list.
#[derive(Debug, Clone, PartialEq)]
pub struct JumpEntry {
    pub pos: Pos,
    pub label: String,
    pub state: QuestionState,
    /// Repeat depth, for indenting.
    pub depth: usize,
}

/// One entry of the review page, Enter acts on it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewItem {
    /// Only when nothing is wrong: Enter finalizes.
    Finalize,
    /// What stops finalizing: "label: reason"; Enter goes to the question.
    Problem { pos: Option<Pos>, text: String },
    /// A relevant question and its answer as shown (choice labels).
    Question { entry: JumpEntry, answer: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionState {
    Answered,
    Empty,
    Missing,
    Violated,
    Note,
}

#[derive(Debug)]
pub struct RecordView {
    pub session: Session,
    pub draft: Draft,
    pub screen: Screen,
    pub focus: usize,
    pub editor: Editor,
    /// Messages under fields, from the last attempt to answer them.
    pub messages: HashMap<Pos, String>,
    /// Answers changed since the last save.
    dirty: bool,
    /// Whether anything has been saved yet (a record no one answered is
    /// never saved).
    pub saved_once: bool,
}

impl RecordView {
    pub fn new(session: Session, draft: Draft, language: &str) -> Self {
        let screen = session
            .screens()
            .into_iter()
            .next()
            .unwrap_or(Screen::AddRepeat {
                path: Vec::new(),
                repeat: 0,
            });
        let mut view = RecordView {
            session,
            draft,
            screen,
            focus: 0,
            editor: Editor::Nothing,
            messages: HashMap::new(),
            dirty: false,
            saved_once: false,
        };
        view.set_language(language);
        view.load_editor();
        view
    }

    pub fn set_language(&mut self, language: &str) {
        if self.session.form().languages.iter().any(|l| l == language) {
            self.session.set_language(Some(language.to_string()));
        }
        self.refresh_choices();
    }

    pub fn questions(&self) -> Vec<Pos> {
        self.session.questions_on(&self.screen)
    }

    pub fn focused(&self) -> Option<Pos> {
        self.questions().get(self.focus).cloned()
    }

    /// "Question n of m": where the focused question stands among all
    /// the form's questions, in the form's order. Both stay put as answers
    /// open or close questions (skipped questions are skipped over, and a
    /// repeat's questions count once).
    pub fn progress(&self) -> (usize, usize) {
        let form = self.session.form();
        let shown = |id: &usize| form.nodes[*id].kind.is_visible();
        let total = (0..form.nodes.len()).filter(shown).count();
        let at = match &self.screen {
            Screen::AddRepeat { repeat, .. } => last_inside(form, *repeat),
            _ => self.focused().map_or(0, |p| p.node),
        };
        let before = (0..=at.min(form.nodes.len().saturating_sub(1)))
            .filter(shown)
            .count();
        (before.max(1), total.max(1))
    }

    fn load_editor(&mut self) {
        let Some(pos) = self.focused() else {
            self.editor = Editor::Nothing;
            return;
        };
        let node = &self.session.form().nodes[pos.node];
        self.editor = match &node.kind {
            Kind::SelectOne { .. } | Kind::SelectMultiple { .. } => {
                let multiple = matches!(node.kind, Kind::SelectMultiple { .. });
                let mut c = Choices {
                    filter: Input::default(),
                    cursor: 0,
                    visible: Vec::new(),
                    multiple,
                    browsing: true,
                };
                c.visible = self.session.choices(&pos);
                // Start on the chosen answer of a select_one.
                let value = self.session.raw_value(&pos);
                if let Some(list) = self.session.form().list_of(pos.node)
                    && let Some(i) = list.index_of(value)
                {
                    c.cursor = c.visible.iter().position(|&v| v == i).unwrap_or(0);
                }
                Editor::Choices(c)
            }
            Kind::Acknowledge => Editor::Acknowledge,
            Kind::Note => Editor::Note,
            _ if node.read_only || node.calculation.is_some() => Editor::Note,
            _ => Editor::Text(Input::new(&self.shown_raw(&pos))),
        };
    }

    /// An answer as its editor shows it: a month-year date as YYYY-MM, a
    /// year as YYYY (stored as XLSForm stores them, YYYY-MM-01, YYYY-01-01).
    pub fn shown_raw(&self, pos: &Pos) -> String {
        let node = &self.session.form().nodes[pos.node];
        DateShape::of(node)
            .shown(self.session.raw_value(pos))
            .to_string()
    }

    /// Re-filters the choice list after the filter or other answers changed.
    pub fn refresh_choices(&mut self) {
        let Some(pos) = self.focused() else {
            return;
        };
        if let Editor::Choices(c) = &mut self.editor
            && let Some(list) = self.session.form().list_of(pos.node)
        {
            let allowed = self.session.choices(&pos);
            c.visible = list.search().filter(&allowed, &c.filter.text);
            c.cursor = c.cursor.min(c.visible.len().saturating_sub(1));
        }
    }

    /// Sets an answer; `Some(Save)` when it changed. A refused answer
    /// (wrong type) leaves a message and changes nothing.
    fn commit(&mut self, pos: &Pos, raw: &str, now: DateTime) -> Result<Option<Effect>, ()> {
        if self.session.raw_value(pos) == raw || self.shown_raw(pos) == raw {
            return Ok(None);
        }
        match self.session.answer(pos, raw) {
            Err(e) => {
                let message = self.session.explain(&e);
                self.messages.insert(pos.clone(), message);
                Err(())
            }
            Ok(()) => {
                self.messages.remove(pos);
                self.dirty = true;
                let name = self.session.form().nodes[pos.node].name.clone();
                Ok(Some(self.save(now, &name)))
            }
        }
    }

    /// Commits what is typed in a text editor and not yet answered.
    pub fn commit_pending(&mut self, now: DateTime) -> Option<Effect> {
        let pos = self.focused()?;
        match &self.editor {
            Editor::Text(input) => {
                let raw = input.text.clone();
                self.commit(&pos, &raw, now).ok().flatten()
            }
            _ => None,
        }
    }

    /// A save failed: the next chance (leaving, quitting) saves again.
    pub fn mark_unsaved(&mut self) {
        self.dirty = true;
    }

    pub fn save_if_dirty(&mut self, now: DateTime) -> Option<Effect> {
        let pending = self.commit_pending(now);
        if pending.is_some() {
            return pending;
        }
        self.dirty.then(|| self.save(now, ""))
    }

    fn save(&mut self, now: DateTime, detail: &str) -> Effect {
        self.session.touch(now);
        self.draft.answers = self.session.answers();
        self.draft.instance_name = self.session.instance_name();
        self.draft.updated = now.to_string();
        self.dirty = false;
        self.saved_once = true;
        Effect::Save {
            draft: self.draft.clone(),
            detail: detail.to_string(),
        }
    }

    /// The listing entry of this draft as it now stands.
    pub fn listing(&self) -> Listing {
        Listing::of_draft(&self.draft, 0)
    }

    /// The record to finalize: the draft as it stands and the values.
    pub fn final_record(&mut self, now: DateTime) -> (Draft, Map<String, Value>) {
        self.session.touch(now);
        self.draft.answers = self.session.answers();
        self.draft.instance_name = self.session.instance_name();
        self.draft.updated = now.to_string();
        (self.draft.clone(), self.session.record())
    }

    fn show(&mut self, screen: Screen, focus: usize) {
        self.screen = screen;
        self.focus = focus.min(self.questions().len().saturating_sub(1));
        self.load_editor();
    }

    /// The next page; false at the end of the form.
    fn next_page(&mut self) -> bool {
        match self.session.step(&self.screen, true) {
            Some(s) => {
                self.show(s, 0);
                true
            }
            None => false,
        }
    }

    fn previous_page(&mut self) {
        if let Some(s) = self.session.step(&self.screen, false) {
            let last = self.session.questions_on(&s).len().saturating_sub(1);
            self.show(s, last);
        }
    }

    /// Moves to the next field on the page, else the next page; false at
    /// the end of the form.
    fn advance(&mut self) -> bool {
        if self.focus + 1 < self.questions().len() {
            self.focus += 1;
            self.load_editor();
            return true;
        }
        self.next_page()
    }

    pub fn go_to(&mut self, pos: &Pos) {
        for screen in self.session.screens() {
            if let Some(i) = self
                .session
                .questions_on(&screen)
                .iter()
                .position(|p| p == pos)
            {
                self.show(screen, i);
                return;
            }
        }
    }

    /// Where to resume a draft: the first missing or violated answer, else
    /// the first relevant question still empty, else the last page.
    pub fn resume_point(&mut self) {
        if let Some(pos) = self.session.violations().into_iter().find_map(|v| v.pos) {
            self.go_to(&pos);
            return;
        }
        let screens = self.session.screens();
        for screen in &screens {
            for (i, pos) in self.session.questions_on(screen).iter().enumerate() {
                let node = &self.session.form().nodes[pos.node];
                if node.kind.is_input()
                    && node.calculation.is_none()
                    && !node.read_only
                    && self.session.raw_value(pos).is_empty()
                {
                    self.show(screen.clone(), i);
                    return;
                }
            }
        }
        if let Some(last) = screens.last() {
            self.show(last.clone(), 0);
        }
    }

    /// Whether Ctrl-D can remove a repeat entry here.
    pub fn in_repeat_instance(&self) -> bool {
        match &self.screen {
            Screen::AddRepeat { path, repeat } => {
                self.session.instance_count(path, *repeat) > 0
                    && self.session.form().nodes[*repeat].repeat_count.is_none()
            }
            _ => self.focused().is_some_and(|p| {
                p.path
                    .last()
                    .is_some_and(|(r, _)| self.session.form().nodes[*r].repeat_count.is_none())
            }),
        }
    }

    /// The repeat entry in view (or the last one, on "add another"): its
    /// path.
    fn instance_in_view(&self) -> Option<Vec<(usize, usize)>> {
        Some(match &self.screen {
            Screen::AddRepeat { path, repeat } => {
                let n = self.session.instance_count(path, *repeat);
                let mut p = path.clone();
                p.push((*repeat, n.checked_sub(1)?));
                p
            }
            _ => self.focused()?.path,
        })
    }

    /// The repeat entry Ctrl-D would remove, as the enumerator knows it:
    /// its number (from 1) and the repeat's label.
    pub fn entry_in_view(&self) -> Option<(usize, String)> {
        let instance = self.instance_in_view()?;
        let &(repeat, index) = instance.last()?;
        let pos = Pos {
            path: instance[..instance.len() - 1].to_vec(),
            node: repeat,
        };
        let label = self.session.label(&pos);
        let label = match label.lines().next() {
            Some(l) if !l.is_empty() => l.to_string(),
            _ => self.session.form().nodes[repeat].name.clone(),
        };
        Some((index + 1, label))
    }

    /// Removes the repeat entry in view (or the last one, on "add another").
    pub fn remove_instance(&mut self, now: DateTime) -> Option<Effect> {
        let instance = self.instance_in_view()?;
        self.session.remove_instance(&instance).ok()?;
        let (repeat, _) = *instance.last()?;
        let outer = instance[..instance.len() - 1].to_vec();
        self.show(
            Screen::AddRepeat {
                path: outer,
                repeat,
            },
            0,
        );
        self.dirty = true;
        let name = self.session.form().nodes[repeat].name.clone();
        Some(self.save(now, &name))
    }

    pub fn jump_entries(&self) -> Vec<JumpEntry> {
        let mut out = Vec::new();
        for screen in self.session.screens() {
            for pos in self.session.questions_on(&screen) {
                let node = &self.session.form().nodes[pos.node];
                let value = self.session.raw_value(&pos);
                let state = if !node.kind.is_input() {
                    QuestionState::Note
                } else {
                    match self.session.check(&pos).map(|v| v.kind) {
                        Some(ViolationKind::Required) => QuestionState::Missing,
                        Some(_) => QuestionState::Violated,
                        None if value.is_empty() => QuestionState::Empty,
                        None => QuestionState::Answered,
                    }
                };
                let label = self.session.label(&pos);
                out.push(JumpEntry {
                    depth: pos.path.len(),
                    label: label.lines().next().unwrap_or("").to_string(),
                    pos,
                    state,
                });
            }
        }
        out
    }

    /// The review page: finalize (or the problems), then every relevant
    /// question with its answer.
    pub fn review_items(&self) -> Vec<ReviewItem> {
        let problems = self.session.violations();
        let mut out = Vec::new();
        if problems.is_empty() {
            out.push(ReviewItem::Finalize);
        }
        for p in problems {
            let label = p
                .pos
                .as_ref()
                .map(|pos| self.session.label(pos))
                .unwrap_or_default();
            let label = label
                .lines()
                .next()
                .filter(|l| !l.is_empty())
                .unwrap_or(&p.path)
                .to_string();
            out.push(ReviewItem::Problem {
                text: format!("{label}: {}", p.message),
                pos: p.pos,
            });
        }
        for entry in self.jump_entries() {
            if entry.state == QuestionState::Note {
                continue;
            }
            let answer = self.shown_value(&entry.pos);
            out.push(ReviewItem::Question { entry, answer });
        }
        out
    }

    /// An answer as the enumerator reads it: choice labels in the chosen
    /// language, not names.
    pub fn shown_value(&self, pos: &Pos) -> String {
        let value = self.session.raw_value(pos);
        let form = self.session.form();
        match (&form.nodes[pos.node].kind, form.list_of(pos.node)) {
            (Kind::SelectOne { .. } | Kind::SelectMultiple { .. }, Some(list)) => value
                .split_whitespace()
                .map(|name| {
                    list.index_of(name).map_or(name.to_string(), |i| {
                        self.session.choice_label(list, i).to_string()
                    })
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => self.shown_raw(pos),
        }
    }

    pub fn jump_position(&self) -> usize {
        let Some(pos) = self.focused() else {
            return 0;
        };
        self.jump_entries()
            .iter()
            .position(|e| e.pos == pos)
            .unwrap_or(0)
    }

    /// The message to show under a question: the last refusal, else what
    /// is wrong with its answer now.
    pub fn message(&self, pos: &Pos) -> Option<String> {
        if let Some(m) = self.messages.get(pos) {
            return Some(m.clone());
        }
        if self.session.raw_value(pos).is_empty() {
            return None;
        }
        self.session.check(pos).map(|v| v.message)
    }

    pub fn key(&mut self, key: KeyEvent, now: DateTime) -> Outcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if let Screen::AddRepeat { path, repeat } = self.screen.clone() {
            return match key.code {
                KeyCode::Enter | KeyCode::Char('y') | KeyCode::Char('Y') => {
                    match self.session.add_instance(&path, repeat) {
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
                            Outcome::Stay(Some(self.save(now, &name)))
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
                            Outcome::Stay(None)
                        }
                    }
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::PageDown => {
                    if self.next_page() {
                        Outcome::Stay(None)
                    } else {
                        Outcome::End(None)
                    }
                }
                KeyCode::PageUp => {
                    self.previous_page();
                    Outcome::Stay(None)
                }
                KeyCode::Char('p') if ctrl => {
                    self.previous_page();
                    Outcome::Stay(None)
                }
                _ => Outcome::Stay(None),
            };
        }
        let Some(pos) = self.focused() else {
            return if self.next_page() {
                Outcome::Stay(None)
            } else {
                Outcome::End(None)
            };
        };
        match key.code {
            KeyCode::PageDown => {
                let effect = self.commit_pending(now);
                if self.next_page() {
                    Outcome::Stay(effect)
                } else {
                    Outcome::End(effect)
                }
            }
            KeyCode::Char('n') if ctrl => {
                let effect = self.commit_pending(now);
                if self.next_page() {
                    Outcome::Stay(effect)
                } else {
                    Outcome::End(effect)
                }
            }
            KeyCode::PageUp => {
                let effect = self.commit_pending(now);
                self.previous_page();
                Outcome::Stay(effect)
            }
            KeyCode::Char('p') if ctrl => {
                let effect = self.commit_pending(now);
                self.previous_page();
                Outcome::Stay(effect)
            }
            KeyCode::Tab => {
                let effect = self.commit_pending(now);
                if self.focus + 1 < self.questions().len() {
                    self.focus += 1;
                    self.load_editor();
                }
                Outcome::Stay(effect)
            }
            KeyCode::BackTab => {
                let effect = self.commit_pending(now);
                if self.focus > 0 {
                    self.focus -= 1;
                    self.load_editor();
                }
                Outcome::Stay(effect)
            }
            KeyCode::Enter => self.enter(&pos, now),
            _ => self.edit(&pos, key, now),
        }
    }

    /// Enter: answer what is typed in a text editor, then go on unless the
    /// answer is refused, breaks a constraint, or a required answer is
    /// missing. Enter never picks a choice: an unanswered list stays
    /// unanswered (Space picks).
    fn enter(&mut self, pos: &Pos, now: DateTime) -> Outcome {
        let mut effect = None;
        match &self.editor {
            Editor::Text(input) => {
                let raw = input.text.clone();
                match self.commit(pos, &raw, now) {
                    Ok(e) => effect = e,
                    Err(()) => return Outcome::Stay(None),
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
                return Outcome::Stay(None);
            }
            _ => {}
        }
        if let Some(v) = self.session.check(pos) {
            self.messages.insert(pos.clone(), v.message);
            return Outcome::Stay(effect);
        }
        self.messages.remove(pos);
        if self.advance() {
            Outcome::Stay(effect)
        } else {
            Outcome::End(effect)
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

    fn edit(&mut self, pos: &Pos, key: KeyEvent, now: DateTime) -> Outcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let questions = self.questions().len();
        let kind = self.session.form().nodes[pos.node].kind.clone();
        // Ctrl-U clears the answer, whatever the question (a list's filter
        // first, when one is typed).
        if ctrl && key.code == KeyCode::Char('u') {
            if matches!(self.editor, Editor::Note | Editor::Nothing) {
                return Outcome::Stay(None);
            }
            if let Editor::Choices(c) = &mut self.editor
                && !c.filter.text.is_empty()
            {
                c.filter.clear();
                c.browsing = true;
                c.cursor = 0;
                self.refresh_choices();
                return Outcome::Stay(None);
            }
            return Outcome::Stay(self.clear(pos, now));
        }
        match &mut self.editor {
            Editor::Text(input) => {
                match key.code {
                    KeyCode::Up if self.focus > 0 => {
                        let effect = self.commit_pending(now);
                        self.focus -= 1;
                        self.load_editor();
                        return Outcome::Stay(effect);
                    }
                    KeyCode::Down if self.focus + 1 < questions => {
                        let effect = self.commit_pending(now);
                        self.focus += 1;
                        self.load_editor();
                        return Outcome::Stay(effect);
                    }
                    // Ctrl-T: today (or now), answered at once.
                    KeyCode::Char('t') if ctrl => {
                        let node = &self.session.form().nodes[pos.node];
                        let Some(today) = today(&kind, DateShape::of(node), now) else {
                            return Outcome::Stay(None);
                        };
                        *input = Input::new(&today);
                        return Outcome::Stay(self.commit(pos, &today, now).ok().flatten());
                    }
                    _ => {
                        input.handle(&key);
                    }
                }
                Outcome::Stay(None)
            }
            Editor::Choices(c) => {
                match key.code {
                    // The first arrow after typing goes into the list on
                    // its first match; then arrows move.
                    KeyCode::Up | KeyCode::Down if !c.browsing => c.browsing = true,
                    KeyCode::Up => c.cursor = c.cursor.saturating_sub(1),
                    KeyCode::Down => {
                        c.cursor = (c.cursor + 1).min(c.visible.len().saturating_sub(1))
                    }
                    KeyCode::PageUp | KeyCode::Home if ctrl => c.cursor = 0,
                    // Space picks or ticks in the list; while a filter is
                    // being typed it is part of the filter ("in person").
                    KeyCode::Char(' ') if c.browsing || c.filter.text.is_empty() => {
                        let effect = self.toggle(pos, now);
                        self.refresh_choices();
                        return Outcome::Stay(effect);
                    }
                    // Delete with no filter clears the answer.
                    KeyCode::Delete if c.filter.text.is_empty() => {
                        return Outcome::Stay(self.clear(pos, now));
                    }
                    KeyCode::Char(_)
                    | KeyCode::Backspace
                    | KeyCode::Delete
                    | KeyCode::Left
                    | KeyCode::Right
                    | KeyCode::Home
                    | KeyCode::End
                        if c.filter.handle(&key) =>
                    {
                        c.cursor = 0;
                        c.browsing = c.filter.text.is_empty();
                        self.refresh_choices();
                    }
                    _ => {}
                }
                Outcome::Stay(None)
            }
            Editor::Acknowledge => match key.code {
                KeyCode::Char(' ') => {
                    let raw = if self.session.raw_value(pos) == "OK" {
                        ""
                    } else {
                        "OK"
                    };
                    Outcome::Stay(self.commit(pos, raw, now).ok().flatten())
                }
                KeyCode::Delete | KeyCode::Backspace => Outcome::Stay(self.clear(pos, now)),
                _ => Outcome::Stay(None),
            },
            Editor::Note | Editor::Nothing => Outcome::Stay(None),
        }
    }
}

/// The last node inside a group or repeat (itself when empty).
fn last_inside(form: &crate::form::Form, id: usize) -> usize {
    form.nodes[id]
        .children
        .last()
        .map_or(id, |&c| last_inside(form, c))
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

/// How a date question is typed: the whole date, or XLSForm's
/// `month-year` and `year` appearances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateShape {
    Day,
    MonthYear,
    Year,
}

impl DateShape {
    pub fn of(node: &Node) -> DateShape {
        if node.kind != Kind::Date {
            DateShape::Day
        } else if node.has_appearance("month-year") {
            DateShape::MonthYear
        } else if node.has_appearance("year") {
            DateShape::Year
        } else {
            DateShape::Day
        }
    }

    /// What the empty editor shows as the shape to type.
    pub fn placeholder(self) -> &'static str {
        match self {
            DateShape::Day => "YYYY-MM-DD",
            DateShape::MonthYear => "YYYY-MM",
            DateShape::Year => "YYYY",
        }
    }

    /// A stored date (YYYY-MM-DD) as this shape is typed; anything else
    /// as it is.
    pub fn shown(self, stored: &str) -> &str {
        let is_date =
            stored.len() == 10 && stored.as_bytes()[4] == b'-' && stored.as_bytes()[7] == b'-';
        match self {
            DateShape::MonthYear if is_date => &stored[..7],
            DateShape::Year if is_date => &stored[..4],
            _ => stored,
        }
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
