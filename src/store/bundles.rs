//! Bundles this laptop exported: the chain (sequence and previous
//! manifest hash), the facts that rebuild a bundle byte for byte until a
//! receipt, the recording of an export in bounded steps (and finishing
//! one a stop interrupted), the purge a receipt allows (returned records
//! made drafts again, see `kept`), and the per-form history of what was
//! sent and receipted.

use serde::{Deserialize, Serialize};

use super::backend::{Change, Tree};
use super::entries::Returned;
use super::kept::Conversion;
use super::{State, Store, StoreError, count_change, parse_id};
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
    /// Of the records receipted, those the supervisor returned to correct
    /// (each comes back as a draft; its correction is sent again).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub returned: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Record id -> what the supervisor said of a record they returned.
pub type Returns = std::collections::BTreeMap<String, Returned>;

/// What a purge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// The records the bundle had.
    pub records: usize,
    /// Those that became drafts to correct (the others returned had no
    /// answers kept: they were finalized before fieldkit kept them).
    pub returned: Vec<String>,
}

/// What `PURGING` holds while a purge is under way: the bundle's facts
/// (all it held before returns were kept, so a purge an earlier fieldkit
/// stopped is finished alike) and the records it returns.
#[derive(Debug, Serialize, Deserialize)]
struct Purging {
    #[serde(flatten)]
    facts: BundleFacts,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    returned: Returns,
}

/// The key of the tallies in the `meta` tree: one small sealed map of
/// form id -> [`FormTally`], changed in the same write as the export or
/// the purge it counts. Stores made before it have none (no history yet).
const TALLIES: &[u8] = b"tallies";

/// The key in `meta` naming (by its sequence key) the bundle whose
/// records are moving from the outbox to "sent", while they are.
const MOVING: &[u8] = b"moving";

/// The key in `meta` holding (sealed) the facts of the bundle whose
/// records a receipt is purging, while they are.
const PURGING: &[u8] = b"purging";

/// How much one write of an export's move (or a receipt's purge: records
/// only) holds at most: this many records, or the record that brings it
/// to this many bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveStep {
    pub records: usize,
    pub bytes: usize,
}

impl Default for MoveStep {
    /// 500 records or 4 MiB: a few MB of memory, 20 writes (and syncs)
    /// for a bundle of 10,000 records.
    fn default() -> Self {
        MoveStep {
            records: 500,
            bytes: 4 * 1024 * 1024,
        }
    }
}

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

    /// Records an export before its file is written, in bounded steps
    /// that are one step to the user. The first write is the export: the
    /// bundle is kept (as `facts.written` says) until a receipt, the chain
    /// moves on, the counts and tallies say its records are sent, and the
    /// bundle is named as moving. Then its records move from the outbox to
    /// "sent" a few hundred at a time (`step` bounds each write), and the
    /// last of those writes ends the move; `on_step` is told after each
    /// write. An export stopped in between is finished by
    /// [`Store::finish_export`] when the store next opens, before anything
    /// reads the outbox: no record is lost or left to go in a second
    /// bundle. One write held 40,003 changes and 430 MB at 10,000 records.
    /// The bundle must follow the chain's head, so no two bundles share a
    /// sequence.
    pub fn record_export(
        &self,
        facts: &BundleFacts,
        step: MoveStep,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<(), StoreError> {
        self.finish_export(on_step)?;
        let (last, prev) = self.chain_head()?;
        if facts.sequence != last + 1 || facts.prev_manifest_sha256 != prev {
            return Err(StoreError::OutOfChain {
                sequence: facts.sequence,
                last,
            });
        }
        // Every record is in the outbox now; their forms for the tallies.
        let mut forms = Vec::with_capacity(facts.records.len());
        for id in &facts.records {
            let key = parse_id(id)?;
            if self.state_byte(key.as_bytes())? != Some(State::Outbox.byte()) {
                return Err(StoreError::NotFound(id.clone()));
            }
            forms.push(self.listing_of(id)?.form_id);
        }
        let n = i64::try_from(facts.records.len()).unwrap_or(i64::MAX);
        let seq_key = facts.sequence.to_be_bytes();
        let changes = vec![
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
            Change::put(Tree::Meta, MOVING, seq_key.to_vec()),
            count_change(0, -n, n, 1),
            self.tally_change(&forms, |t, n| {
                t.sent += n;
                t.last_export = facts.exported_at.clone();
            })?,
            self.event(&facts.exported_at, "exported", "", "", &facts.bundle_id)?,
        ];
        drop(forms);
        self.apply(&changes)?;
        on_step(1);
        self.move_records(facts, step, 2, on_step)
    }

    /// Finishes the export a stop left half-recorded (see
    /// [`Store::record_export`]): its records still in the outbox move to
    /// "sent". Nothing to do (one read) when none is. `on_step` is told
    /// after each write.
    pub fn finish_export(&self, on_step: &mut dyn FnMut(usize)) -> Result<(), StoreError> {
        let Some(seq_key) = self
            .backend
            .get(Tree::Meta, MOVING)
            .map_err(|e| self.backend_err(e))?
        else {
            return Ok(());
        };
        let sealed = self
            .backend
            .get(Tree::Bundles, &seq_key)
            .map_err(|e| self.backend_err(e))?
            .ok_or_else(|| StoreError::Corrupted {
                path: self.home.store_path(),
                reason: format!(
                    "an export of bundle {} was being recorded, and the store does not keep \
                     that bundle",
                    <[u8; 8]>::try_from(seq_key.as_slice()).map_or_else(
                        |_| crypt::to_hex(&seq_key),
                        |b| u64::from_be_bytes(b).to_string()
                    )
                ),
            })?;
        let facts: BundleFacts = self.unsealed(Tree::Bundles, &seq_key, &sealed)?;
        self.move_records(&facts, MoveStep::default(), 1, on_step)
    }

    /// The byte of a record in the `states` tree (None: not in the store).
    fn state_byte(&self, key: &[u8]) -> Result<Option<u8>, StoreError> {
        Ok(self
            .backend
            .get(Tree::States, key)
            .map_err(|e| self.backend_err(e))?
            .and_then(|v| v.first().copied()))
    }

    /// Moves the records of a recorded bundle still in the outbox to
    /// "sent" (their listings and states: the records stay where they
    /// are), a step at a time; the last write ends the move. Records
    /// already sent are left; a record in neither (a damaged store) is left
    /// for `export` to name when it rebuilds the bundle.
    fn move_records(
        &self,
        facts: &BundleFacts,
        step: MoveStep,
        first: usize,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<(), StoreError> {
        let mut changes = Vec::new();
        let mut records = 0;
        let mut bytes = 0;
        let mut number = first;
        for id in &facts.records {
            let uuid = parse_id(id)?;
            let key = uuid.as_bytes();
            if self.state_byte(key)? != Some(State::Outbox.byte()) {
                continue;
            }
            // The record itself stays where it is: its listing and state
            // say it was sent.
            let mut listing = self.listing_of(id)?;
            listing.state = State::Sent;
            listing.bundle = Some(facts.sequence);
            let sealed = self.sealed(Tree::Listing, key, &listing);
            bytes += sealed.len();
            records += 1;
            changes.extend([
                Change::put(Tree::Listing, key.to_vec(), sealed),
                Change::put(Tree::States, key.to_vec(), vec![State::Sent.byte()]),
            ]);
            if records >= step.records || bytes >= step.bytes {
                self.apply(&std::mem::take(&mut changes))?;
                on_step(number);
                number += 1;
                records = 0;
                bytes = 0;
            }
        }
        changes.push(Change::remove(Tree::Meta, MOVING));
        self.apply(&changes)?;
        on_step(number);
        Ok(())
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

    /// A receipt arrived: exactly that bundle's records leave the store,
    /// in bounded steps that are one step to the user. The first write is
    /// the purge: the bundle is no longer kept, the counts and tallies say
    /// its records are receipted, and the bundle (its facts, sealed) is
    /// named as purging. Then its records go a few hundred a write
    /// (`step`), and the last write ends the purge; `on_step` is told after
    /// each write. A purge stopped in between is finished by
    /// [`Store::finish_purge`] when the store next opens. One write of a
    /// 10,000-record bundle held 40,000 changes and 237 MB.
    /// Returns how many records the bundle had.
    pub fn purge_bundle(
        &self,
        facts: &BundleFacts,
        by: &str,
        now: &str,
    ) -> Result<usize, StoreError> {
        self.purge_in_steps(facts, by, now, MoveStep::default(), &mut |_| {})
    }

    /// [`Store::purge_bundle`] with the step and the callback given.
    pub fn purge_in_steps(
        &self,
        facts: &BundleFacts,
        by: &str,
        now: &str,
        step: MoveStep,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<usize, StoreError> {
        let returned = Returns::new();
        self.purge_returning(facts, &returned, by, now, step, on_step)
            .map(|p| p.records)
    }

    /// [`Store::purge_in_steps`] of a receipt that returns some of the
    /// bundle's records to correct (`returned`: record id -> what the
    /// supervisor said): each of those whose answers are kept becomes a
    /// draft of its next version in the write that would have removed it
    /// (see `kept`), the others go as today.
    pub fn purge_returning(
        &self,
        facts: &BundleFacts,
        returned: &Returns,
        by: &str,
        now: &str,
        step: MoveStep,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<Purged, StoreError> {
        self.finish_purge(on_step)?;
        let seq_key = facts.sequence.to_be_bytes();
        let mut forms = Vec::with_capacity(facts.records.len());
        let mut returning = Vec::new();
        // The records each form text loses.
        let mut texts: std::collections::BTreeMap<String, i64> = Default::default();
        let mut sent = 0;
        let mut drafts = 0;
        let mut kept = Returns::new();
        for id in &facts.records {
            let key = parse_id(id)?;
            let key = key.as_bytes();
            let is_sent = self.state_byte(key)? == Some(State::Sent.byte());
            if is_sent {
                sent += 1;
            }
            // A returned record with its answers kept stays, as a draft
            // that uses the same form text.
            let back = match returned.get(id) {
                Some(r) if is_sent && self.keeps_answers(id)? => {
                    kept.insert(id.clone(), r.clone());
                    drafts += 1;
                    true
                }
                _ => false,
            };
            // A listing that cannot be read counts for no form.
            if let Some(l) = self.readable_listing(key)? {
                if back {
                    returning.push(l.form_id.clone());
                }
                forms.push(l.form_id);
                if !l.form_sha256.is_empty() && !back {
                    *texts.entry(l.form_sha256).or_insert(0) -= 1;
                }
            }
        }
        let purging = Purging {
            facts: facts.clone(),
            returned: kept,
        };
        let mut changes = vec![
            Change::remove(Tree::Bundles, seq_key.to_vec()),
            Change::put(
                Tree::Meta,
                PURGING,
                self.sealed(Tree::Meta, PURGING, &purging),
            ),
            count_change(drafts, 0, -sent, -1),
            self.receipt_tally_change(&forms, &returning, now)?,
            self.taken_change(&facts.manifest_sha256, now),
            self.event(
                now,
                "purged",
                "",
                "",
                &format!(
                    "{} ({} records, {} returned to correct), receipt by {by}",
                    facts.bundle_id,
                    facts.records.len(),
                    purging.returned.len()
                ),
            )?,
        ];
        changes.extend(
            texts
                .into_iter()
                .map(|(sha, n)| super::finals::form_use_change(&sha, n)),
        );
        drop(forms);
        self.apply(&changes)?;
        on_step(1);
        self.remove_records(&purging, step, 2, on_step)?;
        Ok(Purged {
            records: facts.records.len(),
            returned: purging.returned.into_keys().collect(),
        })
    }

    /// The tallies with the records of `forms` receipted `now`, those of
    /// `returning` returned to correct, as a change for the same write.
    fn receipt_tally_change(
        &self,
        forms: &[String],
        returning: &[String],
        now: &str,
    ) -> Result<Change, StoreError> {
        let mut tallies = self.tallies()?;
        for form in forms {
            let t = tallies.entry(form.clone()).or_default();
            t.receipted += 1;
            t.last_receipt = now.to_string();
        }
        for form in returning {
            tallies.entry(form.clone()).or_default().returned += 1;
        }
        Ok(Change::put(
            Tree::Meta,
            TALLIES.to_vec(),
            self.sealed(Tree::Meta, TALLIES, &tallies),
        ))
    }

    /// Finishes the purge a stop left half-done (see
    /// [`Store::purge_in_steps`]): the bundle's records still in the store
    /// go. Nothing to do (one read) when none is. `on_step` is told after
    /// each write.
    pub fn finish_purge(&self, on_step: &mut dyn FnMut(usize)) -> Result<(), StoreError> {
        let Some(sealed) = self
            .backend
            .get(Tree::Meta, PURGING)
            .map_err(|e| self.backend_err(e))?
        else {
            return Ok(());
        };
        let purging: Purging = self.unsealed(Tree::Meta, PURGING, &sealed)?;
        self.remove_records(&purging, MoveStep::default(), 1, on_step)
    }

    /// Removes a purged bundle's records (record, listing, state, kept
    /// answers and attachments), a step at a time, and makes those it
    /// returns drafts again; the last write ends the purge.
    fn remove_records(
        &self,
        purging: &Purging,
        step: MoveStep,
        first: usize,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<(), StoreError> {
        let facts = &purging.facts;
        let chunks: Vec<&[String]> = facts.records.chunks(step.records.max(1)).collect();
        let mut number = first;
        for (n, chunk) in chunks.iter().enumerate() {
            let mut changes = Vec::with_capacity(chunk.len() * 5 + 1);
            for id in *chunk {
                if let Some(r) = purging.returned.get(id) {
                    match self.returned_changes(id, r)? {
                        Conversion::Done => continue,
                        Conversion::Changes(c) => {
                            changes.extend(c);
                            continue;
                        }
                        Conversion::Nothing => {}
                    }
                }
                let key = parse_id(id)?.as_bytes().to_vec();
                changes.push(self.unkeep_change(id)?);
                changes.extend(self.attachment_removals(id)?);
                changes.extend([
                    Change::remove(Tree::Outbox, key.clone()),
                    Change::remove(Tree::Sent, key.clone()),
                    Change::remove(Tree::Listing, key.clone()),
                    Change::remove(Tree::States, key),
                ]);
            }
            if n + 1 == chunks.len() {
                changes.push(Change::remove(Tree::Meta, PURGING));
            }
            self.apply(&changes)?;
            on_step(number);
            number += 1;
        }
        if chunks.is_empty() {
            self.apply(&[Change::remove(Tree::Meta, PURGING)])?;
            on_step(number);
        }
        Ok(())
    }
}
