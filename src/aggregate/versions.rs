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
use super::changes::{ChangeLog, Compared};
use super::error::AggregateError;
use super::merge::{Aside, Merge};
use super::output::{TableFile, open_tables, under};
use super::runs::Prepared;
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
struct Claim {
    bundle: u32,
    entry: u32,
    version: u32,
    supersedes: Option<u32>,
    role: Role,
}

/// A record with more than one version, or a correction.
#[derive(Debug, Clone)]
pub(super) struct Chain {
    record_id: String,
    claims: Vec<Claim>,
    deferred: bool,
}

/// The records that have versions, decided from the manifests.
#[derive(Debug, Default)]
pub(super) struct Plan {
    chains: HashMap<u128, Chain>,
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

/// A version of a record with versions, held by the merge until it ends.
pub(super) struct Held {
    pub(super) bundle: u32,
    pub(super) entry: u32,
    pub(super) version: u32,
    /// Its rows are in the tables already (only its answers are held).
    pub(super) in_table: bool,
    pub(super) p: Prepared,
}

impl Merge<'_> {
    /// Takes one version of a record that has versions (`held`, not yet
    /// in the tables), as the plan says.
    pub(super) fn versioned(
        &mut self,
        id: u128,
        role: Role,
        record_id: &str,
        mut held: Held,
    ) -> Result<(), AggregateError> {
        match role {
            Role::Hostile => {
                self.aside.push(Aside {
                    bundle: held.bundle,
                    entry: held.entry,
                });
                return Ok(());
            }
            Role::Table => {
                let answers = held.p.answers.take();
                let shell = shell(&held.p);
                let p = std::mem::replace(&mut held.p, shell);
                self.take(held.bundle, record_id, held.version, p)?;
                held.p.answers = answers;
                held.in_table = true;
            }
            Role::Earlier | Role::Deferred => {
                // Held until the end: no room left over in its lines.
                for row in &mut held.p.rows {
                    row.line.shrink_to_fit();
                }
            }
        }
        self.held.entry(id).or_default().push(held);
        Ok(())
    }

    /// Once every record is merged: for each record with versions, the
    /// version for the tables when it is not there yet, the earlier ones
    /// to `versions/`, two different claims of one version aside, and the
    /// changes between consecutive versions to `changes.csv`.
    pub(super) fn finish_versions(&mut self) -> Result<(), AggregateError> {
        if self.plan.chains.is_empty() {
            return Ok(());
        }
        let plan = self.plan;
        let mut order: Vec<(u32, u32, u128)> = plan
            .chains
            .iter()
            .filter_map(|(id, c)| c.claims.iter().map(|k| (k.bundle, k.entry, *id)).min())
            .collect();
        order.sort_unstable();
        let out = self.opts.out.clone();
        let mut earlier: HashMap<usize, Vec<TableFile>> = HashMap::new();
        let mut log = ChangeLog::new(&out)?;
        for (_, _, id) in order {
            let chain = &plan.chains[&id];
            let record_id = chain.record_id.as_str();
            let mut held = self.held.remove(&id).unwrap_or_default();
            held.sort_by_key(|h| (h.version, h.bundle, h.entry));
            // The same version with the same content (given twice): once.
            let mut kept: Vec<Held> = Vec::with_capacity(held.len());
            for h in held {
                match kept.last() {
                    Some(last) if last.version == h.version && last.p.sha == h.p.sha => {
                        self.summary.duplicates += 1;
                    }
                    _ => kept.push(h),
                }
            }
            // Two contents of one version: that version and all above it
            // aside; the tables keep the version they replace.
            let split = kept
                .windows(2)
                .find(|w| w[0].version == w[1].version)
                .map(|w| w[0].version);
            let mut chosen = Vec::with_capacity(kept.len());
            let mut apart = Vec::new();
            for h in kept {
                if split.is_some_and(|k| h.version >= k) {
                    apart.push(h);
                } else {
                    chosen.push(h);
                }
            }
            if let Some(k) = split {
                let problem = if k == 1 {
                    "different first versions of one record".to_string()
                } else {
                    format!("two different corrections of version {}", k - 1)
                };
                let kept_note = match chosen.last() {
                    Some(h) => format!("the tables keep version {}", h.version),
                    None => "the record is not in the tables".to_string(),
                };
                self.summary.version_conflicts.push(VersionConflict {
                    record_id: record_id.to_string(),
                    version: k,
                    bundles: apart
                        .iter()
                        .map(|h| self.good[h.bundle as usize].bundle_id.clone())
                        .collect(),
                    problem: format!("{problem}; all kept aside in conflicts/, {kept_note}"),
                });
                for h in &apart {
                    self.aside.push(Aside {
                        bundle: h.bundle,
                        entry: h.entry,
                    });
                }
            }
            let Some(last) = chosen.pop() else {
                continue;
            };
            let last = self.put_in_table(chain, last)?;
            for h in &chosen {
                let files = match earlier.entry(h.p.form) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let dir = under(&out, &["versions"])?;
                        std::fs::create_dir_all(&dir)
                            .map_err(|e| AggregateError::write(&dir, e))?;
                        let ft = &self.forms[h.p.form];
                        v.insert(open_tables(
                            &ft.form_id,
                            &ft.layout,
                            &dir,
                            self.opts.hxl,
                            None,
                        )?)
                    }
                };
                for row in &h.p.rows {
                    files[row.table].row(&row.line)?;
                }
                self.summary.review.earlier_versions += 1;
            }
            chosen.push(last);
            if chosen.len() > 1 {
                log.open()?;
            }
            for pair in chosen.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if b.version != a.version + 1 {
                    continue;
                }
                let (Some(old), Some(new)) = (&a.p.answers, &b.p.answers) else {
                    continue;
                };
                let what = Compared {
                    record_id,
                    version: b.version,
                    who: &self.good[b.bundle as usize].enumerator_id,
                    returned: self.reviews.returned(record_id, a.version),
                };
                log.write(&what, old, new)?;
            }
        }
        let mut forms: Vec<(usize, Vec<TableFile>)> = earlier.into_iter().collect();
        forms.sort_by_key(|(f, _)| *f);
        for (_, files) in forms.iter_mut() {
            for table in files.iter_mut() {
                use std::io::Write;
                table
                    .writer
                    .flush()
                    .map_err(|e| AggregateError::write(&table.path, e))?;
                let name = table
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.summary
                    .tables
                    .push((format!("versions/{name}"), table.rows));
            }
        }
        self.summary.review.changes = log.finish()?;
        Ok(())
    }

    /// The version for the tables: written now unless it was as it came.
    fn put_in_table(&mut self, chain: &Chain, mut h: Held) -> Result<Held, AggregateError> {
        if h.in_table {
            return Ok(h);
        }
        if !chain.deferred {
            let top = chain
                .claims
                .iter()
                .filter(|c| c.role == Role::Table)
                .map(|c| c.version)
                .max()
                .unwrap_or(h.version);
            self.summary.version_notes.push(format!(
                "record {}: version {} could not be read (see above); version {} is in the \
                 tables",
                chain.record_id, top, h.version
            ));
        }
        let answers = h.p.answers.take();
        let shell = shell(&h.p);
        let p = std::mem::replace(&mut h.p, shell);
        self.take(h.bundle, &chain.record_id, h.version, p)?;
        h.p.answers = answers;
        h.in_table = true;
        Ok(h)
    }
}

/// What is held of a version whose rows are in the tables: what tells it
/// apart, not its rows.
fn shell(p: &Prepared) -> Prepared {
    Prepared {
        sha: p.sha,
        form: p.form,
        status: p.status,
        answers: None,
        rows: Vec::new(),
        facts: Default::default(),
        disagrees: None,
        entity: None,
        attachments: Vec::new(),
    }
}
