//! Review status from supervisors' receipts (`aggregate --receipts`): each
//! receipt checked with `receipt::check` against the supervisors file (one
//! that fails is named and not used), matched to a bundle given by its
//! manifest hash (and its bundle id, enumerator, device and sequence must
//! agree), each verdict checked to name a record version of that bundle.
//! A record version's status in its bundle is then `approved` or
//! `returned` (a format 2 verdict), `received` (a receipt covers the
//! bundle, without a verdict on it), else `pending`. Two receipts giving
//! one record version different verdicts are named, and neither is used.
//! Owns the statuses and the returned verdicts (the change log's
//! reasons); no decryption.

use std::collections::HashMap;
use std::path::PathBuf;

use super::Good;
use super::error::AggregateError;
use super::summary::Summary;
use super::versions::EntryFacts;
use crate::bundle::receipt::{self, Decision, Verdict};
use crate::bundle::signers::AllowedSigners;
use crate::bundle::verify::canonical_uuid;

pub use super::summary::Status;

/// What the receipts given say of one bundle.
#[derive(Debug, Default, Clone)]
struct BundleReview {
    received: bool,
    /// record id -> (version, decision; None when two receipts disagree).
    verdicts: HashMap<String, Vec<(u32, Option<Decision>)>>,
}

/// The receipts given, by bundle.
#[derive(Debug, Default)]
pub(super) struct Reviews {
    /// By the bundle's place in the bundles read.
    bundles: Vec<BundleReview>,
    /// The verdicts that returned a record version, by record id and
    /// version (the change log's reasons).
    returned: HashMap<(String, u32), Verdict>,
}

impl Reviews {
    /// The status of a record version in a bundle.
    pub(super) fn status(&self, bundle: u32, record_id: &str, version: u32) -> Status {
        let Some(b) = self.bundles.get(bundle as usize) else {
            return Status::Pending;
        };
        let decided = b
            .verdicts
            .get(record_id)
            .and_then(|vs| vs.iter().find(|(v, _)| *v == version))
            .and_then(|(_, d)| *d);
        match decided {
            Some(Decision::Approved) => Status::Approved,
            Some(Decision::Returned) => Status::Returned,
            None if b.received => Status::Received,
            None => Status::Pending,
        }
    }

    /// The verdict that returned a record version, if a receipt given did.
    pub(super) fn returned(&self, record_id: &str, version: u32) -> Option<&Verdict> {
        self.returned.get(&(record_id.to_string(), version))
    }
}

/// A receipt given: its name as said in the summary, and its bytes.
#[derive(Debug, Clone)]
pub(super) struct Given {
    pub(super) shown: String,
    pub(super) bytes: Vec<u8>,
}

/// The receipt files given, read.
pub(super) fn read(files: &[PathBuf]) -> Result<Vec<Given>, AggregateError> {
    files
        .iter()
        .map(|file| {
            let bytes = std::fs::read(file).map_err(|source| AggregateError::Read {
                path: file.clone(),
                source,
            })?;
            Ok(Given {
                shown: file.display().to_string(),
                bytes,
            })
        })
        .collect()
}

/// Checks every receipt, and matches it to the bundles read
/// (`good`, whose manifests' entries are `entries`, by manifest hash).
/// A receipt that fails, or a verdict that names no record version of its
/// bundle, is a problem in the summary and is not used.
pub(super) fn load(
    receipts: &[Given],
    supervisors: Option<&AllowedSigners>,
    good: &[Good],
    entries: &HashMap<String, Vec<EntryFacts>>,
    summary: &mut Summary,
) -> Result<Reviews, AggregateError> {
    let mut reviews = Reviews {
        bundles: vec![BundleReview::default(); good.len()],
        returned: HashMap::new(),
    };
    if receipts.is_empty() {
        return Ok(reviews);
    }
    let at: HashMap<&str, usize> = good
        .iter()
        .enumerate()
        .map(|(i, g)| (g.manifest_sha256.as_str(), i))
        .collect();
    // (bundle, record id, version) -> the receipt whose verdict is used.
    let mut from: HashMap<(usize, String, u32), String> = HashMap::new();
    for Given { shown, bytes } in receipts {
        let shown = shown.clone();
        let checked = match supervisors {
            Some(s) => receipt::check(bytes, s),
            None => Err(receipt::ReceiptError::NotListed),
        };
        let r = match checked {
            Ok((r, _)) => r,
            Err(why) => {
                summary
                    .receipt_problems
                    .push(format!("receipt {shown} not used: {why}"));
                continue;
            }
        };
        let Some(&b) = at.get(r.manifest_sha256.as_str()) else {
            // A receipt for a bundle not given: a data manager may give
            // every receipt of the round with some of its bundles.
            summary.review.receipts_for_other_bundles += 1;
            continue;
        };
        let g = &good[b];
        if r.bundle_id != g.bundle_id
            || r.enumerator_id != g.enumerator_id
            || r.device_id != g.device_id
            || r.sequence != g.sequence
        {
            summary.receipt_problems.push(format!(
                "receipt {shown} not used: it names bundle {} ({}, device {}, sequence {}) \
                 but the manifest hash of {} ({}, device {}, sequence {}); ask the supervisor \
                 for the receipt again",
                r.bundle_id,
                r.enumerator_id,
                r.device_id,
                r.sequence,
                g.bundle_id,
                g.enumerator_id,
                g.device_id,
                g.sequence
            ));
            continue;
        }
        summary.review.receipts_used += 1;
        let listed = entries.get(&g.manifest_sha256);
        let review = &mut reviews.bundles[b];
        review.received = true;
        for v in r.verdicts {
            let in_bundle = canonical_uuid(&v.record_id)
                && uuid::Uuid::parse_str(&v.record_id).is_ok_and(|id| {
                    let id = id.as_u128();
                    listed.is_some_and(|es| es.iter().any(|e| e.id == id && e.version == v.version))
                });
            if !in_bundle {
                summary.receipt_problems.push(format!(
                    "receipt {shown}: its verdict on record {:?} version {} is not used: bundle \
                     {} holds no such record version; ask the supervisor to review the \
                     bundle again",
                    v.record_id, v.version, g.bundle_id
                ));
                continue;
            }
            let key = (b, v.record_id.clone(), v.version);
            let versions = review.verdicts.entry(v.record_id.clone()).or_default();
            match versions.iter_mut().find(|(n, _)| *n == v.version) {
                None => {
                    versions.push((v.version, Some(v.decision)));
                    from.insert(key, shown.clone());
                    if v.decision == Decision::Returned {
                        reviews.returned.insert((v.record_id.clone(), v.version), v);
                    }
                }
                Some((_, Some(d))) if *d == v.decision => {}
                Some((_, decided)) => {
                    if decided.is_some() {
                        summary.receipt_problems.push(format!(
                            "receipts {} and {shown} give record {} version {} in bundle {} \
                             different verdicts; neither is used (its status is received): \
                             ask the supervisors which stands",
                            from.get(&key).map_or("?", |s| s.as_str()),
                            v.record_id,
                            v.version,
                            g.bundle_id
                        ));
                    }
                    *decided = None;
                    reviews.returned.remove(&(v.record_id.clone(), v.version));
                }
            }
        }
    }
    Ok(reviews)
}
