//! Coverage against the round's assignments (`aggregate --assignments
//! FILE`, the file the round pack carried; issue 20 part 4): for every
//! entity assigned, whether its enumerator visited it (a record of theirs
//! created or updated it), someone else did, or nobody did; counted per
//! enumerator and per admin area (the entity's `adm2`, else `adm1`, from
//! its list), and listed row by row in `coverage.csv`. A visit to an
//! entity nobody was assigned is counted too. Nothing here changes data.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;

use super::entities::Lists;
use super::error::AggregateError;
use super::output::under;
use crate::assignments::Assignment;

/// One entity visited: its list, its name, and who visited it.
pub(super) struct Visit {
    pub(super) list: String,
    pub(super) name: String,
    pub(super) enumerator: String,
}

/// Assigned entities by what became of them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub assigned: usize,
    pub visited: usize,
    pub visited_by_another: usize,
    pub not_visited: usize,
}

/// Coverage of the round, as the summary gives it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Coverage {
    pub by_enumerator: BTreeMap<String, Counts>,
    pub by_area: BTreeMap<String, Counts>,
    /// Entities visited that nobody was assigned.
    pub unassigned_visits: usize,
}

/// The area an entity is counted in: its `adm2`, else its `adm1`.
fn area(lists: &Lists, list: &str, name: &str) -> String {
    lists
        .entity(list, name)
        .and_then(|(_, props)| {
            ["adm2", "adm1"]
                .iter()
                .find_map(|k| props.get(*k).filter(|v| !v.is_empty()))
        })
        .cloned()
        .unwrap_or_else(|| "(none)".into())
}

/// Works out coverage and writes `coverage.csv`.
pub(super) fn write(
    out: &Path,
    assignments: &[Assignment],
    visits: &[Visit],
    lists: &Lists,
) -> Result<Coverage, AggregateError> {
    let mut who: HashMap<(&str, &str), BTreeSet<&str>> = HashMap::new();
    for v in visits {
        who.entry((v.list.as_str(), v.name.as_str()))
            .or_default()
            .insert(v.enumerator.as_str());
    }
    let path = under(out, &["coverage.csv"])?;
    let failed = |e: csv::Error| AggregateError::write(&path, std::io::Error::other(e));
    let mut csv = csv::Writer::from_path(&path).map_err(failed)?;
    csv.write_record([
        "enumerator_id",
        "list",
        "name",
        "label",
        "area",
        "status",
        "visited_by",
    ])
    .map_err(failed)?;
    let mut coverage = Coverage::default();
    for a in assignments {
        let visitors = who.get(&(a.list.as_str(), a.name.as_str()));
        let by_them = visitors.is_some_and(|v| v.contains(a.enumerator_id.as_str()));
        let status = match visitors {
            _ if by_them => "visited",
            Some(_) => "visited by another",
            None => "not visited",
        };
        let area = area(lists, &a.list, &a.name);
        for counts in [
            coverage
                .by_enumerator
                .entry(a.enumerator_id.clone())
                .or_default(),
            coverage.by_area.entry(area.clone()).or_default(),
        ] {
            counts.assigned += 1;
            match status {
                "visited" => counts.visited += 1,
                "not visited" => counts.not_visited += 1,
                _ => counts.visited_by_another += 1,
            }
        }
        let label = lists
            .entity(&a.list, &a.name)
            .map_or("", |(label, _)| label);
        let visited_by: Vec<&str> = visitors.into_iter().flatten().copied().collect();
        csv.write_record([
            a.enumerator_id.as_str(),
            &a.list,
            &a.name,
            label,
            &area,
            status,
            &visited_by.join(" "),
        ])
        .map_err(failed)?;
    }
    csv.flush().map_err(|e| AggregateError::write(&path, e))?;
    let assigned: BTreeSet<(&str, &str)> = assignments
        .iter()
        .map(|a| (a.list.as_str(), a.name.as_str()))
        .collect();
    coverage.unassigned_visits = who.keys().filter(|k| !assigned.contains(*k)).count();
    Ok(coverage)
}
