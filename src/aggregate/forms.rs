//! The forms the bundles carry: loaded once per (form_id, version), the
//! first text in the bundles' order used, another text under the same
//! name a form conflict; a form that does not load, or would make a table
//! with an unsafe file name, leaves its bundle out. Owns nothing of the
//! tables' columns (`tables`) or of the records.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::FormProblem;
use super::output::MAX_FILE_NAME;
use super::read::CarriedForm;
use super::summary::{self, Summary};
use super::tables::Layout;
use super::{Good, Options};
use crate::bundle::verify;
use crate::form::Form;

/// A form's versions and its tables.
pub(super) struct FormTables {
    pub(super) form_id: String,
    pub(super) versions: BTreeMap<String, Arc<Form>>,
    pub(super) layout: Layout,
}

/// A bundle that verified, before its forms are loaded.
pub(super) struct Candidate {
    pub(super) good: Good,
    pub(super) report: verify::Report,
    pub(super) forms: Vec<CarriedForm>,
}

/// Loads the forms the bundles carry, in the bundles' order. A form is
/// its (form_id, version): the first text in that order is used; another
/// text under the same form_id and version is a form conflict, named (the
/// bundle's records are still read, with the first text). A bundle
/// carrying a form that does not load is reported and left out, the
/// others go on. Returns the bundles to read, the forms and the number of
/// records.
pub(super) fn load_forms(
    candidates: Vec<Candidate>,
    opts: &Options,
    summary: &mut Summary,
) -> (Vec<Good>, Vec<FormTables>, usize) {
    let mut good = Vec::new();
    let mut forms: Vec<FormTables> = Vec::new();
    let mut form_at: HashMap<String, usize> = HashMap::new();
    // (form_id, version) -> (sha256, bundle id) of the text used.
    let mut used: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut total_records = 0;
    for Candidate {
        good: bundle,
        report,
        forms: carried,
    } in candidates
    {
        let mut problems = Vec::new();
        let mut loaded = Vec::new();
        let mut conflicts = Vec::new();
        for CarriedForm {
            form_id,
            version,
            sha256,
            text,
        } in carried
        {
            let key = (form_id, version);
            if let Some((first_sha, first_bundle)) = used.get(&key) {
                if *first_sha != sha256 {
                    conflicts.push(summary::FormConflict {
                        form_id: key.0.clone(),
                        version: key.1.clone(),
                        used: first_bundle.clone(),
                        used_sha256: first_sha.clone(),
                        other: bundle.bundle_id.clone(),
                        other_sha256: sha256,
                    });
                }
                continue;
            }
            let data: Vec<PathBuf> = opts.entities.iter().cloned().collect();
            match load_form(&text, &key.0, &key.1, opts.forms_dir.as_deref(), &data) {
                Ok(form) => loaded.push((key, sha256, form)),
                Err(why) => problems.push(why.to_string()),
            }
        }
        if !problems.is_empty() {
            summary.failed_bundle(&report.file, &problems);
            continue;
        }
        summary.form_conflicts.extend(conflicts);
        for ((form_id, version), sha256, form) in loaded {
            let at = *form_at.entry(form_id.clone()).or_insert_with(|| {
                forms.push(FormTables {
                    form_id: form_id.clone(),
                    versions: BTreeMap::new(),
                    layout: Layout::default(),
                });
                forms.len() - 1
            });
            forms[at].versions.insert(version.clone(), Arc::new(form));
            used.insert((form_id, version), (sha256, bundle.bundle_id.clone()));
        }
        total_records += report.records;
        good.push(bundle);
    }
    (good, forms, total_records)
}

/// Loads a form version carried in a bundle; its CSV choice lists are
/// looked for in `forms_dir` (and its lists/ and entities/ folders), then
/// in `data` (last round's entity lists, `--entities`). Its tables' file
/// names must each be one safe file name.
pub(super) fn load_form(
    text: &[u8],
    form_id: &str,
    version: &str,
    forms_dir: Option<&Path>,
    data: &[PathBuf],
) -> Result<Form, FormProblem> {
    let text = std::str::from_utf8(text).map_err(|_| FormProblem::NotUtf8)?;
    let last = match crate::catalog::load_carried(text, form_id, version, forms_dir, data) {
        Ok(f) => return check_table_names(f, form_id, version),
        Err(errors) => errors.first().map(|e| e.to_string()).unwrap_or_default(),
    };
    Err(FormProblem::DoesNotLoad {
        form_id: form_id.into(),
        version: version.into(),
        choices_missing: last.contains("choices file"),
        why: last,
    })
}

/// A loaded form, if every table it makes has a safe file name.
pub(super) fn check_table_names(
    form: Form,
    form_id: &str,
    version: &str,
) -> Result<Form, FormProblem> {
    let mut layout = Layout::default();
    layout.add_version(&form, None);
    for table in &layout.tables {
        let name = table.file_name(form_id);
        if let Some(why) = verify::unsafe_component(&name, MAX_FILE_NAME) {
            return Err(FormProblem::UnsafeTable {
                form_id: form_id.into(),
                version: version.into(),
                table: name,
                why: why.to_string(),
            });
        }
    }
    Ok(form)
}
