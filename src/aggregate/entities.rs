//! Entity lists after a round (XLSForm's `entities` sheet, ODK Entities):
//! last round's lists (`aggregate --entities DIR`: the CSVs the round pack
//! carried) with this round's creates and updates applied in the order
//! their records were finalized, written to `entities/<list>.csv` in the
//! shape `pack build --entities` takes (`name`, `label`, `__version`,
//! `__updatedAt`, then the properties, as ODK Central names them), so the
//! next round's pack is built from this round's output, and a form shows
//! last round's value and when it was given. Each entity keeps its latest
//! version; `__version` counts its changes, `__updatedAt` is when the
//! record that last changed it was finalized. What does not add up is
//! named, never guessed:
//! - a create of an entity the list already has: left as it was;
//! - an update of an entity last round's list does not have: not applied
//!   (without last round's list, an update is written as the record gives
//!   it: the entity's other properties are not known here);
//! - an update made from an older version than the list's (two teams
//!   updated the same site): applied in finalized order, as ODK Central
//!   applies offline updates, and the conflict named.
//!
//! Only records that went into the tables count (a record in conflict
//! counts with the version the tables hold).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::error::AggregateError;
use super::output::under;
use crate::record::{EntityAction, EntityOp};

/// Largest entity list read from last round (bytes): a list of 100,000
/// sites is a few MB.
const MAX_LIST_BYTES: u64 = 64 * 1024 * 1024;

/// One record's entity operation, as the merge takes it.
#[derive(Debug, Clone)]
pub(super) struct Change {
    pub(super) op: EntityOp,
    pub(super) record_id: String,
    pub(super) finalized_at: String,
    /// Who made the record (the bundle's signer).
    pub(super) enumerator: String,
}

/// What was written for one entity list.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ListWritten {
    pub list: String,
    pub file: String,
    /// Entities in the list written.
    pub entities: usize,
    /// From last round's list, when one was given.
    pub from_last_round: usize,
    pub created: usize,
    pub updated: usize,
}

/// One entity as the list holds it.
#[derive(Debug, Clone)]
struct Entity {
    name: String,
    label: String,
    version: u64,
    /// When the record that last changed it was finalized.
    updated: String,
    properties: HashMap<String, String>,
}

/// An entity list: its property columns in order, its entities in order.
#[derive(Debug, Default)]
struct List {
    columns: Vec<String>,
    entities: Vec<Entity>,
    by_name: HashMap<String, usize>,
}

impl List {
    fn column(&mut self, name: &str) {
        if !self.columns.iter().any(|c| c == name) {
            self.columns.push(name.to_string());
        }
    }

    fn insert(&mut self, entity: Entity) {
        self.by_name
            .insert(entity.name.clone(), self.entities.len());
        self.entities.push(entity);
    }

    /// A new entity as an operation gives it.
    fn add(&mut self, op: &EntityOp, version: u64, updated: String) {
        for name in op.properties.keys() {
            self.column(name);
        }
        self.insert(Entity {
            name: op.id.clone(),
            label: op.label.clone().unwrap_or_default(),
            version,
            updated,
            properties: op
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), cell(v)))
                .collect(),
        });
    }
}

/// Reads last round's list `<list>.csv`: `name` required and unique,
/// `label` and `__version` if present, every other column a property.
fn read_list(path: &Path) -> Result<List, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?
        .len();
    if size > MAX_LIST_BYTES {
        return Err(format!(
            "{shown} is {size} bytes, over the {MAX_LIST_BYTES} bytes an entity list may have"
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{shown}: {e}"))?
        .clone();
    let at = |name: &str| headers.iter().position(|h| h.trim() == name);
    let name_at =
        at("name").ok_or_else(|| format!("{shown} has no 'name' column (each entity's id)"))?;
    let (label_at, version_at, updated_at) = (at("label"), at("__version"), at("__updatedAt"));
    let own = [Some(name_at), label_at, version_at, updated_at];
    let mut list = List::default();
    for (i, h) in headers.iter().enumerate() {
        if !own.contains(&Some(i)) {
            list.column(h.trim());
        }
    }
    for (line, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("{shown}: {e}"))?;
        let name = row.get(name_at).unwrap_or_default().to_string();
        let here = format!("{shown}, row {}", line + 2);
        if name.is_empty() {
            return Err(format!("{here}: an entity without a name"));
        }
        if list.by_name.contains_key(&name) {
            return Err(format!("{here}: the name {name:?} is there twice"));
        }
        let version = match version_at.and_then(|v| row.get(v)).map(str::trim) {
            None | Some("") => 1,
            Some(v) => v
                .parse()
                .map_err(|_| format!("{here}: __version {v:?} is not a whole number"))?,
        };
        let properties = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !own.contains(&Some(*i)))
            .map(|(i, h)| {
                (
                    h.trim().to_string(),
                    row.get(i).unwrap_or_default().to_string(),
                )
            })
            .collect();
        list.insert(Entity {
            name,
            label: label_at
                .and_then(|l| row.get(l))
                .unwrap_or_default()
                .to_string(),
            version,
            updated: updated_at
                .and_then(|u| row.get(u))
                .unwrap_or_default()
                .to_string(),
            properties,
        });
    }
    Ok(list)
}

/// A property's value as a CSV cell: text as it is, anything else as
/// its JSON.
fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Last round's lists, each with what will be said of it, by name.
pub struct Lists(BTreeMap<String, (List, ListWritten)>);

impl Lists {
    /// An entity's label and one of its properties, as the list holds
    /// them (None: no such entity).
    pub fn entity(&self, list: &str, name: &str) -> Option<(&str, &HashMap<String, String>)> {
        let (list, _) = self.0.get(list)?;
        let e = &list.entities[*list.by_name.get(name)?];
        Some((e.label.as_str(), &e.properties))
    }
}

/// Reads last round's lists (`base`: the folder of `<list>.csv` files, if
/// given), before any bundle is read: a list that cannot be read stops the
/// run at once (its entities would be lost from the next round).
pub fn last_round(base: Option<&Path>) -> Result<Lists, AggregateError> {
    let mut lists = BTreeMap::new();
    if let Some(dir) = base {
        let listing = std::fs::read_dir(dir).map_err(|e| AggregateError::Entities {
            why: format!("cannot read the folder {}: {e}", dir.display()),
        })?;
        for file in listing.flatten() {
            let path = file.path();
            let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".csv"))
            else {
                continue;
            };
            let list = read_list(&path).map_err(|why| AggregateError::Entities { why })?;
            let written = ListWritten {
                list: stem.to_string(),
                from_last_round: list.entities.len(),
                ..ListWritten::default()
            };
            lists.insert(stem.to_string(), (list, written));
        }
    }
    Ok(Lists(lists))
}

/// What applying a round's changes gave: the lists as written, what was
/// said of each, and the problems, one line each.
pub(super) struct Applied {
    pub(super) lists: Lists,
    pub(super) written: Vec<ListWritten>,
    pub(super) problems: Vec<String>,
}

/// Applies this round's changes to last round's lists and writes every
/// list to `<out>/entities/` (nothing when there are neither).
pub(super) fn write(
    out: &Path,
    Lists(mut lists): Lists,
    mut changes: Vec<Change>,
) -> Result<Applied, AggregateError> {
    // In the order the records were finalized: the latest change wins.
    changes.sort_by(|a, b| (&a.finalized_at, &a.record_id).cmp(&(&b.finalized_at, &b.record_id)));
    let mut problems = Vec::new();
    let given: std::collections::HashSet<String> = lists.keys().cloned().collect();
    for Change {
        op,
        record_id,
        finalized_at,
        ..
    } in changes
    {
        let (list, counts) = lists.entry(op.list.clone()).or_insert_with(|| {
            let written = ListWritten {
                list: op.list.clone(),
                ..ListWritten::default()
            };
            (List::default(), written)
        });
        let about = format!("entity {} of list {}: record {record_id}", op.id, op.list);
        match (op.action, list.by_name.get(&op.id).copied()) {
            (EntityAction::Create, Some(_)) => problems.push(format!(
                "{about} creates it, but the list has it already; left as it was"
            )),
            (EntityAction::Update, None) if given.contains(&op.list) => problems.push(format!(
                "{about} updates it, but the list does not have it; not applied"
            )),
            // No list of last round: the entity as the update gives it,
            // one version past the one it was made from.
            (EntityAction::Update, None) => {
                let from = op
                    .base_version
                    .as_deref()
                    .and_then(|v| v.parse::<u64>().ok());
                list.add(&op, from.map_or(1, |v| v + 1), finalized_at);
                counts.updated += 1;
            }
            (EntityAction::Create, None) => {
                list.add(&op, 1, finalized_at);
                counts.created += 1;
            }
            (EntityAction::Update, Some(at)) => {
                let entity = &mut list.entities[at];
                if let Some(base) = op.base_version.as_deref()
                    && base != entity.version.to_string()
                {
                    problems.push(format!(
                        "{about} updated it from version {base}, but another update had \
                         brought it to version {}; this later update is applied (check both)",
                        entity.version
                    ));
                }
                if let Some(label) = &op.label {
                    entity.label = label.clone();
                }
                for (k, v) in &op.properties {
                    entity.properties.insert(k.clone(), cell(v));
                }
                entity.version += 1;
                entity.updated = finalized_at;
                for name in op.properties.keys() {
                    list.column(name);
                }
                counts.updated += 1;
            }
        }
    }
    let mut written = Vec::with_capacity(lists.len());
    for (name, (list, counts)) in lists.iter_mut() {
        let path = under(out, &["entities", &format!("{name}.csv")])?;
        let dir = out.join("entities");
        std::fs::create_dir_all(&dir).map_err(|e| AggregateError::write(&dir, e))?;
        write_list(&path, list).map_err(|e| AggregateError::write(&path, e))?;
        counts.entities = list.entities.len();
        counts.file = format!("entities/{name}.csv");
        written.push(counts.clone());
    }
    Ok(Applied {
        lists: Lists(lists),
        written,
        problems,
    })
}

/// Writes one list: `name`, `label`, `__version`, `__updatedAt`, then
/// the properties.
fn write_list(path: &Path, list: &List) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    let mut header = vec!["name", "label", "__version", "__updatedAt"];
    header.extend(list.columns.iter().map(String::as_str));
    w.write_record(&header)?;
    for e in &list.entities {
        let version = e.version.to_string();
        let mut row = vec![
            e.name.as_str(),
            e.label.as_str(),
            version.as_str(),
            e.updated.as_str(),
        ];
        row.extend(
            list.columns
                .iter()
                .map(|c| e.properties.get(c).map_or("", String::as_str)),
        );
        w.write_record(&row)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(
        action: EntityAction,
        id: &str,
        base: Option<&str>,
        props: serde_json::Value,
    ) -> EntityOp {
        EntityOp {
            list: "sites".into(),
            id: id.into(),
            action,
            label: None,
            base_version: base.map(String::from),
            properties: props.as_object().cloned().unwrap_or_default(),
        }
    }

    fn change(at: &str, op: EntityOp) -> Change {
        Change {
            op,
            record_id: format!("r-{at}"),
            finalized_at: at.into(),
            enumerator: "enum-03".into(),
        }
    }

    fn run(base: Option<&str>, changes: Vec<Change>) -> (String, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let last = dir.path().join("last");
        std::fs::create_dir_all(&last).unwrap();
        if let Some(text) = base {
            std::fs::write(last.join("sites.csv"), text).unwrap();
        }
        let lists = last_round(Some(&last)).unwrap();
        let problems = write(dir.path(), lists, changes).unwrap().problems;
        let text =
            std::fs::read_to_string(dir.path().join("entities/sites.csv")).unwrap_or_default();
        (text, problems)
    }

    #[test]
    fn changes_apply_in_finalized_order_and_what_does_not_add_up_is_named() {
        use EntityAction::{Create, Update};
        let base = "name,label,pop\na,Camp A,10\n";
        let (text, problems) = run(
            Some(base),
            vec![
                // Given out of order: applied by finalized time.
                change(
                    "3",
                    op(Update, "a", Some("2"), serde_json::json!({"pop": "30"})),
                ),
                change(
                    "2",
                    op(Update, "a", Some("1"), serde_json::json!({"pop": "20"})),
                ),
                change("4", op(Create, "a", None, serde_json::json!({"pop": "99"}))),
                change(
                    "5",
                    op(Update, "ghost", None, serde_json::json!({"pop": "1"})),
                ),
                change(
                    "6",
                    op(
                        Create,
                        "b",
                        None,
                        serde_json::json!({"pop": "5", "new": "x"}),
                    ),
                ),
                change(
                    "7",
                    op(Update, "b", Some("1"), serde_json::json!({"pop": "6"})),
                ),
                change(
                    "8",
                    op(Update, "b", Some("1"), serde_json::json!({"pop": "7"})),
                ),
            ],
        );
        assert_eq!(
            text,
            "name,label,__version,__updatedAt,pop,new\na,Camp A,3,3,30,\nb,,3,8,7,x\n"
        );
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].contains("entity a of list sites: record r-4 creates it"));
        assert!(problems[1].contains("entity ghost") && problems[1].contains("not applied"));
        assert!(problems[2].contains("record r-8 updated it from version 1"));
    }

    #[test]
    fn a_list_of_last_round_must_be_readable() {
        for (text, why) in [
            ("label\nx\n", "no 'name' column"),
            ("name\na\na\n", "the name \"a\" is there twice"),
            ("name,__version\na,two\n", "is not a whole number"),
            ("name\n\n\"\"\n", "an entity without a name"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("sites.csv"), text).unwrap();
            let Err(e) = last_round(Some(dir.path())) else {
                panic!("{text:?} was read");
            };
            assert!(e.to_string().contains(why), "{e}");
        }
        // Nothing given, nothing changed: nothing written.
        let dir = tempfile::tempdir().unwrap();
        let applied = write(dir.path(), last_round(None).unwrap(), Vec::new()).unwrap();
        assert!(applied.written.is_empty() && applied.problems.is_empty());
        assert!(!dir.path().join("entities").exists());
    }

    #[test]
    fn without_last_rounds_list_an_update_is_written_as_it_is_given() {
        let (text, problems) = run(
            None,
            vec![change(
                "5",
                op(
                    EntityAction::Update,
                    "oak1",
                    Some("3"),
                    serde_json::json!({"cm": "312"}),
                ),
            )],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(text, "name,label,__version,__updatedAt,cm\noak1,,4,5,312\n");
    }
}
