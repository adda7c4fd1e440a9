//! `fieldkit export --out DIR [--again SEQ|all]`: runs the delivery's
//! export (`crate::delivery::export`) and says what it did.

use std::path::PathBuf;

use anyhow::{Result, bail};

use super::{Globals, Outcome, print_line};
use crate::delivery::export::{Again, Limits, Steps, again, export_with};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to write the bundles into (e.g. the USB stick).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write again, byte for byte, a bundle exported earlier that no
    /// receipt has covered yet (its number), or every such bundle ("all").
    #[arg(long, value_name = "SEQ|all", value_parser = parse_again)]
    pub again: Option<Again>,
}

fn parse_again(text: &str) -> Result<Again, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(Again::All);
    }
    match text.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Again::Sequence(n)),
        _ => Err(format!(
            "{text:?} is not a bundle number (1, 2, ...) or \"all\""
        )),
    }
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let limits = Limits::from_env()?;
    let mut steps = Steps::from_env()?;
    let store = globals.open_store()?;
    let done = match args.again {
        Some(which) => {
            let done = again(&store, &args.out, which)?;
            if done.paths.is_empty() && done.stopped.is_none() {
                crate::say!("fieldkit: no bundle is waiting for a receipt: nothing to write");
            }
            done
        }
        None => export_with(&store, &args.out, limits, &mut steps, &mut |_, _| {})?,
    };
    for path in &done.removed {
        crate::say!(
            "fieldkit: removed {}, an unfinished file of an interrupted export",
            path.display()
        );
    }
    for note in &done.left {
        crate::say!("fieldkit: {note}");
    }
    if done.rewritten > 0 && args.again.is_none() {
        crate::say!(
            "fieldkit: {} bundle(s) recorded by an earlier export but not written are written \
             now, the same bytes",
            done.rewritten
        );
    }
    for path in &done.paths {
        print_line(&path.display().to_string())?;
    }
    for why in &done.refused {
        crate::say!("fieldkit: {why}");
    }
    if !done.paths.is_empty() {
        crate::say!(
            "fieldkit: {} bundle(s) written; their records wait in 'sent' until a supervisor's \
             receipt",
            done.paths.len()
        );
    } else if args.again.is_none() && done.refused.is_empty() && done.stopped.is_none() {
        crate::say!("fieldkit: the outbox is empty: nothing to export, nothing written");
    }
    if let Some(e) = done.stopped {
        return Err(e);
    }
    if !done.refused.is_empty() {
        bail!(
            "{} record(s) could not be exported (see above); the others were",
            done.refused.len()
        );
    }
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn again_takes_a_number_or_all() {
        assert_eq!(parse_again("all"), Ok(Again::All));
        assert_eq!(parse_again("3"), Ok(Again::Sequence(3)));
        assert!(parse_again("0").is_err());
        assert!(parse_again("x").is_err());
    }
}
