//! `fieldkit rescue --out DIR`: copies every record that can still be
//! decrypted out of a store that will not open, changing nothing in it.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use super::{Globals, Outcome, print_json};
use crate::store::{profile, rescue};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A new or empty folder (e.g. on a USB stick) for the rescued records.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let home = globals.home()?;
    let public = home.public()?;
    let _lock = crate::store::lock(&home)?;
    let passphrase = globals.profile_passphrase(&home, &public.enumerator_id)?;
    let unlocked = profile::unlock(&home, &passphrase)?;
    let report = rescue::rescue(&home, &unlocked, &args.out).map_err(|e| anyhow!(e))?;
    eprintln!(
        "fieldkit: rescued {} draft(s), {} outbox and {} sent record(s) into {} ({} damaged \
         draft version(s) could not be read). The store was not changed. Drafts are encrypted \
         to this profile and to the data managers; records to the data managers only. See \
         rescue.json there.",
        report.drafts,
        report.outbox,
        report.sent,
        args.out.display(),
        report.unreadable
    );
    print_json(&report, false)?;
    Ok(Outcome::Done)
}
