//! `fieldkit verify BUNDLE_OR_DIR... [--signers FILE] [--json]`: a
//! supervisor's check of bundles. Exit 0 when every bundle and every
//! device's sequence is in order, 1 when anything is wrong, 2 when a file
//! could not be read at all.

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde_json::json;

use super::{Globals, Outcome, print_json, print_line};
use crate::files::{self, bundle_files, read_bundle};

use crate::bundle::verify::{self, Report};

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

pub fn run(args: Args, _globals: &Globals) -> Result<Outcome> {
    let signers = files::signers(args.signers.as_deref(), "allowed_signers")?;
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
            super::print_checked(r.ok, &r.file, &what, &r.problems)?;
        }
        for p in &sequence {
            print_line(&format!("SEQUENCE {p}"))?;
        }
    }
    Ok(if ok { Outcome::Done } else { Outcome::Invalid })
}
