//! Verifying a round pack before anything in it is used: the archive
//! (strictly read, as bundles are), the manifest (bounded before it is
//! parsed), the signature, its signer among the deployment signers pinned
//! on the laptop (namespace `fieldkit-pack`, so a bundle's or a receipt's
//! signature never passes), every file's path, size and hash, nothing
//! extra; then the pack against the one installed: the same deployment, a
//! newer sequence, and the hash chain (an older pack, a replay and a fork
//! are each refused by name). Pure: the caller reads the files.

use std::collections::HashMap;

use serde::Serialize;
use ssh_key::PublicKey;

use super::{FORMAT, MANIFEST, Manifest, NAMESPACE, NO_PREVIOUS, SIGNATURE, bad_path};
use crate::bundle::archive::{self, Entry};
use crate::bundle::signers::{self, AllowedSigners, Refusal};
use crate::crypt::sha256_hex;

/// A manifest longer than this many bytes for each file of its archive
/// is refused before it is parsed.
const MANIFEST_BYTES_PER_ENTRY: usize = 1024;

/// The pack a laptop has installed: what the next one is checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Installed {
    pub deployment: String,
    pub sequence: u64,
    pub manifest_sha256: String,
}

/// What was found in a pack.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    pub ok: bool,
    pub problems: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<String>,
    /// The principal of the signers file line that allows the signer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
    pub files: usize,
    #[serde(skip)]
    pub manifest: Option<Manifest>,
}

/// A verified pack: its manifest and its files by path (borrowed from the
/// bytes that were verified, so nothing else can be installed).
pub struct Verified<'a> {
    pub manifest: Manifest,
    pub manifest_sha256: String,
    pub files: Vec<(String, &'a [u8])>,
}

/// Verifies `bytes` (the pack file `file`) against the pinned deployment
/// signers and the pack installed, if any. The report says every problem
/// found; the files come only with a pack that passed every check.
pub fn verify<'a>(
    file: &str,
    bytes: &'a [u8],
    signers: &AllowedSigners,
    installed: Option<&Installed>,
) -> (Report, Option<Verified<'a>>) {
    let mut report = Report {
        file: file.into(),
        ok: false,
        problems: Vec::new(),
        deployment: None,
        sequence: None,
        round: None,
        signed_by: None,
        manifest_sha256: None,
        files: 0,
        manifest: None,
    };
    let entries = match archive::read(bytes) {
        Ok(e) => e,
        Err(problem) => {
            report.problems.push(problem.to_string());
            return (report, None);
        }
    };
    let files = check(&entries, signers, &mut report);
    if let (Some(manifest), Some(sha)) = (&report.manifest, &report.manifest_sha256)
        && let Err(why) = check_chain(manifest, sha, installed)
    {
        report.problems.push(why);
    }
    report.ok = report.problems.is_empty();
    let verified = match (report.ok, report.manifest.clone(), files) {
        (true, Some(manifest), Some(files)) => Some(Verified {
            manifest,
            manifest_sha256: report.manifest_sha256.clone().unwrap_or_default(),
            files,
        }),
        _ => None,
    };
    (report, verified)
}

/// The archive's content: manifest, signature, signer, files. The files
/// by path when every one is as the manifest says.
fn check<'a>(
    entries: &[Entry<'a>],
    signers: &AllowedSigners,
    report: &mut Report,
) -> Option<Vec<(String, &'a [u8])>> {
    let by_name: HashMap<&str, &Entry<'a>> = entries.iter().map(|e| (e.name.as_str(), e)).collect();
    let Some(manifest_entry) = by_name.get(MANIFEST) else {
        report.problems.push("no manifest.json: not a pack".into());
        return None;
    };
    let most = entries.len() * MANIFEST_BYTES_PER_ENTRY;
    if manifest_entry.data.len() > most {
        report.problems.push(format!(
            "malformed manifest: {} bytes for a pack of {} files (at most {most})",
            manifest_entry.data.len(),
            entries.len()
        ));
        return None;
    }
    let manifest: Manifest = match serde_json::from_slice(manifest_entry.data) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(format!("malformed manifest ({e})"));
            return None;
        }
    };
    if manifest.format != FORMAT {
        report.problems.push(format!(
            "malformed manifest: format '{}', not '{FORMAT}'",
            manifest.format
        ));
    }
    report.deployment = Some(manifest.deployment.clone());
    report.sequence = Some(manifest.sequence);
    report.round = Some(manifest.round.clone());
    report.manifest_sha256 = Some(sha256_hex(manifest_entry.data));
    report.files = manifest.entries.len();
    if let Some(why) = super::bad_deployment(&manifest.deployment) {
        report
            .problems
            .push(format!("malformed manifest: the deployment id {why}"));
    }
    if let Some(why) = super::bad_round(&manifest.round) {
        report
            .problems
            .push(format!("malformed manifest: the round code {why}"));
    }
    if manifest.sequence == 0 {
        report
            .problems
            .push("malformed manifest: sequence 0 (packs count from 1)".into());
    }

    // The signature, and whether a pinned deployment signer made it.
    match (
        PublicKey::from_openssh(&manifest.signer),
        by_name.get(SIGNATURE),
    ) {
        (Err(_), _) => report
            .problems
            .push("malformed manifest: the signer is not an OpenSSH public key".into()),
        (_, None) => report
            .problems
            .push("no manifest.sig: the pack is not signed".into()),
        (Ok(key), Some(sig)) => {
            if let Err(e) = signers::check(&key, NAMESPACE, manifest_entry.data, sig.data) {
                report.problems.push(e.to_string());
            } else {
                match signers.check_signer(None, &key, NAMESPACE) {
                    Ok(signer) => report.signed_by = Some(signer.principals.clone()),
                    Err(Refusal::NotListed) => report.problems.push(
                        "unknown signer: the pack's key is not among the deployment signers \
                         (keys/deployment_signers, or the file given); ask the data manager for \
                         a pack signed by a deployment signer"
                            .into(),
                    ),
                    Err(why) => report
                        .problems
                        .push(format!("deployment signer not valid now: {why}")),
                }
            }
        }
    }

    // Every listed file present, once, where a pack may hold it, with its
    // size and hash; nothing else.
    let mut files = Vec::with_capacity(manifest.entries.len());
    let mut listed = std::collections::HashSet::new();
    for e in &manifest.entries {
        if !listed.insert(e.path.as_str()) {
            report.problems.push(format!("duplicated entry {}", e.path));
            continue;
        }
        if let Some(why) = bad_path(&e.path) {
            report.problems.push(why);
            continue;
        }
        match by_name.get(e.path.as_str()) {
            None => report.problems.push(format!("missing entry {}", e.path)),
            Some(file) if file.data.len() as u64 != e.size => report.problems.push(format!(
                "{}: the manifest says {} bytes, the file has {}",
                e.path,
                e.size,
                file.data.len()
            )),
            Some(file) if sha256_hex(file.data) != e.sha256 => report
                .problems
                .push(format!("entry hash mismatch: {} was changed", e.path)),
            Some(file) => files.push((e.path.clone(), file.data)),
        }
    }
    for e in entries {
        if e.name != MANIFEST && e.name != SIGNATURE && !listed.contains(e.name.as_str()) {
            report
                .problems
                .push(format!("extra entry {} (not in the manifest)", e.name));
        }
    }
    report.manifest = Some(manifest);
    Some(files)
}

/// The pack against the one installed: the same deployment, and a newer
/// pack that chains to it. Packs are whole snapshots, so a laptop that
/// missed one may take a later one; the next one must name the installed
/// one as its previous.
pub fn check_chain(
    manifest: &Manifest,
    manifest_sha256: &str,
    installed: Option<&Installed>,
) -> Result<(), String> {
    let Some(have) = installed else {
        if manifest.sequence == 1 && manifest.prev_pack_sha256 != NO_PREVIOUS {
            return Err(format!(
                "malformed manifest: pack 1 names a previous pack ({})",
                manifest.prev_pack_sha256
            ));
        }
        return Ok(());
    };
    if manifest.deployment != have.deployment {
        return Err(format!(
            "another deployment: this pack is for '{}', this laptop belongs to '{}'",
            manifest.deployment, have.deployment
        ));
    }
    let (n, m) = (manifest.sequence, have.sequence);
    if n == m && manifest_sha256 == have.manifest_sha256 {
        return Err(format!(
            "a replay: pack {n} of '{}' is already installed here",
            manifest.deployment
        ));
    }
    if n == m {
        return Err(format!(
            "a fork: this laptop has another pack {n} of '{}' (its manifest hash is {}, this \
             one's {manifest_sha256}); tell the data manager",
            manifest.deployment, have.manifest_sha256
        ));
    }
    if n < m {
        return Err(format!(
            "an older pack: this is pack {n} of '{}', this laptop has pack {m}",
            manifest.deployment
        ));
    }
    if n == m + 1 && manifest.prev_pack_sha256 != have.manifest_sha256 {
        return Err(format!(
            "a fork: pack {n} of '{}' does not follow the pack {m} installed here (it names \
             {} as its previous, this laptop has {}); tell the data manager",
            manifest.deployment, manifest.prev_pack_sha256, have.manifest_sha256
        ));
    }
    Ok(())
}
