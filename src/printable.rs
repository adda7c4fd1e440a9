//! Text from outside (bundle manifests, file names, forms, signers files,
//! receipts) made safe to print on a terminal: every control character
//! (C0, DEL, C1: ESC sequences that move the cursor, erase lines or
//! retitle the window; carriage returns and newlines that forge lines)
//! and every Unicode bidirectional control (which reorders what is shown)
//! is written as a visible escape such as `\x1b` or `\u{202e}`. The
//! commands print through this module; the screen needs no help (ratatui
//! drops control characters when it draws).

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal as it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every unsafe character escaped, newlines included: one
/// line on the terminal whatever the text holds.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_except(text, None)
}

/// As [`escape`], keeping newlines (for text that is several lines by
/// design, such as pretty-printed JSON, whose strings are escaped
/// already).
pub fn escape_keep_newlines(text: &str) -> Cow<'_, str> {
    escape_except(text, Some('\n'))
}

/// JSON text (pretty-printed or not) with every unsafe character other
/// than a newline written as a JSON `\uXXXX` escape: still the same JSON
/// to any reader. (Outside strings JSON holds only ASCII, so they can only
/// be in strings, where serde_json leaves C1 and bidi controls raw.)
pub fn escape_json(text: &str) -> Cow<'_, str> {
    // Every unsafe character is in the Basic Multilingual Plane.
    escape_with(text, Some('\n'), |out, code| {
        let _ = write!(out, "\\u{code:04x}");
    })
}

fn escape_except(text: &str, keep: Option<char>) -> Cow<'_, str> {
    escape_with(text, keep, |out, code| {
        let _ = if code < 0x80 {
            write!(out, "\\x{code:02x}")
        } else {
            write!(out, "\\u{{{code:x}}}")
        };
    })
}

/// `text` with every unsafe character but `keep` written by `escape`.
fn escape_with(text: &str, keep: Option<char>, escape: fn(&mut String, u32)) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && Some(c) != keep) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) && Some(c) != keep {
            escape(&mut out, u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        assert_eq!(escape("enum-03 bundle 1"), "enum-03 bundle 1");
        assert!(matches!(escape("ແຂວງ ສະຫວັນນະເຂດ"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b[2Kb"), "a\\x1b[2Kb");
        assert_eq!(escape("x\ry\nz\t"), "x\\x0dy\\x0az\\x09");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("a\u{7f}"), "a\\x7f");
        assert_eq!(escape("evil\u{202e}piz.exe"), "evil\\u{202e}piz.exe");
        assert_eq!(
            escape_keep_newlines("{\n  \"a\": 1\x07\n}"),
            "{\n  \"a\": 1\\x07\n}"
        );
    }

    #[test]
    fn nothing_unsafe_survives_any_text() {
        use proptest::prelude::*;
        proptest!(|(text in any::<String>())| {
            let shown = escape(&text);
            prop_assert!(!shown.chars().any(is_unsafe));
            let kept = escape_keep_newlines(&text);
            prop_assert!(!kept.chars().any(|c| is_unsafe(c) && c != '\n'));
            prop_assert_eq!(kept.matches('\n').count(), text.matches('\n').count());
        });
    }
}
