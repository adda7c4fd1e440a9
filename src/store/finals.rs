//! Finalized records: a draft finalized into the outbox (encrypted to the
//! deployment's data managers, its answers kept sealed to the profile
//! until a receipt, see `kept`) in one write, the form texts records were
//! made with (kept once per text), and the outbox and sent records read
//! back for export.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::backend::{Change, Tree};
use super::{
    Draft, Listing, RECORD_FORMAT, State, Store, StoreError, context, count_change, display_key,
    envelope, parse_id,
};
use crate::crypt;
use crate::form::Form;
use crate::record::{FinalRecord, REVIEW_FORMAT, ReviewPart, ReviewView};

impl Store {
    /// Finalizes a draft: the record (with its computed values) is
    /// encrypted to the deployment's recipients and moved to the outbox;
    /// the draft is gone in the same atomic write.
    pub fn finalize(
        &self,
        draft: &Draft,
        values: &Map<String, Value>,
        now: &str,
        form_text: &[u8],
    ) -> Result<(), StoreError> {
        self.finalize_with_review(draft, values, now, form_text, None)
    }

    /// [`finalize`](Self::finalize), with the record's review part: its
    /// review view is encrypted to the supervisors in the same write.
    pub fn finalize_with_review(
        &self,
        draft: &Draft,
        values: &Map<String, Value>,
        now: &str,
        form_text: &[u8],
        review: Option<&ReviewPart>,
    ) -> Result<(), StoreError> {
        if !self.stored_draft(&draft.id)? {
            return Err(StoreError::NotFound(draft.id.clone()));
        }
        let changes = self.final_changes(draft, values, now, form_text, review)?;
        self.apply(&changes)
    }

    /// Saves a new record and finalizes it in one atomic write (`fill
    /// --finalize`): a crash leaves either nothing or the finalized record.
    pub fn save_final(
        &self,
        draft: &Draft,
        values: &Map<String, Value>,
        now: &str,
        form_text: &[u8],
    ) -> Result<(), StoreError> {
        self.save_final_with_review(draft, values, now, form_text, None)
    }

    /// [`save_final`](Self::save_final), with the record's review part.
    pub fn save_final_with_review(
        &self,
        draft: &Draft,
        values: &Map<String, Value>,
        now: &str,
        form_text: &[u8],
        review: Option<&ReviewPart>,
    ) -> Result<(), StoreError> {
        let id = parse_id(&draft.id)?;
        if let Some(state) = self.state_of(id.as_bytes())? {
            return Err(StoreError::NotADraft {
                id: draft.id.clone(),
                state,
            });
        }
        // The draft is created and finalized in the same write, so it is
        // never stored: no draft is encrypted, listed and removed again.
        let mut changes = vec![
            self.event(&draft.updated, "created", &draft.id, &draft.form_id, "")?,
            count_change(1, 0, 0, 0),
            form_use_change(&draft.form_sha256, 1),
        ];
        changes.extend(
            self.final_changes(draft, values, now, form_text, review)?
                .into_iter()
                .filter(|c| c.tree != Tree::Drafts),
        );
        self.apply(&changes)
    }

    pub(super) fn final_changes(
        &self,
        draft: &Draft,
        values: &Map<String, Value>,
        now: &str,
        form_text: &[u8],
        review: Option<&ReviewPart>,
    ) -> Result<Vec<Change>, StoreError> {
        let id = parse_id(&draft.id)?;
        let key = id.as_bytes();
        // The form kept for a bundle is the very text the draft was made
        // with: another text (or none at all) under its hash would make
        // every later bundle fail verification.
        let given = crypt::sha256_hex(form_text);
        if given != draft.form_sha256 {
            return Err(StoreError::FormMismatch {
                id: draft.id.clone(),
                form_id: draft.form_id.clone(),
                expected: draft.form_sha256.clone(),
                given,
            });
        }
        let (attachment_changes, attachments) = self.attachment_final_changes(&draft.id, values)?;
        // A correction is the same assessment: it keeps its round.
        let round = match draft.supersedes {
            Some(_) => draft.round.clone(),
            None => self.installed_pack()?.map(|p| p.round),
        }
        .filter(|r| !r.is_empty());
        let record = FinalRecord {
            format: RECORD_FORMAT.into(),
            record_id: draft.id.as_str().into(),
            form_id: draft.form_id.as_str().into(),
            form_version: draft.form_version.as_str().into(),
            form_sha256: draft.form_sha256.as_str().into(),
            enumerator_id: self.profile.public.enumerator_id.as_str().into(),
            device_id: self.profile.public.device_id.as_str().into(),
            started: draft.started.as_str().into(),
            finalized_at: now.into(),
            instance_name: draft.instance_name.as_str().into(),
            version: draft.version,
            supersedes: draft.supersedes,
            round: round.as_deref().map(Into::into),
            values,
            attachments,
            paradata: draft.paradata.as_ref().map(|p| p.finish(now)),
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&record).unwrap_or_default());
        let ct = crypt::encrypt_to(&self.recipients()?, &plain)
            .map_err(|e| StoreError::Encrypt(draft.id.clone(), e.to_string()))?;
        let review_ct = match review {
            Some(part) => self.review_view(&record, part)?,
            None => None,
        };
        let number = self
            .backend
            .next_number()
            .map_err(|e| self.backend_err(e))?;
        let entity =
            crate::record::EntityOp::of_values(values).map(|op| format!("{}/{}", op.list, op.id));
        let visit = match &entity {
            Some(e) => self.round_visit(e)?,
            None => None,
        };
        // No answer text is kept of a record this laptop cannot read back;
        // the entity it visits only when the assignments name it (the
        // supervisor has those names already).
        let listing = Listing {
            state: State::Outbox,
            instance_name: String::new(),
            updated: now.into(),
            finalized: Some(now.into()),
            entity: match &visit {
                Some((_, true)) => entity.clone(),
                _ => None,
            },
            returned: None,
            ..Listing::of_draft(draft, ct.len())
        };
        let mut changes = vec![
            Change::put(Tree::States, key.to_vec(), vec![State::Outbox.byte()]),
            count_change(-1, 1, 0, 0),
            Change::remove(Tree::Drafts, key.to_vec()),
            Change::put(Tree::Outbox, key.to_vec(), {
                let mut value = envelope::wrap(envelope::RECORD, key, number, &ct);
                if let Some(review) = &review_ct {
                    value.extend(envelope::wrap(envelope::REVIEW, key, number, review));
                }
                value
            }),
            Change::put(
                Tree::Listing,
                key.to_vec(),
                self.sealed(Tree::Listing, key, &listing),
            ),
            // Its answers, sealed to the profile, until a receipt approves
            // or receives it (kept.rs).
            self.keep_change(draft, round.as_deref())?,
        ];
        // The form is kept once per text: writing its whole text again
        // for every record made the store 13 times the answers' size. A
        // kept copy that no longer opens or matches is written again.
        if !self.keeps_form(&draft.form_sha256) {
            changes.push(Change::put(
                Tree::Forms,
                draft.form_sha256.as_bytes().to_vec(),
                crypt::seal(
                    &self.profile.seal_key,
                    &context(Tree::Forms, draft.form_sha256.as_bytes()),
                    form_text,
                ),
            ));
        }
        changes.extend(attachment_changes);
        // The site (or other entity) the record visits counts for the
        // round's assignments on the home page.
        if let Some((change, _)) = visit {
            changes.push(change);
        }
        changes.push(self.event(now, "finalized", &draft.id, &draft.form_id, "")?);
        Ok(changes)
    }

    /// A record's review view encrypted to the supervisors; None when
    /// there is none to encrypt to.
    fn review_view(
        &self,
        record: &FinalRecord<&Map<String, Value>>,
        part: &ReviewPart,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let keys = self.supervisor_keys();
        if keys.is_empty() {
            return Ok(None);
        }
        let view = ReviewView {
            format: REVIEW_FORMAT.into(),
            record_id: record.record_id.to_string(),
            version: record.version,
            supersedes: record.supersedes,
            form_id: record.form_id.to_string(),
            form_version: record.form_version.to_string(),
            form_sha256: record.form_sha256.to_string(),
            enumerator_id: record.enumerator_id.to_string(),
            device_id: record.device_id.to_string(),
            started: record.started.to_string(),
            finalized_at: record.finalized_at.to_string(),
            values: part.values.clone(),
            checks: part.checks.clone(),
        };
        let plain = crypt::secret_json(&view);
        crypt::encrypt_to_ssh(&keys, &plain)
            .map(Some)
            .map_err(|e| StoreError::Encrypt(view.record_id.clone(), e.to_string()))
    }

    /// Keeps the text of `form` (under its SHA-256) unless it is kept
    /// already: a draft is saved with this first, so that it resumes and
    /// finalizes with the very text it was started on, whatever the forms
    /// folder holds by then.
    pub fn keep_form(&self, form: &Form) -> Result<(), StoreError> {
        let sha256 = form.sha256();
        let seen = |kept: &HashSet<String>| kept.contains(sha256);
        if self.kept_forms.lock().is_ok_and(|k| seen(&k)) {
            return Ok(());
        }
        if !self.keeps_form(sha256) {
            self.apply(&[Change::put(
                Tree::Forms,
                sha256.as_bytes().to_vec(),
                crypt::seal(
                    &self.profile.seal_key,
                    &context(Tree::Forms, sha256.as_bytes()),
                    form.text().as_bytes(),
                ),
            )])?;
        }
        if let Ok(mut kept) = self.kept_forms.lock() {
            kept.insert(sha256.to_string());
        }
        Ok(())
    }

    /// Retires the form texts no draft and no unreceipted record uses any
    /// more (after a receipt, a deleted draft or a new round pack): a
    /// draft keeps the version it was started on, a record the text its
    /// bundle carries, and nothing else is kept. Each text's records are
    /// counted as they come and go (`form_use_change`), so this reads the
    /// few kept texts and their counts, never the records: a store made
    /// before the counts is counted once (and with a listing too old or
    /// too damaged to say its text, nothing is retired). Returns how many
    /// texts were retired.
    pub fn retire_forms(&self, now: &str) -> Result<usize, StoreError> {
        if !self.form_uses_counted()? {
            return Ok(0);
        }
        let mut kept = Vec::new();
        self.backend
            .visit(Tree::Forms, &mut |k, _| {
                kept.push(String::from_utf8_lossy(k).into_owned());
                true
            })
            .map_err(|e| self.backend_err(e))?;
        let mut retired = Vec::new();
        for sha in kept {
            if self.form_uses(&sha)? == 0 {
                retired.push(sha);
            }
        }
        if retired.is_empty() {
            return Ok(0);
        }
        let mut changes: Vec<Change> = Vec::with_capacity(retired.len() * 2 + 1);
        for sha in &retired {
            changes.push(Change::remove(Tree::Forms, sha.as_bytes().to_vec()));
            changes.push(Change::remove(Tree::Meta, form_use_key(sha)));
        }
        let detail = format!("no draft or record uses it: {}", retired.join(", "));
        changes.push(self.event(now, "form texts retired", "", "", &detail)?);
        // Forget them before the write: a draft started later keeps its
        // text again rather than trusting a copy that is gone.
        if let Ok(mut kept) = self.kept_forms.lock() {
            for sha in &retired {
                kept.remove(sha);
            }
        }
        self.apply(&changes)?;
        Ok(retired.len())
    }

    /// How many drafts and unreceipted records use the form text `sha`.
    fn form_uses(&self, sha: &str) -> Result<u64, StoreError> {
        let value = self
            .backend
            .get(Tree::Meta, &form_use_key(sha))
            .map_err(|e| self.backend_err(e))?;
        Ok(super::backend::read_counters(value.as_deref(), 1)[0])
    }

    /// Whether the uses of form texts are counted; in a store made before
    /// they were, counts them once from the listings (false when a
    /// listing is too old or damaged to say its text).
    fn form_uses_counted(&self) -> Result<bool, StoreError> {
        if self
            .backend
            .get(Tree::Meta, FORM_USES_KEPT)
            .map_err(|e| self.backend_err(e))?
            .is_some()
        {
            return Ok(true);
        }
        let (listings, damaged) = self.listing_checked()?;
        if !damaged.is_empty() || listings.iter().any(|l| l.form_sha256.is_empty()) {
            return Ok(false);
        }
        let mut uses: std::collections::BTreeMap<&str, u64> = Default::default();
        for l in &listings {
            *uses.entry(l.form_sha256.as_str()).or_default() += 1;
        }
        // Counted as they stand (not added: drafts made since this
        // fieldkit came may be counted already); texts unused: none.
        let mut changes: Vec<Change> = Vec::new();
        self.backend
            .visit(Tree::Forms, &mut |k, _| {
                let sha = String::from_utf8_lossy(k);
                if !uses.contains_key(sha.as_ref()) {
                    changes.push(Change::remove(Tree::Meta, form_use_key(&sha)));
                }
                true
            })
            .map_err(|e| self.backend_err(e))?;
        changes.extend(uses.into_iter().map(|(sha, n)| {
            Change::put(Tree::Meta, form_use_key(sha), n.to_string().into_bytes())
        }));
        changes.push(Change::put(Tree::Meta, FORM_USES_KEPT, b"1".to_vec()));
        self.apply(&changes)?;
        Ok(true)
    }

    /// Whether the form with this SHA-256 is kept, whole and unchanged.
    pub(super) fn keeps_form(&self, sha256: &str) -> bool {
        self.form_text(sha256)
            .ok()
            .flatten()
            .is_some_and(|text| crypt::sha256_hex(&text) == sha256)
    }

    /// The ids of the records waiting in the outbox, oldest first (ids
    /// are UUIDv7), read from the small `states` tree.
    pub fn outbox_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        self.backend
            .visit(Tree::States, &mut |k, v| {
                if v.first() == Some(&State::Outbox.byte()) {
                    ids.push(display_key(k));
                }
                true
            })
            .map_err(|e| self.backend_err(e))?;
        Ok(ids)
    }

    /// A finalized record in the outbox or in "sent": its listing and its
    /// ciphertext.
    pub fn finalized(&self, id: &str, state: State) -> Result<(Listing, Vec<u8>), StoreError> {
        self.finalized_parts(id, state)
            .map(|(listing, record, _)| (listing, record))
    }

    /// [`finalized`](Self::finalized), and the record's review view (an age
    /// file to the supervisors) when it has one.
    pub fn finalized_parts(&self, id: &str, state: State) -> Result<FinalizedParts, StoreError> {
        let tree = match state {
            State::Outbox => Tree::Outbox,
            State::Sent => Tree::Sent,
            State::Draft => return Err(StoreError::NotFound(id.to_string())),
        };
        let (listing, value) = self.stored(id, tree)?;
        if listing.state != state {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let ciphertext = envelope::unwrap(&value)
            .map(|(_, _, _, payload)| payload.to_vec())
            .ok_or_else(|| StoreError::Damaged {
                id: id.to_string(),
                reason: "its envelope is damaged".into(),
            })?;
        let review = match envelope::next(&value) {
            Some((envelope::REVIEW, _, _, payload)) => Some(payload.to_vec()),
            _ => None,
        };
        Ok((listing, ciphertext, review))
    }

    /// A record's listing and its stored value (an envelope) in `tree`
    /// (a sent record: in `sent` in stores written before exported records
    /// stayed in `outbox`).
    pub(super) fn stored(&self, id: &str, tree: Tree) -> Result<(Listing, Vec<u8>), StoreError> {
        let key = parse_id(id)?;
        let key = key.as_bytes();
        let get = |tree| self.backend.get(tree, key).map_err(|e| self.backend_err(e));
        let value = match (get(tree)?, tree) {
            (Some(value), _) => Some(value),
            (None, Tree::Sent) => get(Tree::Outbox)?,
            (None, _) => None,
        }
        .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        Ok((self.listing_of(id)?, value))
    }

    /// A finalized record's listing.
    pub(super) fn listing_of(&self, id: &str) -> Result<Listing, StoreError> {
        let key = parse_id(id)?;
        let key = key.as_bytes();
        let sealed = self
            .backend
            .get(Tree::Listing, key)
            .map_err(|e| self.backend_err(e))?
            .ok_or_else(|| StoreError::Damaged {
                id: id.to_string(),
                reason: "it has no listing".into(),
            })?;
        self.unsealed(Tree::Listing, key, &sealed)
    }

    /// The text of the form with this SHA-256, as kept when a draft of it
    /// was first saved or a record of it finalized.
    pub fn form_text(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = sha256.as_bytes();
        match self
            .backend
            .get(Tree::Forms, key)
            .map_err(|e| self.backend_err(e))?
        {
            None => Ok(None),
            Some(sealed) => {
                crypt::open(&self.profile.seal_key, &context(Tree::Forms, key), &sealed)
                    .map(|p| Some(p.to_vec()))
                    .map_err(|e| StoreError::Damaged {
                        id: format!("form {sha256}"),
                        reason: e.to_string(),
                    })
            }
        }
    }
}

/// A finalized record as the store holds it: its listing, its age file
/// (to the data managers), and its review view (to the supervisors), if
/// it has one.
pub type FinalizedParts = (Listing, Vec<u8>, Option<Vec<u8>>);

/// Where the uses of a form text are counted (`meta`).
fn form_use_key(sha: &str) -> Vec<u8> {
    format!("formuse/{sha}").into_bytes()
}

/// Set in `meta` once the uses of form texts are counted.
pub(super) const FORM_USES_KEPT: &[u8] = b"formuses";

/// A draft or record of the form text `sha` came (`+1`) or went (`-1`),
/// as a change for the same write.
pub(super) fn form_use_change(sha: &str, delta: i64) -> Change {
    Change::add(Tree::Meta, form_use_key(sha), vec![delta])
}
