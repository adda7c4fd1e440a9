//! `fieldkit aggregate --identity FILE --out DIR BUNDLE_OR_DIR...
//! [--receipts DIR_OR_FILE...]`: the data manager's tables, with each
//! record's review status from the supervisors' receipts. The identity may be passphrase-wrapped (as `age -p`
//! or `fieldkit keygen --protect` write it).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{Globals, Outcome, print_line};
use crate::aggregate::{self, Options};
use crate::crypt;
use crate::files::{self, bundle_files};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data manager's age identity file.
    #[arg(long, value_name = "FILE")]
    pub identity: PathBuf,
    /// The folder for the tables and the summary (with --db, leave it out
    /// to only take the new bundles in).
    #[arg(long, value_name = "DIR", required_unless_present = "db")]
    pub out: Option<PathBuf>,
    /// Bundle files, or folders of them (with --db, those already in the
    /// warehouse are not read again).
    #[arg(value_name = "BUNDLE_OR_DIR", required_unless_present = "db")]
    pub bundles: Vec<PathBuf>,
    /// The warehouse: an SQLite file that keeps every bundle taken in, so
    /// each run decrypts only the new ones; with --out, the tables are
    /// written from all it holds.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Who may sign bundles (default: keys/allowed_signers).
    #[arg(long, value_name = "FILE")]
    pub signers: Option<PathBuf>,
    /// Last round's entity lists (`<list>.csv`, e.g. the `entities` folder
    /// of last round's aggregate output): this round's creates and updates
    /// are applied to them, and every list is written to OUT/entities/,
    /// ready for `pack build --entities`.
    #[arg(long, value_name = "DIR")]
    pub entities: Option<PathBuf>,
    /// The round's assignments (the CSV given to `pack build
    /// --assignments`): coverage per enumerator and area in coverage.csv
    /// and the summary.
    #[arg(long, value_name = "FILE")]
    pub assignments: Option<PathBuf>,
    /// The quality checks (checks.csv) name an answer saved to an entity
    /// that moved more than this percentage from last round's
    /// (`--entities`).
    #[arg(long, value_name = "PERCENT", default_value_t = 50.0, value_parser = percent)]
    pub move_percent: f64,
    /// Also write one XLSX workbook per form.
    #[arg(long)]
    pub xlsx: bool,
    /// Also write every table as Parquet, by form
    /// (DIR/form_id=<form>/<table>.parquet), typed from the form, for
    /// DuckDB, pandas, R or Spark.
    #[arg(long, value_name = "DIR")]
    pub parquet: Option<PathBuf>,
    /// Add the HXL tag row under the header.
    #[arg(long)]
    pub hxl: bool,
    /// Supervisors' receipts, a file or a folder of `*.json` receipts
    /// (repeat for more): each record's review_status (approved,
    /// returned, received, pending) and the reasons in changes.csv. A
    /// receipt that fails its check is named and not used (exit 1).
    #[arg(long, value_name = "DIR_OR_FILE")]
    pub receipts: Vec<PathBuf>,
    /// Who may sign receipts (default: keys/supervisors).
    #[arg(long, value_name = "FILE")]
    pub supervisors: Option<PathBuf>,
    /// Add label columns for choices, in a language: --labels or --labels="Lao (lo)".
    #[arg(long, value_name = "LANG", num_args = 0..=1, default_missing_value = "", require_equals = true)]
    pub labels: Option<String>,
}

/// A percentage above zero.
fn percent(text: &str) -> Result<f64, String> {
    match text.trim_end_matches('%').parse::<f64>() {
        Ok(p) if p.is_finite() && p > 0.0 => Ok(p),
        _ => Err(format!("'{text}' is not a percentage above 0, e.g. 50")),
    }
}

/// Problems said on the terminal, one line each; the rest are in
/// summary.md.
const SHOWN_PROBLEMS: usize = 20;

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    if args.parquet.is_some() && !cfg!(feature = "parquet") {
        anyhow::bail!(
            "this fieldkit was built without Parquet (the `parquet` feature); leave out \
             --parquet, or use a data manager's build (cargo build --release)"
        );
    }
    if args.db.is_some() && !cfg!(feature = "warehouse") {
        anyhow::bail!(
            "this fieldkit was built without the warehouse (the `warehouse` feature); leave \
             out --db, or use a data manager's build (cargo build --release)"
        );
    }
    let signers = files::signers(args.signers.as_deref(), "allowed_signers")?;
    let bytes = std::fs::read(&args.identity)
        .with_context(|| format!("cannot read the identity {}", args.identity.display()))?;
    let text = if crypt::is_age_file(&bytes) {
        let passphrase = globals.passphrase(
            &format!("Passphrase for {}", args.identity.display()),
            false,
        )?;
        let plain = crypt::unwrap_with_passphrase(&passphrase, &bytes).map_err(|e| match e {
            crypt::CryptError::WrongPassphrase => anyhow::anyhow!(
                "wrong passphrase for {}; type it again",
                args.identity.display()
            ),
            other => anyhow::anyhow!("{}: {other}", args.identity.display()),
        })?;
        String::from_utf8_lossy(&plain).into_owned()
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let identities = crypt::parse_identities(&text)
        .with_context(|| format!("in the identity file {}", args.identity.display()))?;
    let files = bundle_files(&args.bundles)?;
    if files.is_empty() && args.db.is_none() {
        bail!("no bundles (*.zip) found in what was given");
    }
    let receipts = receipt_files(&args.receipts)?;
    let supervisors = if !receipts.is_empty() {
        Some(
            files::signers(args.supervisors.as_deref(), "supervisors").context(
                "receipts are checked against the supervisors file (--supervisors FILE)",
            )?,
        )
    } else if args.db.is_some() {
        // The receipts the warehouse keeps are checked again with the
        // supervisors file of the day, when there is one.
        files::signers(args.supervisors.as_deref(), "supervisors").ok()
    } else {
        None
    };
    let labels = args.labels.map(|l| {
        if l.is_empty() {
            "English (en)".to_string()
        } else {
            l
        }
    });
    let opts = Options {
        keep_bytes: aggregate::KEEP_BYTES,
        identities,
        signers,
        out: args.out.clone().unwrap_or_default(),
        forms_dir: globals.forms.clone(),
        labels,
        hxl: args.hxl,
        xlsx: args.xlsx,
        progress: std::io::stderr().is_terminal(),
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        entities: args.entities.clone(),
        assignments: args.assignments.clone(),
        receipts,
        supervisors,
        parquet: args.parquet.clone(),
        checks: aggregate::checks::Settings {
            move_share: args.move_percent / 100.0,
            ..Default::default()
        },
        db: args.db.clone(),
    };
    let Some(out) = &args.out else {
        return take_in(&files, &opts);
    };
    let summary = aggregate::run(&files, &opts).map_err(anyhow::Error::msg)?;
    if let Some(w) = &summary.warehouse {
        say_taken_in(w);
    }
    crate::say!(
        "fieldkit: {} record(s) from {} bundle(s) into {}; {} problem(s) (see summary.md)",
        summary.records,
        summary.bundles_read,
        out.display(),
        summary.problems()
    );
    // Findings are no problem (the exit code stays): records to look at.
    if summary.checks_total > 0 {
        crate::say!(
            "fieldkit: {} quality check finding(s) to look at: checks.csv, summary.html",
            summary.checks_total
        );
    }
    let r = &summary.review;
    if r.receipts_used > 0 || r.earlier_versions > 0 || r.corrected > 0 {
        crate::say!(
            "  review: {} approved, {} returned, {} received, {} pending; {} corrected, {} \
             earlier version(s) in versions/, {} change(s) in changes.csv",
            r.approved,
            r.returned,
            r.received,
            r.pending,
            r.corrected,
            r.earlier_versions,
            r.changes.unwrap_or(0)
        );
    }
    let lines = summary.problem_lines();
    for line in lines.iter().take(SHOWN_PROBLEMS) {
        crate::say!("  - {line}");
    }
    if lines.len() > SHOWN_PROBLEMS {
        crate::say!(
            "  ... and {} more (see summary.md)",
            lines.len() - SHOWN_PROBLEMS
        );
    }
    print_line(&out.join("summary.md").display().to_string())?;
    Ok(if summary.problems() == 0 {
        Outcome::Done
    } else {
        Outcome::Invalid
    })
}

/// `--db` without `--out`: the new bundles taken into the warehouse, and
/// nothing else written.
fn take_in(files: &[PathBuf], opts: &Options) -> Result<Outcome> {
    let db = opts.db.as_deref().unwrap_or(std::path::Path::new(""));
    let (taken, refused) = aggregate::take_in(files, db, opts).map_err(anyhow::Error::msg)?;
    say_taken_in(&taken);
    // (A run that writes the tables says these among its problems.)
    for line in &taken.receipts_not_kept {
        crate::say!("  - {line}");
    }
    for report in &refused {
        crate::say!(
            "  - {}: not taken in: {}",
            report.file,
            report.problems.join("; ")
        );
    }
    Ok(
        if refused.is_empty() && taken.receipts_not_kept.is_empty() {
            Outcome::Done
        } else {
            Outcome::Invalid
        },
    )
}

/// What the warehouse took in and holds, on the terminal.
fn say_taken_in(w: &aggregate::summary::Ingested) {
    crate::say!(
        "fieldkit: warehouse {}: {} new bundle(s) taken in ({} record(s), {} attachment(s){}), \
         {} already in; it holds {} bundle(s), {} record(s)",
        w.file,
        w.new_bundles,
        w.new_records,
        w.new_attachments,
        if w.sealed > 0 {
            format!(", {} kept sealed: no identity given opens them", w.sealed)
        } else {
            String::new()
        },
        w.known_bundles,
        w.bundles,
        w.records
    );
    if w.new_receipts > 0 {
        crate::say!("  {} receipt(s) kept in the warehouse", w.new_receipts);
    }
}

/// The receipt files given: files as they are, folders' `*.json` files
/// (sorted, not recursive).
fn receipt_files(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in given {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read the receipts folder {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}
