//! Reading the files people hand to fieldkit: allowed-signers lists
//! (given or shipped in keys/), bundle files and folders of them, and
//! passphrase files. Each says which file and what to do when it cannot
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
