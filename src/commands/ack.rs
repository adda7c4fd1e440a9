//! `fieldkit ack RECEIPT [--supervisors FILE]`: imports a supervisor's
//! receipt. Only a receipt signed by a listed supervisor, for a bundle
//! this laptop exported, purges anything: exactly that bundle's records.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::verify::load_signers;
use super::{Globals, Outcome, print_json};
use crate::bundle::receipt;
use crate::bundle::signers::AllowedSigners;
use crate::paths;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The receipt file from the supervisor.
    #[arg(value_name = "RECEIPT")]
    pub receipt: PathBuf,
    /// Supervisors whose receipts count (default: keys/supervisors).
    #[arg(long, value_name = "FILE")]
    pub supervisors: Option<PathBuf>,
}

/// What an ack did.
pub struct Acked {
    pub bundle_id: String,
    pub purged: usize,
    pub by: String,
}

/// Checks a receipt and purges the bundle it covers. `Ok(Err(why))`: the
/// receipt was read and refused (nothing purged); `Err`: the store failed.
pub fn ack(
    store: &Store,
    receipt_bytes: &[u8],
    supervisors: &AllowedSigners,
) -> Result<Result<Acked, String>> {
    let (receipt, by) = match receipt::check(receipt_bytes, supervisors) {
        Ok(r) => r,
        Err(why) => return Ok(Err(format!("{why}; nothing was purged"))),
    };
    let bundles = store.bundles()?;
    let Some(facts) = bundles.iter().find(|b| {
        b.bundle_id == receipt.bundle_id
            && b.manifest_sha256 == receipt.manifest_sha256
            && b.sequence == receipt.sequence
    }) else {
        return Ok(Err(format!(
            "the receipt is for {}, which matches no bundle this laptop is holding \
             (already acknowledged, or exported by another laptop); nothing was purged",
            receipt.bundle_id
        )));
    };
    let purged = store.purge_bundle(facts, &by, &paths::now().to_string())?;
    Ok(Ok(Acked {
        bundle_id: facts.bundle_id.clone(),
        purged,
        by,
    }))
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let supervisors = load_signers(args.supervisors.as_deref(), "supervisors")?;
    let bytes = std::fs::read(&args.receipt)
        .with_context(|| format!("cannot read the receipt {}", args.receipt.display()))?;
    // A receipt that is not genuine is refused before asking for anything.
    if let Err(why) = receipt::check(&bytes, &supervisors) {
        crate::say!(
            "fieldkit: {}: {why}; nothing was purged",
            args.receipt.display()
        );
        return Ok(Outcome::Invalid);
    }
    let store = globals.open_store()?;
    match ack(&store, &bytes, &supervisors)? {
        Err(why) => {
            crate::say!("fieldkit: {}: {why}", args.receipt.display());
            Ok(Outcome::Invalid)
        }
        Ok(done) => {
            crate::say!(
                "fieldkit: receipt by {} accepted: {} record(s) of {} purged from this laptop",
                done.by,
                done.purged,
                done.bundle_id
            );
            print_json(
                &serde_json::json!({
                    "bundle_id": done.bundle_id,
                    "purged": done.purged,
                    "by": done.by,
                }),
                false,
            )?;
            Ok(Outcome::Done)
        }
    }
}
