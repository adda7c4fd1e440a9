//! One record being filled on screen: the engine's session, the page
//! shown, the field in focus and its editor (a line of text, or a list of
//! choices filtered as you type), the messages under fields, and the
//! draft that is saved after every answer. Pure: saving is an `Effect`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::action::Effect;
use super::input::Input;
use crate::form::dates::DateTime;
use crate::form::{Kind, Pos, Screen, Session};
use crate::store::{Draft, Listing};

use crate::form::model::Node;

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
    /// A file question: Space opens the picker (`picker`).
    File,
    Note,
    Nothing,
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
    pub(super) dirty: bool,
    /// Whether the draft is in the store: saved once, or read from it (a
    /// record no one answered is never saved).
    pub saved_once: bool,
    /// Paradata counted since the last save (`paradata`).
    pub(super) timing_dirty: bool,
    /// The question whose soft check was just shown: Enter again there
    /// confirms the answer.
    pub(super) warned: Option<Pos>,
    /// The sizes of the files attached while this record was open, by
    /// attachment name (a resumed draft's are not known: not shown).
    pub attached: HashMap<String, u64>,
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
            warned: None,
            dirty: false,
            saved_once: false,
            timing_dirty: false,
            attached: HashMap::new(),
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

    pub(super) fn load_editor(&mut self) {
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
            Kind::File { .. } if !node.read_only => Editor::File,
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
    pub(super) fn commit(
        &mut self,
        pos: &Pos,
        raw: &str,
        now: DateTime,
    ) -> Result<Option<Effect>, ()> {
        if self.session.raw_value(pos) == raw || self.shown_raw(pos) == raw {
            return Ok(None);
        }
        let had_answer = !self.session.raw_value(pos).is_empty();
        match self.session.answer(pos, raw) {
            Err(e) => {
                let message = self.session.explain(&e);
                self.messages.insert(pos.clone(), message);
                Err(())
            }
            Ok(()) => {
                self.messages.remove(pos);
                self.warned = None;
                self.dirty = true;
                self.note_answer(pos, had_answer, now);
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
        if self.dirty {
            return Some(self.save(now, ""));
        }
        self.save_paradata(false)
    }

    pub(super) fn save(&mut self, now: DateTime, detail: &str) -> Effect {
        self.session.touch(now);
        self.draft.take(&self.session, &now.to_string());
        self.dirty = false;
        self.timing_dirty = false;
        self.saved_once = true;
        Effect::Save {
            draft: self.draft.clone(),
            form: Arc::clone(self.session.form()),
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
        self.draft.take(&self.session, &now.to_string());
        (self.draft.clone(), self.session.record())
    }

    pub(super) fn show(&mut self, screen: Screen, focus: usize) {
        self.screen = screen;
        self.focus = focus.min(self.questions().len().saturating_sub(1));
        self.load_editor();
    }

    /// The next page; false at the end of the form.
    pub(super) fn next_page(&mut self) -> bool {
        match self.session.step(&self.screen, true) {
            Some(s) => {
                self.show(s, 0);
                true
            }
            None => false,
        }
    }

    pub(super) fn previous_page(&mut self) {
        if let Some(s) = self.session.step(&self.screen, false) {
            let last = self.session.questions_on(&s).len().saturating_sub(1);
            self.show(s, last);
        }
    }

    /// Moves to the next field on the page, else the next page; false at
    /// the end of the form.
    pub(super) fn advance(&mut self) -> bool {
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

    /// On a record returned to correct: shows the first question (in the
    /// form's order) a supervisor's comment names. False when none does.
    pub fn to_first_comment(&mut self) -> bool {
        let Some(returned) = &self.draft.returned else {
            return false;
        };
        let named: std::collections::HashSet<&str> =
            returned.comments.iter().map(|c| c.field.as_str()).collect();
        for screen in self.session.screens() {
            let questions = self.session.questions_on(&screen);
            let at = questions
                .iter()
                .position(|pos| named.contains(self.session.describe(pos).as_str()));
            if let Some(i) = at {
                self.show(screen, i);
                return true;
            }
        }
        false
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
    pub(super) fn instance_in_view(&self) -> Option<Vec<(usize, usize)>> {
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

    /// The message to show under a question: the last refusal, else what
    /// is wrong with its answer now.
    pub fn message(&self, pos: &Pos) -> Option<String> {
        if let Some(m) = self.messages.get(pos) {
            return Some(m.clone());
        }
        if self.session.raw_value(pos).is_empty() {
            return None;
        }
        self.session
            .check(pos)
            .or_else(|| self.session.soft_check(pos))
            .map(|v| v.message)
    }
}

/// The last node inside a group or repeat (itself when empty).
pub(super) fn last_inside(form: &crate::form::Form, id: usize) -> usize {
    form.nodes[id]
        .children
        .last()
        .map_or(id, |&c| last_inside(form, c))
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
