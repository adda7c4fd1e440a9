//! The session engine: one record being filled. It holds the answers
//! (repeat instances included), recomputes relevance and calculations in
//! the form's dependency order after every change, walks the screens an
//! enumerator sees, lists what is missing or violated, and produces the
//! record. Pure: no I/O, no clock (the caller passes `Env`), no terminal.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::answer::{self, AnswerError};
use super::dates::DateTime;
use super::eval::{XVal, eval};
use super::limits::{
    self, MAX_RECORD_VALUE_BYTES, MAX_RECORD_VALUES, MAX_REPEAT_COUNT, MAX_TEXT_BYTES,
};
use super::model::{ChoiceList, Default, Form, Kind, NodeId, Required, Text};

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

/// What the session needs from the world: the clock and who is filling.
#[derive(Debug, Clone)]
pub struct Env {
    pub now: DateTime,
    pub device_id: String,
    pub username: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ViolationKind {
    Required,
    Constraint,
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
}

impl Session {
    /// A new, empty record: defaults and metadata filled in, everything computed.
    pub fn new(form: Arc<Form>, env: Env) -> Self {
        let language = form.default_language.clone();
        let mut s = Session {
            root: Instance::new(form.root_slots),
            values: Instance::cost(form.root_slots),
            bytes: 0,
            limits: Vec::new(),
            form,
            env,
            language,
        };
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
            // A default that does not fit leaves the question empty.
            let _ = self.put(path, node.slot, value);
        }
        for &id in &members {
            if let Some(Default::Dynamic(e)) = &form.nodes[id].default {
                let value = eval(e, &self.ctx(path, Some(id))).into_string();
                let _ = self.put(path, form.nodes[id].slot, value);
            }
        }
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
        self.store(pos, raw)
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

    fn ctx<'a>(&'a self, path: &'a [(NodeId, usize)], current: Option<NodeId>) -> Ctx<'a> {
        Ctx {
            s: self,
            path,
            current,
            choice: None,
            overflow: Cell::new(false),
        }
    }

    /// `${node}` seen from the instance at `path`: one value, or a set when
    /// the node repeats beyond it.
    fn lookup(&self, node: NodeId, path: &[(NodeId, usize)]) -> XVal {
        let form = &self.form;
        let n = &form.nodes[node];
        let get = |inst: &Instance| {
            if inst.relevant[n.slot] {
                inst.values[n.slot].clone()
            } else {
                String::new()
            }
        };
        if n.repeats.is_empty() && n.kind != Kind::Repeat {
            return XVal::Str(get(&self.root));
        }
        let mut level: Vec<&Instance> = vec![&self.root];
        let mut fanned = false;
        for (depth, &rep) in n.repeats.iter().enumerate() {
            let slot = form.nodes[rep].slot;
            match path.get(depth) {
                Some(&(r, i)) if r == rep && !fanned => {
                    level = level
                        .iter()
                        .filter_map(|inst| inst.repeats[slot].get(i))
                        .collect();
                }
                _ => {
                    fanned = true;
                    level = level
                        .iter()
                        .flat_map(|inst| inst.repeats[slot].iter())
                        .collect();
                }
            }
        }
        if n.kind == Kind::Repeat {
            let count: usize = level
                .iter()
                .filter(|inst| inst.relevant[n.slot])
                .map(|inst| inst.repeats[n.slot].len())
                .sum();
            return XVal::Set(vec![String::new(); count]);
        }
        if fanned {
            XVal::Set(level.into_iter().map(get).collect())
        } else {
            XVal::Str(level.first().map(|i| get(i)).unwrap_or_default())
        }
    }

    // ----- choices ---------------------------------------------------------

    /// The choices (indexes into the list) a select offers here, after its
    /// choice_filter.
    pub fn choices(&self, pos: &Pos) -> Vec<usize> {
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

    // ----- walking ---------------------------------------------------------

    /// Calls `f` for every relevant node in document order, descending into
    /// groups and every repeat instance.
    fn walk(&self, f: &mut impl FnMut(&Pos, Walk)) {
        self.walk_children(&self.form.top, &[], f);
    }

    fn walk_children(
        &self,
        children: &[NodeId],
        path: &[(NodeId, usize)],
        f: &mut impl FnMut(&Pos, Walk),
    ) {
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
                Kind::Group => {
                    f(&pos, Walk::Enter);
                    self.walk_children(&node.children, path, f);
                    f(&pos, Walk::Leave);
                }
                Kind::Repeat => {
                    f(&pos, Walk::Enter);
                    for i in 0..self.instance_count(path, id) {
                        let mut inner = path.to_vec();
                        inner.push((id, i));
                        self.walk_children(&node.children, &inner, f);
                    }
                    f(&pos, Walk::Leave);
                }
                _ => f(&pos, Walk::Field),
            }
        }
    }

    /// The pages of the form as things stand, in order.
    pub fn screens(&self) -> Vec<Screen> {
        let mut out = Vec::new();
        let mut in_field_list: Option<NodeId> = None;
        self.walk(&mut |pos, step| {
            let node = &self.form.nodes[pos.node];
            match step {
                Walk::Enter if in_field_list.is_none() && node.has_appearance("field-list") => {
                    in_field_list = Some(pos.node);
                    out.push(Screen::FieldList(pos.clone()));
                }
                Walk::Leave if in_field_list == Some(pos.node) => {
                    in_field_list = None;
                    // A field-list page with no relevant question is no page.
                    let page = Screen::FieldList(pos.clone());
                    if self.questions_on(&page).is_empty() {
                        out.pop();
                    }
                }
                Walk::Leave
                    if node.kind == Kind::Repeat
                        && node.repeat_count.is_none()
                        && in_field_list.is_none() =>
                {
                    out.push(Screen::AddRepeat {
                        path: pos.path.clone(),
                        repeat: pos.node,
                    });
                }
                Walk::Field if in_field_list.is_none() && node.kind.is_visible() => {
                    out.push(Screen::Question(pos.clone()));
                }
                _ => {}
            }
        });
        out
    }

    /// The questions shown on a screen.
    pub fn questions_on(&self, screen: &Screen) -> Vec<Pos> {
        match screen {
            Screen::Question(p) => vec![p.clone()],
            Screen::AddRepeat { .. } => Vec::new(),
            Screen::FieldList(group) => {
                let mut out = Vec::new();
                let node = &self.form.nodes[group.node];
                self.walk_children(&node.children, &group.path, &mut |pos, step| {
                    if step == Walk::Field && self.form.nodes[pos.node].kind.is_visible() {
                        out.push(pos.clone());
                    }
                });
                out
            }
        }
    }

    /// The screen after (or before, with `forward` false) `current`, over
    /// relevant questions only. A screen that has disappeared resumes from
    /// where it stood.
    pub fn step(&self, current: &Screen, forward: bool) -> Option<Screen> {
        let screens = self.screens();
        let at = screens.iter().position(|s| s == current);
        match (at, forward) {
            (Some(i), true) => screens.get(i + 1).cloned(),
            (Some(i), false) => i.checked_sub(1).and_then(|j| screens.get(j).cloned()),
            (None, _) => screens.first().cloned(),
        }
    }

    // ----- checks ----------------------------------------------------------

    /// The form's own message (with `${name}` filled in), else `default`.
    fn message(
        &self,
        text: &Text,
        path: &[(NodeId, usize)],
        default: impl FnOnce() -> String,
    ) -> String {
        let custom = self.render(text, path);
        if custom.is_empty() { default() } else { custom }
    }

    /// The engine's own words in the session's language: Lao when the
    /// language is Lao (draft text, to be reviewed by a Lao speaker),
    /// English otherwise.
    fn chrome(&self, english: &str, lao: &str) -> String {
        let is_lao = self
            .language
            .as_deref()
            .is_some_and(|l| l.contains("(lo)") || l.starts_with("Lao"));
        if is_lao { lao } else { english }.to_string()
    }

    /// A refused answer, said in the session's language.
    pub fn explain(&self, error: &AnswerError) -> String {
        self.chrome(&error.to_string(), &error.in_lao())
    }

    /// What stops this question from being complete, if anything.
    pub fn check(&self, pos: &Pos) -> Option<Violation> {
        let node = &self.form.nodes[pos.node];
        if !node.kind.is_input() || !self.is_relevant(pos) {
            return None;
        }
        let value = self.raw_value(pos);
        let ctx = self.ctx(&pos.path, Some(pos.node));
        let violation = |kind, message: String| {
            Some(Violation {
                name: node.name.clone(),
                path: self.describe(pos),
                kind,
                message,
                pos: Some(pos.clone()),
            })
        };
        if value.is_empty() {
            if self.is_required(pos) {
                let message = self.message(&node.required_message, &pos.path, || {
                    self.chrome("This question needs an answer.", "ຄຳຖາມນີ້ຕ້ອງມີຄຳຕອບ.")
                });
                return violation(ViolationKind::Required, message);
            }
            return None;
        }
        let checked = node
            .constraint
            .as_ref()
            .map(|c| (c, eval(c, &ctx).to_bool()));
        if let Some((c, _)) = checked
            && ctx.overflow.get()
        {
            return violation(
                ViolationKind::Limit,
                format!(
                    "the constraint ({c}) makes a text longer than {}, fieldkit's cap for a \
                     value, and cannot be checked",
                    limits::bytes(MAX_TEXT_BYTES as u64)
                ),
            );
        }
        if let Some((c, false)) = checked {
            let message = self.message(&node.constraint_message, &pos.path, || {
                format!(
                    "{} ({c})",
                    self.chrome(
                        "This answer is not allowed here.",
                        "ຄຳຕອບນີ້ບໍ່ຖືກຕ້ອງຕາມເງື່ອນໄຂຂອງແບບຟອມ."
                    )
                )
            });
            return violation(ViolationKind::Constraint, message);
        }
        if node.choice_filter.is_some() {
            let allowed = self.choices(pos);
            let list = self.form.list_of(pos.node);
            let outside = value.split_whitespace().find(|v| {
                list.and_then(|l| l.index_of(v))
                    .is_none_or(|i| !allowed.contains(&i))
            });
            if let Some(v) = outside {
                return violation(
                    ViolationKind::Constraint,
                    format!(
                        "'{v}': {}",
                        self.chrome(
                            "not among the choices allowed here; choose again.",
                            "ບໍ່ຢູ່ໃນຕົວເລືອກທີ່ອະນຸຍາດຢູ່ບ່ອນນີ້; ກະລຸນາເລືອກໃໝ່."
                        )
                    ),
                );
            }
        }
        None
    }

    /// Whether the question needs an answer now (its `required` may be an
    /// expression).
    pub fn is_required(&self, pos: &Pos) -> bool {
        match &self.form.nodes[pos.node].required {
            Required::No => false,
            Required::Yes => true,
            Required::When(e) => eval(e, &self.ctx(&pos.path, Some(pos.node))).to_bool(),
        }
    }

    /// Every missing required answer and violated constraint, in form order.
    pub fn violations(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        self.walk(&mut |pos, step| {
            if step == Walk::Field {
                out.extend(self.check(pos));
            }
        });
        out.extend(self.limits.iter().cloned());
        out
    }

    /// `members[2]/age`: a position as people read it (1-based instances).
    pub fn describe(&self, pos: &Pos) -> String {
        let mut parts: Vec<String> = pos
            .path
            .iter()
            .map(|&(r, i)| format!("{}[{}]", self.form.nodes[r].name, i + 1))
            .collect();
        parts.push(self.form.nodes[pos.node].name.clone());
        parts.join("/")
    }

    // ----- the record ------------------------------------------------------

    /// The record's values: relevant, non-empty answers and calculations,
    /// typed; each repeat as a list of objects.
    pub fn record(&self) -> Map<String, Value> {
        self.record_scope(&self.form.top, &[])
    }

    fn record_scope(&self, children: &[NodeId], path: &[(NodeId, usize)]) -> Map<String, Value> {
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
        self.answers_scope(&self.form.top, &[])
    }

    fn answers_scope(&self, children: &[NodeId], path: &[(NodeId, usize)]) -> Map<String, Value> {
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
                Kind::Note | Kind::Calculate => {}
                _ if node.calculation.is_some() => {}
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
        problems
    }

    /// A problem with the answer `name` inside the instance at `path`.
    fn problem(
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
    fn load_values<'v>(
        &mut self,
        answers: &'v Map<String, Value>,
        path: &[(NodeId, usize)],
        problems: &mut Vec<Violation>,
        repeats: &mut Vec<(Path, NodeId, &'v Value)>,
    ) {
        let form = Arc::clone(&self.form);
        let scope = path.last().map(|p| p.0);
        for (key, value) in answers {
            let Some(id) = form.find(key) else {
                let message = format!("the form has no field '{key}'");
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
                        .map_err(|message| (ViolationKind::Type, message))
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
    fn load_entries<'v>(
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
                let message = format!("entry {} of '{name}' is not an object", i + 1);
                self.problem(problems, path, name, ViolationKind::Type, message);
                continue;
            };
            if i >= self.instance_count(path, id) {
                if fixed {
                    let message = format!(
                        "'{name}' has {} entries, but its repeat_count allows {}",
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
                            format!("'{name}' has too many entries"),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    Enter,
    Leave,
    Field,
}

/// The scope expressions are evaluated in: a repeat instance, the question
/// being checked, and the choice being filtered.
struct Ctx<'a> {
    s: &'a Session,
    path: &'a [(NodeId, usize)],
    current: Option<NodeId>,
    choice: Option<(&'a ChoiceList, usize)>,
    /// Set when a string would have gone over [`MAX_TEXT_BYTES`].
    overflow: Cell<bool>,
}

impl super::eval::Scope for Ctx<'_> {
    fn field(&self, node: NodeId) -> XVal {
        self.s.lookup(node, self.path)
    }

    fn current(&self) -> XVal {
        match self.current {
            Some(n) => self.s.lookup(n, self.path),
            None => XVal::Str(String::new()),
        }
    }

    fn position(&self) -> Option<usize> {
        self.path.last().map(|&(_, i)| i + 1)
    }

    fn column(&self, name: &str) -> XVal {
        let Some((list, i)) = self.choice else {
            return XVal::Str(String::new());
        };
        let choice = &list.choices[i];
        XVal::Str(match name {
            "name" => choice.name.clone(),
            "label" => self.s.text(&choice.label).unwrap_or("").to_string(),
            other => list
                .column(other)
                .and_then(|c| choice.columns.get(c))
                .cloned()
                .unwrap_or_default(),
        })
    }

    fn choice_label(&self, field: &str, value: &str) -> String {
        let Some(list) = self
            .s
            .form
            .find(field)
            .and_then(|id| self.s.form.list_of(id))
        else {
            return String::new();
        };
        list.index_of(value)
            .map(|i| self.s.choice_label(list, i).to_string())
            .unwrap_or_default()
    }

    fn now(&self) -> DateTime {
        self.s.env.now
    }

    fn indexed_repeat(&self, field: NodeId, at: &[(NodeId, usize)]) -> XVal {
        let form = &self.s.form;
        let mut path = Vec::new();
        for (depth, &rep) in form.nodes[field].repeats.iter().enumerate() {
            let index = match at.iter().find(|(r, _)| *r == rep) {
                Some(&(_, i)) => i - 1,
                None => match self.path.get(depth) {
                    Some(&(r, i)) if r == rep => i,
                    _ => return XVal::Str(String::new()),
                },
            };
            path.push((rep, index));
        }
        if self.s.instance(&path).is_none() {
            return XVal::Str(String::new());
        }
        self.s.lookup(field, &path)
    }

    fn regex_match(&self, text: &str, pattern: &str) -> bool {
        self.s.form.regex(pattern).is_some_and(|r| r.is_match(text))
    }

    fn too_long(&self) {
        self.overflow.set(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::dates::parse_datetime;

    const FORM: &str = r#"
[[survey]]
type = "text"
name = "a"
label = "a"

[[survey]]
type = "integer"
name = "n"
label = "n"

[[survey]]
type = "begin_repeat"
name = "r"
label = "r"

[[survey]]
type = "text"
name = "b"
label = "b"

[[survey]]
type = "calculate"
name = "c"
calculation = "concat(${b}, ${a})"

[[survey]]
type = "begin_repeat"
name = "f"
label = "f"
repeat_count = "${n}"

[[survey]]
type = "text"
name = "d"
label = "d"
default = "concat(${a}, 'x')"

[[survey]]
type = "end_repeat"

[[survey]]
type = "end_repeat"
"#;

    /// The running counts against the caps match what the record holds.
    fn counted(s: &Session) {
        assert_eq!((s.values, s.bytes), s.root.held());
    }

    #[test]
    fn the_counts_against_the_caps_follow_every_change() {
        let form = crate::form::load_str(FORM, std::path::Path::new("t.toml"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let env = Env {
            now: parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("clock"),
            device_id: "d".into(),
            username: "u".into(),
        };
        let mut s = Session::new(Arc::new(form), env);
        let node = |s: &Session, name: &str| s.form().find(name).expect("node");
        let (a, n, r, b) = (node(&s, "a"), node(&s, "n"), node(&s, "r"), node(&s, "b"));
        let at = |path: &Path, node| Pos {
            path: path.clone(),
            node,
        };
        counted(&s);
        s.answer(&at(&vec![], a), "hello").expect("a");
        counted(&s);
        let first = s.add_instance(&[], r).expect("add");
        let second = s.add_instance(&[], r).expect("add");
        counted(&s);
        s.answer(&at(&first, b), "one").expect("b");
        s.answer(&at(&second, b), "two two").expect("b");
        counted(&s);
        s.answer(&at(&vec![], n), "3").expect("n");
        counted(&s);
        assert_eq!(s.instance_count(&second, node(&s, "f")), 3);
        s.answer(&at(&vec![], n), "1").expect("n");
        counted(&s);
        s.remove_instance(&first).expect("remove");
        counted(&s);
        s.answer(&at(&vec![], a), "").expect("a");
        counted(&s);
        s.touch(parse_datetime("2026-11-22T10:00:00+07:00", 0).expect("clock"));
        counted(&s);
    }

    const DATES: &str = r#"
[[survey]]
type = "date"
name = "arrived"
label = "Month of arrival"
appearance = "month-year"
constraint = ". <= today()"

[[survey]]
type = "date"
name = "born"
label = "Year of birth"
appearance = "year"
constraint = ". >= date('1900-01-01')"

[[survey]]
type = "date"
name = "visit"
label = "Day of the visit"
"#;

    fn dated_session() -> (Session, Pos, Pos, Pos) {
        let form = crate::form::load_str(DATES, std::path::Path::new("t.toml"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let env = Env {
            now: parse_datetime("2026-09-15T09:00:00+07:00", 0).expect("clock"),
            device_id: "d".into(),
            username: "u".into(),
        };
        let s = Session::new(Arc::new(form), env);
        let at = |name: &str| Pos {
            path: Vec::new(),
            node: s.form().find(name).expect("node"),
        };
        let (a, b, v) = (at("arrived"), at("born"), at("visit"));
        (s, a, b, v)
    }

    #[test]
    fn month_year_and_year_questions_store_the_first_day() {
        let (mut s, arrived, born, visit) = dated_session();
        s.answer(&arrived, "2026-09").expect("month");
        assert_eq!(s.raw_value(&arrived), "2026-09-01");
        s.answer(&born, "1984").expect("year");
        assert_eq!(s.raw_value(&born), "1984-01-01");
        // The stored forms are accepted as typed.
        s.answer(&arrived, "2026-08-01").expect("stored month");
        s.answer(&born, "1984-01-01").expect("stored year");
        // A plain date question is unchanged.
        assert!(s.answer(&visit, "2026-09").is_err());
        s.answer(&visit, "2026-09-15").expect("day");
        // A full date in a month-year question is refused and nothing changes.
        let e = s.answer(&arrived, "2026-09-15").unwrap_err();
        assert_eq!(s.raw_value(&arrived), "2026-08-01");
        assert!(s.explain(&e).contains("type 2026-09"), "{}", s.explain(&e));
        s.set_language(Some("Lao (lo)".into()));
        assert!(s.explain(&e).contains("ພິມ 2026-09"), "{}", s.explain(&e));
        let e = s.answer(&born, "1984-06").unwrap_err();
        assert_eq!(s.raw_value(&born), "1984-01-01");
        assert!(s.explain(&e).contains("1984"));
    }

    #[test]
    fn constraints_and_today_work_on_the_stored_date() {
        let (mut s, arrived, born, _) = dated_session();
        // Today is 2026-09-15: this month is not after today, next month is.
        s.answer(&arrived, "2026-09").expect("month");
        assert_eq!(s.check(&arrived), None);
        s.answer(&arrived, "2026-10").expect("month");
        let v = s.check(&arrived).expect("after today");
        assert_eq!(v.kind, ViolationKind::Constraint);
        s.answer(&born, "1899").expect("year");
        assert_eq!(
            s.check(&born).map(|v| v.kind),
            Some(ViolationKind::Constraint)
        );
        s.answer(&born, "1900").expect("year");
        assert_eq!(s.check(&born), None);
    }

    #[test]
    fn answers_files_and_drafts_keep_month_year_answers_and_refuse_a_day() {
        let (mut s, arrived, born, _) = dated_session();
        let answers = serde_json::json!({"arrived": "2026-07-01", "born": "1984-01-01"});
        let problems = s.load_answers(answers.as_object().expect("object"));
        assert_eq!(problems, Vec::new());
        assert_eq!(s.raw_value(&arrived), "2026-07-01");
        // What the session gives back loads again unchanged (a resumed draft).
        let again = s.answers();
        let (mut t, ..) = dated_session();
        assert_eq!(t.load_answers(&again), Vec::new());
        assert_eq!(t.answers(), again);
        assert_eq!(t.raw_value(&born), "1984-01-01");
        // A stored month-year value whose day is not the 1st is refused.
        let (mut u, arrived, ..) = dated_session();
        let bad = serde_json::json!({"arrived": "2026-07-15"});
        let problems = u.load_answers(bad.as_object().expect("object"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].kind, ViolationKind::Type);
        assert!(problems[0].message.contains("type 2026-07"), "{problems:?}");
        assert_eq!(u.raw_value(&arrived), "");
    }
}
