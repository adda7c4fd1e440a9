//! A finalized record as it leaves the laptop: the JSON the store encrypts
//! to the data managers when a draft is finalized, and that `aggregate`
//! reads back out of a bundle. One type for both sides, so the writer and
//! the reader cannot drift apart, and a `format` name that the reader
//! checks: a record of a later layout is reported, never mis-read. Owns
//! the record's layout only; encryption is `crypt`'s, storage the store's,
//! tables `aggregate`'s. Its fields are in the order the JSON has always
//! had them (serde_json keeps the order), so records are byte for byte
//! what earlier fieldkits wrote.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The layout of a finalized record this fieldkit writes and reads.
pub const RECORD_FORMAT: &str = "fieldkit-record/1";

/// A finalized record. `V` is how its values are held: the store writes a
/// map of answers, `aggregate` reads them as borrowed raw JSON. Text
/// fields borrow from the JSON they are read from; a field missing from
/// the JSON is empty (the record id excepted: without it a record is not
/// a record).
#[derive(Debug, Serialize, Deserialize)]
pub struct FinalRecord<'a, V> {
    #[serde(borrow, default)]
    pub format: Cow<'a, str>,
    #[serde(borrow)]
    pub record_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub form_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub form_version: Cow<'a, str>,
    #[serde(borrow, default)]
    pub form_sha256: Cow<'a, str>,
    #[serde(borrow, default)]
    pub enumerator_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub device_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub started: Cow<'a, str>,
    #[serde(borrow, default)]
    pub finalized_at: Cow<'a, str>,
    #[serde(borrow, default)]
    pub instance_name: Cow<'a, str>,
    /// The record's version: 1 when first finalized, one more for each
    /// correction of a record a supervisor returned. Left out when 1, so
    /// first versions are what earlier fieldkits wrote.
    #[serde(default = "first_version", skip_serializing_if = "is_first_version")]
    pub version: u32,
    /// The version a correction replaces (ODK's deprecatedID): the same
    /// `record_id`, `version - 1`, made by the same enumerator. Left out
    /// of first versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<u32>,
    /// The round it was made in: the round of the pack installed when it
    /// was first finalized (`R2-2026`, as the data manager named it); a
    /// correction keeps its first version's. Left out when there was no
    /// pack, so such records are what earlier fieldkits wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<Cow<'a, str>>,
    #[serde(default)]
    pub values: V,
    /// The files attached to the record's file questions, each carried
    /// beside it in the bundle (`media/<record_id>/<name>.age`). Left out
    /// when there are none, so such records are what earlier fieldkits
    /// wrote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentFacts>,
    /// How the interview went on the enumerator's screen (ODK's form
    /// audit log, summed per question). Left out of records finalized
    /// without the screen (`fill --finalize`) and of every record earlier
    /// fieldkits wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paradata: Option<Paradata>,
}

/// A record's paradata: when this version's editing began on the screen
/// (`start`: the first session's start; a correction starts anew) and
/// ended (`end`: finalized), the seconds counted in all (`duration_s`:
/// only while fieldkit ran, each gap between two keys counted at most
/// `store::paradata::IDLE_CAP_S`), and per question in the order first
/// shown: its path (`members[2]/age`), the seconds it was in focus, how
/// often its answer was changed after it was first given (a visit counts
/// one change at most), and how often it came into focus. (When it was
/// first and last in focus stays in the draft: it would double a
/// question's line in every record.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paradata {
    pub start: String,
    pub end: String,
    pub duration_s: u64,
    #[serde(default)]
    pub questions: Vec<QuestionParadata>,
}

/// One question's line of a record's paradata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionParadata {
    pub field: String,
    pub seconds: u64,
    pub changes: u32,
    pub visits: u32,
}

fn first_version() -> u32 {
    1
}

fn is_first_version(v: &u32) -> bool {
    *v == 1
}

/// The layout of a record's review view.
pub const REVIEW_FORMAT: &str = "fieldkit-review/1";

/// What a supervisor may read of a finalized record: the answers of the
/// fields the form marks `review`, who made it and when, and the engine's
/// own checks. Encrypted at finalize to the deployment's supervisors
/// (their OpenSSH ed25519 keys), carried in bundles as
/// `review/<record_id>.age` beside the record. Never the instance name,
/// never an answer of a field not marked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewView {
    pub format: String,
    pub record_id: String,
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<u32>,
    pub form_id: String,
    pub form_version: String,
    pub form_sha256: String,
    pub enumerator_id: String,
    pub device_id: String,
    pub started: String,
    pub finalized_at: String,
    /// The answers of the fields marked `review`, shaped as in the
    /// record's values (a repeat's instances as a list of objects, each
    /// holding only its marked fields).
    pub values: serde_json::Map<String, serde_json::Value>,
    /// The engine's own checks on the record, for the supervisor's eye.
    #[serde(default)]
    pub checks: Vec<ReviewCheck>,
}

/// The part of a review view that comes from the form and the answers
/// (`form::review::part`); the store adds who and when at finalize.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewPart {
    pub values: serde_json::Map<String, serde_json::Value>,
    pub checks: Vec<ReviewCheck>,
}

/// One of the engine's own checks a review view shows: an unusual answer
/// the enumerator confirmed (`kind` "confirmed", with the soft check's
/// message), and the like. `field` is the answer's path
/// (`members[2]/age`); the answer itself is in the view's values only when
/// its field is marked `review`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCheck {
    pub field: String,
    pub kind: String,
    pub message: String,
}

/// A file attached to a record, as the record names it: its name (the
/// answer to its question), and the size and SHA-256 of its plaintext, so
/// that `aggregate` checks what it decrypts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentFacts {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// Where a record's entity operation is kept: in its values, beside the
/// answers, under a key no field can have (names hold no `/`), as ODK
/// carries it in the submission's `meta/entity`. Absent when the form
/// declares no entity or the record neither creates nor updates one, so
/// other records are byte for byte as before; records without it read as
/// they always did.
pub const ENTITY_KEY: &str = "meta/entity";

/// Where a record keeps the answers the enumerator confirmed against a
/// soft check (`soft_constraint`): in its values, a list of
/// `{"field", "value", "message"}`; in a draft's answers (and an answers
/// file), the list of the fields confirmed (`members[2]/age`).
pub const CONFIRMED_KEY: &str = "meta/confirmed";

/// What a record does to an entity list (XLSForm's `entities` sheet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityOp {
    /// The entity list (`list_name`).
    pub list: String,
    /// The entity's id: `entity_id`, or a new UUID for a create without one.
    pub id: String,
    pub action: EntityAction,
    /// The label worked out (`label`); none on an update without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The `__version` of the entity updated, from the list the laptop
    /// holds (ODK's baseVersion), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<String>,
    /// The answers saved to properties (`save_to`), as strings, in the
    /// form's order; a question not asked (not relevant) is left out.
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityAction {
    Create,
    Update,
}

impl EntityOp {
    /// The operation a record's values carry, if any (and if readable).
    pub fn of_values(values: &serde_json::Map<String, serde_json::Value>) -> Option<EntityOp> {
        serde_json::from_value(values.get(ENTITY_KEY)?.clone()).ok()
    }
}

/// A record whose layout this fieldkit does not know (written by a later
/// fieldkit, or not by fieldkit at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "it is a record of format {found}, which this fieldkit ({ours}) cannot read; left out: \
     upgrade fieldkit on this computer and aggregate again",
    found = shown(.0),
    ours = env!("CARGO_PKG_VERSION")
)]
pub struct UnknownFormat(pub String);

fn shown(format: &str) -> String {
    if format.is_empty() {
        "(none given)".into()
    } else {
        format!("{format:?}")
    }
}

impl<V> FinalRecord<'_, V> {
    /// Ok when this fieldkit reads the record's layout.
    pub fn check_format(&self) -> Result<(), UnknownFormat> {
        check(&self.format)
    }
}

fn check(format: &str) -> Result<(), UnknownFormat> {
    if format == RECORD_FORMAT {
        Ok(())
    } else {
        Err(UnknownFormat(format.to_string()))
    }
}

/// Why JSON that did not read as a record did not: its format, when it
/// names one this fieldkit does not know (a later layout may change any
/// field), else None (it is not a record at all).
pub fn unknown_format(json: &[u8]) -> Option<UnknownFormat> {
    #[derive(Deserialize)]
    struct Format<'a> {
        #[serde(borrow)]
        format: Cow<'a, str>,
    }
    let found: Format = serde_json::from_slice(json).ok()?;
    check(&found.format).err()
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    type Written<'a> = FinalRecord<'a, &'a Map<String, Value>>;
    type Read<'a> =
        FinalRecord<'a, std::collections::HashMap<&'a str, &'a serde_json::value::RawValue>>;

    /// What the store wrote before this type existed (a `json!` in the
    /// store's `final_changes`), checked in as it was written.
    const WRITTEN_BY_0_1: &str = include_str!("../tests/fixtures/record-v1.json");

    #[test]
    fn writes_the_bytes_earlier_fieldkits_wrote() {
        let sample: Value = serde_json::from_str(WRITTEN_BY_0_1).unwrap();
        let values = sample["values"].as_object().unwrap();
        let text = |k: &str| Cow::Borrowed(sample[k].as_str().unwrap());
        let record: Written = FinalRecord {
            format: Cow::Borrowed(RECORD_FORMAT),
            record_id: text("record_id"),
            form_id: text("form_id"),
            form_version: text("form_version"),
            form_sha256: text("form_sha256"),
            enumerator_id: text("enumerator_id"),
            device_id: text("device_id"),
            started: text("started"),
            finalized_at: text("finalized_at"),
            instance_name: text("instance_name"),
            version: 1,
            supersedes: None,
            round: None,
            values,
            attachments: Vec::new(),
            paradata: None,
        };
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            WRITTEN_BY_0_1.trim_end()
        );
        // And what the old `json!` made of the same fields.
        let old = json!({
            "format": RECORD_FORMAT,
            "record_id": record.record_id,
            "form_id": record.form_id,
            "form_version": record.form_version,
            "form_sha256": record.form_sha256,
            "enumerator_id": record.enumerator_id,
            "device_id": record.device_id,
            "started": record.started,
            "finalized_at": record.finalized_at,
            "instance_name": record.instance_name,
            "values": values,
        });
        assert_eq!(
            serde_json::to_vec(&record).unwrap(),
            serde_json::to_vec(&old).unwrap()
        );
    }

    /// A record of a form with an entities sheet: the operation in its
    /// values, read back typed, through the reader aggregate uses too; a
    /// record without one (every earlier record) has none.
    #[test]
    fn the_entity_operation_travels_in_the_values_and_reads_back() {
        let op = EntityOp {
            list: "sites".into(),
            id: "S00042".into(),
            action: EntityAction::Update,
            label: None,
            base_version: Some("3".into()),
            properties: serde_json::from_value(json!({"last_ind_total": "180"})).unwrap(),
        };
        let mut values = Map::new();
        values.insert("site".into(), json!("S00042"));
        values.insert(ENTITY_KEY.into(), serde_json::to_value(&op).unwrap());
        assert_eq!(
            values[ENTITY_KEY],
            json!({"list": "sites", "id": "S00042", "action": "update", "base_version": "3",
                   "properties": {"last_ind_total": "180"}})
        );
        let mut sample: Value = serde_json::from_str(WRITTEN_BY_0_1).unwrap();
        sample["values"] = Value::Object(values);
        let text = sample.to_string();
        let record: Read = serde_json::from_str(&text).unwrap();
        assert_eq!(record.check_format(), Ok(()));
        let raw = record.values[ENTITY_KEY].get();
        assert_eq!(serde_json::from_str::<EntityOp>(raw).unwrap(), op);
        let owned: FinalRecord<Map<String, Value>> = serde_json::from_str(&text).unwrap();
        assert_eq!(EntityOp::of_values(&owned.values), Some(op));
        let old: FinalRecord<Map<String, Value>> = serde_json::from_str(WRITTEN_BY_0_1).unwrap();
        assert_eq!(EntityOp::of_values(&old.values), None);
    }

    /// A record made with a pack installed names its round, after the
    /// version it supersedes and before its values, and reads it back;
    /// one without has none.
    #[test]
    fn the_round_is_written_after_supersedes_and_read_back() {
        let mut record: FinalRecord<Map<String, Value>> =
            serde_json::from_str(WRITTEN_BY_0_1).unwrap();
        assert_eq!(record.round, None);
        record.version = 2;
        record.supersedes = Some(1);
        record.round = Some("R2-2026".into());
        let text = serde_json::to_string(&record).unwrap();
        assert!(
            text.contains(r#""version":2,"supersedes":1,"round":"R2-2026","values":{"#),
            "{text}"
        );
        let read: Read = serde_json::from_str(&text).unwrap();
        assert_eq!(read.round.as_deref(), Some("R2-2026"));
    }

    #[test]
    fn reads_what_earlier_fieldkits_wrote() {
        let record: Read = serde_json::from_str(WRITTEN_BY_0_1).unwrap();
        assert_eq!(record.check_format(), Ok(()));
        assert_eq!(record.form_id, "dtm_site_assessment");
        assert!(matches!(record.record_id, Cow::Borrowed(_)), "borrowed");
        assert_eq!(
            record.values["m0448_loc_site_name"].get(),
            "\"Ban Nongbok\""
        );
        assert_eq!(unknown_format(WRITTEN_BY_0_1.as_bytes()), None);
    }

    #[test]
    fn a_later_or_missing_format_is_named_with_what_to_do() {
        let later = WRITTEN_BY_0_1.replace("fieldkit-record/1", "fieldkit-record/2");
        let record: Read = serde_json::from_str(&later).unwrap();
        let err = record.check_format().unwrap_err();
        let said = err.to_string();
        assert!(said.contains("\"fieldkit-record/2\""), "{said}");
        assert!(said.contains("upgrade fieldkit"), "{said}");
        // A later layout whose fields no longer read as this one's.
        let changed = r#"{"format":"fieldkit-record/2","record_id":7}"#;
        assert!(serde_json::from_str::<Read>(changed).is_err());
        assert_eq!(
            unknown_format(changed.as_bytes()),
            Some(UnknownFormat("fieldkit-record/2".into()))
        );
        let none: Read = serde_json::from_str(r#"{"record_id":"r"}"#).unwrap();
        assert!(
            none.check_format()
                .unwrap_err()
                .to_string()
                .contains("(none given)")
        );
        assert_eq!(unknown_format(b"[1, 2]"), None);
    }
}
