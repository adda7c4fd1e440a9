//! Reading bundles: the verify pass (every bundle read and verified on all
//! cores, the forms it carries kept), then the reading thread that reads
//! each verified bundle again, checks it is the one verified (a stick may
//! change under us) and cuts its records into runs for the workers. Owns
//! the bundle size cap's use and the run sizes; no decryption.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, SyncSender};

use super::error::AggregateError;
use super::runs::{Item, Job, RunDone};
use super::{Good, WorkCount, progress};
use crate::bundle::signers::AllowedSigners;
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

/// A bundle after the verify pass: its report, and the forms it carries
/// (none when it failed).
pub(super) struct VerifiedBundle {
    pub(super) file: PathBuf,
    pub(super) report: verify::Report,
    pub(super) forms: Vec<CarriedForm>,
}

/// Reads and verifies every bundle on `threads` threads, in the order given.
pub(super) fn verify_all(
    files: &[PathBuf],
    signers: &AllowedSigners,
    threads: usize,
    show: bool,
    count: &WorkCount,
) -> Result<Vec<VerifiedBundle>, AggregateError> {
    let done = std::sync::atomic::AtomicUsize::new(0);
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<Result<Vec<_>, AggregateError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                scope.spawn(move || {
                    part.iter()
                        .map(|file| {
                            let name = file.display().to_string();
                            let bytes = read_capped(file, count)?;
                            // The forms come from the same read of the
                            // archive as the verification.
                            let (report, carried) = match &bytes {
                                Ok(bytes) => {
                                    WorkCount::count(&count.archive_parses);
                                    verify::verify_with_forms(&name, bytes, signers)
                                }
                                Err(why) => (verify::Report::refused(&name, why), Vec::new()),
                            };
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            progress(show, "verifying", n, files.len());
                            let forms = carried
                                .into_iter()
                                .map(|(f, text)| CarriedForm {
                                    form_id: f.form_id,
                                    version: f.version,
                                    sha256: f.sha256,
                                    text: text.to_vec(),
                                })
                                .collect();
                            // The manifest's entry list is large and no
                            // longer needed: pass 2 reads it again.
                            let mut report = report;
                            report.manifest = None;
                            Ok(VerifiedBundle {
                                file: file.clone(),
                                report,
                                forms,
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
pub(super) fn reread(good: &Good, count: &WorkCount) -> Result<Vec<u8>, AggregateError> {
    read_capped(&good.file, count)?.map_err(|_| changed(good))
}

/// The manifest and the entries by name of a bundle read again, checked
/// to be the one verified (a stick may change under us).
pub(super) fn reopen<'a>(
    good: &Good,
    bytes: &'a [u8],
    count: &WorkCount,
) -> Result<(bundle::Manifest, HashMap<String, &'a [u8]>), AggregateError> {
    WorkCount::count(&count.archive_parses);
    let entries = archive::read_verified(bytes).map_err(|_| changed(good))?;
    let by_name: HashMap<String, &[u8]> = entries.into_iter().map(|e| (e.name, e.data)).collect();
    let manifest_bytes = by_name.get(bundle::MANIFEST).ok_or_else(|| changed(good))?;
    if bundle::sha256_hex(manifest_bytes) != good.manifest_sha256 {
        return Err(changed(good));
    }
    let manifest = serde_json::from_slice(manifest_bytes).map_err(|_| changed(good))?;
    Ok((manifest, by_name))
}

/// Reads a verified bundle again, checks it is the one verified, and
/// cuts its records into runs for `send` (which says false to stop).
pub(super) fn runs_of(
    good: &Good,
    bundle: u32,
    seq: &mut usize,
    send: &mut dyn FnMut(Job) -> bool,
    count: &WorkCount,
) -> Result<(), AggregateError> {
    let bytes = reread(good, count)?;
    let (manifest, by_name) = reopen(good, &bytes, count)?;
    let changed = || changed(good);
    for (r, run) in manifest.entries.chunks(RUN).enumerate() {
        let mut job = Job {
            seq: *seq,
            bundle,
            bytes: Vec::new(),
            items: Vec::with_capacity(run.len()),
        };
        for (k, e) in run.iter().enumerate() {
            let data = by_name.get(e.path.as_str()).ok_or_else(changed)?;
            let start = job.bytes.len();
            job.bytes.extend_from_slice(data);
            job.items.push(Item {
                entry: (r * RUN + k) as u32,
                record_id: e.record_id.clone(),
                form_id: e.form_id.clone(),
                form_version: e.form_version.clone(),
                at: start..job.bytes.len(),
                sha256: crypt::from_hex(&e.sha256).ok_or_else(changed)?,
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
/// place in the order.
pub(super) fn produce(
    good: &[Good],
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
        if let Err(why) = runs_of(g, n as u32, &mut seq, &mut send, count) {
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
