//! What the store holds, as types: a draft (and what a supervisor said
//! of one they returned), a record's place (`State`), the listing
//! screens show without decrypting, the counts of `status`,
//! an audit event, and the envelope a rescue scan finds in damaged files.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::form::{Form, Session};

/// Where a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Draft,
    Outbox,
    Sent,
}

/// What the screens show of a record without decrypting it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub id: String,
    pub state: State,
    pub form_id: String,
    pub form_version: String,
    /// SHA-256 of the form file the record is made with.
    #[serde(default)]
    pub form_sha256: String,
    /// Empty once finalized: the laptop keeps no answer text of records
    /// it can no longer read.
    pub instance_name: String,
    pub started: String,
    pub updated: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<u64>,
    /// The entity a finalized record creates or updates (`list/name`),
    /// when the round's assignments name it: its bundle's manifest says
    /// it, so that a supervisor can tell coverage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Bytes of ciphertext.
    pub size: usize,
    /// The record's version: 1, or (a correction) one more than the
    /// version a supervisor returned. Left out when 1.
    #[serde(default = "first_version", skip_serializing_if = "is_first_version")]
    pub version: u32,
    /// The version a correction replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<u32>,
    /// A draft a supervisor returned to correct: their note on the record
    /// (empty when they left none). Sealed like the rest of the listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<String>,
}

impl Listing {
    /// The listing entry of a draft as it stands (`size`: its ciphertext).
    pub fn of_draft(draft: &Draft, size: usize) -> Listing {
        Listing {
            id: draft.id.clone(),
            state: State::Draft,
            form_id: draft.form_id.clone(),
            form_version: draft.form_version.clone(),
            form_sha256: draft.form_sha256.clone(),
            instance_name: draft.instance_name.clone(),
            started: draft.started.clone(),
            updated: draft.updated.clone(),
            finalized: None,
            bundle: None,
            entity: None,
            size,
            version: draft.version,
            supersedes: draft.supersedes,
            returned: draft.returned.as_ref().map(|r| r.note.clone()),
        }
    }
}

/// A record being filled, as saved after every answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub form_id: String,
    pub form_version: String,
    /// SHA-256 of the form file it is filled with.
    pub form_sha256: String,
    pub started: String,
    pub updated: String,
    pub instance_name: String,
    /// Every answer given, relevant or not (see `Session::answers`).
    pub answers: Map<String, Value>,
    /// Time on each question and changes of answers on the screen
    /// (`paradata`); none for a draft `fill` makes, and a correction
    /// starts its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paradata: Option<super::paradata::DraftParadata>,
    /// The version it is finalized as: 1, or for the correction of a
    /// returned record one more than the version returned. Left out when 1.
    #[serde(default = "first_version", skip_serializing_if = "is_first_version")]
    pub version: u32,
    /// The version a correction replaces (`version - 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<u32>,
    /// What the supervisor said when they returned it to correct.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<Returned>,
    /// The round its record was first finalized in, kept with its answers
    /// (`kept`) so that a correction stays in that round; None before it
    /// is finalized (a first version takes the round of the pack
    /// installed then) and for a record made without a pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<String>,
}

/// A supervisor's word on a record they returned to correct, from the
/// receipt `ack` took: kept (sealed) with the draft it became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Returned {
    /// The version returned (the correction is this + 1).
    pub version: u32,
    /// The supervisor's principal, and when the receipt was taken.
    pub by: String,
    pub at: String,
    /// On the record as a whole.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// On single questions: `field` is the answer's path as the record's
    /// values name it (`members[2]/age`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<crate::bundle::receipt::Comment>,
}

impl Returned {
    /// The comments on the answer at `path` (`members[2]/age`).
    pub fn comments_on<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.comments
            .iter()
            .filter(move |c| c.field == path)
            .map(|c| c.text.as_str())
    }
}

fn first_version() -> u32 {
    1
}

fn is_first_version(v: &u32) -> bool {
    *v == 1
}

impl State {
    /// Its byte in the `states` tree.
    pub(super) fn byte(self) -> u8 {
        match self {
            State::Draft => b'd',
            State::Outbox => b'o',
            State::Sent => b's',
        }
    }
}

impl Draft {
    /// A new draft of `form`, named by the hash of the text it was parsed
    /// from.
    pub fn start(form: &Form, now: &str) -> Self {
        Draft::new(&form.id, &form.version, form.sha256(), now)
    }

    /// The draft as `session` now stands: every answer given, the instance
    /// name, updated `now`. The one way the screen and `fill` make what
    /// they save and finalize.
    pub fn take(&mut self, session: &Session, now: &str) {
        self.answers = session.answers();
        self.instance_name = session.instance_name();
        self.updated = now.into();
    }

    pub fn new(form_id: &str, form_version: &str, form_sha256: &str, now: &str) -> Self {
        Draft {
            id: Uuid::now_v7().to_string(),
            form_id: form_id.into(),
            form_version: form_version.into(),
            form_sha256: form_sha256.into(),
            started: now.into(),
            updated: now.into(),
            instance_name: String::new(),
            answers: Map::new(),
            paradata: None,
            version: 1,
            supersedes: None,
            returned: None,
            round: None,
        }
    }
}

/// The record counts of `fieldkit status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Status {
    pub drafts: usize,
    pub outbox: usize,
    pub sent: usize,
    /// Bundles exported and not yet covered by a receipt.
    pub bundles: usize,
}

/// An audit event: what happened to which record, never its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: String,
    pub event: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub form_id: String,
    /// A field name, a bundle number: never an answer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Stored values of drafts and records are wrapped in an envelope that a
/// rescue scan can find in damaged store files: magic, kind, record id,
/// save number (the latest wins), payload length, payload (an age file).
pub mod envelope {
    pub const MAGIC: &[u8; 4] = b"fkE1";
    pub const HEADER: usize = 4 + 1 + 16 + 8 + 4;

    pub fn wrap(kind: u8, id: &[u8; 16], number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(MAGIC);
        out.push(kind);
        out.extend_from_slice(id);
        out.extend_from_slice(&number.to_be_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// (kind, id, number, payload) of an envelope at the start of `bytes`.
    pub fn unwrap(bytes: &[u8]) -> Option<(u8, [u8; 16], u64, &[u8])> {
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return None;
        }
        let kind = bytes[4];
        let id: [u8; 16] = bytes[5..21].try_into().ok()?;
        let number = u64::from_be_bytes(bytes[21..29].try_into().ok()?);
        let len = u32::from_be_bytes(bytes[29..33].try_into().ok()?) as usize;
        let payload = bytes.get(HEADER..HEADER.checked_add(len)?)?;
        Some((kind, id, number, payload))
    }

    pub const DRAFT: u8 = b'd';
    pub const RECORD: u8 = b'r';
    /// A record's review view (an age file to the supervisors), written
    /// right after the record's envelope in the same outbox value: readers
    /// of the record alone never see it, and it goes with its record.
    pub const REVIEW: u8 = b'v';

    /// The envelope that follows the first one in `bytes`, if any.
    pub fn next(bytes: &[u8]) -> Option<(u8, [u8; 16], u64, &[u8])> {
        let (_, _, _, first) = unwrap(bytes)?;
        unwrap(bytes.get(HEADER + first.len()..)?)
    }
}
