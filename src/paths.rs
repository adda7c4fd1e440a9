//! Where fieldkit finds things on disk: the folders of shipped forms, and
//! the clock and device facts a session needs from the machine.

use std::path::{Path, PathBuf};

use crate::form::dates::DateTime;

/// Folders that may hold form definitions, most specific first: the one
/// given (`--forms` / FIELDKIT_FORMS), `./forms`, `forms/` beside the
/// executable, the Debian package's share folder, and the source tree.
pub fn forms_dirs(given: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = given {
        return vec![dir.to_path_buf()];
    }
    let mut dirs = vec![PathBuf::from("forms")];
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("forms"));
        dirs.push(exe_dir.join("../share/fieldkit/forms"));
    }
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("forms"));
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
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Now, in the machine's time zone. FIELDKIT_NOW (RFC 3339, e.g.
/// `2026-11-22T09:00:00+07:00`) pins it for tests and reproducible runs.
pub fn now() -> DateTime {
    if let Ok(pinned) = std::env::var("FIELDKIT_NOW")
        && let Some(dt) = crate::form::dates::parse_datetime(&pinned, 0)
    {
        return dt;
    }
    let zoned = jiff::Zoned::now();
    DateTime {
        epoch_ms: zoned.timestamp().as_millisecond(),
        offset_s: zoned.offset().seconds(),
    }
}
