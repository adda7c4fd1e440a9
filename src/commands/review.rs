//! `fieldkit review BUNDLE... --key KEY --out DIR [--signers FILE]
//! [--verdicts FILE.json]`: a supervisor reads the answers marked for
//! review in each record of the bundles (never who: only fields marked
//! `review`), approves records or returns them with comments, and writes
//! one signed receipt per bundle into DIR (`<bundle_id>.receipt.json`,
//! format 2 with the verdicts). With `--verdicts` no screen: the verdicts
//! come from the file. Exit 0 written, 1 a bundle did not verify (the
//! others are still reviewed), 2 usage, a file or the verdicts file.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{Globals, Outcome, print_line};
use crate::files::{self, bundle_files, read_bundle};
use crate::supervise::{self, FormsAt, Given, verdicts};
use crate::tui::words::Lang;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bundle files, or folders of them (*.zip).
    #[arg(value_name = "BUNDLE", required = true)]
    pub bundles: Vec<PathBuf>,
    /// The supervisor's OpenSSH private key (from `fieldkit keygen --role supervisor`):
    /// it decrypts the review views and signs the receipts.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Folder for the receipts (made if missing; a receipt already there is never overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Who may sign bundles (default: keys/allowed_signers).
    #[arg(long, value_name = "FILE")]
    pub signers: Option<PathBuf>,
    /// No screen: the verdicts from a JSON file, a list of
    /// {"record_id", "decision": "approved"|"returned", "comments": [{"field", "text"}], "note"}.
    #[arg(long, value_name = "FILE")]
    pub verdicts: Option<PathBuf>,
    /// The screen's language: en or lo (F2 switches).
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = ["en", "lo"])]
    pub language: String,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let signers = files::signers(args.signers.as_deref(), "allowed_signers")?;
    let key = files::signing_key(
        &args.key,
        "a supervisor's signing key",
        "'review' needs the supervisor's OpenSSH private key",
        "fieldkit keygen --role supervisor --id YOUR-ID --out FILE",
    )?;
    let identity = supervise::key::SupervisorIdentity::new(&key).map_err(|e| {
        anyhow::anyhow!(
            "{} cannot decrypt review views ({e}); give the supervisor's ed25519 key",
            args.key.display()
        )
    })?;
    let verdicts_file = match &args.verdicts {
        Some(f) => Some(
            std::fs::read(f)
                .with_context(|| format!("cannot read {}; check the path", f.display()))?,
        ),
        None => None,
    };
    let paths = bundle_files(&args.bundles)?;
    if paths.is_empty() {
        bail!("no bundles (*.zip) found in what was given");
    }
    let mut given = Vec::with_capacity(paths.len());
    for p in &paths {
        given.push(Given {
            file: p.display().to_string(),
            bytes: read_bundle(p)?,
        });
    }
    let forms_at = FormsAt {
        dir: globals.forms.clone(),
    };
    let opened = supervise::open(given, &signers, &identity, &forms_at);
    let say_failed = || {
        for f in &opened.failed {
            for p in &f.problems {
                crate::say!("fieldkit: {}: {p}", f.file);
            }
            crate::say!("fieldkit: {}: not reviewed", f.file);
        }
    };
    let outcome = if opened.failed.is_empty() {
        Outcome::Done
    } else {
        Outcome::Invalid
    };
    // Before the screen they would be hidden behind it: after it then.
    if args.verdicts.is_some() || opened.bundles.is_empty() {
        say_failed();
    }
    if opened.bundles.is_empty() {
        crate::say!("fieldkit: no bundle verified; nothing to review, no receipt written");
        return Ok(Outcome::Invalid);
    }
    let pending = match verdicts_file {
        Some(bytes) => {
            let file = args.verdicts.as_deref().unwrap_or(std::path::Path::new(""));
            verdicts::from_file(&bytes, &opened)
                .with_context(|| format!("{}: nothing written", file.display()))?
        }
        None => {
            let lang = if args.language == "lo" {
                Lang::Lo
            } else {
                Lang::En
            };
            let writer = crate::tui::supervisor::Writer {
                key: &key,
                out: &args.out,
            };
            let written = crate::tui::supervisor::run(&opened, lang, &writer)?;
            say_failed();
            match written {
                Some(written) => report(&written)?,
                None => crate::say!("fieldkit: no receipt written"),
            }
            return Ok(outcome);
        }
    };
    let now = crate::clock::now().to_string();
    let signed = verdicts::sign_all(&opened, &pending, &key, &now, &args.out)?;
    verdicts::write_all(&args.out, &signed)?;
    report(
        &signed
            .iter()
            .map(|s| (s.path.clone(), s.verdicts))
            .collect::<Vec<_>>(),
    )?;
    Ok(outcome)
}

/// Says what was written: each receipt's path on standard output.
fn report(written: &[(PathBuf, usize)]) -> Result<()> {
    for (path, verdicts) in written {
        crate::say!(
            "fieldkit: receipt with {verdicts} verdict(s) written; give it to the enumerator to import with 'fieldkit ack'"
        );
        print_line(&path.display().to_string())?;
    }
    Ok(())
}
