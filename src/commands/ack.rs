//! `fieldkit ack RECEIPT [--supervisors FILE]`: imports a supervisor's
//! receipt through `crate::delivery::ack` and says what it did: records
//! purged, and of the receipt's verdicts how many approved, returned to
//! correct, and received without one.

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
                done.purged - done.returned.len(),
                done.bundle_id
            );
            // A receipt without verdicts (format 1) is said as before.
            if done.verdicts > 0 {
                crate::say!(
                    "fieldkit: {} approved, {} returned: to correct, {} received",
                    done.approved,
                    done.returned.len(),
                    done.received
                );
            }
            if !done.returned.is_empty() {
                crate::say!(
                    "fieldkit: the records returned are drafts again, with the supervisor's \
                     comments: correct and finalize them (fieldkit, home page), then export"
                );
            }
            for id in &done.not_returnable {
                crate::say!(
                    "fieldkit: record {id} was returned, but it was finalized before this \
                     fieldkit kept answers: it cannot be corrected here (enter it again if the \
                     supervisor asks)"
                );
            }
            if done.retired_forms > 0 {
                crate::say!(
                    "fieldkit: {} old form version(s) that no draft or record uses were removed",
                    done.retired_forms
                );
            }
            let mut said = serde_json::json!({
                "bundle_id": done.bundle_id,
                "purged": done.purged - done.returned.len(),
                "by": done.by,
                "retired_forms": done.retired_forms,
            });
            if done.verdicts > 0 {
                said["approved"] = done.approved.into();
                said["returned"] = serde_json::json!(done.returned);
                said["not_returnable"] = serde_json::json!(done.not_returnable);
                said["received"] = done.received.into();
            }
            print_json(&said, false)?;
            Ok(Outcome::Done)
        }
    }
}
