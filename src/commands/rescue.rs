//! `fieldkit rescue --out DIR [--without-profile]`: copies every record
//! that can still be decrypted out of a store that will not open, changing
//! nothing in it. Finalized records (outbox, sent) need no profile: when
//! the profile cannot be unlocked they are still copied, and what could
//! not be done is said (exit 2).

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};

use super::{Globals, Outcome, print_json};
use crate::store::profile::{self, Home, Profile, ProfileError};
use crate::store::rescue;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A new or empty folder (e.g. on a USB stick) for the rescued records.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Do not ask for the passphrase: copy only the finalized records (when the passphrase is lost).
    #[arg(long)]
    pub without_profile: bool,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let home = globals.home()?;
    let public = home.public();
    if let Err(e) = &public
        && !home.store_path().is_dir()
    {
        bail!("{e}");
    }
    let _lock = crate::store::lock(&home)?;
    let unlocked = if args.without_profile {
        Err("--without-profile was given".to_string())
    } else {
        unlock(&home, public, globals)?
    };
    let report = rescue::rescue(&home, unlocked.as_ref().map_err(Clone::clone), &args.out)
        .map_err(|e| anyhow!(e))?;
    let drafts = match &report.without_profile {
        None => format!(
            "{} draft(s) ({} damaged draft version(s) could not be read)",
            report.drafts, report.unreadable
        ),
        Some(_) => format!("no drafts ({} left in the store)", report.drafts_left),
    };
    let drafts_note = if report.drafts > 0 {
        "Drafts are encrypted to this profile and to the data managers; records to the data \
         managers only"
    } else {
        "Records are encrypted to the data managers only"
    };
    crate::say!(
        "fieldkit: rescued {drafts}, {} outbox and {} sent record(s) into {}. The store was not \
         changed. {drafts_note}. See rescue.json there.",
        report.outbox,
        report.sent,
        args.out.display(),
    );
    print_json(&report, false)?;
    if let Some(why) = &report.without_profile {
        bail!(
            "the drafts were not rescued: the profile could not be used ({why}). Drafts can only \
             be read with this profile: restore profile.age (and profile.toml) from a backup of \
             this laptop's fieldkit folder, then run 'fieldkit rescue' again into another empty \
             folder. The finalized records above are complete"
        );
    }
    Ok(Outcome::Done)
}

/// The profile, or why it cannot be used for this rescue. A wrong
/// passphrase is an error (type it again), not a reason to leave drafts.
fn unlock(
    home: &Home,
    public: Result<profile::PublicProfile, ProfileError>,
    globals: &Globals,
) -> Result<Result<Profile, String>> {
    let public = match public {
        Ok(p) => p,
        Err(e) => return Ok(Err(short(&e))),
    };
    if !home.secrets_path().exists() {
        return Ok(Err(format!("{} is missing", home.secrets_path().display())));
    }
    let passphrase = globals.profile_passphrase(home, &public.enumerator_id)?;
    match profile::unlock(home, &passphrase) {
        Ok(p) => Ok(Ok(p)),
        Err(e @ ProfileError::WrongPassphrase(_)) => bail!(
            "{e}. If the passphrase is lost, 'fieldkit rescue --out DIR --without-profile' \
             still copies the finalized records (not the drafts)"
        ),
        Err(e) => Ok(Err(short(&e))),
    }
}

/// The reason a profile cannot be used, without the advice of its full
/// message (which points to this command).
fn short(e: &ProfileError) -> String {
    match e {
        ProfileError::SecretsDamaged { path, reason } => {
            format!("{} is damaged: {reason}", path.display())
        }
        ProfileError::Changed { changes, .. } => {
            format!("it was changed after it was made: {}", changes.join("; "))
        }
        other => other.to_string(),
    }
}
