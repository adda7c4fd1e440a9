//! The answers of finalized records, kept sealed to the profile (as the
//! draft each was when finalized: answers, form hash, started, instance
//! name, version, round) until a receipt approves or receives the record, so that
//! one a supervisor returns becomes a draft again, "returned: to correct",
//! with their note and comments. Written in the same write as the
//! finalize, removed in the same write as the purge that removes its
//! record; a record finalized before answers were kept has none and
//! cannot be returned. Keys are keyed tags of the record ids, so the tree
//! does not list them. Owns the turning of a returned record into its
//! draft; the purge that calls it is in `bundles`.

use uuid::Uuid;

use super::backend::{Change, Tree};
use super::entries::Returned;
use super::{Draft, Listing, State, Store, StoreError, envelope, parse_id};
use crate::crypt;

/// The context of a kept record's tag.
const TAG: &[u8] = b"fieldkit-kept-answers";

/// The context of a taken receipt's tag (see [`Store::receipt_taken`]).
const TAKEN: &[u8] = b"fieldkit-receipt-taken";

/// What a returned record's conversion to a draft needs to do.
pub(super) enum Conversion {
    /// Already a draft (a purge stopped after its write): nothing.
    Done,
    /// The writes that make it a draft again.
    Changes(Vec<Change>),
    /// No answers kept (finalized before they were, or unreadable): the
    /// record is purged like any other.
    Nothing,
}

impl Store {
    /// The key of a record's kept answers in `kept`.
    fn kept_key(&self, id: &Uuid) -> Vec<u8> {
        crypt::keyed_tag(&self.profile.seal_key, TAG, id.as_bytes()).to_vec()
    }

    /// The change keeping a draft's answers as it is finalized (in
    /// `round`, which its corrections keep), for the finalize's write.
    pub(super) fn keep_change(
        &self,
        draft: &Draft,
        round: Option<&str>,
    ) -> Result<Change, StoreError> {
        let key = self.kept_key(&parse_id(&draft.id)?);
        // Without its paradata: the record carries it, and a correction's
        // starts anew (returned_changes), so a kept copy would never be
        // read (it was 3 KB of a 50-question record's 5 KB).
        let kept = Draft {
            returned: None,
            round: round.map(Into::into),
            paradata: None,
            ..draft.clone()
        };
        let sealed = self.sealed(Tree::Kept, &key, &kept);
        Ok(Change::put(Tree::Kept, key, sealed))
    }

    /// The change removing a record's kept answers (none kept: no-op).
    pub(super) fn unkeep_change(&self, id: &str) -> Result<Change, StoreError> {
        Ok(Change::remove(Tree::Kept, self.kept_key(&parse_id(id)?)))
    }

    /// A finalized record's kept answers, as the draft it was (None: not
    /// kept, or no longer readable).
    pub(super) fn kept(&self, id: &str) -> Result<Option<Draft>, StoreError> {
        let key = self.kept_key(&parse_id(id)?);
        let sealed = self
            .backend
            .get(Tree::Kept, &key)
            .map_err(|e| self.backend_err(e))?;
        Ok(sealed.and_then(|s| self.unsealed::<Draft>(Tree::Kept, &key, &s).ok()))
    }

    /// Whether a finalized record's answers are kept (it can be returned).
    pub fn keeps_answers(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.kept(id)?.is_some_and(|d| d.id == id))
    }

    /// The version of a record in the store (None: not in the store, or
    /// its listing cannot be read).
    pub fn record_version(&self, id: &str) -> Result<Option<u32>, StoreError> {
        let key = parse_id(id)?;
        Ok(self.readable_listing(key.as_bytes())?.map(|l| l.version))
    }

    /// The writes that turn a returned record (exported, in `sent`) into
    /// a draft of its next version: its kept answers, encrypted to the
    /// profile as any draft, with what the supervisor said; the bundle
    /// copy, its attachments (encrypted to the deployment, which this
    /// laptop cannot read) and the kept answers go.
    pub(super) fn returned_changes(
        &self,
        id: &str,
        returned: &Returned,
    ) -> Result<Conversion, StoreError> {
        let uuid = parse_id(id)?;
        let key = uuid.as_bytes();
        let state = self
            .backend
            .get(Tree::States, key)
            .map_err(|e| self.backend_err(e))?;
        if state.as_deref() == Some(&[State::Draft.byte()]) {
            return Ok(Conversion::Done);
        }
        let Some(kept) = self.kept(id)?.filter(|d| d.id == id) else {
            return Ok(Conversion::Nothing);
        };
        // A correction's paradata starts anew (ODK: an audit per editing).
        let draft = Draft {
            paradata: None,
            version: returned.version.saturating_add(1),
            supersedes: Some(returned.version),
            returned: Some(returned.clone()),
            updated: returned.at.clone(),
            ..kept
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&draft).unwrap_or_default());
        let ct = crypt::encrypt_to(&[self.profile.identity.to_public()], &plain)
            .map_err(|e| StoreError::Encrypt(id.to_string(), e.to_string()))?;
        let number = self
            .backend
            .next_number()
            .map_err(|e| self.backend_err(e))?;
        let listing = Listing::of_draft(&draft, ct.len());
        let mut changes = self.attachment_removals(id)?;
        changes.extend([
            Change::remove(Tree::Outbox, key.to_vec()),
            Change::remove(Tree::Sent, key.to_vec()),
            Change::remove(Tree::Kept, self.kept_key(&uuid)),
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
            self.event(
                &returned.at,
                "returned",
                id,
                &draft.form_id,
                &format!("version {} by {}", returned.version, returned.by),
            )?,
        ]);
        Ok(Conversion::Changes(changes))
    }

    /// The key in `meta` saying a receipt for the bundle with this
    /// manifest hash was taken (a keyed tag: the hash is not listed).
    fn taken_key(&self, manifest_sha256: &str) -> Vec<u8> {
        let tag = crypt::keyed_tag(&self.profile.seal_key, TAKEN, manifest_sha256.as_bytes());
        let mut key = b"taken/".to_vec();
        key.extend_from_slice(crypt::to_hex(&tag).as_bytes());
        key
    }

    /// The change saying a receipt for this bundle was taken `now`, for
    /// the purge's write.
    pub(super) fn taken_change(&self, manifest_sha256: &str, now: &str) -> Change {
        let key = self.taken_key(manifest_sha256);
        let sealed = self.sealed(Tree::Meta, &key, &now);
        Change::put(Tree::Meta, key, sealed)
    }

    /// When a receipt for the bundle with this manifest hash was taken
    /// (None: never, or before this was kept).
    pub fn receipt_taken(&self, manifest_sha256: &str) -> Result<Option<String>, StoreError> {
        let key = self.taken_key(manifest_sha256);
        let sealed = self
            .backend
            .get(Tree::Meta, &key)
            .map_err(|e| self.backend_err(e))?;
        Ok(sealed.and_then(|s| self.unsealed::<String>(Tree::Meta, &key, &s).ok()))
    }
}
