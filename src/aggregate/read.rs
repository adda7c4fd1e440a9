//! Reading bundles: the verify pass (every bundle read and verified on all
//! cores, the forms it carries kept, and its very bytes while they fit in
//! [`KEEP_BYTES`]), then the reading thread that cuts each verified
//! bundle's records into runs for the workers: from the bytes kept (not
//! read or parsed again, not hashed again), or read again and checked to
//! be the one verified (a stick may change under us). Owns the bundle
//! size cap's use and the run sizes; no decryption.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, SyncSender};

use super::error::AggregateError;
use super::runs::{Item, Job, RunDone};
use super::versions::{EntryFacts, facts_of};
use super::{Good, Options, WorkCount, progress};
use crate::bundle::{self, archive, verify};
use crate::crypt;

/// Records in a worker's run: small enough to share the work out evenly,
/// large enough that passing runs around costs nothing.
pub(super) const RUN: usize = 64;
/// Runs waiting for a worker: bounds memory (each holds its bundle's
/// bytes) while keeping every core busy.
pub(super) const QUEUED: usize = 16;

/// A form carried in a bundle, as its manifest names it.
pub(super) struct CarriedForm {
    pub(super) form_id: String,
    pub(super) version: String,
    pub(super) sha256: String,
    pub(super) text: Vec<u8>,
}

/// The bytes of verified bundles kept from the verify pass for the
/// decrypt pass, at most: one large bundle (20,000 records of 3 KB) or
/// many small ones, well under the memory the merge needs for a million
/// records. A bundle beyond it is read again.
pub const KEEP_BYTES: usize = 128 << 20;

/// A verified bundle as the verify pass read it: its bytes, its manifest
/// and where each manifest entry's file lies in the bytes.
pub(super) struct Kept {
    pub(super) bytes: Arc<Vec<u8>>,
    pub(super) manifest: bundle::Manifest,
    pub(super) records: Vec<Range<usize>>,
    /// Which records are already plaintext (the warehouse keeps records
    /// decrypted); empty: every record is sealed, as in a bundle.
    pub(super) plain: Vec<bool>,
}

/// A verified bundle opened again, from its file or from the warehouse:
/// its manifest and each file's bytes by name, sealed (as in the bundle)
/// or plaintext (as the warehouse keeps what it could decrypt).
pub(super) struct Opened {
    pub(super) bytes: Arc<Vec<u8>>,
    pub(super) manifest: bundle::Manifest,
    pub(super) files: HashMap<String, Body>,
}

/// Where a file of an [`Opened`] bundle lies in its bytes, and whether it
/// is plaintext.
#[derive(Debug, Clone)]
pub(super) struct Body {
    pub(super) at: Range<usize>,
    pub(super) plain: bool,
}

impl Opened {
    /// A file's bytes and whether they are plaintext.
    pub(super) fn get(&self, name: &str) -> Option<(&[u8], bool)> {
        let body = self.files.get(name)?;
        Some((self.bytes.get(body.at.clone())?, body.plain))
    }

    /// A file's plaintext: as kept, or decrypted with the identities.
    pub(super) fn plaintext(
        &self,
        name: &str,
        identities: &[crypt::X25519Identity],
        count: &WorkCount,
    ) -> Option<Result<Vec<u8>, crypt::CryptError>> {
        let (data, plain) = self.get(name)?;
        if plain {
            return Some(Ok(data.to_vec()));
        }
        WorkCount::count(&count.decryptions);
        Some(crypt::decrypt_with_any(identities, data).map(|p| p.to_vec()))
    }

    /// The bundle's records in manifest order, for the workers.
    fn kept(self, good: &Good) -> Result<Kept, AggregateError> {
        let mut records = Vec::with_capacity(self.manifest.entries.len());
        let mut plain = Vec::with_capacity(self.manifest.entries.len());
        for e in &self.manifest.entries {
            let body = self
                .files
                .get(e.path.as_str())
                .ok_or_else(|| changed(good))?;
            records.push(body.at.clone());
            plain.push(body.plain);
        }
        Ok(Kept {
            bytes: self.bytes,
            manifest: self.manifest,
            records,
            plain,
        })
    }
}

/// A bundle after the verify pass: its report, the forms it carries (none
/// when it failed), and the bundle as read when it verified and was kept.
pub(super) struct VerifiedBundle {
    pub(super) file: PathBuf,
    pub(super) report: verify::Report,
    pub(super) forms: Vec<CarriedForm>,
    pub(super) kept: Option<Kept>,
    /// What its manifest says of each record's version (when it verified).
    pub(super) entries: Vec<EntryFacts>,
    /// Where the warehouse keeps it (`--db`), when it comes from there.
    pub(super) stored: Option<super::Stored>,
}

/// Reads and verifies every bundle on `threads` threads, in the order given.
pub(super) fn verify_all(
    files: &[PathBuf],
    opts: &Options,
    count: &WorkCount,
) -> Result<Vec<VerifiedBundle>, AggregateError> {
    verify_keeping(files, opts, opts.keep_bytes, count)
}

/// [`verify_all`], keeping at most `keep` bytes of bundles.
pub(super) fn verify_keeping(
    files: &[PathBuf],
    opts: &Options,
    keep: usize,
    count: &WorkCount,
) -> Result<Vec<VerifiedBundle>, AggregateError> {
    let (signers, threads, show) = (&opts.signers, opts.threads, opts.progress);
    let done = AtomicUsize::new(0);
    let kept_bytes = AtomicUsize::new(0);
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<Result<Vec<_>, AggregateError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let (done, kept_bytes) = (&done, &kept_bytes);
                scope.spawn(move || {
                    part.iter()
                        .map(|file| {
                            let name = file.display().to_string();
                            let bytes = read_capped(file, count)?;
                            // The forms come from the same read of the
                            // archive as the verification.
                            let (mut report, forms, records) = match &bytes {
                                Ok(bytes) => {
                                    WorkCount::count(&count.archive_parses);
                                    let read = verify::verify_for_reading(&name, bytes, signers);
                                    (read.report, carried(read.forms), read.records)
                                }
                                Err(why) => {
                                    (verify::Report::refused(&name, why), Vec::new(), Vec::new())
                                }
                            };
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            progress(show, "verifying", n, files.len());
                            // Kept while the bytes fit; else the manifest's
                            // large entry list goes, and pass 2 reads both
                            // again.
                            let manifest = report.manifest.take();
                            let entries = match &manifest {
                                Some(m) if report.ok => facts_of(m),
                                _ => Vec::new(),
                            };
                            let kept = match (bytes, manifest) {
                                (Ok(bytes), Some(manifest))
                                    if report.ok && reserve(kept_bytes, bytes.len(), keep) =>
                                {
                                    Some(Kept {
                                        bytes: Arc::new(bytes),
                                        manifest,
                                        records,
                                        plain: Vec::new(),
                                    })
                                }
                                _ => None,
                            };
                            Ok(VerifiedBundle {
                                file: file.clone(),
                                report,
                                forms,
                                kept,
                                entries,
                                stored: None,
                            })
                        })
                        .collect::<Result<Vec<_>, AggregateError>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Err(AggregateError::VerificationStopped)))
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// The forms a bundle carries, copied out of its bytes.
fn carried(forms: Vec<(bundle::FormRef, &[u8])>) -> Vec<CarriedForm> {
    forms
        .into_iter()
        .map(|(f, text)| CarriedForm {
            form_id: f.form_id,
            version: f.version,
            sha256: f.sha256,
            text: text.to_vec(),
        })
        .collect()
}

/// Takes `len` bytes of the keep budget (`most`), if they fit.
fn reserve(kept: &AtomicUsize, len: usize, most: usize) -> bool {
    kept.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| {
        (k + len <= most).then_some(k + len)
    })
    .is_ok()
}

/// What to say when a verified bundle is no longer the bundle verified.
pub(super) fn changed(good: &Good) -> AggregateError {
    AggregateError::Changed {
        file: good.file.clone(),
    }
}

/// A bundle file's bytes; Ok(Err(why)) for a file over the bundle size
/// cap, which is not read (`why` is a line of its report).
pub(super) fn read_capped(
    file: &Path,
    count: &WorkCount,
) -> Result<Result<Vec<u8>, String>, AggregateError> {
    let cannot = |source| AggregateError::Read {
        path: file.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(file).map_err(cannot)?.len();
    if size > archive::MAX_BUNDLE_BYTES {
        return Ok(Err(format!(
            "{size} bytes, over the bundle limit of {} bytes",
            archive::MAX_BUNDLE_BYTES
        )));
    }
    WorkCount::count(&count.bundle_reads);
    std::fs::read(file).map(Ok).map_err(cannot)
}

/// A verified bundle read again: its bytes.
fn reread(good: &Good, count: &WorkCount) -> Result<Vec<u8>, AggregateError> {
    read_capped(&good.file, count)?.map_err(|_| changed(good))
}

/// Where each file of a bundle's bytes lies, by name (all sealed, as in
/// the bundle): the archive read again.
pub(super) fn sealed_files(
    bytes: &[u8],
    good: &Good,
    count: &WorkCount,
) -> Result<HashMap<String, Body>, AggregateError> {
    WorkCount::count(&count.archive_parses);
    let entries = archive::read_verified(bytes).map_err(|_| changed(good))?;
    let base = bytes.as_ptr() as usize;
    Ok(entries
        .into_iter()
        .map(|e| {
            let start = e.data.as_ptr() as usize - base;
            let at = start..start + e.data.len();
            (e.name, Body { at, plain: false })
        })
        .collect())
}

/// A verified bundle opened again: from the warehouse when it is kept
/// there, else read from its file again and checked to be the one
/// verified (a stick may change under us).
pub(super) fn open_again(good: &Good, count: &WorkCount) -> Result<Opened, AggregateError> {
    if let Some(stored) = &good.stored {
        return super::stored_bundle(good, stored);
    }
    let bytes = reread(good, count)?;
    let files = sealed_files(&bytes, good, count)?;
    let manifest_bytes = files
        .get(bundle::MANIFEST)
        .and_then(|b| bytes.get(b.at.clone()))
        .ok_or_else(|| changed(good))?;
    if bundle::sha256_hex(manifest_bytes) != good.manifest_sha256 {
        return Err(changed(good));
    }
    let manifest = serde_json::from_slice(manifest_bytes).map_err(|_| changed(good))?;
    Ok(Opened {
        bytes: Arc::new(bytes),
        manifest,
        files,
    })
}

/// Cuts a verified bundle's records into runs for `send` (which says
/// false to stop): from the bytes the verify pass kept (`kept`; its
/// records already hashed), else read again and checked.
pub(super) fn runs_of(
    good: &Good,
    kept: Option<Kept>,
    bundle: u32,
    seq: &mut usize,
    send: &mut dyn FnMut(Job) -> bool,
    count: &WorkCount,
) -> Result<(), AggregateError> {
    // The warehouse's records were checked when they were taken in.
    let verified = kept.is_some() || good.stored.is_some();
    let Kept {
        bytes,
        manifest,
        records,
        plain,
    } = match kept {
        Some(kept) => kept,
        None => open_again(good, count)?.kept(good)?,
    };
    let changed = || changed(good);
    if records.len() != manifest.entries.len() {
        return Err(changed());
    }
    for (r, run) in manifest.entries.chunks(RUN).enumerate() {
        let mut job = Job {
            seq: *seq,
            bundle,
            bytes: Arc::clone(&bytes),
            verified,
            items: Vec::with_capacity(run.len()),
        };
        for (k, e) in run.iter().enumerate() {
            let entry = r * RUN + k;
            job.items.push(Item {
                entry: entry as u32,
                record_id: e.record_id.clone(),
                form_id: e.form_id.clone(),
                form_version: e.form_version.clone(),
                at: records[entry].clone(),
                sha256: crypt::from_hex(&e.sha256).ok_or_else(changed)?,
                version: e.version,
                supersedes: e.supersedes,
                plain: plain.get(entry).copied().unwrap_or(false),
            });
        }
        *seq += 1;
        if !send(job) {
            break;
        }
    }
    Ok(())
}

/// The reading thread: bundles one at a time, cut into runs, onto the
/// queue (waiting while it is full). A failure goes to the merge in its
/// place in the order. `kept`: the bundles the verify pass kept, by
/// manifest hash.
pub(super) fn produce(
    good: &[Good],
    mut kept: HashMap<String, Kept>,
    jobs: SyncSender<Job>,
    done: Sender<RunDone>,
    count: &WorkCount,
) {
    let mut seq = 0;
    for (n, g) in good.iter().enumerate() {
        let mut stopped = false;
        let mut send = |job: Job| {
            stopped = jobs.send(job).is_err();
            !stopped
        };
        let this = kept.remove(&g.manifest_sha256);
        if let Err(why) = runs_of(g, this, n as u32, &mut seq, &mut send, count) {
            let _ = done.send(RunDone {
                seq,
                bundle: n as u32,
                outcome: Err(why),
            });
            return;
        }
        if stopped {
            return;
        }
    }
}
