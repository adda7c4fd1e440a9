//! The XLSX workbooks: one per form, a sheet per table and a sheet of the
//! choice lists. Each workbook is written on its own thread while records
//! are decrypted and merged, fed the very CSV lines the merge writes (its
//! `'` guard removed), so that it is done when the tables are, not after
//! them; it is saved only when every row is in. A cell's type comes from its column, that is from the field's
//! type, never from the text: integer and decimal fields (and geopoints'
//! split columns, and select_multiple 0/1 columns) are numbers when the
//! answer is a valid number of that type; everything else is text exactly
//! as typed (phone numbers, `0012`, `Nan`, `1e3` in a text field, dates as
//! their ISO text). Sheet names follow Excel's rules whatever the form
//! says, and what cannot go into a workbook is a problem said in the
//! summary: the CSV tables have it all.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

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

/// What the merge sends a workbook being written.
pub(super) enum Feed {
    /// A row of the table at this index, as the CSV line written.
    Row(usize, Vec<u8>),
    /// Every row is in: add the choices sheet and save. A workbook whose
    /// feed ends without this (aggregation stopped) is not saved.
    Finish,
}

/// Rows waiting for a workbook's thread: bounds memory when it falls
/// behind the merge (which then waits).
const FEED_QUEUE: usize = 1024;

/// A form's workbook, written on its own thread while records are
/// decrypted and merged, from the same rows as the CSV tables.
pub(super) struct Book {
    feed: SyncSender<Feed>,
    thread: JoinHandle<Vec<String>>,
}

impl Book {
    /// Starts the workbook `path` (checked to be inside the output
    /// folder): a sheet per table of `layout` with its header, then the
    /// rows as they are fed, and the choice lists of `latest` (labels in
    /// `labels`, then one column per language).
    pub(super) fn start(
        path: PathBuf,
        form_id: &str,
        layout: &Layout,
        latest: Option<Arc<Form>>,
        labels: Option<String>,
        hxl: bool,
    ) -> Book {
        let (feed, rows) = std::sync::mpsc::sync_channel(FEED_QUEUE);
        let form_id = form_id.to_string();
        let tables = layout.tables.clone();
        let thread = std::thread::spawn(move || {
            let mut book = Writing::new(&form_id, &tables, hxl, MAX_ROWS);
            for feed in rows {
                match feed {
                    Feed::Row(table, line) => book.row(table, &line),
                    Feed::Finish => {
                        return book.finish(&path, latest.as_deref(), labels.as_deref());
                    }
                }
            }
            Vec::new()
        });
        Book { feed, thread }
    }

    /// Where the rows of this workbook go.
    pub(super) fn feed(&self) -> SyncSender<Feed> {
        self.feed.clone()
    }

    /// Every row is in: saves the workbook; what could not be written,
    /// one line each (the CSV tables have it all).
    pub(super) fn finish(self) -> Vec<String> {
        let said_finish = self.feed.send(Feed::Finish).is_ok();
        drop(self.feed);
        match self.thread.join() {
            Ok(problems) if said_finish => problems,
            _ => vec![
                "a workbook could not be written (its thread stopped); the CSV tables are complete"
                    .into(),
            ],
        }
    }
}

/// A sheet being filled: its types and where it stands.
struct Sheet {
    name: String,
    csv: String,
    types: Vec<Cell>,
    /// Rows written so far, header included, and the most it takes.
    rows: usize,
    max_rows: usize,
    /// Cells left empty for being over Excel's size.
    too_long: Vec<String>,
    /// Why the rest of the sheet is left out, once said.
    stopped: bool,
}

/// A workbook on its thread.
struct Writing {
    book: Workbook,
    book_name: String,
    choices_name: String,
    sheets: Vec<Sheet>,
    problems: Vec<String>,
    record: csv::ByteRecord,
}

impl Writing {
    fn new(form_id: &str, tables: &[Table], hxl: bool, max_rows: usize) -> Writing {
        let book_name = format!("{form_id}.xlsx");
        let mut names = sheet_names(tables);
        let choices_name = names.pop().unwrap_or_else(|| "choices".into());
        let mut book = Workbook::new();
        let mut problems = Vec::new();
        let mut sheets = Vec::new();
        for (t, (table, name)) in tables.iter().zip(names).enumerate() {
            let added = match book.add_worksheet_with_constant_memory() {
                Ok(ws) => {
                    if let Err(e) = ws.set_name(&name) {
                        problems.push(format!("{book_name}: cannot name a sheet {name:?}: {e}"));
                    }
                    true
                }
                Err(e) => {
                    problems.push(format!("{book_name}: cannot add the sheet {name}: {e}"));
                    false
                }
            };
            let mut sheet = Sheet {
                name,
                csv: table.file_name(form_id),
                types: cells(table),
                rows: 0,
                max_rows,
                too_long: Vec::new(),
                stopped: !added,
            };
            for head in super::tables::head_rows(table, hxl) {
                let cells = head.iter().map(|c| c.as_str());
                write(
                    &mut book,
                    &book_name,
                    &mut problems,
                    t,
                    &mut sheet,
                    cells,
                    true,
                );
            }
            sheets.push(sheet);
        }
        Writing {
            book,
            book_name,
            choices_name,
            sheets,
            problems,
            record: csv::ByteRecord::new(),
        }
    }

    /// A row as the CSV line written for it.
    fn row(&mut self, t: usize, line: &[u8]) {
        let Writing {
            book,
            book_name,
            sheets,
            problems,
            record,
            ..
        } = self;
        let Some(sheet) = sheets.get_mut(t) else {
            return;
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line);
        match reader.read_byte_record(record) {
            Ok(true) => {
                // Our own CSV of UTF-8 text: a cell that is not UTF-8
                // cannot occur; were it to, it is written empty.
                let cells = record.iter().map(|c| std::str::from_utf8(c).unwrap_or(""));
                write(book, book_name, problems, t, sheet, cells, false);
            }
            Ok(false) => {}
            Err(e) => {
                sheet.stopped = true;
                problems.push(format!(
                    "{book_name}, sheet {}: cannot read a row: {e} (the CSV {} has the whole \
                     table)",
                    sheet.name, sheet.csv
                ));
            }
        }
    }

    /// The choices sheet, the cells said too long, and the file saved.
    fn finish(mut self, path: &Path, latest: Option<&Form>, labels: Option<&str>) -> Vec<String> {
        for sheet in &self.sheets {
            if let Some(first) = sheet.too_long.first() {
                self.problems.push(format!(
                    "{}, sheet {}: {} cell(s) longer than the {MAX_CELL} characters a cell \
                     holds are left empty (first at {first}) (the CSV {} has the whole table)",
                    self.book_name,
                    sheet.name,
                    sheet.too_long.len(),
                    sheet.csv
                ));
            }
        }
        let book_name = self.book_name.clone();
        if let Some(form) = latest {
            let name = self.choices_name.as_str();
            let result = self
                .book
                .add_worksheet_with_constant_memory()
                .and_then(|sheet| {
                    sheet.set_name(name)?;
                    choices(sheet, form, labels)
                });
            if let Err(e) = result {
                self.problems
                    .push(format!("{book_name}: cannot write the sheet {name}: {e}"));
            }
        }
        if let Err(e) = self.book.save(path) {
            // No half-written workbook left to be opened by mistake.
            let _ = std::fs::remove_file(path);
            self.problems.push(format!(
                "cannot write {book_name}: {e}; the CSV tables are complete"
            ));
        }
        self.problems
    }
}

/// Writes one row of cells to sheet `t`: text in the header, each cell
/// as its column's type says below it. A cell over Excel's size is left
/// empty and said at the end; rows past Excel's last are left out and
/// said; a cell that cannot be written ends the sheet, said.
fn write<'v>(
    book: &mut Workbook,
    book_name: &str,
    problems: &mut Vec<String>,
    t: usize,
    sheet: &mut Sheet,
    values: impl Iterator<Item = &'v str>,
    head: bool,
) {
    if sheet.stopped {
        return;
    }
    let mut stop = |sheet: &mut Sheet, why: String| {
        sheet.stopped = true;
        problems.push(format!(
            "{book_name}, sheet {}: {why} (the CSV {} has the whole table)",
            sheet.name, sheet.csv
        ));
    };
    if sheet.rows >= sheet.max_rows {
        let why = format!(
            "more rows than the {} a sheet holds; rows from {} on are left out",
            sheet.max_rows,
            sheet.rows + 1
        );
        return stop(sheet, why);
    }
    let Ok(ws) = book.worksheet_from_index(t) else {
        return stop(sheet, "the sheet is missing".into());
    };
    let row = sheet.rows as u32;
    for (c, value) in values.enumerate() {
        let value = if head { value } else { unguard(value) };
        if value.is_empty() {
            continue;
        }
        let kind = if head {
            Cell::Text
        } else {
            sheet.types.get(c).copied().unwrap_or(Cell::Text)
        };
        let result = match kind.number(value) {
            Some(n) => ws.write_number(row, c as u16, n).map(|_| ()),
            None if utf16_len(value) > MAX_CELL => {
                sheet
                    .too_long
                    .push(format!("row {} column {}", row + 1, c + 1));
                Ok(())
            }
            None => ws.write_string(row, c as u16, value).map(|_| ()),
        };
        if let Err(e) = result {
            return stop(sheet, format!("row {} column {}: {e}", row + 1, c + 1));
        }
    }
    sheet.rows += 1;
}

/// The types of a table's cells: its key columns, then its columns.
fn cells(table: &Table) -> Vec<Cell> {
    table
        .keys()
        .iter()
        .map(|k| {
            if *k == "index" || *k == "version" {
                Cell::Integer
            } else {
                Cell::Text
            }
        })
        .chain(table.columns.iter().map(|c| c.cell))
        .collect()
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

#[cfg(test)]
mod tests {
    //! The workbook fed row by row, read back with calamine.

    use std::path::Path;
    use std::sync::Arc;

    use calamine::{Data, Reader};

    use super::{Book, Feed, Writing};
    use crate::aggregate::output::csv_line;
    use crate::aggregate::tables::{Layout, META};

    const FORM: &str = r#"
[settings]
form_id = "w"
version = "1"
form_title = "W"

[[survey]]
type = "integer"
name = "count"
label = "Count"

[[survey]]
type = "text"
name = "phone"
label = "Phone"
"#;

    fn layout() -> (Layout, Arc<crate::form::Form>) {
        let form = Arc::new(crate::form::load_str(FORM, Path::new("w.toml")).unwrap());
        let mut layout = Layout::default();
        layout.add_version(&form, None);
        (layout, form)
    }

    /// A row of the main table: the meta columns, then count and phone.
    fn line(id: &str, count: &str, phone: &str) -> Vec<u8> {
        let mut cells: Vec<String> = META.iter().map(|_| String::new()).collect();
        cells[0] = id.into();
        cells.push(count.into());
        cells.push(phone.into());
        csv_line(cells)
    }

    fn sheet(path: &Path) -> Vec<Vec<Data>> {
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
        let range = book.worksheet_range("records").unwrap();
        range.rows().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn rows_fed_as_they_come_are_typed_by_their_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.xlsx");
        let (layout, form) = layout();
        let book = Book::start(path.clone(), "w", &layout, Some(form), None, false);
        let feed = book.feed();
        for row in [
            line("a", "12", "0012"),
            line("b", "", "=1+1"),
            line("c", "-0", "1e3"),
        ] {
            feed.send(Feed::Row(0, row)).unwrap();
        }
        drop(feed);
        assert_eq!(book.finish(), Vec::<String>::new());
        let rows = sheet(&path);
        let at = META.len();
        assert_eq!(rows[0][0], Data::String("record_id".into()));
        assert_eq!(rows[0][at], Data::String("count".into()));
        assert_eq!(rows[1][at], Data::Float(12.0));
        assert_eq!(rows[1][at + 1], Data::String("0012".into()));
        assert_eq!(rows[2][at], Data::Empty);
        assert_eq!(rows[2][at + 1], Data::String("=1+1".into()));
        assert_eq!(rows[3][at + 1], Data::String("1e3".into()));
        assert_eq!(rows.len(), 4);
    }

    #[test]
    fn cells_too_long_are_left_empty_and_rows_past_the_cap_left_out_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.xlsx");
        let (layout, form) = layout();
        // The header and two rows fit.
        let mut book = Writing::new("w", &layout.tables, false, 3);
        book.row(0, &line("a", "1", &"x".repeat(super::MAX_CELL + 1)));
        book.row(0, &line("b", "2", "short"));
        book.row(0, &line("c", "3", "left out"));
        let problems = book.finish(&path, Some(&form), None);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("rows from 4 on are left out"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("1 cell(s) longer than"),
            "{problems:?}"
        );
        // The phone column: after the key columns and count.
        let column = format!("row 2 column {}", META.len() + 2);
        assert!(problems[1].contains(&column), "{problems:?}");
        let rows = sheet(&path);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1][META.len() + 1], Data::Empty);
        assert_eq!(rows[2][META.len() + 1], Data::String("short".into()));
    }

    #[test]
    fn a_workbook_whose_aggregation_stopped_is_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.xlsx");
        let (layout, form) = layout();
        let book = Book::start(path.clone(), "w", &layout, Some(form), None, false);
        book.feed().send(Feed::Row(0, line("a", "1", "2"))).unwrap();
        // The merge stopped: every feed dropped, no Finish.
        let Book { feed, thread } = book;
        drop(feed);
        assert_eq!(thread.join().unwrap(), Vec::<String>::new());
        assert!(!path.exists());
    }
}
