//! XLSForm workbooks (.xlsx), as form designers write them for Kobo and
//! ODK: read with calamine, turned into the TOML form they stand for
//! (what `fieldkit forms import` writes), and loaded through the TOML
//! loader, so a workbook and its TOML twin make the same model. This
//! module owns what is particular to workbooks: sheets and columns by any
//! case, `label::Language (code)` and `label:Language` headers, the type
//! and column aliases pyxform accepts, formula cells by their cached
//! value, date cells, `or_other`, the features fieldkit refuses or skips
//! with a warning, and errors located by sheet, spreadsheet row and
//! column. Never panics, whatever the bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{Display, Write as _};
use std::io::Cursor;
use std::path::Path;

use calamine::{Data, DataRef, Reader};

use super::limits::{
    self, MAX_CELL_BYTES, MAX_CHOICES, MAX_SHEET_COLUMNS, MAX_SURVEY_ROWS, MAX_WORKBOOK_BYTES,
    MAX_WORKBOOK_CELLS, MAX_WORKBOOK_ENTRIES, MAX_WORKBOOK_PART_BYTES, MAX_WORKBOOK_TEXT_BYTES,
};
use super::load::{Capped, FormError, load_str, read_capped};
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
}

/// Loads a workbook: converted, then checked like any TOML form. Errors
/// and warnings name the sheet, the spreadsheet row and the column.
pub fn load(path: &Path) -> Result<Form, Vec<FormError>> {
    let shown = path.display().to_string();
    let bytes = read_capped(path, MAX_WORKBOOK_BYTES as usize).map_err(|e| {
        let message = match e {
            Capped::TooLarge => format!(
                "the workbook is larger than {}, fieldkit's cap for a workbook; a form is far \
                 smaller: check that this is the right file",
                limits::bytes(MAX_WORKBOOK_BYTES)
            ),
            Capped::Io(e) => format!("cannot read the workbook: {e}. Check the path."),
        };
        vec![error(&shown, "file", None, None, message)]
    })?;
    let converted = convert(&bytes, &shown)?;
    let mut errors = converted.errors.clone();
    match load_str(&converted.toml, path) {
        Ok(mut form) if errors.is_empty() => {
            form.warnings = converted.warnings.clone();
            form.converted = Some(std::sync::Arc::new(converted.toml));
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

/// One sheet: its header (canonical column, language) and its non-empty
/// rows with their spreadsheet row numbers.
struct Sheet {
    name: &'static str,
    /// The spreadsheet row of the header.
    header_row: usize,
    /// The 0-based spreadsheet column of the first column read.
    first_col: usize,
    columns: Vec<Option<(String, Option<String>)>>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Sheet {
    fn get(&self, row: &[String], column: &str) -> Option<String> {
        self.columns
            .iter()
            .position(|c| matches!(c, Some((name, None)) if name == column))
            .and_then(|i| row.get(i))
            .filter(|v| !v.is_empty())
            .cloned()
    }
}

/// Survey columns fieldkit uses, and the other spellings pyxform accepts
/// for them (lowercase).
const SURVEY_ALIASES: &[(&str, &[&str])] = &[
    ("type", &[]),
    ("name", &[]),
    ("label", &["caption"]),
    ("hint", &[]),
    ("required", &["bind::required"]),
    (
        "required_message",
        &["required message", "bind::jr:requiredmsg", "jr:requiredmsg"],
    ),
    ("relevant", &["relevance", "bind::relevant"]),
    ("constraint", &["bind::constraint"]),
    (
        "constraint_message",
        &[
            "constraint message",
            "bind::jr:constraintmsg",
            "jr:constraintmsg",
        ],
    ),
    ("calculation", &["calculate", "bind::calculate"]),
    ("default", &[]),
    ("read_only", &["readonly", "read-only", "bind::readonly"]),
    ("appearance", &["control::appearance"]),
    ("choice_filter", &["choice filter"]),
    ("repeat_count", &["repeat count", "jr:count", "count"]),
    ("hxl", &[]),
];
const CHOICE_ALIASES: &[(&str, &[&str])] =
    &[("list_name", &["list name"]), ("name", &[]), ("label", &[])];
const SETTINGS_ALIASES: &[(&str, &[&str])] = &[
    ("form_title", &["title"]),
    ("form_id", &["id_string"]),
    ("version", &[]),
    ("default_language", &[]),
    ("instance_name", &[]),
    ("style", &[]),
    ("allow_choice_duplicates", &[]),
    ("needs_review", &[]),
];
/// Columns that hold text per language.
const TRANSLATED: &[&str] = &[
    "label",
    "hint",
    "required_message",
    "constraint_message",
    "form_title",
];
/// Columns and settings that only matter to a server or to media, which
/// fieldkit can leave out without changing what the form asks.
const IGNORED_QUIETLY: &[&str] = &["media", "image", "audio", "video", "big-image"];

/// A header cell: (canonical column, language), or None when fieldkit
/// keeps the column under its own name (choices' extra columns).
fn header(raw: &str, aliases: &[(&str, &[&str])], keep_case: bool) -> (String, Option<String>) {
    let raw = raw.trim();
    let lower = raw.to_lowercase();
    let find = |text: &str| {
        // Legacy spellings: `bind:relevant`, `bind::jr:constraintMsg`,
        // `control:appearance`.
        let bare = ["bind::", "bind:", "control::", "control:"]
            .iter()
            .find_map(|p| text.strip_prefix(p))
            .unwrap_or(text);
        aliases
            .iter()
            .find(|(canon, alts)| {
                *canon == text || alts.contains(&text) || *canon == bare || alts.contains(&bare)
            })
            .map(|(canon, _)| canon.to_string())
    };
    if let Some(canon) = find(&lower) {
        return (canon, None);
    }
    // `label::English (en)`, `jr:constraintMsg::Lao`, `label:English`:
    // a language only after a column that is translated. (Sliced from
    // `raw`, where the index was found: lowercasing may change lengths.)
    let base_of = |i: usize| raw[..i].trim().to_lowercase();
    let split = raw.rfind("::").map(|i| (i, 2)).or_else(|| {
        raw.find(':')
            .filter(|&i| TRANSLATED.contains(&base_of(i).as_str()))
            .map(|i| (i, 1))
    });
    if let Some((i, width)) = split
        && let Some(canon) = find(&base_of(i))
        && TRANSLATED.contains(&canon.as_str())
    {
        let lang = raw[i + width..].trim();
        // `label::` and `label::default` are the untranslated column.
        let lang =
            (!lang.is_empty() && !lang.eq_ignore_ascii_case("default")).then(|| lang.to_string());
        return (canon, lang);
    }
    // A choice list's own columns are named in choice filters as written.
    (if keep_case { raw.to_string() } else { lower }, None)
}

/// A cell as text: formulas by their cached value, whole numbers without
/// ".0", dates as ISO dates.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        // Refused where read (Reading::sheet); never a value.
        Data::Error(_) => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Data::DateTime(dt) => serial_date(dt.as_f64(), dt.is_duration()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// An Excel serial date (days since 1899-12-30) as `YYYY-MM-DD`, with the
/// time when it has one.
fn serial_date(serial: f64, duration: bool) -> String {
    if duration || !serial.is_finite() || !(0.0..3_000_000.0).contains(&serial) {
        return number(serial);
    }
    let total = (serial * 86_400.0).round() as i64;
    let (days, seconds) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days - 25_569 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    if serial < 1.0 {
        // A time of day alone.
        return format!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
    }
    if seconds == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }
}

/// Column letters of a 0-based index (0 = A).
fn column_letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

struct Reading {
    path: String,
    errors: Vec<FormError>,
    warnings: Vec<FormError>,
    /// Cells and bytes of cell text read so far, against the caps.
    cells: usize,
    text: usize,
}

impl Reading {
    fn sheet(
        &mut self,
        book: &mut calamine::Xlsx<Cursor<&[u8]>>,
        actual: &str,
        name: &'static str,
        aliases: &[(&str, &[&str])],
    ) -> Option<Sheet> {
        let cells = self.cells(book, actual, name)?;
        let first_row = cells.iter().map(|(p, _)| p.0).min().unwrap_or(0) as usize;
        let first_col = cells.iter().map(|(p, _)| p.1).min().unwrap_or(0) as usize;
        let width = cells
            .iter()
            .map(|(p, _)| p.1 as usize - first_col + 1)
            .max()
            .unwrap_or(0);
        // Rows from the first with a value, each as wide as its last value
        // (the header as wide as the widest).
        let mut grid: BTreeMap<usize, Vec<Data>> = BTreeMap::new();
        for ((row, col), value) in cells {
            let at = grid.entry(row as usize).or_default();
            let c = col as usize - first_col;
            if at.len() <= c {
                at.resize(c + 1, Data::Empty);
            }
            at[c] = value;
        }
        let mut head_cells = grid.remove(&first_row).unwrap_or_default();
        head_cells.resize(width, Data::Empty);
        let head: Vec<Option<(String, Option<String>)>> = head_cells
            .iter()
            .map(|c| {
                let text = cell_text(c);
                (!text.is_empty()).then(|| header(&text, aliases, name.ends_with("choices")))
            })
            .collect();
        let mut seen: HashMap<&(String, Option<String>), usize> = HashMap::new();
        for (i, h) in head.iter().enumerate() {
            let Some(h) = h else { continue };
            if let Some(first) = seen.insert(h, i) {
                let shown = match &h.1 {
                    Some(lang) => format!("{}::{lang}", h.0),
                    None => h.0.clone(),
                };
                self.errors.push(error(
                    &self.path,
                    name,
                    Some(first_row + 1),
                    Some(&shown),
                    format!(
                        "the column '{shown}' appears twice (columns {} and {}); keep one",
                        column_letters(first_col + first),
                        column_letters(first_col + i)
                    ),
                ));
            }
        }
        let mut out = Vec::new();
        for (row, values) in grid {
            let at = row + 1;
            for (c, cell) in values.iter().enumerate() {
                if let Data::Error(e) = cell {
                    let column = head
                        .get(c)
                        .cloned()
                        .flatten()
                        .map_or_else(|| column_letters(first_col + c), |h| h.0);
                    self.errors.push(error(
                        &self.path,
                        name,
                        Some(at),
                        Some(&column),
                        format!(
                            "the cell holds a spreadsheet error ({e:?}) instead of a value; fix \
                             the formula in Excel and save again"
                        ),
                    ));
                }
            }
            let cells: Vec<String> = values.iter().map(cell_text).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            out.push((at, cells));
        }
        Some(Sheet {
            name,
            header_row: first_row + 1,
            first_col,
            columns: head,
            rows: out,
        })
    }

    /// The sheet's cells with a value, by (row, column) from 0, within
    /// the workbook caps: a refused sheet gives None and an error.
    fn cells(
        &mut self,
        book: &mut calamine::Xlsx<Cursor<&[u8]>>,
        actual: &str,
        name: &'static str,
    ) -> Option<Vec<((u32, u32), Data)>> {
        let mut reader = match book.worksheet_cells_reader(actual) {
            Ok(r) => r,
            Err(e) => return self.unreadable(name, actual, e),
        };
        let mut cells = Vec::new();
        // Cells of each row up to its last value, as `sheet` lays them out.
        let mut widths: HashMap<u32, u32> = HashMap::new();
        loop {
            let cell = match reader.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => break,
                Err(e) => return self.unreadable(name, actual, e),
            };
            let (row, col) = cell.get_position();
            let text = match cell.get_value() {
                DataRef::Empty => continue,
                DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len(),
                DataRef::SharedString(s) => s.len(),
                _ => 0,
            };
            let at = Some(row as usize + 1);
            let letters = column_letters(col as usize);
            if col >= MAX_SHEET_COLUMNS {
                self.refuse(
                    name,
                    at,
                    Some(&letters),
                    format!(
                        "the sheet '{actual}' has a value in column {letters}, beyond fieldkit's \
                         cap of {MAX_SHEET_COLUMNS} columns; delete the columns after the form's \
                         last one"
                    ),
                );
                return None;
            }
            if text > MAX_CELL_BYTES {
                self.refuse(
                    name,
                    at,
                    Some(&letters),
                    format!(
                        "the cell holds {text} bytes of text, over fieldkit's cap of {} for a \
                         cell; shorten it",
                        limits::bytes(MAX_CELL_BYTES as u64)
                    ),
                );
                return None;
            }
            self.text += text;
            // A cell counts once, and a row as wide as from column A to
            // its last value (what `sheet` lays out, at most).
            let width = widths.entry(row).or_default();
            self.cells += 1 + (col + 1).saturating_sub(*width) as usize;
            *width = (*width).max(col + 1);
            if self.text > MAX_WORKBOOK_TEXT_BYTES || self.cells > MAX_WORKBOOK_CELLS {
                self.refuse(
                    name,
                    at,
                    None,
                    format!(
                        "the workbook holds more than {MAX_WORKBOOK_CELLS} cells or {} of text, \
                         fieldkit's caps for a workbook; a form is far smaller: check that this \
                         is the right file",
                        limits::bytes(MAX_WORKBOOK_TEXT_BYTES as u64)
                    ),
                );
                return None;
            }
            cells.push(((row, col), Data::from(cell.get_value().clone())));
        }
        Some(cells)
    }

    fn unreadable<T>(&mut self, name: &'static str, actual: &str, e: impl Display) -> Option<T> {
        let message = format!("the sheet '{actual}' cannot be read ({e}); save the workbook again");
        self.errors
            .push(error(&self.path, name, None, None, message));
        None
    }

    fn warn(&mut self, sheet: &'static str, row: Option<usize>, column: Option<&str>, m: String) {
        self.warnings.push(error(&self.path, sheet, row, column, m));
    }

    fn refuse(&mut self, sheet: &'static str, row: Option<usize>, column: Option<&str>, m: String) {
        self.errors.push(error(&self.path, sheet, row, column, m));
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
            "survey" | "choices" | "settings" | "external_choices"
        ) {
            r.warn(
                "file",
                None,
                None,
                format!(
                    "the sheet '{n}' is not part of XLSForm as fieldkit runs it{}; it is left out",
                    if lower == "entities" {
                        " (entities are made by the server from submissions)"
                    } else {
                        ""
                    }
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
    let others: Vec<&Sheet> = [&settings, &choices, &external]
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
    })
}

/// Types pyxform accepts under other spellings: `select one from LIST`,
/// `select all that apply LIST or specify other`, `begin group`, `int`,
/// `uri:deviceid`...
fn canonical_type(t: &str) -> String {
    let t = t.trim();
    let t = match t.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("uri:") => &t[4..],
        _ => t,
    };
    let mut words: Vec<&str> = t.split_whitespace().collect();
    // `... or specify other` and `... or other` are or_other.
    let n = words.len();
    let lower_words: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    if n > 3 && lower_words[n - 3..] == ["or", "specify", "other"] {
        words.truncate(n - 3);
        words.push("or_other");
    } else if n > 2 && lower_words[n - 2..] == ["or", "other"] {
        words.truncate(n - 2);
        words.push("or_other");
    }
    // `select_one from LIST`: the legacy "from" (not `select one from
    // file`, which is select_one_from_file).
    if words
        .first()
        .is_some_and(|w| w.to_lowercase().starts_with("select"))
        && let Some(at) = words.iter().position(|w| w.eq_ignore_ascii_case("from"))
        && !words[at + 1..]
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("file"))
        && at + 1 < words.len()
    {
        words.remove(at);
    }
    let t = words.join(" ");
    let lower = t.to_lowercase();
    for (from, to) in [
        ("select one from file ", "select_one_from_file "),
        ("select multiple from file ", "select_multiple_from_file "),
        (
            "select all that apply from file ",
            "select_multiple_from_file ",
        ),
        ("select one external ", "select_one_external "),
        ("select one ", "select_one "),
        ("select1 ", "select_one "),
        ("select all that apply ", "select_multiple "),
        ("select multiple ", "select_multiple "),
    ] {
        if lower.starts_with(from) {
            return format!("{to}{}", &t[from.len()..]);
        }
    }
    if lower.starts_with("select_one ")
        || lower.starts_with("select_multiple ")
        || lower.starts_with("select_one_from_file ")
        || lower.starts_with("select_multiple_from_file ")
        || lower.starts_with("select_one_external ")
    {
        let (kw, rest) = t.split_once(' ').unwrap_or((&t, ""));
        return format!("{} {rest}", kw.to_lowercase());
    }
    match lower.as_str() {
        "begin group" => "begin_group",
        "end group" => "end_group",
        "begin repeat" => "begin_repeat",
        "end repeat" => "end_repeat",
        "int" => "integer",
        "string" => "text",
        "trigger" => "acknowledge",
        "imei" => "deviceid",
        "phone number" => "phonenumber",
        "gps" | "location" => "geopoint",
        "datetime" => "datetime",
        "photo" => "image",
        _ => return lower,
    }
    .to_string()
}

/// What fieldkit does with a type it does not run.
enum Unsupported {
    /// Metadata a server fills; fieldkit leaves it out.
    Metadata,
    /// A question fieldkit cannot ask (media, drawing on a map...): left
    /// out when nothing needs it, refused otherwise.
    Question(&'static str),
    /// Never runs here.
    Refused(&'static str),
}

fn unsupported(t: &str) -> Option<Unsupported> {
    let first = t.split_whitespace().next().unwrap_or("");
    if first == "osm" {
        return Some(Unsupported::Question("OpenStreetMap tags"));
    }
    Some(match t {
        "phonenumber"
        | "email"
        | "simserial"
        | "subscriberid"
        | "audit"
        | "start-geopoint"
        | "background-audio"
        | "background-geopoint" => Unsupported::Metadata,
        "image" => Unsupported::Question("photos"),
        "audio" => Unsupported::Question("audio recordings"),
        "video" => Unsupported::Question("video"),
        "file" => Unsupported::Question("file attachments"),
        "geotrace" => Unsupported::Question("geotrace (lines drawn on a map)"),
        "geoshape" => Unsupported::Question("geoshape (areas drawn on a map)"),
        "rank" => Unsupported::Question("rank questions"),
        "xml-external" | "csv-external" => Unsupported::Question("external instances"),
        _ if t.starts_with("begin loop")
            || t.starts_with("begin_loop")
            || t == "end loop"
            || t == "end_loop" =>
        {
            Unsupported::Refused("loops over a choice list (begin_loop)")
        }
        _ => return None,
    })
}

/// The TOML being written, with where each entry came from.
#[derive(Default)]
struct Writer {
    out: String,
    /// external_choices lists written under another name, because the
    /// choices sheet has a list of the same name.
    renamed: BTreeMap<String, String>,
    survey_rows: Vec<usize>,
    choice_rows: Vec<(&'static str, usize)>,
}

/// A TOML string, as the toml crate writes it.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key: bare when it can be.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

impl Writer {
    /// Writes a row's cells: plain columns as `k = "v"`, translated ones
    /// as `k = { "Language" = "v", ... }` (an untranslated cell next to
    /// translated ones is the language "default", as pyxform names it).
    fn cells(
        &mut self,
        sheet: &Sheet,
        cells: &[String],
        skip: &[&str],
        extra: &[(String, String)],
    ) {
        let mut plain: Vec<(String, String)> = Vec::new();
        let mut texts: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for (i, col) in sheet.columns.iter().enumerate() {
            let Some((name, lang)) = col else { continue };
            let Some(value) = cells.get(i).filter(|v| !v.is_empty()) else {
                continue;
            };
            if skip.contains(&name.as_str()) {
                continue;
            }
            let translated = lang.is_some() || TRANSLATED.contains(&name.as_str());
            if !translated {
                plain.push((name.clone(), value.clone()));
                continue;
            }
            let lang = lang.clone().unwrap_or_default();
            match texts.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => v.push((lang, value.clone())),
                None => texts.push((name.clone(), vec![(lang, value.clone())])),
            }
        }
        for (k, v) in extra.iter().chain(&plain) {
            let _ = writeln!(self.out, "{} = {}", key(k), quote(v));
        }
        for (name, values) in texts {
            if let [(lang, v)] = values.as_slice()
                && lang.is_empty()
            {
                let _ = writeln!(self.out, "{} = {}", key(&name), quote(v));
                continue;
            }
            let inner: Vec<String> = values
                .iter()
                .map(|(lang, v)| {
                    let lang = if lang.is_empty() { "default" } else { lang };
                    format!("{} = {}", quote(lang), quote(v))
                })
                .collect();
            let _ = writeln!(self.out, "{} = {{ {} }}", key(&name), inner.join(", "));
        }
    }

    fn settings(
        &mut self,
        r: &mut Reading,
        sheet: Option<&Sheet>,
        allow_duplicates: bool,
        stem: &str,
    ) {
        let empty = (0, Vec::new());
        let no_sheet = Sheet {
            name: "settings",
            header_row: 1,
            first_col: 0,
            columns: Vec::new(),
            rows: Vec::new(),
        };
        let sheet = sheet.unwrap_or(&no_sheet);
        let (row, cells) = sheet.rows.first().unwrap_or(&empty);
        let mut left_out = Vec::new();
        for (i, col) in sheet.columns.iter().enumerate() {
            let Some((name, _)) = col else { continue };
            if cells.get(i).is_none_or(|v| v.is_empty()) {
                continue;
            }
            if SETTINGS_ALIASES.iter().any(|(c, _)| c == name) {
                continue;
            }
            left_out.push(name.clone());
            r.warn(
                "settings",
                Some(*row),
                Some(name),
                format!(
                    "the setting '{name}' is for servers and other tools; fieldkit leaves it out"
                ),
            );
        }
        self.out.push_str("[settings]\n");
        let mut skip: Vec<&str> = left_out.iter().map(String::as_str).collect();
        skip.push("needs_review");
        let mut extra = Vec::new();
        // The form keeps its id whatever its TOML twin is called.
        let id = sheet
            .get(cells, "form_id")
            .unwrap_or_else(|| stem.to_string());
        let clean = if super::load::valid_name(&id) {
            id.clone()
        } else {
            let mut clean: String = id
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if !clean.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                clean.insert_str(0, "form_");
            }
            r.warn(
                "settings",
                (*row > 0).then_some(*row),
                Some("form_id"),
                format!("the form_id '{id}' is used as '{clean}' (letters, digits, '_', '-', '.')"),
            );
            clean
        };
        skip.push("form_id");
        extra.push(("form_id".to_string(), clean));
        if allow_duplicates && sheet.get(cells, "allow_choice_duplicates").is_none() {
            r.warn(
                "external_choices",
                None,
                Some("name"),
                "external_choices repeats choice names (a cascade): allow_choice_duplicates is \
                 set, for the choices sheet too"
                    .into(),
            );
            extra.push(("allow_choice_duplicates".into(), "yes".into()));
        }
        self.cells(sheet, cells, &skip, &extra);
        // fieldkit's own setting: languages still to be reviewed, comma-separated.
        if let Some(langs) = sheet.get(cells, "needs_review") {
            let list: Vec<String> = langs
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(quote)
                .collect();
            let _ = writeln!(self.out, "needs_review = [{}]", list.join(", "));
        }
        if sheet.rows.len() > 1 {
            r.warn(
                "settings",
                Some(sheet.rows[1].0),
                None,
                "only the first row of settings counts; the rows below it are left out".into(),
            );
        }
    }

    fn survey(
        &mut self,
        r: &mut Reading,
        sheet: &Sheet,
        other_lists: &mut BTreeMap<String, usize>,
        languages: &mut BTreeSet<String>,
        root: &str,
        others: &[&Sheet],
    ) {
        // Columns fieldkit does not use: one warning per column.
        let mut unused = Vec::new();
        for (i, col) in sheet.columns.iter().enumerate() {
            let Some((name, lang)) = col else {
                if sheet
                    .rows
                    .iter()
                    .any(|(_, c)| c.get(i).is_some_and(|v| !v.is_empty()))
                {
                    r.warn(
                        "survey",
                        Some(sheet.header_row),
                        Some(&column_letters(sheet.first_col + i)),
                        "a column without a header holds values; it is left out".into(),
                    );
                }
                continue;
            };
            if let Some(l) = lang {
                languages.insert(l.clone());
            }
            if !SURVEY_ALIASES.iter().any(|(c, _)| c == name) && !unused.contains(name) {
                unused.push(name.clone());
                let why = if IGNORED_QUIETLY.iter().any(|m| name.starts_with(m)) {
                    "media are not shown in a terminal"
                } else {
                    "fieldkit does not use it"
                };
                r.warn(
                    "survey",
                    Some(sheet.header_row),
                    Some(name),
                    format!("the column '{name}' is left out: {why}"),
                );
            }
        }
        let skip: Vec<&str> = unused.iter().map(String::as_str).collect();
        // Names that other rows refer to: a question they need cannot be
        // left out.
        // (Also what the settings and the choice labels show.)
        let referenced: BTreeSet<String> = sheet
            .rows
            .iter()
            .chain(others.iter().flat_map(|s| s.rows.iter()))
            .flat_map(|(_, cells)| cells.iter())
            .flat_map(|c| refs(c))
            .collect();
        for (row, cells) in &sheet.rows {
            let raw_type = sheet.get(cells, "type").unwrap_or_default();
            let name = sheet.get(cells, "name").unwrap_or_default();
            let mut t = canonical_type(&raw_type);
            let mut or_other = false;
            if let Some(stripped) = t
                .len()
                .checked_sub(" or_other".len())
                .filter(|&at| t.is_char_boundary(at) && t[at..].eq_ignore_ascii_case(" or_other"))
                .map(|at| &t[..at])
            {
                t = stripped.trim().to_string();
                or_other = true;
            }
            if let Some(rest) = t.strip_prefix("select_one_external ") {
                let list = rest.trim();
                t = format!("select_one {}", self.renamed.get(list).map_or(list, |l| l));
            }
            if t.is_empty() && name.is_empty() {
                // Notes to the designer in other columns: pyxform skips
                // rows without a type and a name too.
                r.warn(
                    "survey",
                    Some(*row),
                    None,
                    "a row with neither type nor name is left out".into(),
                );
                continue;
            }
            if name == root {
                r.refuse(
                    "survey",
                    Some(*row),
                    Some("name"),
                    format!(
                        "'{name}' is the name of the form's root (XLSForm's default 'data', or \
                         the settings' name); give the row another name"
                    ),
                );
                continue;
            }
            if let Some(u) = unsupported(&t) {
                let required = sheet.get(cells, "required").is_some_and(|v| {
                    matches!(v.to_lowercase().as_str(), "yes" | "true" | "true()")
                });
                match u {
                    Unsupported::Metadata if referenced.contains(&name) => {
                        // Other rows show it: kept, always empty.
                        r.warn(
                            "survey",
                            Some(*row),
                            Some("type"),
                            format!(
                                "'{t}' ({name}) is metadata fieldkit does not collect; it stays \
                                 empty"
                            ),
                        );
                        self.out.push_str("\n[[survey]]\n");
                        self.survey_rows.push(*row);
                        let _ = writeln!(
                            self.out,
                            "type = \"calculate\"\nname = {}\ncalculation = \"''\"",
                            quote(&name)
                        );
                    }
                    Unsupported::Metadata => r.warn(
                        "survey",
                        Some(*row),
                        Some("type"),
                        format!("'{t}' ({name}) is metadata fieldkit does not collect; left out"),
                    ),
                    Unsupported::Question(what) if !required && !referenced.contains(&name) => r
                        .warn(
                            "survey",
                            Some(*row),
                            Some("type"),
                            format!(
                                "'{name}' asks for {what}, which fieldkit does not support; the \
                                 question is left out (nothing else in the form needs it)"
                            ),
                        ),
                    Unsupported::Question(what) | Unsupported::Refused(what) => r.refuse(
                        "survey",
                        Some(*row),
                        Some("type"),
                        format!(
                            "'{}' uses {what}, which fieldkit does not support{}; change or \
                             remove the question",
                            if name.is_empty() { &raw_type } else { &name },
                            if required || referenced.contains(&name) {
                                ", and the form needs it (it is required or other rows refer to it)"
                            } else {
                                ""
                            }
                        ),
                    ),
                }
                continue;
            }
            let mut extra = Vec::new();
            let mut skip_here = skip.clone();
            if t == "range" {
                // ODK's defaults: start=1 end=10 step=1. The bounds become
                // a constraint, so what can be typed is what the slider offers.
                let params = sheet.get(cells, "parameters").unwrap_or_default();
                let param = |key: &str, default: f64| {
                    params
                        .split_whitespace()
                        .filter_map(|p| p.split_once('='))
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                        .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                        .unwrap_or(default)
                };
                let (start, end, step) =
                    (param("start", 1.0), param("end", 10.0), param("step", 1.0));
                let (low, high) = (start.min(end), start.max(end));
                let whole = [start, end, step].iter().all(|x| x.fract() == 0.0);
                t = if whole { "integer" } else { "decimal" }.into();
                let bounds = format!(". >= {} and . <= {}", number(low), number(high));
                let constraint = match sheet.get(cells, "constraint") {
                    Some(c) => format!("({c}) and {bounds}"),
                    None => bounds,
                };
                skip_here.push("constraint");
                extra.push(("constraint".to_string(), constraint));
                r.warn(
                    "survey",
                    Some(*row),
                    Some("type"),
                    format!(
                        "'{name}' is a range: asked as {} typed in, from {} to {}",
                        if whole { "a whole number" } else { "a number" },
                        number(low),
                        number(high)
                    ),
                );
            }
            if t == "barcode" {
                t = "text".into();
                r.warn(
                    "survey",
                    Some(*row),
                    Some("type"),
                    format!("'{name}' is a barcode: asked as text typed in (there is no camera)"),
                );
            }
            if or_other {
                match t
                    .strip_prefix("select_one ")
                    .or(t.strip_prefix("select_multiple "))
                {
                    Some(list) => {
                        other_lists.entry(list.trim().to_string()).or_insert(*row);
                    }
                    None => r.refuse(
                        "survey",
                        Some(*row),
                        Some("type"),
                        format!("or_other works with select_one and select_multiple, not '{t}'"),
                    ),
                }
            }
            if !t.is_empty() {
                extra.push(("type".to_string(), t.clone()));
            }
            skip_here.push("type");
            self.lenient(r, sheet, *row, cells, &t, &name, &mut skip_here, &mut extra);
            self.out.push_str("\n[[survey]]\n");
            self.survey_rows.push(*row);
            self.cells(sheet, cells, &skip_here, &extra);
            if or_other && !name.is_empty() {
                // As pyxform does: a text question for the other answer.
                self.out.push_str("\n[[survey]]\n");
                self.survey_rows.push(*row);
                let _ = writeln!(
                    self.out,
                    "type = \"text\"\nname = {}\nlabel = {}\nrelevant = {}",
                    quote(&format!("{name}_other")),
                    in_every(languages, "Specify other."),
                    quote(&format!("selected(${{{name}}}, 'other')"))
                );
            }
        }
    }

    /// What Kobo and ODK let pass and fieldkit's checks would refuse,
    /// though it does not change what is asked: left out with a warning.
    #[allow(clippy::too_many_arguments)]
    fn lenient(
        &mut self,
        r: &mut Reading,
        sheet: &Sheet,
        row: usize,
        cells: &[String],
        t: &str,
        name: &str,
        skip: &mut Vec<&str>,
        extra: &mut Vec<(String, String)>,
    ) {
        // Appearances for other apps' widgets (map, signature...).
        if let Some(a) = sheet.get(cells, "appearance") {
            let (known, unknown): (Vec<&str>, Vec<&str>) = a
                .split_whitespace()
                .partition(|w| super::load::APPEARANCES.contains(&w.to_lowercase().as_str()));
            if !unknown.is_empty() {
                r.warn(
                    "survey",
                    Some(row),
                    Some("appearance"),
                    format!(
                        "{name}: the appearance '{}' is for other apps; fieldkit leaves it out",
                        unknown.join(" ")
                    ),
                );
            }
            let words = known.join(" ").to_lowercase();
            if words != a {
                skip.push("appearance");
                if !words.is_empty() {
                    extra.push(("appearance".into(), words));
                }
            }
        }
        let answered = !matches!(
            t,
            "note" | "begin_group" | "end_group" | "begin_repeat" | "end_repeat"
        );
        if !answered && sheet.get(cells, "required").is_some() {
            r.warn(
                "survey",
                Some(row),
                Some("required"),
                format!("{name}: 'required' means nothing on a {t}; left out"),
            );
            skip.push("required");
        }
        if !t.starts_with("select") && sheet.get(cells, "choice_filter").is_some() {
            r.warn(
                "survey",
                Some(row),
                Some("choice_filter"),
                format!("{name}: a choice_filter means nothing on a {t}; left out"),
            );
            skip.push("choice_filter");
        }
        // A question shown by its picture alone: its name stands in.
        let filled = |want: &dyn Fn(&str) -> bool| {
            sheet.columns.iter().enumerate().any(|(i, c)| {
                matches!(c, Some((n, _)) if want(n)) && cells.get(i).is_some_and(|v| !v.is_empty())
            })
        };
        let has_label = filled(&|n| n == "label");
        let has_media = filled(&|n| IGNORED_QUIETLY.iter().any(|m| n.starts_with(m)));
        if !has_label && has_media && !name.is_empty() {
            r.warn(
                "survey",
                Some(row),
                Some("label"),
                format!("{name}: shown by a picture only; its name is its label here"),
            );
            extra.push(("label".into(), name.to_string()));
        }
    }

    fn choices(
        &mut self,
        r: &mut Reading,
        sheet: &Sheet,
        other_lists: &mut BTreeMap<String, usize>,
    ) {
        let mut media = Vec::new();
        for col in sheet.columns.iter().flatten() {
            if IGNORED_QUIETLY.iter().any(|m| col.0.starts_with(m)) && !media.contains(&col.0) {
                media.push(col.0.clone());
                r.warn(
                    sheet.name,
                    Some(sheet.header_row),
                    Some(&col.0),
                    format!(
                        "the column '{}' is left out: media are not shown in a terminal",
                        col.0
                    ),
                );
            }
        }
        let mut skip: Vec<&str> = media.iter().map(String::as_str).collect();
        skip.push("list_name");
        for (row, cells) in &sheet.rows {
            let (Some(list), Some(name)) =
                (sheet.get(cells, "list_name"), sheet.get(cells, "name"))
            else {
                r.warn(
                    sheet.name,
                    Some(*row),
                    None,
                    "a choice without list_name or name is left out".into(),
                );
                continue;
            };
            let list = match self.renamed.get(&list) {
                Some(other) if sheet.name == "external_choices" => other.clone(),
                _ => list,
            };
            if name == "other" {
                // The list has its own 'other': or_other adds nothing.
                other_lists.remove(&list);
            }
            self.out.push_str("\n[[choices]]\n");
            self.choice_rows.push((sheet.name, *row));
            self.cells(sheet, cells, &skip, &[("list_name".into(), list)]);
        }
    }

    /// The 'other' choice or_other adds to a list (located at the first
    /// select that asked for it).
    fn other_choice(&mut self, list: &str, row: usize, languages: &BTreeSet<String>) {
        self.out.push_str("\n[[choices]]\n");
        self.choice_rows.push(("survey", row));
        let label = in_every(languages, "Other");
        let _ = writeln!(
            self.out,
            "list_name = {}\nname = \"other\"\nlabel = {label}",
            quote(list)
        );
    }
}

/// A text in every language of the form (pyxform's English words).
fn in_every(languages: &BTreeSet<String>, text: &str) -> String {
    if languages.is_empty() {
        return quote(text);
    }
    let inner: Vec<String> = languages
        .iter()
        .map(|l| format!("{} = {}", quote(l), quote(text)))
        .collect();
    format!("{{ {} }}", inner.join(", "))
}

/// The `${name}` references in a cell.
fn refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find('}') {
            out.push(rest[..end].trim().to_string());
            rest = &rest[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
        };
        assert_eq!(
            c.renumber("already used by survey row 2; see choices row 2 and row 3"),
            "already used by survey row 5; see external_choices row 7 and row 3"
        );
    }
}
