//! `fieldkit fill FORM --answers FILE [--dry-run] [--finalize]`: enter
//! records without the TUI, one JSON object or JSON Lines (one record per
//! line), each run through the form engine and reported as a JSON line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use super::{Outcome, print_line};
use crate::form::{Env, Form, Session};
use crate::paths;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A form_id of a shipped form, or the path of a form file.
    #[arg(value_name = "FORM")]
    pub form: String,
    /// JSON answers: one object, or JSON Lines with one record per line ('-' reads stdin).
    #[arg(long, value_name = "FILE")]
    pub answers: PathBuf,
    /// Check and compute only; save nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Finalize valid records (send them to the outbox) instead of keeping drafts.
    #[arg(long)]
    pub finalize: bool,
    /// Language for messages and labels, e.g. "Lao (lo)" (default: the form's).
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
}

/// The records in an answers file: `(line, object)` pairs, or the line and
/// why it could not be read.
/// One line of an answers file: the record, or why it could not be read.
type Line = (usize, Result<Map<String, Value>, String>);

fn records(text: &str) -> Vec<Line> {
    let trimmed = text.trim_start_matches('\u{FEFF}');
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return vec![(
            1,
            match value {
                Value::Object(map) => Ok(map),
                _ => Err("the answers must be a JSON object {\"name\": value, ...}".into()),
            },
        )];
    }
    trimmed
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let parsed = match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err("this line is not a JSON object".to_string()),
                Err(e) => Err(format!("this line is not JSON: {e}")),
            };
            (i + 1, parsed)
        })
        .collect()
}

fn read_answers(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read the answers from standard input")?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the answers file {}; check the path (it must be UTF-8 JSON)",
            path.display()
        )
    })
}

/// Runs one record through the engine and returns the JSON report.
pub fn fill_one(
    form: &Arc<Form>,
    env: Env,
    language: Option<&str>,
    answers: &Map<String, Value>,
) -> Value {
    let mut session = Session::new(Arc::clone(form), env);
    if let Some(lang) = language {
        session.set_language(Some(lang.to_string()));
    }
    let mut violations = session.load_answers(answers);
    // A refused answer is already reported; don't report it again as missing.
    let refused: Vec<String> = violations.iter().map(|v| v.path.clone()).collect();
    violations.extend(
        session
            .violations()
            .into_iter()
            .filter(|v| !refused.contains(&v.path)),
    );
    json!({
        "valid": violations.is_empty(),
        "record_id": Value::Null,
        "instance_name": session.instance_name(),
        "values": session.record(),
        "violations": violations,
    })
}

pub fn run(args: Args, forms_dir: Option<&Path>) -> Result<Outcome> {
    if !args.dry_run {
        bail!(
            "saving records needs the enumerator's encrypted store, which this build does not \
             have yet. Add --dry-run to check the answers without saving."
        );
    }
    let form = super::forms::resolve(&args.form, forms_dir)?;
    if let Some(lang) = &args.language
        && !form.languages.contains(lang)
    {
        bail!(
            "the form has no language '{lang}'; it has: {}",
            form.languages.join(", ")
        );
    }
    let text = read_answers(&args.answers)?;
    let env = Env {
        now: paths::now(),
        device_id: "dry-run".into(),
        username: String::new(),
    };
    let source = if args.answers == Path::new("-") {
        "standard input".to_string()
    } else {
        args.answers.display().to_string()
    };
    let mut unreadable = 0;
    let mut invalid = 0;
    for (line, record) in records(&text) {
        match record {
            Ok(answers) => {
                let report = fill_one(&form, env.clone(), args.language.as_deref(), &answers);
                if report["valid"] != json!(true) {
                    invalid += 1;
                }
                print_line(&serde_json::to_string(&report)?)?;
            }
            Err(message) => {
                unreadable += 1;
                eprintln!("{source}:{line}: {message}");
            }
        }
    }
    if unreadable > 0 {
        bail!(
            "{unreadable} line(s) of {source} could not be read (see above); fix them and run again"
        );
    }
    Ok(if invalid > 0 {
        Outcome::Invalid
    } else {
        Outcome::Done
    })
}
