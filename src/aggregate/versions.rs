//! Records with more than one version among the bundles given (a
//! supervisor returned a record, the enumerator corrected it: the same
//! `record_id`, `version` one more, `supersedes` the one before). Which
//! version goes to the tables is decided from the verified manifests
//! before any record is decrypted (rows are streamed to files and cannot
//! be taken back): the highest version whose chain is sound. A claim is
//! not sound, and is kept aside in `conflicts/` with a named conflict,
//! when its `supersedes` is not `version - 1`, or when it is signed by
//! another enumerator than the version below it ("points at another
//! enumerator's record"). A correction whose earlier version is not among
//! the bundles given is taken, with a note (a data manager may aggregate
//! a later stick alone). Two claims of one version in different bundles
//! wait until every record is read: the same content counts once; other
//! content is two different corrections, both kept aside, and the tables
//! keep the version they both replace.
//!
//! Earlier versions go to `versions/` (the same tables), and each change
//! between version N-1 and N to `changes.csv` (`changes`). Memory: only
//! records that have more than one version are held, each version's rows
//! and its answers by path, until the merge ends (the version in the
//! tables only its answers); the bound is the corrected records' size,
//! not the aggregation's.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Good;
use super::summary::{Summary, VersionConflict};
use crate::bundle::Manifest;

/// What a manifest entry says of a record's version, kept from the verify
/// pass until the plan is made (then dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EntryFacts {
    pub(super) id: u128,
    pub(super) version: u32,
    pub(super) supersedes: Option<u32>,
}

/// Every entry of a verified manifest, in its order.
pub(super) fn facts_of(manifest: &Manifest) -> Vec<EntryFacts> {
    manifest
        .entries
        .iter()
        .map(|e| EntryFacts {
            // Verified: one spelling of a UUID.
            id: uuid::Uuid::parse_str(&e.record_id).map_or(0, |u| u.as_u128()),
            version: e.version,
            supersedes: e.supersedes,
        })
        .collect()
}

/// What becomes of one claim (a record version in a bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The latest sound version: its rows go to the tables as it comes.
    Table,
    /// An earlier sound version: held, then written to `versions/`.
    Earlier,
    /// Held until every record is read (another bundle claims one of the
    /// record's versions too).
    Deferred,
    /// Not sound: kept aside in `conflicts/`.
    Hostile,
}

#[derive(Debug, Clone)]
pub(super) struct Claim {
    pub(super) bundle: u32,
    pub(super) entry: u32,
    pub(super) version: u32,
    pub(super) supersedes: Option<u32>,
    pub(super) role: Role,
}

/// A record with more than one version, or a correction.
#[derive(Debug, Clone)]
pub(super) struct Chain {
    pub(super) record_id: String,
    pub(super) claims: Vec<Claim>,
    pub(super) deferred: bool,
}

/// The records that have versions, decided from the manifests.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) chains: HashMap<u128, Chain>,
}

impl Plan {
    /// Whether a record has versions (its answers are kept by path).
    pub(super) fn versioned(&self, record_id: &str) -> bool {
        !self.chains.is_empty()
            && uuid::Uuid::parse_str(record_id)
                .is_ok_and(|u| self.chains.contains_key(&u.as_u128()))
    }

    /// What becomes of the record `id` in a bundle's entry; None for a
    /// record that has one version.
    pub(super) fn role(&self, id: u128, bundle: u32, entry: u32) -> Option<Role> {
        if self.chains.is_empty() {
            return None;
        }
        let chain = self.chains.get(&id)?;
        chain
            .claims
            .iter()
            .find(|c| c.bundle == bundle && c.entry == entry)
            .map(|c| c.role)
    }
}

/// Decides, from the verified manifests (`entries`, by manifest hash) of
/// the bundles read, what becomes of every version of every record that
/// has more than one, or is a correction. Names the unsound ones in the
/// summary.
pub(super) fn plan(
    good: &[Good],
    entries: &HashMap<String, Vec<EntryFacts>>,
    summary: &mut Summary,
) -> Plan {
    let listed = |g: &Good| entries.get(&g.manifest_sha256).map_or(&[][..], |e| e);
    let versioned: HashSet<u128> = good
        .iter()
        .flat_map(|g| listed(g).iter())
        .filter(|e| e.version != 1 || e.supersedes.is_some())
        .map(|e| e.id)
        .collect();
    if versioned.is_empty() {
        return Plan::default();
    }
    let mut chains: HashMap<u128, Chain> = HashMap::with_capacity(versioned.len());
    for (b, g) in good.iter().enumerate() {
        for (n, e) in listed(g).iter().enumerate() {
            if !versioned.contains(&e.id) {
                continue;
            }
            let chain = chains.entry(e.id).or_insert_with(|| Chain {
                record_id: uuid::Uuid::from_u128(e.id).hyphenated().to_string(),
                claims: Vec::new(),
                deferred: false,
            });
            chain.claims.push(Claim {
                bundle: b as u32,
                entry: n as u32,
                version: e.version,
                supersedes: e.supersedes,
                role: Role::Hostile,
            });
        }
    }
    for chain in chains.values_mut() {
        decide(chain, good, summary);
    }
    Plan { chains }
}

/// The roles of one record's claims.
fn decide(chain: &mut Chain, good: &[Good], summary: &mut Summary) {
    chain.claims.sort_by_key(|c| (c.version, c.bundle, c.entry));
    // version -> the sound claims' places in `claims`.
    let mut sound: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for i in 0..chain.claims.len() {
        let c = &chain.claims[i];
        let who = &good[c.bundle as usize].enumerator_id;
        let problem = if c.version == 0 {
            Some("it says version 0; versions start at 1".to_string())
        } else if c.version == 1 && c.supersedes.is_some() {
            Some(format!(
                "version 1 says it supersedes version {}; a first version supersedes none",
                c.supersedes.unwrap_or_default()
            ))
        } else if c.version > 1 && c.supersedes != Some(c.version - 1) {
            Some(format!(
                "version {} supersedes {}, not version {}",
                c.version,
                c.supersedes
                    .map_or("no version".to_string(), |s| format!("version {s}")),
                c.version - 1
            ))
        } else {
            match sound.range(..c.version).next_back() {
                Some((&below, at)) => {
                    let theirs: Vec<&str> = at
                        .iter()
                        .map(|&j| good[chain.claims[j].bundle as usize].enumerator_id.as_str())
                        .collect();
                    if !theirs.contains(&who.as_str()) {
                        Some(format!(
                            "it points at another enumerator's record: version {below} is \
                             {}'s, this version {} is signed by {who}",
                            theirs.join(" and "),
                            c.version
                        ))
                    } else {
                        if below != c.version - 1 {
                            summary.version_notes.push(gap(chain, c, good));
                        }
                        None
                    }
                }
                None => {
                    if c.version > 1 {
                        summary.version_notes.push(gap(chain, c, good));
                    }
                    None
                }
            }
        };
        match problem {
            Some(problem) => summary.version_conflicts.push(VersionConflict {
                record_id: chain.record_id.clone(),
                version: c.version,
                bundles: vec![good[c.bundle as usize].bundle_id.clone()],
                problem: format!("{problem}; kept aside in conflicts/, not in the tables"),
            }),
            None => sound.entry(c.version).or_default().push(i),
        }
    }
    chain.deferred = sound.values().any(|at| at.len() > 1);
    let top = sound.keys().next_back().copied();
    for (&version, at) in &sound {
        for &i in at {
            chain.claims[i].role = if chain.deferred {
                Role::Deferred
            } else if Some(version) == top {
                Role::Table
            } else {
                Role::Earlier
            };
        }
    }
}

/// The note for a correction whose version below is not among the bundles.
fn gap(chain: &Chain, c: &Claim, good: &[Good]) -> String {
    format!(
        "record {} version {} (bundle {}) is taken without version {}, which is not among \
         the bundles given",
        chain.record_id,
        c.version,
        good[c.bundle as usize].bundle_id,
        c.version - 1
    )
}
