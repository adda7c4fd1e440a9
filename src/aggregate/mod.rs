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
pub mod xlsx;

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
use crate::crypt;
use crate::form::{self, Form};
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
    /// What the record's body says that the signed manifest does not
    /// (another enumerator or device): kept, credited to the signer.
    disagrees: Option<String>,
}

/// A verified bundle to read. Sorted by device, sequence and manifest,
/// so rows come in the same order every time, whatever the order given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Good {
    device_id: String,
    sequence: u64,
    manifest_sha256: String,
    file: PathBuf,
    bundle_id: String,
    /// Who signed it: the records are credited to them.
    enumerator_id: String,
}

impl Good {
    /// The same bundle (given twice).
    fn same(&self, other: &Good) -> bool {
        self.device_id == other.device_id
            && self.sequence == other.sequence
            && self.manifest_sha256 == other.manifest_sha256
    }
}

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
    /// Its form and version as the signed manifest gives them.
    form_id: String,
    form_version: String,
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
    // Our own text; a closed stderr is ignored (never a panic).
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r{what:<12} [{}{}] {done}/{total}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    );
    if done == total {
        let _ = writeln!(err);
    }
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// A form carried in a bundle: form_id, version, SHA-256, text.
type Carried = (String, String, String, Vec<u8>);

/// A verified bundle: file, report, and the forms it carries.
type Verified = (PathBuf, verify::Report, Vec<Carried>);

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
                            let name = file.display().to_string();
                            let bytes = read_capped(file)?;
                            let report = match &bytes {
                                Ok(bytes) => verify::verify(&name, bytes, signers),
                                Err(why) => verify::Report::refused(&name, why),
                            };
                            let bytes = bytes.unwrap_or_default();
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            progress(show, "verifying", n, files.len());
                            let mut forms = Vec::new();
                            if let Some(m) = &report.manifest
                                && report.ok
                                && let Ok(entries) = archive::read_verified(&bytes)
                            {
                                let by_name: HashMap<&str, &[u8]> =
                                    entries.iter().map(|e| (e.name.as_str(), e.data)).collect();
                                for f in &m.forms {
                                    let path = bundle::form_path(&f.form_id, &f.version);
                                    if let Some(data) = by_name.get(path.as_str()) {
                                        forms.push((
                                            f.form_id.clone(),
                                            f.version.clone(),
                                            f.sha256.clone(),
                                            data.to_vec(),
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

/// A table's file name is at most this many bytes (what file systems
/// allow for one name).
const MAX_FILE_NAME: usize = 255;

/// Loads a form version carried in a bundle; its CSV choice lists are
/// looked for in `forms_dir`. Its tables' file names must each be one safe
/// file name.
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
            Ok(f) => return check_table_names(f, form_id, version),
            Err(errors) => last = errors.first().map(|e| e.to_string()).unwrap_or_default(),
        }
    }
    let hint = if last.contains("choices file") {
        "give the folder of the forms' CSV choice lists with --forms DIR and run again"
    } else {
        "the form itself is broken (a changed or damaged form on the laptop that made the \
         bundle): have it fixed and checked with 'fieldkit forms check', and these records \
         sent again with a form that loads"
    };
    Err(format!(
        "the form {form_id} {version} carried in this bundle does not load ({last}); \
         the bundle is left out: {hint}"
    ))
}

/// A loaded form, if every table it makes has a safe file name.
fn check_table_names(form: Form, form_id: &str, version: &str) -> Result<Form, String> {
    let mut layout = Layout::default();
    layout.add_version(&form, None);
    for table in &layout.tables {
        let name = table.file_name(form_id);
        if let Some(why) = verify::unsafe_component(&name, MAX_FILE_NAME) {
            return Err(format!(
                "the form {form_id} {version} carried in this bundle would make a table \
                 {name:?}, whose name {why}; the bundle is left out: rename the repeat in the form"
            ));
        }
    }
    Ok(form)
}

/// `out` joined with `parts`, each checked to be one safe file name, so
/// that the path stays inside `out` whatever a bundle says.
fn under(out: &Path, parts: &[&str]) -> Result<PathBuf, String> {
    let mut path = out.to_path_buf();
    for part in parts {
        if let Some(why) = verify::unsafe_component(part, MAX_FILE_NAME) {
            return Err(format!(
                "refusing to write {part:?} in {}: the name {why}",
                out.display()
            ));
        }
        path.push(part);
    }
    if path.starts_with(out) {
        Ok(path)
    } else {
        Err(format!("refusing to write outside {}", out.display()))
    }
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
        let path = under(&opts.out, &[&table.file_name(&ft.form_id)])?;
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

/// A record's rows in every table of its form, credited to the bundle's
/// signer and device.
fn rows(layout: &Layout, record: &RecordRef, good: &Good) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    for (t, table) in layout.tables.iter().enumerate() {
        if table.repeat.is_none() {
            let mut line = Line::with_capacity(4096);
            for meta in [
                &*record.record_id,
                &good.enumerator_id,
                &good.device_id,
                &good.bundle_id,
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

/// Decrypts a record, reads it and makes its rows. The signed manifest
/// says what the record is (`item`: id, form, version) and who made it
/// (`good`): a body naming another id or form is left out (which table
/// and which id would be a guess); a body naming another enumerator or
/// device is kept, credited to the signer, and the disagreement said.
fn prepare(
    identities: &[crypt::X25519Identity],
    data: &[u8],
    item: &Item,
    forms: &[FormTables],
    good: &Good,
) -> Result<Prepared, String> {
    let plain = crypt::decrypt_with_any(identities, data)?;
    // A later layout is named as such, not read as a broken record.
    let record: RecordRef = serde_json::from_slice(&plain).map_err(|e| {
        crate::record::unknown_format(&plain).map_or_else(
            || format!("not a record ({e})"),
            |unknown| unknown.to_string(),
        )
    })?;
    record.check_format().map_err(|e| e.to_string())?;
    if record.record_id != item.record_id {
        return Err(format!(
            "its body names the record id {:?}, the signed manifest {}; left out",
            record.record_id, item.record_id
        ));
    }
    if record.form_id != item.form_id || record.form_version != item.form_version {
        return Err(format!(
            "its body names the form {:?} {:?}, the signed manifest {} {}; left out",
            record.form_id, record.form_version, item.form_id, item.form_version
        ));
    }
    let form = forms
        .iter()
        .position(|f| f.form_id == item.form_id)
        .ok_or("its form is not in the bundle")?;
    let rows = rows(&forms[form].layout, &record, good);
    let model = forms[form]
        .versions
        .get(item.form_version.as_str())
        .map(|f| f.as_ref());
    let mut disagrees = Vec::new();
    if record.enumerator_id != good.enumerator_id {
        disagrees.push(format!("enumerator {:?}", record.enumerator_id));
    }
    if record.device_id != good.device_id {
        disagrees.push(format!("device {:?}", record.device_id));
    }
    let disagrees = (!disagrees.is_empty()).then(|| {
        format!(
            "its body says {}, but the bundle is signed by {} on device {}: credited to {}",
            disagrees.join(" and "),
            good.enumerator_id,
            good.device_id,
            good.enumerator_id
        )
    });
    let digest = sha(&plain);
    let mut facts = summary::Facts::of(&record, model);
    facts.enumerator = good.enumerator_id.clone();
    Ok(Prepared {
        sha: digest[..8].try_into().unwrap_or_default(),
        facts,
        form,
        rows,
        disagrees,
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
        let this = &good[job.bundle as usize];
        let mut out = Vec::with_capacity(job.items.len());
        let mut outcome = Ok(());
        for item in &job.items {
            let data = &job.bytes[item.at.clone()];
            // The very bytes that were verified (a stick may change under us).
            if sha(data)[..] != item.sha256[..] {
                outcome = Err(changed(this));
                break;
            }
            let prepared = prepare(identities, data, item, forms, this);
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

/// What to say when a verified bundle is no longer the bundle verified.
fn changed(good: &Good) -> String {
    format!(
        "{} changed while it was being read; run again",
        good.file.display()
    )
}

/// A bundle file's bytes; Ok(Err(why)) for a file over the bundle size
/// cap, which is not read.
fn read_capped(file: &Path) -> Result<Result<Vec<u8>, String>, String> {
    let cannot = |e| io(&format!("cannot read {}", file.display()), e);
    let size = std::fs::metadata(file).map_err(cannot)?.len();
    if size > archive::MAX_BUNDLE_BYTES {
        return Ok(Err(format!(
            "{size} bytes, over the bundle limit of {} bytes",
            archive::MAX_BUNDLE_BYTES
        )));
    }
    std::fs::read(file).map(Ok).map_err(cannot)
}

/// A verified bundle read again: its bytes.
fn reread(good: &Good) -> Result<Vec<u8>, String> {
    read_capped(&good.file)?.map_err(|_| changed(good))
}

/// The manifest and the entries by name of a bundle read again, checked
/// to be the one verified (a stick may change under us).
fn reopen<'a>(
    good: &Good,
    bytes: &'a [u8],
) -> Result<(bundle::Manifest, HashMap<String, &'a [u8]>), String> {
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
fn runs_of(
    good: &Good,
    bundle: u32,
    seq: &mut usize,
    send: &mut dyn FnMut(Job) -> bool,
) -> Result<(), String> {
    let bytes = reread(good)?;
    let (manifest, by_name) = reopen(good, &bytes)?;
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

/// A record kept aside in a conflict: (bundle, entry).
type Aside = (u32, u32);

/// Writes both versions of every conflict to
/// `conflicts/<record_id>/<bundle_id>.json`, once all records are merged:
/// each bundle involved is read once and each version decrypted once
/// (reading both bundles again for each conflict made 2,000 conflicts take
/// 88 s). Every name comes from a verified manifest and is checked again
/// as a single file name before it touches a path.
fn write_conflicts(
    out: &Path,
    good: &[Good],
    aside: &[Aside],
    identities: &[crypt::X25519Identity],
) -> Result<(), String> {
    let mut by_bundle: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(bundle, entry) in aside {
        by_bundle.entry(bundle).or_default().push(entry);
    }
    for (bundle, mut wanted) in by_bundle {
        wanted.sort_unstable();
        wanted.dedup();
        let this = &good[bundle as usize];
        let bytes = reread(this)?;
        let (manifest, by_name) = reopen(this, &bytes)?;
        for entry in wanted {
            let e = manifest
                .entries
                .get(entry as usize)
                .ok_or_else(|| changed(this))?;
            let data = by_name.get(e.path.as_str()).ok_or_else(|| changed(this))?;
            let dir = under(out, &["conflicts", &e.record_id])?;
            let file = under(&dir, &[&format!("{}.json", this.bundle_id)])?;
            if file.exists() {
                continue;
            }
            let record = read_record(data, identities)?;
            std::fs::create_dir_all(&dir).map_err(|e| io("cannot write conflicts", e))?;
            std::fs::write(
                &file,
                serde_json::to_vec_pretty(&record).unwrap_or_default(),
            )
            .map_err(|e| io("cannot write conflicts", e))?;
        }
    }
    Ok(())
}

/// The merge: runs taken in order, each record once.
struct Merge<'a> {
    opts: &'a Options,
    good: &'a [Good],
    /// Both versions of every conflict, written at the end.
    aside: &'a mut Vec<Aside>,
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
        let bundle_id = &self.good[bundle as usize].bundle_id;
        let p = match result {
            Ok(p) => p,
            Err(why) => {
                self.summary.undecryptable(bundle_id, record_id, &why);
                return Ok(());
            }
        };
        // Verified: one spelling of a UUID.
        let Ok(id) = uuid::Uuid::parse_str(record_id).map(|u| u.as_u128()) else {
            self.summary
                .undecryptable(bundle_id, record_id, "its id is not a UUID");
            return Ok(());
        };
        let seen = self.seen.get(&id);
        if seen.is_some_and(|first| first.sha == p.sha) {
            self.summary.duplicates += 1;
            return Ok(());
        }
        if let Some(why) = &p.disagrees {
            self.summary.disagreement(bundle_id, record_id, why);
        }
        if let Some(first) = seen {
            let first_bundle = &self.good[first.bundle as usize].bundle_id;
            self.aside.push((first.bundle, first.entry));
            self.aside.push((bundle, entry));
            self.summary.conflict(record_id, first_bundle, bundle_id);
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

/// Loads the forms the bundles carry, in the bundles' order. A form is
/// its (form_id, version): the first text in that order is used; another
/// text under the same form_id and version is a form conflict, named (the
/// bundle's records are still read, with the first text). A bundle
/// carrying a form that does not load is reported and left out, the
/// others go on. Returns the bundles to read, the forms and the number of
/// records.
fn load_forms(
    candidates: Vec<(Good, verify::Report, Vec<Carried>)>,
    opts: &Options,
    summary: &mut Summary,
) -> (Vec<Good>, Vec<FormTables>, usize) {
    let mut good = Vec::new();
    let mut forms: Vec<FormTables> = Vec::new();
    let mut form_at: HashMap<String, usize> = HashMap::new();
    // (form_id, version) -> (sha256, bundle id) of the text used.
    let mut used: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut total_records = 0;
    for (bundle, report, carried) in candidates {
        let mut problems = Vec::new();
        let mut loaded = Vec::new();
        let mut conflicts = Vec::new();
        for (form_id, version, sha256, text) in carried {
            let key = (form_id, version);
            if let Some((first_sha, first_bundle)) = used.get(&key) {
                if *first_sha != sha256 {
                    conflicts.push(summary::FormConflict {
                        form_id: key.0.clone(),
                        version: key.1.clone(),
                        used: first_bundle.clone(),
                        used_sha256: first_sha.clone(),
                        other: bundle.bundle_id.clone(),
                        other_sha256: sha256,
                    });
                }
                continue;
            }
            match load_form(&text, &key.0, &key.1, opts.forms_dir.as_deref()) {
                Ok(form) => loaded.push((key, sha256, form)),
                Err(why) => problems.push(why),
            }
        }
        if !problems.is_empty() {
            summary.failed_bundle(&report.file, &problems);
            continue;
        }
        summary.form_conflicts.extend(conflicts);
        for ((form_id, version), sha256, form) in loaded {
            let at = *form_at.entry(form_id.clone()).or_insert_with(|| {
                forms.push(FormTables {
                    form_id: form_id.clone(),
                    versions: BTreeMap::new(),
                    layout: Layout::default(),
                });
                forms.len() - 1
            });
            forms[at].versions.insert(version.clone(), Arc::new(form));
            used.insert((form_id, version), (sha256, bundle.bundle_id.clone()));
        }
        total_records += report.records;
        good.push(bundle);
    }
    (good, forms, total_records)
}

/// Runs the whole aggregation; the summary (also written to the folder).
pub fn run(files: &[PathBuf], opts: &Options) -> Result<Summary, String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| io("cannot create the output folder", e))?;
    let mut summary = Summary::default();

    // 1. Verify every bundle, on all cores.
    let verified = verify_all(files, &opts.signers, opts.threads, opts.progress)?;
    let mut candidates: Vec<(Good, verify::Report, Vec<Carried>)> = Vec::new();
    for (file, report, carried) in verified {
        if !report.ok {
            summary.failed_bundle(&report.file, &report.problems);
            continue;
        }
        let good = Good {
            device_id: report.device_id.clone().unwrap_or_default(),
            sequence: report.sequence.unwrap_or(0),
            manifest_sha256: report.manifest_sha256.clone().unwrap_or_default(),
            file,
            bundle_id: report.bundle_id.clone().unwrap_or_default(),
            enumerator_id: report.enumerator_id.clone().unwrap_or_default(),
        };
        candidates.push((good, report, carried));
    }
    // In (device, sequence, manifest) order, whatever the order given:
    // which form text comes first, and the rows' order, depend only on
    // which bundles were given.
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    // The same bundle given twice is read once (data managers often
    // receive a stick twice): counted, not a problem.
    let before = candidates.len();
    candidates.dedup_by(|a, b| a.0.same(&b.0));
    summary.duplicate_bundles = before - candidates.len();
    let reports: Vec<verify::Report> = candidates.iter().map(|c| c.1.clone()).collect();
    let (good, mut forms, total_records) = load_forms(candidates, opts, &mut summary);
    // Bundles left out for their forms are still part of their device's
    // chain: the sequence check sees them all.
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
    let mut aside: Vec<Aside> = Vec::new();
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
            aside: &mut aside,
            files: &mut files,
            seen: &mut seen,
            summary: &mut summary,
        };
        merge.all(done_rx)
        // Leaving the scope with an error drops the receiver: the
        // workers' next send fails and they stop, then the reader.
    });
    merged?;
    write_conflicts(&opts.out, &good, &aside, &identities)?;
    drop(aside);
    summary.bundles_read = good.len();
    drop(seen);
    if timing {
        crate::say!("timing: decrypt, merge and rows {:?}", t0.elapsed());
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
            // One workbook that cannot be written costs neither the
            // summary nor the other tables: it is a problem, said.
            let latest = ft.versions.values().last().map(|f| f.as_ref());
            let problems = xlsx::write(
                &opts.out,
                &ft.form_id,
                &ft.layout,
                &written,
                latest,
                opts.labels.as_deref(),
                opts.hxl,
            );
            summary.workbook_problems.extend(problems);
        }
        summary.tables.extend(written);
    }
    summary.write(&opts.out)?;
    Ok(summary)
}

#[cfg(test)]
mod tests;
