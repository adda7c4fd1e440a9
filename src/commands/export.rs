//! `fieldkit export --out DIR`: the laptop's next signed bundle, with
//! every record in the outbox and the forms they were made with. Written
//! under a temporary name, synced, then renamed, so a stick pulled out
//! half-way never holds half a bundle under the real name. The records
//! then move to "sent", where they stay until a receipt.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{Globals, Outcome, print_line};
use crate::bundle::{self, Outgoing, Plan};
use crate::paths;
use crate::store::{BundleFacts, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to write the bundle into (e.g. the USB stick).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Exports the outbox into `out`: the bundle's path, or None when the
/// outbox is empty. `progress` is told (done, total) as records are read.
pub fn export(
    store: &Store,
    out: &std::path::Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Option<PathBuf>> {
    if !out.is_dir() {
        bail!(
            "{} is not a folder; plug in the USB stick or create the folder, then try again",
            out.display()
        );
    }
    let outbox = store.outbox()?;
    if outbox.is_empty() {
        return Ok(None);
    }
    let total = outbox.len();
    let (last, prev) = store.chain_head()?;
    let mut records = Vec::with_capacity(total);
    let mut forms: Vec<(String, String, String, Vec<u8>)> = Vec::new();
    for (i, (listing, ciphertext)) in outbox.into_iter().enumerate() {
        if !forms.iter().any(|f| f.2 == listing.form_sha256) {
            let text = store.form_text(&listing.form_sha256)?.with_context(|| {
                format!(
                    "the store lacks the form {} {} of record {}",
                    listing.form_id, listing.form_version, listing.id
                )
            })?;
            forms.push((
                listing.form_id.clone(),
                listing.form_version.clone(),
                listing.form_sha256.clone(),
                text,
            ));
        }
        records.push(Outgoing {
            record_id: listing.id,
            form_id: listing.form_id,
            form_version: listing.form_version,
            form_sha256: listing.form_sha256,
            finalized_at: listing.finalized.unwrap_or_default(),
            ciphertext,
        });
        progress(i + 1, total);
    }
    let public = &store.profile().public;
    let plan = Plan {
        enumerator_id: &public.enumerator_id,
        device_id: &public.device_id,
        sequence: last + 1,
        prev_manifest_sha256: &prev,
        records: &records,
        forms: &forms,
    };
    let built = bundle::build(&plan, &store.profile().signing_key).map_err(anyhow::Error::msg)?;
    let name = bundle::file_name(&public.enumerator_id, &public.device_id, plan.sequence);
    let path = out.join(&name);
    let partial = out.join(format!(".{name}.partial"));
    write_synced(&partial, &built.zip)?;
    std::fs::rename(&partial, &path)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))?;
    crate::store::backend::sync_dir(out)
        .with_context(|| format!("cannot sync {}", out.display()))?;
    store.record_export(&BundleFacts {
        sequence: plan.sequence,
        bundle_id: built.manifest.bundle_id.clone(),
        manifest_sha256: built.manifest_sha256.clone(),
        file: name,
        exported_at: paths::now().to_string(),
        records: records.iter().map(|r| r.record_id.clone()).collect(),
    })?;
    Ok(Some(path))
}

fn write_synced(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {} (is the stick full?)", path.display()))
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let store = globals.open_store()?;
    match export(&store, &args.out, &mut |_, _| {})? {
        None => {
            eprintln!("fieldkit: the outbox is empty: nothing to export, nothing written");
        }
        Some(path) => {
            eprintln!(
                "fieldkit: bundle written; its records wait in 'sent' until a supervisor's receipt"
            );
            print_line(&path.display().to_string())?;
        }
    }
    Ok(Outcome::Done)
}
