//! Parquet tables (`aggregate --parquet DIR`): the same tables as the CSV
//! files, for DuckDB, Spark, Polars, pandas and R (arrow), laid out by
//! form the way they read a partitioned dataset
//! (`DIR/form_id=<form>/<table>.parquet`, hive style). Each table is read
//! back from its CSV file once it is written (two passes over the file, so
//! memory is one row group, never the table) and typed from its column,
//! that is from the field's type, never from the text: an integer field is
//! INT64, a decimal field (and a geopoint's numbers) DOUBLE, a
//! select_multiple's 0/1 column INT32, when every answer in the column is a
//! valid number of that type (as the XLSX does); anything else, and every
//! text field, is a UTF-8 string exactly as typed (the CSV's `'` guard
//! removed). An empty cell is null. Only data managers need this: it is
//! behind the `parquet` cargo feature (on by default; the README gives the
//! binary's size with and without it).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, ConvertedType, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use super::error::AggregateError;
use super::output::under;
use super::tables::{Cell, Table, unguard};

/// Bytes of cells buffered before a row group is written: what the
/// conversion holds in memory, whatever the table's size.
const ROW_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// Key columns that hold whole numbers (a repeat row's index; a record's
/// version).
const INTEGER_KEYS: &[&str] = &["index", "version"];

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
    pub path: PathBuf,
    pub rows: usize,
    /// Number columns written as text because an answer in them is not a
    /// number of their type (none for tables fieldkit wrote itself).
    pub as_text: Vec<String>,
}

/// Writes `table`'s CSV file `csv` (with an HXL row when `hxl`) as
/// `dir/form_id=<form_id>/<stem>.parquet`.
pub fn write_table(
    dir: &Path,
    form_id: &str,
    table: &Table,
    csv: &Path,
    hxl: bool,
) -> Result<Written, AggregateError> {
    let stem = table.file_name(form_id);
    let stem = stem.strip_suffix(".csv").unwrap_or(&stem);
    let folder = under(dir, &[&format!("form_id={form_id}")])?;
    std::fs::create_dir_all(&folder).map_err(|e| AggregateError::write(&folder, e))?;
    let path = under(&folder, &[&format!("{stem}.parquet")])?;

    // Pass 1: the header, and which number columns hold only numbers.
    let (headers, wanted) = header_kinds(table, csv)?;
    let mut fits = vec![true; headers.len()];
    let mut rows = 0usize;
    each_row(csv, hxl, &mut |cells| {
        rows += 1;
        for (i, cell) in cells.iter().enumerate() {
            if fits[i] && !cell.is_empty() && !parses(wanted[i].1, wanted[i].0, cell) {
                fits[i] = false;
            }
        }
    })?;
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

    // Pass 2: the rows, a row group at a time, into a file renamed into
    // place once whole.
    let partial = folder.join(format!(".{stem}.parquet.partial"));
    let write_err = |e: parquet::errors::ParquetError| {
        AggregateError::write(&partial, std::io::Error::other(e.to_string()))
    };
    let file = File::create(&partial).map_err(|e| AggregateError::write(&partial, e))?;
    let schema = Arc::new(schema(&headers, &kinds).map_err(write_err)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("fieldkit {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let mut writer = SerializedFileWriter::new(file, schema, props).map_err(write_err)?;
    let mut group = Group::new(&kinds);
    let mut failed = None;
    each_row(csv, hxl, &mut |cells| {
        if failed.is_some() {
            return;
        }
        group.push(&kinds, &wanted, cells);
        if group.bytes >= ROW_GROUP_BYTES
            && let Err(e) = group.flush(&mut writer, &kinds)
        {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(write_err(e));
    }
    group.flush(&mut writer, &kinds).map_err(write_err)?;
    writer.close().map_err(write_err)?;
    std::fs::rename(&partial, &path).map_err(|e| AggregateError::write(&path, e))?;
    Ok(Written {
        path,
        rows,
        as_text,
    })
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
    fn new(kinds: &[Kind]) -> Group {
        let n = kinds.len();
        Group {
            text: vec![Vec::new(); n],
            int64: vec![Vec::new(); n],
            double: vec![Vec::new(); n],
            int32: vec![Vec::new(); n],
            levels: vec![Vec::new(); n],
            bytes: 0,
        }
    }

    fn push(&mut self, kinds: &[Kind], wanted: &[(Kind, Cell)], cells: &[&str]) {
        for (i, kind) in kinds.iter().enumerate() {
            let cell = cells.get(i).copied().unwrap_or("");
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
        for v in &mut self.text {
            v.clear();
        }
        for v in &mut self.int64 {
            v.clear();
        }
        for v in &mut self.double {
            v.clear();
        }
        for v in &mut self.int32 {
            v.clear();
        }
        for v in &mut self.levels {
            v.clear();
        }
        self.bytes = 0;
        Ok(())
    }
}
