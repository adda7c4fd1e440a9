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
pub struct Visit {
    pub list: String,
    pub name: String,
    pub enumerator: String,
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

/// One assignment and what became of it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Row {
    pub enumerator_id: String,
    pub list: String,
    pub name: String,
    pub label: String,
    pub area: String,
    /// "visited", "visited by another" or "not visited".
    pub status: &'static str,
    pub visited_by: Vec<String>,
}

/// An entity's label and area (its `adm2`, else its `adm1`) as `lists`
/// hold them (empty and "(none)" when they do not).
pub fn describe(lists: &Lists, list: &str, name: &str) -> (String, String) {
    let Some((label, props)) = lists.entity(list, name) else {
        return (String::new(), "(none)".into());
    };
    let area = ["adm2", "adm1"]
        .iter()
        .find_map(|k| props.get(*k).filter(|v| !v.is_empty()))
        .cloned()
        .unwrap_or_else(|| "(none)".into());
    (label.to_string(), area)
}

/// Each assignment with what became of it, and the counts.
pub fn compute(
    assignments: &[Assignment],
    visits: &[Visit],
    lists: &Lists,
) -> (Vec<Row>, Coverage) {
    let mut who: HashMap<(&str, &str), BTreeSet<&str>> = HashMap::new();
    for v in visits {
        who.entry((v.list.as_str(), v.name.as_str()))
            .or_default()
            .insert(v.enumerator.as_str());
    }
    let mut coverage = Coverage::default();
    let mut rows = Vec::with_capacity(assignments.len());
    for a in assignments {
        let visitors = who.get(&(a.list.as_str(), a.name.as_str()));
        let by_them = visitors.is_some_and(|v| v.contains(a.enumerator_id.as_str()));
        let status = match visitors {
            _ if by_them => "visited",
            Some(_) => "visited by another",
            None => "not visited",
        };
        let (label, area) = describe(lists, &a.list, &a.name);
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
        rows.push(Row {
            enumerator_id: a.enumerator_id.clone(),
            list: a.list.clone(),
            name: a.name.clone(),
            label,
            area,
            status,
            visited_by: visitors
                .into_iter()
                .flatten()
                .map(|v| v.to_string())
                .collect(),
        });
    }
    let assigned: BTreeSet<(&str, &str)> = assignments
        .iter()
        .map(|a| (a.list.as_str(), a.name.as_str()))
        .collect();
    coverage.unassigned_visits = who.keys().filter(|k| !assigned.contains(*k)).count();
    (rows, coverage)
}

/// Works out coverage and writes `coverage.csv`.
pub(super) fn write(
    out: &Path,
    assignments: &[Assignment],
    visits: &[Visit],
    lists: &Lists,
) -> Result<Coverage, AggregateError> {
    let (rows, coverage) = compute(assignments, visits, lists);
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
    for r in &rows {
        csv.write_record([
            r.enumerator_id.as_str(),
            &r.list,
            &r.name,
            &r.label,
            &r.area,
            r.status,
            &r.visited_by.join(" "),
        ])
        .map_err(failed)?;
    }
    csv.flush().map_err(|e| AggregateError::write(&path, e))?;
    Ok(coverage)
}
