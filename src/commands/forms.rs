//! `fieldkit forms check PATH...` and `fieldkit forms list`: load form
//! definitions and report, as JSON on stdout and as `path:row:column:
//! message` lines on stderr.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;

use super::{Outcome, print_json, print_line};
use crate::form::{self, Form};
use crate::paths;

#[derive(Debug, Subcommand)]
pub enum FormsCommand {
    /// Check form definitions (files, or folders of .toml and .xlsx forms); exit 1 if any is broken.
    Check {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Turn an XLSForm workbook into a TOML form (printed, or written to --out).
    Import {
        #[arg(value_name = "FILE.xlsx")]
        file: PathBuf,
        /// Write the TOML form here (refused if the file exists).
        #[arg(long, value_name = "FILE.toml")]
        out: Option<PathBuf>,
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
        FormsCommand::Import { file, out } => import(&file, out.as_deref()),
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
                bail!("{} holds no .toml or .xlsx form files", p.display());
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
    // (form_id, folder, file) of the forms loaded so far: a folder holding
    // one form_id twice would have fieldkit use only the first by name.
    let mut seen: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    for file in expand(paths)? {
        match form::load(&file) {
            Ok(form) => {
                for w in &form.warnings {
                    crate::say!("warning: {w}");
                }
                let folder = file.parent().map(Path::to_path_buf).unwrap_or_default();
                let twin = seen
                    .iter()
                    .find(|(id, dir, _)| *id == form.id && *dir == folder)
                    .map(|(_, _, first)| first.clone());
                seen.push((form.id.clone(), folder, file.clone()));
                if let Some(first) = twin {
                    all_ok = false;
                    let error = duplicate_form_id(&file, &form.id, &first);
                    crate::say!("{error}");
                    reports.push(json!({
                        "path": file.display().to_string(),
                        "form_id": form.id,
                        "ok": false,
                        "errors": [error],
                    }));
                    continue;
                }
                let mut report = describe(&form, &file);
                report["ok"] = json!(true);
                report["errors"] = json!([]);
                report["warnings"] = json!(form.warnings);
                reports.push(report);
            }
            Err(errors) => {
                all_ok = false;
                for e in &errors {
                    crate::say!("{e}");
                }
                reports.push(json!({
                    "path": file.display().to_string(),
                    "ok": false,
                    "errors": errors,
                }));
            }
        }
    }
    print_json(&json!({ "ok": all_ok, "forms": reports }), true)?;
    Ok(if all_ok {
        Outcome::Done
    } else {
        Outcome::Invalid
    })
}

/// The error for a second file with the same form_id in one folder.
fn duplicate_form_id(file: &Path, id: &str, first: &Path) -> form::FormError {
    form::FormError {
        path: file.display().to_string(),
        sheet: "settings",
        row: None,
        column: Some("form_id".into()),
        line: None,
        message: format!(
            "the form_id '{id}' is also the form_id of {}; in one folder fieldkit uses only the \
             first by name and skips this one. Keep one of them in the folder, or give this \
             form another form_id",
            first.display()
        ),
    }
}

/// `forms import`: the workbook's TOML twin, written only when it loads
/// (what it leaves out is said on stderr, and in the file's first lines).
fn import(file: &Path, out: Option<&Path>) -> Result<Outcome> {
    if !file
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("xlsx"))
    {
        bail!(
            "{} is not an .xlsx workbook; give the XLSForm saved as .xlsx",
            file.display()
        );
    }
    if !file.is_file() {
        bail!(
            "{} is not a file; give the path of the workbook",
            file.display()
        );
    }
    if let Some(out) = out {
        if out.exists() {
            bail!(
                "{} already exists; choose another --out, or move the file away first",
                out.display()
            );
        }
        let folder = out.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(folder) = folder
            && !folder.is_dir()
        {
            bail!(
                "the folder {} does not exist; create it first, or choose another --out",
                folder.display()
            );
        }
    }
    let form = match form::load(file) {
        Ok(f) => f,
        Err(errors) => {
            for e in &errors {
                crate::say!("{e}");
            }
            crate::say!(
                "fieldkit: {} has {} problem(s) (above); nothing was written",
                file.display(),
                errors.len()
            );
            return Ok(Outcome::Invalid);
        }
    };
    for w in &form.warnings {
        crate::say!("warning: {w}");
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Comments hold one line each (no line breaks or other control
    // characters), and name the workbook by its file name only.
    let comment = |t: String| -> String {
        let one_line: String = t
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("{one_line}\n")
    };
    let mut text = comment(format!(
        "# {} ({} {}), imported from {name} by `fieldkit forms import`.",
        form.title_in(None),
        form.id,
        form.version,
    ));
    for w in &form.warnings {
        let mut w = w.clone();
        w.path = name.clone();
        text.push_str(&comment(format!("# left out: {w}")));
    }
    text.push('\n');
    text.push_str(form.text());
    match out {
        None => print_line(text.trim_end())?,
        Some(out) => {
            crate::store::profile::write_new(out, text.as_bytes(), false)?;
            let n = form.question_count();
            crate::say!(
                "fieldkit: wrote {} ({n} question{}); check it with 'fieldkit forms check {}'",
                out.display(),
                if n == 1 { "" } else { "s" },
                out.display()
            );
        }
    }
    Ok(Outcome::Done)
}

fn list(forms_dir: Option<&Path>, as_json: bool) -> Result<Outcome> {
    let found = crate::catalog::discover(forms_dir)?;
    if as_json {
        let items: Vec<_> = found.iter().map(|(p, f)| describe(f, p)).collect();
        print_json(&items, true)?;
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
