//! The `entities` sheet (`[entities]` in TOML) and the `save_to` column,
//! read and checked as pyxform checks them (pyxform/entities/
//! entities_parsing.py): one entity per form, `list_name` a valid name
//! without a period or the reserved `__` prefix, `update_if` only with
//! `entity_id`, `create_if` with `entity_id` only beside `update_if`, a
//! `label` to create, `save_to` neither on a group or repeat nor `name`,
//! `label` or `__...`. Entities declared in a repeat are refused by name.

use std::collections::HashMap;

use super::choices::instance_ids;
use super::resolve::Resolver;
use super::{Loader, Row, RowSource, valid_name};
use crate::form::entities::Declaration;
use crate::form::error::FormError;
use crate::form::expr::Expr;
use crate::form::model::Kind;

const COLUMNS: &[&str] = &["list_name", "entity_id", "create_if", "update_if", "label"];

impl Loader {
    pub(super) fn entities(
        &mut self,
        row: Option<&Row>,
        resolver: &mut Resolver,
        sources: &[RowSource],
    ) -> Option<Declaration> {
        let saves = self.save_to(resolver, sources, row.is_some());
        let row = row?;
        let mut cells: HashMap<&str, (String, usize)> = HashMap::new();
        for (key, cell) in row {
            let line = self.line(cell.span().start);
            if key == "repeat" {
                self.err(
                    "entities",
                    Some(1),
                    Some(key),
                    Some(line),
                    "entities made in a repeat (one per repeat instance) are not supported by \
                     fieldkit; declare one entity per record, without the repeat column",
                );
                continue;
            }
            let Some(&column) = COLUMNS.iter().find(|c| **c == key) else {
                self.err(
                    "entities",
                    Some(1),
                    Some(key),
                    Some(line),
                    format!(
                        "the entities sheet has the column '{key}', which XLSForm does not \
                         define; its columns are {}. Check the spelling or remove it",
                        COLUMNS.join(", ")
                    ),
                );
                continue;
            };
            if let Some(v) = self.plain("entities", Some(1), key, cell)
                && !v.is_empty()
            {
                cells.insert(column, (v, line));
            }
        }
        let Some((list, list_line)) = cells.get("list_name").cloned() else {
            self.err(
                "entities",
                Some(1),
                Some("list_name"),
                None,
                "the entities sheet needs a list_name: the entity list the form creates or \
                 updates entities of",
            );
            return None;
        };
        let bad_name = if list.starts_with("__") {
            Some("starts with the reserved prefix __")
        } else if list.contains('.') {
            Some("holds a period")
        } else if !valid_name(&list) {
            Some(
                "does not start with a letter or '_', or holds other characters than letters, digits, '_' and '-'",
            )
        } else {
            None
        };
        if let Some(why) = bad_name {
            self.err(
                "entities",
                Some(1),
                Some("list_name"),
                Some(list_line),
                format!("the entity list name '{list}' {why}; rename the list"),
            );
        }
        let has = |c: &str| cells.contains_key(c);
        let rule = if has("update_if") && !has("entity_id") {
            Some("update_if needs an entity_id column: the entity to update")
        } else if has("entity_id") && has("create_if") && !has("update_if") {
            Some(
                "an entity_id with create_if needs update_if too (which records create and which \
                 update)",
            )
        } else if !has("entity_id") && !has("label") {
            Some("the entities sheet needs a label column to create entities")
        } else {
            None
        };
        if let Some(why) = rule {
            self.err("entities", Some(1), None, Some(list_line), why);
        }
        let mut expr = |this: &mut Self, column: &'static str| {
            let (text, line) = cells.get(column)?;
            match resolver.expression(usize::MAX, column, text) {
                Ok(e) => {
                    // A list only this sheet reads was not gathered with
                    // the survey's: it must be one the survey reads.
                    let mut ids = Vec::new();
                    instance_ids(&e, &mut ids);
                    if let Some(id) = ids.iter().find(|id| !resolver.instances.contains_key(*id)) {
                        this.err(
                            "entities",
                            Some(1),
                            Some(column),
                            Some(*line),
                            format!(
                                "{column} reads the list '{id}', which the survey does not: add a \
                                 csv-external row named {id} (its CSV {id}.csv beside the form)"
                            ),
                        );
                        return None;
                    }
                    Some(e)
                }
                // A bare name is a path to nothing in ODK: empty, as
                // pyxform lets it pass; said in a warning.
                Err(_) if matches!(crate::form::expr::parse(text), Ok(Expr::Column(_))) => {
                    this.warnings.push(FormError {
                        path: this.path.clone(),
                        sheet: "entities",
                        row: Some(1),
                        column: Some(column.into()),
                        line: Some(*line),
                        message: format!(
                            "{column} '{text}' is a bare name, which ODK reads as an empty \
                             path: it is empty. Write concat('{text}') for a fixed text, or \
                             ${{field}} for a field's value"
                        ),
                    });
                    Some(Expr::Str(String::new()))
                }
                Err(msg) => {
                    this.err("entities", Some(1), Some(column), Some(*line), msg);
                    None
                }
            }
        };
        let entity_id = expr(self, "entity_id");
        let create_if = expr(self, "create_if");
        let update_if = expr(self, "update_if");
        let label = expr(self, "label");
        Some(Declaration {
            creates: has("create_if") || (!has("update_if") && !has("entity_id")),
            updates: has("update_if") || has("entity_id"),
            list,
            entity_id,
            create_if,
            update_if,
            label,
            saves,
        })
    }

    /// The `save_to` cells, checked: (question, property).
    fn save_to(
        &mut self,
        resolver: &Resolver,
        sources: &[RowSource],
        declared: bool,
    ) -> Vec<(usize, String)> {
        let mut saves: Vec<(usize, String)> = Vec::new();
        for (id, source) in sources.iter().enumerate() {
            let Some(property) = &source.save_to else {
                continue;
            };
            let node = &resolver.nodes[id];
            let line = source.lines.get("save_to").copied();
            let lower = property.to_lowercase();
            let mut in_repeat = false;
            let mut at = node.parent;
            while let Some(p) = at {
                in_repeat |= resolver.nodes[p].kind == Kind::Repeat;
                at = resolver.nodes[p].parent;
            }
            let problem = if !declared {
                Some("saves to an entity property, but the form declares no entity: add an entities sheet ([entities] in TOML)".to_string())
            } else if matches!(node.kind, Kind::Group | Kind::Repeat) {
                Some("is a group or repeat, which cannot be saved as an entity property".into())
            } else if in_repeat {
                Some("is in a repeat; fieldkit saves entity properties only from questions outside repeats".into())
            } else if lower == "name" || lower == "label" {
                Some(format!(
                    "saves to '{property}', a reserved entity property name"
                ))
            } else if property.starts_with("__") {
                Some(format!(
                    "saves to '{property}', which starts with the reserved prefix __"
                ))
            } else if !valid_name(property) {
                Some(format!(
                    "saves to '{property}', which is not a valid property name (a letter or '_' first, then letters, digits, '_', '-' or '.')"
                ))
            } else if let Some((other, _)) = saves.iter().find(|(_, p)| p == property) {
                Some(format!(
                    "saves to '{property}', as survey row {} does already; save each property from one question",
                    resolver.nodes[*other].row
                ))
            } else {
                None
            };
            match problem {
                Some(why) => self.err(
                    "survey",
                    Some(node.row),
                    Some("save_to"),
                    line,
                    format!("{}: {why}", node.name),
                ),
                None => saves.push((id, property.clone())),
            }
        }
        saves
    }
}
