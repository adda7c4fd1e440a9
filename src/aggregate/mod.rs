//! Aggregation for data managers: verify every bundle (a bundle that
//! fails is reported and left out), decrypt its records on all cores, merge
//! them (the same record twice counts once; the same id with different
//! content is a conflict, both versions kept aside), and write one table
//! per form and per repeat, and a summary. Streamed: the tables' columns
//! are known from the verified manifests before any record is decrypted,
//! bundles are then cut into runs of records by one thread, a bundle
//! at a time (from the bytes the verify pass kept, or read again); worker threads on every core decrypt a run and make
//! its rows, while this thread merges the runs in order and writes the
//! rows (and, with `--xlsx`, feeds them to each form's workbook, written
//! on a thread of its own meanwhile). Only a few runs are in flight, so
//! memory stays bounded however many bundles. Rows come in the order of
//! (device, sequence, entry), so the tables depend only on which bundles
//! were given, not on their order. A record with several versions (a
//! correction of a returned record) is decided from the manifests before
//! any decryption too: its latest sound version goes to the tables, the
//! earlier ones are held and written to `versions/` at the end, with the
//! changes between them (`changes.csv`).
//!
//! This file owns the pipeline (the steps of [`run`], in order) and what
//! the steps share (`Options`, `Good`, the progress bar, the work
//! counts). The steps: `read` (the verify pass, then bundles cut into
//! runs), `forms` (the forms the bundles carry), `decrypt` (the workers),
//! `runs` (what passes between the reading thread, workers and merge),
//! `merge` (records in order, duplicates, conflicts), `versions` (which
//! version of a record goes where, hostile corrections), `review`
//! (receipts: each record version's review status), `changes` (the
//! change log), `output` (safe paths, the CSV files), `tables` (columns
//! and rows), `choices` (choices.csv, the value labels), `summary`, `xlsx`
//! (the workbooks); `error` says what stops a run and what leaves a
//! record or a bundle out.

mod changes;
pub mod checks;
pub mod choices;
pub mod coverage;
mod decrypt;
pub mod entities;
mod error;
mod forms;
pub mod media;
mod merge;
mod output;
#[cfg(feature = "parquet")]
pub mod parquet;
mod read;
pub mod report;
pub mod review;
mod runs;
pub mod summary;
pub mod tables;
mod versions;
#[cfg(feature = "warehouse")]
mod warehouse;
pub mod written;
pub mod xlsx;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::bundle::signers::AllowedSigners;
use crate::bundle::verify;
use crate::crypt;
use coverage::Visit;
use decrypt::{Shared, work};
pub use error::{AggregateError, FormProblem, RecordProblem};
use forms::{Candidate, FormTables, load_forms};
use merge::{Aside, Merge, Seen, write_conflicts};
use output::{TableFile, open_tables, under};
pub use read::KEEP_BYTES;
use read::{Kept, QUEUED, VerifiedBundle, produce, verify_all};
use runs::{Job, RunDone};
use summary::Summary;
use xlsx::Book;

/// The counters behind [`summary::Work`], shared by every thread.
#[derive(Debug, Default)]
struct WorkCount {
    bundle_reads: AtomicUsize,
    archive_parses: AtomicUsize,
    decryptions: AtomicUsize,
}

impl WorkCount {
    fn count(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn done(&self) -> summary::Work {
        summary::Work {
            bundle_reads: self.bundle_reads.load(Ordering::Relaxed),
            archive_parses: self.archive_parses.load(Ordering::Relaxed),
            decryptions: self.decryptions.load(Ordering::Relaxed),
        }
    }
}

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
    /// Last round's entity lists (`<list>.csv`), which this round's
    /// creates and updates are applied to (`entities/` of the output).
    pub entities: Option<PathBuf>,
    /// The round's assignments (`enumerator_id,list,name`), which
    /// coverage is measured against (`coverage.csv`, the summary).
    pub assignments: Option<PathBuf>,
    /// Bytes of verified bundles kept in memory from verification to
    /// decryption ([`KEEP_BYTES`]; 0 reads every bundle again).
    pub keep_bytes: usize,
    /// Supervisors' receipt files (`review`): each record version's
    /// review status.
    pub receipts: Vec<PathBuf>,
    /// Who may sign receipts (needed when receipts are given).
    pub supervisors: Option<AllowedSigners>,
    /// Where to write the tables as Parquet as well (`--parquet`; the
    /// `parquet` cargo feature).
    pub parquet: Option<PathBuf>,
    /// The quality checks' thresholds (checks.csv).
    pub checks: checks::Settings,
    /// The warehouse (`--db`; the `warehouse` cargo feature): bundles not
    /// in it yet are taken in, and the tables are written from it.
    pub db: Option<PathBuf>,
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
    /// Where the warehouse keeps it, when it comes from there.
    stored: Option<Stored>,
}

/// A bundle kept in the warehouse: the warehouse file and its row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Stored {
    db: Arc<Path>,
    id: i64,
}

/// A bundle kept in the warehouse, opened.
#[cfg(feature = "warehouse")]
fn stored_bundle(good: &Good, stored: &Stored) -> Result<read::Opened, AggregateError> {
    warehouse::opened(good, stored)
}

/// What a build without the `warehouse` feature says of `--db` (the
/// command refuses it before anything is read).
#[cfg(not(feature = "warehouse"))]
fn without_warehouse(db: &Path) -> AggregateError {
    AggregateError::Warehouse {
        path: db.to_path_buf(),
        why: "this fieldkit was built without the warehouse".into(),
    }
}

/// Without the `warehouse` feature nothing comes from a warehouse.
#[cfg(not(feature = "warehouse"))]
fn stored_bundle(_: &Good, stored: &Stored) -> Result<read::Opened, AggregateError> {
    Err(without_warehouse(&stored.db))
}

impl Good {
    /// The same bundle (given twice).
    fn same(&self, other: &Good) -> bool {
        self.device_id == other.device_id
            && self.sequence == other.sequence
            && self.manifest_sha256 == other.manifest_sha256
    }
}

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

/// Runs the whole aggregation; the summary (also written to the folder).
pub fn run(files: &[PathBuf], opts: &Options) -> Result<Summary, AggregateError> {
    std::fs::create_dir_all(&opts.out).map_err(|source| AggregateError::OutputFolder {
        path: opts.out.clone(),
        source,
    })?;
    let mut summary = Summary::default();
    let count = WorkCount::default();
    // Last round's entity lists and the assignments, read before
    // anything else.
    let lists = entities::last_round(opts.entities.as_deref())?;
    let assignments = match &opts.assignments {
        None => None,
        Some(file) => {
            let bytes = std::fs::read(file).map_err(|source| AggregateError::Read {
                path: file.clone(),
                source,
            })?;
            let shown = file.display().to_string();
            Some(
                crate::assignments::parse(&shown, &bytes)
                    .map_err(|why| AggregateError::Assignments { why })?,
            )
        }
    };

    // 1. Verify every bundle, on all cores; load the forms they carry.
    // With a warehouse: the bundles not in it yet are taken in, and every
    // bundle it holds is read from it.
    let verified = match &opts.db {
        None => verify_all(files, opts, &count)?,
        Some(db) => from_warehouse(files, db, opts, &count, &mut summary)?,
    };
    let (candidates, mut kept, entries) = candidates(verified, &mut summary);
    let reports: Vec<verify::Report> = candidates.iter().map(|c| c.report.clone()).collect();
    let (good, mut forms, total_records) = load_forms(candidates, opts, &mut summary);
    kept.retain(|sha, _| good.iter().any(|g| &g.manifest_sha256 == sha));
    // Bundles left out for their forms are still part of their device's
    // chain: the sequence check sees them all.
    summary.sequence_problems = verify::sequences(&reports);
    drop(reports);
    // Receipts, and which version of each record goes to the tables,
    // from the manifests: before any row is written.
    let receipts = receipts_of(opts)?;
    let reviews = review::load(
        &receipts,
        opts.supervisors.as_ref(),
        &good,
        &entries,
        &mut summary,
    )?;
    let plan = versions::plan(&good, &entries, &mut summary);
    drop(entries);

    // 2. Every form's columns, from all its versions; the tables opened,
    // and the workbooks started beside them (`--xlsx`).
    let (mut files, books) = open_all_tables(&mut forms, opts, &mut summary)?;

    // 3. Decrypt on every core, merge and write rows here, in order.
    let timing = std::env::var_os("FIELDKIT_TIMING").is_some();
    let t0 = std::time::Instant::now();
    let pass = Pass {
        opts,
        good: &good,
        forms: &forms,
        count: &count,
        reviews: &reviews,
        plan: &plan,
    };
    let round = Round { lists, assignments };
    pass.decrypt_and_merge(&mut files, &mut summary, total_records, round, kept)?;
    summary.bundles_read = good.len();
    if timing {
        crate::say!("timing: decrypt, merge and rows {:?}", t0.elapsed());
    }

    // 4. Close the tables; the workbooks; the summary.
    close(&forms, &mut files, books, &mut summary)?;
    choices::write(&opts.out, &forms, opts.labels.as_deref())?;
    if let Some(dir) = &opts.parquet {
        write_parquet(&forms, &files, dir, opts.hxl, &mut summary)?;
    }
    summary.work = count.done();
    // 5. The quality checks and the report, from the tables just written.
    let t0 = std::time::Instant::now();
    let shown = check_and_report(&forms, opts, &mut summary)?;
    summary.write(&opts.out)?;
    report::write(&opts.out, &summary, &shown)?;
    #[cfg(feature = "warehouse")]
    if let Some(db) = &opts.db {
        warehouse::keep_outputs(db, &opts.out, &summary)?;
    }
    if timing {
        crate::say!("timing: checks and report {:?}", t0.elapsed());
    }
    Ok(summary)
}

/// The receipts given and, with a warehouse, every receipt it keeps (each
/// once).
fn receipts_of(opts: &Options) -> Result<Vec<review::Given>, AggregateError> {
    let given = review::read(&opts.receipts)?;
    #[cfg(feature = "warehouse")]
    if let Some(db) = &opts.db {
        let mut all = given;
        let seen: std::collections::HashSet<[u8; 32]> =
            all.iter().map(|r| decrypt::sha(&r.bytes)).collect();
        let kept = warehouse::receipts(db)?;
        all.extend(
            kept.into_iter()
                .filter(|r| !seen.contains(&decrypt::sha(&r.bytes))),
        );
        return Ok(all);
    }
    Ok(given)
}

/// Only takes the bundles not in the warehouse yet in (`--db` without
/// `--out`): what it took, and the reports of the bundles refused.
#[cfg(feature = "warehouse")]
pub fn take_in(
    files: &[PathBuf],
    db: &Path,
    opts: &Options,
) -> Result<(summary::Ingested, Vec<verify::Report>), AggregateError> {
    warehouse::ingest(files, db, opts, &WorkCount::default())
}

#[cfg(not(feature = "warehouse"))]
pub fn take_in(
    _: &[PathBuf],
    db: &Path,
    _: &Options,
) -> Result<(summary::Ingested, Vec<verify::Report>), AggregateError> {
    Err(without_warehouse(db))
}

/// Takes the bundles not in the warehouse yet in, and gives every bundle
/// it holds (and those refused now, to be said).
#[cfg(feature = "warehouse")]
fn from_warehouse(
    files: &[PathBuf],
    db: &Path,
    opts: &Options,
    count: &WorkCount,
    summary: &mut Summary,
) -> Result<Vec<VerifiedBundle>, AggregateError> {
    let (ingested, refused) = warehouse::ingest(files, db, opts, count)?;
    summary.warehouse = Some(ingested);
    let mut all = warehouse::load(db)?;
    all.extend(refused.into_iter().map(|report| VerifiedBundle {
        file: PathBuf::from(&report.file),
        report,
        forms: Vec::new(),
        kept: None,
        entries: Vec::new(),
        stored: None,
    }));
    Ok(all)
}

#[cfg(not(feature = "warehouse"))]
fn from_warehouse(
    _: &[PathBuf],
    db: &Path,
    _: &Options,
    _: &WorkCount,
    _: &mut Summary,
) -> Result<Vec<VerifiedBundle>, AggregateError> {
    Err(without_warehouse(db))
}

/// Runs the quality checks over the forms' tables (checks.csv) and works
/// out the report's figures; the findings the report shows.
fn check_and_report(
    forms: &[FormTables],
    opts: &Options,
    summary: &mut Summary,
) -> Result<Vec<checks::Finding>, AggregateError> {
    let tables: Vec<written::FormTable> = forms
        .iter()
        .filter_map(|ft| ft.versions.values().last())
        .map(|form| written::FormTable::of(&opts.out, form))
        .collect();
    let last_round = entities::last_round(opts.entities.as_deref())?;
    let dirs = crate::paths::forms_dirs(opts.forms_dir.as_deref());
    // The checks and the report's figures each read the tables: on two
    // cores at once (both only read; the decryption is over).
    let shared: &Summary = summary;
    let (checked, figures) = std::thread::scope(|scope| {
        let figures = scope.spawn(|| report::figures::compute(&tables, &dirs, shared));
        let checked = checks::run(&opts.out, &tables, &last_round, opts.checks);
        let figures = figures.join().unwrap_or(Err(AggregateError::ReportStopped));
        (checked, figures)
    });
    let checked = checked?;
    summary.checks_total = checked.counts.values().sum();
    summary.checks = checked.counts;
    summary.report = figures?;
    Ok(checked.shown)
}

/// The bundles that verified (in order), those kept in memory and what
/// each manifest says of its records' versions, both by manifest hash.
type Sorted = (
    Vec<Candidate>,
    HashMap<String, Kept>,
    HashMap<String, Vec<versions::EntryFacts>>,
);

/// The bundles that verified, in (device, sequence, manifest) order,
/// each once, and those the verify pass kept, by manifest hash; the
/// others reported.
fn candidates(verified: Vec<VerifiedBundle>, summary: &mut Summary) -> Sorted {
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut kept_bundles = HashMap::new();
    let mut entries_of = HashMap::new();
    for VerifiedBundle {
        file,
        report,
        forms,
        kept,
        entries,
        stored,
    } in verified
    {
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
            stored,
        };
        if let Some(kept) = kept {
            kept_bundles.insert(good.manifest_sha256.clone(), kept);
        }
        entries_of.insert(good.manifest_sha256.clone(), entries);
        candidates.push(Candidate {
            good,
            report,
            forms,
        });
    }
    // In (device, sequence, manifest) order, whatever the order given:
    // which form text comes first, and the rows' order, depend only on
    // which bundles were given.
    candidates.sort_by(|a, b| a.good.cmp(&b.good));
    // The same bundle given twice is read once (data managers often
    // receive a stick twice): counted, not a problem.
    let before = candidates.len();
    candidates.dedup_by(|a, b| a.good.same(&b.good));
    summary.duplicate_bundles = before - candidates.len();
    // Only the bundles kept from the first in order on stay: they are
    // decrypted first, so their bytes go before the merge's tables grow.
    let prefix = candidates
        .iter()
        .take_while(|c| kept_bundles.contains_key(&c.good.manifest_sha256))
        .count();
    for c in &candidates[prefix..] {
        kept_bundles.remove(&c.good.manifest_sha256);
    }
    (candidates, kept_bundles, entries_of)
}

/// Each form's table files, and its workbook (`--xlsx`).
type Opened = (Vec<Vec<TableFile>>, Vec<Option<Book>>);

/// Every form's columns, from all its versions (forms sorted by id), its
/// table files opened and, with `--xlsx`, its workbook started (a
/// workbook that cannot be is a problem said: the CSV tables have it all).
fn open_all_tables(
    forms: &mut [FormTables],
    opts: &Options,
    summary: &mut Summary,
) -> Result<Opened, AggregateError> {
    forms.sort_by(|a, b| a.form_id.cmp(&b.form_id));
    for ft in forms.iter_mut() {
        for form in ft.versions.values() {
            ft.layout.add_version(form, opts.labels.as_deref());
        }
    }
    let mut files = Vec::with_capacity(forms.len());
    let mut books = Vec::with_capacity(forms.len());
    for ft in forms.iter() {
        let book = if opts.xlsx {
            match under(&opts.out, &[&format!("{}.xlsx", ft.form_id)]) {
                Ok(path) => Some(Book::start(
                    path,
                    &ft.form_id,
                    &ft.layout,
                    ft.versions.values().last().cloned(),
                    opts.labels.clone(),
                    opts.hxl,
                )),
                Err(why) => {
                    summary.workbook_problems.push(why.to_string());
                    None
                }
            }
        } else {
            None
        };
        files.push(open_tables(
            &ft.form_id,
            &ft.layout,
            &opts.out,
            opts.hxl,
            book.as_ref(),
        )?);
        books.push(book);
    }
    Ok((files, books))
}

/// What a round brings besides bundles: last round's entity lists and
/// the assignments coverage is measured against.
struct Round {
    lists: entities::Lists,
    assignments: Option<Vec<crate::assignments::Assignment>>,
}

/// What the decrypt pass shares with its threads.
struct Pass<'a> {
    opts: &'a Options,
    good: &'a [Good],
    forms: &'a [FormTables],
    count: &'a WorkCount,
    reviews: &'a review::Reviews,
    plan: &'a versions::Plan,
}

impl Pass<'_> {
    /// Cuts the verified bundles into runs on one thread (from the bytes
    /// kept, or read again), decrypts on every core, merges and writes the rows on this one; then writes both
    /// versions of every conflict.
    fn decrypt_and_merge(
        &self,
        files: &mut [Vec<TableFile>],
        summary: &mut Summary,
        total_records: usize,
        round: Round,
        kept: HashMap<String, Kept>,
    ) -> Result<(), AggregateError> {
        let Pass {
            opts,
            good,
            forms,
            count,
            reviews,
            plan,
        } = *self;
        let identities: Vec<crypt::X25519Identity> = opts
            .identities
            .iter()
            .map(crypt::X25519Identity::new)
            .collect();
        // Sized once: growing a table of a million ids holds two at a time.
        let mut seen: HashMap<u128, Seen> = HashMap::with_capacity(total_records);
        let mut aside: Vec<Aside> = Vec::new();
        let mut changes: Vec<entities::Change> = Vec::new();
        let mut media: Vec<media::Wanted> = Vec::new();
        let merged = std::thread::scope(|scope| {
            let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job>(QUEUED);
            let (done_tx, done_rx) = std::sync::mpsc::channel::<RunDone>();
            let job_rx = Arc::new(Mutex::new(job_rx));
            let shared = Shared {
                identities: &identities,
                forms,
                good,
                count,
                reviews,
                plan,
            };
            for _ in 0..opts.threads.max(1) {
                let (job_rx, done_tx) = (Arc::clone(&job_rx), done_tx.clone());
                scope.spawn(move || work(&job_rx, done_tx, shared));
            }
            drop(job_rx);
            scope.spawn(move || produce(good, kept, job_tx, done_tx, count));
            let mut merge = Merge {
                opts,
                good,
                aside: &mut aside,
                entities: &mut changes,
                files,
                seen: &mut seen,
                summary: &mut *summary,
                media: &mut media,
                forms,
                plan,
                reviews,
                held: HashMap::new(),
            };
            merge.all(done_rx)?;
            // Every record is read: the records with versions settled.
            merge.finish_versions()
            // Leaving the scope with an error drops the receiver: the
            // workers' next send fails and they stop, then the reader.
        });
        merged?;
        drop(seen);
        write_conflicts(&opts.out, good, &aside, &identities, count)?;
        // The entity lists for the next round: last round's with this
        // round's changes, when there is either.
        let visits: Vec<Visit> = changes
            .iter()
            .map(|c| Visit {
                list: c.op.list.clone(),
                name: c.op.id.clone(),
                enumerator: c.enumerator.clone(),
            })
            .collect();
        let applied = entities::write(&opts.out, round.lists, changes)?;
        summary.entity_lists = applied.written;
        summary.entity_problems.extend(applied.problems);
        if let Some(assignments) = &round.assignments {
            summary.coverage = Some(coverage::write(
                &opts.out,
                assignments,
                &visits,
                &applied.lists,
            )?);
        }
        media::write_media(&opts.out, good, media, &identities, count, summary)
    }
}

/// Flushes every table, finishes the workbooks, and lists the tables in
/// the summary.
fn close(
    forms: &[FormTables],
    files: &mut [Vec<TableFile>],
    books: Vec<Option<Book>>,
    summary: &mut Summary,
) -> Result<(), AggregateError> {
    for ((_, table_files), book) in forms.iter().zip(files).zip(books) {
        for table in table_files.iter_mut() {
            table
                .writer
                .flush()
                .map_err(|e| AggregateError::write(&table.path, e))?;
            table.sheet = None;
            summary.tables.push((
                table
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                table.rows,
            ));
        }
        // One workbook that cannot be written costs neither the summary
        // nor the other tables: it is a problem, said.
        if let Some(book) = book {
            summary.workbook_problems.extend(book.finish());
        }
    }
    Ok(())
}

/// Every table written again as Parquet under `dir` (`--parquet`).
#[cfg(feature = "parquet")]
fn write_parquet(
    forms: &[FormTables],
    files: &[Vec<TableFile>],
    dir: &Path,
    hxl: bool,
    summary: &mut Summary,
) -> Result<(), AggregateError> {
    std::fs::create_dir_all(dir).map_err(|source| AggregateError::OutputFolder {
        path: dir.to_path_buf(),
        source,
    })?;
    for (ft, table_files) in forms.iter().zip(files) {
        for table in &ft.layout.tables {
            let name = table.file_name(&ft.form_id);
            let Some(file) = table_files.iter().find(|f| {
                f.path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy() == name)
            }) else {
                continue;
            };
            let written = parquet::write_table(dir, &ft.form_id, table, &file.path, hxl)?;
            let shown = |path: &Path| {
                path.strip_prefix(dir)
                    .unwrap_or(path)
                    .to_string_lossy()
                    .replace('\\', "/")
            };
            for column in &written.as_text {
                summary.workbook_problems.push(format!(
                    "{name} as Parquet: column {column} is written as text: an answer in it \
                     is not a number of its type"
                ));
            }
            for (round, folder) in &written.shortened {
                summary.workbook_problems.push(format!(
                    "{name} as Parquet: the round {round:?} is too long for a folder name; its \
                     rows are in {folder} (the CSV has the round whole)"
                ));
            }
            for (path, rows) in &written.files {
                summary.parquet_tables.push((shown(path), *rows));
            }
        }
    }
    Ok(())
}

/// Without the `parquet` feature, `--parquet` is refused before anything
/// is read (see the command); nothing to write here.
#[cfg(not(feature = "parquet"))]
fn write_parquet(
    _: &[FormTables],
    _: &[Vec<TableFile>],
    _: &Path,
    _: bool,
    _: &mut Summary,
) -> Result<(), AggregateError> {
    Ok(())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod versions_tests;
