//! XLSForm workbooks (.xlsx), as form designers write them for Kobo and
//! ODK: read with calamine, turned into the TOML form they stand for
//! (what `fieldkit forms import` writes), and loaded through the TOML
//! loader, so a workbook and its TOML twin make the same model. This
//! module owns what is particular to workbooks: sheets and columns by any
//! case, `label::Language (code)` and `label:Language` headers, the type
//! and column aliases pyxform accepts, formula cells by their cached
//! value, date cells, `or_other`, loops over a choice list (`loops`),
//! the features fieldkit refuses or skips
//! with a warning, and errors located by sheet, spreadsheet row and
//! column. Never panics, whatever the bytes.
//!
//! This module owns the entry points and the conversion pipeline (the zip
//! checked against the caps, the sheets walked in order, errors located);
//! reading sheets and cells is `cells`'s job, writing the TOML `writer`'s.

mod cells;
mod lenient;
mod loops;
mod writer;

use cells::{CHOICE_ALIASES, ENTITY_ALIASES, Reading, SETTINGS_ALIASES, SURVEY_ALIASES, Sheet};
use writer::Writer;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::Path;

use calamine::Reader;

use super::error::FormError;
use super::limits::{
    self, MAX_CHOICES, MAX_SURVEY_ROWS, MAX_WORKBOOK_BYTES, MAX_WORKBOOK_ENTRIES,
    MAX_WORKBOOK_PART_BYTES,
};
use super::load::load_str_in;
use super::model::Form;

/// A workbook turned into a TOML form.
#[derive(Debug)]
pub struct Converted {
    pub toml: String,
    /// Columns, sheets and questions left out, each with where it is.
    pub warnings: Vec<FormError>,
    /// What the workbook uses that fieldkit refuses. The rest is still
    /// converted, so that the TOML loader's checks find the other
    /// problems in the same run.
    pub errors: Vec<FormError>,
    /// The spreadsheet row of each `[[survey]]` and `[[choices]]` entry
    /// written, to locate the TOML loader's errors in the workbook.
    survey_rows: Vec<usize>,
    choice_rows: Vec<(&'static str, usize)>,
    /// The spreadsheet row of the `entities` sheet's declaration.
    entities_row: Option<usize>,
}

/// Loads a workbook's bytes: converted, then checked like any TOML form;
/// the form keeps the TOML text (what bundles carry). Errors and warnings
/// name the sheet, the spreadsheet row and the column.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Form, Vec<FormError>> {
    from_bytes_in(bytes, path, &[])
}

/// [`from_bytes`], its CSVs looked for beside `path`, then in `data_dirs`.
pub fn from_bytes_in(
    bytes: &[u8],
    path: &Path,
    data_dirs: &[std::path::PathBuf],
) -> Result<Form, Vec<FormError>> {
    let shown = path.display().to_string();
    let converted = convert(bytes, &shown)?;
    let mut errors = converted.errors.clone();
    match load_str_in(&converted.toml, path, data_dirs) {
        Ok(mut form) if errors.is_empty() => {
            let loaded = std::mem::take(&mut form.warnings);
            form.warnings = converted.warnings.clone();
            form.warnings
                .extend(loaded.into_iter().map(|w| converted.locate(w, &shown)));
            Ok(form)
        }
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more.into_iter().map(|e| converted.locate(e, &shown)));
            Err(errors)
        }
    }
}

fn error(
    path: &str,
    sheet: &'static str,
    row: Option<usize>,
    column: Option<&str>,
    message: String,
) -> FormError {
    FormError {
        path: path.to_string(),
        sheet,
        row,
        column: column.map(str::to_string),
        line: None,
        message,
    }
}

impl Converted {
    /// A TOML loader error moved onto the workbook: its path, its sheet's
    /// row as Excel numbers it, and "survey row N" in the message too.
    fn locate(&self, mut e: FormError, path: &str) -> FormError {
        e.path = path.to_string();
        e.line = None;
        match e.sheet {
            "survey" => {
                e.row = e
                    .row
                    .and_then(|r| self.survey_rows.get(r.checked_sub(1)?).copied())
            }
            "choices" => {
                if let Some(&(sheet, row)) =
                    e.row.and_then(|r| self.choice_rows.get(r.checked_sub(1)?))
                {
                    e.sheet = sheet;
                    e.row = Some(row);
                }
            }
            "entities" => e.row = self.entities_row.or(e.row),
            _ => {}
        }
        e.message = self.renumber(&e.message);
        e
    }

    fn renumber(&self, message: &str) -> String {
        let mut out = String::new();
        let mut rest = message;
        while let Some(at) = rest.find(" row ") {
            let (before, after) = rest.split_at(at + 5);
            out.push_str(before);
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            let n: Option<usize> = digits.parse().ok();
            let index = n.and_then(|n| n.checked_sub(1));
            if before.ends_with("survey row ")
                && let Some(&row) = index.and_then(|i| self.survey_rows.get(i))
            {
                out.push_str(&row.to_string());
            } else if before.ends_with("choices row ")
                && let Some(&(sheet, row)) = index.and_then(|i| self.choice_rows.get(i))
            {
                // The sheet it really came from (external_choices, or the
                // survey row whose or_other made it).
                out.truncate(out.len() - "choices row ".len());
                out.push_str(&format!("{sheet} row {row}"));
            } else {
                out.push_str(&digits);
            }
            rest = &after[digits.len()..];
        }
        out.push_str(rest);
        out
    }
}

/// Reads a workbook into the TOML form it stands for.
pub fn convert(bytes: &[u8], path: &str) -> Result<Converted, Vec<FormError>> {
    // calamine parses untrusted zip and XML: a panic in it must not take
    // the program down.
    std::panic::catch_unwind(|| convert_inner(bytes, path)).unwrap_or_else(|_| {
        Err(vec![error(
            path,
            "file",
            None,
            None,
            "the workbook is damaged and cannot be read; open it in Excel or LibreOffice and \
             save it again as .xlsx"
                .into(),
        )])
    })
}

/// Checks the workbook's zip against the caps before calamine reads it:
/// how many files, and how large each is and all are once unzipped, as
/// declared and as they really unzip (a declared size can lie).
fn check_zip(bytes: &[u8]) -> Result<(), String> {
    use std::io::Read as _;
    let too_large = |what: String| {
        format!(
            "{what}, over fieldkit's caps for a workbook ({} for one file inside it, {} in all); \
             a form is far smaller: the file is broken, or made to exhaust the computer",
            limits::bytes(MAX_WORKBOOK_PART_BYTES),
            limits::bytes(MAX_WORKBOOK_BYTES)
        )
    };
    let too_many = |n: usize| {
        format!(
            "the workbook holds {n} files, over fieldkit's cap of {MAX_WORKBOOK_ENTRIES}; a form \
             never has that many: check that this is the right file"
        )
    };
    // The entry count, from the end record, before the zip crate lists
    // them all.
    let lowest = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]));
    if let Some(total) = eocd.and_then(|i| bytes.get(i + 10..i + 12)) {
        let total = usize::from(u16::from_le_bytes([total[0], total[1]]));
        if total > MAX_WORKBOOK_ENTRIES {
            return Err(too_many(total));
        }
    }
    // Anything else wrong with the zip is calamine's to report.
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    if zip.len() > MAX_WORKBOOK_ENTRIES {
        return Err(too_many(zip.len()));
    }
    let mut declared: u64 = 0;
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(i) else {
            continue;
        };
        if entry.size() > MAX_WORKBOOK_PART_BYTES {
            return Err(too_large(format!(
                "{} says it unzips to {} bytes",
                shown_name(entry.name()),
                entry.size()
            )));
        }
        declared = declared.saturating_add(entry.size());
        if declared > MAX_WORKBOOK_BYTES {
            return Err(too_large(format!(
                "its files say they unzip to more than {declared} bytes"
            )));
        }
    }
    let mut unzipped: u64 = 0;
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index(i) else {
            continue;
        };
        let name = shown_name(entry.name());
        let Ok(size) = std::io::copy(
            &mut entry.take(MAX_WORKBOOK_PART_BYTES + 1),
            &mut std::io::sink(),
        ) else {
            continue;
        };
        if size > MAX_WORKBOOK_PART_BYTES {
            return Err(too_large(format!(
                "{name} unzips to more than {MAX_WORKBOOK_PART_BYTES} bytes"
            )));
        }
        unzipped += size;
        if unzipped > MAX_WORKBOOK_BYTES {
            return Err(too_large(format!(
                "its files unzip to more than {MAX_WORKBOOK_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

/// A file name from inside a zip, quoted with its control characters
/// escaped.
fn shown_name<E>(name: Result<std::borrow::Cow<'_, str>, E>) -> String {
    match name {
        Ok(name) => format!("{name:?}"),
        Err(_) => "a file".into(),
    }
}

fn convert_inner(bytes: &[u8], path: &str) -> Result<Converted, Vec<FormError>> {
    if let Err(message) = check_zip(bytes) {
        return Err(vec![error(path, "file", None, None, message)]);
    }
    let mut book = match calamine::Xlsx::new(Cursor::new(bytes)) {
        Ok(b) => b,
        Err(e) => {
            return Err(vec![error(
                path,
                "file",
                None,
                None,
                format!(
                    "not an .xlsx workbook ({e}); save the form from Excel or LibreOffice as \
                     .xlsx (Excel 2007 and later)"
                ),
            )]);
        }
    };
    let mut r = Reading {
        path: path.to_string(),
        errors: Vec::new(),
        warnings: Vec::new(),
        cells: 0,
        text: 0,
    };
    let names = book.sheet_names();
    let find = |want: &str| {
        names
            .iter()
            .find(|n| n.trim().eq_ignore_ascii_case(want))
            .cloned()
    };
    // A workbook of one sheet is its survey (as pyxform reads it).
    let only = (names.len() == 1).then(|| names[0].clone());
    let Some(survey_name) = find("survey").or(only) else {
        return Err(vec![error(
            path,
            "file",
            None,
            None,
            format!(
                "the workbook has no 'survey' sheet (its sheets: {}); an XLSForm needs one",
                names.join(", ")
            ),
        )]);
    };
    for n in names.iter().filter(|n| **n != survey_name) {
        let lower = n.trim().to_lowercase();
        if !matches!(
            lower.as_str(),
            "survey" | "choices" | "settings" | "external_choices" | "entities"
        ) {
            r.warn(
                "file",
                None,
                None,
                format!(
                    "the sheet '{n}' is not part of XLSForm as fieldkit runs it; it is left out"
                ),
            );
        }
    }
    let survey = r.sheet(&mut book, &survey_name, "survey", SURVEY_ALIASES);
    let choices = find("choices").and_then(|n| r.sheet(&mut book, &n, "choices", CHOICE_ALIASES));
    let external = find("external_choices")
        .and_then(|n| r.sheet(&mut book, &n, "external_choices", CHOICE_ALIASES));
    let settings =
        find("settings").and_then(|n| r.sheet(&mut book, &n, "settings", SETTINGS_ALIASES));
    let entities =
        find("entities").and_then(|n| r.sheet(&mut book, &n, "entities", ENTITY_ALIASES));
    let Some(survey) = survey else {
        return Err(r.errors);
    };
    let choice_count: usize = [&choices, &external]
        .into_iter()
        .flatten()
        .map(|c| c.rows.len())
        .sum();
    for (sheet, count, cap, what) in [
        ("survey", survey.rows.len(), MAX_SURVEY_ROWS, "survey rows"),
        ("choices", choice_count, MAX_CHOICES, "choices"),
    ] {
        if count > cap {
            let row = survey
                .rows
                .get(cap)
                .filter(|_| sheet == "survey")
                .map(|(r, _)| *r);
            r.refuse(
                sheet,
                row,
                None,
                format!(
                    "the workbook has {count} {what}, over fieldkit's cap of {cap}; split it into \
                     several forms"
                ),
            );
            return Err(r.errors);
        }
    }
    if !survey
        .columns
        .iter()
        .any(|c| matches!(c, Some((n, None)) if n == "type"))
    {
        r.refuse(
            "survey",
            Some(survey.header_row),
            None,
            format!(
                "the sheet '{survey_name}' has no 'type' column in its first row; the survey \
                 sheet starts with a header row (type, name, label...)"
            ),
        );
    }
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    let survey = if loops::has_loops(&survey) {
        loops::expand(&mut r, &survey, choices.as_ref())
    } else {
        survey
    };
    let mut w = Writer::default();
    // Lists of the choices sheet; external_choices lists of the same name
    // (a select_one_external's) are written under another name.
    let list_names = |sheet: &Option<Sheet>| -> BTreeSet<String> {
        sheet
            .iter()
            .flat_map(|c| {
                c.rows
                    .iter()
                    .filter_map(|(_, cells)| c.get(cells, "list_name"))
            })
            .collect()
    };
    let choice_lists = list_names(&choices);
    let external_lists = list_names(&external);
    for list in choice_lists.intersection(&external_lists) {
        w.renamed.insert(list.clone(), format!("{list}_external"));
    }
    // Cascading external lists repeat names under different parents.
    let external_duplicates = external.as_ref().is_some_and(|ext| {
        let mut seen = BTreeSet::new();
        ext.rows
            .iter()
            .any(|(_, cells)| !seen.insert((ext.get(cells, "list_name"), ext.get(cells, "name"))))
    });
    let stem = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "form".into());
    w.settings(&mut r, settings.as_ref(), external_duplicates, &stem);
    let mut other_lists = BTreeMap::new();
    let mut languages = BTreeSet::new();
    // The instance's root element: settings' `name`, else "data".
    let root = settings
        .as_ref()
        .and_then(|s| s.rows.first().and_then(|(_, c)| s.get(c, "name")))
        .unwrap_or_else(|| "data".into());
    let others: Vec<&Sheet> = [&settings, &choices, &external, &entities]
        .into_iter()
        .flatten()
        .collect();
    w.survey(
        &mut r,
        &survey,
        &mut other_lists,
        &mut languages,
        &root,
        &others,
    );
    for sheet in [&choices, &external].into_iter().flatten() {
        w.choices(&mut r, sheet, &mut other_lists);
    }
    if let Some(sheet) = &entities {
        w.entities(&mut r, sheet);
    }
    // The 'other' choice goes only into lists that exist: a select whose
    // list is missing stays an error the loader reports.
    let existing: BTreeSet<String> = external_lists
        .into_iter()
        .map(|l| w.renamed.get(&l).cloned().unwrap_or(l))
        .chain(choice_lists)
        .collect();
    for (list, row) in other_lists {
        if existing.contains(&list) {
            w.other_choice(&list, row, &languages);
        }
    }
    Ok(Converted {
        toml: w.out,
        warnings: r.warnings,
        errors: r.errors,
        survey_rows: w.survey_rows,
        choice_rows: w.choice_rows,
        entities_row: w.entities_row,
    })
}

#[cfg(test)]
mod tests {
    use super::cells::{canonical_type, column_letters, header, number, serial_date};
    use super::writer::quote;
    use super::*;

    #[test]
    fn types_as_pyxform_spells_them() {
        for (given, canonical) in [
            ("select one from yes_no", "select_one yes_no"),
            ("select_one from yes_no", "select_one yes_no"),
            (
                "select all that apply from browsers",
                "select_multiple browsers",
            ),
            ("Select_One  hunger_scale", "select_one hunger_scale"),
            (
                "select one from sexes or specify other",
                "select_one sexes or_other",
            ),
            (
                "select_multiple colours or other",
                "select_multiple colours or_other",
            ),
            (
                "select one from file villages.csv",
                "select_one_from_file villages.csv",
            ),
            (
                "select_one_from_file  UCL_districts.csv",
                "select_one_from_file UCL_districts.csv",
            ),
            ("begin group", "begin_group"),
            ("End Repeat", "end_repeat"),
            ("int", "integer"),
            ("string", "text"),
            ("dateTime", "datetime"),
            ("imei", "deviceid"),
            ("uri:deviceid", "deviceid"),
            ("phone number", "phonenumber"),
            ("trigger", "acknowledge"),
            ("photo", "image"),
        ] {
            assert_eq!(canonical_type(given), canonical, "{given}");
        }
    }

    #[test]
    fn headers_in_every_spelling() {
        let h = |raw| header(raw, SURVEY_ALIASES, false);
        assert_eq!(h("TYPE"), ("type".into(), None));
        assert_eq!(
            h("label::Lao (lo)"),
            ("label".into(), Some("Lao (lo)".into()))
        );
        assert_eq!(h("label:English"), ("label".into(), Some("English".into())));
        assert_eq!(h("LABEL::EN"), ("label".into(), Some("EN".into())));
        assert_eq!(h("bind:relevant"), ("relevant".into(), None));
        assert_eq!(
            h("bind::jr:constraintMsg"),
            ("constraint_message".into(), None)
        );
        assert_eq!(
            h("jr:constraintMsg::English"),
            ("constraint_message".into(), Some("English".into()))
        );
        assert_eq!(h("jr:count"), ("repeat_count".into(), None));
        // Only translated columns have languages; others keep their name.
        assert_eq!(
            h("media::image::English"),
            ("media::image::english".into(), None)
        );
        assert_eq!(
            h("body::accuracyThreshold"),
            ("body::accuracythreshold".into(), None)
        );
        assert_eq!(h("label::default"), ("label".into(), None));
        assert_eq!(h("label::"), ("label".into(), None));
        // Lowercasing changes byte lengths here: no panic, no wrong split.
        assert_eq!(h("İ::x"), ("i̇::x".into(), None));
        assert_eq!(h("\u{212A}\u{212A}\u{212A}::x"), ("kkk::x".into(), None));
        assert_eq!(
            h("LABEL::İstanbul"),
            ("label".into(), Some("İstanbul".into()))
        );
        // A choice list's own columns keep their case for choice filters.
        assert_eq!(
            header("YES_NO", CHOICE_ALIASES, true),
            ("YES_NO".into(), None)
        );
        assert_eq!(
            header("LIST_NAME", CHOICE_ALIASES, true),
            ("list_name".into(), None)
        );
    }

    #[test]
    fn cells_as_text() {
        assert_eq!(number(2014111.0), "2014111");
        assert_eq!(number(2024032701.5), "2024032701.5");
        assert_eq!(serial_date(45_000.0, false), "2023-03-15");
        assert_eq!(serial_date(45_616.690_9, false), "2024-11-20T16:34:54");
        assert_eq!(serial_date(0.5, false), "12:00:00");
        assert_eq!(serial_date(1.5, true), "1.5");
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
    }

    proptest::proptest! {
        /// Whatever a cell holds, the TOML string reads back as it.
        #[test]
        fn quoted_text_reads_back(text in "\\PC{0,40}|[\\x00-\\x1f\"\\\\]{0,8}") {
            let doc = format!("k = {}", quote(&text));
            let table: toml::Table = toml::from_str(&doc).unwrap();
            proptest::prop_assert_eq!(table["k"].as_str(), Some(text.as_str()));
        }
    }

    #[test]
    fn loader_rows_become_spreadsheet_rows_in_messages() {
        let c = Converted {
            toml: String::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            survey_rows: vec![2, 5, 9],
            choice_rows: vec![("choices", 2), ("external_choices", 7)],
            entities_row: None,
        };
        assert_eq!(
            c.renumber("already used by survey row 2; see choices row 2 and row 3"),
            "already used by survey row 5; see external_choices row 7 and row 3"
        );
    }
}
