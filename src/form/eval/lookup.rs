//! Lookups in data instances: `pulldata('list', 'prop', 'keycol', value)`
//! and `instance('list')/root/item[filter]/prop`. Values are strings, as
//! in ODK (arithmetic converts them). A filter `column = expr` goes
//! through the list's index of that column (`ChoiceList::by_key`, built
//! once and shared by every evaluation), so a lookup costs one hash probe
//! whatever the list's length; any other filter is evaluated per item.

use super::{Scope, XVal, eval, number_to_string};
use crate::form::dates::DateTime;
use crate::form::expr::{BinOp, Expr, InstancePath};
use crate::form::model::{ChoiceList, NodeId};

/// `pulldata('list', 'prop', 'keycol', value)`: `prop` of the first item
/// whose `keycol` is `value`, else an empty string.
pub(super) fn pulldata(args: &[Expr], scope: &impl Scope) -> XVal {
    let text = |i: usize| {
        args.get(i)
            .map_or_else(String::new, |a| eval(a, scope).into_string())
    };
    let (id, prop, key_column) = (text(0), text(1), text(2));
    let key = key_text(
        args.get(3)
            .map_or(XVal::Str(String::new()), |a| eval(a, scope)),
    );
    let Some(list) = scope.instance(id.trim()) else {
        return XVal::Str(String::new());
    };
    let found = list
        .by_key(key_column.trim())
        .and_then(|index| index.get(&key).and_then(|items| items.first().copied()))
        .and_then(|i| list.value_of(i, prop.trim()));
    XVal::Str(found.unwrap_or("").to_string())
}

/// A value compared with a column: a string as it is, a number in its
/// XPath string form.
fn key_text(value: XVal) -> String {
    match value {
        XVal::Num(n) => number_to_string(n),
        other => other.into_string(),
    }
}

/// `instance('list')/root/item[filter]/prop`: the `prop` of every item
/// the filter keeps (a node-set: compared, counted and summed as XPath
/// does; its string value is the first).
pub(super) fn instance_path(path: &InstancePath, scope: &impl Scope) -> XVal {
    let Some(list) = scope.instance(&path.id) else {
        return XVal::Set(Vec::new());
    };
    let items: Vec<usize> = match &path.filter {
        None => (0..list.choices.len()).collect(),
        Some(filter) => match indexed(filter) {
            Some((column, key)) => {
                let Some(index) = list.by_key(column) else {
                    return XVal::Set(Vec::new());
                };
                let keys = match eval(key, scope) {
                    XVal::Set(values) => values,
                    other => vec![key_text(other)],
                };
                let mut items: Vec<usize> = keys
                    .iter()
                    .filter_map(|k| index.get(k))
                    .flatten()
                    .copied()
                    .collect();
                if keys.len() > 1 {
                    items.sort_unstable();
                    items.dedup();
                }
                items
            }
            None => {
                let outer: &dyn Scope = scope;
                (0..list.choices.len())
                    .filter(|&item| {
                        let here = Item { outer, list, item };
                        eval(filter, &here).to_bool()
                    })
                    .collect()
            }
        },
    };
    let column = path.prop.as_deref().unwrap_or("name");
    XVal::Set(
        items
            .into_iter()
            .filter_map(|i| list.value_of(i, column).map(str::to_string))
            .collect(),
    )
}

/// `column = expr` (either way round) where `expr` reads no column of the
/// item: a filter that can go through an index.
pub(crate) fn indexed(filter: &Expr) -> Option<(&str, &Expr)> {
    let Expr::Binary(BinOp::Eq, a, b) = filter else {
        return None;
    };
    let reads_column = |x: &Expr| {
        let mut found = false;
        x.walk(&mut |s| found |= matches!(s, Expr::Column(_) | Expr::Current));
        found
    };
    match (a.as_ref(), b.as_ref()) {
        (Expr::Column(c), other) | (other, Expr::Column(c)) if !reads_column(other) => {
            Some((c, other))
        }
        _ => None,
    }
}

/// The scope of a filter evaluated on one item: bare names are the
/// item's columns; everything else is the scope the path is in.
struct Item<'a> {
    outer: &'a dyn Scope,
    list: &'a ChoiceList,
    item: usize,
}

impl Scope for Item<'_> {
    fn field(&self, node: NodeId) -> XVal {
        self.outer.field(node)
    }
    fn current(&self) -> XVal {
        // `.` in a filter is the item: its name.
        XVal::Str(self.list.value_of(self.item, "name").unwrap_or("").into())
    }
    fn position(&self) -> Option<usize> {
        self.outer.position()
    }
    fn column(&self, name: &str) -> XVal {
        match self.list.value_of(self.item, name) {
            Some(v) => XVal::Str(v.to_string()),
            None => XVal::Set(Vec::new()),
        }
    }
    fn choice_label(&self, field: &str, value: &str) -> String {
        self.outer.choice_label(field, value)
    }
    fn now(&self) -> DateTime {
        self.outer.now()
    }
    fn indexed_repeat(&self, field: NodeId, at: &[(NodeId, usize)]) -> XVal {
        self.outer.indexed_repeat(field, at)
    }
    fn regex_match(&self, text: &str, pattern: &str) -> bool {
        self.outer.regex_match(text, pattern)
    }
    fn too_long(&self) {
        self.outer.too_long()
    }
    fn random_bits(&self) -> u64 {
        self.outer.random_bits()
    }
    fn instance(&self, id: &str) -> Option<&ChoiceList> {
        self.outer.instance(id)
    }
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
