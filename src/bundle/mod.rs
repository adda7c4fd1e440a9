//! Bundle format v1: how finalized records leave a laptop. A zip (see
//! `archive`) holding `manifest.json`, its SSHSIG `manifest.sig`, one age
//! file per record under `records/`, the files attached to records under
//! `media/<record_id>/<name>.age` (age files, to the same data managers),
//! each record's review view under `review/<record_id>.age` (an age file
//! to the supervisors' ssh-ed25519 keys), and the forms the records were
//! made with under `forms/`. Format 2 is format 1 with review views,
//! record versions (corrections) or media. The manifest chains to the laptop's previous
//! bundle by hash and sequence. Pure functions: building a bundle from
//! bytes, verifying one (`verify`), receipts (`receipt`); the commands do
//! the I/O.

pub mod archive;
pub mod receipt;
pub mod signers;
pub mod verify;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use crate::crypt::{BUNDLE_NAMESPACE as NAMESPACE, NO_PREVIOUS, sha256_hex};

pub const FORMAT: &str = "fieldkit-bundle/1";
/// A bundle with review views, corrections or media (see [`format_for`]).
pub const FORMAT_V2: &str = "fieldkit-bundle/2";
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormRef {
    pub form_id: String,
    pub version: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub record_id: String,
    pub form_id: String,
    pub form_version: String,
    pub finalized_at: String,
    /// The entity the record creates or updates (`list/name`), when the
    /// round's assignments name it: what a supervisor's coverage counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The record's version (a correction of a returned record is 2 or
    /// more; left out when 1, as earlier fieldkits wrote it).
    #[serde(default = "first_version", skip_serializing_if = "is_first_version")]
    pub version: u32,
    /// The version a correction replaces (`version - 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<u32>,
    /// The record's review view (`review/<record_id>.age`, encrypted to
    /// the supervisors): left out when the laptop had no supervisor key
    /// to encrypt one to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<FileRef>,
}

fn first_version() -> u32 {
    1
}

fn is_first_version(v: &u32) -> bool {
    *v == 1
}

/// A file of the bundle beside a record: where, its hash and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

impl FileRef {
    pub fn of(path: String, bytes: &[u8]) -> FileRef {
        FileRef {
            path,
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub bundle_id: String,
    pub device_id: String,
    pub enumerator_id: String,
    /// The signer's OpenSSH public key.
    pub signer: String,
    pub sequence: u64,
    pub prev_manifest_sha256: String,
    pub created_at: String,
    pub forms: Vec<FormRef>,
    pub entries: Vec<ManifestEntry>,
    /// The records' attachments; left out when there are none (a bundle
    /// without media is what earlier fieldkits wrote).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaEntry>,
}

/// A file attached to a record, as the manifest lists it: where it is in
/// the bundle (`media/<record_id>/<name>.age`), the hash and size of that
/// age file, its record and its name (the record's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub record_id: String,
    pub name: String,
}

pub fn media_path(record_id: &str, name: &str) -> String {
    format!("media/{record_id}/{name}.age")
}

/// What a bundle's manifest says of an attachment.
pub fn media_entry_of(record_id: &str, name: &str, ciphertext: &[u8]) -> MediaEntry {
    MediaEntry {
        path: media_path(record_id, name),
        sha256: sha256_hex(ciphertext),
        size: ciphertext.len() as u64,
        record_id: record_id.into(),
        name: name.into(),
    }
}

/// An enumerator id as `init` takes it and bundles carry it: 1 to 64
/// letters, digits, `.`, `_`, `-` or `@` (it names files and signers).
pub fn is_enumerator_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

pub fn record_path(record_id: &str) -> String {
    format!("records/{record_id}.age")
}

/// Where a record's review view is in a bundle.
pub fn review_path(record_id: &str) -> String {
    format!("review/{record_id}.age")
}

pub fn form_path(form_id: &str, version: &str) -> String {
    format!("forms/{form_id}@{version}.toml")
}

/// The file name of a bundle: enumerator, device, sequence.
pub fn file_name(enumerator_id: &str, device_id: &str, sequence: u64) -> String {
    format!("{}{sequence:06}.zip", file_prefix(enumerator_id, device_id))
}

/// What every bundle file name of one laptop starts with:
/// `fieldkit-<enumerator>-<last 8 hex digits of the device>-`.
pub fn file_prefix(enumerator_id: &str, device_id: &str) -> String {
    let device: String = device_id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    let short = device.get(device.len().saturating_sub(8)..).unwrap_or("");
    format!("fieldkit-{enumerator_id}-{short}-")
}

/// A bundle's id: `{enumerator}-{sequence:06}-{12 hex}`, the hex from the
/// device, sequence, previous manifest and the entries' hashes, so that the
/// same content gives the same id. `verify` derives it again: an id that
/// is anything else (a path, say) is refused.
pub fn bundle_id(
    enumerator_id: &str,
    device_id: &str,
    sequence: u64,
    prev_manifest_sha256: &str,
    entries: &[ManifestEntry],
) -> String {
    let mut id_input = format!("{device_id}\n{sequence}\n{prev_manifest_sha256}\n");
    for e in entries {
        id_input.push_str(&e.sha256);
    }
    let digest = sha256_hex(id_input.as_bytes());
    format!("{enumerator_id}-{sequence:06}-{}", &digest[..12])
}

/// A record going into a bundle.
pub struct Outgoing {
    pub record_id: String,
    pub form_id: String,
    pub form_version: String,
    pub form_sha256: String,
    pub finalized_at: String,
    pub ciphertext: Vec<u8>,
}

/// A bundle built in memory.
pub struct Built {
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
    pub manifest_sha256: String,
    pub zip: Vec<u8>,
}

/// Everything that makes a bundle, so that the same inputs give the same
/// bytes: the id and the time come from the content, not from a clock.
pub struct Plan<'a> {
    pub enumerator_id: &'a str,
    pub device_id: &'a str,
    pub sequence: u64,
    pub prev_manifest_sha256: &'a str,
    pub records: &'a [Outgoing],
    /// (form_id, version, sha256, text) of every form the records use.
    pub forms: &'a [(String, String, String, Vec<u8>)],
}

/// Why a bundle could not be built (nothing is written then).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("cannot write the signer's key: {0}")]
    SignerKey(String),
    #[error("cannot write the manifest: {0}")]
    Manifest(String),
    #[error(transparent)]
    Sign(#[from] signers::SignatureError),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
}

/// What a bundle's manifest says of a record: where it is, its hash and
/// size, what it is.
pub fn entry_of(
    record_id: &str,
    form_id: &str,
    form_version: &str,
    finalized_at: &str,
    ciphertext: &[u8],
) -> ManifestEntry {
    ManifestEntry {
        path: record_path(record_id),
        sha256: sha256_hex(ciphertext),
        size: ciphertext.len() as u64,
        record_id: record_id.into(),
        form_id: form_id.into(),
        form_version: form_version.into(),
        finalized_at: finalized_at.into(),
        entity: None,
        version: 1,
        supersedes: None,
        review: None,
    }
}

/// A [`Plan`] whose records are given by their manifest entries: their
/// bytes are read one at a time as the zip is written (and checked
/// against the entries), so only the zip holds them all.
pub struct Streamed<'a> {
    pub enumerator_id: &'a str,
    pub device_id: &'a str,
    pub sequence: u64,
    pub prev_manifest_sha256: &'a str,
    pub entries: Vec<ManifestEntry>,
    /// (form_id, version, sha256, text) of every form the records use.
    pub forms: &'a [(String, String, String, Vec<u8>)],
    /// The records' attachments, read as the zip is written.
    pub media: Vec<MediaEntry>,
}

/// Builds and signs a bundle.
pub fn build(plan: &Plan, key: &ssh_key::PrivateKey) -> Result<Built, BuildError> {
    let entries = plan
        .records
        .iter()
        .map(|r| {
            entry_of(
                &r.record_id,
                &r.form_id,
                &r.form_version,
                &r.finalized_at,
                &r.ciphertext,
            )
        })
        .collect();
    let by_id: std::collections::HashMap<&str, &[u8]> = plan
        .records
        .iter()
        .map(|r| (r.record_id.as_str(), r.ciphertext.as_slice()))
        .collect();
    let streamed = Streamed {
        enumerator_id: plan.enumerator_id,
        device_id: plan.device_id,
        sequence: plan.sequence,
        prev_manifest_sha256: plan.prev_manifest_sha256,
        entries,
        forms: plan.forms,
        media: Vec::new(),
    };
    build_streamed(streamed, key, &mut |e| {
        by_id
            .get(e.record_id.as_str())
            .map(|c| Cow::Borrowed(*c))
            .ok_or_else(|| "it is not among the records".to_string())
    })
}

/// Reads an attachment's age file as a bundle is written.
pub type ReadMedia<'m, 'r> = &'m mut dyn FnMut(&MediaEntry) -> archive::Bytes<'r>;

/// Builds and signs a bundle whose records' bytes `read` gives as the zip
/// is written; the same plan gives the same bytes as [`build`].
pub fn build_streamed<'r>(
    plan: Streamed,
    key: &ssh_key::PrivateKey,
    read: &mut dyn FnMut(&ManifestEntry) -> archive::Bytes<'r>,
) -> Result<Built, BuildError> {
    build_with_media(plan, key, read, &mut |m| {
        Err(format!("{} is not among the bundle's files", m.path))
    })
}

/// [`build_streamed`] with the records' attachments, whose bytes
/// `read_media` gives as the zip is written.
pub fn build_with_media<'r>(
    plan: Streamed,
    key: &ssh_key::PrivateKey,
    read: &mut dyn FnMut(&ManifestEntry) -> archive::Bytes<'r>,
    read_media: ReadMedia<'_, 'r>,
) -> Result<Built, BuildError> {
    build_from(
        plan,
        key,
        Readers {
            record: read,
            review: &mut |e| Err(format!("record {} has no review view here", e.record_id)),
            media: read_media,
        },
    )
}

/// What gives a bundle's files as the zip is written: each record's age
/// file, its review view (for entries that name one), its attachments.
pub struct Readers<'m, 'r> {
    pub record: &'m mut dyn FnMut(&ManifestEntry) -> archive::Bytes<'r>,
    pub review: &'m mut dyn FnMut(&ManifestEntry) -> archive::Bytes<'r>,
    pub media: ReadMedia<'m, 'r>,
}

/// A file read as the zip is written: the bytes its manifest entry was
/// made from (`sha256`), or why not.
fn as_listed<'r>(bytes: archive::Bytes<'r>, sha256: &str) -> archive::Bytes<'r> {
    let bytes = bytes?;
    if sha256_hex(&bytes) != sha256 {
        return Err("its bytes are not the ones its manifest entry was made from".into());
    }
    Ok(bytes)
}

/// The format a bundle of these entries is written in: 1 when it holds
/// nothing a fieldkit of format 1 did not know (no review views, no
/// corrections, no media), so that it verifies there; else 2, which such a
/// fieldkit refuses by name instead of by an unknown file.
pub fn format_for(entries: &[ManifestEntry], media: &[MediaEntry]) -> &'static str {
    if media.is_empty() && entries.iter().all(|e| e.review.is_none() && e.version == 1) {
        FORMAT
    } else {
        FORMAT_V2
    }
}

/// Builds and signs a bundle whose files `readers` give as the zip is
/// written.
pub fn build_from<'r>(
    plan: Streamed,
    key: &ssh_key::PrivateKey,
    readers: Readers<'_, 'r>,
) -> Result<Built, BuildError> {
    let Readers {
        record: read,
        review: read_review,
        media: read_media,
    } = readers;
    let mut entries = plan.entries;
    let mut media = plan.media;
    media.sort_by(|a, b| a.path.cmp(&b.path));
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut forms: Vec<FormRef> = plan
        .forms
        .iter()
        .map(|(id, v, sha, _)| FormRef {
            form_id: id.clone(),
            version: v.clone(),
            sha256: sha.clone(),
        })
        .collect();
    forms.sort_by(|a, b| (&a.form_id, &a.version).cmp(&(&b.form_id, &b.version)));
    let created_at = entries
        .iter()
        .map(|e| e.finalized_at.as_str())
        .max()
        .unwrap_or("")
        .to_string();
    let manifest = Manifest {
        format: format_for(&entries, &media).into(),
        bundle_id: bundle_id(
            plan.enumerator_id,
            plan.device_id,
            plan.sequence,
            plan.prev_manifest_sha256,
            &entries,
        ),
        device_id: plan.device_id.into(),
        enumerator_id: plan.enumerator_id.into(),
        signer: key
            .public_key()
            .to_openssh()
            .map_err(|e| BuildError::SignerKey(e.to_string()))?,
        sequence: plan.sequence,
        prev_manifest_sha256: plan.prev_manifest_sha256.into(),
        created_at,
        forms,
        entries,
        media,
    };
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BuildError::Manifest(e.to_string()))?;
    manifest_bytes.push(b'\n');
    let signature = signers::sign(key, NAMESPACE, &manifest_bytes)?;
    let mut files: Vec<(String, usize)> = Vec::with_capacity(manifest.entries.len() + 2);
    files.push((MANIFEST.into(), manifest_bytes.len()));
    files.push((SIGNATURE.into(), signature.len()));
    let mut records = std::collections::HashMap::with_capacity(manifest.entries.len());
    for e in &manifest.entries {
        files.push((
            e.path.clone(),
            usize::try_from(e.size).unwrap_or(usize::MAX),
        ));
        records.insert(e.path.as_str(), e);
    }
    let mut reviews = std::collections::HashMap::new();
    for e in &manifest.entries {
        if let Some(r) = &e.review {
            files.push((
                r.path.clone(),
                usize::try_from(r.size).unwrap_or(usize::MAX),
            ));
            reviews.insert(r.path.as_str(), (e, r));
        }
    }
    let mut attached = std::collections::HashMap::with_capacity(manifest.media.len());
    for m in &manifest.media {
        files.push((
            m.path.clone(),
            usize::try_from(m.size).unwrap_or(usize::MAX),
        ));
        attached.insert(m.path.as_str(), m);
    }
    let mut texts = std::collections::HashMap::with_capacity(plan.forms.len());
    for (id, v, _, text) in plan.forms {
        files.push((form_path(id, v), text.len()));
        texts.insert(form_path(id, v), text.as_slice());
    }
    let zip = archive::write_each(&mut files, &mut |_, name| {
        if name == MANIFEST {
            Ok(Cow::Borrowed(manifest_bytes.as_slice()))
        } else if name == SIGNATURE {
            Ok(Cow::Borrowed(signature.as_bytes()))
        } else if let Some(entry) = records.get(name) {
            as_listed(read(entry), &entry.sha256)
        } else if let Some((entry, r)) = reviews.get(name) {
            as_listed(read_review(entry), &r.sha256)
        } else if let Some(m) = attached.get(name) {
            as_listed(read_media(m), &m.sha256)
        } else {
            texts
                .get(name)
                .map(|t| Cow::Borrowed(*t))
                .ok_or_else(|| "it is not in the bundle's plan".to_string())
        }
    })?;
    drop((files, records, reviews, attached, texts));
    Ok(Built {
        manifest_sha256: sha256_hex(&manifest_bytes),
        manifest,
        manifest_bytes,
        zip,
    })
}

#[cfg(test)]
mod media_tests;
#[cfg(test)]
mod tests;
