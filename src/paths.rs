//! Where fieldkit finds things on disk: the folders of shipped forms and
//! keys (beside the binary, in the installed share folder), and the form
//! files in a folder.

use std::path::{Path, PathBuf};

/// Folders that may hold form definitions, most specific first: the one
/// given (`--forms` / FIELDKIT_FORMS), then the shipped ones (see
/// [`shipped_dirs`]).
pub fn forms_dirs(given: Option<&Path>) -> Vec<PathBuf> {
    match given {
        Some(dir) => vec![dir.to_path_buf()],
        None => shipped_dirs("forms"),
    }
}

/// The deployment's public keys (`recipients.txt`, `allowed_signers`,
/// `supervisors`): the first shipped `keys/` folder holding `file`.
pub fn shipped_key(file: &str) -> Option<PathBuf> {
    shipped_dirs("keys")
        .into_iter()
        .map(|d| d.join(file))
        .find(|p| p.is_file())
}

/// Existing folders named `name` where fieldkit's shipped files may be,
/// first found first: beside the executable (the tarball, the Windows
/// zip), the Debian package's `/etc/fieldkit/` (the deployment's keys,
/// which IT staff may replace) and `/usr/share/fieldkit/` (the forms), then
/// `./name` (running from the repository), and in debug builds the source
/// tree. The folder a command runs in comes after the installed ones, so
/// a `keys/` folder on a USB stick cannot stand in for the deployment's.
pub fn shipped_dirs(name: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join(name));
        if cfg!(unix) {
            dirs.push(PathBuf::from("/etc/fieldkit").join(name));
        }
        dirs.push(exe_dir.join("../share/fieldkit").join(name));
    }
    dirs.push(PathBuf::from(name));
    #[cfg(debug_assertions)]
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name));
    let mut seen = Vec::new();
    dirs.into_iter()
        .filter(|d| d.is_dir())
        .filter(|d| {
            let key = d.canonicalize().unwrap_or_else(|_| d.clone());
            let fresh = !seen.contains(&key);
            seen.push(key);
            fresh
        })
        .collect()
}

/// The `.toml` files in a folder, sorted by name.
pub fn form_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let form = p
                .extension()
                .is_some_and(|x| x == "toml" || x.eq_ignore_ascii_case("xlsx"));
            // `~$form.xlsx` is Excel's lock file while the workbook is open.
            let lock = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("~$"));
            form && !lock && p.is_file()
        })
        .collect();
    files.sort();
    Ok(files)
}
