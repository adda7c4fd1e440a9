//! The thin binary: parse the command line, run, print the error chain,
//! give the exit code (0 ok, 1 input found bad, 2 could not do the job).

use std::process::ExitCode;

use clap::Parser;

use fieldkit::cli::Cli;
use fieldkit::cli::run;
use fieldkit::commands::Outcome;

fn main() -> ExitCode {
    // First, before any secret is in memory: no core dumps. A failure is
    // said, never fatal (a container may forbid prctl).
    for problem in fieldkit::harden::no_core_dumps() {
        fieldkit::say!("fieldkit: warning: {problem}");
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(1),
        Err(err) => {
            fieldkit::say!("fieldkit: {err:#}");
            ExitCode::from(2)
        }
    }
}
