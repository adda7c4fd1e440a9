//! `fieldkit ack RECEIPT [--supervisors FILE]`: imports a supervisor's
//! receipt through `crate::delivery::ack` and says what it did.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{Globals, Outcome, print_json};
use crate::bundle::receipt;
use crate::delivery::ack::ack;
use crate::files;

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
    let bytes = std::fs::read(&args.receipt)
        .with_context(|| format!("cannot read the receipt {}", args.receipt.display()))?;
    // A receipt that is not genuine is refused before asking for anything;
    // whether its signer is a supervisor comes once the store is open (a
    // round pack may carry the supervisors).
    let store = match receipt::genuine(&bytes) {
        Err(why) => {
            crate::say!(
                "fieldkit: {}: {why}; nothing was purged",
                args.receipt.display()
            );
            return Ok(Outcome::Invalid);
        }
        Ok(_) => globals.open_store()?,
    };
    // The supervisors given, else the round pack's, else the shipped ones.
    let supervisors = files::laptop_signers(&store, args.supervisors.as_deref(), "supervisors")?;
    if let Err(why) = receipt::check(&bytes, &supervisors) {
        crate::say!(
            "fieldkit: {}: {why}; nothing was purged",
            args.receipt.display()
        );
        return Ok(Outcome::Invalid);
    }
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
            if done.retired_forms > 0 {
                crate::say!(
                    "fieldkit: {} old form version(s) that no draft or record uses were removed",
                    done.retired_forms
                );
            }
            print_json(
                &serde_json::json!({
                    "bundle_id": done.bundle_id,
                    "purged": done.purged,
                    "by": done.by,
                    "retired_forms": done.retired_forms,
                }),
                false,
            )?;
            Ok(Outcome::Done)
        }
    }
}
