//! The caps on what a form, a workbook and a record may hold. Forms come
//! from anyone (a forms folder, a bundle from the field), so every size an
//! attacker controls is capped here, far above what real forms use, and
//! checked before the memory is spent. The largest real XLSForm seen (a
//! Kobo cleaning tool) has 501 survey rows, 5,145 choices, groups nested 6
//! deep, and unzips to 3.5 MB; the largest choices file shipped (Lao
//! villages) has 8,916 rows.

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Largest TOML form, in bytes (a workbook's TOML twin included; the
/// largest real one is 1.1 MB).
pub const MAX_FORM_BYTES: usize = 8 * MIB;
/// Most `=` signs in a TOML form (every key and value has one; the
/// largest real form has 46,377): what the TOML parser's memory grows with.
pub const MAX_FORM_KEYS: usize = 400_000;
/// Most `[[survey]]` rows (questions, groups, repeats and their ends).
pub const MAX_SURVEY_ROWS: usize = 10_000;
/// Deepest nesting of groups and repeats.
pub const MAX_NESTING: usize = 32;
/// Most choices in all lists together, the CSV files' rows included.
pub const MAX_CHOICES: usize = 200_000;
/// Largest choices CSV file (`select_one_from_file`), in bytes.
pub const MAX_CSV_BYTES: usize = 32 * MIB;
/// Most bytes of all the CSV files one form reads together (choices,
/// lookup and entity lists): a form naming many files cannot make the
/// loader read many times the cap of one.
pub const MAX_FORM_CSV_BYTES: usize = 64 * MIB;

/// Most instances a repeat_count may ask for.
pub const MAX_REPEAT_COUNT: usize = 1000;

/// Longest answer or computed value, in bytes (UTF-8): a text answer
/// typed on the screen or given in an answers file, and any string an
/// expression builds (`concat()`, `join()`...).
pub const MAX_TEXT_BYTES: usize = 64 * KIB;
/// Largest record in an answers file (`fill --answers`), in bytes of JSON.
pub const MAX_RECORD_BYTES: usize = MIB;
/// Most bytes of values one record holds at once: answers and
/// calculations, in every repeat instance.
pub const MAX_RECORD_VALUE_BYTES: usize = 8 * MIB;
/// Most values (questions times repeat instances) one record holds: what
/// nested repeats multiply.
pub const MAX_RECORD_VALUES: usize = 200_000;

/// Most files inside an .xlsx workbook.
pub const MAX_WORKBOOK_ENTRIES: usize = 1_000;
/// Largest file inside a workbook once unzipped (a sheet, the shared
/// strings), in bytes.
pub const MAX_WORKBOOK_PART_BYTES: u64 = 32 * MIB as u64;
/// Largest workbook once unzipped, all its files together, in bytes.
pub const MAX_WORKBOOK_BYTES: u64 = 64 * MIB as u64;
/// Most cells read from all sheets of a workbook: each cell with a value,
/// plus each row's width from column A to its last value.
pub const MAX_WORKBOOK_CELLS: usize = 2_000_000;
/// Rightmost column read in a sheet (1-based; column AMJ).
pub const MAX_SHEET_COLUMNS: u32 = 1_024;
/// Most bytes of cell text read from all sheets of a workbook.
pub const MAX_WORKBOOK_TEXT_BYTES: usize = 32 * MIB;
/// Longest text in one cell of a workbook, in bytes.
pub const MAX_CELL_BYTES: usize = 64 * KIB;

/// `n` bytes as people read a cap: "64 KiB", "8 MiB".
pub fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} bytes")
}
