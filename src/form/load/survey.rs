//! The `[[survey]]` rows: each row's type and columns read into a `Node`
//! (labels, hints, required, relevance and the other expressions kept as
//! text until every name is known), groups and repeats nested. Checks
//! every cell it reads; what a row may say (columns, types, appearances)
//! is `rows`', resolution of the expressions is `resolve`'s job.
//! Names are unique within their group or repeat (as pyxform requires);
//! a name shared across groups is stored under its group path.

use std::collections::HashMap;

use toml::Spanned;

use super::rows::{
    APPEARANCES, RowType, SURVEY_COLUMNS, TYPES, column_applies, parse_type, valid_hxl,
};
use super::{Loader, Row, RowSource, suggest, valid_name, yes_no};
use crate::form::error::FormError;
use crate::form::limits::MAX_NESTING;
use crate::form::model::{Default, Kind, Node, NodeId, Required, Text};

impl Loader {
    pub(super) fn survey(
        &mut self,
        rows: &[Spanned<Row>],
    ) -> (Vec<Node>, Vec<NodeId>, Vec<RowSource>) {
        let mut nodes: Vec<Node> = Vec::new();
        let mut sources: Vec<RowSource> = Vec::new();
        let mut top = Vec::new();
        // Open groups and repeats: (node, is_repeat, row).
        let mut open: Vec<(NodeId, bool)> = Vec::new();
        // Names already used among each section's children (pyxform: a
        // name is unique within its group or repeat, not in the form, and
        // `Age` is the same name as `age` there).
        let mut names: HashMap<(Option<NodeId>, String), usize> = HashMap::new();
        for (i, spanned) in rows.iter().enumerate() {
            let n = i + 1;
            let line = self.line(spanned.span().start);
            let row = spanned.get_ref();
            let mut source = RowSource {
                line,
                ..RowSource::default()
            };
            for (key, cell) in row {
                let key_line = self.line(cell.span().start);
                match SURVEY_COLUMNS.iter().find(|c| **c == key) {
                    Some(c) => {
                        source.lines.insert((*c).to_string(), key_line);
                    }
                    None => {
                        let hint = suggest(key, SURVEY_COLUMNS);
                        self.err(
                            "survey",
                            Some(n),
                            Some(key),
                            Some(key_line),
                            format!(
                                "unknown column '{key}'{hint}. Survey columns are: {}",
                                SURVEY_COLUMNS.join(", ")
                            ),
                        );
                    }
                }
            }
            let Some(type_cell) = row.get("type") else {
                self.err(
                    "survey",
                    Some(n),
                    Some("type"),
                    Some(line),
                    format!("the row has no type; give one of: {TYPES}"),
                );
                continue;
            };
            let Some(type_text) = self.plain("survey", Some(n), "type", type_cell) else {
                continue;
            };
            let type_line = Some(self.line(type_cell.span().start));
            // `csv-external`: a data instance (N.csv), not a question.
            if type_text.trim() == "csv-external" {
                let name = row
                    .get("name")
                    .and_then(|c| self.plain("survey", Some(n), "name", c))
                    .unwrap_or_default();
                self.externals.push((name, n, type_line));
                continue;
            }
            let parsed = match parse_type(&type_text) {
                Ok(t) => t,
                Err(msg) => {
                    self.err("survey", Some(n), Some("type"), type_line, msg);
                    continue;
                }
            };
            let kind = match parsed {
                RowType::End { repeat } => {
                    match open.pop() {
                        Some((_, was_repeat)) if was_repeat == repeat => {}
                        Some((id, was_repeat)) => {
                            let (opened, closing) = if was_repeat {
                                ("repeat", "end_repeat")
                            } else {
                                ("group", "end_group")
                            };
                            self.err(
                                "survey",
                                Some(n),
                                Some("type"),
                                type_line,
                                format!(
                                    "this row closes a {} but the innermost open one is the {opened} \
                                     '{}' (survey row {}); close it with {closing} first",
                                    if repeat { "repeat" } else { "group" },
                                    nodes[id].name,
                                    nodes[id].row
                                ),
                            );
                        }
                        None => self.err(
                            "survey",
                            Some(n),
                            Some("type"),
                            type_line,
                            format!(
                                "'{type_text}' closes nothing: there is no open {}; remove the row \
                                 or add the matching begin row",
                                if repeat { "repeat" } else { "group" }
                            ),
                        ),
                    }
                    continue;
                }
                RowType::Kind(k) => k,
            };
            let name = match row.get("name") {
                Some(c) => self.plain("survey", Some(n), "name", c).unwrap_or_default(),
                None => String::new(),
            };
            let name_line = source.lines.get("name").copied().or(Some(line));
            if name.is_empty() {
                self.err(
                    "survey",
                    Some(n),
                    Some("name"),
                    name_line,
                    "the row has no name; every question, group and repeat needs a unique name",
                );
                continue;
            }
            if !valid_name(&name) {
                self.err(
                    "survey",
                    Some(n),
                    Some("name"),
                    name_line,
                    format!(
                        "'{name}' is not a valid name: start with a letter or '_', then use only \
                         letters, digits, '_', '-' or '.'"
                    ),
                );
                continue;
            }
            let section = open.last().map(|(p, _)| *p);
            // Case-insensitively, as pyxform compares them.
            if let Some(first) = names.insert((section, name.to_lowercase()), n) {
                let within = match section {
                    Some(p) => format!("the same group '{}'", nodes[p].name),
                    None => "the top of the survey".to_string(),
                };
                self.err(
                    "survey",
                    Some(n),
                    Some("name"),
                    name_line,
                    format!(
                        "the name '{name}' is already used by survey row {first} in {within}; \
                         names must be unique within their group or repeat: rename one"
                    ),
                );
                continue;
            }
            let id = nodes.len();
            let mut node = Node {
                name,
                kind: kind.clone(),
                label: Text::default(),
                hint: Text::default(),
                required: Required::No,
                required_message: Text::default(),
                relevant: None,
                constraint: None,
                constraint_message: Text::default(),
                soft_constraint: None,
                soft_constraint_message: Text::default(),
                calculation: None,
                default: None,
                read_only: false,
                review: false,
                appearance: Vec::new(),
                choice_filter: None,
                repeat_count: None,
                randomize: false,
                seed: None,
                hxl: None,
                accept: Vec::new(),
                parent: open.last().map(|(p, _)| *p),
                children: Vec::new(),
                repeats: Vec::new(),
                slot: 0,
                row: n,
            };
            self.columns(n, row, &mut node, &mut source);
            self.signature(&mut node, &source);
            match node.parent {
                Some(p) => nodes[p].children.push(id),
                None => top.push(id),
            }
            let opens = matches!(kind, Kind::Group | Kind::Repeat);
            if opens {
                open.push((id, kind == Kind::Repeat));
            }
            nodes.push(node);
            sources.push(source);
            if opens && open.len() > MAX_NESTING {
                self.err(
                    "survey",
                    Some(n),
                    Some("type"),
                    type_line,
                    format!(
                        "this {} is nested {} deep, over fieldkit's cap of {MAX_NESTING} groups \
                         and repeats inside each other; close some groups before it",
                        if kind == Kind::Repeat {
                            "repeat"
                        } else {
                            "group"
                        },
                        open.len()
                    ),
                );
                // The rest would only repeat this error: stop here.
                return (nodes, top, sources);
            }
        }
        for (id, is_repeat) in open.into_iter().rev() {
            let line = sources[id].line;
            self.err(
                "survey",
                Some(nodes[id].row),
                Some("type"),
                Some(line),
                format!(
                    "the {} '{}' is never closed; add a row with type = \"{}\" after its last \
                     question",
                    if is_repeat { "repeat" } else { "group" },
                    nodes[id].name,
                    if is_repeat { "end_repeat" } else { "end_group" }
                ),
            );
        }
        (nodes, top, sources)
    }

    /// Gives every node whose name another node shares (in another group
    /// or repeat, as pyxform allows) its path as its name, `group/name`,
    /// so that records, drafts and tables keep them apart; says so in a
    /// warning. Returns each written name's nodes, to resolve `${name}`.
    pub(super) fn qualify_shared_names(
        &mut self,
        nodes: &mut [Node],
        sources: &[RowSource],
    ) -> HashMap<String, Vec<NodeId>> {
        let mut named: HashMap<String, Vec<NodeId>> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            named.entry(n.name.clone()).or_default().push(i);
        }
        let paths: Vec<String> = (0..nodes.len())
            .map(|i| {
                let mut parts = vec![nodes[i].name.as_str()];
                let mut at = nodes[i].parent;
                while let Some(p) = at {
                    parts.push(nodes[p].name.as_str());
                    at = nodes[p].parent;
                }
                parts.reverse();
                parts.join("/")
            })
            .collect();
        let mut shared: Vec<(&String, &Vec<NodeId>)> =
            named.iter().filter(|(_, ids)| ids.len() > 1).collect();
        shared.sort_by_key(|(_, ids)| ids[0]);
        for (name, ids) in shared {
            let stored: Vec<String> = ids.iter().map(|&i| format!("'{}'", paths[i])).collect();
            let mut rows: Vec<usize> = ids.iter().map(|&i| nodes[i].row).collect();
            rows.dedup();
            let rows: Vec<String> = rows.iter().map(usize::to_string).collect();
            let first = ids[0];
            self.warnings.push(FormError {
                path: self.path.clone(),
                sheet: "survey",
                row: Some(nodes[first].row),
                column: Some("name".into()),
                line: sources.get(first).map(|s| s.line),
                message: format!(
                    "the name '{name}' is used in {} groups (survey row {}), as pyxform \
                     allows; records and tables store them as {}. ${{{name}}} would be \
                     ambiguous: refer to one as ../{name} from its own group",
                    ids.len(),
                    rows.join(", survey row "),
                    stored.join(", ")
                ),
            });
        }
        for (i, node) in nodes.iter_mut().enumerate() {
            if named.get(&node.name).is_some_and(|ids| ids.len() > 1) {
                node.name = paths[i].clone();
            }
        }
        named
    }

    /// Reads the columns other than type and name into `node`, keeping
    /// expressions as text in `source` until every name is known.
    pub(super) fn columns(&mut self, n: usize, row: &Row, node: &mut Node, source: &mut RowSource) {
        let kind = node.kind.clone();
        for (key, cell) in row {
            let line = Some(self.line(cell.span().start));
            let name = node.name.clone();
            let not_here = |this: &mut Self, what: &str| {
                this.err(
                    "survey",
                    Some(n),
                    Some(key),
                    line,
                    format!("{name}: {key} {what}; remove it from this row"),
                );
            };
            match key.as_str() {
                "label"
                | "hint"
                | "required_message"
                | "constraint_message"
                | "soft_constraint_message" => {
                    let text = self.text("survey", Some(n), key, cell);
                    let column: &'static str = match key.as_str() {
                        "label" => "label",
                        "hint" => "hint",
                        "required_message" => "required_message",
                        "soft_constraint_message" => "soft_constraint_message",
                        _ => "constraint_message",
                    };
                    for t in text.texts() {
                        source.label_texts.push((column, t.to_string()));
                    }
                    match column {
                        "label" => node.label = text,
                        "hint" => node.hint = text,
                        "required_message" => node.required_message = text,
                        "soft_constraint_message" => node.soft_constraint_message = text,
                        _ => node.constraint_message = text,
                    }
                }
                "required" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    match yes_no(&v) {
                        Some(true) => node.required = Required::Yes,
                        Some(false) => {}
                        None => source.exprs.push(("required", v)),
                    }
                    if node.required != Required::No
                        && let Err(what) = column_applies(&kind, "required")
                    {
                        not_here(self, what);
                    }
                }
                "read_only" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    match yes_no(&v) {
                        Some(b) => node.read_only = b,
                        None => self.err(
                            "survey",
                            Some(n),
                            Some(key),
                            line,
                            format!("{}: read_only is \"yes\" or \"no\", not '{v}'", node.name),
                        ),
                    }
                }
                "review" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    match yes_no(&v) {
                        Some(b) => node.review = b,
                        None => self.err(
                            "survey",
                            Some(n),
                            Some(key),
                            line,
                            format!(
                                "{}: review is \"yes\" (a supervisor may read this answer) \
                                 or \"no\", not '{v}'",
                                node.name
                            ),
                        ),
                    }
                }
                "appearance" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    for word in v.split_whitespace() {
                        if APPEARANCES.contains(&word) {
                            node.appearance.push(word.to_string());
                        } else {
                            let hint = suggest(word, APPEARANCES);
                            self.err(
                                "survey",
                                Some(n),
                                Some(key),
                                line,
                                format!(
                                    "{}: unknown appearance '{word}'{hint}. fieldkit knows: {}",
                                    node.name,
                                    APPEARANCES.join(", ")
                                ),
                            );
                        }
                    }
                }
                "save_to" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    if !v.is_empty() {
                        source.save_to = Some(v);
                    }
                }
                "parameters" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    if let Err(what) = column_applies(&kind, "parameters") {
                        not_here(self, what);
                        continue;
                    }
                    let mut problem = None;
                    for pair in v.split_whitespace() {
                        match pair.split_once('=') {
                            Some(("randomize", r)) => match yes_no(r) {
                                Some(b) => node.randomize = b,
                                None => {
                                    problem = Some(format!("randomize is true or false, not '{r}'"))
                                }
                            },
                            Some(("seed", e)) if !e.is_empty() => {
                                source.exprs.push(("seed", e.to_string()))
                            }
                            _ => {
                                problem = Some(format!(
                                    "'{pair}' is not a parameter fieldkit takes on a select: \
                                     write randomize=true, and seed=${{field}} for a fixed order"
                                ))
                            }
                        }
                    }
                    if problem.is_none()
                        && !node.randomize
                        && source.exprs.iter().any(|(c, _)| *c == "seed")
                    {
                        problem = Some("a seed needs randomize=true beside it".into());
                    }
                    if let Some(p) = problem {
                        self.err("survey", Some(n), Some(key), line, format!("{name}: {p}"));
                    }
                }
                "accept" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    match column_applies(&kind, "accept") {
                        Err(what) => not_here(self, what),
                        Ok(()) => self.accept(n, line, node, &v),
                    }
                }
                "hxl" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    if valid_hxl(&v) {
                        node.hxl = Some(v);
                    } else {
                        self.err(
                            "survey",
                            Some(n),
                            Some(key),
                            line,
                            format!(
                                "{}: '{v}' is not an HXL hashtag; write it like #affected+idps+f",
                                node.name
                            ),
                        );
                    }
                }
                "default" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    if let Err(what) = column_applies(&kind, "default") {
                        not_here(self, what);
                    } else if v.contains("${") || v.contains('(') {
                        source.exprs.push(("default", v));
                    } else if !v.is_empty() {
                        node.default = Some(Default::Literal(v));
                    }
                }
                "relevant" | "constraint" | "soft_constraint" | "calculation" | "choice_filter"
                | "repeat_count" => {
                    let Some(v) = self.plain("survey", Some(n), key, cell) else {
                        continue;
                    };
                    let column: &'static str = match key.as_str() {
                        "relevant" => "relevant",
                        "constraint" => "constraint",
                        "soft_constraint" => "soft_constraint",
                        "calculation" => "calculation",
                        "choice_filter" => "choice_filter",
                        _ => "repeat_count",
                    };
                    if let Err(what) = column_applies(&kind, column) {
                        not_here(self, what);
                    } else if !v.is_empty() {
                        source.exprs.push((column, v));
                    }
                }
                _ => {}
            }
        }
        let has_label = !node.label.is_empty() && node.label.texts().any(|t| !t.is_empty());
        if kind.is_visible() && !has_label && node.hint.is_empty() {
            self.err(
                "survey",
                Some(n),
                Some("label"),
                Some(source.line),
                format!(
                    "{}: the question has no label; write what the enumerator should ask",
                    node.name
                ),
            );
        }
        let has_calculation = source.exprs.iter().any(|(c, _)| *c == "calculation");
        if kind == Kind::Calculate && !has_calculation {
            self.err(
                "survey",
                Some(n),
                Some("calculation"),
                Some(source.line),
                format!(
                    "{}: a calculate row needs a calculation; add calculation = \"...\"",
                    node.name
                ),
            );
        }
    }
}
