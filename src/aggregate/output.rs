//! The files aggregation writes into the output folder: every name checked
//! to be one safe file name inside it, the CSV tables opened with their
//! header. Owns the paths; what goes in the rows is `tables`'.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use super::error::AggregateError;
use super::tables::{self, Layout, Line};
use super::xlsx::{Book, Feed};
use crate::bundle::verify;

/// A table's file being written, and its rows so far.
pub(super) struct TableFile {
    pub(super) path: PathBuf,
    pub(super) writer: BufWriter<File>,
    pub(super) rows: usize,
    /// The workbook its rows also go to (`--xlsx`), and its sheet there.
    pub(super) sheet: Option<(SyncSender<Feed>, usize)>,
}

impl TableFile {
    /// Writes one row (a CSV line), and feeds it to the workbook.
    pub(super) fn row(&mut self, line: &[u8]) -> Result<(), AggregateError> {
        self.writer
            .write_all(line)
            .map_err(|e| AggregateError::write(&self.path, e))?;
        self.rows += 1;
        if let Some((feed, table)) = &self.sheet
            && feed.send(Feed::Row(*table, line.to_vec())).is_err()
        {
            // The workbook's thread has stopped: its finish says so.
            self.sheet = None;
        }
        Ok(())
    }
}

/// A table's file name is at most this many bytes (what file systems
/// allow for one name).
pub(super) const MAX_FILE_NAME: usize = 255;

/// `out` joined with `parts`, each checked to be one safe file name, so
/// that the path stays inside `out` whatever a bundle says.
pub(super) fn under(out: &Path, parts: &[&str]) -> Result<PathBuf, AggregateError> {
    let mut path = out.to_path_buf();
    for part in parts {
        if let Some(why) = verify::unsafe_component(part, MAX_FILE_NAME) {
            return Err(AggregateError::UnsafeName {
                name: part.to_string(),
                dir: out.to_path_buf(),
                why: why.to_string(),
            });
        }
        path.push(part);
    }
    if path.starts_with(out) {
        Ok(path)
    } else {
        Err(AggregateError::Outside {
            dir: out.to_path_buf(),
        })
    }
}

/// One CSV line (with its line end) from cells.
pub(super) fn csv_line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> Vec<u8> {
    let mut line = Line::default();
    for c in cells {
        line.field(c.as_ref());
    }
    line.end()
}

/// Opens a form's table files (a byte-order mark so Excel reads UTF-8,
/// the header, the HXL row when asked); their rows also go to `book`'s
/// sheets when given.
pub(super) fn open_tables(
    form_id: &str,
    layout: &Layout,
    dir: &Path,
    hxl: bool,
    book: Option<&Book>,
) -> Result<Vec<TableFile>, AggregateError> {
    let mut writers = Vec::new();
    for (t, table) in layout.tables.iter().enumerate() {
        let path = under(dir, &[&table.file_name(form_id)])?;
        let mut file =
            BufWriter::new(File::create(&path).map_err(|e| AggregateError::write(&path, e))?);
        let mut head = "\u{FEFF}".as_bytes().to_vec();
        for row in tables::head_rows(table, hxl) {
            head.extend(csv_line(row));
        }
        file.write_all(&head)
            .map_err(|e| AggregateError::write(&path, e))?;
        writers.push(TableFile {
            path,
            writer: file,
            rows: 0,
            sheet: book.map(|b| (b.feed(), t)),
        });
    }
    Ok(writers)
}
