//! One module per subcommand, each with its `Args` and `run()`. Commands
//! do the I/O around the pure engine and decide what to print; errors that
//! stop a command are `anyhow` errors with context, mapped to exit code 2.

pub mod fill;
pub mod forms;

use std::io::Write;

use anyhow::{Result, bail};

use crate::cli::{Cli, Command};

/// How a command that ran to the end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// Exit 1: the input was checked and found bad.
    Invalid,
}

pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command.unwrap_or(Command::Collect) {
        Command::Collect => bail!(
            "the enumerator screen (fieldkit collect) is not in this build yet. Available now: \
             'fieldkit forms check PATH...', 'fieldkit forms list', and \
             'fieldkit fill FORM --answers FILE --dry-run'. See 'fieldkit --help'."
        ),
        Command::Forms(cmd) => forms::run(cmd, cli.forms.as_deref()),
        Command::Fill(args) => fill::run(args, cli.forms.as_deref()),
    }
}

/// Writes a line to standard output, turning a closed pipe into an error
/// instead of a panic.
pub(crate) fn print_line(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}
