//! Ack: a supervisor's receipt imported on the laptop (`fieldkit ack` and
//! the screen's receipt key). Only a receipt signed by a listed
//! supervisor, for a bundle this laptop exported, changes anything:
//! exactly that bundle's records are purged, except those its verdicts
//! (receipt format 2) return to correct, which become drafts again
//! ("returned: to correct", with the supervisor's note and comments).
//! Every verdict must name a record of the bundle at the version the
//! bundle carried, or the whole receipt is refused.

use std::collections::HashSet;

use anyhow::Result;

use crate::bundle::receipt::{self, Decision};
use crate::bundle::signers::AllowedSigners;

use crate::store::{MoveStep, Returned, Returns, Store};

/// What an ack did.
pub struct Acked {
    pub bundle_id: String,
    /// The bundle's records: purged, or (returned) made drafts again.
    pub purged: usize,
    pub by: String,
    /// Form texts no draft or record needs any more, now removed.
    pub retired_forms: usize,
    /// Records the supervisor approved.
    pub approved: usize,
    /// Records returned to correct, now drafts.
    pub returned: Vec<String>,
    /// Records returned that cannot be corrected here: finalized before
    /// this fieldkit kept answers (they were purged like the others).
    pub not_returnable: Vec<String>,
    /// Records received without a verdict.
    pub received: usize,
    /// The receipt's verdicts (0: a receipt of format 1).
    pub verdicts: usize,
}

/// Checks a receipt and purges the bundle it covers. `Ok(Err(why))`: the
/// receipt was read and refused (nothing changed); `Err`: the store failed.
pub fn ack(
    store: &Store,
    receipt_bytes: &[u8],
    supervisors: &AllowedSigners,
) -> Result<Result<Acked, String>> {
    let (receipt, by) = match receipt::check(receipt_bytes, supervisors) {
        Ok(r) => r,
        Err(why) => return Ok(Err(format!("{why}; nothing was purged"))),
    };
    let me = &store.profile().public;
    if receipt.enumerator_id != me.enumerator_id || receipt.device_id != me.device_id {
        return Ok(Err(format!(
            "the receipt is for {}, a bundle of enumerator {} on device {}, not of this laptop \
             ({} on {}); nothing was changed. Take it to the laptop that exported the bundle",
            receipt.bundle_id,
            receipt.enumerator_id,
            receipt.device_id,
            me.enumerator_id,
            me.device_id
        )));
    }
    let bundles = store.bundles()?;
    let Some(facts) = bundles.iter().find(|b| {
        b.bundle_id == receipt.bundle_id
            && b.manifest_sha256 == receipt.manifest_sha256
            && b.sequence == receipt.sequence
    }) else {
        if let Some(at) = store.receipt_taken(&receipt.manifest_sha256)? {
            return Ok(Err(format!(
                "the receipt for {} was already taken (at {at}): it matches no bundle this \
                 laptop is holding any more; nothing was changed, and there is nothing more \
                 to do with it",
                receipt.bundle_id
            )));
        }
        return Ok(Err(format!(
            "the receipt is for {}, which matches no bundle this laptop is holding \
             (already acknowledged, or exported by another laptop); nothing was purged",
            receipt.bundle_id
        )));
    };
    // Every verdict names a record of this bundle, at the version the
    // bundle carried; else nothing is taken.
    let in_bundle: HashSet<&str> = facts.records.iter().map(String::as_str).collect();
    for v in &receipt.verdicts {
        let version = if in_bundle.contains(v.record_id.as_str()) {
            store.record_version(&v.record_id)?
        } else {
            None
        };
        if version != Some(v.version) {
            return Ok(Err(format!(
                "the receipt's verdict on record {} (version {}) names no record of {} with \
                 that version; nothing was changed. Ask the supervisor to review this bundle \
                 again and send a new receipt",
                v.record_id, v.version, receipt.bundle_id
            )));
        }
    }
    let now = crate::clock::now().to_string();
    let returns: Returns = receipt
        .verdicts
        .iter()
        .filter(|v| v.decision == Decision::Returned)
        .map(|v| {
            let returned = Returned {
                version: v.version,
                by: by.clone(),
                at: now.clone(),
                note: v.note.clone(),
                comments: v.comments.clone(),
            };
            (v.record_id.clone(), returned)
        })
        .collect();
    let done =
        store.purge_returning(facts, &returns, &by, &now, MoveStep::default(), &mut |_| {})?;
    let retired_forms = store.retire_forms(&now)?;
    let not_returnable = returns
        .keys()
        .filter(|id| !done.returned.contains(id))
        .cloned()
        .collect();
    let approved = receipt
        .verdicts
        .iter()
        .filter(|v| v.decision == Decision::Approved)
        .count();
    Ok(Ok(Acked {
        bundle_id: facts.bundle_id.clone(),
        purged: done.records,
        by,
        retired_forms,
        approved,
        returned: done.returned,
        not_returnable,
        received: done.records.saturating_sub(receipt.verdicts.len()),
        verdicts: receipt.verdicts.len(),
    }))
}
