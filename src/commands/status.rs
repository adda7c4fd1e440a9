//! `fieldkit status [--json]`: how many records the store holds in each
//! state. Needs no passphrase: the counts say nothing about anyone.

use anyhow::Result;

use super::{Globals, Outcome, print_json, print_line};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print {"drafts", "outbox", "sent", "bundles"} as JSON, and "pack" when one is installed.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let home = globals.home()?;
    let public = home.public()?;
    let (status, pack) = Store::counts_and_pack(home.clone())?;
    if args.json {
        // "pack" only when one is installed (the four counts as before).
        let mut json = serde_json::to_value(status)?;
        if let Some(pack) = &pack {
            json["pack"] = serde_json::to_value(pack)?;
        }
        print_json(&json, false)?;
    } else {
        print_line(&format!(
            "{} ({}): {} draft(s), {} finalized in the outbox, {} sent awaiting a receipt, {} \
             bundle(s) not yet receipted",
            public.enumerator_id,
            home.dir.display(),
            status.drafts,
            status.outbox,
            status.sent,
            status.bundles
        ))?;
        print_line(&match &pack {
            Some(p) => format!(
                "round pack: {} of '{}'{}, installed {}; records are encrypted to {}",
                p.sequence,
                p.deployment,
                if p.round.is_empty() {
                    String::new()
                } else {
                    format!(" (round {})", p.round)
                },
                p.installed_at,
                if p.recipients_from_pack {
                    "the pack's recipients"
                } else {
                    "the recipients given at init"
                }
            ),
            None => "round pack: none installed; records are encrypted to the recipients given \
                     at init"
                .to_string(),
        })?;
        print_line(&format!(
            "allowed_signers line: {}",
            public.allowed_signers_line()
        ))?;
    }
    Ok(Outcome::Done)
}
