//! The jump list and the review page of a record: every question in
//! the form's order with its state, and before finalizing the problems,
//! a returned record's comments and every relevant answer as the
//! enumerator reads it.

use super::record::RecordView;
use crate::form::{Kind, Pos, ViolationKind};

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
    /// On a record returned to correct, what the supervisor said: the note
    /// (no question), or "label: comment"; Enter goes to the question.
    Comment { pos: Option<Pos>, text: String },
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

impl RecordView {
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
        let entries = self.jump_entries();
        if let Some(returned) = &self.draft.returned {
            if !returned.note.trim().is_empty() {
                out.push(ReviewItem::Comment {
                    pos: None,
                    text: returned.note.clone(),
                });
            }
            for c in &returned.comments {
                let entry = entries
                    .iter()
                    .find(|e| self.session.describe(&e.pos) == c.field);
                let label = entry.map_or(c.field.as_str(), |e| e.label.as_str());
                out.push(ReviewItem::Comment {
                    pos: entry.map(|e| e.pos.clone()),
                    text: format!("{label}: {}", c.text),
                });
            }
        }
        for entry in entries {
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
}
