//! The session engine: one record being filled. It holds the answers
//! (repeat instances included), recomputes relevance and calculations in
//! the form's dependency order after every change, walks the screens an
//! enumerator sees, lists what is missing or violated, and produces the
//! record. Pure: no I/O, no clock (the caller passes `Env`), no terminal.
//!
//! This module owns the session's state: instances, values, answering
//! and recomputation, choices and texts. The pages and the step between
//! them are in `walk`, the checks and messages in `checks`, JSON in and
//! out in `record`, and the scope expressions see in `scope`.

mod checks;
mod entity;
pub use entity::LastRound;
mod record;
mod scope;
mod walk;

use scope::Ctx;

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use super::answer::{self, AnswerError};
use super::dates::DateTime;
use super::eval::{XVal, eval};
use super::limits::{
    self, MAX_RECORD_VALUE_BYTES, MAX_RECORD_VALUES, MAX_REPEAT_COUNT, MAX_TEXT_BYTES,
};
use super::model::{ChoiceList, Default, Form, Kind, NodeId, Text};

/// Repeat instances from the outermost in: (repeat node, 0-based index).
pub type Path = Vec<(NodeId, usize)>;

/// A question (or group, or repeat) in a given repeat instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pos {
    pub path: Path,
    pub node: NodeId,
}

/// What the enumerator sees on one page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Screen {
    Question(Pos),
    /// A field-list group: every relevant question inside on one page.
    FieldList(Pos),
    /// After a repeat's instances: "add another?".
    AddRepeat {
        path: Path,
        repeat: NodeId,
    },
}

/// What the session needs from the world: the clock, who is filling, and
/// random bits for `random()` and `uuid()` (the clock's `seed()`).
#[derive(Debug, Clone)]
pub struct Env {
    pub now: DateTime,
    pub device_id: String,
    pub username: String,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ViolationKind {
    Required,
    Constraint,
    /// A soft check that does not hold and is not confirmed yet.
    Warning,
    Type,
    Unknown,
    /// A value or the record went over one of fieldkit's caps (`limits`).
    Limit,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub name: String,
    /// Where, with repeat positions: `members[2]/age`.
    pub path: String,
    pub kind: ViolationKind,
    pub message: String,
    #[serde(skip)]
    pub pos: Option<Pos>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Instance {
    values: Vec<String>,
    relevant: Vec<bool>,
    repeats: Vec<Vec<Instance>>,
}

impl Instance {
    fn new(slots: usize) -> Self {
        Instance {
            values: vec![String::new(); slots],
            relevant: vec![true; slots],
            repeats: vec![Vec::new(); slots],
        }
    }

    /// What counts against [`MAX_RECORD_VALUES`]: its values, and itself.
    fn cost(slots: usize) -> usize {
        slots + 1
    }

    /// Values and bytes of values held by this instance and every
    /// instance inside it.
    fn held(&self) -> (usize, usize) {
        let mut stack = vec![self];
        let (mut values, mut bytes) = (0, 0);
        while let Some(inst) = stack.pop() {
            values += Instance::cost(inst.values.len());
            bytes += inst.values.iter().map(String::len).sum::<usize>();
            stack.extend(inst.repeats.iter().flatten());
        }
        (values, bytes)
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    form: Arc<Form>,
    env: Env,
    language: Option<String>,
    root: Instance,
    /// Values held in all instances, against [`MAX_RECORD_VALUES`].
    values: usize,
    /// Bytes of all values held, against [`MAX_RECORD_VALUE_BYTES`].
    bytes: usize,
    /// What the last recomputation could not do within the caps.
    limits: Vec<Violation>,
    /// Where (`members[2]/age`) the enumerator confirmed an answer that
    /// a soft check warns about; forgotten when that answer changes.
    confirmed: std::collections::BTreeSet<String>,
}

impl Session {
    /// A new, empty record: defaults and metadata filled in, everything computed.
    pub fn new(form: Arc<Form>, env: Env) -> Self {
        Session::started_with(form, env, &[])
    }

    /// A new record started with some top-level answers already given
    /// (the site chosen on the home page): they are set first, so that
    /// the defaults worked out at the start see them (the site's province
    /// as the province's default). An answer that does not fit its
    /// question is left out.
    pub fn started_with(form: Arc<Form>, env: Env, given: &[(NodeId, String)]) -> Self {
        let language = form.default_language.clone();
        let mut s = Session {
            root: Instance::new(form.root_slots),
            values: Instance::cost(form.root_slots),
            bytes: 0,
            limits: Vec::new(),
            confirmed: std::collections::BTreeSet::new(),
            form,
            env,
            language,
        };
        for (node, value) in given {
            let pos = Pos {
                path: Vec::new(),
                node: *node,
            };
            let _ = s.set_value(&pos, value);
        }
        s.fill_new_instance(&[]);
        s.recompute();
        s
    }

    pub fn form(&self) -> &Arc<Form> {
        &self.form
    }

    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }

    pub fn set_language(&mut self, language: Option<String>) {
        self.language = language;
    }

    /// Moves the clock on: `end` is the time of the last change.
    pub fn touch(&mut self, now: DateTime) {
        self.env.now = now;
        let ends: Vec<NodeId> = (0..self.form.nodes.len())
            .filter(|&i| {
                self.form.nodes[i].kind == Kind::End && self.form.nodes[i].repeats.is_empty()
            })
            .collect();
        for id in ends {
            let slot = self.form.nodes[id].slot;
            // A time is a few bytes: it fits unless the record is full.
            let _ = self.put(&[], slot, now.to_string());
        }
    }

    fn text<'t>(&'t self, t: &'t Text) -> Option<&'t str> {
        t.get(
            self.language.as_deref(),
            self.form.default_language.as_deref(),
        )
    }

    // ----- instances -------------------------------------------------------

    fn instance(&self, path: &[(NodeId, usize)]) -> Option<&Instance> {
        let mut inst = &self.root;
        for &(rep, i) in path {
            inst = inst.repeats.get(self.form.nodes[rep].slot)?.get(i)?;
        }
        Some(inst)
    }

    fn instance_mut(&mut self, path: &[(NodeId, usize)]) -> Option<&mut Instance> {
        let mut inst = &mut self.root;
        for &(rep, i) in path {
            inst = inst
                .repeats
                .get_mut(self.form.nodes[rep].slot)?
                .get_mut(i)?;
        }
        Some(inst)
    }

    /// Every instance path of `scope` (the root, or a repeat).
    fn instance_paths(&self, scope: Option<NodeId>) -> Vec<Path> {
        let Some(rep) = scope else {
            return vec![Vec::new()];
        };
        let node = &self.form.nodes[rep];
        let mut out = Vec::new();
        for parent in self.instance_paths(node.scope()) {
            let n = self
                .instance(&parent)
                .map_or(0, |inst| inst.repeats[node.slot].len());
            for i in 0..n {
                let mut p = parent.clone();
                p.push((rep, i));
                out.push(p);
            }
        }
        out
    }

    /// Number of instances of `repeat` inside the instance at `path`.
    pub fn instance_count(&self, path: &[(NodeId, usize)], repeat: NodeId) -> usize {
        self.instance(path)
            .map_or(0, |inst| inst.repeats[self.form.nodes[repeat].slot].len())
    }

    /// Literal defaults, metadata, then dynamic defaults of a fresh instance.
    fn fill_new_instance(&mut self, path: &[(NodeId, usize)]) {
        let scope = path.last().map(|(r, _)| *r);
        let form = Arc::clone(&self.form);
        let members: Vec<NodeId> = (0..form.nodes.len())
            .filter(|&i| form.nodes[i].scope() == scope)
            .collect();
        for &id in &members {
            let node = &form.nodes[id];
            let value = match (&node.kind, &node.default) {
                (Kind::Start | Kind::End, _) => self.env.now.to_string(),
                (Kind::Today, _) => super::dates::format_date(self.env.now.local_date()),
                (Kind::DeviceId, _) => self.env.device_id.clone(),
                (Kind::Username, _) => self.env.username.clone(),
                (_, Some(Default::Literal(v))) => v.clone(),
                _ => continue,
            };
            // A default that does not fit leaves the question empty; an
            // answer given at the start stays.
            if self.is_empty_at(path, node.slot) {
                let _ = self.put(path, node.slot, value);
            }
        }
        for &id in &members {
            if let Some(Default::Dynamic(e)) = &form.nodes[id].default
                && self.is_empty_at(path, form.nodes[id].slot)
            {
                let value = eval(e, &self.ctx(path, Some(id))).into_string();
                let _ = self.put(path, form.nodes[id].slot, value);
            }
        }
    }

    /// Whether the instance at `path` holds nothing in `slot`.
    fn is_empty_at(&self, path: &[(NodeId, usize)], slot: usize) -> bool {
        self.instance(path)
            .and_then(|inst| inst.values.get(slot))
            .is_none_or(|v| v.is_empty())
    }

    /// Adds an instance of `repeat` inside `path`; returns the new instance's path.
    pub fn add_instance(
        &mut self,
        path: &[(NodeId, usize)],
        repeat: NodeId,
    ) -> Result<Path, AnswerError> {
        let new_path = self.push_instance(path, repeat)?;
        self.recompute();
        Ok(new_path)
    }

    /// `add_instance` without the recomputation.
    fn push_instance(
        &mut self,
        path: &[(NodeId, usize)],
        repeat: NodeId,
    ) -> Result<Path, AnswerError> {
        let node = &self.form.nodes[repeat];
        if node.kind != Kind::Repeat
            || node.repeat_count.is_some()
            || node.scope() != path.last().map(|p| p.0)
        {
            return Err(AnswerError::NoSuchPlace);
        }
        let slots = self.form.slots(Some(repeat));
        let slot = node.slot;
        let cost = Instance::cost(slots);
        let full = self.values + cost > MAX_RECORD_VALUES;
        let inst = self.instance_mut(path).ok_or(AnswerError::NoSuchPlace)?;
        if inst.repeats[slot].len() >= MAX_REPEAT_COUNT {
            return Err(AnswerError::NoSuchPlace);
        }
        if full {
            return Err(AnswerError::RecordFull);
        }
        inst.repeats[slot].push(Instance::new(slots));
        let index = inst.repeats[slot].len() - 1;
        self.values += cost;
        let mut new_path = path.to_vec();
        new_path.push((repeat, index));
        self.fill_new_instance(&new_path);
        Ok(new_path)
    }

    /// Removes the repeat instance that `path` ends in.
    pub fn remove_instance(&mut self, path: &[(NodeId, usize)]) -> Result<(), AnswerError> {
        let Some((&(repeat, index), parent)) = path.split_last() else {
            return Err(AnswerError::NoSuchPlace);
        };
        if self.form.nodes[repeat].repeat_count.is_some() {
            return Err(AnswerError::NoSuchPlace);
        }
        let slot = self.form.nodes[repeat].slot;
        let inst = self.instance_mut(parent).ok_or(AnswerError::NoSuchPlace)?;
        if index >= inst.repeats[slot].len() {
            return Err(AnswerError::NoSuchPlace);
        }
        let (values, bytes) = inst.repeats[slot].remove(index).held();
        self.values -= values;
        self.bytes -= bytes;
        // Entries after it move up: their confirmations are asked again.
        let entries = format!("{}[", self.form.nodes[repeat].name);
        self.confirmed
            .retain(|at| !at.starts_with(&entries) && !at.contains(&format!("/{entries}")));
        self.recompute();
        Ok(())
    }

    // ----- values ----------------------------------------------------------

    /// The stored answer, whether or not the question is relevant now.
    pub fn raw_value(&self, pos: &Pos) -> &str {
        self.instance(&pos.path)
            .and_then(|inst| inst.values.get(self.form.nodes[pos.node].slot))
            .map_or("", String::as_str)
    }

    /// The answer as expressions see it: empty when not relevant.
    pub fn value(&self, pos: &Pos) -> &str {
        if self.is_relevant(pos) {
            self.raw_value(pos)
        } else {
            ""
        }
    }

    pub fn is_relevant(&self, pos: &Pos) -> bool {
        let node = &self.form.nodes[pos.node];
        let path: &[(NodeId, usize)] =
            if node.kind == Kind::Repeat && pos.path.last().is_some_and(|p| p.0 == pos.node) {
                &pos.path[..pos.path.len() - 1]
            } else {
                &pos.path
            };
        self.instance(path)
            .and_then(|inst| inst.relevant.get(node.slot))
            .copied()
            .unwrap_or(false)
    }

    /// Sets an answer from what the enumerator typed; an empty string clears it.
    pub fn answer(&mut self, pos: &Pos, raw: &str) -> Result<(), AnswerError> {
        let node = &self.form.nodes[pos.node];
        if !node.kind.is_input() {
            return Err(AnswerError::NotAnswerable);
        }
        if node.read_only || node.calculation.is_some() {
            return Err(AnswerError::ReadOnly);
        }
        if self.confirmed.is_empty() {
            return self.store(pos, raw);
        }
        let before = self.raw_value(pos).to_string();
        self.store(pos, raw)?;
        // A confirmation is of one value: a new answer is checked anew.
        if self.raw_value(pos) != before {
            let at = self.describe(pos);
            self.confirmed.remove(&at);
        }
        Ok(())
    }

    /// Checks and stores without the enumerator-facing restrictions (used
    /// for metadata and hidden values from an answers file).
    fn store(&mut self, pos: &Pos, raw: &str) -> Result<(), AnswerError> {
        self.set_value(pos, raw)?;
        self.recompute();
        Ok(())
    }

    /// Checks and stores one value without recomputing: for loading many
    /// answers, which recomputes once afterwards.
    fn set_value(&mut self, pos: &Pos, raw: &str) -> Result<(), AnswerError> {
        let form = Arc::clone(&self.form);
        let node = &form.nodes[pos.node];
        if node.scope() != pos.path.last().map(|p| p.0) {
            return Err(AnswerError::NoSuchPlace);
        }
        if raw.len() > MAX_TEXT_BYTES {
            return Err(AnswerError::TooLong(raw.len()));
        }
        let value =
            answer::canonical_for(node, raw, form.list_of(pos.node), self.env.now.offset_s)?;
        self.put(&pos.path, node.slot, value)
    }

    /// Stores `value` in `slot` of the instance at `path`, keeping count
    /// of the bytes the record holds: refused when it would take the
    /// record over [`MAX_RECORD_VALUE_BYTES`].
    fn put(
        &mut self,
        path: &[(NodeId, usize)],
        slot: usize,
        value: String,
    ) -> Result<(), AnswerError> {
        let held = self.bytes;
        let inst = self.instance_mut(path).ok_or(AnswerError::NoSuchPlace)?;
        let old = inst.values.get(slot).ok_or(AnswerError::NoSuchPlace)?.len();
        let total = held - old + value.len();
        if value.len() > old && total > MAX_RECORD_VALUE_BYTES {
            return Err(AnswerError::RecordFull);
        }
        inst.values[slot] = value;
        self.bytes = total;
        Ok(())
    }

    // ----- recomputation ---------------------------------------------------

    /// Recomputes relevance, calculations and repeat counts in dependency
    /// order. What does not fit in the caps (a value over
    /// [`MAX_TEXT_BYTES`], more repeat entries than the record holds) is
    /// left empty or out, and reported by `violations`.
    pub fn recompute(&mut self) {
        let form = Arc::clone(&self.form);
        self.limits.clear();
        let mut reported: HashSet<NodeId> = HashSet::new();
        for &id in &form.order {
            let node = &form.nodes[id];
            for path in self.instance_paths(node.scope()) {
                let parent_relevant = match node.parent {
                    None => true,
                    Some(p) if Some(p) == node.scope() => {
                        let outer = &path[..path.len().saturating_sub(1)];
                        self.instance(outer)
                            .is_some_and(|i| i.relevant[form.nodes[p].slot])
                    }
                    Some(p) => self
                        .instance(&path)
                        .is_some_and(|i| i.relevant[form.nodes[p].slot]),
                };
                let relevant = parent_relevant
                    && node
                        .relevant
                        .as_ref()
                        .is_none_or(|e| eval(e, &self.ctx(&path, Some(id))).to_bool());
                let mut problem = None;
                let calculated = match &node.calculation {
                    Some(e) if relevant => {
                        let ctx = self.ctx(&path, Some(id));
                        let value = eval(e, &ctx).into_string();
                        if ctx.overflow.get() {
                            problem = Some(format!(
                                "{}: the calculation makes a text longer than {}, fieldkit's cap \
                                 for a value; it is left empty",
                                node.name,
                                limits::bytes(MAX_TEXT_BYTES as u64)
                            ));
                        }
                        Some(value)
                    }
                    _ => None,
                };
                let count = match &node.repeat_count {
                    Some(e) if relevant => {
                        let n = eval(e, &self.ctx(&path, Some(id))).to_num();
                        Some(if n.is_finite() && n > 0.0 {
                            (n as usize).min(MAX_REPEAT_COUNT)
                        } else {
                            0
                        })
                    }
                    _ => None,
                };
                let Some(inst) = self.instance_mut(&path) else {
                    continue;
                };
                inst.relevant[node.slot] = relevant;
                if let Some(v) = calculated
                    && self.put(&path, node.slot, v).is_err()
                {
                    let _ = self.put(&path, node.slot, String::new());
                    problem = Some(AnswerError::RecordFull.to_string());
                }
                if let Some(n) = count
                    && let Err(e) = self.resize(&path, id, n)
                {
                    problem = Some(format!("{}: {e}", node.name));
                }
                if let Some(message) = problem
                    && reported.insert(id)
                {
                    let pos = Pos {
                        path: path.clone(),
                        node: id,
                    };
                    self.limits.push(Violation {
                        name: node.name.clone(),
                        path: self.describe(&pos),
                        kind: ViolationKind::Limit,
                        message,
                        pos: Some(pos),
                    });
                }
            }
        }
    }

    /// Gives the repeat `id` inside the instance at `path` `n` instances
    /// (new ones filled in); refused past [`MAX_RECORD_VALUES`], with as
    /// many as fit.
    fn resize(&mut self, path: &[(NodeId, usize)], id: NodeId, n: usize) -> Result<(), String> {
        let slots = self.form.slots(Some(id));
        let slot = self.form.nodes[id].slot;
        let cost = Instance::cost(slots);
        let room = MAX_RECORD_VALUES.saturating_sub(self.values) / cost;
        let Some(inst) = self.instance_mut(path) else {
            return Ok(());
        };
        let have = inst.repeats[slot].len();
        if n <= have {
            let (mut values, mut bytes) = (0, 0);
            for gone in inst.repeats[slot].drain(n..) {
                let (v, b) = gone.held();
                values += v;
                bytes += b;
            }
            self.values -= values;
            self.bytes -= bytes;
            return Ok(());
        }
        let fits = n.min(have + room);
        inst.repeats[slot].resize_with(fits, || Instance::new(slots));
        self.values += (fits - have) * cost;
        for i in have..fits {
            let mut p = path.to_vec();
            p.push((id, i));
            self.fill_new_instance(&p);
        }
        if fits < n {
            return Err(format!(
                "its repeat_count asks for {n} entries here, but only {} fit: a record holds at \
                 most {MAX_RECORD_VALUES} values (questions times repeat entries)",
                fits
            ));
        }
        Ok(())
    }

    // ----- choices ---------------------------------------------------------

    /// The choices (indexes into the list) a select offers here, after its
    /// choice_filter.
    pub fn choices(&self, pos: &Pos) -> Vec<usize> {
        let mut offered = self.filtered_choices(pos);
        let node = &self.form.nodes[pos.node];
        if node.randomize {
            // ODK's randomize: a seed gives the same order every time;
            // without one, the order is drawn once per session.
            let ctx = self.ctx(&pos.path, Some(pos.node));
            let seed = match &node.seed {
                Some(e) => eval(e, &ctx).to_num().to_bits(),
                None => crate::form::eval::Scope::random_bits(&ctx),
            };
            shuffle(&mut offered, seed);
        }
        offered
    }

    fn filtered_choices(&self, pos: &Pos) -> Vec<usize> {
        let Some(list) = self.form.list_of(pos.node) else {
            return Vec::new();
        };
        let Some(filter) = &self.form.nodes[pos.node].choice_filter else {
            return (0..list.choices.len()).collect();
        };
        if let Some((column, e)) = &filter.equals
            && let XVal::Str(wanted) = eval(e, &self.ctx(&pos.path, Some(pos.node)))
        {
            return list
                .by_column(*column)
                .get(&wanted)
                .cloned()
                .unwrap_or_default();
        }
        (0..list.choices.len())
            .filter(|&i| {
                let ctx = Ctx {
                    s: self,
                    path: &pos.path,
                    current: Some(pos.node),
                    choice: Some((list, i)),
                    overflow: Cell::new(false),
                    draws: Cell::new(0),
                };
                eval(&filter.expr, &ctx).to_bool()
            })
            .collect()
    }

    /// The label of a choice in the session's language.
    pub fn choice_label<'a>(&'a self, list: &'a ChoiceList, index: usize) -> &'a str {
        list.choices
            .get(index)
            .map_or("", |c| self.text(&c.label).unwrap_or(&c.name))
    }

    // ----- texts -----------------------------------------------------------

    /// A label or hint in the session's language, with `${name}` replaced
    /// by that field's answer.
    pub fn render(&self, text: &Text, path: &[(NodeId, usize)]) -> String {
        let Some(s) = self.text(text) else {
            return String::new();
        };
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    if let Some(id) = self.form.find(&after[..end]) {
                        let value = self.lookup(id, path).into_string();
                        // A label shows at most MAX_TEXT_BYTES of answers.
                        if out.len() + value.len() > MAX_TEXT_BYTES {
                            out.push('…');
                            return out;
                        }
                        out.push_str(&value);
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    pub fn label(&self, pos: &Pos) -> String {
        self.render(&self.form.nodes[pos.node].label, &pos.path)
    }

    pub fn hint(&self, pos: &Pos) -> String {
        self.render(&self.form.nodes[pos.node].hint, &pos.path)
    }

    /// The record's name in lists, from the form's instance_name.
    pub fn instance_name(&self) -> String {
        self.form
            .instance_name
            .as_ref()
            .map(|e| eval(e, &self.ctx(&[], None)).into_string())
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;

/// Fisher-Yates with SplitMix64 from `seed`: the same seed, the same order.
fn shuffle(items: &mut [usize], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
