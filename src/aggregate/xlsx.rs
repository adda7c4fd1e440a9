//! The XLSX workbooks: one per form, a sheet per table (read back from the
//! CSV just written, its `'` guard removed) and a sheet of the choice
//! lists. A cell's type comes from its column, that is from the field's
//! type, never from the text: integer and decimal fields (and geopoints'
//! split columns, and select_multiple 0/1 columns) are numbers when the
//! answer is a valid number of that type; everything else is text exactly
//! as typed (phone numbers, `0012`, `Nan`, `1e3` in a text field, dates as
//! their ISO text). Sheet names follow Excel's rules whatever the form
//! says, and what cannot go into a workbook is a problem said in the
//! summary: the CSV tables have it all.

use std::path::Path;

use rust_xlsxwriter::{Workbook, Worksheet};

use super::tables::{Cell, Layout, Table, unguard};
use crate::form::Form;

/// Excel's limits: a sheet name's length (UTF-16 units), rows in a sheet,
/// characters (UTF-16 units) in a cell.
const MAX_SHEET_NAME: usize = 31;
const MAX_ROWS: usize = 1_048_576;
const MAX_CELL: usize = 32_767;

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// `s` cut to at most `max` UTF-16 units.
fn cut(s: &str, max: usize) -> &str {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        len += c.len_utf16();
        if len > max {
            return &s[..i];
        }
    }
    s
}

/// A name Excel takes for a sheet: no `[]:*?/\`, not starting or ending
/// with `'`, 1 to 31 characters.
fn clean(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if s.starts_with('\'') {
        s.replace_range(..1, "_");
    }
    s = cut(&s, MAX_SHEET_NAME).to_string();
    if s.ends_with('\'') {
        s.pop();
        s.push('_');
    }
    if s.is_empty() { "sheet".into() } else { s }
}

/// The sheets' names: `records` for the main table, the repeats' names,
/// `choices` last; each made valid, and unique as Excel compares them
/// (case-insensitive; `History` is Excel's own): a name taken gets `~2`,
/// `~3`... within 31 characters.
pub fn sheet_names(tables: &[Table]) -> Vec<String> {
    let mut taken: Vec<String> = vec!["history".into()];
    let mut unique = |name: String| {
        let mut candidate = name.clone();
        let mut n = 1;
        while taken.contains(&candidate.to_lowercase()) {
            n += 1;
            let suffix = format!("~{n}");
            candidate = format!("{}{suffix}", cut(&name, MAX_SHEET_NAME - suffix.len()));
        }
        taken.push(candidate.to_lowercase());
        candidate
    };
    // The two fixed names first, so that they are always theirs.
    let records = unique("records".into());
    let choices = unique("choices".into());
    let mut names = vec![records];
    for table in tables.iter().skip(1) {
        names.push(unique(clean(table.repeat.as_deref().unwrap_or("repeat"))));
    }
    names.push(choices);
    names
}

/// Writes `form_id.xlsx`: the tables written (`written`: file and rows,
/// in the layout's order) and the choice lists of `latest`, labels in
/// `labels` (the language of `--labels`) then one column per language.
/// What cannot be written is returned, one line each; the rest is written.
pub(super) fn write(
    out: &Path,
    form_id: &str,
    layout: &Layout,
    written: &[(String, usize)],
    latest: Option<&Form>,
    labels: Option<&str>,
    hxl: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let book_name = format!("{form_id}.xlsx");
    let names = sheet_names(&layout.tables);
    let mut book = Workbook::new();
    for ((table, (file, _)), name) in layout.tables.iter().zip(written).zip(&names) {
        let sheet = match book.add_worksheet_with_constant_memory() {
            Ok(sheet) => sheet,
            Err(e) => {
                problems.push(format!("{book_name}: cannot add the sheet {name}: {e}"));
                continue;
            }
        };
        if let Err(e) = sheet.set_name(name) {
            problems.push(format!("{book_name}: cannot name a sheet {name:?}: {e}"));
        }
        let mut said = |why: String| {
            problems.push(format!(
                "{book_name}, sheet {name}: {why} (the CSV {file} has the whole table)"
            ))
        };
        if let Err(why) = fill(sheet, &out.join(file), table, hxl, &mut said) {
            said(why);
        }
    }
    if let Some(form) = latest {
        let name = names.last().map_or("choices", |n| n.as_str());
        let result = book.add_worksheet_with_constant_memory().and_then(|sheet| {
            sheet.set_name(name)?;
            choices(sheet, form, labels)
        });
        if let Err(e) = result {
            problems.push(format!("{book_name}: cannot write the sheet {name}: {e}"));
        }
    }
    let path = match super::output::under(out, &[&book_name]) {
        Ok(path) => path,
        Err(why) => {
            problems.push(why.to_string());
            return problems;
        }
    };
    if let Err(e) = book.save(&path) {
        // No half-written workbook left to be opened by mistake.
        let _ = std::fs::remove_file(&path);
        problems.push(format!(
            "cannot write {book_name}: {e}; the CSV tables are complete"
        ));
    }
    problems
}

/// The types of a table's cells: its key columns, then its columns.
fn cells(table: &Table) -> Vec<Cell> {
    table
        .keys()
        .iter()
        .map(|k| {
            if *k == "index" {
                Cell::Integer
            } else {
                Cell::Text
            }
        })
        .chain(table.columns.iter().map(|c| c.cell))
        .collect()
}

/// Fills a sheet from a table's CSV: header (and HXL row) as text, then
/// each cell as its column's type says. A cell over Excel's size is left
/// empty and said; rows past Excel's last are left out and said.
fn fill(
    sheet: &mut Worksheet,
    csv_file: &Path,
    table: &Table,
    hxl: bool,
    said: &mut dyn FnMut(String),
) -> Result<(), String> {
    let types = cells(table);
    let heads = if hxl { 2 } else { 1 };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(csv_file)
        .map_err(|e| format!("cannot read {}: {e}", csv_file.display()))?;
    let mut too_long = Vec::new();
    for (r, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| format!("cannot read {}: {e}", csv_file.display()))?;
        if r >= MAX_ROWS {
            said(format!(
                "more rows than the {MAX_ROWS} a sheet holds; rows from {} on are left out",
                r + 1
            ));
            break;
        }
        for (c, value) in rec.iter().enumerate() {
            let value = if r == 0 && c == 0 {
                value.trim_start_matches('\u{FEFF}')
            } else {
                value
            };
            let value = unguard(value);
            if value.is_empty() {
                continue;
            }
            let (row, col) = (r as u32, c as u16);
            let kind = if r < heads {
                Cell::Text
            } else {
                types.get(c).copied().unwrap_or(Cell::Text)
            };
            let result = match kind.number(value) {
                Some(n) => sheet.write_number(row, col, n).map(|_| ()),
                None if utf16_len(value) > MAX_CELL => {
                    too_long.push(format!("row {} column {}", r + 1, c + 1));
                    Ok(())
                }
                None => sheet.write_string(row, col, value).map(|_| ()),
            };
            result.map_err(|e| format!("row {} column {}: {e}", r + 1, c + 1))?;
        }
    }
    if let Some(first) = too_long.first() {
        said(format!(
            "{} cell(s) longer than the {MAX_CELL} characters a cell holds are left empty \
             (first at {first})",
            too_long.len()
        ));
    }
    Ok(())
}

/// The choices sheet: list_name, name, the label in `labels` (or the
/// form's default language), then `label::LANGUAGE` for every language.
fn choices(
    sheet: &mut Worksheet,
    form: &Form,
    labels: Option<&str>,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let default = form.default_language.as_deref();
    let chosen = labels.filter(|l| !l.is_empty()).or(default);
    let mut head = vec!["list_name".to_string(), "name".into(), "label".into()];
    head.extend(form.languages.iter().map(|l| format!("label::{l}")));
    for (c, h) in head.iter().enumerate() {
        sheet.write_string(0, c as u16, h)?;
    }
    let mut row = 0u32;
    for (name, list) in &form.lists {
        for choice in &list.choices {
            row += 1;
            sheet.write_string(row, 0, name)?;
            sheet.write_string(row, 1, &choice.name)?;
            let label = choice.label.get(chosen, default).unwrap_or("");
            sheet.write_string(row, 2, label)?;
            for (i, lang) in form.languages.iter().enumerate() {
                let text = choice
                    .label
                    .0
                    .iter()
                    .find(|(l, _)| l == lang)
                    .map_or("", |(_, t)| t.as_str());
                sheet.write_string(row, 3 + i as u16, text)?;
            }
        }
    }
    Ok(())
}
