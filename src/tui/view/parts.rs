//! The pieces every page draws with: the theme (with or without
//! colour), paragraphs shaped for the terminal, wrapping and cutting text
//! by its width on screen, input lines and list rows.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Paragraph;

use crate::tui::input::Input;

/// Styles, with or without colour.
pub(crate) struct Theme {
    pub(crate) color: bool,
}

impl Theme {
    pub(crate) fn bar(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub(crate) fn heading(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::BOLD);
        if self.color { s.fg(Color::Cyan) } else { s }
    }
    pub(crate) fn selected(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::REVERSED);
        if self.color { s.fg(Color::Yellow) } else { s }
    }
    pub(crate) fn problem(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::BOLD);
        if self.color { s.fg(Color::Red) } else { s }
    }
    pub(crate) fn good(&self) -> Style {
        if self.color {
            Style::default().fg(Color::Green)
        } else {
            Style::default()
        }
    }
    pub(crate) fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }
}

/// A paragraph of text as the terminal should get it. U+0EB3 LAO VOWEL
/// SIGN AM joins its consonant into one cluster two columns wide; terminals
/// draw it as two cells, and ratatui and tmux then disagree about the
/// second one and leave stray marks when it is overwritten. Given as its
/// two parts (U+0ECD U+0EB2, its compatibility decomposition, drawn the
/// same), every Lao cluster is one column and nothing is left behind.
pub(crate) fn para<'a>(text: impl Into<Text<'a>>) -> Paragraph<'a> {
    let mut text = text.into();
    for line in &mut text.lines {
        shape_line(line);
    }
    Paragraph::new(text)
}

pub(crate) fn shape_line(line: &mut Line) {
    for span in &mut line.spans {
        if span.content.contains('\u{0EB3}') {
            span.content = span.content.replace('\u{0EB3}', "\u{0ECD}\u{0EB2}").into();
        }
    }
}

pub(crate) fn shaped<'a>(mut line: Line<'a>) -> Line<'a> {
    shape_line(&mut line);
    line
}

pub(crate) fn width(s: &str) -> usize {
    Line::from(s).width()
}

/// An input line "label: value" and where its cursor goes.
pub(crate) fn input_line<'a>(
    label: &'a str,
    input: &Input,
    focused: bool,
    theme: &Theme,
) -> Line<'a> {
    let marker = if focused { "▸ " } else { "  " };
    let value_style = if focused {
        Style::default().add_modifier(Modifier::UNDERLINED)
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::raw(marker),
        Span::styled(format!("{label}: "), theme.heading()),
        Span::styled(input.shown(), value_style),
    ])
}

pub(crate) fn set_cursor(frame: &mut Frame, area: Rect, x: usize, y: usize) {
    if x < area.width as usize && y < area.height as usize {
        frame.set_cursor_position(Position::new(area.x + x as u16, area.y + y as u16));
    }
}

/// Breaks text into lines of at most `room` columns: at spaces, and inside
/// a run without spaces (Lao writes none between words) at graphemes.
pub(crate) fn wrap(text: &str, room: usize) -> Vec<String> {
    let room = room.max(8);
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let sep = usize::from(!line.is_empty());
            if width(&line) + sep + width(word) <= room {
                if sep == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                continue;
            }
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            for g in unicode_segmentation::UnicodeSegmentation::graphemes(word, true) {
                if width(&line) + width(g) > room {
                    out.push(std::mem::take(&mut line));
                }
                line.push_str(g);
            }
        }
        out.push(line);
    }
    out
}

/// A form's title in a language (its id when it has none).
pub(crate) fn title_of(form: &crate::form::Form, lang: &str) -> String {
    form.title
        .get(Some(lang), form.default_language.as_deref())
        .unwrap_or(&form.id)
        .to_string()
}

/// A line of a home-page list: marker, `left` cut to `room` columns and
/// padded, then `right`; reversed when selected.
pub(crate) fn list_row<'a>(
    selected: bool,
    left: &str,
    right: &str,
    room: usize,
    theme: &Theme,
) -> Line<'a> {
    let left = truncate(left, room);
    let pad = room.saturating_sub(width(&left));
    let line = Line::from(format!(
        "{} {left}{} {right}",
        if selected { "▸" } else { " " },
        " ".repeat(pad)
    ));
    if selected {
        line.style(theme.selected())
    } else {
        line
    }
}

/// Cuts text to `room` columns, with an ellipsis.
pub(crate) fn truncate(text: &str, room: usize) -> String {
    if width(text) <= room {
        return text.to_string();
    }
    let mut out = String::new();
    for g in unicode_segmentation::UnicodeSegmentation::graphemes(text, true) {
        if width(&out) + width(g) + 1 > room {
            break;
        }
        out.push_str(g);
    }
    out.push('…');
    out
}
