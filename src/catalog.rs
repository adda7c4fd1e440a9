//! The form catalog: which forms this laptop offers. The forms folders
//! (`--forms`, FIELDKIT_FORMS, beside the binary, the installed share
//! folder) are searched in order, and are where a form's CSV lists are
//! looked for when they are not beside it; every loadable form is offered with the
//! exact text it was parsed from and that text's SHA-256 (`Form::text`,
//! `Form::sha256`), which records name it by. Shared by the command line
//! (`forms list`, `fill`) and the screen.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::form::{self, Form};
use crate::paths;

/// Every loadable form in the form folders, with its path; broken ones are
/// reported on stderr and skipped.
pub fn discover(forms_dir: Option<&Path>) -> Result<Vec<(PathBuf, Arc<Form>)>> {
    if let Some(dir) = forms_dir
        && !dir.is_dir()
    {
        bail!(
            "the forms folder {} (from --forms or FIELDKIT_FORMS) does not exist; give the folder \
             that holds the forms",
            dir.display()
        );
    }
    let dirs = paths::forms_dirs(forms_dir);
    if dirs.is_empty() {
        bail!("no forms folder found; run from the fieldkit folder or give --forms DIR");
    }
    let mut out: Vec<(PathBuf, Arc<Form>)> = Vec::new();
    for dir in &dirs {
        for file in paths::form_files(dir)
            .with_context(|| format!("cannot list the folder {}", dir.display()))?
        {
            // Lists not beside the form are looked for in the forms folders.
            match form::load_in(&file, &dirs) {
                Ok(f) => match out.iter().find(|(_, o)| o.id == f.id) {
                    None => out.push((file, Arc::new(f))),
                    // The same form twice (a workbook and its imported
                    // TOML, say): the first by name is used, and said so.
                    Some((first, _)) if first.parent() == file.parent() => crate::say!(
                        "fieldkit: skipping {}: it has the same form_id '{}' as {}, which is \
                         used; keep one of them in the folder",
                        file.display(),
                        f.id,
                        first.display()
                    ),
                    Some(_) => {}
                },
                Err(errors) => crate::say!(
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

/// Finds a form by path, or by form_id among the discovered forms.
pub fn resolve(spec: &str, forms_dir: Option<&Path>) -> Result<Arc<Form>> {
    let as_path = Path::new(spec);
    if as_path.is_file() {
        let data_dirs = paths::forms_dirs(forms_dir);
        return form::load_in(as_path, &data_dirs)
            .map(Arc::new)
            .map_err(|errors| {
                for e in &errors {
                    crate::say!("{e}");
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

/// A form a bundle carries (its TOML text), loaded as if it lay in the
/// forms folder given (else the shipped forms folders), then in the
/// current folder, so that its CSV lists are found there (and in `data`,
/// e.g. last round's entity lists): the first place it loads, else the
/// errors of the last place tried. How `aggregate` and `review` load the
/// forms bundles carry.
pub fn load_carried(
    text: &str,
    form_id: &str,
    version: &str,
    forms_dir: Option<&Path>,
    data: &[PathBuf],
) -> Result<Form, Vec<form::FormError>> {
    let mut last = Vec::new();
    for dir in paths::forms_dirs(forms_dir)
        .into_iter()
        .chain(std::iter::once(PathBuf::from(".")))
    {
        match form::load::load_str_in(text, &dir.join(format!("{form_id}@{version}.toml")), data) {
            Ok(f) => return Ok(f),
            Err(errors) => last = errors,
        }
    }
    Err(last)
}
