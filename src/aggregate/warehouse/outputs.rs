//! What a tables run from the warehouse leaves in it besides the records:
//! its change log, checks, conflicts and entity lists as SQL tables, the
//! text of its files (each replaced by the next such run).

use std::path::{Path, PathBuf};

use rusqlite::{TransactionBehavior, params};

use super::{failed, open_for_writing};
use crate::aggregate::error::AggregateError;
use crate::aggregate::summary::Summary;

/// After the tables are written from the warehouse: the run's change log,
/// quality checks, conflicts and entity lists kept in it as well (each
/// replaced by the latest run's, in one transaction), so SQL users find
/// them beside the records: `changes`, `checks`, `conflicts`,
/// `version_conflicts` and `entities_<list>`. Cells are the text of the
/// files, without the CSV's `'` guard.
pub(in crate::aggregate) fn keep_outputs(
    db: &Path,
    out: &Path,
    summary: &Summary,
) -> Result<(), AggregateError> {
    let mut conn = open_for_writing(db)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| failed(db, e))?;
    let old: Vec<String> = {
        let mut q = tx
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND (name IN \
                 ('changes', 'checks', 'conflicts', 'version_conflicts') OR name LIKE 'entities\\_%' \
                 ESCAPE '\\')",
            )
            .map_err(|e| failed(db, e))?;
        q.query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<Result<_, _>>())
            .map_err(|e| failed(db, e))?
    };
    for name in old {
        tx.execute_batch(&format!("DROP TABLE {};", quoted(&name)))
            .map_err(|e| failed(db, e))?;
    }
    for (table, file) in [("changes", "changes.csv"), ("checks", "checks.csv")] {
        let path = out.join(file);
        if path.is_file() {
            csv_into(&tx, db, table, &path, true)?;
        }
    }
    let entities = out.join("entities");
    if let Ok(lists) = std::fs::read_dir(&entities) {
        let mut lists: Vec<PathBuf> = lists.filter_map(|e| e.ok().map(|e| e.path())).collect();
        lists.sort();
        for path in lists {
            let Some(list) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if path.extension().is_some_and(|x| x == "csv") {
                csv_into(&tx, db, &format!("entities_{list}"), &path, false)?;
            }
        }
    }
    tx.execute_batch(
        "CREATE TABLE conflicts (record_id TEXT NOT NULL, bundle_id TEXT NOT NULL);
         CREATE TABLE version_conflicts (record_id TEXT NOT NULL, version INTEGER NOT NULL,
             bundle_id TEXT NOT NULL, problem TEXT NOT NULL);",
    )
    .map_err(|e| failed(db, e))?;
    {
        let mut put = tx
            .prepare("INSERT INTO conflicts VALUES (?1, ?2)")
            .map_err(|e| failed(db, e))?;
        for c in &summary.conflicts {
            for b in &c.bundles {
                put.execute(params![c.record_id, b])
                    .map_err(|e| failed(db, e))?;
            }
        }
        let mut put = tx
            .prepare("INSERT INTO version_conflicts VALUES (?1, ?2, ?3, ?4)")
            .map_err(|e| failed(db, e))?;
        for c in &summary.version_conflicts {
            for b in &c.bundles {
                put.execute(params![c.record_id, c.version, b, c.problem])
                    .map_err(|e| failed(db, e))?;
            }
        }
    }
    tx.commit().map_err(|e| failed(db, e))
}

/// An SQL identifier, quoted.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A CSV file written by this run into a new table of text columns named
/// by its header (`guarded`: its cells carry the `'` guard, taken off).
fn csv_into(
    tx: &rusqlite::Transaction,
    db: &Path,
    table: &str,
    path: &Path,
    guarded: bool,
) -> Result<(), AggregateError> {
    let cannot = |e: csv::Error| failed(db, format!("{}: {e}", path.display()));
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(cannot)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(cannot)?
        .iter()
        .map(|h| h.trim_start_matches('\u{FEFF}').to_string())
        .collect();
    let columns: Vec<String> = header.iter().map(|h| quoted(h)).collect();
    tx.execute_batch(&format!(
        "CREATE TABLE {} ({});",
        quoted(table),
        columns
            .iter()
            .map(|c| format!("{c} TEXT"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .map_err(|e| failed(db, e))?;
    let marks = vec!["?"; columns.len()].join(", ");
    let mut put = tx
        .prepare(&format!("INSERT INTO {} VALUES ({marks})", quoted(table)))
        .map_err(|e| failed(db, e))?;
    for row in reader.records() {
        let row = row.map_err(cannot)?;
        let cells = row.iter().map(|c| {
            if guarded {
                crate::aggregate::tables::unguard(c)
            } else {
                c
            }
        });
        put.execute(rusqlite::params_from_iter(cells))
            .map_err(|e| failed(db, e))?;
    }
    Ok(())
}
