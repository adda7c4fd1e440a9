//! `fieldkit status [--json]`: how many records the store holds in each
//! state. Needs no passphrase: the counts say nothing about anyone.

use anyhow::Result;

use super::{Globals, Outcome, print_json, print_line};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print {"drafts", "outbox", "sent", "bundles"} as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let home = globals.home()?;
    let public = home.public()?;
    let status = Store::counts(home.clone())?;
    if args.json {
        print_json(&status, false)?;
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
        print_line(&format!(
            "allowed_signers line: {}",
            public.allowed_signers_line()
        ))?;
    }
    Ok(Outcome::Done)
}
