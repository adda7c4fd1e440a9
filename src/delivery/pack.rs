//! Taking a round pack on the laptop, shared by the command line and the
//! screen: verified against the deployment signers pinned in the store
//! and the pack installed, every form loaded and every keys file read as
//! they will be used, then installed in one atomic store write. A pack
//! refused installs nothing, and says every reason.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::bundle::signers::AllowedSigners;
use crate::pack::verify;
use crate::store::{PackChanges, Store};

/// A pack installed: which, and what it changed.
#[derive(Debug, Clone)]
pub struct Imported {
    pub deployment: String,
    pub sequence: u64,
    pub round: String,
    pub changes: PackChanges,
}

impl Imported {
    /// "pack 2 of 'dtm-lao' (round R2-2026)".
    pub fn pack(&self) -> String {
        let round = if self.round.is_empty() {
            String::new()
        } else {
            format!(" (round {})", self.round)
        };
        format!("pack {} of '{}'{round}", self.sequence, self.deployment)
    }

    /// "3 file(s) added, 1 changed, 0 removed, 4 unchanged" (and the old
    /// form versions retired, when any were).
    pub fn counts(&self) -> String {
        let c = &self.changes;
        let retired = match c.retired_forms {
            0 => String::new(),
            n => format!("; {n} old form version(s) no draft or record uses removed"),
        };
        format!(
            "{} file(s) added, {} changed, {} removed, {} unchanged{retired}",
            c.added.len(),
            c.changed.len(),
            c.removed.len(),
            c.unchanged
        )
    }
}

/// Why a pack was not installed: the problems found, and in a word why.
#[derive(Debug, Clone)]
pub struct Refused {
    pub why: &'static str,
    pub problems: Vec<String>,
}

/// Verifies and installs the pack `bytes` (the file `name`). Ok(Err): the
/// pack was refused and nothing installed; Err: the job could not be done
/// (no signers pinned, the store failed).
pub fn import(
    store: &Store,
    bytes: &[u8],
    name: &str,
    now: &str,
) -> Result<std::result::Result<Imported, Refused>> {
    let Some(pinned) = store.pinned_signers()? else {
        bail!(
            "no deployment signers are pinned on this laptop, so it takes no pack: give the \
             deployment's keys/deployment_signers once with 'fieldkit pack import --pin-signers \
             FILE' (set up by IT, from a trusted copy)"
        );
    };
    let signers = AllowedSigners::parse(&pinned)
        .map_err(|e| anyhow::anyhow!("the pinned deployment signers: {e}"))?
        .at(crate::clock::now().epoch_ms.div_euclid(1000));
    let installed = store.installed_pack()?;
    let chain = installed.as_ref().map(|p| p.chain());
    let (report, verified) = verify::verify(name, bytes, &signers, chain.as_ref());
    let Some(verified) = verified else {
        return Ok(Err(Refused {
            why: "the pack did not verify",
            problems: report.problems,
        }));
    };
    if let Err(problems) = forms_load(&verified.files) {
        return Ok(Err(Refused {
            why: "a form in the pack does not load here",
            problems,
        }));
    }
    for (path, data) in &verified.files {
        if let Err(e) = check_keys_file(path, path, data) {
            return Ok(Err(Refused {
                why: "a keys file in the pack cannot be used",
                problems: vec![format!("{e:#}")],
            }));
        }
    }
    let changes = store.install_pack(&verified, now)?;
    let m = &verified.manifest;
    Ok(Ok(Imported {
        deployment: m.deployment.clone(),
        sequence: m.sequence,
        round: m.round.clone(),
        changes,
    }))
}

/// A key or signers file of a pack (`path` in the pack, `file` as shown),
/// read as a laptop will read it.
pub fn check_keys_file(path: &str, file: &str, data: &[u8]) -> Result<()> {
    let text = std::str::from_utf8(data).with_context(|| format!("{file} is not UTF-8 text"))?;
    match path {
        "keys/recipients.txt" => {
            let recipients =
                crate::crypt::parse_recipients(text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            if recipients.is_empty() {
                bail!("{file} lists no recipient: records could not be encrypted to anyone");
            }
        }
        "keys/allowed_signers" | "keys/supervisors" => {
            AllowedSigners::parse(text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        }
        "keys/deployment_signers" => {
            let signers =
                AllowedSigners::parse(text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            // A laptop pins what a pack brings: without a signer that may
            // sign packs it would take no pack again.
            let can_sign = signers.signers.iter().any(|s| {
                s.namespaces.as_deref().is_none_or(|n| {
                    crate::bundle::signers::match_pattern_list(crate::pack::NAMESPACE, n)
                        == Some(true)
                })
            });
            if !can_sign {
                bail!(
                    "{file} lists no key that may sign round packs (namespace \
                     \"{}\"): a laptop that took it would take no pack again",
                    crate::pack::NAMESPACE
                );
            }
        }
        "assignments.csv" => {
            crate::assignments::parse(file, data).map_err(|e| anyhow::anyhow!(e))?;
        }
        _ => {}
    }
    Ok(())
}

/// Every form of a pack loads with this fieldkit, with the lists and
/// entity lists the pack carries laid out as a laptop has them (written
/// to a scratch folder that goes when done; nothing of it is used after).
/// `files`: the pack's files by path, as `pack build` gathers them or
/// `pack import` verified them.
pub fn forms_load<D: AsRef<[u8]>>(files: &[(String, D)]) -> std::result::Result<(), Vec<String>> {
    /// The scratch folder, removed when done whatever happens.
    struct Scratch(PathBuf);
    impl Scratch {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = Scratch(std::env::temp_dir().join(format!("fieldkit-pack-{}", uuid::Uuid::now_v7())));
    std::fs::create_dir_all(dir.path().join("entities"))
        .map_err(|e| vec![format!("cannot make a scratch folder: {e}")])?;
    // Laid out as the laptop will have them (`Store::pack_forms_dir`).
    for (path, data) in files {
        let name = match path.split_once('/') {
            Some(("forms" | "lists", name)) => name,
            Some(("entities", _)) => path.as_str(),
            _ => continue,
        };
        std::fs::write(dir.path().join(name), data.as_ref())
            .map_err(|e| vec![format!("cannot write a scratch copy of {path}: {e}")])?;
    }
    let mut problems = Vec::new();
    for (path, _) in files
        .iter()
        .filter(|(p, _)| p.starts_with("forms/") && p.ends_with(".toml"))
    {
        let name = &path["forms/".len()..];
        if let Err(errors) = crate::form::load(&dir.path().join(name)) {
            problems.extend(errors.iter().take(3).map(|e| format!("{path}: {e}")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::check_keys_file;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAg0kqg3RrR9wplSOkmf20yWFNnXZbDuxy+45c4xvsHP";

    fn check(path: &str, text: &str) -> Result<(), String> {
        check_keys_file(path, path, text.as_bytes()).map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn a_pack_cannot_lock_a_laptop_out_of_its_next_pack() {
        let d = "keys/deployment_signers";
        assert!(check(d, &format!("office namespaces=\"fieldkit-pack\" {KEY}\n")).is_ok());
        assert!(
            check(d, &format!("office {KEY}\n")).is_ok(),
            "any namespace"
        );
        for refused in [
            String::from("# nobody\n"),
            format!("office namespaces=\"fieldkit-bundle\" {KEY}\n"),
            format!("office namespaces=\"!fieldkit-pack,*\" {KEY}\n"),
        ] {
            let why = check(d, &refused).unwrap_err();
            assert!(
                why.contains("no key that may sign round packs"),
                "{refused}: {why}"
            );
        }
        // Other signers files may be empty (no supervisor yet).
        assert!(check("keys/supervisors", "# none yet\n").is_ok());
        assert!(check("keys/recipients.txt", "# nobody\n").is_err());
        assert!(check("keys/allowed_signers", "not a line\n").is_err());
    }
}
