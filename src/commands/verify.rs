//! `fieldkit verify BUNDLE_OR_DIR... [--signers FILE] [--json]
//! [--assignments FILE [--entities DIR]]`: a supervisor's check of
//! bundles, and with the round's assignments, coverage (the entities the
//! signed manifests say were visited, per enumerator and area). Exit 0
//! when every bundle and every device's sequence is in order, 1 when
//! anything is wrong, 2 when a file could not be read at all. Coverage
//! never changes the exit code.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{Globals, Outcome, print_json, print_line};
use crate::aggregate::coverage::{self, Visit};
use crate::aggregate::entities;
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
    /// The round's assignments (the CSV given to `pack build
    /// --assignments`): say which assigned entities the bundles visit.
    #[arg(long, value_name = "FILE")]
    pub assignments: Option<PathBuf>,
    /// The round's entity lists (`<list>.csv`), for labels and areas in
    /// the coverage.
    #[arg(long, value_name = "DIR", requires = "assignments")]
    pub entities: Option<PathBuf>,
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
    // What coverage needs, read before any bundle.
    let round = match &args.assignments {
        None => None,
        Some(file) => {
            let bytes = std::fs::read(file)
                .with_context(|| format!("cannot read {}; check the path", file.display()))?;
            let assignments = crate::assignments::parse(&file.display().to_string(), &bytes)
                .map_err(anyhow::Error::msg)?;
            let lists = entities::last_round(args.entities.as_deref())?;
            Some((assignments, lists))
        }
    };
    let mut reports: Vec<Report> = Vec::new();
    let mut visits = Vec::new();
    for file in &files {
        let bytes = read_bundle(file)?;
        let mut report = verify::verify(&file.display().to_string(), &bytes, &signers);
        // Only what verified counts; the manifest is not kept.
        if let Some(m) = report.manifest.take().filter(|_| report.ok) {
            visits.extend(m.entries.into_iter().filter_map(|e| {
                let (list, name) = e
                    .entity?
                    .split_once('/')
                    .map(|(l, n)| (l.into(), n.into()))?;
                Some(Visit {
                    list,
                    name,
                    enumerator: m.enumerator_id.clone(),
                })
            }));
        }
        reports.push(report);
    }
    let sequence = verify::sequences(&reports);
    let ok = reports.iter().all(|r| r.ok) && sequence.is_empty();
    let covered = round
        .as_ref()
        .map(|(assignments, lists)| coverage::compute(assignments, &visits, lists));
    if args.json {
        let mut report = json!({
            "ok": ok,
            "bundles": reports,
            "sequence_problems": sequence,
        });
        if let Some((rows, counts)) = &covered {
            report["coverage"] = json!({"counts": counts, "assignments": rows});
        }
        print_json(&report, true)?;
        return Ok(if ok { Outcome::Done } else { Outcome::Invalid });
    }
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
    if let Some((rows, counts)) = &covered {
        for (who, n) in &counts.by_enumerator {
            print_line(&format!(
                "COVERAGE {who}: {} assigned, {} visited, {} visited by another, {} not visited",
                n.assigned, n.visited, n.visited_by_another, n.not_visited
            ))?;
        }
        for (area, n) in &counts.by_area {
            print_line(&format!(
                "COVERAGE area {area}: {} assigned, {} visited, {} not visited",
                n.assigned, n.visited, n.not_visited
            ))?;
        }
        for r in rows.iter().filter(|r| r.status != "visited") {
            let label = if r.label.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.label)
            };
            let by = if r.visited_by.is_empty() {
                String::new()
            } else {
                format!(" by {}", r.visited_by.join(", "))
            };
            print_line(&format!(
                "{} {}: {}/{}{label}{by}",
                r.status.to_uppercase(),
                r.enumerator_id,
                r.list,
                r.name
            ))?;
        }
    }
    Ok(if ok { Outcome::Done } else { Outcome::Invalid })
}
