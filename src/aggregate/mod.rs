//! Aggregation for data managers: verify every bundle (a bundle that
//! fails is reported and left out), decrypt its records on all cores, merge
//! them (the same record twice counts once; the same id with different
//! content is a conflict, both versions kept aside), and write one table
//! per form and per repeat, and a summary. Streamed: the tables' columns
//! are known from the verified manifests before any record is decrypted,
//! bundles are then read one at a time, and each record's rows are
//! written as soon as it is merged, so memory stays bounded however many
//! bundles. Rows come in the order of (device, sequence, entry), so the
//! tables depend only on which bundles were given, not on their order.

pub mod summary;
pub mod tables;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::bundle::signers::AllowedSigners;
use crate::bundle::{self, archive, verify};
use crate::form::{self, Form};
use crate::store::crypt;
use summary::Summary;
use tables::Layout;

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
    /// One writer per table of the layout, and its rows so far.
    writers: Vec<(PathBuf, BufWriter<File>, usize)>,
}

/// A record decrypted, read and turned into rows by a worker.
struct Prepared {
    record_id: String,
    sha: [u8; 8],
    form: usize,
    /// (table, CSV bytes) of every row.
    rows: Vec<(usize, Vec<u8>)>,
    facts: summary::Facts,
}

/// Records decrypted at a time: bounds the memory of a large bundle.
const BATCH: usize = 1024;

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

/// A verified bundle: file, report, SHA-256 of the file, and the forms it
/// carries as (form_id, version, text).
type Verified = (
    PathBuf,
    verify::Report,
    [u8; 32],
    Vec<(String, String, Vec<u8>)>,
);

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
                            Ok((file.clone(), report, sha(&bytes), forms))
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
fn csv_line<S: AsRef<[u8]>>(cells: impl IntoIterator<Item = S>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(512));
    let _ = w.write_record(cells);
    w.into_inner().unwrap_or_default()
}

/// Opens a form's table files (a byte-order mark so Excel reads UTF-8,
/// the header, the HXL row when asked).
fn open_tables(ft: &mut FormTables, opts: &Options) -> Result<(), String> {
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
        ft.writers.push((path, file, 0));
    }
    Ok(())
}

/// A record's rows in every table of its form.
fn rows(layout: &Layout, record: &Value, bundle_id: &str) -> Vec<(usize, Vec<u8>)> {
    let empty = Map::new();
    let values = record["values"].as_object().unwrap_or(&empty);
    let record_id = record["record_id"].as_str().unwrap_or("").to_string();
    let mut out = Vec::new();
    for (t, table) in layout.tables.iter().enumerate() {
        if table.repeat.is_none() {
            let meta = [
                record_id.clone(),
                tables::cell(record.get("enumerator_id")),
                tables::cell(record.get("device_id")),
                bundle_id.to_string(),
                tables::cell(record.get("form_version")),
                tables::cell(record.get("started")),
                tables::cell(record.get("finalized_at")),
            ];
            out.push((
                t,
                csv_line(
                    meta.into_iter()
                        .chain(tables::row(table, values, &layout.labels)),
                ),
            ));
        } else {
            for (parent, key, index, item) in tables::instances(values, &table.path) {
                out.push((
                    t,
                    csv_line(
                        [record_id.clone(), parent, key, index.to_string()]
                            .into_iter()
                            .chain(tables::row(table, item, &layout.labels)),
                    ),
                ));
            }
        }
    }
    out
}

/// Decrypts, reads and formats records on `threads` threads, in order.
fn prepare_all(
    identities: &[age::x25519::Identity],
    items: &[&[u8]],
    forms: &[FormTables],
    bundle_id: &str,
    threads: usize,
) -> Vec<Result<Prepared, String>> {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|ct| {
                            let plain = crypt::decrypt_with_any(identities, ct)?;
                            let record: Value = serde_json::from_slice(&plain)
                                .map_err(|e| format!("not a record ({e})"))?;
                            let form_id = record["form_id"].as_str().unwrap_or("");
                            let form = forms
                                .iter()
                                .position(|f| f.form_id == form_id)
                                .ok_or("its form is not in the bundle")?;
                            let rows = rows(&forms[form].layout, &record, bundle_id);
                            let version = record["form_version"].as_str().unwrap_or("");
                            let model = forms[form].versions.get(version).map(|f| f.as_ref());
                            let digest = sha(&plain);
                            Ok(Prepared {
                                record_id: record["record_id"].as_str().unwrap_or("").to_string(),
                                sha: digest[..8].try_into().unwrap_or_default(),
                                facts: summary::Facts::of(&record, model),
                                form,
                                rows,
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|_| vec![Err("decryption stopped".to_string())])
            })
            .collect()
    })
}

/// A record decrypted and read as JSON.
fn read_record(data: &[u8], identities: &[age::x25519::Identity]) -> Result<Value, String> {
    serde_json::from_slice(&crypt::decrypt_with_any(identities, data)?).map_err(|e| e.to_string())
}

/// The record at position `entry` of a bundle's manifest, decrypted: a
/// conflict's first version, read back from its (already verified) file.
fn record_at(
    file: &Path,
    entry: usize,
    identities: &[age::x25519::Identity],
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

/// Runs the whole aggregation; the summary (also written to the folder).
pub fn run(files: &[PathBuf], opts: &Options) -> Result<Summary, String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| io("cannot create the output folder", e))?;
    let mut summary = Summary::default();

    // 1. Verify every bundle, on all cores.
    let verified = verify_all(files, &opts.signers, opts.threads, opts.progress)?;
    let mut good: Vec<(String, u64, String, PathBuf, [u8; 32], String)> = Vec::new();
    let mut reports = Vec::new();
    let mut forms: Vec<FormTables> = Vec::new();
    let mut total_records = 0;
    for (file, report, file_sha, carried) in verified {
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
                        writers: Vec::new(),
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
            file_sha,
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
        open_tables(ft, opts)?;
    }

    // 3. Decrypt, merge, write rows, a bundle at a time.
    let timing = std::env::var_os("FIELDKIT_TIMING").is_some();
    let t0 = std::time::Instant::now();
    // Sized once: growing a table of a million ids holds two at a time.
    let mut seen: HashMap<u128, Seen> = HashMap::with_capacity(total_records);
    let mut prep_time = std::time::Duration::ZERO;
    for (n, (_, _, _, file, file_sha, bundle_id)) in good.iter().enumerate() {
        progress(opts.progress, "decrypting", n + 1, good.len());
        let bytes =
            std::fs::read(file).map_err(|e| io(&format!("cannot read {}", file.display()), e))?;
        // The very bytes verified above (a stick may change under us).
        if sha(&bytes) != *file_sha {
            return Err(format!(
                "{} changed while it was being read; run again",
                file.display()
            ));
        }
        let entries =
            archive::read_verified(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
        let by_name: HashMap<&str, &[u8]> =
            entries.iter().map(|e| (e.name.as_str(), e.data)).collect();
        let manifest: bundle::Manifest = by_name
            .get(bundle::MANIFEST)
            .and_then(|m| serde_json::from_slice(m).ok())
            .ok_or_else(|| format!("{}: the manifest vanished", file.display()))?;
        for (b, batch) in manifest.entries.chunks(BATCH).enumerate() {
            let items: Vec<&[u8]> = batch
                .iter()
                .map(|e| by_name.get(e.path.as_str()).copied().unwrap_or_default())
                .collect();
            let tp = std::time::Instant::now();
            let prepared = prepare_all(&opts.identities, &items, &forms, bundle_id, opts.threads);
            prep_time += tp.elapsed();
            for (k, (entry, result)) in batch.iter().zip(prepared).enumerate() {
                let p = match result {
                    Ok(p) => p,
                    Err(why) => {
                        summary.undecryptable(bundle_id, &entry.record_id, &why);
                        continue;
                    }
                };
                if p.record_id != entry.record_id {
                    summary.undecryptable(
                        bundle_id,
                        &entry.record_id,
                        "the record inside names another id",
                    );
                    continue;
                }
                let id = uuid::Uuid::parse_str(&entry.record_id)
                    .map(|u| u.as_u128())
                    .unwrap_or(0);
                if let Some(first) = seen.get(&id) {
                    if first.sha == p.sha {
                        summary.duplicates += 1;
                    } else {
                        let (_, _, _, first_file, _, first_bundle) = &good[first.bundle as usize];
                        let original =
                            record_at(first_file, first.entry as usize, &opts.identities)?;
                        write_conflict(&opts.out, &entry.record_id, first_bundle, &original)?;
                        let data = by_name
                            .get(entry.path.as_str())
                            .copied()
                            .unwrap_or_default();
                        let this = read_record(data, &opts.identities)?;
                        write_conflict(&opts.out, &entry.record_id, bundle_id, &this)?;
                        summary.conflict(&entry.record_id, first_bundle, bundle_id);
                    }
                    continue;
                }
                let ft = &mut forms[p.form];
                for (t, line) in &p.rows {
                    let (path, w, rows) = &mut ft.writers[*t];
                    w.write_all(line)
                        .map_err(|e| io(&format!("cannot write {}", path.display()), e))?;
                    *rows += 1;
                }
                summary.add(p.facts);
                seen.insert(
                    id,
                    Seen {
                        sha: p.sha,
                        bundle: n as u32,
                        entry: (b * BATCH + k) as u32,
                    },
                );
            }
        }
    }
    summary.bundles_read = good.len();
    drop(seen);
    if timing {
        eprintln!(
            "timing: decrypt, merge and rows {:?}, of which in the workers {prep_time:?}",
            t0.elapsed()
        );
    }

    // 4. Close the tables; the workbooks; the summary.
    for ft in &mut forms {
        let mut written = Vec::new();
        for (path, w, rows) in &mut ft.writers {
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
