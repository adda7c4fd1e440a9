//! The entity operation a record carries (XLSForm's `entities` sheet,
//! worked out from the answers as ODK does at submission): create or
//! update, the entity's id, label, base version and the properties
//! `save_to` fills; and what the list holds for a question that saves to
//! the entity being updated (last round's value, shown beside it).

use super::{Pos, Session};
use crate::form::eval::eval;
use crate::form::expr::{Expr, Func};
use crate::record::{EntityAction, EntityOp};

impl Session {
    /// What this record does to the form's entity list, if anything: a
    /// create when `create_if` holds (or always, for a form that only
    /// creates), an update when `update_if` holds (or always with an
    /// `entity_id` alone) and the id is given. When both hold, an update
    /// if the list the laptop holds has the id, else a create (fieldkit's
    /// choice; ODK leaves it to the server). A create without an id gets
    /// a new UUID, the same for the whole session.
    pub fn entity_op(&self) -> Option<EntityOp> {
        let decl = self.form.entity.as_ref()?;
        let ctx = self.ctx(&[], None);
        let text = |e: &Option<Expr>| e.as_ref().map(|e| eval(e, &ctx).into_string());
        let holds = |e: &Option<Expr>| e.as_ref().is_none_or(|e| eval(e, &ctx).to_bool());
        let given = text(&decl.entity_id).unwrap_or_default().trim().to_string();
        let list = self.form.instance(&decl.list);
        let existing = list
            .and_then(|l| l.by_key("name"))
            .and_then(|index| index.get(&given).and_then(|items| items.first().copied()));
        let create = decl.creates && holds(&decl.create_if);
        let update = decl.updates && holds(&decl.update_if) && !given.is_empty();
        let action = match (create, update) {
            (true, true) if existing.is_some() => EntityAction::Update,
            (true, _) => EntityAction::Create,
            (false, true) => EntityAction::Update,
            (false, false) => return None,
        };
        let id = if given.is_empty() {
            eval(&Expr::Call(Func::Uuid, Vec::new()), &ctx).into_string()
        } else {
            given
        };
        let base_version = match (action, list, existing) {
            (EntityAction::Update, Some(l), Some(i)) => l
                .value_of(i, "__version")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            _ => None,
        };
        let label = text(&decl.label).filter(|l| action == EntityAction::Create || !l.is_empty());
        let mut properties = serde_json::Map::new();
        for (node, property) in &decl.saves {
            let pos = Pos {
                path: Vec::new(),
                node: *node,
            };
            if self.is_relevant(&pos) {
                properties.insert(property.clone(), self.raw_value(&pos).to_string().into());
            }
        }
        Some(EntityOp {
            list: decl.list.clone(),
            id,
            action,
            label,
            base_version,
            properties,
        })
    }

    /// What the entity list holds for this question's property when the
    /// record updates an entity the list has (a question with `save_to`):
    /// last round's value, and when it was last changed (`__updatedAt`,
    /// if the list says). None for any other question.
    pub fn last_round(&self, pos: &Pos) -> Option<LastRound> {
        let decl = self.form.entity.as_ref()?;
        let (_, property) = decl.saves.iter().find(|(node, _)| *node == pos.node)?;
        let id = decl.entity_id.as_ref()?;
        let id = eval(id, &self.ctx(&[], None)).into_string();
        let list = self.form.instance(&decl.list)?;
        let index = list.by_key("name")?;
        let item = *index.get(id.trim())?.first()?;
        let value = list.value_of(item, property)?.to_string();
        let when = list
            .value_of(item, "__updatedAt")
            .unwrap_or_default()
            .to_string();
        Some(LastRound { value, when })
    }
}

/// A question's value as the entity list holds it (last round's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRound {
    pub value: String,
    /// When it was last changed, as the list gives it (may be empty).
    pub when: String,
}
