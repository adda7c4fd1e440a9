//! The enumerator's profile: who fills (enumerator id, device id), the
//! secrets (the age X25519 identity drafts are encrypted to, the Ed25519
//! signing key for bundles, the key that seals listing and audit entries)
//! in one passphrase-wrapped file, and the deployment's recipients. Owns
//! the layout of the home folder; the store itself is in `store/mod.rs`.
//!
//! Every fact that decides where data goes or whose it is (recipients,
//! device id, enumerator id, the public keys) is sealed inside the
//! passphrase-wrapped `profile.age` (age authenticates it: nobody without
//! the passphrase can make a file that opens with it). `profile.toml` and
//! `recipients.txt` are readable copies, compared with the sealed facts at
//! every unlock: a changed copy is refused, never used.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use ssh_key::rand_core::OsRng;

use crate::crypt::{self, BUNDLE_NAMESPACE, CryptError, SealKey};

/// The layout of `profile.toml` (unchanged since the first fieldkit).
pub const PROFILE_FORMAT: &str = "fieldkit-profile/1";
/// The layout of the secrets inside `profile.age`: /2 holds the sealed
/// facts ([`Sealed`]); /1, written by earlier fieldkits, does not and is
/// sealed on its first unlock (see [`unlock`]).
pub const SECRETS_FORMAT: &str = "fieldkit-profile/2";
/// Shortest passphrase `init` accepts.
pub const MIN_PASSPHRASE: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "there is no enumerator profile in {0} yet. Create one with \
         'fieldkit init --enumerator YOUR-ID' (or pass --home DIR if it lives elsewhere)"
    )]
    Missing(PathBuf),
    #[error(
        "a profile already exists in {0}; fieldkit never overwrites one. Use it, or choose \
         another folder with --home DIR"
    )]
    Exists(PathBuf),
    #[error("wrong passphrase for profile '{0}'. Type it again; there is no recovery without it")]
    WrongPassphrase(String),
    #[error("the profile in {path} cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "the profile's secrets file {path} is damaged or missing ({reason}), so no passphrase \
         can open it. Restore profile.age from a backup of this laptop's fieldkit folder (a copy \
         of this same profile: the passphrase stays the same), or ask your supervisor. \
         Finalized records need no profile: 'fieldkit rescue --out DIR' still copies the \
         outbox and sent records out of the store"
    )]
    SecretsDamaged { path: PathBuf, reason: String },
    #[error(
        "the profile in {dir} was changed after it was made, so fieldkit will not use it \
         (no record is encrypted or signed with facts that are not the profile's own): {}. \
         Put the original file(s) back from a backup of this laptop's fieldkit folder, or \
         write back what the profile holds (said above), with your supervisor. Keys are \
         never changed by editing these files",
        changes.join("; ")
    )]
    Changed { dir: PathBuf, changes: Vec<String> },
    #[error(
        "enumerator id '{0}' cannot be used: use 1 to 64 letters, digits, '.', '_', '-' or '@' \
         (no spaces), e.g. enum-03"
    )]
    BadId(String),
    #[error("the passphrase is too short: use at least {MIN_PASSPHRASE} characters")]
    ShortPassphrase,
    #[error("{0}")]
    Crypt(#[from] CryptError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProfileError {
    let context = context.into();
    move |source| ProfileError::Io { context, source }
}

/// The home folder: profile, recipients, store.
#[derive(Debug, Clone)]
pub struct Home {
    pub dir: PathBuf,
}

impl Home {
    pub fn new(dir: PathBuf) -> Self {
        Home { dir }
    }
    /// Public facts: readable without the passphrase.
    pub fn public_path(&self) -> PathBuf {
        self.dir.join("profile.toml")
    }
    /// The secrets, wrapped with the passphrase.
    pub fn secrets_path(&self) -> PathBuf {
        self.dir.join("profile.age")
    }
    /// The deployment's recipients, copied at `init`.
    pub fn recipients_path(&self) -> PathBuf {
        self.dir.join("recipients.txt")
    }
    pub fn store_path(&self) -> PathBuf {
        self.dir.join("store")
    }
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("store.lock")
    }
    /// A finished profile: `profile.toml` is written last by `init`.
    pub fn exists(&self) -> bool {
        self.public_path().exists()
    }

    /// What an `init` that stopped half-way left behind (no profile.toml,
    /// but some of the other files).
    pub fn leftovers(&self) -> Vec<PathBuf> {
        if self.exists() {
            return Vec::new();
        }
        let mut left: Vec<PathBuf> = [
            self.secrets_path(),
            self.recipients_path(),
            self.store_path(),
        ]
        .into_iter()
        .filter(|p| p.exists())
        .collect();
        left.extend(super::compact::leftovers(&self.store_path()));
        left
    }

    pub fn public(&self) -> Result<PublicProfile, ProfileError> {
        let path = self.public_path();
        if !path.exists() {
            return Err(ProfileError::Missing(self.dir.clone()));
        }
        let text =
            fs::read_to_string(&path).map_err(io(format!("cannot read {}", path.display())))?;
        let public: PublicProfile =
            toml::from_str(&text).map_err(|e| ProfileError::Unreadable {
                path: path.clone(),
                reason: e.message().to_string(),
            })?;
        if public.format != PROFILE_FORMAT {
            return Err(ProfileError::Unreadable {
                path,
                reason: format!(
                    "it is format '{}', this fieldkit reads '{PROFILE_FORMAT}'; use a newer fieldkit",
                    public.format
                ),
            });
        }
        Ok(public)
    }
}

/// The part of the profile anyone with the laptop can read: nothing about
/// the people surveyed, only who the enumerator is and their public keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicProfile {
    pub format: String,
    pub enumerator_id: String,
    pub device_id: String,
    pub created_at: String,
    /// The profile's age recipient (`age1...`): drafts are encrypted to it.
    pub recipient: String,
    /// The enumerator's OpenSSH public signing key.
    pub signing_key: String,
}

impl PublicProfile {
    /// This enumerator's line for the deployment's `allowed_signers` file.
    pub fn allowed_signers_line(&self) -> String {
        format!(
            "{} namespaces=\"{BUNDLE_NAMESPACE}\" {}",
            self.enumerator_id, self.signing_key
        )
    }
}

#[derive(Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct Secrets {
    format: String,
    enumerator_id: String,
    name: String,
    age_identity: String,
    signing_key: String,
    seal_key: String,
    /// Absent in the secrets of earlier fieldkits (format /1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<Sealed>,
}

/// The public facts of a profile that are not derived from its keys,
/// sealed in `profile.age` (the recipient and the signing key are derived
/// from the secret keys; the enumerator id is in the secrets already).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, zeroize::Zeroize)]
pub struct Sealed {
    pub device_id: String,
    pub created_at: String,
    /// The deployment's recipients file, as copied at `init`.
    pub recipients: String,
}

/// A profile of an earlier fieldkit, unlocked: its secrets re-wrapped with
/// the facts found on disk, written when the store opens (after checking
/// the store's own copy of the facts, see [`super::Store`]).
pub(super) struct Reseal {
    pub(super) facts: Sealed,
    pub(super) wrapped: Vec<u8>,
}

/// An unlocked profile.
pub struct Profile {
    pub public: PublicProfile,
    pub name: String,
    pub identity: age::x25519::Identity,
    pub signing_key: ssh_key::PrivateKey,
    pub seal_key: SealKey,
    /// Who finalized records are encrypted to (from the sealed copy).
    pub recipients: Vec<age::x25519::Recipient>,
    /// The facts sealed in `profile.age` (or about to be, see `reseal`).
    pub sealed: Sealed,
    /// Set for a profile made by an earlier fieldkit (secrets format /1).
    pub(super) reseal: Option<Reseal>,
}

impl Profile {
    /// Whether `profile.age` lacks the sealed facts (an earlier fieldkit
    /// made it; opening its store seals them).
    pub fn is_unsealed(&self) -> bool {
        self.reseal.is_some()
    }
}

pub fn check_enumerator_id(id: &str) -> Result<(), ProfileError> {
    if crate::bundle::is_enumerator_id(id) {
        Ok(())
    } else {
        Err(ProfileError::BadId(id.to_string()))
    }
}

/// Creates a profile in `home`: keys, the secrets file, the recipients.
/// Refuses to touch an existing profile. The caller then creates the store
/// (`Store::create`) and calls [`finish`], which writes `profile.toml`
/// last: a profile with a public file is a complete one.
pub fn create(
    home: &Home,
    enumerator_id: &str,
    name: &str,
    passphrase: &SecretString,
    recipients_text: &str,
    created_at: &str,
) -> Result<Profile, ProfileError> {
    check_enumerator_id(enumerator_id)?;
    if crypt::passphrase_len(passphrase) < MIN_PASSPHRASE {
        return Err(ProfileError::ShortPassphrase);
    }
    if home.exists() {
        return Err(ProfileError::Exists(home.dir.clone()));
    }
    if home.store_path().exists() {
        return Err(ProfileError::Io {
            context: format!(
                "{} already holds a store but no profile; move it aside or choose another --home",
                home.dir.display()
            ),
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    let recipients = crypt::parse_recipients(recipients_text)?;
    fs::create_dir_all(&home.dir).map_err(io(format!("cannot create {}", home.dir.display())))?;

    let identity = age::x25519::Identity::generate();
    let mut signing_key = ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519)
        .map_err(|e| CryptError::Key(e.to_string()))?;
    signing_key.set_comment(format!("{enumerator_id}@fieldkit"));
    let seal_key = SealKey::generate();
    let device_id = uuid::Uuid::now_v7().to_string();

    let sealed = Sealed {
        device_id: device_id.clone(),
        created_at: created_at.into(),
        recipients: recipients_text.into(),
    };
    let secrets = Secrets {
        format: SECRETS_FORMAT.into(),
        enumerator_id: enumerator_id.into(),
        name: name.into(),
        age_identity: identity.to_string().expose_secret().to_string(),
        signing_key: signing_key
            .to_openssh(ssh_key::LineEnding::LF)
            .map_err(|e| CryptError::Key(e.to_string()))?
            .to_string(),
        seal_key: seal_key.to_hex().to_string(),
        sealed: Some(sealed.clone()),
    };
    let plain = crypt::secret_json(&secrets);
    drop(secrets);
    let wrapped = crypt::wrap_with_passphrase(passphrase, &plain, true)?;

    let public = PublicProfile {
        format: PROFILE_FORMAT.into(),
        enumerator_id: enumerator_id.into(),
        device_id,
        created_at: created_at.into(),
        recipient: identity.to_public().to_string(),
        signing_key: signing_key
            .public_key()
            .to_openssh()
            .map_err(|e| CryptError::Key(e.to_string()))?,
    };
    write_new(&home.secrets_path(), &wrapped, true)?;
    write_new(&home.recipients_path(), recipients_text.as_bytes(), false)?;
    Ok(Profile {
        public,
        name: name.into(),
        identity,
        signing_key,
        seal_key,
        recipients,
        sealed,
        reseal: None,
    })
}

/// Completes `create`: writes the public file, then syncs the folder.
pub fn finish(home: &Home, public: &PublicProfile) -> Result<(), ProfileError> {
    let text = toml::to_string(public).unwrap_or_default();
    write_new(&home.public_path(), text.as_bytes(), false)?;
    super::backend::sync_dir(&home.dir).map_err(io(format!("cannot sync {}", home.dir.display())))
}

/// Unlocks the profile in `home` with the passphrase, and checks the
/// readable copies (`profile.toml`, `recipients.txt`) against the facts
/// sealed in `profile.age`: a difference is refused ([`ProfileError::Changed`]).
///
/// A profile made by an earlier fieldkit has no sealed facts: those on
/// disk are taken as they are (trust on first use) and the profile is
/// marked for sealing ([`Profile::is_unsealed`]); the store seals it when
/// it opens, after comparing with its own copy if it has one.
pub fn unlock(home: &Home, passphrase: &SecretString) -> Result<Profile, ProfileError> {
    let public = home.public()?;
    let path = home.secrets_path();
    let damaged = |reason: String| ProfileError::SecretsDamaged {
        path: path.clone(),
        reason,
    };
    let wrapped = fs::read(&path).map_err(|e| {
        damaged(if e.kind() == std::io::ErrorKind::NotFound {
            "the file is missing".into()
        } else {
            e.to_string()
        })
    })?;
    let plain = crypt::unwrap_with_passphrase(passphrase, &wrapped).map_err(|e| match e {
        CryptError::WrongPassphrase => ProfileError::WrongPassphrase(public.enumerator_id.clone()),
        CryptError::ExcessiveWork { .. } => ProfileError::Unreadable {
            path: path.clone(),
            reason: e.to_string(),
        },
        other => damaged(other.to_string()),
    })?;
    let mut secrets: Secrets =
        serde_json::from_slice(&plain).map_err(|e| damaged(e.to_string()))?;
    drop(plain);
    let identity = age::x25519::Identity::from_str(&secrets.age_identity)
        .map_err(|e| damaged(format!("bad age identity: {e}")))?;
    let signing_key = ssh_key::PrivateKey::from_openssh(&secrets.signing_key)
        .map_err(|e| damaged(format!("bad signing key: {e}")))?;
    let seal_key =
        SealKey::from_hex(&secrets.seal_key).ok_or_else(|| damaged("bad seal key".into()))?;
    let signing_public = signing_key
        .public_key()
        .to_openssh()
        .map_err(|e| damaged(format!("bad signing key: {e}")))?;

    let rpath = home.recipients_path();
    let on_disk = fs::read_to_string(&rpath);
    let unsealed = secrets.sealed.is_none();
    let facts = match &secrets.sealed {
        Some(facts) => facts.clone(),
        // An earlier fieldkit's profile: what is on disk now.
        None => Sealed {
            device_id: public.device_id.clone(),
            created_at: public.created_at.clone(),
            recipients: match &on_disk {
                Ok(text) => text.clone(),
                Err(e) => {
                    return Err(ProfileError::Io {
                        context: format!(
                            "cannot read the deployment's recipients {}",
                            rpath.display()
                        ),
                        source: std::io::Error::new(e.kind(), e.to_string()),
                    });
                }
            },
        },
    };
    let expected = PublicProfile {
        format: PROFILE_FORMAT.into(),
        enumerator_id: secrets.enumerator_id.clone(),
        device_id: facts.device_id.clone(),
        created_at: facts.created_at.clone(),
        recipient: identity.to_public().to_string(),
        signing_key: signing_public,
    };
    let mut changes = public_changes(&public, &expected);
    let recipients = crypt::parse_recipients(&facts.recipients).map_err(|e| {
        if unsealed {
            ProfileError::Unreadable {
                path: rpath.clone(),
                reason: e.to_string(),
            }
        } else {
            damaged(format!("its sealed recipients: {e}"))
        }
    })?;
    changes.extend(recipients_changes(on_disk.as_deref().ok(), &recipients));
    if !changes.is_empty() {
        return Err(ProfileError::Changed {
            dir: home.dir.clone(),
            changes,
        });
    }
    let reseal = if unsealed {
        secrets.format = SECRETS_FORMAT.into();
        secrets.sealed = Some(facts.clone());
        let plain = crypt::secret_json(&secrets);
        let wrapped = crypt::wrap_with_passphrase(passphrase, &plain, true)?;
        Some(Reseal {
            facts: facts.clone(),
            wrapped,
        })
    } else {
        None
    };
    Ok(Profile {
        name: secrets.name.clone(),
        public: expected,
        identity,
        signing_key,
        seal_key,
        recipients,
        sealed: facts,
        reseal,
    })
}

/// What differs between `profile.toml` and what the profile holds.
fn public_changes(disk: &PublicProfile, sealed: &PublicProfile) -> Vec<String> {
    [
        ("enumerator_id", &disk.enumerator_id, &sealed.enumerator_id),
        ("device_id", &disk.device_id, &sealed.device_id),
        ("created_at", &disk.created_at, &sealed.created_at),
        ("recipient", &disk.recipient, &sealed.recipient),
        ("signing_key", &disk.signing_key, &sealed.signing_key),
    ]
    .into_iter()
    .filter(|(_, d, s)| d != s)
    .map(|(field, d, s)| format!("profile.toml says {field} = \"{d}\", the profile holds \"{s}\""))
    .collect()
}

/// What differs between `recipients.txt` (None: unreadable) and the sealed
/// recipients: keys, not comments or order.
fn recipients_changes(disk: Option<&str>, sealed: &[age::x25519::Recipient]) -> Vec<String> {
    let sealed: std::collections::BTreeSet<String> = sealed.iter().map(|r| r.to_string()).collect();
    let holds = || {
        format!(
            "the profile encrypts finalized records to {}",
            sealed.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    let Some(text) = disk else {
        return vec![format!(
            "recipients.txt is missing or unreadable; {}",
            holds()
        )];
    };
    let listed: std::collections::BTreeSet<String> = match crypt::parse_recipients(text) {
        Ok(keys) => keys.iter().map(|r| r.to_string()).collect(),
        Err(e) => return vec![format!("recipients.txt no longer reads ({e}); {}", holds())],
    };
    if listed == sealed {
        return Vec::new();
    }
    let added: Vec<String> = listed.difference(&sealed).cloned().collect();
    let removed: Vec<String> = sealed.difference(&listed).cloned().collect();
    let mut what = Vec::new();
    if !added.is_empty() {
        what.push(format!(
            "lists {} that the profile was not made with",
            added.join(", ")
        ));
    }
    if !removed.is_empty() {
        what.push(format!("no longer lists {}", removed.join(", ")));
    }
    vec![format!(
        "recipients.txt {}; {}",
        what.join(" and "),
        holds()
    )]
}

/// Replaces `profile.age` with `wrapped` (the same secrets, sealed):
/// written beside it, synced, renamed over it, the folder synced, so that
/// a crash leaves the old file or the new one, never a torn one.
pub(super) fn replace_secrets(home: &Home, wrapped: &[u8]) -> Result<(), ProfileError> {
    let path = home.secrets_path();
    let next = home.dir.join("profile.age.new");
    // Left by an earlier attempt that stopped before the rename.
    let _ = fs::remove_file(&next);
    write_new(&next, wrapped, true)?;
    fs::rename(&next, &path).map_err(io(format!("cannot replace {}", path.display())))?;
    super::backend::sync_dir(&home.dir).map_err(io(format!("cannot sync {}", home.dir.display())))
}

/// Writes a file that must not exist yet, synced; `secret` files are
/// readable by their owner only (0600 on Unix; on Windows the user's
/// profile folder is already private to the user).
pub fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), ProfileError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            ProfileError::Io {
                context: format!(
                    "{} already exists; fieldkit will not overwrite it",
                    path.display()
                ),
                source: e,
            }
        } else {
            ProfileError::Io {
                context: format!("cannot create {}", path.display()),
                source: e,
            }
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(format!("cannot write {}", path.display())))
}

/// The platform's data folder for fieldkit: `%LOCALAPPDATA%\fieldkit` on
/// Windows, `~/Library/Application Support/fieldkit` on macOS,
/// `$XDG_DATA_HOME/fieldkit` or `~/.local/share/fieldkit` elsewhere.
pub fn default_home() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows) {
        return var("LOCALAPPDATA")
            .or_else(|| var("APPDATA"))
            .map(|d| d.join("fieldkit"));
    }
    if cfg!(target_os = "macos") {
        return var("HOME").map(|h| h.join("Library/Application Support/fieldkit"));
    }
    var("XDG_DATA_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".local/share")))
        .map(|d| d.join("fieldkit"))
}

/// The key of the store's own copy of the sealed facts (in its meta tree,
/// sealed with the profile's seal key): a profile of an earlier fieldkit
/// put back from an old backup is checked against it before it is sealed.
pub(super) const STORE_COPY: &[u8] = b"profile-sealed";

impl super::Store {
    /// Called when the store opens: keeps the store's copy of the sealed
    /// facts, refuses a profile whose facts differ from it, and seals a
    /// profile of an earlier fieldkit (rewrites `profile.age` with the
    /// facts, says so in the audit log).
    pub(super) fn check_sealed_profile(&mut self) -> Result<(), super::StoreError> {
        use super::backend::{Change, Tree};
        let stored = self
            .backend
            .get(Tree::Meta, STORE_COPY)
            .map_err(|e| self.backend_err(e))?;
        let stored: Option<Sealed> = match stored {
            Some(bytes) => Some(self.unsealed(Tree::Meta, STORE_COPY, &bytes)?),
            None => None,
        };
        let facts = self.profile.sealed.clone();
        let differences = stored
            .as_ref()
            .map(|stored| store_copy_changes(stored, &facts))
            .unwrap_or_default();
        if !differences.is_empty() {
            return Err(ProfileError::Changed {
                dir: self.home.dir.clone(),
                changes: differences,
            }
            .into());
        }
        let mut changes = Vec::new();
        if stored.is_none() {
            let sealed = self.sealed(Tree::Meta, STORE_COPY, &facts);
            changes.push(Change::put(Tree::Meta, STORE_COPY.to_vec(), sealed));
        }
        if let Some(reseal) = self.profile.reseal.take() {
            replace_secrets(&self.home, &reseal.wrapped)?;
            let keys = self
                .profile
                .recipients
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let detail = format!(
                "profile.age of an earlier fieldkit sealed with the facts on disk: device {}, \
                 recipients {keys}",
                reseal.facts.device_id
            );
            let now = crate::clock::now().to_string();
            changes.push(self.event(&now, "profile sealed", "", "", &detail)?);
        }
        if !changes.is_empty() {
            self.apply(&changes)?;
        }
        Ok(())
    }
}

/// What differs between the facts of the profile on disk and the store's
/// copy of them (nothing: the same profile).
fn store_copy_changes(stored: &Sealed, now: &Sealed) -> Vec<String> {
    let mut out = Vec::new();
    if stored.device_id != now.device_id {
        out.push(format!(
            "its device id is '{}', the store was used with '{}'",
            now.device_id, stored.device_id
        ));
    }
    if stored.created_at != now.created_at {
        out.push(format!(
            "it says it was created at {}, the store was used with a profile created at {}",
            now.created_at, stored.created_at
        ));
    }
    // The keys count, not the comments of the file they came in.
    let stored_keys = crypt::parse_recipients(&stored.recipients).unwrap_or_default();
    out.extend(recipients_changes(Some(&now.recipients), &stored_keys));
    out.into_iter()
        .map(|c| format!("compared with what the store was used with: {c}"))
        .collect()
}
