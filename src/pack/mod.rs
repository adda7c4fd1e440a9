//! Round packs, format v1: what travels TO a laptop for a round (forms and
//! their CSV lists, choice lists, entity lists, assignments, and the
//! deployment's keys), signed by a deployment signer. A zip written and
//! read by the same strict rules as bundles (`bundle::archive`) holding
//! `manifest.json`, its SSHSIG `manifest.sig` (namespace `fieldkit-pack`)
//! and the files. Each pack is a whole snapshot of what a laptop needs,
//! numbered per deployment and chained to the one before it by hash.
//! Pure functions: building a pack from bytes (`build`), verifying one
//! against the pinned signers and the pack installed (`verify`); the
//! commands do the I/O.

pub mod verify;

use serde::{Deserialize, Serialize};

use crate::bundle::archive::{self, ArchiveError};
use crate::bundle::signers::{self, SignatureError};
use crate::bundle::verify::{MAX_NAME_BYTES, unsafe_component};
use crate::crypt::sha256_hex;

pub const FORMAT: &str = "fieldkit-pack/1";
pub const NAMESPACE: &str = "fieldkit-pack";
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
/// The previous pack's hash in the first pack of a deployment.
pub const NO_PREVIOUS: &str = "none";

/// The folders of a pack and what each may hold. A file anywhere else,
/// or of another kind, is refused: by `build` before signing, by
/// `verify` before anything is installed.
pub const KINDS: &[(&str, &[&str])] = &[
    // Forms and the CSV lists their select_one_from_file questions read.
    ("forms", &["toml", "csv"]),
    // Lists for forms, installed beside them.
    ("lists", &["csv"]),
    // Entity lists (last round's sites, villages...).
    ("entities", &["csv"]),
];

/// The single files a pack may carry at its root or under `keys/`.
pub const FILES: &[&str] = &[
    "assignments.csv",
    "keys/recipients.txt",
    "keys/allowed_signers",
    "keys/supervisors",
    "keys/deployment_signers",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The deployment this pack belongs to (pinned on the laptop).
    pub deployment: String,
    /// 1 for a deployment's first pack, then one more each pack.
    pub sequence: u64,
    /// SHA-256 of the previous pack's manifest, or [`NO_PREVIOUS`].
    pub prev_pack_sha256: String,
    /// The round it is for (`R2-2026`...), as the data manager names it.
    pub round: String,
    pub created_at: String,
    /// The signer's OpenSSH public key.
    pub signer: String,
    pub entries: Vec<PackEntry>,
}

/// Why a path cannot be in a pack, or None when it can.
pub fn bad_path(path: &str) -> Option<String> {
    if FILES.contains(&path) {
        return None;
    }
    let Some((folder, name)) = path.split_once('/') else {
        return Some(format!("{path} is not a file a pack carries"));
    };
    let Some((_, kinds)) = KINDS.iter().find(|(f, _)| *f == folder) else {
        return Some(format!("{path}: a pack has no folder {folder}/"));
    };
    if let Some(why) = unsafe_component(name, MAX_NAME_BYTES) {
        return Some(format!("{path}: the file name {why}"));
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if !kinds.contains(&ext) {
        return Some(format!(
            "{path}: {folder}/ holds only .{} files",
            kinds.join(" and .")
        ));
    }
    None
}

/// The pack's file name: `fieldkit-pack-<deployment>-<sequence>.zip`.
pub fn file_name(deployment: &str, sequence: u64) -> String {
    format!("fieldkit-pack-{deployment}-{sequence:06}.zip")
}

/// What goes into a pack.
pub struct Plan<'a> {
    pub deployment: &'a str,
    pub sequence: u64,
    pub prev_pack_sha256: &'a str,
    pub round: &'a str,
    pub created_at: &'a str,
    /// Path in the pack, and bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

#[derive(Debug)]
pub struct Built {
    pub manifest: Manifest,
    pub manifest_sha256: String,
    pub zip: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Path(String),
    #[error("the deployment id {id:?} {why}; use letters, digits, '-' and '_'")]
    Deployment { id: String, why: &'static str },
    #[error("the round code {code:?} {why}")]
    Round { code: String, why: &'static str },
    #[error("the signing key: {0}")]
    SignerKey(String),
    #[error("cannot write the manifest: {0}")]
    Manifest(String),
    #[error(transparent)]
    Sign(#[from] SignatureError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Why a deployment id cannot be used, or None: it names files on every
/// laptop, so letters, digits, `-` and `_` only, at most 64.
pub fn bad_deployment(id: &str) -> Option<&'static str> {
    if id.is_empty() || id.len() > 64 {
        return Some("must have 1 to 64 characters");
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Some("holds a character other than letters, digits, '-' and '_'");
    }
    None
}

/// Why a round code cannot be used, or None: printed on every laptop, so
/// at most 64 printable characters, no control characters.
pub fn bad_round(code: &str) -> Option<&'static str> {
    if code.chars().count() > 64 {
        return Some("is longer than 64 characters");
    }
    if code.chars().any(char::is_control) {
        return Some("holds a control character");
    }
    None
}

/// Builds and signs a pack.
pub fn build(plan: Plan, key: &ssh_key::PrivateKey) -> Result<Built, BuildError> {
    if let Some(why) = bad_deployment(plan.deployment) {
        return Err(BuildError::Deployment {
            id: plan.deployment.into(),
            why,
        });
    }
    if let Some(why) = bad_round(plan.round) {
        return Err(BuildError::Round {
            code: plan.round.into(),
            why,
        });
    }
    let mut files = plan.files;
    for (path, _) in &files {
        if let Some(why) = bad_path(path) {
            return Err(BuildError::Path(why));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(BuildError::Path(format!("{} is given twice", w[0].0)));
    }
    let entries = files
        .iter()
        .map(|(path, data)| PackEntry {
            path: path.clone(),
            size: data.len() as u64,
            sha256: sha256_hex(data),
        })
        .collect();
    let manifest = Manifest {
        format: FORMAT.into(),
        deployment: plan.deployment.into(),
        sequence: plan.sequence,
        prev_pack_sha256: plan.prev_pack_sha256.into(),
        round: plan.round.into(),
        created_at: plan.created_at.into(),
        signer: key
            .public_key()
            .to_openssh()
            .map_err(|e| BuildError::SignerKey(e.to_string()))?,
        entries,
    };
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BuildError::Manifest(e.to_string()))?;
    manifest_bytes.push(b'\n');
    let signature = signers::sign(key, NAMESPACE, &manifest_bytes)?;
    files.push((MANIFEST.into(), manifest_bytes.clone()));
    files.push((SIGNATURE.into(), signature.into_bytes()));
    let zip = archive::write(&mut files)?;
    Ok(Built {
        manifest_sha256: sha256_hex(&manifest_bytes),
        manifest,
        zip,
    })
}

#[cfg(test)]
mod tests;
