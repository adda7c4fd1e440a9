//! The form engine: XLSForm semantics over forms written in TOML or as
//! XLSForm workbooks. It owns
//! the form model, loading and checking, the expression language, and the
//! session that fills one record. It never touches sled, zip or a terminal;
//! commands and the TUI depend on it, never the other way round. Files
//! are read in one place, `source` (a form file and the CSVs beside it);
//! everything else works on text or bytes handed in.

pub mod answer;
pub mod dates;
pub mod entities;
pub mod error;
pub mod eval;
pub mod expr;
pub mod lao;
pub mod limits;
pub mod load;
pub mod media;
pub mod model;
pub mod review;
pub mod search;
pub mod session;
pub mod source;
pub mod xlsform;

pub use error::FormError;
pub use load::load_str;
pub use model::{Form, Kind, NodeId};
pub use session::{Env, Pos, Screen, Session, Violation, ViolationKind};

/// Loads and checks the form at `path` (TOML, or an XLSForm workbook when
/// it ends in .xlsx): read once at the edge (`source::read`), then parsed
/// from what was read. CSVs named by the form are read from its folder.
pub fn load(path: &std::path::Path) -> Result<Form, Vec<FormError>> {
    load_in(path, &[])
}

/// Loads and checks the form at `path`, its CSVs (choices, lookup and
/// entity lists) looked for beside it and then in `data_dirs`, each with
/// its `lists/` and `entities/` folders.
pub fn load_in(
    path: &std::path::Path,
    data_dirs: &[std::path::PathBuf],
) -> Result<Form, Vec<FormError>> {
    match source::read(path)? {
        source::FormFile::Toml(text) => load::load_str_in(&text, path, data_dirs),
        source::FormFile::Workbook(bytes) => xlsform::from_bytes_in(&bytes, path, data_dirs),
    }
}
