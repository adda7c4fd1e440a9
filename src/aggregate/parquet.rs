//! Parquet tables (`aggregate --parquet DIR`): the same tables as the CSV
//! files, for DuckDB, Spark, Polars, pandas and R (arrow), laid out by
//! form and round the way they read a partitioned dataset
//! (`DIR/form_id=<form>/round=<round>/<table>.parquet`, hive style; the
//! partition columns are in the path, not in the files). A round's name
//! is typed by a data manager: every ASCII character but letters, digits,
//! `-` and `_` is written `%XX` (the hive escaping pyarrow, DuckDB and
//! Spark decode), so the name is one safe folder name; records without a
//! round (made without a pack) are in `round=__HIVE_DEFAULT_PARTITION__`,
//! which they read as null. Each table is read back from its CSV file once
//! it is written (two passes over the file; every row, main table or
//! repeat, carries its record's round, so rows go to their partition as
//! they stream, with no lookup of their record) and typed from its column,
//! that is from the field's type, never from the text: an integer field is
//! INT64, a decimal field (and a geopoint's numbers) DOUBLE, a
//! select_multiple's 0/1 column INT32, when every answer in the column is a
//! valid number of that type (as the XLSX does; one type for the column in
//! every partition, so readers merge them); anything else, and every text
//! field, is a UTF-8 string exactly as typed (the CSV's `'` guard
//! removed). An empty cell is null. Memory is one row group's cells across
//! the partitions being written, never the table. Only data managers need
//! this: it is behind the `parquet` cargo feature (on by default; the
//! README gives the binary's size with and without it).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, ConvertedType, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use super::error::AggregateError;
use super::output::{MAX_FILE_NAME, under};
use super::tables::{Cell, Table, unguard};

/// Bytes of cells buffered before a row group is written: what the
/// conversion holds in memory, whatever the table's size and however
/// many rounds it has.
const ROW_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// What a folder name too long is cut to, before its round's hash.
const SHORT_FOLDER: usize = 200;

/// Partitions written at once (files open) in one pass over a table's
/// CSV; a table of more rounds takes a pass per this many.
const OPEN_PARTITIONS: usize = 64;

/// Key columns that hold whole numbers (a repeat row's index; a record's
/// version).
const INTEGER_KEYS: &[&str] = &["index", "version"];

/// The column the tables' rows are partitioned by, and the folder of the
/// rows without one (hive's name for a null partition).
pub const ROUND: &str = "round";
pub const NO_ROUND: &str = "__HIVE_DEFAULT_PARTITION__";

/// How a column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int64,
    Double,
    Int32,
}

/// What one table came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Its files, one per round (partition), and the rows in each.
    pub files: Vec<(PathBuf, usize)>,
    /// Number columns written as text because an answer in them is not a
    /// number of their type (none for tables fieldkit wrote itself).
    pub as_text: Vec<String>,
    /// Rounds whose folder name was cut (too long), and the folder.
    pub shortened: Vec<(String, String)>,
}

/// The folder of a round's rows: `round=<round>`, every ASCII character
/// but letters, digits, `-` and `_` written `%XX` (as hive escapes a
/// partition value; other characters, Lao too, are kept), so that any
/// name a data manager types is one folder name and reads back as typed.
/// No round: hive's null partition (a round named like it is escaped).
pub fn partition(round: &str) -> String {
    partition_escaping(round, false)
}

/// [`partition`], with every ASCII letter escaped too when `letters`.
fn partition_escaping(round: &str, letters: bool) -> String {
    let mut folder = format!("{ROUND}=");
    if round.is_empty() {
        folder.push_str(NO_ROUND);
        return folder;
    }
    for c in round.chars() {
        let kept = (c.is_ascii_digit() || (c.is_ascii_alphabetic() && !letters))
            || c == '-'
            || (c == '_' && round != NO_ROUND)
            || (!c.is_ascii() && !c.is_control());
        if kept {
            folder.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(folder, "%{b:02X}");
            }
        }
    }
    folder
}

/// The folders of a table's rounds, in order, each with whether it was
/// shortened. Rounds that differ only in case (`R1`, `r1`) would share a
/// folder on a Windows or macOS disk, one file replacing the other: the
/// later ones have their letters escaped too (`round=%721`), which reads
/// back the same. A name longer than a folder name may be (a round of 64
/// four-byte characters, or a record no sound fieldkit made) is cut and
/// given its round's hash (`round=R2...~3f2a9c01b7e4d5a6`): its rows are
/// kept, under a round name readers see cut; the summary says so.
fn folders<'r>(rounds: impl Iterator<Item = &'r str>) -> Vec<(String, bool)> {
    let mut taken = std::collections::HashSet::new();
    rounds
        .map(|round| {
            let mut folder = partition(round);
            if !taken.insert(folder.to_lowercase()) {
                folder = partition_escaping(round, true);
                taken.insert(folder.to_lowercase());
            }
            if folder.len() <= MAX_FILE_NAME {
                return (folder, false);
            }
            let mut cut = SHORT_FOLDER;
            while !folder.is_char_boundary(cut) {
                cut -= 1;
            }
            // Not inside a `%XX` either.
            if let Some(p) = folder[..cut].rfind('%')
                && p + 3 > cut
            {
                cut = p;
            }
            let hash = crate::crypt::sha256_hex(round.as_bytes());
            (format!("{}~{}", &folder[..cut], &hash[..16]), true)
        })
        .collect()
}

/// Writes `table`'s CSV file `csv` (with an HXL row when `hxl`) as
/// `dir/form_id=<form_id>/round=<round>/<stem>.parquet`, a file per
/// round its rows have (a table without rows: one empty file in the null
/// round, so its columns are known).
pub fn write_table(
    dir: &Path,
    form_id: &str,
    table: &Table,
    csv: &Path,
    hxl: bool,
) -> Result<Written, AggregateError> {
    write_buffering(dir, form_id, table, csv, hxl, ROW_GROUP_BYTES)
}

/// [`write_table`], holding at most about `budget` bytes of cells.
fn write_buffering(
    dir: &Path,
    form_id: &str,
    table: &Table,
    csv: &Path,
    hxl: bool,
    budget: usize,
) -> Result<Written, AggregateError> {
    let stem = table.file_name(form_id);
    let stem = stem.strip_suffix(".csv").unwrap_or(&stem);
    let form_folder = under(dir, &[&format!("form_id={form_id}")])?;

    // Pass 1: the header, which number columns hold only numbers, and the
    // rounds (the round column goes to the path, not into the files).
    let (all_headers, all_wanted) = header_kinds(table, csv)?;
    let round_at = all_headers.iter().position(|h| h == ROUND);
    let keep: Vec<usize> = (0..all_headers.len())
        .filter(|&i| Some(i) != round_at)
        .collect();
    let headers: Vec<String> = keep.iter().map(|&i| all_headers[i].clone()).collect();
    let wanted: Vec<(Kind, Cell)> = keep.iter().map(|&i| all_wanted[i]).collect();
    let mut fits = vec![true; headers.len()];
    let mut rounds: BTreeMap<String, usize> = BTreeMap::new();
    each_row(csv, hxl, &mut |cells| {
        let round = round_at.and_then(|at| cells.get(at)).copied().unwrap_or("");
        match rounds.get_mut(round) {
            Some(n) => *n += 1,
            None => {
                rounds.insert(round.to_string(), 1);
            }
        }
        for (k, &i) in keep.iter().enumerate() {
            let cell = cells.get(i).copied().unwrap_or("");
            if fits[k] && !cell.is_empty() && !parses(wanted[k].1, wanted[k].0, cell) {
                fits[k] = false;
            }
        }
    })?;
    if rounds.is_empty() {
        rounds.insert(String::new(), 0);
    }
    let kinds: Vec<Kind> = wanted
        .iter()
        .zip(&fits)
        .map(|(&(kind, _), &fit)| if fit { kind } else { Kind::Text })
        .collect();
    let as_text = headers
        .iter()
        .zip(wanted.iter().zip(&kinds))
        .filter(|(_, ((want, _), got))| want != *got)
        .map(|(h, _)| h.clone())
        .collect();

    // Pass 2, once per so many rounds: the rows, a row group at a time,
    // each into its round's file, renamed into place once whole.
    let schema =
        Arc::new(schema(&headers, &kinds).map_err(|e| {
            AggregateError::write(&form_folder, std::io::Error::other(e.to_string()))
        })?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("fieldkit {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let folders = folders(rounds.keys().map(String::as_str));
    let shortened = rounds
        .keys()
        .zip(&folders)
        .filter(|(_, (_, cut))| *cut)
        .map(|(round, (folder, _))| (round.clone(), folder.clone()))
        .collect();
    let folders = folders.into_iter().map(|(folder, _)| folder);
    let rounds: Vec<((String, usize), String)> = rounds.into_iter().zip(folders).collect();
    let mut files = Vec::with_capacity(rounds.len());
    for chunk in rounds.chunks(OPEN_PARTITIONS) {
        let mut open = Vec::with_capacity(chunk.len());
        let mut slot: HashMap<&str, usize> = HashMap::with_capacity(chunk.len());
        for ((round, rows), folder) in chunk {
            slot.insert(round.as_str(), open.len());
            let folder = under(&form_folder, &[folder])?;
            open.push(Partition::create(
                folder,
                stem,
                *rows,
                schema.clone(),
                props.clone(),
                &kinds,
            )?);
        }
        let mut buffered = 0usize;
        let mut failed = None;
        each_row(csv, hxl, &mut |cells| {
            if failed.is_some() {
                return;
            }
            let round = round_at.and_then(|at| cells.get(at)).copied().unwrap_or("");
            let Some(&p) = slot.get(round) else {
                return;
            };
            let before = open[p].group.bytes;
            open[p].group.push(&kinds, &wanted, &keep, cells);
            buffered += open[p].group.bytes - before;
            if buffered >= budget {
                // The partition holding the most goes to disk.
                let Some(big) = (0..open.len()).max_by_key(|&i| open[i].group.bytes) else {
                    return;
                };
                buffered -= open[big].group.bytes;
                if let Err(e) = open[big].flush(&kinds) {
                    failed = Some(e);
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        for partition in open {
            files.push(partition.finish(&kinds)?);
        }
    }
    remove_stale(&form_folder, stem, &files)?;
    Ok(Written {
        files,
        as_text,
        shortened,
    })
}

/// Removes this table's files an earlier run left in `form_folder` that
/// this run did not write (a round whose bundles were not given this
/// time, or the unpartitioned `<stem>.parquet` of an earlier fieldkit),
/// so that the folder reads as this run's table, never as a mix. Only
/// files named as this module names them; a round's folder left empty
/// goes too.
fn remove_stale(
    form_folder: &Path,
    stem: &str,
    written: &[(PathBuf, usize)],
) -> Result<(), AggregateError> {
    let name = format!("{stem}.parquet");
    let remove = |path: &Path| match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AggregateError::write(path, e)),
        _ => Ok(()),
    };
    remove(&form_folder.join(&name))?;
    let entries = std::fs::read_dir(form_folder).map_err(|source| AggregateError::Read {
        path: form_folder.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let folder = entry.path();
        let partition = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&format!("{ROUND}=")));
        if !partition || !folder.is_dir() {
            continue;
        }
        let file = folder.join(&name);
        if file.is_file() && !written.iter().any(|(path, _)| *path == file) {
            remove(&file)?;
            // Only when empty: another table's file keeps it.
            let _ = std::fs::remove_dir(&folder);
        }
    }
    Ok(())
}

/// One round's file being written.
struct Partition {
    path: PathBuf,
    partial: PathBuf,
    rows: usize,
    writer: SerializedFileWriter<File>,
    group: Group,
}

impl Partition {
    fn create(
        folder: PathBuf,
        stem: &str,
        rows: usize,
        schema: Arc<Type>,
        props: Arc<WriterProperties>,
        kinds: &[Kind],
    ) -> Result<Partition, AggregateError> {
        std::fs::create_dir_all(&folder).map_err(|e| AggregateError::write(&folder, e))?;
        let path = under(&folder, &[&format!("{stem}.parquet")])?;
        let partial = folder.join(format!(".{stem}.parquet.partial"));
        let file = File::create(&partial).map_err(|e| AggregateError::write(&partial, e))?;
        let writer =
            SerializedFileWriter::new(file, schema, props).map_err(|e| parquet_err(&partial, e))?;
        Ok(Partition {
            path,
            partial,
            rows,
            writer,
            group: Group::new(kinds.len()),
        })
    }

    fn flush(&mut self, kinds: &[Kind]) -> Result<(), AggregateError> {
        self.group
            .flush(&mut self.writer, kinds)
            .map_err(|e| parquet_err(&self.partial, e))
    }

    /// The last row group written, the file closed and renamed into place.
    fn finish(mut self, kinds: &[Kind]) -> Result<(PathBuf, usize), AggregateError> {
        self.flush(kinds)?;
        self.writer
            .close()
            .map_err(|e| parquet_err(&self.partial, e))?;
        std::fs::rename(&self.partial, &self.path)
            .map_err(|e| AggregateError::write(&self.path, e))?;
        Ok((self.path, self.rows))
    }
}

fn parquet_err(path: &Path, e: parquet::errors::ParquetError) -> AggregateError {
    AggregateError::write(path, std::io::Error::other(e.to_string()))
}

/// The CSV's headers, and for each the kind wanted and its cell type.
type Wanted = (Vec<String>, Vec<(Kind, Cell)>);

fn header_kinds(table: &Table, csv: &Path) -> Result<Wanted, AggregateError> {
    let mut reader = reader(csv)?;
    let headers: Vec<String> = match reader.records().next() {
        Some(Ok(r)) => r.iter().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let wanted = headers
        .iter()
        .map(|h| {
            let cell = table
                .columns
                .iter()
                .find(|c| &c.header == h)
                .map(|c| c.cell);
            match cell {
                Some(Cell::Integer) => (Kind::Int64, Cell::Integer),
                Some(Cell::Decimal) => (Kind::Double, Cell::Decimal),
                Some(Cell::Flag) => (Kind::Int32, Cell::Flag),
                Some(Cell::Text) => (Kind::Text, Cell::Text),
                None if INTEGER_KEYS.contains(&h.as_str()) => (Kind::Int64, Cell::Integer),
                None => (Kind::Text, Cell::Text),
            }
        })
        .collect();
    Ok((headers, wanted))
}

fn parses(cell_type: Cell, kind: Kind, text: &str) -> bool {
    match kind {
        Kind::Text => true,
        Kind::Int64 => cell_type.number(text).is_some() && text.parse::<i64>().is_ok(),
        Kind::Int32 => cell_type.number(text).is_some() && text.parse::<i32>().is_ok(),
        Kind::Double => cell_type.number(text).is_some(),
    }
}

fn reader(csv: &Path) -> Result<csv::Reader<File>, AggregateError> {
    let file = File::open(csv).map_err(|source| AggregateError::Read {
        path: csv.to_path_buf(),
        source,
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(file))
}

/// Calls `each` with every data row's cells (the header and the HXL row
/// skipped, the `'` guard removed).
fn each_row(csv: &Path, hxl: bool, each: &mut dyn FnMut(&[&str])) -> Result<(), AggregateError> {
    let mut reader = reader(csv)?;
    let skip = 1 + usize::from(hxl);
    let mut record = csv::StringRecord::new();
    let mut n = 0usize;
    let failed = |e: csv::Error| AggregateError::Read {
        path: csv.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    while reader.read_record(&mut record).map_err(failed)? {
        n += 1;
        if n <= skip {
            continue;
        }
        let cells: Vec<&str> = record.iter().map(unguard).collect();
        each(&cells);
    }
    Ok(())
}

fn schema(headers: &[String], kinds: &[Kind]) -> parquet::errors::Result<Type> {
    let fields = headers
        .iter()
        .zip(kinds)
        .map(|(name, kind)| {
            let builder = match kind {
                Kind::Text => Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
                    .with_logical_type(Some(LogicalType::String))
                    .with_converted_type(ConvertedType::UTF8),
                Kind::Int64 => Type::primitive_type_builder(name, Physical::INT64),
                Kind::Double => Type::primitive_type_builder(name, Physical::DOUBLE),
                Kind::Int32 => Type::primitive_type_builder(name, Physical::INT32),
            };
            builder
                .with_repetition(Repetition::OPTIONAL)
                .build()
                .map(Arc::new)
        })
        .collect::<parquet::errors::Result<Vec<_>>>()?;
    Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
}

/// The cells of one row group, column by column: values of the non-null
/// cells and a definition level (1 given, 0 null) per row.
struct Group {
    text: Vec<Vec<ByteArray>>,
    int64: Vec<Vec<i64>>,
    double: Vec<Vec<f64>>,
    int32: Vec<Vec<i32>>,
    levels: Vec<Vec<i16>>,
    bytes: usize,
}

impl Group {
    fn new(n: usize) -> Group {
        Group {
            text: vec![Vec::new(); n],
            int64: vec![Vec::new(); n],
            double: vec![Vec::new(); n],
            int32: vec![Vec::new(); n],
            levels: vec![Vec::new(); n],
            bytes: 0,
        }
    }

    /// Adds a row: `cells[keep[i]]` is column `i`'s cell.
    fn push(&mut self, kinds: &[Kind], wanted: &[(Kind, Cell)], keep: &[usize], cells: &[&str]) {
        for (i, kind) in kinds.iter().enumerate() {
            let cell = cells.get(keep[i]).copied().unwrap_or("");
            self.bytes += cell.len() + 8;
            if cell.is_empty() {
                self.levels[i].push(0);
                continue;
            }
            self.levels[i].push(1);
            // Pass 1 found every cell of a number column to parse.
            match kind {
                Kind::Text => self.text[i].push(ByteArray::from(cell)),
                Kind::Int64 => self.int64[i].push(cell.parse().unwrap_or_default()),
                Kind::Int32 => self.int32[i].push(cell.parse().unwrap_or_default()),
                Kind::Double => self.double[i].push(
                    wanted[i]
                        .1
                        .number(cell)
                        .unwrap_or_else(|| cell.parse().unwrap_or_default()),
                ),
            }
        }
    }

    fn flush(
        &mut self,
        writer: &mut SerializedFileWriter<File>,
        kinds: &[Kind],
    ) -> parquet::errors::Result<()> {
        if self.levels.first().is_none_or(Vec::is_empty) && !kinds.is_empty() {
            return Ok(());
        }
        let mut group = writer.next_row_group()?;
        for (i, kind) in kinds.iter().enumerate() {
            let Some(mut column) = group.next_column()? else {
                break;
            };
            let levels = Some(self.levels[i].as_slice());
            match kind {
                Kind::Text => {
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&self.text[i], levels, None)?;
                }
                Kind::Int64 => {
                    column
                        .typed::<Int64Type>()
                        .write_batch(&self.int64[i], levels, None)?;
                }
                Kind::Double => {
                    column
                        .typed::<DoubleType>()
                        .write_batch(&self.double[i], levels, None)?;
                }
                Kind::Int32 => {
                    column
                        .typed::<Int32Type>()
                        .write_batch(&self.int32[i], levels, None)?;
                }
            }
            column.close()?;
        }
        group.close()?;
        // Emptied, their memory given back: a partition that waits holds
        // nothing of the rows written.
        *self = Group::new(kinds.len());
        Ok(())
    }
}

#[cfg(test)]
#[path = "parquet_tests.rs"]
mod tests;
