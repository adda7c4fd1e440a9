//! Reading the files people hand to fieldkit: allowed-signers lists
//! (given or shipped in keys/), signing keys, bundle files and folders of
//! them, and passphrase files. Each says which file and what to do when it cannot
//! be used. Shared by the command line and the screen.

use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use anyhow::{Context, Result, bail};

use crate::bundle::archive::MAX_BUNDLE_BYTES;
use crate::bundle::signers::AllowedSigners;
use crate::crypt;
use crate::paths;

/// Reads an allowed_signers file: the one given, or the shipped `name`.
pub fn signers(given: Option<&Path>, name: &str) -> Result<AllowedSigners> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => paths::shipped_key(name).with_context(|| {
            format!("no keys/{name} found beside fieldkit; give it with --signers FILE")
        })?,
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the signers file {}", path.display()))?;
    let signers =
        AllowedSigners::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    // valid-after / valid-before are checked against fieldkit's clock
    // (FIELDKIT_NOW pins it), as ssh-keygen checks them against now.
    Ok(signers.at(crate::clock::now().epoch_ms.div_euclid(1000)))
}

/// A signers file (`supervisors`, `allowed_signers`) on a laptop: the one
/// given, else the round pack's installed in `store`, else the shipped one.
pub fn laptop_signers(
    store: &crate::store::Store,
    given: Option<&Path>,
    name: &str,
) -> Result<AllowedSigners> {
    if given.is_none()
        && let Some(data) = store.pack_file(&format!("keys/{name}"))?
    {
        let text = String::from_utf8_lossy(&data);
        let signers = AllowedSigners::parse(&text)
            .map_err(|e| anyhow::anyhow!("keys/{name} of the installed round pack: {e}"))?;
        return Ok(signers.at(crate::clock::now().epoch_ms.div_euclid(1000)));
    }
    signers(given, name)
}

/// The deployment signers a new profile pins: the file given, else
/// `keys/deployment_signers` shipped beside fieldkit, else none (a laptop
/// without pinned signers takes no round pack until they are pinned). A
/// file that does not parse stops the setup, naming the line.
pub fn deployment_signers(given: Option<&Path>) -> Result<Option<String>> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => match paths::shipped_key("deployment_signers") {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the deployment signers {}; check the path",
            path.display()
        )
    })?;
    AllowedSigners::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(text))
}

/// An OpenSSH private key to sign with. Refused, said once and without
/// the parser's chain (which repeats itself and speaks of PEM preambles):
/// a file that is another kind of key (`what`: the key wanted, `needs`:
/// why, `made_with`: the command that makes one), or one protected by a
/// passphrase.
pub fn signing_key(
    path: &Path,
    what: &str,
    needs: &str,
    made_with: &str,
) -> Result<ssh_key::PrivateKey> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the key {}; check the path", path.display()))?,
    );
    let Ok(key) = ssh_key::PrivateKey::from_openssh(text.as_str()) else {
        bail!(
            "{} is {}, not {what}. {needs} (a file starting with '-----BEGIN OPENSSH PRIVATE \
             KEY-----'), made with '{made_with}'",
            path.display(),
            key_kind(&text)
        );
    };
    if key.is_encrypted() {
        bail!(
            "{} is protected with a passphrase, which fieldkit cannot open yet; use a key made \
             with '{made_with}'",
            path.display()
        );
    }
    Ok(key)
}

/// What a file given as a key looks like, for the message refusing it.
fn key_kind(text: &str) -> &'static str {
    let text = text.trim_start_matches('\u{FEFF}');
    if text.contains("AGE-SECRET-KEY-")
        || text.starts_with("age-encryption.org/")
        || text.contains("-----BEGIN AGE ENCRYPTED FILE-----")
    {
        "an age identity (a data manager's key, for 'aggregate --identity')"
    } else if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        "a damaged or unsupported OpenSSH private key"
    } else if text
        .lines()
        .any(|l| l.starts_with("ssh-") || l.contains("namespaces="))
    {
        "a public key or a signers file"
    } else {
        "not a key"
    }
}

/// The bundle files named: files as given, folders' *.zip sorted.
pub fn bundle_files(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in given {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "zip") && f.is_file())
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads a bundle file within the size cap.
pub fn read_bundle(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}; check the path", path.display()))?;
    if meta.len() > MAX_BUNDLE_BYTES {
        bail!(
            "{} is {} bytes, over the bundle limit",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The passphrase in the first line of `file` (a byte-order mark and the
/// line end are not part of it).
pub fn passphrase(file: &Path) -> Result<SecretString> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(file).with_context(|| {
        format!(
            "cannot read the passphrase file {}; check the path",
            file.display()
        )
    })?);
    let line = text
        .trim_start_matches('\u{FEFF}')
        .lines()
        .next()
        .unwrap_or("");
    if line.is_empty() {
        bail!(
            "the passphrase file {} is empty; its first line must be the passphrase",
            file.display()
        );
    }
    Ok(crypt::passphrase(line))
}

/// A file picked for a file question: read once, named as the answer
/// stores it. The path is not kept.
pub struct Picked {
    /// The answer and the stored name: `<question>-<hash>.<ext>`.
    pub name: String,
    pub bytes: zeroize::Zeroizing<Vec<u8>>,
}

/// Reads the file at `path` for the file question `node`: refused (with
/// the reason, before reading it) when it is not a file, is over the cap
/// or is of a type the question does not take.
pub fn attachment(
    path: &Path,
    node: &crate::form::model::Node,
    cap_mb: u64,
) -> Result<Picked, String> {
    use crate::form::media;
    let media = node
        .kind
        .media()
        .ok_or_else(|| format!("'{}' is not a file question", node.name))?;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a file; give the path of a file"));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    media::check(media, &node.accept, &file_name, meta.len(), cap_mb).map_err(|e| e.to_string())?;
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?,
    );
    // It may have grown since it was measured.
    media::check(media, &node.accept, &file_name, bytes.len() as u64, cap_mb)
        .map_err(|e| e.to_string())?;
    // Random, not the file's hash: the name is in the bundle's manifest,
    // which anyone holding the stick can read.
    let name = media::attachment_name(&node.name, &crypt::random_hex(6), &file_name);
    Ok(Picked { name, bytes })
}

#[cfg(test)]
mod tests {
    use super::key_kind;

    #[test]
    fn key_files_are_told_apart() {
        assert!(key_kind("# created: x\nAGE-SECRET-KEY-1ABC\n").starts_with("an age identity"));
        assert!(key_kind("age-encryption.org/v1\n-> scrypt").starts_with("an age identity"));
        assert!(key_kind("ssh-ed25519 AAAA sup").starts_with("a public key"));
        assert_eq!(key_kind("hello"), "not a key");
    }
}
