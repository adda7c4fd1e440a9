//! `fieldkit ack RECEIPT [--supervisors FILE]`: imports a supervisor's
//! receipt. Only a receipt signed by a listed supervisor, for a bundle
//! this laptop exported, purges anything: exactly that bundle's records.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::verify::load_signers;
use super::{Globals, Outcome, print_line};
use crate::bundle::receipt;
use crate::paths;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The receipt file from the supervisor.
    #[arg(value_name = "RECEIPT")]
    pub receipt: PathBuf,
    /// Supervisors whose receipts count (default: keys/supervisors).
    #[arg(long, value_name = "FILE")]
    pub supervisors: Option<PathBuf>,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let supervisors = load_signers(args.supervisors.as_deref(), "supervisors")?;
    let bytes = std::fs::read(&args.receipt)
        .with_context(|| format!("cannot read the receipt {}", args.receipt.display()))?;
    let (receipt, by) = match receipt::check(&bytes, &supervisors) {
        Ok(r) => r,
        Err(why) => {
            eprintln!(
                "fieldkit: {}: {why}; nothing was purged",
                args.receipt.display()
            );
            return Ok(Outcome::Invalid);
        }
    };
    let store = globals.open_store()?;
    let bundles = store.bundles()?;
    let Some(facts) = bundles.iter().find(|b| {
        b.bundle_id == receipt.bundle_id
            && b.manifest_sha256 == receipt.manifest_sha256
            && b.sequence == receipt.sequence
    }) else {
        eprintln!(
            "fieldkit: the receipt is for {}, which matches no bundle this laptop is holding \
             (already acknowledged, or exported by another laptop); nothing was purged",
            receipt.bundle_id
        );
        return Ok(Outcome::Invalid);
    };
    let n = store.purge_bundle(facts, &by, &paths::now().to_string())?;
    eprintln!(
        "fieldkit: receipt by {by} accepted: {n} record(s) of {} purged from this laptop",
        facts.bundle_id
    );
    print_line(&serde_json::to_string(&serde_json::json!({
        "bundle_id": facts.bundle_id,
        "purged": n,
        "by": by,
    }))?)?;
    Ok(Outcome::Done)
}
