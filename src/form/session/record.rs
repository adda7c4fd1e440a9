//! JSON in and out: the record as typed JSON (relevant answers and
//! calculations), the answers as a draft keeps them, and answers loaded
//! from JSON (an answers file or a resumed draft), each problem reported
//! with where it is.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Path, Pos, Session, Violation, ViolationKind};
use crate::form::answer::{self, AnswerError};
use crate::form::model::{Kind, NodeId};
use crate::record::{CONFIRMED_KEY, ENTITY_KEY};

impl Session {
    /// The record's values: relevant, non-empty answers and calculations,
    /// typed; each repeat as a list of objects; and the entity operation
    /// the record implies, if any, under [`ENTITY_KEY`].
    pub fn record(&self) -> Map<String, Value> {
        let mut values = self.record_scope(&self.form.top, &[]);
        if let Some(op) = self.entity_op()
            && let Ok(op) = serde_json::to_value(op)
        {
            values.insert(ENTITY_KEY.to_string(), op);
        }
        let confirmed = self.confirmations();
        if !confirmed.is_empty() {
            values.insert(CONFIRMED_KEY.to_string(), Value::Array(confirmed));
        }
        values
    }

    /// The answers confirmed against a soft check that still warns about
    /// them, in form order: field, value, and the warning confirmed.
    fn confirmations(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.confirmed.is_empty() {
            return out;
        }
        self.walk(&mut |pos, step| {
            if step != super::walk::Walk::Field {
                return;
            }
            if let Some((message, at)) = self.soft_warning(pos)
                && self.confirmed.contains(&at)
            {
                out.push(serde_json::json!({
                    "field": at,
                    "value": self.raw_value(pos),
                    "message": message,
                }));
            }
        });
        out
    }

    pub(super) fn record_scope(
        &self,
        children: &[NodeId],
        path: &[(NodeId, usize)],
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for &id in children {
            let pos = Pos {
                path: path.to_vec(),
                node: id,
            };
            if !self.is_relevant(&pos) {
                continue;
            }
            let node = &self.form.nodes[id];
            match node.kind {
                Kind::Group => out.extend(self.record_scope(&node.children, path)),
                Kind::Repeat => {
                    let items = (0..self.instance_count(path, id))
                        .map(|i| {
                            let mut inner = path.to_vec();
                            inner.push((id, i));
                            Value::Object(self.record_scope(&node.children, &inner))
                        })
                        .collect();
                    out.insert(node.name.clone(), Value::Array(items));
                }
                _ => {
                    let v = self.raw_value(&pos);
                    if !v.is_empty() {
                        out.insert(node.name.clone(), answer::to_json(&node.kind, v));
                    }
                }
            }
        }
        out
    }

    /// Every answer given, relevant or not, with the metadata (start,
    /// deviceid, ...), in the shape `load_answers` takes: what a draft
    /// saves so that resuming restores the session exactly. Calculations
    /// and notes are left out; they are worked out again.
    pub fn answers(&self) -> Map<String, Value> {
        let mut answers = self.answers_scope(&self.form.top, &[]);
        if !self.confirmed.is_empty() {
            let at = self.confirmed.iter().cloned().map(Value::String).collect();
            answers.insert(CONFIRMED_KEY.to_string(), Value::Array(at));
        }
        answers
    }

    pub(super) fn answers_scope(
        &self,
        children: &[NodeId],
        path: &[(NodeId, usize)],
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for &id in children {
            let node = &self.form.nodes[id];
            match node.kind {
                Kind::Group => out.extend(self.answers_scope(&node.children, path)),
                Kind::Repeat => {
                    let items: Vec<Value> = (0..self.instance_count(path, id))
                        .map(|i| {
                            let mut inner = path.to_vec();
                            inner.push((id, i));
                            Value::Object(self.answers_scope(&node.children, &inner))
                        })
                        .collect();
                    if !items.is_empty() {
                        out.insert(node.name.clone(), Value::Array(items));
                    }
                }
                Kind::Note => {}
                _ if node.calculation.is_some() && !node.keeps_value() => {}
                _ => {
                    let pos = Pos {
                        path: path.to_vec(),
                        node: id,
                    };
                    let v = self.raw_value(&pos);
                    if !v.is_empty() {
                        out.insert(node.name.clone(), answer::to_json(&node.kind, v));
                    }
                }
            }
        }
        out
    }

    /// Loads answers in the form of a record (`{"name": value, "repeat":
    /// [{...}]}`); returns the answers it could not take, as type and
    /// unknown-field violations. Loads one depth of repeats at a time and
    /// recomputes once per depth, so that the work grows with the record,
    /// not with its square.
    pub fn load_answers(&mut self, answers: &Map<String, Value>) -> Vec<Violation> {
        let mut problems = Vec::new();
        let mut level: Vec<(Path, &Map<String, Value>)> = vec![(Vec::new(), answers)];
        while !level.is_empty() {
            let mut repeats = Vec::new();
            for (path, object) in &level {
                self.load_values(object, path, &mut problems, &mut repeats);
            }
            // Repeat counts worked out from the answers just loaded.
            self.recompute();
            let mut next = Vec::new();
            for (path, id, value) in repeats {
                self.load_entries(&path, id, value, &mut problems, &mut next);
            }
            level = next;
        }
        // The last depth loaded no entries: its recompute is the last one.
        // Confirmations last: loading the answers they are of forgets none.
        match answers.get(CONFIRMED_KEY) {
            None => {}
            Some(Value::Array(at)) if at.iter().all(Value::is_string) => self
                .confirmed
                .extend(at.iter().filter_map(Value::as_str).map(str::to_string)),
            Some(_) => self.problem(
                &mut problems,
                &[],
                CONFIRMED_KEY,
                ViolationKind::Type,
                format!(
                    "'{CONFIRMED_KEY}' is the list of the fields whose unusual answers are \
                     confirmed, e.g. [\"ind_total\"]"
                ),
            ),
        }
        problems
    }

    /// A problem with the answer `name` inside the instance at `path`.
    pub(super) fn problem(
        &self,
        problems: &mut Vec<Violation>,
        path: &[(NodeId, usize)],
        name: &str,
        kind: ViolationKind,
        message: String,
    ) {
        let prefix: String = path
            .iter()
            .map(|&(r, i)| format!("{}[{}]/", self.form.nodes[r].name, i + 1))
            .collect();
        problems.push(Violation {
            name: name.to_string(),
            path: format!("{prefix}{name}"),
            kind,
            message,
            pos: None,
        });
    }

    /// Stores the answers of one object (the record, or a repeat entry);
    /// its repeats go to `repeats`, loaded after a recomputation.
    pub(super) fn load_values<'v>(
        &mut self,
        answers: &'v Map<String, Value>,
        path: &[(NodeId, usize)],
        problems: &mut Vec<Violation>,
        repeats: &mut Vec<(Path, NodeId, &'v Value)>,
    ) {
        let form = Arc::clone(&self.form);
        let scope = path.last().map(|p| p.0);
        for (key, value) in answers {
            if path.is_empty() && key == CONFIRMED_KEY {
                continue;
            }
            let Some(id) = form.find(key) else {
                let message = format!(
                    "the form has no field '{key}'; check its spelling against the names in the \
                     form's survey, or leave it out"
                );
                self.problem(problems, path, key, ViolationKind::Unknown, message);
                continue;
            };
            let node = &form.nodes[id];
            if node.scope() != scope {
                let message = match node.scope() {
                    Some(r) => {
                        format!("'{key}' belongs inside the repeat '{}'", form.nodes[r].name)
                    }
                    None => format!("'{key}' is not part of this repeat; give it at the top level"),
                };
                self.problem(problems, path, key, ViolationKind::Unknown, message);
                continue;
            }
            let worked_out =
                format!("'{key}' is worked out by the form; leave it out of the answers");
            match node.kind {
                Kind::Group => {
                    let message =
                        format!("'{key}' is a group; give the answers inside it at this level");
                    self.problem(problems, path, key, ViolationKind::Unknown, message);
                }
                Kind::Repeat => repeats.push((path.to_vec(), id, value)),
                _ if node.keeps_value() => {
                    // once(): the value drawn when the record was started.
                    if let Some(text) = value.as_str().map(str::to_string).or_else(|| {
                        (value.is_number() || value.is_boolean()).then(|| value.to_string())
                    }) && text.len() <= crate::form::limits::MAX_TEXT_BYTES
                    {
                        let _ = self.put(path, node.slot, text);
                    }
                }
                Kind::Note | Kind::Calculate => {
                    self.problem(problems, path, key, ViolationKind::Unknown, worked_out);
                }
                _ if node.calculation.is_some() => {
                    self.problem(problems, path, key, ViolationKind::Unknown, worked_out);
                }
                _ => {
                    let pos = Pos {
                        path: path.to_vec(),
                        node: id,
                    };
                    let stored = answer::json_to_raw(&node.kind, value)
                        .map_err(|e| (ViolationKind::Type, self.explain(&e)))
                        .and_then(|raw| {
                            self.set_value(&pos, &raw).map_err(|e| {
                                let kind = match e {
                                    AnswerError::TooLong(_) | AnswerError::RecordFull => {
                                        ViolationKind::Limit
                                    }
                                    _ => ViolationKind::Type,
                                };
                                (kind, self.explain(&e))
                            })
                        });
                    if let Err((kind, message)) = stored {
                        self.problem(problems, path, key, kind, message);
                    }
                }
            }
        }
    }

    /// Makes the entries of the repeat `id` inside the instance at `path`;
    /// their objects go to `next`, loaded at the next depth.
    pub(super) fn load_entries<'v>(
        &mut self,
        path: &[(NodeId, usize)],
        id: NodeId,
        value: &'v Value,
        problems: &mut Vec<Violation>,
        next: &mut Vec<(Path, &'v Map<String, Value>)>,
    ) {
        let form = Arc::clone(&self.form);
        let name = &form.nodes[id].name;
        let Value::Array(items) = value else {
            let message = format!("'{name}' is a repeat: give a list of objects, one per entry");
            self.problem(problems, path, name, ViolationKind::Type, message);
            return;
        };
        let fixed = form.nodes[id].repeat_count.is_some();
        for (i, item) in items.iter().enumerate() {
            let Value::Object(obj) = item else {
                let message = format!(
                    "entry {} of '{name}' is not an object; give each entry as an object of \
                     answers, like {{\"age\": 30}}",
                    i + 1
                );
                self.problem(problems, path, name, ViolationKind::Type, message);
                continue;
            };
            if i >= self.instance_count(path, id) {
                if fixed {
                    let message = format!(
                        "'{name}' has {} entries, but its repeat_count allows {}; give at most that many \
                         (the count comes from the form)",
                        items.len(),
                        self.instance_count(path, id)
                    );
                    self.problem(problems, path, name, ViolationKind::Constraint, message);
                    break;
                }
                if let Err(e) = self.push_instance(path, id) {
                    let (kind, message) = match e {
                        AnswerError::RecordFull => (
                            ViolationKind::Limit,
                            format!("'{name}': {}", self.explain(&e)),
                        ),
                        _ => (
                            ViolationKind::Type,
                            format!(
                                "'{name}' has too many entries; fieldkit keeps at most {} \
                                 entries of a repeat, so split the record",
                                crate::form::limits::MAX_REPEAT_COUNT
                            ),
                        ),
                    };
                    self.problem(problems, path, name, kind, message);
                    break;
                }
            }
            let mut inner = path.to_vec();
            inner.push((id, i));
            next.push((inner, obj));
        }
    }
}
