//! `fieldkit receipt BUNDLE --key FILE --out FILE`: a supervisor's signed
//! receipt for a bundle that verified, which lets the laptop purge it.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{Globals, Outcome, print_line};
use crate::bundle::receipt::{self, Receipt};
use crate::bundle::verify;
use crate::files::{self, read_bundle};

use crate::store::profile::write_new;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle the receipt is for.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// The supervisor's OpenSSH private key (from `fieldkit keygen --role supervisor`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Where to write the receipt (must not exist yet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Who may sign bundles (default: keys/allowed_signers).
    #[arg(long, value_name = "FILE")]
    pub signers: Option<PathBuf>,
}

pub fn run(args: Args, _globals: &Globals) -> Result<Outcome> {
    let signers = files::signers(args.signers.as_deref(), "allowed_signers")?;
    let key = files::signing_key(
        &args.key,
        "a supervisor's signing key",
        "'receipt' needs the supervisor's OpenSSH private key",
        "fieldkit keygen --role supervisor --id YOUR-ID --out FILE",
    )?;
    let bytes = read_bundle(&args.bundle)?;
    let report = verify::verify(&args.bundle.display().to_string(), &bytes, &signers);
    if !report.ok {
        for p in &report.problems {
            crate::say!("fieldkit: {}: {p}", args.bundle.display());
        }
        crate::say!("fieldkit: no receipt written: the bundle did not verify");
        return Ok(Outcome::Invalid);
    }
    let manifest = report
        .manifest
        .as_ref()
        .context("verified bundle without manifest")?;
    let receipt = Receipt {
        format: receipt::FORMAT.into(),
        bundle_id: manifest.bundle_id.clone(),
        enumerator_id: manifest.enumerator_id.clone(),
        device_id: manifest.device_id.clone(),
        sequence: manifest.sequence,
        manifest_sha256: report.manifest_sha256.clone().unwrap_or_default(),
        received_at: crate::clock::now().to_string(),
        supervisor: key.public_key().to_openssh()?,
        verdicts: Vec::new(),
    };
    let signed = receipt::sign(&receipt, &key).map_err(anyhow::Error::msg)?;
    write_new(&args.out, &signed, false)?;
    crate::say!(
        "fieldkit: receipt for {} ({} records) written; give it to the enumerator to import with 'fieldkit ack'",
        manifest.bundle_id,
        report.records
    );
    print_line(&args.out.display().to_string())?;
    Ok(Outcome::Done)
}
