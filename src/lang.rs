//! The language of the program's words (English or Lao): what the
//! enumerator's and the supervisor's screens are drawn in, and which of a
//! form's languages goes with it. Owns only the choice; the words are
//! `tui::words`'.

/// The language of the program's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Lo,
}

impl Lang {
    /// Lao for a form language named like "Lao (lo)", English otherwise.
    pub fn of_form_language(language: Option<&str>) -> Lang {
        match language {
            Some(l) if l.contains("(lo)") || l.starts_with("Lao") => Lang::Lo,
            _ => Lang::En,
        }
    }
}
