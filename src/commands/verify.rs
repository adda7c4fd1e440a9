//! `fieldkit verify BUNDLE_OR_DIR... [--signers FILE] [--json]`: a
//! supervisor's check of bundles. Exit 0 when every bundle and every
//! device's sequence is in order, 1 when anything is wrong, 2 when a file
//! could not be read at all.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{Globals, Outcome, print_json, print_line};
use crate::bundle::archive::MAX_BUNDLE_BYTES;
use crate::bundle::signers::AllowedSigners;
use crate::bundle::verify::{self, Report};
use crate::paths;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bundle files, or folders of them (*.zip).
    #[arg(value_name = "BUNDLE", required = true)]
    pub bundles: Vec<PathBuf>,
    /// Who may sign bundles (default: keys/allowed_signers).
    #[arg(long, value_name = "FILE")]
    pub signers: Option<PathBuf>,
    /// Print one JSON report.
    #[arg(long)]
    pub json: bool,
}

/// Reads an allowed_signers file: the one given, or the shipped `name`.
pub fn load_signers(given: Option<&Path>, name: &str) -> Result<AllowedSigners> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => paths::shipped_key(name).with_context(|| {
            format!("no keys/{name} found beside fieldkit; give it with --signers FILE")
        })?,
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the signers file {}", path.display()))?;
    let signers =
        AllowedSigners::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    // valid-after / valid-before are checked against fieldkit's clock
    // (FIELDKIT_NOW pins it), as ssh-keygen checks them against now.
    Ok(signers.at(paths::now().epoch_ms.div_euclid(1000)))
}

/// The bundle files named: files as given, folders' *.zip sorted.
pub fn bundle_files(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in given {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "zip") && f.is_file())
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads a bundle file within the size cap.
pub fn read_bundle(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}; check the path", path.display()))?;
    if meta.len() > MAX_BUNDLE_BYTES {
        bail!(
            "{} is {} bytes, over the bundle limit",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(args: Args, _globals: &Globals) -> Result<Outcome> {
    let signers = load_signers(args.signers.as_deref(), "allowed_signers")?;
    let files = bundle_files(&args.bundles)?;
    if files.is_empty() {
        bail!("no bundles (*.zip) found in what was given");
    }
    let mut reports: Vec<Report> = Vec::new();
    for file in &files {
        let bytes = read_bundle(file)?;
        reports.push(verify::verify(
            &file.display().to_string(),
            &bytes,
            &signers,
        ));
    }
    let sequence = verify::sequences(&reports);
    let ok = reports.iter().all(|r| r.ok) && sequence.is_empty();
    if args.json {
        print_json(
            &json!({
                "ok": ok,
                "bundles": reports,
                "sequence_problems": sequence,
            }),
            true,
        )?;
    } else {
        for r in &reports {
            let what = match (&r.enumerator_id, r.sequence) {
                (Some(who), Some(seq)) => format!("{who} bundle {seq}, {} record(s)", r.records),
                _ => String::new(),
            };
            print_line(&format!(
                "{} {}  {what}",
                if r.ok { "ok " } else { "BAD" },
                r.file
            ))?;
            for p in &r.problems {
                print_line(&format!("    - {p}"))?;
            }
        }
        for p in &sequence {
            print_line(&format!("SEQUENCE {p}"))?;
        }
    }
    Ok(if ok { Outcome::Done } else { Outcome::Invalid })
}
