//! Ack: a supervisor's receipt imported on the laptop (`fieldkit ack` and
//! the screen's receipt key). Only a receipt signed by a listed
//! supervisor, for a bundle this laptop exported, purges anything:
//! exactly that bundle's records.

use anyhow::Result;

use crate::bundle::receipt;
use crate::bundle::signers::AllowedSigners;

use crate::store::Store;

/// What an ack did.
pub struct Acked {
    pub bundle_id: String,
    pub purged: usize,
    pub by: String,
    /// Form texts no draft or record needs any more, now removed.
    pub retired_forms: usize,
}

/// Checks a receipt and purges the bundle it covers. `Ok(Err(why))`: the
/// receipt was read and refused (nothing purged); `Err`: the store failed.
pub fn ack(
    store: &Store,
    receipt_bytes: &[u8],
    supervisors: &AllowedSigners,
) -> Result<Result<Acked, String>> {
    let (receipt, by) = match receipt::check(receipt_bytes, supervisors) {
        Ok(r) => r,
        Err(why) => return Ok(Err(format!("{why}; nothing was purged"))),
    };
    let bundles = store.bundles()?;
    let Some(facts) = bundles.iter().find(|b| {
        b.bundle_id == receipt.bundle_id
            && b.manifest_sha256 == receipt.manifest_sha256
            && b.sequence == receipt.sequence
    }) else {
        return Ok(Err(format!(
            "the receipt is for {}, which matches no bundle this laptop is holding \
             (already acknowledged, or exported by another laptop); nothing was purged",
            receipt.bundle_id
        )));
    };
    let now = crate::clock::now().to_string();
    let purged = store.purge_bundle(facts, &by, &now)?;
    let retired_forms = store.retire_forms(&now)?;
    Ok(Ok(Acked {
        bundle_id: facts.bundle_id.clone(),
        purged,
        by,
        retired_forms,
    }))
}
