//! `fieldkit forms check PATH...` and `fieldkit forms list`: load form
//! definitions and report, as JSON on stdout and as `path:row:column:
//! message` lines on stderr.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;

use super::{Outcome, print_line};
use crate::form::{self, Form};
use crate::paths;

#[derive(Debug, Subcommand)]
pub enum FormsCommand {
    /// Check form definitions (files, or folders of .toml files); exit 1 if any is broken.
    Check {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// List the forms fieldkit finds.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: FormsCommand, forms_dir: Option<&Path>) -> Result<Outcome> {
    match cmd {
        FormsCommand::Check { paths } => check(&paths),
        FormsCommand::List { json } => list(forms_dir, json),
    }
}

fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = paths::form_files(p)
                .with_context(|| format!("cannot list the folder {}", p.display()))?;
            if found.is_empty() {
                bail!("{} holds no .toml form files", p.display());
            }
            files.extend(found);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            bail!(
                "{} does not exist; give the path of a form file or folder",
                p.display()
            );
        }
    }
    Ok(files)
}

/// Summary of a loaded form for JSON output.
pub fn describe(form: &Form, path: &Path) -> serde_json::Value {
    json!({
        "path": path.display().to_string(),
        "form_id": form.id,
        "version": form.version,
        "title": form.title_in(None),
        "questions": form.question_count(),
        "rows": form.nodes.len(),
        "languages": form.languages,
        "needs_review": form.needs_review,
    })
}

fn check(paths: &[PathBuf]) -> Result<Outcome> {
    let mut reports = Vec::new();
    let mut all_ok = true;
    for file in expand(paths)? {
        match form::load(&file) {
            Ok(form) => {
                let mut report = describe(&form, &file);
                report["ok"] = json!(true);
                report["errors"] = json!([]);
                reports.push(report);
            }
            Err(errors) => {
                all_ok = false;
                for e in &errors {
                    eprintln!("{e}");
                }
                reports.push(json!({
                    "path": file.display().to_string(),
                    "ok": false,
                    "errors": errors,
                }));
            }
        }
    }
    print_line(&serde_json::to_string_pretty(
        &json!({ "ok": all_ok, "forms": reports }),
    )?)?;
    Ok(if all_ok {
        Outcome::Done
    } else {
        Outcome::Invalid
    })
}

/// Every loadable form in the form folders, with its path; broken ones are
/// reported on stderr and skipped.
pub fn discover(forms_dir: Option<&Path>) -> Result<Vec<(PathBuf, Arc<Form>)>> {
    let dirs = paths::forms_dirs(forms_dir);
    if dirs.is_empty() {
        bail!("no forms folder found; run from the fieldkit folder or give --forms DIR");
    }
    let mut out: Vec<(PathBuf, Arc<Form>)> = Vec::new();
    for dir in dirs {
        for file in paths::form_files(&dir)
            .with_context(|| format!("cannot list the folder {}", dir.display()))?
        {
            match form::load(&file) {
                Ok(f) if !out.iter().any(|(_, o)| o.id == f.id) => out.push((file, Arc::new(f))),
                Ok(_) => {}
                Err(errors) => eprintln!(
                    "fieldkit: skipping {}: {} (run 'fieldkit forms check {}')",
                    file.display(),
                    errors
                        .first()
                        .map(|e| e.message.as_str())
                        .unwrap_or("broken"),
                    file.display()
                ),
            }
        }
        if forms_dir.is_none() && !out.is_empty() {
            break;
        }
    }
    Ok(out)
}

fn list(forms_dir: Option<&Path>, as_json: bool) -> Result<Outcome> {
    let found = discover(forms_dir)?;
    if as_json {
        let items: Vec<_> = found.iter().map(|(p, f)| describe(f, p)).collect();
        print_line(&serde_json::to_string_pretty(&items)?)?;
    } else {
        for (path, f) in &found {
            print_line(&format!(
                "{:<24} {:<8} {:>4} questions  {}  ({})",
                f.id,
                f.version,
                f.question_count(),
                f.title_in(None),
                path.display()
            ))?;
        }
    }
    Ok(Outcome::Done)
}

/// Finds a form by path, or by form_id among the discovered forms.
pub fn resolve(spec: &str, forms_dir: Option<&Path>) -> Result<Arc<Form>> {
    let as_path = Path::new(spec);
    if as_path.is_file() {
        return form::load(as_path).map(Arc::new).map_err(|errors| {
            for e in &errors {
                eprintln!("{e}");
            }
            anyhow::anyhow!(
                "the form {spec} has {} error(s); fix them (see above) and try again",
                errors.len()
            )
        });
    }
    let found = discover(forms_dir)?;
    match found.into_iter().find(|(_, f)| f.id == spec) {
        Some((_, f)) => Ok(f),
        None => bail!(
            "no form with form_id '{spec}' and no file of that name; 'fieldkit forms list' shows \
             the forms there are"
        ),
    }
}
