//! Navigation: the pages an enumerator sees (a question, a field-list
//! group, "add another?" after a repeat) in document order over the
//! relevant questions, and the step forward or back from one page.

use super::{Pos, Screen, Session};
use crate::form::model::{Kind, NodeId};

impl Session {
    /// Calls `f` for every relevant node in document order, descending into
    /// groups and every repeat instance.
    pub(super) fn walk(&self, f: &mut impl FnMut(&Pos, Walk)) {
        self.walk_children(&self.form.top, &[], f);
    }

    pub(super) fn walk_children(
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Walk {
    Enter,
    Leave,
    Field,
}
