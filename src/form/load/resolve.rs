//! Resolution: expression text turned into `Expr`s whose names are
//! checked against the form's questions, the evaluation order (with the
//! cycle named when there is one), the equality shortcut of choice
//! filters, calculations that can only grow past the cap, and each
//! node's value slot.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use super::{Loader, RowSource};
use crate::form::eval::{DIGESTS, indexed};
use crate::form::expr::{self, BinOp, Expr, Func, InstancePath};
use crate::form::limits::{self, MAX_TEXT_BYTES};
use crate::form::model::{ChoiceList, Default, Kind, Node, NodeId};

impl Loader {
    /// Orders every node after what its relevance, calculation and repeat
    /// count read, and after its parent; a cycle is an error.
    pub(super) fn evaluation_order(
        &mut self,
        nodes: &[Node],
        sources: &[RowSource],
    ) -> Option<Vec<NodeId>> {
        let count = nodes.len();
        let mut deps: Vec<Vec<NodeId>> = vec![Vec::new(); count];
        for (id, node) in nodes.iter().enumerate() {
            let mut add = |e: &Option<Expr>| {
                if let Some(e) = e {
                    deps[id].extend(e.refs().iter().filter_map(|r| r.node));
                }
            };
            add(&node.relevant);
            add(&node.calculation);
            add(&node.repeat_count);
            if let Some(p) = node.parent {
                deps[id].push(p);
            }
        }
        let mut dependents: Vec<Vec<NodeId>> = vec![Vec::new(); count];
        let mut waiting = vec![0usize; count];
        for (id, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(id);
                waiting[id] += 1;
            }
        }
        // Kahn's algorithm, taking the earliest ready node in document order.
        let mut ready: BinaryHeap<std::cmp::Reverse<NodeId>> = (0..count)
            .filter(|&i| waiting[i] == 0)
            .map(std::cmp::Reverse)
            .collect();
        let mut order = Vec::with_capacity(count);
        while let Some(std::cmp::Reverse(id)) = ready.pop() {
            order.push(id);
            for &d in &dependents[id] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.push(std::cmp::Reverse(d));
                }
            }
        }
        if order.len() == count {
            return Some(order);
        }
        let stuck: HashSet<NodeId> = (0..count).filter(|&i| waiting[i] > 0).collect();
        let cycle = find_cycle(&deps, &stuck);
        let first = cycle.first().copied().unwrap_or(0);
        let names: Vec<&str> = cycle
            .iter()
            .chain(cycle.first())
            .map(|&i| nodes[i].name.as_str())
            .collect();
        let node = &nodes[first];
        let column = if node.calculation.is_some() {
            "calculation"
        } else {
            "relevant"
        };
        self.err(
            "survey",
            Some(node.row),
            Some(column),
            sources[first].lines.get(column).copied(),
            format!(
                "these fields depend on each other in a cycle: {}. Break the cycle so each value \
                 can be worked out from answers given before it",
                names.join(" -> ")
            ),
        );
        None
    }

    /// Refuses calculations (and defaults) whose text is longer than
    /// [`MAX_TEXT_BYTES`] even when every answer is one character: such a
    /// value can only grow by feeding on itself (`concat(${c}, ${c})` row
    /// after row), and a record would hit the cap as soon as it is filled.
    pub(super) fn growing_texts(
        &mut self,
        nodes: &[Node],
        order: &[NodeId],
        sources: &[RowSource],
    ) {
        let mut least = vec![1usize; nodes.len()];
        for &id in order {
            let node = &nodes[id];
            let (column, e) = match (&node.calculation, &node.default) {
                (Some(e), _) => ("calculation", e),
                (None, Some(Default::Dynamic(e))) => ("default", e),
                _ => continue,
            };
            let size = least_text(e, &least);
            least[id] = size;
            if size > MAX_TEXT_BYTES {
                let shown = if size == usize::MAX {
                    "more bytes than a computer holds".to_string()
                } else {
                    format!("{size} bytes")
                };
                self.err(
                    "survey",
                    Some(node.row),
                    Some(column),
                    sources[id].lines.get(column).copied(),
                    format!(
                        "{}: this {column} makes a text of {shown} even when every answer is one \
                         character, over fieldkit's cap of {} for a value; it feeds on itself \
                         (each row doubling the one before?): rewrite it",
                        node.name,
                        limits::bytes(MAX_TEXT_BYTES as u64)
                    ),
                );
                // Rows built on it would only say the same.
                return;
            }
        }
    }
}

/// The length of the text `e` makes at least, when every answer is one
/// character (`least` holds it for the calculations worked out before).
pub(super) fn least_text(e: &Expr, least: &[usize]) -> usize {
    let all = |args: &[Expr]| {
        args.iter()
            .fold(0usize, |n, a| n.saturating_add(least_text(a, least)))
    };
    let first = |args: &[Expr]| args.first().map_or(1, |a| least_text(a, least));
    match e {
        Expr::Str(s) => s.len(),
        Expr::Ref(r) => r.node.and_then(|n| least.get(n)).copied().unwrap_or(1),
        Expr::Call(func, args) => match func {
            Func::Concat => all(args),
            Func::Join => args.get(1).map_or(0, |a| least_text(a, least)),
            Func::If => args
                .get(1..)
                .unwrap_or(&[])
                .iter()
                .map(|a| least_text(a, least))
                .min()
                .unwrap_or(0),
            Func::Coalesce => args.iter().map(|a| least_text(a, least)).min().unwrap_or(0),
            Func::String | Func::NormalizeSpace => first(args),
            _ => 1,
        },
        _ => 1,
    }
}

/// Turns expression text into a resolved `Expr`, checking every name.
pub(super) struct Resolver<'r> {
    /// The nodes of each name as written (names may repeat across groups).
    pub(super) named: &'r HashMap<String, Vec<NodeId>>,
    /// Each node's name as written.
    pub(super) plain: &'r [String],
    pub(super) top: &'r [NodeId],
    pub(super) nodes: &'r [Node],
    pub(super) lists: &'r BTreeMap<String, ChoiceList>,
    /// The data instances: id -> key in `lists`.
    pub(super) instances: &'r BTreeMap<String, String>,
    pub(super) regexes: &'r mut HashMap<String, regex::Regex>,
    /// Choice filters reading a column their list lacks: (row's node,
    /// column, list). Loaded as ODK runs them (no choice matches), said
    /// in a warning.
    pub(super) missing_columns: Vec<(NodeId, String, String)>,
}

impl Resolver<'_> {
    /// The node `name` refers to from the row `from`: `${name}` (one node
    /// of that name in the form, as pyxform requires), or a relative path
    /// `../name`, `../../group/name` (XPath steps from the row's section).
    pub(super) fn lookup(&self, from: NodeId, name: &str) -> Result<NodeId, String> {
        if name.starts_with("..") {
            return self.relative(from, name);
        }
        match self.named.get(name).map(Vec::as_slice) {
            None | Some([]) => Err(format!(
                "${{{name}}} does not name any field of this form; check the spelling"
            )),
            Some([one]) => Ok(*one),
            Some(many) => Err(self.ambiguous(name, many)),
        }
    }

    /// Why `${name}` cannot be resolved when several nodes have that name.
    pub(super) fn ambiguous(&self, name: &str, ids: &[NodeId]) -> String {
        let rows: Vec<String> = ids
            .iter()
            .map(|&i| {
                let within = match self.nodes[i].parent {
                    Some(p) => format!(" (in '{}')", self.plain[p]),
                    None => String::new(),
                };
                format!("survey row {}{within}", self.nodes[i].row)
            })
            .collect();
        format!(
            "${{{name}}} is ambiguous: {} are {} named '{name}'. Rename one of them, or \
             refer to the one in this row's own group as ../{name}",
            rows.join(" and "),
            if rows.len() == 2 { "both" } else { "all" }
        )
    }

    fn relative(&self, from: NodeId, path: &str) -> Result<NodeId, String> {
        let Some(node) = self.nodes.get(from) else {
            return Err(format!(
                "'{path}' is a relative path; refer to a field as ${{name}} here"
            ));
        };
        let mut steps = path.split('/').peekable();
        // The first '..' is the row's own section.
        steps.next();
        let mut section = node.parent;
        while steps.peek() == Some(&"..") {
            steps.next();
            match section {
                Some(s) => section = self.nodes[s].parent,
                None => {
                    return Err(format!(
                        "'{path}' goes above the top of the survey; remove a '../'"
                    ));
                }
            }
        }
        let mut at = None;
        for step in steps {
            let children = match section {
                Some(s) => &self.nodes[s].children,
                None => self.top,
            };
            let Some(&child) = children.iter().find(|&&c| self.plain[c] == step) else {
                let within = match section {
                    Some(s) => format!("the group '{}'", self.plain[s]),
                    None => "the top of the survey".to_string(),
                };
                return Err(format!(
                    "'{path}' names '{step}', but {within} has no field of that name"
                ));
            };
            at = Some(child);
            section = Some(child);
        }
        at.ok_or_else(|| format!("'{path}' names no field; write ../name"))
    }

    /// `id` is the row's node, or usize::MAX for settings.
    pub(super) fn expression(
        &mut self,
        id: NodeId,
        column: &str,
        text: &str,
    ) -> Result<Expr, String> {
        let mut e = expr::parse(text).map_err(|err| {
            format!("the expression '{text}' does not parse: {err}. Fix it; see \"Writing forms\" in README.md")
        })?;
        let mut problem: Option<String> = None;
        let node = self.nodes.get(id);
        let list = node
            .filter(|_| column == "choice_filter")
            .and_then(|n| n.kind.list())
            .and_then(|l| self.lists.get(l));
        let this = &*self;
        let mut missing = Vec::new();
        e.walk_mut(&mut |sub| {
            if problem.is_some() {
                return;
            }
            match sub {
                Expr::Ref(r) => match this.lookup(id, &r.name) {
                    Ok(target) => r.node = Some(target),
                    Err(why) => problem = Some(why),
                },
                Expr::Column(c) => match list {
                    Some(l) => {
                        let known = c == "name"
                            || c == "label"
                            || c.starts_with("label::")
                            || l.column(c).is_some();
                        if !known {
                            missing.push((id, c.clone(), l.name.clone()));
                        }
                    }
                    None => {
                        problem = Some(format!(
                            "'{c}' is a bare name; refer to a field as ${{{c}}} (bare names are \
                             choice columns, only in choice_filter)"
                        ))
                    }
                },
                // A choice filter is tried on every choice already.
                Expr::Instance(path) => {
                    if let Err(why) = this.instance_path(id, path, column == "choice_filter") {
                        problem = Some(why);
                    }
                }
                Expr::Current if column == "calculation" => {
                    problem = Some(
                        "'.' in a calculation refers to the value being calculated; refer to \
                         other fields with ${name}"
                            .into(),
                    )
                }
                _ => {}
            }
        });
        if let Some(p) = problem {
            return Err(p);
        }
        self.missing_columns.extend(missing);
        self.check_calls(&e)?;
        Ok(e)
    }

    /// The data instance `id` names, if the form has it.
    fn instance(&self, id: &str) -> Option<&ChoiceList> {
        self.instances.get(id).and_then(|key| self.lists.get(key))
    }

    /// Checks an instance path read from the row `from`: the columns it
    /// reads are the list's, and the fields its filter names are resolved.
    /// A list the form lacks was reported when the lists were read.
    /// `scanning`: the path is inside a filter tried item by item.
    fn instance_path(
        &self,
        from: NodeId,
        path: &mut InstancePath,
        scanning: bool,
    ) -> Result<(), String> {
        let list = self.instance(&path.id);
        let unknown = |column: &str, list: &ChoiceList| {
            format!(
                "instance('{}') has no column '{column}'; its columns are name, label{}{}",
                path.id,
                if list.columns.is_empty() { "" } else { ", " },
                list.columns.join(", ")
            )
        };
        if let (Some(list), Some(prop)) = (list, &path.prop)
            && !list.has(prop)
        {
            return Err(unknown(prop, list));
        }
        let Some(filter) = &mut path.filter else {
            return Ok(());
        };
        let scans = indexed(filter).is_none();
        if scans && scanning {
            // Every item of one list against every item of another: a
            // form could stop the screen for minutes.
            return Err(format!(
                "the filter [{filter}] of instance('{}') is tried on every item, inside a filter \
                 already tried on every item or choice; write the inner one as column = value \
                 (found through an index), or work it out in a calculate row",
                path.id
            ));
        }
        let mut problem = None;
        filter.walk_mut(&mut |sub| {
            if problem.is_some() {
                return;
            }
            match sub {
                Expr::Ref(r) => match self.lookup(from, &r.name) {
                    Ok(target) => r.node = Some(target),
                    Err(why) => problem = Some(why),
                },
                Expr::Column(c) => {
                    if let Some(list) = list
                        && !list.has(c)
                    {
                        problem = Some(unknown(c, list));
                    }
                }
                Expr::Instance(inner) => {
                    if let Err(why) = self.instance_path(from, inner, scanning || scans) {
                        problem = Some(why);
                    }
                }
                _ => {}
            }
        });
        problem.map_or(Ok(()), Err)
    }

    fn check_calls(&mut self, e: &Expr) -> Result<(), String> {
        let mut problem = None;
        e.walk(&mut |sub| {
            let Expr::Call(func, args) = sub else {
                return;
            };
            if problem.is_some() {
                return;
            }
            match func {
                Func::ChoiceName => match &args[1] {
                    Expr::Str(s) => {
                        let name = s
                            .trim()
                            .strip_prefix("${")
                            .and_then(|x| x.strip_suffix('}'))
                            .unwrap_or(s.trim());
                        let is_select = self
                            .named
                            .get(name)
                            .and_then(|ids| ids.first())
                            .is_some_and(|&n| self.nodes[n].kind.list().is_some());
                        if !is_select {
                            problem = Some(format!(
                                "jr:choice-name() needs a select question as its second argument, \
                                 written '${{name}}' in quotes; '{s}' is not one"
                            ));
                        }
                    }
                    _ => {
                        problem = Some(
                            "jr:choice-name() takes the select question in quotes: \
                             jr:choice-name(${q}, '${q}')"
                                .into(),
                        )
                    }
                },
                Func::IndexedRepeat => {
                    let refs_ok = args.iter().enumerate().all(|(i, a)| {
                        i % 2 == 0 && i > 0
                            || match a {
                                Expr::Ref(r) => {
                                    i == 0 || {
                                        r.node.is_some_and(|n| self.nodes[n].kind == Kind::Repeat)
                                    }
                                }
                                _ => false,
                            }
                    });
                    if !refs_ok {
                        problem = Some(
                            "indexed-repeat() takes ${field}, then pairs of ${repeat} and a \
                             position"
                                .into(),
                        );
                    }
                }
                Func::Pulldata => {
                    if let Some(Expr::Str(id)) = args.first()
                        && let Some(list) = self.instance(id.trim())
                    {
                        for (i, what) in [(1, "property"), (2, "key column")] {
                            if let Some(Expr::Str(column)) = args.get(i)
                                && !list.has(column.trim())
                            {
                                problem = Some(format!(
                                    "pulldata('{id}', ...) reads the {what} '{column}', which \
                                     {id} does not have; its columns are name, label{}{}",
                                    if list.columns.is_empty() { "" } else { ", " },
                                    list.columns.join(", ")
                                ));
                            }
                        }
                    }
                }
                Func::Digest => {
                    if let Expr::Str(algorithm) = &args[1]
                        && !DIGESTS.contains(&algorithm.trim().to_ascii_uppercase().as_str())
                    {
                        problem = Some(format!(
                            "digest() with '{algorithm}' is not computed by fieldkit (MD5 and \
                             SHA-1 are not carried); use one of {}",
                            DIGESTS.join(", ")
                        ));
                    }
                }
                Func::Regex => {
                    if let Expr::Str(pattern) = &args[1] {
                        match regex::RegexBuilder::new(pattern)
                            .size_limit(1 << 20)
                            .build()
                        {
                            Ok(r) => {
                                self.regexes.insert(pattern.clone(), r);
                            }
                            Err(err) => {
                                problem = Some(format!(
                                    "the pattern '{pattern}' of regex() is not a valid regular \
                                     expression: {}",
                                    err.to_string().lines().last().unwrap_or("")
                                ))
                            }
                        }
                    }
                }
                _ => {}
            }
        });
        problem.map_or(Ok(()), Err)
    }
}

/// Whether `e` calls random() or uuid() outside a once().
pub(super) fn draws_random(e: &Expr) -> bool {
    match e {
        Expr::Call(Func::Once, _) => false,
        Expr::Call(Func::Random | Func::Uuid, _) => true,
        Expr::Call(_, args) => args.iter().any(draws_random),
        Expr::Neg(inner) => draws_random(inner),
        Expr::Binary(_, a, b) => draws_random(a) || draws_random(b),
        _ => false,
    }
}

/// The `${name}` references shown inside a label or hint.
pub fn output_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// `column = expr` (either way round) on an extra column, where `expr`
/// reads no choice column: such a filter can go through an index.
pub(super) fn equality_filter(e: &Expr, list: Option<&ChoiceList>) -> Option<(usize, Expr)> {
    let list = list?;
    let Expr::Binary(BinOp::Eq, a, b) = e else {
        return None;
    };
    let reads_column = |x: &Expr| {
        let mut found = false;
        x.walk(&mut |s| found |= matches!(s, Expr::Column(_)));
        found
    };
    match (a.as_ref(), b.as_ref()) {
        (Expr::Column(c), other) | (other, Expr::Column(c)) if !reads_column(other) => {
            Some((list.column(c)?, other.clone()))
        }
        _ => None,
    }
}

pub(super) fn find_cycle(deps: &[Vec<NodeId>], stuck: &HashSet<NodeId>) -> Vec<NodeId> {
    let Some(&start) = stuck.iter().min() else {
        return Vec::new();
    };
    // Walk dependencies inside the stuck set until a node repeats.
    let mut path = vec![start];
    let mut seen: HashMap<NodeId, usize> = HashMap::from([(start, 0)]);
    let mut at = start;
    loop {
        let Some(&next) = deps[at].iter().find(|d| stuck.contains(d)) else {
            return path;
        };
        if let Some(&i) = seen.get(&next) {
            let mut cycle = path[i..].to_vec();
            cycle.reverse();
            return cycle;
        }
        seen.insert(next, path.len());
        path.push(next);
        at = next;
    }
}

/// Gives each node its slot in its scope's instances; returns the slot
/// counts of the root and of each repeat.
pub(super) fn assign_slots(nodes: &mut [Node], top: &[NodeId]) -> (usize, HashMap<NodeId, usize>) {
    fn walk(
        nodes: &mut [Node],
        children: &[NodeId],
        repeats: &[NodeId],
        counter: &mut usize,
        counts: &mut HashMap<NodeId, usize>,
    ) {
        for &c in children {
            nodes[c].repeats = repeats.to_vec();
            nodes[c].slot = *counter;
            *counter += 1;
            let grandchildren = nodes[c].children.clone();
            if nodes[c].kind == Kind::Repeat {
                let mut inner = repeats.to_vec();
                inner.push(c);
                let mut inner_counter = 0;
                walk(nodes, &grandchildren, &inner, &mut inner_counter, counts);
                counts.insert(c, inner_counter);
            } else {
                walk(nodes, &grandchildren, repeats, counter, counts);
            }
        }
    }
    let mut counts = HashMap::new();
    let mut root = 0;
    walk(nodes, top, &[], &mut root, &mut counts);
    (root, counts)
}
