//! Taking bundles into the warehouse: the files not seen yet verified in
//! groups of bounded size, each new bundle decrypted on every core on a
//! thread of its own while the writer keeps the one before, in one
//! transaction a bundle (a run killed at any point leaves each bundle
//! wholly in or not at all); a bundle read again after its verification
//! is checked against its signed manifest first.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{failed, good_of, open_for_reading, open_for_writing};
use crate::aggregate::error::AggregateError;
use crate::aggregate::read::{self, CarriedForm, Kept, Opened, VerifiedBundle, verify_keeping};
use crate::aggregate::summary::Ingested;
use crate::aggregate::{Good, Options, WorkCount};
use crate::bundle::{self, verify};
use crate::crypt;

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
pub(in crate::aggregate) fn ingest(
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
    keep_receipts(&mut conn, db, opts, &mut ingested)?;
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
                let opened = read::open_again(&good, count)?;
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
            let body = if *plain && std::str::from_utf8(body).is_ok() {
                ToSqlOutput::Borrowed(ValueRef::Text(body))
            } else {
                ToSqlOutput::Borrowed(ValueRef::Blob(body))
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
pub(in crate::aggregate) fn same_files(opened: &Opened, good: &Good) -> Result<(), AggregateError> {
    let named = opened
        .manifest
        .entries
        .iter()
        .map(|e| (&e.path, &e.sha256))
        .chain(opened.manifest.media.iter().map(|m| (&m.path, &m.sha256)));
    for (path, sha256) in named {
        match opened.get(path) {
            Some((data, _)) if crypt::sha256_hex(data) == *sha256 => {}
            _ => return Err(read::changed(good)),
        }
    }
    Ok(())
}

/// The verify pass's bytes of a bundle, opened by name.
fn opened_from_kept(kept: Kept, good: &Good, count: &WorkCount) -> Result<Opened, AggregateError> {
    let Kept {
        bytes, manifest, ..
    } = kept;
    let files = read::sealed_files(&bytes, good, count)?;
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

/// The receipts given (`--receipts`) whose signature checks against the
/// supervisors file, kept (each once, by its hash), so later runs need
/// not be given them again; the others are said and not kept.
fn keep_receipts(
    conn: &mut Connection,
    db: &Path,
    opts: &Options,
    ingested: &mut Ingested,
) -> Result<(), AggregateError> {
    let given = crate::aggregate::review::read(&opts.receipts)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| failed(db, e))?;
    for receipt in given {
        let checked = match &opts.supervisors {
            Some(s) => crate::bundle::receipt::check(&receipt.bytes, s).map(|_| ()),
            None => Err(crate::bundle::receipt::ReceiptError::NotListed),
        };
        if let Err(why) = checked {
            ingested
                .receipts_not_kept
                .push(format!("receipt {} not kept: {why}", receipt.shown));
            continue;
        }
        let added = tx
            .execute(
                "INSERT OR IGNORE INTO receipts (sha256, file, body, kept_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    crypt::sha256_hex(&receipt.bytes),
                    receipt.shown,
                    receipt.bytes,
                    crate::clock::now().to_string()
                ],
            )
            .map_err(|e| failed(db, e))?;
        ingested.new_receipts += added;
    }
    tx.commit().map_err(|e| failed(db, e))
}
