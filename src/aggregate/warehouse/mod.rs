//! The data manager's warehouse (`aggregate --db FILE`): one SQLite file
//! that accumulates every verified bundle, so that a run decrypts only the
//! bundles it has not seen and the tables are written from the warehouse.
//! Owns the schema, taking bundles in (`ingest`: verified first, then
//! every record and attachment decrypted and kept as plaintext, one
//! transaction a bundle, so a run killed at any point leaves each bundle
//! either wholly in or not at all) and giving them back to the pipeline
//! (`load`, `opened`) as if read from their files. What the tables hold is
//! still decided by the pipeline (versions, conflicts, duplicates), from
//! what is kept here, so the tables from a warehouse are the tables from
//! the same bundles given at once.
//!
//! The schema (`PRAGMA user_version` = [`SCHEMA`]):
//! - `bundles`: one row a verified bundle (its manifest hash is unique:
//!   a bundle given again, from any path, is taken once), with who signed
//!   it, its device and sequence, and its signed manifest;
//! - `entries`: every record version (`kind` = 'record': record_id,
//!   form, version, supersedes) and attachment ('media') of each bundle,
//!   its plaintext as decrypted (`plain` = 1), or its sealed bytes when no
//!   identity given opened it (decrypted when the tables are written, if
//!   a later key can);
//! - `forms`, `form_texts`: the forms each bundle carries, each text once;
//! - `records` (a view): every record version decrypted, with who and
//!   when, its JSON in `record` (`json_extract(record, '$.values.x')`);
//! - `receipts`: the supervisors' receipts given with `--receipts` whose
//!   signature checked against the supervisors file (checked again, with
//!   the supervisors file of the day, each time the tables are written);
//! - `files`: the bundle files already taken in, by path, size and
//!   modification time, so a folder of a year's sticks is not read again;
//! - after a run that writes the tables (`--out`), its `changes`,
//!   `checks`, `conflicts`, `version_conflicts` and `entities_<list>`
//!   ([`keep_outputs`]), replaced by each such run.
//!
//! The warehouse holds the records in the clear, as the tables do: keep
//! it where the tables are kept (an encrypted disk).
//!
//! This file owns the schema, opening, and reading bundles back; `intake`
//! takes bundles in, `outputs` keeps a tables run's other files.

mod intake;
mod outputs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};

use super::error::AggregateError;
use super::read::{Body, CarriedForm, Opened, VerifiedBundle};
use super::review::Given;
use super::versions::facts_of;
use super::{Good, Stored};
use crate::bundle::{self, verify};
pub(super) use intake::ingest;
#[cfg(test)]
pub(super) use intake::same_files;
pub(super) use outputs::keep_outputs;

/// The schema's version, in `PRAGMA user_version`; a warehouse of a later
/// schema is refused, never written.
const SCHEMA: i64 = 1;

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS bundles (
    id INTEGER PRIMARY KEY,
    manifest_sha256 TEXT NOT NULL UNIQUE,
    bundle_id TEXT NOT NULL,
    enumerator_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    prev_manifest_sha256 TEXT,
    records INTEGER NOT NULL,
    file TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    manifest BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    bundle INTEGER NOT NULL REFERENCES bundles(id),
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    record_id TEXT NOT NULL,
    form_id TEXT,
    form_version TEXT,
    version INTEGER,
    supersedes INTEGER,
    plain INTEGER NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (bundle, path)
);
CREATE INDEX IF NOT EXISTS entries_record ON entries(record_id, version);
CREATE TABLE IF NOT EXISTS form_texts (
    sha256 TEXT PRIMARY KEY,
    text BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS forms (
    bundle INTEGER NOT NULL REFERENCES bundles(id),
    form_id TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES form_texts(sha256),
    PRIMARY KEY (bundle, form_id, version)
);
CREATE VIEW IF NOT EXISTS records AS
    SELECT e.record_id, e.form_id, e.form_version, e.version, e.supersedes,
        b.enumerator_id, b.device_id, b.bundle_id, b.sequence,
        json_extract(e.body, '$.started') AS started,
        json_extract(e.body, '$.finalized_at') AS finalized_at,
        e.body AS record
    FROM entries e JOIN bundles b ON b.id = e.bundle
    WHERE e.kind = 'record' AND e.plain = 1;
CREATE TABLE IF NOT EXISTS receipts (
    sha256 TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    body BLOB NOT NULL,
    kept_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    bundle INTEGER NOT NULL REFERENCES bundles(id)
);
";

fn failed(file: &Path, e: impl std::fmt::Display) -> AggregateError {
    AggregateError::Warehouse {
        path: file.to_path_buf(),
        why: e.to_string(),
    }
}

/// Opens (or makes) the warehouse for writing.
fn open_for_writing(file: &Path) -> Result<Connection, AggregateError> {
    let conn = Connection::open(file).map_err(|e| {
        failed(
            file,
            format!(
                "cannot open it ({e}); give the path of a file (a new one, or the warehouse) in a \
                 folder you may write"
            ),
        )
    })?;
    // Another run taking bundles in at the same time: wait for it.
    conn.busy_timeout(BUSY).map_err(|e| failed(file, e))?;
    // WAL: readers never wait, and a killed run leaves the last
    // committed bundle in; NORMAL: a power cut may lose the last bundles
    // taken in (taken in again next run), never the file's consistency.
    // Another program's database is not written into: a warehouse has
    // its schema's version from the transaction that made its tables (both
    // read in one statement, so another run making them is seen whole).
    let (version, objects): (i64, i64) = conn
        .query_row(
            "SELECT user_version, (SELECT count(*) FROM sqlite_master) FROM pragma_user_version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| failed(file, not_a_warehouse(e)))?;
    if version == 0 && objects > 0 {
        return Err(failed(
            file,
            "it is an SQLite database of another program, not a fieldkit warehouse; give a new \
             file name or the warehouse's",
        ));
    }
    // 16 KiB pages: a record of 2 KB takes one 4 KiB page alone, and
    // seven share a 16 KiB one (only a new warehouse takes it).
    // Turning WAL on waits for no busy handler: another run doing it at
    // the same moment is waited for here.
    let setup = "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
    let since = std::time::Instant::now();
    while let Err(e) = conn.execute_batch(setup) {
        let busy = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        if !busy || since.elapsed() > BUSY {
            return Err(failed(file, not_a_warehouse(e)));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if version > SCHEMA {
        return Err(failed(
            file,
            format!(
                "it was made by a later fieldkit (schema {version}, this one knows {SCHEMA}); \
                 use that fieldkit, or give another --db file"
            ),
        ));
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {CREATE} PRAGMA user_version = {SCHEMA}; COMMIT;"
    ))
    .map_err(|e| failed(file, not_a_warehouse(e)))?;
    Ok(conn)
}

/// SQLite's "file is not a database", said as what to do.
fn not_a_warehouse(e: rusqlite::Error) -> String {
    format!("{e}: it is not a fieldkit warehouse; give a new file name or the warehouse's")
}

/// Opens the warehouse for reading (each reading thread its own).
fn open_for_reading(file: &Path) -> Result<Connection, AggregateError> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failed(file, e))?;
    conn.busy_timeout(BUSY).map_err(|e| failed(file, e))?;
    Ok(conn)
}

/// How long a run waits for another one writing the same warehouse.
const BUSY: std::time::Duration = std::time::Duration::from_secs(120);

/// A verified bundle as the pipeline knows it.
fn good_of(file: &Path, report: &verify::Report, stored: Option<Stored>) -> Good {
    Good {
        device_id: report.device_id.clone().unwrap_or_default(),
        sequence: report.sequence.unwrap_or(0),
        manifest_sha256: report.manifest_sha256.clone().unwrap_or_default(),
        file: file.to_path_buf(),
        bundle_id: report.bundle_id.clone().unwrap_or_default(),
        enumerator_id: report.enumerator_id.clone().unwrap_or_default(),
        stored,
    }
}

/// Every bundle in the warehouse, as the verify pass would give it: its
/// report (verified when taken in), the forms it carries and what its
/// manifest says of each record's version. Nothing is kept in memory
/// but that: the records are read a bundle at a time ([`opened`]).
pub(super) fn load(db: &Path) -> Result<Vec<VerifiedBundle>, AggregateError> {
    let conn = open_for_reading(db)?;
    let shared: Arc<Path> = Arc::from(db);
    let mut texts: HashMap<String, Vec<u8>> = HashMap::new();
    let mut forms_of: HashMap<i64, Vec<CarriedForm>> = HashMap::new();
    {
        let mut q = conn
            .prepare(
                "SELECT f.bundle, f.form_id, f.version, f.sha256, t.text
                 FROM forms f JOIN form_texts t ON t.sha256 = f.sha256",
            )
            .map_err(|e| failed(db, e))?;
        let rows = q
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })
            .map_err(|e| failed(db, e))?;
        for row in rows {
            let (bundle, form_id, version, sha256, text) = row.map_err(|e| failed(db, e))?;
            let text = texts.entry(sha256.clone()).or_insert(text).clone();
            forms_of.entry(bundle).or_default().push(CarriedForm {
                form_id,
                version,
                sha256,
                text,
            });
        }
    }
    let mut q = conn
        .prepare(
            "SELECT id, manifest_sha256, bundle_id, enumerator_id, device_id, sequence,
                 prev_manifest_sha256, records, file, manifest FROM bundles",
        )
        .map_err(|e| failed(db, e))?;
    let rows = q
        .query_map([], |r| {
            // Verified when it was taken in.
            let mut report = verify::Report::new(&r.get::<_, String>(8)?);
            report.ok = true;
            report.manifest_sha256 = Some(r.get(1)?);
            report.bundle_id = Some(r.get(2)?);
            report.enumerator_id = Some(r.get(3)?);
            report.device_id = Some(r.get(4)?);
            report.sequence = Some(r.get::<_, i64>(5)? as u64);
            report.prev_manifest_sha256 = r.get(6)?;
            report.records = r.get::<_, i64>(7)? as usize;
            Ok((r.get::<_, i64>(0)?, report, r.get::<_, Vec<u8>>(9)?))
        })
        .map_err(|e| failed(db, e))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, report, manifest) = row.map_err(|e| failed(db, e))?;
        let manifest: bundle::Manifest = serde_json::from_slice(&manifest)
            .map_err(|e| failed(db, format!("bundle {id}'s manifest does not read ({e})")))?;
        out.push(VerifiedBundle {
            file: PathBuf::from(&report.file),
            entries: facts_of(&manifest),
            report,
            forms: forms_of.remove(&id).unwrap_or_default(),
            kept: None,
            stored: Some(Stored {
                db: Arc::clone(&shared),
                id,
            }),
        });
    }
    Ok(out)
}

/// A bundle kept in the warehouse, opened as if read from its file: its
/// manifest and every record and attachment, plaintext or sealed.
pub(super) fn opened(good: &Good, stored: &Stored) -> Result<Opened, AggregateError> {
    let db = &stored.db;
    let conn = open_for_reading(db)?;
    let manifest: Vec<u8> = conn
        .query_row(
            "SELECT manifest FROM bundles WHERE id = ?1",
            [stored.id],
            |r| r.get(0),
        )
        .map_err(|e| failed(db, e))?;
    let manifest: bundle::Manifest = serde_json::from_slice(&manifest).map_err(|e| {
        failed(
            db,
            format!("{}: its manifest does not read ({e})", good.bundle_id),
        )
    })?;
    let mut bytes = Vec::new();
    let mut files = HashMap::new();
    let mut q = conn
        .prepare("SELECT path, plain, body FROM entries WHERE bundle = ?1 ORDER BY id")
        .map_err(|e| failed(db, e))?;
    let mut rows = q.query([stored.id]).map_err(|e| failed(db, e))?;
    while let Some(row) = rows.next().map_err(|e| failed(db, e))? {
        let path: String = row.get(0).map_err(|e| failed(db, e))?;
        let plain: bool = row.get(1).map_err(|e| failed(db, e))?;
        let body = row.get_ref(2).map_err(|e| failed(db, e))?;
        let body = body.as_bytes().map_err(|e| failed(db, e))?;
        let at = bytes.len()..bytes.len() + body.len();
        bytes.extend_from_slice(body);
        files.insert(path, Body { at, plain });
    }
    Ok(Opened {
        bytes: Arc::new(bytes),
        manifest,
        files,
    })
}

/// Every receipt the warehouse keeps, as given.
pub(super) fn receipts(db: &Path) -> Result<Vec<Given>, AggregateError> {
    let conn = open_for_reading(db)?;
    let mut q = conn
        .prepare("SELECT file, body FROM receipts ORDER BY file, sha256")
        .map_err(|e| failed(db, e))?;
    q.query_map([], |r| {
        Ok(Given {
            shown: r.get(0)?,
            bytes: r.get(1)?,
        })
    })
    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
    .map_err(|e| failed(db, e))
}
