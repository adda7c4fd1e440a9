//! Bundles this laptop exported: the chain (sequence and previous
//! manifest hash), the facts that rebuild a bundle byte for byte until a
//! receipt, the purge a receipt allows, and the per-form history of what
//! was sent and receipted.

use serde::{Deserialize, Serialize};

use super::backend::{Change, Tree};
use super::{Listing, State, Store, StoreError, parse_id};
use crate::crypt;

/// A bundle this laptop exported, kept until a receipt covers it: with
/// the records in "sent" and the kept forms, what rebuilds its file byte
/// for byte (`fieldkit export --again`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleFacts {
    pub sequence: u64,
    pub bundle_id: String,
    pub manifest_sha256: String,
    /// The manifest hash it chains to. Empty in stores written before it
    /// was kept (the previous bundle's facts may still say it).
    #[serde(default)]
    pub prev_manifest_sha256: String,
    pub file: String,
    pub exported_at: String,
    /// Whether its file was written and synced. The store records a
    /// bundle before its file is written, so a failure in between leaves
    /// it unwritten, and the next export writes the same bytes. Bundles
    /// recorded before this was kept were written first.
    #[serde(default = "already_written")]
    pub written: bool,
    pub records: Vec<String>,
}

fn already_written() -> bool {
    true
}

/// What this laptop sent of one form, and what supervisors receipted:
/// kept after a receipt purges the records, so the home page still shows
/// the work done. Issue 15 point 11.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormTally {
    /// Records exported in bundles, ever.
    pub sent: usize,
    /// Of those, records a receipt covered (and purged).
    pub receipted: usize,
    /// When the last bundle with records of the form was exported.
    #[serde(default)]
    pub last_export: String,
    /// When the last receipt covering records of the form was taken.
    #[serde(default)]
    pub last_receipt: String,
}

/// The key of the tallies in the `meta` tree: one small sealed map of
/// form id -> [`FormTally`], changed in the same write as the export or
/// the purge it counts. Stores made before it have none (no history yet).
const TALLIES: &[u8] = b"tallies";

/// Form id -> what was sent and receipted of it.
pub type Tallies = std::collections::BTreeMap<String, FormTally>;

impl Store {
    /// What was sent and receipted, per form id (empty in a store that
    /// never exported, or was made before tallies were kept).
    pub fn tallies(&self) -> Result<Tallies, StoreError> {
        match self
            .backend
            .get(Tree::Meta, TALLIES)
            .map_err(|e| self.backend_err(e))?
        {
            None => Ok(Tallies::new()),
            Some(sealed) => self.unsealed(Tree::Meta, TALLIES, &sealed),
        }
    }

    /// The tallies with `count(tally, records of the form)` applied to the
    /// forms of `form_ids`, as a change for the same write.
    pub(super) fn tally_change(
        &self,
        form_ids: &[String],
        count: impl Fn(&mut FormTally, usize),
    ) -> Result<Change, StoreError> {
        let mut tallies = self.tallies()?;
        let mut per_form = std::collections::BTreeMap::<&str, usize>::new();
        for form in form_ids {
            *per_form.entry(form).or_default() += 1;
        }
        for (form, n) in per_form {
            count(tallies.entry(form.to_string()).or_default(), n);
        }
        Ok(Change::put(
            Tree::Meta,
            TALLIES.to_vec(),
            self.sealed(Tree::Meta, TALLIES, &tallies),
        ))
    }

    /// The last bundle's sequence and manifest hash (0 and zeros at first).
    pub fn chain_head(&self) -> Result<(u64, String), StoreError> {
        let head = self
            .backend
            .get(Tree::Meta, b"chain")
            .map_err(|e| self.backend_err(e))?;
        Ok(match head {
            None => (0, crypt::NO_PREVIOUS.to_string()),
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes).to_string();
                let (seq, sha) = text.split_once(' ').unwrap_or(("0", ""));
                (seq.parse().unwrap_or(0), sha.to_string())
            }
        })
    }

    /// Records an export before its file is written: its records move
    /// from the outbox to sent, the bundle is kept (as `facts.written`
    /// says) until a receipt, the chain moves on. One write. The bundle
    /// must follow the chain's head, so no two bundles share a sequence.
    pub fn record_export(&self, facts: &BundleFacts) -> Result<(), StoreError> {
        let (last, prev) = self.chain_head()?;
        if facts.sequence != last + 1 || facts.prev_manifest_sha256 != prev {
            return Err(StoreError::OutOfChain {
                sequence: facts.sequence,
                last,
            });
        }
        let seq_key = facts.sequence.to_be_bytes();
        let mut changes = vec![
            Change::put(
                Tree::Bundles,
                seq_key.to_vec(),
                self.sealed(Tree::Bundles, &seq_key, facts),
            ),
            Change::put(
                Tree::Meta,
                "chain",
                format!("{} {}", facts.sequence, facts.manifest_sha256).into_bytes(),
            ),
            self.event(&facts.exported_at, "exported", "", "", &facts.bundle_id)?,
        ];
        let mut forms = Vec::with_capacity(facts.records.len());
        for id in &facts.records {
            let uuid = parse_id(id)?;
            let key = uuid.as_bytes();
            let (mut listing, value) = self.stored(id, Tree::Outbox)?;
            forms.push(listing.form_id.clone());
            listing.state = State::Sent;
            listing.bundle = Some(facts.sequence);
            changes.extend([
                Change::remove(Tree::Outbox, key.to_vec()),
                Change::put(Tree::Sent, key.to_vec(), value),
                Change::put(
                    Tree::Listing,
                    key.to_vec(),
                    self.sealed(Tree::Listing, key, &listing),
                ),
                Change::put(Tree::States, key.to_vec(), vec![State::Sent.byte()]),
            ]);
        }
        changes.push(self.tally_change(&forms, |t, n| {
            t.sent += n;
            t.last_export = facts.exported_at.clone();
        })?);
        self.apply(&changes)
    }

    /// The bundles exported and not yet receipted, oldest first.
    pub fn bundles(&self) -> Result<Vec<BundleFacts>, StoreError> {
        self.unsealed_all(Tree::Bundles)
    }

    /// A bundle's file is on the stick (written and synced): `event` says
    /// which write it was ("written", "written again"). One write.
    pub fn mark_written(
        &self,
        facts: &BundleFacts,
        event: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let seq_key = facts.sequence.to_be_bytes();
        let facts = BundleFacts {
            written: true,
            ..facts.clone()
        };
        let event = self.event(now, event, "", "", &facts.bundle_id)?;
        self.apply(&[
            Change::put(
                Tree::Bundles,
                seq_key.to_vec(),
                self.sealed(Tree::Bundles, &seq_key, &facts),
            ),
            event,
        ])
    }

    /// A receipt arrived: exactly that bundle's records leave the store.
    /// Returns how many were purged.
    pub fn purge_bundle(
        &self,
        facts: &BundleFacts,
        by: &str,
        now: &str,
    ) -> Result<usize, StoreError> {
        let seq_key = facts.sequence.to_be_bytes();
        let mut changes = vec![
            Change::remove(Tree::Bundles, seq_key.to_vec()),
            self.event(
                now,
                "purged",
                "",
                "",
                &format!(
                    "{} ({} records), receipt by {by}",
                    facts.bundle_id,
                    facts.records.len()
                ),
            )?,
        ];
        let mut forms = Vec::with_capacity(facts.records.len());
        for id in &facts.records {
            let key = parse_id(id)?.as_bytes().to_vec();
            // A listing that cannot be read counts for no form.
            let listing = self
                .backend
                .get(Tree::Listing, &key)
                .map_err(|e| self.backend_err(e))?;
            if let Some(Ok(l)) = listing.map(|v| self.unsealed::<Listing>(Tree::Listing, &key, &v))
            {
                forms.push(l.form_id);
            }
            changes.extend([
                Change::remove(Tree::Sent, key.clone()),
                Change::remove(Tree::Listing, key.clone()),
                Change::remove(Tree::States, key),
            ]);
        }
        changes.push(self.tally_change(&forms, |t, n| {
            t.receipted += n;
            t.last_receipt = now.to_string();
        })?);
        self.apply(&changes)?;
        Ok(facts.records.len())
    }
}
