//! The command line, as clap derive types, and `run`, which hands each
//! subcommand to its module in `commands/` (their `Args` and behaviour
//! live there) and no subcommand to the enumerator's screen.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{
    self, Globals, Outcome, ack, aggregate, export, fill, forms, init, keygen, pack, receipt,
    rescue, review, status, verify,
};

#[derive(Debug, Parser)]
#[command(
    name = "fieldkit",
    version,
    disable_version_flag = true,
    about = "Offline field surveys for IOM DTM and migrant-health work",
    long_about = "Offline field surveys for IOM's Displacement Tracking Matrix (DTM) and \
                  migrant-health work.\n\nExit codes: 0 ok, 1 the input was checked and found \
                  bad, 2 the job could not be done."
)]
pub struct Cli {
    /// Print the version, where the forms and keys were found, and where
    /// the profile lives.
    #[arg(short = 'V', long)]
    pub version: bool,
    /// Folder holding the enumerator's profile and store.
    #[arg(long, env = "FIELDKIT_HOME", global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Read the passphrase from the first line of FILE instead of asking.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Folder of form definitions (default: the shipped forms).
    #[arg(long, env = "FIELDKIT_FORMS", global = true, value_name = "DIR")]
    pub forms: Option<PathBuf>,
    /// Largest file an image, audio, video or file question takes, in MB
    /// (default 10, at most 60).
    #[arg(long, env = "FIELDKIT_MAX_ATTACHMENT_MB", global = true, value_name = "MB",
          value_parser = clap::value_parser!(u64).range(1..=crate::form::media::MAX_ATTACHMENT_MB))]
    pub max_attachment_mb: Option<u64>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The enumerator's screen (the default command).
    Collect,
    /// Check and list form definitions.
    #[command(subcommand)]
    Forms(forms::FormsCommand),
    /// Create an enumerator profile: keys and an encrypted store (asks the passphrase twice).
    Init(init::Args),
    /// Enter records without the TUI, from a JSON or JSON Lines answers file.
    Fill(fill::Args),
    /// Record counts of the store: drafts, outbox, sent, bundles.
    Status(status::Args),
    /// Write the next signed bundle of finalized records (e.g. to a USB stick).
    Export(export::Args),
    /// Supervisor: check bundles (signature, signer, hashes, sequence); exit 0 ok, 1 bad.
    Verify(verify::Args),
    /// Supervisor: a signed receipt for a verified bundle.
    Receipt(receipt::Args),
    /// Supervisor: read the answers marked for review, approve or return records, write receipts.
    Review(review::Args),
    /// Import a supervisor's receipt: purge the records it covers.
    Ack(ack::Args),
    /// Data manager: decrypt, merge and de-duplicate bundles into tables and a summary.
    Aggregate(aggregate::Args),
    /// Copy every record that can still be decrypted out of a damaged store.
    Rescue(rescue::Args),
    /// Make a data manager's, a supervisor's or a deployment signer's key pair.
    Keygen(keygen::Args),
    /// Round packs: what the laptops get for a round (forms, lists, keys), signed.
    #[command(subcommand)]
    Pack(pack::PackCommand),
}

impl Cli {
    pub fn globals(&self) -> Globals {
        Globals {
            home: self.home.clone(),
            passphrase_file: self.passphrase_file.clone(),
            forms: self.forms.clone(),
            max_attachment_mb: self
                .max_attachment_mb
                .unwrap_or(crate::form::media::DEFAULT_MAX_ATTACHMENT_MB),
        }
    }
}

/// Runs what the command line asks: a subcommand, the version report, or
/// (no subcommand) the enumerator's screen.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let globals = cli.globals();
    if cli.version {
        for line in commands::version_report(&globals) {
            commands::print_line(&line)?;
        }
        return Ok(Outcome::Done);
    }
    match cli.command.unwrap_or(Command::Collect) {
        Command::Collect => {
            crate::tui::run(commands::screen(&globals)?)?;
            Ok(Outcome::Done)
        }
        Command::Forms(cmd) => forms::run(cmd, cli.forms.as_deref()),
        Command::Fill(args) => fill::run(args, &globals),
        Command::Init(args) => init::run(args, &globals),
        Command::Keygen(args) => keygen::run(args, &globals),
        Command::Status(args) => status::run(args, &globals),
        Command::Rescue(args) => rescue::run(args, &globals),
        Command::Export(args) => export::run(args, &globals),
        Command::Verify(args) => verify::run(args, &globals),
        Command::Receipt(args) => receipt::run(args, &globals),
        Command::Ack(args) => ack::run(args, &globals),
        Command::Review(args) => review::run(args, &globals),
        Command::Aggregate(args) => aggregate::run(args, &globals),
        Command::Pack(cmd) => pack::run(cmd, &globals),
    }
}
