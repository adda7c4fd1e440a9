//! Aggregation for data managers: verify every bundle (a bundle that
//! fails is reported and left out), decrypt its records on all cores, merge
//! them (the same record twice counts once; the same id with different
//! content is a conflict, both versions kept aside), and write one table
//! per form and per repeat, and a summary. Streamed: bundles are read one
//! at a time, records are spooled to disk and tables written from the
//! spool, so memory stays bounded however many bundles. Rows come in the
//! order of (device, sequence, entry), so the tables depend only on which
//! bundles were given, not on their order or on earlier runs.

pub mod summary;
pub mod tables;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::bundle::signers::AllowedSigners;
use crate::bundle::{self, archive, verify};
use crate::form::{self, Form};
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
/// conflicts: its content hash, its spool line, the bundle it came in.
struct Seen {
    sha: [u8; 32],
    form: usize,
    offset: u64,
    bundle: String,
}

struct Spool {
    form_id: String,
    path: PathBuf,
    writer: BufWriter<File>,
    offset: u64,
    /// (version, form) of every version seen.
    versions: BTreeMap<String, Arc<Form>>,
}

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

/// A record decrypted and read: its JSON text (one line), the parsed
/// value, and the SHA-256 of the text.
struct Opened {
    text: Vec<u8>,
    record: Value,
    sha: [u8; 32],
}

/// Decrypts and parses records on `threads` threads, results in order.
fn open_all(
    identities: &[age::x25519::Identity],
    items: &[&[u8]],
    threads: usize,
) -> Vec<Result<Opened, String>> {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|ct| {
                            let plain = decrypt(identities, ct)?;
                            let record: Value = serde_json::from_slice(&plain)
                                .map_err(|e| format!("not a record ({e})"))?;
                            // One line, whatever the laptop wrote.
                            let text = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
                            Ok(Opened {
                                sha: sha(&plain),
                                text,
                                record,
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

/// Reads and verifies every bundle on `threads` threads: (file, report,
/// SHA-256 of the file), in the order given.
fn verify_all(
    files: &[PathBuf],
    signers: &AllowedSigners,
    threads: usize,
    show: bool,
) -> Result<Vec<(PathBuf, verify::Report, [u8; 32])>, String> {
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
                            Ok((file.clone(), report, sha(&bytes)))
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

/// Decrypts with the first identity that fits.
pub fn decrypt(identities: &[age::x25519::Identity], ciphertext: &[u8]) -> Result<Vec<u8>, String> {
    let decryptor = age::Decryptor::new(ciphertext).map_err(|e| e.to_string())?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                "not encrypted to this data manager's key".to_string()
            }
            other => other.to_string(),
        })?;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decrypts many records on `threads` threads, results in order.
pub fn decrypt_all(
    identities: &[age::x25519::Identity],
    items: &[&[u8]],
    threads: usize,
) -> Vec<Result<Vec<u8>, String>> {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|ct| decrypt(identities, ct))
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

/// Runs the whole aggregation; the summary (also written to the folder).
pub fn run(files: &[PathBuf], opts: &Options) -> Result<Summary, String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| io("cannot create the output folder", e))?;
    let mut summary = Summary::default();

    // 1. Verify every bundle, on all cores; keep the good ones, with the
    //    hash of the file, in a fixed order.
    let verified = verify_all(files, &opts.signers, opts.threads, opts.progress)?;
    let mut good: Vec<(String, u64, String, PathBuf, [u8; 32])> = Vec::new();
    let mut reports = Vec::new();
    for (file, report, file_sha) in verified {
        if report.ok {
            good.push((
                report.device_id.clone().unwrap_or_default(),
                report.sequence.unwrap_or(0),
                report.manifest_sha256.clone().unwrap_or_default(),
                file,
                file_sha,
            ));
            reports.push(report);
        } else {
            summary.failed_bundle(&report.file, &report.problems);
        }
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

    let timing = std::env::var_os("FIELDKIT_TIMING").is_some();
    let t0 = std::time::Instant::now();
    // 2. Decrypt and merge into per-form spools.
    let spool_dir = opts.out.join(".spool");
    let _ = std::fs::remove_dir_all(&spool_dir);
    std::fs::create_dir_all(&spool_dir).map_err(|e| io("cannot create the spool", e))?;
    let mut spools: Vec<Spool> = Vec::new();
    let mut seen: HashMap<u128, Seen> = HashMap::new();
    for (n, (_, _, _, file, file_sha)) in good.iter().enumerate() {
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
        let find = |name: &str| entries.iter().find(|e| e.name == name).map(|e| e.data);
        let manifest: bundle::Manifest = find(bundle::MANIFEST)
            .and_then(|m| serde_json::from_slice(m).ok())
            .ok_or_else(|| format!("{}: the manifest vanished", file.display()))?;
        // The forms of this bundle.
        for f in &manifest.forms {
            let at = match spools.iter().position(|s| s.form_id == f.form_id) {
                Some(i) => i,
                None => {
                    let path = spool_dir.join(format!("{}.jsonl", spools.len()));
                    let writer = BufWriter::new(
                        File::create(&path).map_err(|e| io("cannot write the spool", e))?,
                    );
                    spools.push(Spool {
                        form_id: f.form_id.clone(),
                        path,
                        writer,
                        offset: 0,
                        versions: BTreeMap::new(),
                    });
                    spools.len() - 1
                }
            };
            if !spools[at].versions.contains_key(&f.version) {
                let text = find(&bundle::form_path(&f.form_id, &f.version)).unwrap_or_default();
                let form = load_form(text, &f.form_id, &f.version, opts.forms_dir.as_deref())?;
                spools[at]
                    .versions
                    .insert(f.version.clone(), Arc::new(form));
            }
        }
        let items: Vec<&[u8]> = manifest
            .entries
            .iter()
            .map(|e| find(&e.path).unwrap_or_default())
            .collect();
        let opened = open_all(&opts.identities, &items, opts.threads);
        for (entry, result) in manifest.entries.iter().zip(opened) {
            let Opened { text, record, sha } = match result {
                Ok(o) => o,
                Err(why) => {
                    summary.undecryptable(&manifest.bundle_id, &entry.record_id, &why);
                    continue;
                }
            };
            if record["record_id"].as_str() != Some(entry.record_id.as_str()) {
                summary.undecryptable(
                    &manifest.bundle_id,
                    &entry.record_id,
                    "the record inside names another id",
                );
                continue;
            }
            let id = uuid::Uuid::parse_str(&entry.record_id)
                .map(|u| u.as_u128())
                .unwrap_or(0);
            let Some(form) = spools.iter().position(|s| s.form_id == entry.form_id) else {
                summary.undecryptable(
                    &manifest.bundle_id,
                    &entry.record_id,
                    "its form is not in the bundle",
                );
                continue;
            };
            if let Some(first) = seen.get(&id) {
                if first.sha == sha {
                    summary.duplicates += 1;
                } else {
                    write_conflict(
                        &opts.out,
                        &spools,
                        first,
                        &entry.record_id,
                        &manifest.bundle_id,
                        &record,
                    )?;
                    summary.conflict(&entry.record_id, &first.bundle, &manifest.bundle_id);
                }
                continue;
            }
            // {"bundle_id": ..., "record": <the record's JSON, one line>}
            let mut line = Vec::with_capacity(text.len() + 64);
            line.extend_from_slice(b"{\"bundle_id\":");
            line.extend_from_slice(&serde_json::to_vec(&manifest.bundle_id).unwrap_or_default());
            line.extend_from_slice(b",\"record\":");
            line.extend_from_slice(&text);
            line.push(b'}');
            let spool = &mut spools[form];
            let offset = spool.offset;
            spool
                .writer
                .write_all(&line)
                .and_then(|()| spool.writer.write_all(b"\n"))
                .map_err(|e| io("cannot write the spool", e))?;
            spool.offset += line.len() as u64 + 1;
            let version = record["form_version"].as_str().unwrap_or("").to_string();
            let form_model = spool.versions.get(&version).cloned();
            summary.count(&record, form_model.as_deref());
            seen.insert(
                id,
                Seen {
                    sha,
                    form,
                    offset,
                    bundle: manifest.bundle_id.clone(),
                },
            );
        }
    }
    summary.bundles_read = good.len();
    drop(seen);

    if timing {
        eprintln!("timing: decrypt and merge {:?}", t0.elapsed());
    }
    // 3. Tables from the spools.
    for spool in &mut spools {
        spool
            .writer
            .flush()
            .map_err(|e| io("cannot write the spool", e))?;
    }
    let mut spools = spools;
    spools.sort_by(|a, b| a.form_id.cmp(&b.form_id));
    for (i, spool) in spools.iter().enumerate() {
        progress(opts.progress, "tables", i + 1, spools.len());
        let written = write_tables(spool, opts)?;
        summary.tables.extend(written);
    }
    if timing {
        eprintln!("timing: tables {:?}", t0.elapsed());
    }
    let _ = std::fs::remove_dir_all(&spool_dir);
    summary.write(&opts.out)?;
    Ok(summary)
}

fn write_conflict(
    out: &Path,
    spools: &[Spool],
    first: &Seen,
    record_id: &str,
    bundle_id: &str,
    record: &Value,
) -> Result<(), String> {
    let dir = out.join("conflicts").join(record_id);
    std::fs::create_dir_all(&dir).map_err(|e| io("cannot write conflicts", e))?;
    let first_file = dir.join(format!("{}.json", first.bundle));
    if !first_file.exists() {
        // The first version, read back from its spool line.
        let spool = &spools[first.form];
        let mut f = File::open(&spool.path).map_err(|e| io("cannot read the spool", e))?;
        f.seek(std::io::SeekFrom::Start(first.offset))
            .map_err(|e| io("cannot read the spool", e))?;
        let mut line = String::new();
        let mut reader = BufReader::new(f);
        reader
            .read_line(&mut line)
            .map_err(|e| io("cannot read the spool", e))?;
        let v: Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
        std::fs::write(
            &first_file,
            serde_json::to_vec_pretty(&v["record"]).unwrap_or_default(),
        )
        .map_err(|e| io("cannot write conflicts", e))?;
    }
    std::fs::write(
        dir.join(format!("{bundle_id}.json")),
        serde_json::to_vec_pretty(record).unwrap_or_default(),
    )
    .map_err(|e| io("cannot write conflicts", e))
}

/// A CSV that Excel opens as UTF-8: a byte-order mark first.
fn csv_writer(path: &Path) -> Result<csv::Writer<BufWriter<File>>, String> {
    let mut file = BufWriter::new(
        File::create(path).map_err(|e| io(&format!("cannot write {}", path.display()), e))?,
    );
    file.write_all("\u{FEFF}".as_bytes())
        .map_err(|e| io(&format!("cannot write {}", path.display()), e))?;
    Ok(csv::Writer::from_writer(file))
}

/// Writes a form's tables; (file, rows) of each.
fn write_tables(spool: &Spool, opts: &Options) -> Result<Vec<(String, usize)>, String> {
    let mut layout = Layout::default();
    for form in spool.versions.values() {
        layout.add_version(form, opts.labels.as_deref());
    }
    let mut writers = Vec::new();
    for table in &layout.tables {
        let path = opts.out.join(table.file_name(&spool.form_id));
        let mut w = csv_writer(&path)?;
        let keys: &[&str] = if table.repeat.is_none() {
            &tables::META
        } else {
            &tables::REPEAT_KEYS
        };
        let header: Vec<String> = keys
            .iter()
            .map(|s| s.to_string())
            .chain(table.columns.iter().map(|c| c.header.clone()))
            .collect();
        w.write_record(&header).map_err(|e| e.to_string())?;
        if opts.hxl {
            let tags: Vec<String> = keys
                .iter()
                .map(|k| {
                    if *k == "record_id" {
                        "#meta+id".to_string()
                    } else {
                        String::new()
                    }
                })
                .chain(table.columns.iter().map(|c| c.hxl.clone()))
                .collect();
            w.write_record(&tags).map_err(|e| e.to_string())?;
        }
        writers.push((path, w, 0usize));
    }
    let reader =
        BufReader::new(File::open(&spool.path).map_err(|e| io("cannot read the spool", e))?);
    for line in reader.lines() {
        let line = line.map_err(|e| io("cannot read the spool", e))?;
        let v: Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
        let record = &v["record"];
        let empty = Map::new();
        let values = record["values"].as_object().unwrap_or(&empty);
        let record_id = record["record_id"].as_str().unwrap_or("").to_string();
        for (table, (_, w, rows)) in layout.tables.iter().zip(writers.iter_mut()) {
            if table.repeat.is_none() {
                let meta = [
                    record_id.clone(),
                    tables::cell(record.get("enumerator_id")),
                    tables::cell(record.get("device_id")),
                    tables::cell(v.get("bundle_id")),
                    tables::cell(record.get("form_version")),
                    tables::cell(record.get("started")),
                    tables::cell(record.get("finalized_at")),
                ];
                let cells: Vec<String> = meta
                    .into_iter()
                    .chain(tables::row(table, values, &layout.labels))
                    .collect();
                w.write_record(&cells).map_err(|e| e.to_string())?;
                *rows += 1;
            } else {
                for (parent, key, index, item) in tables::instances(values, &table.path) {
                    let cells: Vec<String> = [record_id.clone(), parent, key, index.to_string()]
                        .into_iter()
                        .chain(tables::row(table, item, &layout.labels))
                        .collect();
                    w.write_record(&cells).map_err(|e| e.to_string())?;
                    *rows += 1;
                }
            }
        }
    }
    let mut written = Vec::new();
    for (path, mut w, rows) in writers {
        w.flush()
            .map_err(|e| io(&format!("cannot write {}", path.display()), e))?;
        written.push((
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            rows,
        ));
    }
    if opts.xlsx {
        summary::write_xlsx(&opts.out, &spool.form_id, &written, spool)?;
    }
    Ok(written)
}

impl Spool {
    /// The latest version of the form, for its choice lists.
    pub fn latest(&self) -> Option<&Arc<Form>> {
        self.versions.values().last()
    }
}
