//! The scope expressions are evaluated in: a session seen from one repeat
//! instance, the question being checked and the choice being filtered,
//! with `${name}` looked up as one value or as a set across repeats.

use std::cell::Cell;

use super::{Instance, Session};
use crate::form::dates::DateTime;
use crate::form::eval::XVal;
use crate::form::model::{ChoiceList, Kind, NodeId};

impl Session {
    pub(super) fn ctx<'a>(
        &'a self,
        path: &'a [(NodeId, usize)],
        current: Option<NodeId>,
    ) -> Ctx<'a> {
        Ctx {
            s: self,
            path,
            current,
            choice: None,
            overflow: Cell::new(false),
            draws: Cell::new(0),
        }
    }

    /// `${node}` seen from the instance at `path`: one value, or a set when
    /// the node repeats beyond it.
    pub(super) fn lookup(&self, node: NodeId, path: &[(NodeId, usize)]) -> XVal {
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
}

/// The scope expressions are evaluated in: a repeat instance, the question
/// being checked, and the choice being filtered.
pub(super) struct Ctx<'a> {
    pub(super) s: &'a Session,
    pub(super) path: &'a [(NodeId, usize)],
    pub(super) current: Option<NodeId>,
    pub(super) choice: Option<(&'a ChoiceList, usize)>,
    /// Set when a string would have gone over [`MAX_TEXT_BYTES`](crate::form::limits::MAX_TEXT_BYTES).
    pub(super) overflow: Cell<bool>,
    /// `random()` and `uuid()` calls made in this evaluation.
    pub(super) draws: Cell<u64>,
}

/// SplitMix64's finaliser: spreads any change of its input over all bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl crate::form::eval::Scope for Ctx<'_> {
    fn random_bits(&self) -> u64 {
        let draw = self.draws.get();
        self.draws.set(draw + 1);
        let mut h = mix(self.s.env.seed);
        h = mix(h ^ self.current.map_or(u64::MAX, |n| n as u64));
        for &(repeat, i) in self.path {
            h = mix(h ^ ((repeat as u64) << 32 | i as u64));
        }
        mix(h ^ draw)
    }

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
        if let Some(lang) = name.strip_prefix("label::") {
            // `label::English`: the choice's label in that language.
            return XVal::Str(choice.label.get(Some(lang), None).unwrap_or("").to_string());
        }
        XVal::Str(match name {
            "name" => choice.name.clone(),
            "label" => self.s.text(&choice.label).unwrap_or("").to_string(),
            other => match list.column(other) {
                Some(c) => choice.columns.get(c).cloned().unwrap_or_default(),
                // A column the list lacks is an empty node-set in ODK:
                // every comparison with it is false.
                None => return XVal::Set(Vec::new()),
            },
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

    fn instance(&self, id: &str) -> Option<&ChoiceList> {
        self.s.form.instance(id)
    }
}
