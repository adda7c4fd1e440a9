//! `FormError`: one problem in a form definition, with where it is (file,
//! sheet, row, column, line). Its own module so that the model (which
//! keeps a loaded form's warnings) and the loaders (which make them)
//! both use it without importing each other.

use std::fmt;

/// One problem in a form definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FormError {
    pub path: String,
    /// "settings", "survey", "choices", or "file" (the file as a whole).
    pub sheet: &'static str,
    /// 1-based row among the sheet's rows.
    pub row: Option<usize>,
    pub column: Option<String>,
    /// 1-based line in the file, where known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = match (self.sheet, self.row) {
            ("file", _) => match self.line {
                Some(l) => format!("line {l}"),
                None => "file".to_string(),
            },
            (sheet, Some(r)) => format!("{sheet} row {r}"),
            (sheet, None) => sheet.to_string(),
        };
        let column = self.column.as_deref().unwrap_or("-");
        write!(f, "{}:{row}:{column}: {}", self.path, self.message)?;
        if let (false, Some(l)) = (self.sheet == "file", self.line) {
            write!(f, " (line {l})")?;
        }
        Ok(())
    }
}

pub(crate) fn file_error(path: &str, line: Option<usize>, message: String) -> FormError {
    FormError {
        path: path.to_string(),
        sheet: "file",
        row: None,
        column: None,
        line,
        message,
    }
}
