//! Aggregation for data managers: verify every bundle (a bundle that
//! fails is reported and left out), decrypt its records on all cores, merge
//! them (the same record twice counts once; the same id with different
//! content is a conflict, both versions kept aside), and write one table
//! per form and per repeat, and a summary. Streamed: the tables' columns
//! are known from the verified manifests before any record is decrypted,
//! bundles are then read by one thread a bundle at a time and cut into
//! runs of records; worker threads on every core decrypt a run and make
//! its rows, while this thread merges the runs in order and writes the
//! rows. Only a few runs are in flight, so memory stays bounded however
//! many bundles. Rows come in the order of (device, sequence, entry), so
//! the tables depend only on which bundles were given, not on their order.

pub mod summary;
pub mod tables;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::bundle::signers::AllowedSigners;
use crate::bundle::{self, archive, verify};
use crate::form::{self, Form};
use crate::store::crypt;
use summary::Summary;
use tables::{Layout, Line, RecordRef};

pub struct Options {
    pub identities: Vec<age::x25519::Identity>,
    pub signers: AllowedSigners,
    pub out: PathBuf,
    /// Where the CSV choice lists of `select_*_from_file` are (the shipped
    /// forms), since bundles carry only the forms' TOML.
    pub forms_dir: Option<PathBuf>,
    /// Add label columns in this language.
    pub labels: Option<String>,
    pub hxl: bool,
    pub xlsx: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    pub threads: usize,
}

/// What we remember of a record already taken, to find duplicates and
/// conflicts: its content hash, and where it came from.
struct Seen {
    /// The first 8 bytes of the content's SHA-256: only records with the
    /// same id are compared, so this is plenty to tell them apart.
    sha: [u8; 8],
    bundle: u32,
    entry: u32,
}

/// A form's versions and its tables.
struct FormTables {
    form_id: String,
    versions: BTreeMap<String, Arc<Form>>,
    layout: Layout,
}

/// A table's file being written, and its rows so far.
type TableFile = (PathBuf, BufWriter<File>, usize);

/// A record decrypted, read and turned into rows by a worker.
struct Prepared {
    sha: [u8; 8],
    form: usize,
    /// (table, CSV line) of every row.
    rows: Vec<(usize, Vec<u8>)>,
    facts: summary::Facts,
}

/// A verified bundle to read: (device, sequence, manifest SHA-256, file,
/// bundle id). Sorted, so rows come in the same order every time.
type Good = (String, u64, String, PathBuf, String);

/// Records in a worker's run: small enough to share the work out evenly,
/// large enough that passing runs around costs nothing.
const RUN: usize = 64;
/// Runs waiting for a worker: bounds memory (each holds its bundle's
/// bytes) while keeping every core busy.
const QUEUED: usize = 16;

/// A run of one bundle's records, for a worker.
struct Job {
    /// Its place in the merge order.
    seq: usize,
    bundle: u32,
    /// Its records' files, one after the other (copied out of the bundle
    /// so that the bundle's bytes go as soon as it is cut into runs).
    bytes: Vec<u8>,
    items: Vec<Item>,
}

struct Item {
    /// Its position in the bundle's manifest.
    entry: u32,
    record_id: String,
    /// Where the record's file lies in the run's bytes.
    at: Range<usize>,
    /// Its SHA-256 as the signed manifest gives it.
    sha256: Vec<u8>,
}

/// A run's outcome: (entry, record id, the record or why it is unreadable)
/// for each record; Err stops the aggregation.
type Done = (
    usize,
    u32,
    Result<Vec<(u32, String, Result<Prepared, String>)>, String>,
);

fn progress(on: bool, what: &str, done: usize, total: usize) {
    if !on || total == 0 {
        return;
    }
    let width = 30;
    let filled = done * width / total;
    eprint!(
        "\r{what:<12} [{}{}] {done}/{total}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    );
    if done == total {
        eprintln!();
    }
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// A verified bundle: file, report, and the forms it carries as (form_id,
/// version, text).
type Verified = (PathBuf, verify::Report, Vec<(String, String, Vec<u8>)>);

/// Reads and verifies every bundle on `threads` threads, in the order given.
fn verify_all(
    files: &[PathBuf],
    signers: &AllowedSigners,
    threads: usize,
    show: bool,
) -> Result<Vec<Verified>, String> {
    let done = std::sync::atomic::AtomicUsize::new(0);
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<Result<Vec<_>, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                scope.spawn(move || {
                    part.iter()
                        .map(|file| {
                            let bytes = std::fs::read(file)
                                .map_err(|e| io(&format!("cannot read {}", file.display()), e))?;
                            let report =
                                verify::verify(&file.display().to_string(), &bytes, signers);
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            progress(show, "verifying", n, files.len());
                            let mut forms = Vec::new();
                            if let Some(m) = &report.manifest
                                && report.ok
                                && let Ok(entries) = archive::read_verified(&bytes)
                            {
                                for f in &m.forms {
                                    let path = bundle::form_path(&f.form_id, &f.version);
                                    if let Some(e) = entries.iter().find(|e| e.name == path) {
                                        forms.push((
                                            f.form_id.clone(),
                                            f.version.clone(),
                                            e.data.to_vec(),
                                        ));
                                    }
                                }
                            }
                            // The manifest's entry list is large and no
                            // longer needed: pass 2 reads it again.
                            let mut report = report;
                            report.manifest = None;
                            Ok((file.clone(), report, forms))
                        })
                        .collect::<Result<Vec<_>, String>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("verification stopped".into()))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

fn io(context: &str, e: std::io::Error) -> String {
    format!("{context}: {e}")
}

/// Loads a form version carried in a bundle; its CSV choice lists are
/// looked for in `forms_dir`.
fn load_form(
    text: &[u8],
    form_id: &str,
    version: &str,
    forms_dir: Option<&Path>,
) -> Result<Form, String> {
    let text = std::str::from_utf8(text).map_err(|_| "the form is not UTF-8".to_string())?;
    let dirs: Vec<PathBuf> = match forms_dir {
        Some(d) => vec![d.to_path_buf()],
        None => crate::paths::shipped_dirs("forms"),
    };
    let mut last = String::new();
    for dir in dirs.iter().chain(std::iter::once(&PathBuf::from("."))) {
        match form::load_str(text, &dir.join(format!("{form_id}@{version}.toml"))) {
            Ok(f) => return Ok(f),
            Err(errors) => last = errors.first().map(|e| e.to_string()).unwrap_or_default(),
        }
    }
    Err(format!(
        "the form {form_id} {version} carried in the bundle does not load here ({last}); \
         give the folder of its CSV lists with --forms DIR"
    ))
}

/// One CSV line (with its line end) from cells.
fn csv_line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> Vec<u8> {
    let mut line = Line::default();
    for c in cells {
        line.field(c.as_ref());
    }
    line.end()
}

/// Opens a form's table files (a byte-order mark so Excel reads UTF-8,
/// the header, the HXL row when asked).
fn open_tables(ft: &FormTables, opts: &Options) -> Result<Vec<TableFile>, String> {
    let mut writers = Vec::new();
    for table in &ft.layout.tables {
        let path = opts.out.join(table.file_name(&ft.form_id));
        let mut file = BufWriter::new(
            File::create(&path).map_err(|e| io(&format!("cannot write {}", path.display()), e))?,
        );
        let keys: &[&str] = if table.repeat.is_none() {
            &tables::META
        } else {
            &tables::REPEAT_KEYS
        };
        let mut head = "\u{FEFF}".as_bytes().to_vec();
        head.extend(csv_line(
            keys.iter()
                .map(|s| s.to_string())
                .chain(table.columns.iter().map(|c| c.header.clone())),
        ));
        if opts.hxl {
            head.extend(csv_line(
                keys.iter()
                    .map(|k| {
                        if *k == "record_id" {
                            "#meta+id".to_string()
                        } else {
                            String::new()
                        }
                    })
                    .chain(table.columns.iter().map(|c| c.hxl.clone())),
            ));
        }
        file.write_all(&head)
            .map_err(|e| io(&format!("cannot write {}", path.display()), e))?;
        writers.push((path, file, 0));
    }
    Ok(writers)
}

/// A record's rows in every table of its form.
fn rows(layout: &Layout, record: &RecordRef, bundle_id: &str) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    for (t, table) in layout.tables.iter().enumerate() {
        if table.repeat.is_none() {
            let mut line = Line::with_capacity(4096);
            for meta in [
                &*record.record_id,
                &record.enumerator_id,
                &record.device_id,
                bundle_id,
                &record.form_version,
                &record.started,
                &record.finalized_at,
            ] {
                line.field(meta);
            }
            tables::write_row(&mut line, table, &record.values, &layout.labels);
            out.push((t, line.end()));
        } else {
            for (parent, key, index, item) in tables::instances(&record.values, &table.path) {
                let mut line = Line::with_capacity(1024);
                for k in [&*record.record_id, &parent, &key, &index.to_string()] {
                    line.field(k);
                }
                tables::write_row(&mut line, table, &item, &layout.labels);
                out.push((t, line.end()));
            }
        }
    }
    out
}

/// Decrypts a record, reads it and makes its rows; `record_id` is the id
/// the manifest gives it.
fn prepare(
    identities: &[crypt::X25519Identity],
    data: &[u8],
    record_id: &str,
    forms: &[FormTables],
    bundle_id: &str,
) -> Result<Prepared, String> {
    let plain = crypt::decrypt_with_any(identities, data)?;
    let record: RecordRef =
        serde_json::from_slice(&plain).map_err(|e| format!("not a record ({e})"))?;
    let form = forms
        .iter()
        .position(|f| f.form_id == record.form_id)
        .ok_or("its form is not in the bundle")?;
    let rows = rows(&forms[form].layout, &record, bundle_id);
    let model = forms[form]
        .versions
        .get(record.form_version.as_ref())
        .map(|f| f.as_ref());
    if record.record_id != record_id {
        return Err("the record inside names another id".into());
    }
    let digest = sha(&plain);
    Ok(Prepared {
        sha: digest[..8].try_into().unwrap_or_default(),
        facts: summary::Facts::of(&record, model),
        form,
        rows,
    })
}

/// A worker: takes runs off the queue until it is empty and closed.
fn work(
    jobs: &Mutex<Receiver<Job>>,
    done: Sender<Done>,
    identities: &[crypt::X25519Identity],
    forms: &[FormTables],
    good: &[Good],
) {
    loop {
        let job = match jobs.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let (_, _, _, file, bundle_id) = &good[job.bundle as usize];
        let mut out = Vec::with_capacity(job.items.len());
        let mut outcome = Ok(());
        for item in &job.items {
            let data = &job.bytes[item.at.clone()];
            // The very bytes that were verified (a stick may change under us).
            if sha(data)[..] != item.sha256[..] {
                outcome = Err(format!(
                    "{} changed while it was being read; run again",
                    file.display()
                ));
                break;
            }
            let prepared = prepare(identities, data, &item.record_id, forms, bundle_id);
            out.push((item.entry, item.record_id.clone(), prepared));
        }
        if done
            .send((job.seq, job.bundle, outcome.map(|_| out)))
            .is_err()
        {
            return;
        }
    }
}

/// Reads a verified bundle again, checks it is the one verified, and
/// cuts its records into runs for `send` (which says false to stop).
fn runs_of(
    good: &Good,
    bundle: u32,
    seq: &mut usize,
    send: &mut dyn FnMut(Job) -> bool,
) -> Result<(), String> {
    let (_, _, manifest_sha, file, _) = good;
    let bytes =
        std::fs::read(file).map_err(|e| io(&format!("cannot read {}", file.display()), e))?;
    let changed = || {
        format!(
            "{} changed while it was being read; run again",
            file.display()
        )
    };
    let entries = archive::read_verified(&bytes).map_err(|_| changed())?;
    let by_name: HashMap<&str, &[u8]> = entries.iter().map(|e| (e.name.as_str(), e.data)).collect();
    let manifest_bytes = by_name.get(bundle::MANIFEST).ok_or_else(changed)?;
    if bundle::sha256_hex(manifest_bytes) != *manifest_sha {
        return Err(changed());
    }
    let manifest: bundle::Manifest =
        serde_json::from_slice(manifest_bytes).map_err(|_| changed())?;
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
fn produce(good: &[Good], jobs: SyncSender<Job>, done: Sender<Done>) {
    let mut seq = 0;
    for (n, g) in good.iter().enumerate() {
        let mut stopped = false;
        let mut send = |job: Job| {
            stopped = jobs.send(job).is_err();
            !stopped
        };
        if let Err(why) = runs_of(g, n as u32, &mut seq, &mut send) {
            let _ = done.send((seq, n as u32, Err(why)));
            return;
        }
        if stopped {
            return;
        }
    }
}

/// A record decrypted and read as JSON.
fn read_record(data: &[u8], identities: &[crypt::X25519Identity]) -> Result<Value, String> {
    serde_json::from_slice(&crypt::decrypt_with_any(identities, data)?).map_err(|e| e.to_string())
}

/// The record at position `entry` of a bundle's manifest, decrypted: a
/// conflict's versions, read back from their (already verified) files.
fn record_at(
    file: &Path,
    entry: usize,
    identities: &[crypt::X25519Identity],
) -> Result<Value, String> {
    let bytes =
        std::fs::read(file).map_err(|e| io(&format!("cannot read {}", file.display()), e))?;
    let entries = archive::read(&bytes)?;
    let find = |name: &str| entries.iter().find(|e| e.name == name).map(|e| e.data);
    let manifest: bundle::Manifest = find(bundle::MANIFEST)
        .and_then(|m| serde_json::from_slice(m).ok())
        .ok_or_else(|| format!("{}: no manifest", file.display()))?;
    let path = &manifest
        .entries
        .get(entry)
        .ok_or("the record vanished")?
        .path;
    read_record(find(path).ok_or("the record vanished")?, identities)
}

fn write_conflict(
    out: &Path,
    record_id: &str,
    bundle_id: &str,
    record: &Value,
) -> Result<(), String> {
    let dir = out.join("conflicts").join(record_id);
    std::fs::create_dir_all(&dir).map_err(|e| io("cannot write conflicts", e))?;
    let file = dir.join(format!("{bundle_id}.json"));
    if file.exists() {
        return Ok(());
    }
    std::fs::write(file, serde_json::to_vec_pretty(record).unwrap_or_default())
        .map_err(|e| io("cannot write conflicts", e))
}

/// The merge: runs taken in order, each record once.
struct Merge<'a> {
    opts: &'a Options,
    good: &'a [Good],
    identities: &'a [crypt::X25519Identity],
    /// Every form's table files.
    files: &'a mut [Vec<TableFile>],
    seen: &'a mut HashMap<u128, Seen>,
    summary: &'a mut Summary,
}

impl Merge<'_> {
    /// Merges every run as it arrives, in order (runs that come early
    /// wait, a handful at most).
    fn all(mut self, done: Receiver<Done>) -> Result<(), String> {
        let mut waiting: BTreeMap<usize, Done> = BTreeMap::new();
        let mut next = 0;
        let mut bundle_shown = None;
        for run in done {
            waiting.insert(run.0, run);
            while let Some((_, bundle, outcome)) = waiting.remove(&next) {
                if bundle_shown != Some(bundle) {
                    bundle_shown = Some(bundle);
                    progress(
                        self.opts.progress,
                        "decrypting",
                        bundle as usize + 1,
                        self.good.len(),
                    );
                }
                for (entry, record_id, result) in outcome? {
                    self.one(bundle, entry, &record_id, result)?;
                }
                next += 1;
            }
        }
        if !waiting.is_empty() {
            return Err("decryption stopped part-way".into());
        }
        progress(
            self.opts.progress,
            "decrypting",
            self.good.len(),
            self.good.len(),
        );
        Ok(())
    }

    fn one(
        &mut self,
        bundle: u32,
        entry: u32,
        record_id: &str,
        result: Result<Prepared, String>,
    ) -> Result<(), String> {
        let (_, _, _, file, bundle_id) = &self.good[bundle as usize];
        let p = match result {
            Ok(p) => p,
            Err(why) => {
                self.summary.undecryptable(bundle_id, record_id, &why);
                return Ok(());
            }
        };
        let id = uuid::Uuid::parse_str(record_id)
            .map(|u| u.as_u128())
            .unwrap_or(0);
        if let Some(first) = self.seen.get(&id) {
            if first.sha == p.sha {
                self.summary.duplicates += 1;
            } else {
                let out = &self.opts.out;
                let (_, _, _, first_file, first_bundle) = &self.good[first.bundle as usize];
                let original = record_at(first_file, first.entry as usize, self.identities)?;
                write_conflict(out, record_id, first_bundle, &original)?;
                let this = record_at(file, entry as usize, self.identities)?;
                write_conflict(out, record_id, bundle_id, &this)?;
                self.summary.conflict(record_id, first_bundle, bundle_id);
            }
            return Ok(());
        }
        let files = &mut self.files[p.form];
        for (t, line) in &p.rows {
            let (path, w, rows) = &mut files[*t];
            w.write_all(line)
                .map_err(|e| io(&format!("cannot write {}", path.display()), e))?;
            *rows += 1;
        }
        self.summary.add(p.facts);
        self.seen.insert(
            id,
            Seen {
                sha: p.sha,
                bundle,
                entry,
            },
        );
        Ok(())
    }
}

/// Runs the whole aggregation; the summary (also written to the folder).
pub fn run(files: &[PathBuf], opts: &Options) -> Result<Summary, String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| io("cannot create the output folder", e))?;
    let mut summary = Summary::default();

    // 1. Verify every bundle, on all cores.
    let verified = verify_all(files, &opts.signers, opts.threads, opts.progress)?;
    let mut good: Vec<Good> = Vec::new();
    let mut reports = Vec::new();
    let mut forms: Vec<FormTables> = Vec::new();
    let mut total_records = 0;
    for (file, report, carried) in verified {
        if !report.ok {
            summary.failed_bundle(&report.file, &report.problems);
            continue;
        }
        for (form_id, version, text) in carried {
            let at = match forms.iter().position(|f| f.form_id == form_id) {
                Some(i) => i,
                None => {
                    forms.push(FormTables {
                        form_id: form_id.clone(),
                        versions: BTreeMap::new(),
                        layout: Layout::default(),
                    });
                    forms.len() - 1
                }
            };
            if let std::collections::btree_map::Entry::Vacant(slot) =
                forms[at].versions.entry(version)
            {
                let form = load_form(&text, &form_id, slot.key(), opts.forms_dir.as_deref())?;
                slot.insert(Arc::new(form));
            }
        }
        good.push((
            report.device_id.clone().unwrap_or_default(),
            report.sequence.unwrap_or(0),
            report.manifest_sha256.clone().unwrap_or_default(),
            file,
            report.bundle_id.clone().unwrap_or_default(),
        ));
        total_records += report.records;
        reports.push(report);
    }
    good.sort();
    // The same bundle given twice is read once (data managers often
    // receive a stick twice): counted, not a problem.
    let before = good.len();
    good.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
    summary.duplicate_bundles = before - good.len();
    reports.sort_by(|a, b| {
        (&a.device_id, a.sequence, &a.manifest_sha256).cmp(&(
            &b.device_id,
            b.sequence,
            &b.manifest_sha256,
        ))
    });
    reports.dedup_by(|a, b| {
        a.device_id == b.device_id
            && a.sequence == b.sequence
            && a.manifest_sha256 == b.manifest_sha256
    });
    summary.sequence_problems = verify::sequences(&reports);
    drop(reports);

    // 2. Every form's columns, from all its versions; the tables opened.
    forms.sort_by(|a, b| a.form_id.cmp(&b.form_id));
    for ft in &mut forms {
        for form in ft.versions.values() {
            ft.layout.add_version(form, opts.labels.as_deref());
        }
    }
    let mut files = forms
        .iter()
        .map(|ft| open_tables(ft, opts))
        .collect::<Result<Vec<_>, _>>()?;

    // 3. Decrypt on every core, merge and write rows here, in order.
    let timing = std::env::var_os("FIELDKIT_TIMING").is_some();
    let t0 = std::time::Instant::now();
    let identities: Vec<crypt::X25519Identity> = opts
        .identities
        .iter()
        .map(crypt::X25519Identity::new)
        .collect();
    // Sized once: growing a table of a million ids holds two at a time.
    let mut seen: HashMap<u128, Seen> = HashMap::with_capacity(total_records);
    let merged = std::thread::scope(|scope| {
        let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job>(QUEUED);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..opts.threads.max(1) {
            let (job_rx, done_tx) = (Arc::clone(&job_rx), done_tx.clone());
            let (identities, forms, good) = (&identities, &forms, &good);
            scope.spawn(move || work(&job_rx, done_tx, identities, forms, good));
        }
        drop(job_rx);
        let good_ref = &good;
        scope.spawn(move || produce(good_ref, job_tx, done_tx));
        let merge = Merge {
            opts,
            good: &good,
            identities: &identities,
            files: &mut files,
            seen: &mut seen,
            summary: &mut summary,
        };
        merge.all(done_rx)
        // Leaving the scope with an error drops the receiver: the
        // workers' next send fails and they stop, then the reader.
    });
    merged?;
    summary.bundles_read = good.len();
    drop(seen);
    if timing {
        eprintln!("timing: decrypt, merge and rows {:?}", t0.elapsed());
    }

    // 4. Close the tables; the workbooks; the summary.
    for (ft, table_files) in forms.iter().zip(&mut files) {
        let mut written = Vec::new();
        for (path, w, rows) in table_files {
            w.flush()
                .map_err(|e| io(&format!("cannot write {}", path.display()), e))?;
            written.push((
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                *rows,
            ));
        }
        if opts.xlsx {
            let latest = ft.versions.values().last().map(|f| f.as_ref());
            summary::write_xlsx(&opts.out, &ft.form_id, &written, latest)?;
        }
        summary.tables.extend(written);
    }
    summary.write(&opts.out)?;
    Ok(summary)
}

#[cfg(test)]
mod tests;
