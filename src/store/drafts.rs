//! Drafts in the store: saved after every answer (encrypted to the
//! profile, listed, audited) and, for their paradata alone, when a
//! question comes into focus, read back, deleted.

use super::backend::{Change, Tree};
use super::{Draft, Listing, State, Store, StoreError, count_change, envelope, parse_id};
use crate::crypt;

impl Store {
    /// Saves a draft: encrypted to the profile, listed, audited (`detail`
    /// names the field just answered). On disk when this returns.
    pub fn save_draft(&self, draft: &Draft, detail: &str) -> Result<(), StoreError> {
        let existing = self.stored_draft(&draft.id)?;
        let changes = self.draft_changes(draft, detail, existing)?;
        self.apply(&changes)
    }

    /// Whether record `id` is stored as a draft (false: it is not stored);
    /// a record stored in another state is refused as not a draft.
    pub(super) fn stored_draft(&self, id: &str) -> Result<bool, StoreError> {
        match self.state_of(parse_id(id)?.as_bytes())? {
            None => Ok(false),
            Some(State::Draft) => Ok(true),
            Some(state) => Err(StoreError::NotADraft {
                id: id.to_string(),
                state,
            }),
        }
    }

    /// Saves a stored draft whose paradata alone changed (a question came
    /// into focus, the record was left): the write of `save_draft` without
    /// its audit event (the log says what was done to records, not where
    /// the enumerator looked). Paradata alone never makes a draft: one not
    /// in the store is refused.
    pub fn save_draft_paradata(&self, draft: &Draft) -> Result<(), StoreError> {
        if !self.stored_draft(&draft.id)? {
            return Err(StoreError::NotFound(draft.id.clone()));
        }
        let mut changes = self.draft_changes(draft, "", true)?;
        changes.retain(|c| c.tree != Tree::Audit);
        self.apply(&changes)
    }

    pub(super) fn draft_changes(
        &self,
        draft: &Draft,
        detail: &str,
        existing: bool,
    ) -> Result<Vec<Change>, StoreError> {
        let id = parse_id(&draft.id)?;
        let key = id.as_bytes();
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(draft).unwrap_or_default());
        let ct = crypt::encrypt_to(&[self.profile.identity.to_public()], &plain)
            .map_err(|e| StoreError::Encrypt(draft.id.clone(), e.to_string()))?;
        let number = self
            .backend
            .next_number()
            .map_err(|e| self.backend_err(e))?;
        let listing = Listing::of_draft(draft, ct.len());
        let what = if existing { "answered" } else { "created" };
        let mut changes = vec![];
        if !existing {
            changes.push(count_change(1, 0, 0, 0));
            changes.push(super::finals::form_use_change(&draft.form_sha256, 1));
        }
        changes.extend([
            Change::put(Tree::States, key.to_vec(), vec![State::Draft.byte()]),
            Change::put(
                Tree::Drafts,
                key.to_vec(),
                envelope::wrap(envelope::DRAFT, key, number, &ct),
            ),
            Change::put(
                Tree::Listing,
                key.to_vec(),
                self.sealed(Tree::Listing, key, &listing),
            ),
            self.event(&draft.updated, what, &draft.id, &draft.form_id, detail)?,
        ]);
        Ok(changes)
    }

    pub fn load_draft(&self, id: &str) -> Result<Draft, StoreError> {
        let uuid = parse_id(id)?;
        let value = self
            .backend
            .get(Tree::Drafts, uuid.as_bytes())
            .map_err(|e| self.backend_err(e))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        self.decrypt_draft(id, &value)
    }

    pub(super) fn decrypt_draft(&self, id: &str, value: &[u8]) -> Result<Draft, StoreError> {
        let (_, _, _, payload) = envelope::unwrap(value).ok_or_else(|| StoreError::Damaged {
            id: id.to_string(),
            reason: "its envelope is damaged".into(),
        })?;
        let plain = crypt::decrypt_with(&self.profile.identity, payload).map_err(|e| {
            StoreError::Damaged {
                id: id.to_string(),
                reason: e.to_string(),
            }
        })?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Damaged {
            id: id.to_string(),
            reason: e.to_string(),
        })
    }

    /// Deletes a draft (the enumerator confirmed it). Finalized records
    /// are never deleted this way.
    pub fn delete_draft(&self, id: &str, now: &str) -> Result<(), StoreError> {
        let uuid = parse_id(id)?;
        let key = uuid.as_bytes();
        if self
            .backend
            .get(Tree::Drafts, key)
            .map_err(|e| self.backend_err(e))?
            .is_none()
        {
            return Err(StoreError::NotFound(id.to_string()));
        }
        // Its listing: a returned record is not deleted (the supervisor
        // waits for its correction), and its form text has one user less.
        let listing = self.readable_listing(key)?;
        if let Some(l) = &listing
            && l.returned.is_some()
        {
            return Err(StoreError::ReturnedDraft(id.to_string()));
        }
        let event = self.event(now, "deleted", id, "", "")?;
        let mut changes = vec![
            Change::remove(Tree::Drafts, key.to_vec()),
            Change::remove(Tree::Listing, key.to_vec()),
            Change::remove(Tree::States, key.to_vec()),
            count_change(-1, 0, 0, 0),
            event,
        ];
        changes.extend(self.attachment_removals(id)?);
        // (A listing that cannot be read counts for no form text.)
        if let Some(l) = listing
            && !l.form_sha256.is_empty()
        {
            changes.push(super::finals::form_use_change(&l.form_sha256, -1));
        }
        self.apply(&changes)?;
        // The last draft of an old form version takes its text with it.
        self.retire_forms(now).map(|_| ())
    }
}
