//! Attachments: the files answered to image, audio, video and file
//! questions. The bytes are handed in once, when the file is picked, and
//! kept in the `attachments` tree under the record id and the
//! attachment's name, encrypted to the profile while the record is a
//! draft (never the path, never plaintext on disk). Finalizing encrypts
//! each attachment the record names to the deployment's data managers
//! (this laptop cannot read it back) and drops those it no longer names;
//! export carries them beside the record; deleting a draft or a receipt
//! purging its records removes them. A record's attachments are written
//! in separate writes from the draft that names them (a file can be
//! larger than a draft), so one picked and never answered is left until
//! its record is finalized or deleted.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::backend::{Change, Tree};
use super::{State, Store, StoreError, envelope, parse_id};
use crate::crypt;
use crate::record::AttachmentFacts;

/// An attachment of a draft: age-encrypted to the profile.
pub const DRAFT_ATTACHMENT: u8 = b'a';
/// An attachment of a finalized record: age-encrypted to the deployment.
pub const RECORD_ATTACHMENT: u8 = b'm';

/// An attachment's stored value (an enveloped age file) is kept in
/// chunks of this many bytes, under `id / tag / chunk number`, and the
/// sealed `id # tag` names it and holds its chunks' count and its size:
/// so that a record's attachments are listed without reading them, and no
/// sled value or leaf is large. (sled writes a leaf of 16 keys over
/// 128 KiB as a blob file of its own and rewrites the whole leaf at every
/// change to any of its keys: whole files as values made one 50 MB blob of
/// five 10 MB photos, written again as each was added, and left replaced
/// blobs on disk. Either way sled does not give the space of replaced
/// values back at once: see the notes of issue 18.) The tag is a keyed
/// hash of the name, which holds a hash of the file: a key in plain text
/// would let anyone holding the laptop and a photo tell it was attached.
const CHUNK: usize = 4096;

/// What the index entry of an attachment holds (sealed).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Indexed {
    pub(super) name: String,
    pub(super) chunks: u32,
    pub(super) size: u64,
}

/// The context of an attachment's tag.
const TAG: &[u8] = b"fieldkit-attachment";

fn prefix(id: &Uuid, sep: u8) -> Vec<u8> {
    let mut k = id.as_bytes().to_vec();
    k.push(sep);
    k
}

fn chunk_key(id: &Uuid, tag: &[u8; 16], i: u32) -> Vec<u8> {
    let mut k = prefix(id, b'/');
    k.extend_from_slice(tag);
    k.extend_from_slice(&i.to_be_bytes());
    k
}

fn index_key(id: &Uuid, tag: &[u8; 16]) -> Vec<u8> {
    let mut k = prefix(id, b'#');
    k.extend_from_slice(tag);
    k
}

/// (record id, tag) of a chunk's key (`id / tag / n`).
pub(super) fn chunk_of(k: &[u8]) -> Option<([u8; 16], [u8; 16])> {
    (k.len() == 16 + 1 + 16 + 4 && k[16] == b'/').then_some(())?;
    Some((k[..16].try_into().ok()?, k[17..33].try_into().ok()?))
}

/// (record id, tag) of an index entry's key (`id # tag`).
pub(super) fn index_of(k: &[u8]) -> Option<([u8; 16], [u8; 16])> {
    (k.len() == 16 + 1 + 16 && k[16] == b'#').then_some(())?;
    Some((k[..16].try_into().ok()?, k[17..33].try_into().ok()?))
}

/// Whether `name` is given as a string anywhere in the record's values
/// (file answers are attachment names, which nothing else looks like).
fn names(values: &Map<String, Value>, name: &str) -> bool {
    fn walk(v: &Value, name: &str) -> bool {
        match v {
            Value::String(s) => s == name,
            Value::Array(a) => a.iter().any(|x| walk(x, name)),
            Value::Object(o) => o.values().any(|x| walk(x, name)),
            _ => false,
        }
    }
    values.values().any(|v| walk(v, name))
}

impl Store {
    fn tag(&self, id: &Uuid, name: &str) -> [u8; 16] {
        let mut data = id.as_bytes().to_vec();
        data.extend_from_slice(name.as_bytes());
        crypt::keyed_tag(&self.profile.seal_key, TAG, &data)
    }

    /// The changes that keep `value` as the attachment `name` of `id`, a
    /// file of `size` bytes.
    fn put_changes(&self, id: &Uuid, name: &str, value: &[u8], size: u64) -> Vec<Change> {
        let tag = self.tag(id, name);
        let mut out: Vec<Change> = value
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, c)| {
                Change::put(
                    Tree::Attachments,
                    chunk_key(id, &tag, u32::try_from(i).unwrap_or(u32::MAX)),
                    c.to_vec(),
                )
            })
            .collect();
        let entry = Indexed {
            name: name.to_string(),
            chunks: u32::try_from(out.len()).unwrap_or(u32::MAX),
            size,
        };
        let key = index_key(id, &tag);
        let sealed = self.sealed(Tree::Attachments, &key, &entry);
        out.push(Change::put(Tree::Attachments, key, sealed));
        out
    }

    /// A record's attachments as its index says: name, chunks, size.
    fn indexed(&self, id: &Uuid) -> Result<Vec<Indexed>, StoreError> {
        let mut raw = Vec::new();
        self.backend
            .visit_prefix(Tree::Attachments, &prefix(id, b'#'), &mut |k, v| {
                raw.push((k.to_vec(), v.to_vec()));
                true
            })
            .map_err(|e| self.backend_err(e))?;
        let mut out: Vec<Indexed> = raw
            .iter()
            .map(|(k, v)| self.unsealed::<Indexed>(Tree::Attachments, k, v))
            .collect::<Result<_, _>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Keeps a picked file's bytes for the draft `record_id` (which may
    /// not be saved yet), encrypted to the profile. The same name again
    /// replaces it.
    pub fn attach(
        &self,
        record_id: &str,
        name: &str,
        bytes: &[u8],
        now: &str,
    ) -> Result<(), StoreError> {
        let id = parse_id(record_id)?;
        // Attached to a draft, or to a record not yet stored.
        self.stored_draft(record_id)?;
        if !crate::form::media::is_attachment_name(name) {
            return Err(StoreError::Damaged {
                id: record_id.to_string(),
                reason: format!("'{name}' is not an attachment name"),
            });
        }
        let ct = crypt::encrypt_to(&[self.profile.identity.to_public()], bytes)
            .map_err(|e| StoreError::Encrypt(record_id.to_string(), e.to_string()))?;
        let number = self
            .backend
            .next_number()
            .map_err(|e| self.backend_err(e))?;
        let mut changes = self.remove_changes(&id, name)?;
        changes.extend(self.put_changes(
            &id,
            name,
            &envelope::wrap(DRAFT_ATTACHMENT, id.as_bytes(), number, &ct),
            bytes.len() as u64,
        ));
        changes.push(self.event(now, "attached", record_id, "", name)?);
        self.apply(&changes)
    }

    /// How many chunks the attachment `name` of `id` is kept in (0: none).
    fn chunk_count(&self, id: &Uuid, name: &str) -> Result<u32, StoreError> {
        let key = index_key(id, &self.tag(id, name));
        let v = self
            .backend
            .get(Tree::Attachments, &key)
            .map_err(|e| self.backend_err(e))?;
        match v {
            Some(v) => Ok(self
                .unsealed::<Indexed>(Tree::Attachments, &key, &v)?
                .chunks),
            None => Ok(0),
        }
    }

    /// The changes that remove the attachment `name` of `id`, if kept.
    fn remove_changes(&self, id: &Uuid, name: &str) -> Result<Vec<Change>, StoreError> {
        let n = self.chunk_count(id, name)?;
        let tag = self.tag(id, name);
        let mut out: Vec<Change> = (0..n)
            .map(|i| Change::remove(Tree::Attachments, chunk_key(id, &tag, i)))
            .collect();
        out.push(Change::remove(Tree::Attachments, index_key(id, &tag)));
        Ok(out)
    }

    /// The stored value of the attachment `name` of `id`, its chunks put
    /// together (None: not kept).
    fn attachment_value(&self, id: &Uuid, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let n = self.chunk_count(id, name)?;
        if n == 0 {
            return Ok(None);
        }
        let tag = self.tag(id, name);
        let mut chunks = prefix(id, b'/');
        chunks.extend_from_slice(&tag);
        let mut value = Vec::with_capacity(n as usize * CHUNK);
        let mut seen = 0;
        self.backend
            .visit_prefix(Tree::Attachments, &chunks, &mut |_, v| {
                value.extend_from_slice(v);
                seen += 1;
                true
            })
            .map_err(|e| self.backend_err(e))?;
        if seen != n {
            return Err(StoreError::Damaged {
                id: format!("{id}/{name}"),
                reason: format!("{seen} of its {n} parts are kept"),
            });
        }
        Ok(Some(value))
    }

    /// Removes a draft's attachment (its answer was cleared or replaced).
    pub fn detach(&self, record_id: &str, name: &str, now: &str) -> Result<(), StoreError> {
        let id = parse_id(record_id)?;
        // The envelope's kind is in its first chunk.
        let first = self
            .backend
            .get(Tree::Attachments, &chunk_key(&id, &self.tag(&id, name), 0))
            .map_err(|e| self.backend_err(e))?;
        match first {
            Some(v) if v.get(4) == Some(&DRAFT_ATTACHMENT) => {}
            Some(_) => {
                return Err(StoreError::NotADraft {
                    id: record_id.to_string(),
                    state: State::Outbox,
                });
            }
            None => return Ok(()),
        }
        let mut changes = self.remove_changes(&id, name)?;
        changes.push(self.event(now, "detached", record_id, "", name)?);
        self.apply(&changes)
    }

    /// The names and sizes of a record's attachments, in name order
    /// (their bytes are not read).
    pub fn attachment_sizes(&self, record_id: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let id = parse_id(record_id)?;
        Ok(self
            .indexed(&id)?
            .into_iter()
            .map(|i| (i.name, i.size))
            .collect())
    }

    /// The names of a record's attachments, in name order (their bytes
    /// are not read).
    pub fn attachment_names(&self, record_id: &str) -> Result<Vec<String>, StoreError> {
        let id = parse_id(record_id)?;
        Ok(self.indexed(&id)?.into_iter().map(|i| i.name).collect())
    }

    /// A draft's attachment, decrypted (what the enumerator attached).
    pub fn draft_attachment(
        &self,
        record_id: &str,
        name: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        let id = parse_id(record_id)?;
        let value = self
            .attachment_value(&id, name)?
            .ok_or_else(|| StoreError::NotFound(format!("{record_id}/{name}")))?;
        let damaged = |reason: String| StoreError::Damaged {
            id: format!("{record_id}/{name}"),
            reason,
        };
        match envelope::unwrap(&value) {
            Some((DRAFT_ATTACHMENT, _, _, payload)) => {
                crypt::decrypt_with(&self.profile.identity, payload)
                    .map_err(|e| damaged(e.to_string()))
            }
            Some(_) => Err(damaged("it belongs to a finalized record".into())),
            None => Err(damaged("its envelope is damaged".into())),
        }
    }

    /// Refuses to finalize a record whose values name an attachment that
    /// is not kept (`answers`: its file questions' answers): it would
    /// leave the laptop without it.
    pub fn check_attachments(&self, record_id: &str, answers: &[String]) -> Result<(), StoreError> {
        let kept = self.attachment_names(record_id)?;
        match answers.iter().find(|a| !kept.contains(a)) {
            Some(missing) => Err(StoreError::MissingAttachment {
                id: record_id.to_string(),
                name: missing.clone(),
            }),
            None => Ok(()),
        }
    }

    /// A finalized record's attachments: (name, age file to the
    /// deployment), in name order, what export writes into a bundle.
    pub fn record_attachments(
        &self,
        record_id: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for (name, value) in self.attachment_entries(record_id)? {
            match envelope::unwrap(&value) {
                Some((RECORD_ATTACHMENT, _, _, payload)) => out.push((name, payload.to_vec())),
                Some(_) => {}
                None => {
                    return Err(StoreError::Damaged {
                        id: format!("{record_id}/{name}"),
                        reason: "its envelope is damaged".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// A record's attachments, name and stored value, read one by one.
    fn attachment_entries(&self, record_id: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let id = parse_id(record_id)?;
        let mut out = Vec::new();
        for name in self.attachment_names(record_id)? {
            let value = self
                .attachment_value(&id, &name)?
                .ok_or_else(|| StoreError::Damaged {
                    id: format!("{record_id}/{name}"),
                    reason: "it is listed but not kept".into(),
                })?;
            out.push((name, value));
        }
        Ok(out)
    }

    /// The changes that finalize a record's attachments: those its values
    /// name encrypted to the deployment, the rest removed; and the facts
    /// the record names them by.
    pub(super) fn attachment_final_changes(
        &self,
        record_id: &str,
        values: &Map<String, Value>,
    ) -> Result<(Vec<Change>, Vec<AttachmentFacts>), StoreError> {
        let id = parse_id(record_id)?;
        let mut changes = Vec::new();
        let mut facts = Vec::new();
        let recipients = self.recipients()?;
        for (name, value) in self.attachment_entries(record_id)? {
            // Its old chunks go either way (the new ones, written after
            // them in the same write, may be fewer).
            changes.extend(self.remove_changes(&id, &name)?);
            if !names(values, &name) {
                continue;
            }
            let plain = match envelope::unwrap(&value) {
                Some((DRAFT_ATTACHMENT, _, _, payload)) => {
                    crypt::decrypt_with(&self.profile.identity, payload).map_err(|e| {
                        StoreError::Damaged {
                            id: format!("{record_id}/{name}"),
                            reason: e.to_string(),
                        }
                    })?
                }
                _ => {
                    return Err(StoreError::Damaged {
                        id: format!("{record_id}/{name}"),
                        reason: "it is not a draft's attachment".into(),
                    });
                }
            };
            facts.push(AttachmentFacts {
                name: name.clone(),
                size: plain.len() as u64,
                sha256: crypt::sha256_hex(&plain),
            });
            let ct = crypt::encrypt_to(&recipients, &plain)
                .map_err(|e| StoreError::Encrypt(record_id.to_string(), e.to_string()))?;
            let number = self
                .backend
                .next_number()
                .map_err(|e| self.backend_err(e))?;
            changes.extend(self.put_changes(
                &id,
                &name,
                &envelope::wrap(RECORD_ATTACHMENT, id.as_bytes(), number, &ct),
                plain.len() as u64,
            ));
        }
        Ok((changes, facts))
    }

    /// The changes that remove every attachment of a record (its draft
    /// deleted, or a receipt purging it).
    pub(super) fn attachment_removals(&self, record_id: &str) -> Result<Vec<Change>, StoreError> {
        let id = parse_id(record_id)?;
        let mut out = Vec::new();
        for name in self.attachment_names(record_id)? {
            out.extend(self.remove_changes(&id, &name)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "attachments_tests.rs"]
mod tests;
