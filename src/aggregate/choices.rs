//! `choices.csv` beside the tables: every choice of every form's lists
//! (the form's `[[choices]]` and the CSV lists beside it), one row each,
//! for the value labels analysts put on the tables' codes (the README's
//! pandas and R recipes: a Categorical, a factor, haven's labelled for
//! Stata and SPSS). Columns: `form_id`, `list_name`, `name`, `label` (in
//! the `--labels` language, else the form's default, as the workbook's
//! choices sheet), then `label::LANGUAGE` for every language of any form,
//! each exactly as the form gives it (empty when it gives none). The
//! latest version of a form first, in its order; then the choices only
//! earlier versions have, so every code in the tables has its label.
//! Written like the tables (a byte-order mark for Excel, the formula
//! guard). Owns this file only; the tables are `tables`' and `output`'s.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use super::error::AggregateError;
use super::forms::FormTables;
use super::output::{csv_line, under};

/// The file's name in the output folder.
pub const FILE: &str = "choices.csv";

/// Writes `out/choices.csv` for `forms`; the rows written.
pub(super) fn write(
    out: &Path,
    forms: &[FormTables],
    labels: Option<&str>,
) -> Result<usize, AggregateError> {
    let mut languages: Vec<&str> = Vec::new();
    for form in forms.iter().flat_map(|f| f.versions.values()) {
        for l in &form.languages {
            if !l.is_empty() && !languages.contains(&l.as_str()) {
                languages.push(l);
            }
        }
    }
    let path = under(out, &[FILE])?;
    let file = std::fs::File::create(&path).map_err(|e| AggregateError::write(&path, e))?;
    let mut w = std::io::BufWriter::new(file);
    let failed = |e| AggregateError::write(&path, e);
    let mut head = vec!["form_id".to_string(), "list_name".into(), "name".into()];
    head.push("label".into());
    head.extend(languages.iter().map(|l| format!("label::{l}")));
    w.write_all("\u{FEFF}".as_bytes()).map_err(failed)?;
    w.write_all(&csv_line(&head)).map_err(failed)?;
    let mut rows = 0;
    for ft in forms {
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        // The latest version first (versions are in the order they sort).
        for form in ft.versions.values().rev() {
            let default = form.default_language.as_deref();
            let chosen = labels.filter(|l| !l.is_empty()).or(default);
            for (list_name, list) in &form.lists {
                for choice in &list.choices {
                    if !seen.insert((list_name.as_str(), choice.name.as_str())) {
                        continue;
                    }
                    let mut cells = vec![
                        ft.form_id.as_str(),
                        list_name.as_str(),
                        choice.name.as_str(),
                        choice.label.get(chosen, default).unwrap_or(""),
                    ];
                    cells.extend(languages.iter().map(|l| {
                        choice
                            .label
                            .0
                            .iter()
                            .find(|(lang, _)| lang == l)
                            .map_or("", |(_, text)| text.as_str())
                    }));
                    w.write_all(&csv_line(cells)).map_err(failed)?;
                    rows += 1;
                }
            }
        }
    }
    w.flush().map_err(failed)?;
    Ok(rows)
}
