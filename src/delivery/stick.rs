//! The bundle files on the stick: each written under a temporary name,
//! synced and renamed, so that a stick pulled out half-way never holds
//! half a bundle under its real name; and the unfinished files an
//! interrupted export left, removed (this laptop's) or named (others').

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::bundle;
use crate::store::Store;

/// What cleaning a folder of unfinished files did.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Unfinished files of an interrupted export of this laptop, removed.
    pub removed: Vec<PathBuf>,
    /// Other unfinished fieldkit files, left as they are, with why.
    pub left: Vec<String>,
}

/// The temporary name a bundle file is written under.
fn partial_name(file: &str) -> String {
    format!(".{file}.partial")
}

/// Removes this laptop's unfinished bundle files (`.fieldkit-...zip.partial`,
/// left by an export stopped mid-write: that bundle is written again, the
/// same bytes); names other laptops' ones and leaves them.
pub fn clean_partials(store: &Store, out: &Path, done: &mut Cleaned) -> Result<()> {
    let public = &store.profile().public;
    let ours = format!(
        ".{}",
        bundle::file_prefix(&public.enumerator_id, &public.device_id)
    );
    let entries =
        std::fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(".fieldkit-") && name.ends_with(".zip.partial")) {
            continue;
        }
        let path = entry.path();
        let is_ours = name
            .strip_prefix(&ours)
            .and_then(|rest| rest.strip_suffix(".zip.partial"))
            .is_some_and(|n| n.len() >= 6 && n.bytes().all(|b| b.is_ascii_digit()));
        let is_file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
        if !is_ours || !is_file {
            // The name is anyone's: printed with its control characters escaped.
            done.left.push(format!(
                "{} (in {}) is an unfinished file of another laptop's export; it was left as it \
                 is (delete it once no export is running)",
                name.escape_debug(),
                out.display()
            ));
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => done.removed.push(path),
            Err(e) => done.left.push(format!(
                "{} is an unfinished file of an interrupted export and could not be removed \
                 ({e}); delete it",
                path.display()
            )),
        }
    }
    Ok(())
}

/// Writes a bundle under a temporary name, syncs it, renames it: a stick
/// pulled out half-way never holds half a bundle under the real name.
pub fn write_bundle(out: &Path, file: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = out.join(file);
    let partial = out.join(partial_name(file));
    let written = write_synced(&partial, bytes).and_then(|()| {
        std::fs::rename(&partial, &path)
            .with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    crate::store::backend::sync_dir(out)
        .with_context(|| format!("cannot sync {}", out.display()))?;
    Ok(path)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {} (is the stick full?)", path.display()))
}
