//! The enumerator's profile: who fills (enumerator id, device id), the
//! secrets (the age X25519 identity drafts are encrypted to, the Ed25519
//! signing key for bundles, the key that seals listing and audit entries)
//! in one passphrase-wrapped file, and the deployment's recipients. Owns
//! the layout of the home folder; the store itself is in `store/mod.rs`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use ssh_key::rand_core::OsRng;
use zeroize::Zeroizing;

use super::crypt::{self, CryptError, SealKey};

pub const PROFILE_FORMAT: &str = "fieldkit-profile/1";
/// The SSHSIG namespace of bundle signatures.
pub const BUNDLE_NAMESPACE: &str = "fieldkit-bundle";
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
        [
            self.secrets_path(),
            self.recipients_path(),
            self.store_path(),
        ]
        .into_iter()
        .filter(|p| p.exists())
        .collect()
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
}

/// An unlocked profile.
pub struct Profile {
    pub public: PublicProfile,
    pub name: String,
    pub identity: age::x25519::Identity,
    pub signing_key: ssh_key::PrivateKey,
    pub seal_key: SealKey,
    /// Who finalized records are encrypted to.
    pub recipients: Vec<age::x25519::Recipient>,
}

pub fn check_enumerator_id(id: &str) -> Result<(), ProfileError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
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

    let secrets = Secrets {
        format: PROFILE_FORMAT.into(),
        enumerator_id: enumerator_id.into(),
        name: name.into(),
        age_identity: identity.to_string().expose_secret().to_string(),
        signing_key: signing_key
            .to_openssh(ssh_key::LineEnding::LF)
            .map_err(|e| CryptError::Key(e.to_string()))?
            .to_string(),
        seal_key: seal_key.to_hex().to_string(),
    };
    let plain = Zeroizing::new(serde_json::to_vec(&secrets).unwrap_or_default());
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
    })
}

/// Completes `create`: writes the public file, then syncs the folder.
pub fn finish(home: &Home, public: &PublicProfile) -> Result<(), ProfileError> {
    let text = toml::to_string(public).unwrap_or_default();
    write_new(&home.public_path(), text.as_bytes(), false)?;
    super::backend::sync_dir(&home.dir).map_err(io(format!("cannot sync {}", home.dir.display())))
}

/// Unlocks the profile in `home` with the passphrase.
pub fn unlock(home: &Home, passphrase: &SecretString) -> Result<Profile, ProfileError> {
    let public = home.public()?;
    let path = home.secrets_path();
    let wrapped = fs::read(&path).map_err(io(format!(
        "cannot read the profile's secrets {}",
        path.display()
    )))?;
    let plain = crypt::unwrap_with_passphrase(passphrase, &wrapped).map_err(|e| match e {
        CryptError::WrongPassphrase => ProfileError::WrongPassphrase(public.enumerator_id.clone()),
        other => ProfileError::Unreadable {
            path: path.clone(),
            reason: other.to_string(),
        },
    })?;
    let unreadable = |reason: String| ProfileError::Unreadable {
        path: path.clone(),
        reason,
    };
    let secrets: Secrets = serde_json::from_slice(&plain).map_err(|e| unreadable(e.to_string()))?;
    if secrets.enumerator_id != public.enumerator_id {
        return Err(unreadable(format!(
            "profile.toml says '{}' but the secrets belong to '{}'",
            public.enumerator_id, secrets.enumerator_id
        )));
    }
    let identity = age::x25519::Identity::from_str(&secrets.age_identity)
        .map_err(|e| unreadable(format!("bad age identity: {e}")))?;
    let signing_key = ssh_key::PrivateKey::from_openssh(&secrets.signing_key)
        .map_err(|e| unreadable(format!("bad signing key: {e}")))?;
    let seal_key =
        SealKey::from_hex(&secrets.seal_key).ok_or_else(|| unreadable("bad seal key".into()))?;
    let rpath = home.recipients_path();
    let rtext = fs::read_to_string(&rpath).map_err(io(format!(
        "cannot read the deployment's recipients {}",
        rpath.display()
    )))?;
    let recipients = crypt::parse_recipients(&rtext).map_err(|e| ProfileError::Unreadable {
        path: rpath,
        reason: e.to_string(),
    })?;
    Ok(Profile {
        name: secrets.name.clone(),
        public,
        identity,
        signing_key,
        seal_key,
        recipients,
    })
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
