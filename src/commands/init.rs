//! `fieldkit init --enumerator ID [--name NAME] [--recipients FILE]`:
//! creates the enumerator's profile (keys wrapped with the passphrase) and
//! an empty store, and prints the line the deployment adds to its
//! `allowed_signers` file so supervisors can check this laptop's bundles.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{Globals, Outcome, print_line};
use crate::paths;
use crate::store::Store;
use crate::store::profile;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The enumerator's id, as the deployment's allowed_signers file will name it (e.g. enum-03).
    #[arg(long, value_name = "ID")]
    pub enumerator: String,
    /// The enumerator's full name (kept encrypted in the profile).
    #[arg(long, value_name = "NAME", default_value = "")]
    pub name: String,
    /// Who finalized records are encrypted to: age recipients, one per line (default: keys/recipients.txt).
    #[arg(long, value_name = "FILE")]
    pub recipients: Option<PathBuf>,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    profile::check_enumerator_id(&args.enumerator)?;
    let home = globals.home()?;
    if home.exists() {
        return Err(profile::ProfileError::Exists(home.dir.clone()).into());
    }
    let recipients = match args.recipients {
        Some(p) => p,
        None => match paths::shipped_key("recipients.txt") {
            Some(p) => p,
            None => bail!(
                "no keys/recipients.txt found beside fieldkit; give the deployment's recipients \
                 with --recipients FILE"
            ),
        },
    };
    let text = std::fs::read_to_string(&recipients).with_context(|| {
        format!(
            "cannot read the recipients file {}; check the path",
            recipients.display()
        )
    })?;
    crate::store::crypt::parse_recipients(&text)
        .with_context(|| format!("in the recipients file {}", recipients.display()))?;
    let passphrase = globals.passphrase(
        &format!(
            "New passphrase for {} (at least {} characters)",
            args.enumerator,
            profile::MIN_PASSPHRASE
        ),
        true,
    )?;
    let now = paths::now().to_string();
    let made = profile::create(
        &home,
        &args.enumerator,
        &args.name,
        &passphrase,
        &text,
        &now,
    )?;
    let line = made.public.allowed_signers_line();
    let recipients_n = made.recipients.len();
    Store::create(home.clone(), made, &now)?;
    eprintln!(
        "fieldkit: profile '{}' created in {}; finalized records will be encrypted to {} \
         recipient(s) from {}.\nAdd this line to the deployment's keys/allowed_signers so \
         supervisors can verify this laptop's bundles:",
        args.enumerator,
        home.dir.display(),
        recipients_n,
        recipients.display()
    );
    print_line(&line)?;
    Ok(Outcome::Done)
}
