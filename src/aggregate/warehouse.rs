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
//! - `files`: the bundle files already taken in, by path, size and
//!   modification time, so a folder of a year's sticks is not read again;
//! - after a run that writes the tables (`--out`), its `changes`,
//!   `checks`, `conflicts`, `version_conflicts` and `entities_<list>`
//!   ([`keep_outputs`]), replaced by each such run.
//!
//! The warehouse holds the records in the clear, as the tables do: keep
//! it where the tables are kept (an encrypted disk).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::error::AggregateError;
use super::read::{Body, CarriedForm, Kept, Opened, VerifiedBundle, verify_keeping};
pub use super::summary::Ingested;
use super::summary::Summary;
use super::versions::facts_of;
use super::{Good, Options, Stored, WorkCount};
use crate::bundle::{self, verify};
use crate::crypt;

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
    let conn = Connection::open(file).map_err(|e| failed(file, e))?;
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

/// A bundle file's identity on disk: its path, size and modification
/// time (nanoseconds).
fn on_disk(file: &Path) -> Result<(String, i64, i64), AggregateError> {
    let meta = std::fs::metadata(file).map_err(|source| AggregateError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    Ok((
        path.to_string_lossy().into_owned(),
        meta.len() as i64,
        modified,
    ))
}

/// Takes the bundles not yet in the warehouse in: each verified (as
/// `verify` does), its records and attachments decrypted on every core,
/// and kept in one transaction. Bundles that fail are returned with their
/// reports (kept out, said by the caller); nothing of them is written.
pub(super) fn ingest(
    files: &[PathBuf],
    db: &Path,
    opts: &Options,
    count: &WorkCount,
) -> Result<(Ingested, Vec<verify::Report>), AggregateError> {
    let mut conn = open_for_writing(db)?;
    let mut ingested = Ingested {
        file: db.display().to_string(),
        ..Default::default()
    };
    // Files already taken in, unchanged since: not read at all.
    let mut unseen: Vec<(PathBuf, u64)> = Vec::new();
    {
        let mut known = conn
            .prepare("SELECT 1 FROM files WHERE path = ?1 AND size = ?2 AND modified = ?3")
            .map_err(|e| failed(db, e))?;
        for file in files {
            let (path, size, modified) = on_disk(file)?;
            let seen = known
                .exists(params![path, size, modified])
                .map_err(|e| failed(db, e))?;
            if seen {
                ingested.known_bundles += 1;
            } else {
                unseen.push((file.clone(), size as u64));
            }
        }
    }
    // The others verified a batch at a time (bounded memory) and each
    // new one decrypted on a thread of its own, while this one writes
    // the one before: the cores decrypt while the disk writes.
    let mut refused = Vec::new();
    let identities: Vec<crypt::X25519Identity> = opts
        .identities
        .iter()
        .map(crypt::X25519Identity::new)
        .collect();
    std::thread::scope(|scope| -> Result<(), AggregateError> {
        let (send, steps) = std::sync::mpsc::sync_channel::<Result<Step, AggregateError>>(1);
        let (unseen, identities) = (&unseen, &identities);
        scope.spawn(move || {
            let reader = match open_for_reading(db) {
                Ok(reader) => reader,
                Err(why) => return drop(send.send(Err(why))),
            };
            let keep = BATCH_BYTES.min(opts.keep_bytes);
            for batch in batches(unseen, keep) {
                let t0 = std::time::Instant::now();
                let verified = verify_keeping(&batch, opts, keep, count);
                timing("verify", t0);
                let verified = match verified {
                    Ok(verified) => verified,
                    Err(why) => return drop(send.send(Err(why))),
                };
                for v in verified {
                    // The writer stopped (an error): so does this.
                    if send
                        .send(prepare(&reader, db, v, identities, opts, count))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        for step in steps {
            match step? {
                Step::Refused(report) => refused.push(*report),
                Step::Ready(ready) => {
                    let t0 = std::time::Instant::now();
                    keep(&mut conn, db, *ready, &mut ingested)?;
                    timing("keep", t0);
                }
            }
        }
        Ok(())
    })?;
    let (bundles, records): (i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(records), 0) FROM bundles",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| failed(db, e))?;
    ingested.bundles = bundles as usize;
    ingested.records = records as usize;
    Ok((ingested, refused))
}

/// With FIELDKIT_TIMING set: how long a step took, on stderr.
fn timing(step: &str, since: std::time::Instant) {
    if std::env::var_os("FIELDKIT_TIMING").is_some() {
        crate::say!("timing: {step} {:?}", since.elapsed());
    }
}

/// Bundle bytes verified at once (on every core) and kept for their
/// decryption: many small bundles together, a large one alone. With the
/// bundles being decrypted and written, a run stays under 300 MB.
const BATCH_BYTES: usize = 48 << 20;

/// The files not seen yet, in groups of at most `most` bytes (a file
/// over it alone: read again after its verification, and checked).
fn batches(unseen: &[(PathBuf, u64)], most: usize) -> Vec<Vec<PathBuf>> {
    let mut out: Vec<Vec<PathBuf>> = Vec::new();
    let mut bytes = 0u64;
    for (file, size) in unseen {
        match out.last_mut() {
            Some(last) if bytes + size <= most as u64 => last.push(file.clone()),
            _ => {
                out.push(vec![file.clone()]);
                bytes = 0;
            }
        }
        bytes += size;
    }
    out
}

/// What the decrypting thread passes to the writing one.
enum Step {
    /// A bundle that failed verification: nothing of it is kept.
    Refused(Box<verify::Report>),
    Ready(Box<Ready>),
}

/// A verified bundle: its file on disk and, unless the warehouse has it
/// already, its records and attachments decrypted.
struct Ready {
    file: (String, i64, i64),
    report: verify::Report,
    forms: Vec<CarriedForm>,
    /// None: the warehouse has its manifest already (a copy, or given
    /// twice): only its file is remembered.
    opened: Option<Decrypted>,
}

/// A bundle's signed manifest (parsed and as signed) and its files,
/// decrypted: all that is kept of it (its sealed bytes are let go).
struct Decrypted {
    manifest: bundle::Manifest,
    manifest_bytes: Vec<u8>,
    files: Files,
}

/// Decrypts a verified bundle on every core (unless the warehouse has it
/// already).
fn prepare(
    reader: &Connection,
    db: &Path,
    verified: VerifiedBundle,
    identities: &[crypt::X25519Identity],
    opts: &Options,
    count: &WorkCount,
) -> Result<Step, AggregateError> {
    let VerifiedBundle {
        file,
        report,
        forms,
        kept,
        ..
    } = verified;
    if !report.ok {
        return Ok(Step::Refused(Box::new(report)));
    }
    let on_disk = on_disk(&file)?;
    let sha = report.manifest_sha256.clone().unwrap_or_default();
    let have = reader
        .prepare_cached("SELECT 1 FROM bundles WHERE manifest_sha256 = ?1")
        .and_then(|mut q| q.exists([&sha]))
        .map_err(|e| failed(db, e))?;
    let opened = if have {
        None
    } else {
        // The bundle's bytes: as the verify pass kept them, or read again
        // and checked to be the one verified.
        let good = good_of(&file, &report, None);
        let opened = match kept {
            Some(kept) => opened_from_kept(kept, &good, count)?,
            None => {
                let opened = super::read::open_again(&good, count)?;
                same_files(&opened, &good)?;
                opened
            }
        };
        let t0 = std::time::Instant::now();
        let files = decrypt_all(&opened, identities, opts.threads.max(1), count);
        timing("decrypt", t0);
        let manifest_bytes = opened
            .get(bundle::MANIFEST)
            .map(|(b, _)| b.to_vec())
            .unwrap_or_default();
        Some(Decrypted {
            manifest: opened.manifest,
            manifest_bytes,
            files,
        })
    };
    Ok(Step::Ready(Box::new(Ready {
        file: on_disk,
        report,
        forms,
        opened,
    })))
}

/// One verified bundle into the warehouse, in one transaction (or
/// counted as known when its manifest is there already).
fn keep(
    conn: &mut Connection,
    db: &Path,
    ready: Ready,
    ingested: &mut Ingested,
) -> Result<(), AggregateError> {
    let Ready {
        file: (path, size, modified),
        report,
        forms,
        opened,
    } = ready;
    let sha = report.manifest_sha256.clone().unwrap_or_default();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| failed(db, e))?;
    let have: Option<i64> = tx
        .query_row(
            "SELECT id FROM bundles WHERE manifest_sha256 = ?1",
            [&sha],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| failed(db, e))?;
    let Decrypted {
        manifest,
        manifest_bytes,
        files,
    } = match (have, opened) {
        (Some(id), _) => {
            remember_file(&tx, db, (&path, size, modified), id)?;
            tx.commit().map_err(|e| failed(db, e))?;
            ingested.known_bundles += 1;
            return Ok(());
        }
        (None, Some(both)) => both,
        // Seen by the decrypting thread, gone since: only by another run
        // taking bundles out, which fieldkit never does.
        (None, None) => {
            return Err(failed(db, "a bundle it held is gone; run again"));
        }
    };
    let good = good_of(Path::new(&path), &report, None);
    tx.execute(
        "INSERT INTO bundles (manifest_sha256, bundle_id, enumerator_id, device_id, sequence,
             prev_manifest_sha256, records, file, ingested_at, manifest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            sha,
            good.bundle_id,
            good.enumerator_id,
            good.device_id,
            good.sequence as i64,
            report.prev_manifest_sha256,
            report.records as i64,
            report.file,
            crate::clock::now().to_string(),
            manifest_bytes,
        ],
    )
    .map_err(|e| failed(db, e))?;
    let id = tx.last_insert_rowid();
    {
        let mut put = tx
            .prepare(
                "INSERT INTO entries (bundle, kind, path, record_id, form_id, form_version,
                     version, supersedes, plain, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(|e| failed(db, e))?;
        for (e, (plain, body)) in manifest.entries.iter().zip(&files.records) {
            // A record's plaintext is JSON: kept as text, so that SQLite's
            // json functions read it (the `records` view).
            let body = match std::str::from_utf8(body) {
                Ok(text) if *plain => Value::Text(text.to_string()),
                _ => Value::Blob(body.clone()),
            };
            put.execute(params![
                id,
                "record",
                e.path,
                e.record_id,
                e.form_id,
                e.form_version,
                e.version,
                e.supersedes,
                plain,
                body
            ])
            .map_err(|e| failed(db, e))?;
        }
        for (m, (plain, body)) in manifest.media.iter().zip(&files.media) {
            put.execute(params![
                id,
                "media",
                m.path,
                m.record_id,
                None::<String>,
                None::<String>,
                None::<u32>,
                None::<u32>,
                plain,
                body
            ])
            .map_err(|e| failed(db, e))?;
        }
        let mut text = tx
            .prepare("INSERT OR IGNORE INTO form_texts (sha256, text) VALUES (?1, ?2)")
            .map_err(|e| failed(db, e))?;
        let mut form = tx
            .prepare("INSERT INTO forms (bundle, form_id, version, sha256) VALUES (?1, ?2, ?3, ?4)")
            .map_err(|e| failed(db, e))?;
        for f in &forms {
            text.execute(params![f.sha256, f.text])
                .map_err(|e| failed(db, e))?;
            form.execute(params![id, f.form_id, f.version, f.sha256])
                .map_err(|e| failed(db, e))?;
        }
    }
    remember_file(&tx, db, (&path, size, modified), id)?;
    tx.commit().map_err(|e| failed(db, e))?;
    ingested.new_bundles += 1;
    ingested.new_records += files.records.len();
    ingested.new_attachments += files.media.len();
    ingested.sealed += files
        .records
        .iter()
        .chain(&files.media)
        .filter(|(plain, _)| !plain)
        .count();
    Ok(())
}

/// A bundle file taken in (or found to be in): not read again while it is
/// unchanged.
fn remember_file(
    tx: &rusqlite::Transaction,
    db: &Path,
    (path, size, modified): (&str, i64, i64),
    bundle: i64,
) -> Result<(), AggregateError> {
    tx.execute(
        "INSERT OR REPLACE INTO files (path, size, modified, bundle) VALUES (?1, ?2, ?3, ?4)",
        params![path, size, modified, bundle],
    )
    .map_err(|e| failed(db, e))?;
    Ok(())
}

/// A bundle read again after its verification (too large to keep): each
/// record and attachment must be the bytes its signed manifest names (a
/// stick may change under us).
pub(super) fn same_files(opened: &Opened, good: &Good) -> Result<(), AggregateError> {
    let named = opened
        .manifest
        .entries
        .iter()
        .map(|e| (&e.path, &e.sha256))
        .chain(opened.manifest.media.iter().map(|m| (&m.path, &m.sha256)));
    for (path, sha256) in named {
        match opened.get(path) {
            Some((data, _)) if crypt::sha256_hex(data) == *sha256 => {}
            _ => return Err(super::read::changed(good)),
        }
    }
    Ok(())
}

/// The verify pass's bytes of a bundle, opened by name.
fn opened_from_kept(kept: Kept, good: &Good, count: &WorkCount) -> Result<Opened, AggregateError> {
    let Kept {
        bytes, manifest, ..
    } = kept;
    WorkCount::count(&count.archive_parses);
    let entries = bundle::archive::read_verified(&bytes).map_err(|_| super::read::changed(good))?;
    let base = bytes.as_ptr() as usize;
    let files = entries
        .into_iter()
        .map(|e| {
            let start = e.data.as_ptr() as usize - base;
            let at = start..start + e.data.len();
            (e.name, Body { at, plain: false })
        })
        .collect();
    Ok(Opened {
        bytes,
        manifest,
        files,
    })
}

/// A bundle's records and attachments, each (plaintext?, bytes):
/// decrypted where an identity opens it, else kept sealed.
struct Files {
    records: Vec<(bool, Vec<u8>)>,
    media: Vec<(bool, Vec<u8>)>,
}

fn decrypt_all(
    opened: &Opened,
    identities: &[crypt::X25519Identity],
    threads: usize,
    count: &WorkCount,
) -> Files {
    let names: Vec<&str> = opened
        .manifest
        .entries
        .iter()
        .map(|e| e.path.as_str())
        .chain(opened.manifest.media.iter().map(|m| m.path.as_str()))
        .collect();
    let chunk = names.len().div_ceil(threads).max(1);
    let mut all: Vec<(bool, Vec<u8>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|name| match opened.plaintext(name, identities, count) {
                            Some(Ok(plain)) => (true, plain),
                            // Verified, so present; sealed to a key not
                            // given: kept as it is.
                            _ => (
                                false,
                                opened
                                    .get(name)
                                    .map(|(b, _)| b.to_vec())
                                    .unwrap_or_default(),
                            ),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let media = all.split_off(opened.manifest.entries.len().min(all.len()));
    Files {
        records: all,
        media,
    }
}

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
            let mut report = verify::Report::refused(&r.get::<_, String>(8)?, "");
            report.problems.clear();
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

/// After the tables are written from the warehouse: the run's change log,
/// quality checks, conflicts and entity lists kept in it as well (each
/// replaced by the latest run's, in one transaction), so SQL users find
/// them beside the records: `changes`, `checks`, `conflicts`,
/// `version_conflicts` and `entities_<list>`. Cells are the text of the
/// files, without the CSV's `'` guard.
pub(super) fn keep_outputs(db: &Path, out: &Path, summary: &Summary) -> Result<(), AggregateError> {
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
                super::tables::unguard(c)
            } else {
                c
            }
        });
        put.execute(rusqlite::params_from_iter(cells))
            .map_err(|e| failed(db, e))?;
    }
    Ok(())
}
