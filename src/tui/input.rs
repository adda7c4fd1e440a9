//! A one-line text editor: the text and a cursor counted in grapheme
//! clusters, so a Lao syllable with its vowel and tone marks moves and
//! deletes as one. Pure data; the view draws it.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    pub text: String,
    /// Cursor position in graphemes, 0..=len.
    pub cursor: usize,
    /// Shown as dots (passphrases).
    pub secret: bool,
}

impl Input {
    pub fn new(text: &str) -> Self {
        Input {
            text: text.to_string(),
            cursor: text.graphemes(true).count(),
            secret: false,
        }
    }

    pub fn secret() -> Self {
        Input {
            secret: true,
            ..Input::default()
        }
    }

    fn byte_at(&self, grapheme: usize) -> usize {
        self.text
            .grapheme_indices(true)
            .nth(grapheme)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn len(&self) -> usize {
        self.text.graphemes(true).count()
    }

    pub fn insert(&mut self, c: char) {
        let before = self.len();
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        // A combining mark joins the grapheme before it: the count stays.
        self.cursor += self.len() - before;
    }

    pub fn backspace(&mut self) {
        if self.cursor == 0 {
            return;
        }
        let start = self.byte_at(self.cursor - 1);
        let end = self.byte_at(self.cursor);
        self.text.replace_range(start..end, "");
        self.cursor -= 1;
    }

    pub fn delete(&mut self) {
        if self.cursor >= self.len() {
            return;
        }
        let start = self.byte_at(self.cursor);
        let end = self.byte_at(self.cursor + 1);
        self.text.replace_range(start..end, "");
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.len());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.len();
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// What is shown: the text, or one dot per character of a secret.
    pub fn shown(&self) -> String {
        if self.secret {
            "•".repeat(self.len())
        } else {
            self.text.clone()
        }
    }

    /// Terminal columns before the cursor.
    pub fn cursor_column(&self) -> usize {
        if self.secret {
            return self.cursor;
        }
        self.text[..self.byte_at(self.cursor)].width()
    }

    /// Applies an editing key; false when the key is not an editing key.
    pub fn handle(&mut self, key: &crossterm::event::KeyEvent) -> bool {
        use crossterm::event::{KeyCode, KeyModifiers};
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char(c) if !ctrl => self.insert(c),
            KeyCode::Char('u') if ctrl => self.clear(),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left => self.left(),
            KeyCode::Right => self.right(),
            KeyCode::Home => self.home(),
            KeyCode::End => self.end(),
            _ => return false,
        }
        true
    }
}

use ratatui::crossterm;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lao_syllables_edit_as_one() {
        // ກີ້ : consonant + vowel above + tone mark, one grapheme, width 1.
        let mut input = Input::default();
        for c in "ບ້ານ".chars() {
            input.insert(c);
        }
        assert_eq!(input.text, "ບ້ານ");
        assert_eq!(input.cursor, 3, "three graphemes: ບ້ າ ນ");
        assert_eq!(input.cursor_column(), 3);
        input.left();
        input.left();
        input.backspace();
        assert_eq!(input.text, "ານ", "the mark went with its consonant");
        input.end();
        input.insert('x');
        input.home();
        input.delete();
        assert_eq!(input.text, "ນx");
    }

    #[test]
    fn secrets_show_dots() {
        let mut input = Input::secret();
        for c in "abc".chars() {
            input.insert(c);
        }
        assert_eq!(input.shown(), "•••");
        assert_eq!(input.text, "abc");
    }
}
