//! Entities, the ODK way: what a form's `entities` sheet declares (the
//! entity list a record creates or updates an entity of, its id, label
//! and conditions, and the answers `save_to` puts in its properties).
//! The loader builds a `Declaration` (`load::entities`); the session
//! works out the operation a record carries (`session::entity`). Owns the
//! declaration only: the operation's JSON layout is `record`'s.

use super::expr::Expr;

/// The `entities` sheet of a form (one row, as pyxform takes it).
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    /// The entity list (`list_name`): a CSV `list_name.csv` carries it.
    pub list: String,
    /// `entity_id`: the entity a record updates (or creates with that id).
    pub entity_id: Option<Expr>,
    pub create_if: Option<Expr>,
    pub update_if: Option<Expr>,
    /// The entity's label (`label`): needed to create one.
    pub label: Option<Expr>,
    /// Whether a record may create an entity: `create_if` is given, or
    /// neither `update_if` nor `entity_id` is (pyxform's rule).
    pub creates: bool,
    /// Whether a record may update one: `update_if` or `entity_id` given.
    pub updates: bool,
    /// The answers saved to the entity's properties: (question's node id,
    /// property). A plain index: the model holds this declaration.
    pub saves: Vec<(usize, String)>,
}
