//! The edge where the form engine meets the file system, and the only
//! module of form/ that opens files: a form file (TOML text, or an
//! XLSForm workbook when its name ends in .xlsx) and the CSVs a form
//! names (found beside it or in the data folders given), each read within
//! its cap. Everything else parses text
//! or bytes handed in, so that a loaded form holds, and hashes, exactly
//! the text it was parsed from.

use std::path::Path;

use super::error::{FormError, file_error};
use super::limits::{self, MAX_FORM_BYTES, MAX_WORKBOOK_BYTES};

/// A form file as read: TOML text, or a workbook's bytes.
pub enum FormFile {
    Toml(String),
    Workbook(Vec<u8>),
}

/// Reads the form file at `path`: a workbook when it ends in .xlsx, TOML
/// text otherwise. Errors say what to check.
pub fn read(path: &Path) -> Result<FormFile, Vec<FormError>> {
    let shown = path.display().to_string();
    let workbook = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("xlsx"));
    if workbook {
        let bytes = read_capped(path, MAX_WORKBOOK_BYTES as usize).map_err(|e| {
            let message = match e {
                Capped::TooLarge => format!(
                    "the workbook is larger than {}, fieldkit's cap for a workbook; a form is far \
                     smaller: check that this is the right file",
                    limits::bytes(MAX_WORKBOOK_BYTES)
                ),
                Capped::Io(e) => format!("cannot read the workbook: {e}. Check the path."),
            };
            vec![file_error(&shown, None, message)]
        })?;
        return Ok(FormFile::Workbook(bytes));
    }
    let bytes = read_capped(path, MAX_FORM_BYTES).map_err(|e| {
        let message = match e {
            Capped::TooLarge => format!(
                "the form file is larger than {}, fieldkit's cap for a form; a real form is \
                 far smaller: check that this is the right file",
                limits::bytes(MAX_FORM_BYTES as u64)
            ),
            Capped::Io(e) => format!("cannot read the form: {e}. Check the path."),
        };
        vec![file_error(&shown, None, message)]
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        vec![file_error(
            &shown,
            None,
            format!(
                "the file is not UTF-8 text (bad byte at offset {}). Save it as UTF-8.",
                e.utf8_error().valid_up_to()
            ),
        )]
    })?;
    Ok(FormFile::Toml(text))
}

/// The first of `folders` that holds a file named `file`, as its path.
pub(crate) fn find_file(folders: &[std::path::PathBuf], file: &str) -> Option<std::path::PathBuf> {
    folders
        .iter()
        .map(|folder| folder.join(file))
        .find(|candidate| candidate.is_file())
}

/// Why `read_capped` read nothing.
pub(crate) enum Capped {
    TooLarge,
    Io(std::io::Error),
}

/// The file's bytes, refused when over `cap` bytes: never more than `cap`
/// + 1 bytes are read, whatever size the file claims.
pub(crate) fn read_capped(path: &Path, cap: usize) -> Result<Vec<u8>, Capped> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(Capped::Io)?;
    let claimed = file.metadata().map(|m| m.len()).unwrap_or(0);
    if claimed > cap as u64 {
        return Err(Capped::TooLarge);
    }
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(Capped::Io)?;
    if bytes.len() > cap {
        return Err(Capped::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use crate::bundle::sha256_hex;

    const FIRST: &str = "[settings]\nform_id = \"kept\"\n\n[[survey]]\ntype = \"text\"\nname = \"a\"\nlabel = \"A\"\n";
    const SECOND: &str = "[settings]\nform_id = \"kept\"\n\n[[survey]]\ntype = \"text\"\nname = \"b\"\nlabel = \"B\"\n";

    /// Issue 16, point 5: a form's text and hash are those of the bytes it
    /// was parsed from, not of whatever the file holds when asked.
    #[test]
    fn the_text_and_hash_are_of_the_bytes_parsed_even_after_the_file_changes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kept.toml");
        std::fs::write(&path, FIRST).expect("write");
        let form = crate::form::load(&path).unwrap_or_else(|e| panic!("{e:?}"));
        std::fs::write(&path, SECOND).expect("rewrite");
        assert_eq!(form.text(), FIRST);
        assert_eq!(form.sha256(), sha256_hex(FIRST.as_bytes()));
        assert!(form.find("a").is_some() && form.find("b").is_none());
        // Loaded again, the form is the new text, with its own hash.
        let again = crate::form::load(&path).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(again.text(), SECOND);
        assert_eq!(again.sha256(), sha256_hex(SECOND.as_bytes()));
        // Removing the file loses nothing the form holds.
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(form.text(), FIRST);
    }

    #[test]
    fn text_handed_in_is_the_text_kept() {
        let form = crate::form::load_str(SECOND, std::path::Path::new("nowhere/kept.toml"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(form.text(), SECOND);
        assert_eq!(form.sha256(), sha256_hex(SECOND.as_bytes()));
    }
}
