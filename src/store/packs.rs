//! Round packs on the laptop: the deployment signers pinned in the store
//! (at `init`, or once by an administrator for a store made before), and
//! the pack installed, with every file it carries, sealed under the
//! profile key. Installing a pack is one atomic write: the previous pack's
//! files, the installed pack's facts and the signers change together or
//! not at all, so a laptop killed mid-import is on the old pack or the new
//! one, never between. Verification is `pack::verify`'s; this module only
//! keeps what was verified.

use serde::{Deserialize, Serialize};

use super::backend::{Backend, BackendError, Change, Tree};
use super::{Store, StoreError, context};
use crate::pack::verify::{Installed, Verified};
use crate::pack::{Manifest, PackEntry};

const SIGNERS: &[u8] = b"pack/signers";
/// The installed pack as `status` shows it without the passphrase: plain,
/// written with the install, for people to read; nothing trusts it.
const SHOWN: &[u8] = b"pack/shown";
const INSTALLED: &[u8] = b"pack/installed";
const FILE: &str = "pack/file/";
/// The entities this laptop's finalized records visited in the round of
/// the pack installed: `pack/visits/<sequence>/<keyed tag>`, each the
/// entity (`list/name`) sealed.
const VISITS: &str = "pack/visits/";

/// The pack installed on this laptop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledPack {
    pub deployment: String,
    pub sequence: u64,
    pub manifest_sha256: String,
    pub round: String,
    pub installed_at: String,
    pub entries: Vec<PackEntry>,
}

impl InstalledPack {
    /// What the next pack is checked against.
    pub fn chain(&self) -> Installed {
        Installed {
            deployment: self.deployment.clone(),
            sequence: self.sequence,
            manifest_sha256: self.manifest_sha256.clone(),
        }
    }
}

/// The installed pack as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackShown {
    pub deployment: String,
    pub sequence: u64,
    pub round: String,
    pub installed_at: String,
    /// Whether records are encrypted to the pack's recipients (else to
    /// the profile's, from `init`).
    pub recipients_from_pack: bool,
}

/// The installed pack as the last import wrote it for `status`.
pub(super) fn shown(backend: &dyn Backend) -> Result<Option<PackShown>, BackendError> {
    Ok(backend
        .get(Tree::Meta, SHOWN)?
        .and_then(|plain| serde_json::from_slice(&plain).ok()))
}

/// What installing a pack changed, file by file.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct PackChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
    /// Form texts of earlier versions no draft or record uses, removed.
    pub retired_forms: usize,
}

/// Where the visits of the round of pack `sequence` are kept.
fn visits_prefix(sequence: u64) -> Vec<u8> {
    format!("{VISITS}{sequence}/").into_bytes()
}

fn file_key(path: &str) -> Vec<u8> {
    format!("{FILE}{path}").into_bytes()
}

impl Store {
    /// The deployment signers pinned on this laptop (allowed_signers
    /// text), or None when none are.
    pub fn pinned_signers(&self) -> Result<Option<String>, StoreError> {
        let got = self
            .backend
            .get(Tree::Meta, SIGNERS)
            .map_err(|e| self.backend_err(e))?;
        got.map(|sealed| self.unsealed(Tree::Meta, SIGNERS, &sealed))
            .transpose()
    }

    /// Pins the deployment signers, when none are pinned yet: at `init`,
    /// or once for a store made before packs. Later changes come only in a
    /// pack signed by a pinned signer.
    pub fn pin_signers(&self, text: &str, now: &str) -> Result<(), StoreError> {
        if self.pinned_signers()?.is_some() {
            return Err(StoreError::AlreadyPinned);
        }
        let event = self.event(now, "deployment signers pinned", "", "", text.trim())?;
        self.apply(&[
            Change::put(
                Tree::Meta,
                SIGNERS.to_vec(),
                self.sealed(Tree::Meta, SIGNERS, &text.to_string()),
            ),
            event,
        ])
    }

    /// The pack installed, if any.
    pub fn installed_pack(&self) -> Result<Option<InstalledPack>, StoreError> {
        let got = self
            .backend
            .get(Tree::Meta, INSTALLED)
            .map_err(|e| self.backend_err(e))?;
        got.map(|sealed| self.unsealed(Tree::Meta, INSTALLED, &sealed))
            .transpose()
    }

    /// A file of the pack installed, checked against the hash the pack's
    /// manifest gives it (None: the pack has no such file).
    pub fn pack_file(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(pack) = self.installed_pack()? else {
            return Ok(None);
        };
        let Some(entry) = pack.entries.iter().find(|e| e.path == path) else {
            return Ok(None);
        };
        self.file_of(entry).map(Some)
    }

    /// A file of the installed pack, checked against its manifest entry.
    fn file_of(&self, entry: &PackEntry) -> Result<Vec<u8>, StoreError> {
        let path = entry.path.as_str();
        let key = file_key(path);
        let sealed = self
            .backend
            .get(Tree::Meta, &key)
            .map_err(|e| self.backend_err(e))?
            .ok_or_else(|| StoreError::Damaged {
                id: path.into(),
                reason: "a file of the installed pack is missing".into(),
            })?;
        let data = crate::crypt::open(&self.profile.seal_key, &context(Tree::Meta, &key), &sealed)
            .map_err(|e| StoreError::Damaged {
                id: path.into(),
                reason: e.to_string(),
            })?;
        if crate::crypt::sha256_hex(&data) != entry.sha256 {
            return Err(StoreError::Damaged {
                id: path.into(),
                reason: "a file of the installed pack does not match its hash".into(),
            });
        }
        Ok(data.to_vec())
    }

    /// The folder holding the installed pack's forms and lists, as the
    /// forms loader reads them (`<home>/pack/<sequence>/`, its entity
    /// lists in `entities/` there), written from the store when it is
    /// missing or any file differs from the pack's hashes (so an edited
    /// copy is never used); None when no pack with forms is installed.
    pub fn pack_forms_dir(&self) -> Result<Option<std::path::PathBuf>, StoreError> {
        let Some(pack) = self.installed_pack()? else {
            return Ok(None);
        };
        let wanted: Vec<(String, &PackEntry)> = pack
            .entries
            .iter()
            .filter_map(|e| match e.path.split_once('/') {
                Some(("forms" | "lists", name)) => Some((name.to_string(), e)),
                Some(("entities", name)) => Some((format!("entities/{name}"), e)),
                _ => None,
            })
            .collect();
        if !wanted.iter().any(|(name, _)| name.ends_with(".toml")) {
            return Ok(None);
        }
        let entities = wanted
            .iter()
            .filter(|(name, _)| name.starts_with("entities/"))
            .count();
        let packs = self.home.dir.join("pack");
        let dir = packs.join(pack.sequence.to_string());
        let io = |context: String| {
            move |source| StoreError::Io {
                context: context.clone(),
                source,
            }
        };
        let whole = |dir: &std::path::Path| {
            let count = |dir: &std::path::Path| std::fs::read_dir(dir).map_or(0, |d| d.count());
            // The entities folder (always there) is one entry.
            let top = wanted.len() - entities + 1;
            count(dir) == top
                && count(&dir.join("entities")) == entities
                && wanted.iter().all(|(name, e)| {
                    std::fs::read(dir.join(name))
                        .is_ok_and(|data| crate::crypt::sha256_hex(&data) == e.sha256)
                })
        };
        if whole(&dir) {
            return Ok(Some(dir));
        }
        // Written beside, then put in place: never half a folder.
        let fresh = packs.join(format!("{}.new", pack.sequence));
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(fresh.join("entities"))
            .map_err(io(format!("cannot create {}", fresh.display())))?;
        for (name, e) in &wanted {
            let data = self.file_of(e)?;
            let path = fresh.join(name);
            std::fs::write(&path, data).map_err(io(format!("cannot write {}", path.display())))?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&fresh, &dir).map_err(io(format!("cannot write {}", dir.display())))?;
        // Folders of earlier packs go.
        if let Ok(listing) = std::fs::read_dir(&packs) {
            for old in listing.flatten() {
                if old.path() != dir {
                    let _ = std::fs::remove_dir_all(old.path());
                }
            }
        }
        Ok(Some(dir))
    }

    /// Who finalized records are encrypted to now: the recipients of the
    /// pack installed when it carries them, else the profile's (sealed at
    /// `init`). Records finalized before a pack came are never
    /// re-encrypted.
    pub fn recipients(&self) -> Result<Vec<age::x25519::Recipient>, StoreError> {
        match self.pack_file("keys/recipients.txt")? {
            Some(text) => {
                let damaged = |reason: String| StoreError::Damaged {
                    id: "keys/recipients.txt".into(),
                    reason,
                };
                let text = String::from_utf8(text).map_err(|e| damaged(e.to_string()))?;
                let recipients =
                    crate::crypt::parse_recipients(&text).map_err(|e| damaged(e.to_string()))?;
                if recipients.is_empty() {
                    return Err(damaged("the installed pack lists no recipient".into()));
                }
                Ok(recipients)
            }
            None => Ok(self.profile.recipients.clone()),
        }
    }

    /// The supervisors' OpenSSH ed25519 keys a record's review view is
    /// encrypted to: those of the installed pack's supervisors file, else
    /// of the one shipped beside fieldkit, valid now. None when neither
    /// lists one (or neither reads: a record is never held back for its
    /// review view; the supervisor then sees that it has none).
    pub fn supervisor_keys(&self) -> Vec<ssh_key::PublicKey> {
        use crate::bundle::signers::AllowedSigners;
        let text = match self.pack_file("keys/supervisors") {
            Ok(Some(data)) => String::from_utf8(data).ok(),
            Ok(None) => crate::paths::shipped_key("supervisors")
                .and_then(|p| std::fs::read_to_string(p).ok()),
            Err(_) => None,
        };
        let Some(signers) = text.and_then(|t| AllowedSigners::parse(&t).ok()) else {
            return Vec::new();
        };
        let signers = signers.at(crate::clock::now().epoch_ms.div_euclid(1000));
        let mut keys: Vec<ssh_key::PublicKey> = Vec::new();
        for s in &signers.signers {
            let ed25519 = s.key.algorithm() == ssh_key::Algorithm::Ed25519;
            let now = signers
                .check_signer(None, &s.key, crate::bundle::receipt::NAMESPACE)
                .is_ok();
            if ed25519 && now && !keys.iter().any(|k| k.key_data() == s.key.key_data()) {
                keys.push(s.key.clone());
            }
        }
        keys
    }

    /// Installs a verified pack in one atomic write: its files replace the
    /// previous pack's, its facts become the installed pack's, and new
    /// deployment signers it carries are pinned. What changed, by file.
    pub fn install_pack(&self, pack: &Verified, now: &str) -> Result<PackChanges, StoreError> {
        let previous = self.installed_pack()?;
        let Manifest {
            deployment,
            sequence,
            round,
            entries,
            ..
        } = &pack.manifest;
        let mut changes = Vec::new();
        let mut said = PackChanges::default();
        let old: Vec<PackEntry> = previous
            .as_ref()
            .map(|p| p.entries.clone())
            .unwrap_or_default();
        // The previous round's visits go with its pack.
        if let Some(p) = &previous {
            changes.extend(self.forget_visits(p.sequence)?);
        }
        for entry in &old {
            if !entries.iter().any(|e| e.path == entry.path) {
                changes.push(Change::remove(Tree::Meta, file_key(&entry.path)));
                said.removed.push(entry.path.clone());
            }
        }
        for (path, data) in &pack.files {
            let key = file_key(path);
            // The bytes sealed as they are (not as JSON: lists are large).
            let sealed =
                crate::crypt::seal(&self.profile.seal_key, &context(Tree::Meta, &key), data);
            changes.push(Change::put(Tree::Meta, key, sealed));
            let sha = crate::crypt::sha256_hex(data);
            match old.iter().find(|e| e.path == *path) {
                None => said.added.push(path.clone()),
                Some(e) if e.sha256 != sha => said.changed.push(path.clone()),
                Some(_) => said.unchanged += 1,
            }
        }
        if let Some((_, signers)) = pack
            .files
            .iter()
            .find(|(p, _)| p == "keys/deployment_signers")
        {
            let text = String::from_utf8_lossy(signers).into_owned();
            changes.push(Change::put(
                Tree::Meta,
                SIGNERS.to_vec(),
                self.sealed(Tree::Meta, SIGNERS, &text),
            ));
        }
        let installed = InstalledPack {
            deployment: deployment.clone(),
            sequence: *sequence,
            manifest_sha256: pack.manifest_sha256.clone(),
            round: round.clone(),
            installed_at: now.into(),
            entries: entries.clone(),
        };
        changes.push(Change::put(
            Tree::Meta,
            INSTALLED.to_vec(),
            self.sealed(Tree::Meta, INSTALLED, &installed),
        ));
        let shown = PackShown {
            deployment: deployment.clone(),
            sequence: *sequence,
            round: round.clone(),
            installed_at: now.into(),
            recipients_from_pack: entries.iter().any(|e| e.path == "keys/recipients.txt"),
        };
        changes.push(Change::put(
            Tree::Meta,
            SHOWN.to_vec(),
            serde_json::to_vec(&shown).unwrap_or_default(),
        ));
        let detail = format!(
            "pack {sequence} of {deployment} (round {round}, manifest {}): {} added, {} changed, \
             {} removed",
            pack.manifest_sha256,
            said.added.len(),
            said.changed.len(),
            said.removed.len()
        );
        changes.push(self.event(now, "pack installed", "", "", &detail)?);
        self.apply(&changes)?;
        said.retired_forms = self.retire_forms(now)?;
        Ok(said)
    }

    /// The entities (`list/name`) this laptop's finalized records created
    /// or updated since the pack installed came: the round's visits, kept
    /// after a receipt purges the records. Empty without a pack.
    pub fn visited(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let Some(pack) = self.installed_pack()? else {
            return Ok(Default::default());
        };
        let mut visited = std::collections::BTreeSet::new();
        let mut damaged = None;
        let prefix = visits_prefix(pack.sequence);
        self.backend
            .visit_prefix(Tree::Meta, &prefix, &mut |k, v| {
                match self.unsealed::<String>(Tree::Meta, k, v) {
                    Ok(entity) => {
                        visited.insert(entity);
                    }
                    Err(e) => damaged = Some(e),
                }
                true
            })
            .map_err(|e| self.backend_err(e))?;
        match damaged {
            Some(e) => Err(e),
            None => Ok(visited),
        }
    }

    /// What a finalized record visiting `entity` (`list/name`) means for
    /// the round of the pack installed, read once for the finalize's
    /// write: the visit as a change (one entry a visit, under a keyed tag
    /// of the entity, its name sealed as the value, so that nothing grows
    /// with the round's visits and no name is in the clear), and whether
    /// the round's assignments name the entity (for any enumerator). None
    /// without a pack: there is no round.
    pub(super) fn round_visit(&self, entity: &str) -> Result<Option<(Change, bool)>, StoreError> {
        let Some(pack) = self.installed_pack()? else {
            return Ok(None);
        };
        let tag =
            crate::crypt::keyed_tag(&self.profile.seal_key, VISITS.as_bytes(), entity.as_bytes());
        let mut key = visits_prefix(pack.sequence);
        key.extend_from_slice(crate::crypt::to_hex(&tag).as_bytes());
        let sealed = self.sealed(Tree::Meta, &key, &entity.to_string());
        let assigned =
            match pack.entries.iter().find(|e| e.path == "assignments.csv") {
                None => false,
                Some(file) => {
                    let bytes = self.file_of(file)?;
                    // Checked when the pack was taken: unreadable now is damage.
                    let assignments = crate::assignments::parse("assignments.csv", &bytes)
                        .map_err(|why| StoreError::Damaged {
                            id: "assignments.csv".into(),
                            reason: why,
                        })?;
                    assignments.iter().any(|a| {
                        entity
                            .strip_prefix(&a.list)
                            .and_then(|r| r.strip_prefix('/'))
                            == Some(&a.name)
                    })
                }
            };
        Ok(Some((Change::put(Tree::Meta, key, sealed), assigned)))
    }

    /// The changes that forget a round's visits (its pack replaced).
    fn forget_visits(&self, sequence: u64) -> Result<Vec<Change>, StoreError> {
        let mut keys = Vec::new();
        self.backend
            .visit_prefix(Tree::Meta, &visits_prefix(sequence), &mut |k, _| {
                keys.push(k.to_vec());
                true
            })
            .map_err(|e| self.backend_err(e))?;
        Ok(keys
            .into_iter()
            .map(|k| Change::remove(Tree::Meta, k))
            .collect())
    }
}
