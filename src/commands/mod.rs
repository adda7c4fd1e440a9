//! One module per subcommand, each with its `Args` and `run()`. Commands
//! do the I/O around the pure engine and decide what to print; errors that
//! stop a command are `anyhow` errors with context, mapped to exit code 2.

pub mod ack;
pub mod aggregate;
pub mod export;
pub mod fill;
pub mod forms;
pub mod init;
pub mod keygen;
pub mod pack;
pub mod receipt;
pub mod rescue;
pub mod review;
pub mod status;
pub mod verify;

use std::io::Write;
use std::path::PathBuf;

use age::secrecy::SecretString;
use anyhow::{Context, Result, bail};

use crate::crypt;
use crate::store::Store;
use crate::store::profile::{self, Home};

/// How a command that ran to the end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// Exit 1: the input was checked and found bad.
    Invalid,
}

/// One checked file as `verify` and `pack verify` list it: `ok ` or
/// `BAD`, the file and what it is, then each problem on a line of its own.
pub fn print_checked(ok: bool, file: &str, what: &str, problems: &[String]) -> Result<()> {
    print_line(&format!(
        "{} {file}  {what}",
        if ok { "ok " } else { "BAD" }
    ))?;
    for p in problems {
        print_line(&format!("    - {p}"))?;
    }
    Ok(())
}

/// What the enumerator's screen starts with, from the global options:
/// the home, the forms of the catalog, a passphrase file given ahead.
pub fn screen(globals: &Globals) -> Result<crate::tui::Start> {
    let home = globals.home()?;
    // A laptop with a profile may take its forms from a round pack once
    // unlocked: no forms folder is needed then (unless --forms names one).
    let found = match crate::catalog::discover(globals.forms.as_deref()) {
        Ok(found) => found,
        Err(_) if globals.forms.is_none() && home.exists() => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(crate::tui::Start {
        home,
        forms: found.into_iter().map(|(_, form)| form).collect(),
        passphrase_file: globals.passphrase_file.clone(),
        max_attachment_mb: globals.max_attachment_mb,
    })
}

/// `fieldkit --version`: the version, and where this copy finds its forms
/// and keys and keeps the profile (what IT staff check after installing).
pub fn version_report(globals: &Globals) -> Vec<String> {
    // Absolute, without Windows' `\\?\` prefix that canonicalize adds.
    let shown = |p: &std::path::Path| {
        let full = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let text = full.display().to_string();
        text.strip_prefix(r"\\?\")
            .map(str::to_string)
            .unwrap_or(text)
    };
    let mut lines = vec![format!("fieldkit {}", env!("CARGO_PKG_VERSION"))];
    let forms = crate::paths::forms_dirs(globals.forms.as_deref());
    lines.push(match forms.iter().find(|d| d.is_dir()) {
        Some(d) => {
            let n = crate::paths::form_files(d).map_or(0, |f| f.len());
            let files = if n == 1 { "form file" } else { "form files" };
            format!("forms:   {} ({n} {files})", shown(d))
        }
        None => match globals.forms.as_deref() {
            Some(d) => format!(
                "forms:   {} does not exist (from --forms or FIELDKIT_FORMS)",
                d.display()
            ),
            None => "forms:   none found (give --forms DIR)".to_string(),
        },
    });
    lines.push(match crate::paths::shipped_key("recipients.txt") {
        Some(f) => format!("keys:    {}", f.parent().map(shown).unwrap_or_default()),
        None => "keys:    none found (recipients.txt missing)".to_string(),
    });
    lines.push(match globals.home() {
        Ok(home) => format!(
            "profile: {}{}",
            home.dir.display(),
            if home.exists() {
                ""
            } else {
                " (none yet: the first start sets it up)"
            }
        ),
        Err(e) => format!("profile: {e}"),
    });
    lines
}

/// The global options every command may use.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub home: Option<PathBuf>,
    pub passphrase_file: Option<PathBuf>,
    pub forms: Option<PathBuf>,
    /// The cap on an attached file, in MB (`--max-attachment-mb`).
    pub max_attachment_mb: u64,
}

impl Globals {
    /// The home folder: `--home`, FIELDKIT_HOME, or the platform's data folder.
    pub fn home(&self) -> Result<Home> {
        match self.home.clone().or_else(profile::default_home) {
            Some(dir) => Ok(Home::new(dir)),
            None => bail!("cannot tell where to keep the profile; give --home DIR"),
        }
    }

    /// The passphrase: the first line of `--passphrase-file`, or asked on
    /// the terminal (twice when `confirm`).
    pub fn passphrase(&self, prompt: &str, confirm: bool) -> Result<SecretString> {
        if let Some(file) = &self.passphrase_file {
            return crate::files::passphrase(file);
        }
        let first =
            zeroize::Zeroizing::new(rpassword::prompt_password(format!("{prompt}: ")).context(
                "cannot ask for the passphrase (no terminal?); give it with --passphrase-file FILE",
            )?);
        if confirm {
            let second = zeroize::Zeroizing::new(
                rpassword::prompt_password("Type it again: ")
                    .context("cannot ask for the passphrase again")?,
            );
            if first != second {
                bail!("the two passphrases differ; nothing was changed. Run the command again");
            }
        }
        Ok(crypt::passphrase(first.trim_end_matches(['\r', '\n'])))
    }

    /// Opens the enumerator's store, asking for the passphrase once the
    /// profile is known to exist and the store is free.
    pub fn open_store(&self) -> Result<Store> {
        let home = self.home()?;
        let public = home.public()?;
        let lock = crate::store::lock(&home)?;
        let passphrase = self.profile_passphrase(&home, &public.enumerator_id)?;
        Ok(Store::open_locked(home, &passphrase, lock)?)
    }

    /// The passphrase of the profile in `home`.
    pub fn profile_passphrase(&self, home: &Home, enumerator: &str) -> Result<SecretString> {
        self.passphrase(
            &format!("Passphrase for {enumerator} ({})", home.dir.display()),
            false,
        )
    }
}

/// Writes a line to standard output, every control character in it
/// escaped (see `printable`), turning a closed pipe into an error instead
/// of a panic.
pub(crate) fn print_line(line: &str) -> Result<()> {
    write_out(&crate::printable::escape(line))
}

/// Writes JSON (pretty-printed or not) to standard output, every control
/// character in its strings escaped the JSON way.
pub(crate) fn print_json(value: &impl serde::Serialize, pretty: bool) -> Result<()> {
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    write_out(&crate::printable::escape_json(&text))
}

/// A closed pipe (`fieldkit forms list | head -1`) is not an error: the
/// reader has what it wanted, and the command goes on to its real exit
/// code. Any other failure to write (a full disk) is.
fn write_out(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to standard output"))
        }
        _ => Ok(()),
    }
}

/// Writes a message line to standard error, every control character in it
/// escaped: messages quote bundles, files and forms, which may hold
/// terminal escapes. A closed stderr is ignored (nothing else to tell).
pub fn say(line: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}",
        crate::printable::escape(line)
    );
}

/// `eprintln!` through [`say`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::commands::say(&format!($($arg)*))
    };
}
