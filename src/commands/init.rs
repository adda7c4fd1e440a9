//! `fieldkit init --enumerator ID [--name NAME] [--recipients FILE]
//! [--deployment-signers FILE]`: creates the enumerator's profile (keys
//! wrapped with the passphrase) and an empty store with the deployment
//! signers pinned (whose round packs the laptop will take), and prints the
//! line the deployment adds to its `allowed_signers` file so supervisors
//! can check this laptop's bundles.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{Globals, Outcome, print_line};
use crate::paths;
use crate::store::Store;
use crate::store::profile;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The enumerator's id, as the deployment's allowed_signers file will name it (e.g. enum-03).
    #[arg(long, value_name = "ID", required_unless_present = "new_store")]
    pub enumerator: Option<String>,
    /// The enumerator's full name (kept encrypted in the profile).
    #[arg(long, value_name = "NAME", default_value = "")]
    pub name: String,
    /// Who finalized records are encrypted to: age recipients, one per line (default: keys/recipients.txt).
    #[arg(long, value_name = "FILE")]
    pub recipients: Option<PathBuf>,
    /// Whose round packs this laptop takes: pinned now, changed later only by a pack they sign
    /// (default: keys/deployment_signers).
    #[arg(long, value_name = "FILE")]
    pub deployment_signers: Option<PathBuf>,
    /// Give an existing profile a new, empty store (after its old store was rescued and moved aside).
    #[arg(long, conflicts_with_all = ["enumerator", "name", "recipients", "deployment_signers"])]
    pub new_store: bool,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let home = globals.home()?;
    if args.new_store {
        return new_store(&home, globals);
    }
    let enumerator = args.enumerator.unwrap_or_default();
    profile::check_enumerator_id(&enumerator)?;
    if home.exists() {
        return Err(profile::ProfileError::Exists(home.dir.clone()).into());
    }
    set_aside_leftovers(&home)?;
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
    crate::crypt::parse_recipients(&text)
        .with_context(|| format!("in the recipients file {}", recipients.display()))?;
    let pinned = crate::files::deployment_signers(args.deployment_signers.as_deref())?;
    let passphrase = globals.passphrase(
        &format!(
            "New passphrase for {} (at least {} characters)",
            enumerator,
            profile::MIN_PASSPHRASE
        ),
        true,
    )?;
    let now = crate::clock::now().to_string();
    let made = profile::create(&home, &enumerator, &args.name, &passphrase, &text, &now)?;
    let public = made.public.clone();
    let line = public.allowed_signers_line();
    let recipients_n = made.recipients.len();
    let store = Store::create(home.clone(), made, &now)?;
    if let Some(signers) = &pinned {
        store.pin_signers(signers, &now)?;
    }
    drop(store);
    profile::finish(&home, &public)?;
    crate::say!(
        "fieldkit: profile '{}' created in {}; finalized records will be encrypted to {} \
         recipient(s) from {}.",
        enumerator,
        home.dir.display(),
        recipients_n,
        recipients.display()
    );
    crate::say!(
        "Add this line to the deployment's keys/allowed_signers so supervisors can verify this \
         laptop's bundles:"
    );
    print_line(&line)?;
    Ok(Outcome::Done)
}

/// An `init` that stopped half-way (killed, disk full) left some files but
/// no profile.toml. They are moved into `unfinished-init-<time>/`, never
/// deleted, and a new init goes ahead.
fn set_aside_leftovers(home: &profile::Home) -> Result<()> {
    let leftovers = home.leftovers();
    if leftovers.is_empty() {
        return Ok(());
    }
    let stamp = crate::clock::now()
        .to_string()
        .replace([':', '.', '+'], "-");
    let aside = home.dir.join(format!("unfinished-init-{stamp}"));
    std::fs::create_dir_all(&aside)
        .with_context(|| format!("cannot create {}", aside.display()))?;
    for path in &leftovers {
        if let Some(name) = path.file_name() {
            std::fs::rename(path, aside.join(name))
                .with_context(|| format!("cannot move {} aside", path.display()))?;
        }
    }
    crate::say!(
        "fieldkit: an earlier init in {} did not finish; its files were moved to {}",
        home.dir.display(),
        aside.display()
    );
    Ok(())
}

/// `init --new-store`: an empty store for an existing profile.
fn new_store(home: &profile::Home, globals: &Globals) -> Result<Outcome> {
    let public = home.public()?;
    if home.store_path().exists() {
        bail!(
            "the profile in {} already has a store; --new-store is only for a profile whose \
             store was rescued and moved aside",
            home.dir.display()
        );
    }
    let passphrase = globals.profile_passphrase(home, &public.enumerator_id)?;
    let unlocked = profile::unlock(home, &passphrase)?;
    drop(Store::create(
        home.clone(),
        unlocked,
        &crate::clock::now().to_string(),
    )?);
    crate::say!(
        "fieldkit: a new, empty store was created for '{}' in {}",
        public.enumerator_id,
        home.store_path().display()
    );
    Ok(Outcome::Done)
}
