//! Drawing: every page and overlay from `&App`, nothing else; one file
//! per page (home, setup and unlock, record, overlays), the frame around
//! them and the text helpers they share here. Works from
//! 80x24 down to small terminals; without colour when NO_COLOR is set.
//! Text widths come from ratatui, which measures grapheme clusters, so Lao
//! vowel signs and tone marks take no column.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Paragraph;

use super::app::{App, Overlay, Page};
use super::input::Input;
use super::words::Msg;

mod home;
mod overlay;
mod record;
mod setup;

/// Styles, with or without colour.
struct Theme {
    color: bool,
}

impl Theme {
    fn bar(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    fn heading(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::BOLD);
        if self.color { s.fg(Color::Cyan) } else { s }
    }
    fn selected(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::REVERSED);
        if self.color { s.fg(Color::Yellow) } else { s }
    }
    fn problem(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::BOLD);
        if self.color { s.fg(Color::Red) } else { s }
    }
    fn good(&self) -> Style {
        if self.color {
            Style::default().fg(Color::Green)
        } else {
            Style::default()
        }
    }
    fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }
}

/// The most rows the status line takes.
const STATUS_ROWS: u16 = 4;

pub fn render(app: &App, frame: &mut Frame) {
    let theme = Theme { color: app.color };
    let area = frame.area();
    // The status line grows to the rows its message needs (a few at most)
    // rather than lose its end.
    let said = app.status_line().filter(|_| app.progress.is_none());
    let said_lines = said
        .as_ref()
        .map(|(text, _)| wrap(text, area.width as usize))
        .unwrap_or_default();
    let most = (area.height / 4).clamp(1, STATUS_ROWS);
    let rows = (said_lines.len() as u16).clamp(1, most);
    let [top, body, keys, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(rows),
    ])
    .areas(area);

    let who = app
        .who
        .as_ref()
        .map(|w| format!(" · {}", w.enumerator))
        .unwrap_or_default();
    let title = format!(" fieldkit{who}");
    let right = format!("{}: {} ", app.t(Msg::Language), app.language);
    let pad = (top.width as usize).saturating_sub(width(&title) + width(&right));
    frame.render_widget(
        para(format!("{title}{}{right}", " ".repeat(pad))).style(theme.bar()),
        top,
    );

    let hint = match &app.page {
        _ if matches!(app.overlay, Some(Overlay::Review { .. })) => app.t(Msg::ReviewKeys),
        Page::Setup(_) => app.t(Msg::SetupKeys),
        Page::Unlock { .. } => app.t(Msg::UnlockKeys),
        Page::Busy => app.t(Msg::Working),
        Page::Home(_) => app.t(Msg::HomeKeys),
        Page::Record(r) => app.t(record::record_keys(r)),
    };
    frame.render_widget(para(hint).style(theme.dim()), keys);
    if let Some((done, total)) = app.progress {
        let room = (status.width as usize).saturating_sub(40).clamp(10, 40);
        let filled = (done * room).checked_div(total).unwrap_or(0).min(room);
        let bar = format!(
            "{} [{}{}] {done} / {total}",
            app.t(Msg::Exporting),
            "█".repeat(filled),
            "░".repeat(room - filled)
        );
        frame.render_widget(para(bar).style(theme.heading()), status);
    } else if let Some((_, problem)) = &said {
        let style = if *problem {
            theme.problem()
        } else {
            theme.good()
        };
        let mut lines = said_lines;
        if lines.len() > rows as usize {
            lines.truncate(rows as usize);
            if let Some(last) = lines.last_mut() {
                *last = truncate(&format!("{last} …"), status.width as usize);
            }
        }
        let lines: Vec<Line> = lines.into_iter().map(Line::raw).collect();
        frame.render_widget(para(lines).style(style), status);
    }

    match &app.page {
        Page::Setup(s) => setup::setup(app, s, frame, body, &theme),
        Page::Unlock { passphrase, error } => {
            setup::unlock(app, passphrase, error, frame, body, &theme)
        }
        Page::Busy => frame.render_widget(para(app.t(Msg::Working)), body),
        Page::Home(h) => home::home(app, h, frame, body, &theme),
        Page::Record(r) => record::record(app, r, frame, body, &theme),
    }
    if let Some(overlay) = &app.overlay {
        overlay::draw_overlay(app, overlay, frame, body, &theme);
    }
}

/// A paragraph of text as the terminal should get it. U+0EB3 LAO VOWEL
/// SIGN AM joins its consonant into one cluster two columns wide; terminals
/// draw it as two cells, and ratatui and tmux then disagree about the
/// second one and leave stray marks when it is overwritten. Given as its
/// two parts (U+0ECD U+0EB2, its compatibility decomposition, drawn the
/// same), every Lao cluster is one column and nothing is left behind.
fn para<'a>(text: impl Into<Text<'a>>) -> Paragraph<'a> {
    let mut text = text.into();
    for line in &mut text.lines {
        shape_line(line);
    }
    Paragraph::new(text)
}

fn shape_line(line: &mut Line) {
    for span in &mut line.spans {
        if span.content.contains('\u{0EB3}') {
            span.content = span.content.replace('\u{0EB3}', "\u{0ECD}\u{0EB2}").into();
        }
    }
}

fn shaped<'a>(mut line: Line<'a>) -> Line<'a> {
    shape_line(&mut line);
    line
}

fn width(s: &str) -> usize {
    Line::from(s).width()
}

/// An input line "label: value" and where its cursor goes.
fn input_line<'a>(label: &'a str, input: &Input, focused: bool, theme: &Theme) -> Line<'a> {
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

fn set_cursor(frame: &mut Frame, area: Rect, x: usize, y: usize) {
    if x < area.width as usize && y < area.height as usize {
        frame.set_cursor_position(Position::new(area.x + x as u16, area.y + y as u16));
    }
}

/// Breaks text into lines of at most `room` columns: at spaces, and inside
/// a run without spaces (Lao writes none between words) at graphemes.
fn wrap(text: &str, room: usize) -> Vec<String> {
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
fn title_of(form: &crate::form::Form, lang: &str) -> String {
    form.title
        .get(Some(lang), form.default_language.as_deref())
        .unwrap_or(&form.id)
        .to_string()
}

/// A line of a home-page list: marker, `left` cut to `room` columns and
/// padded, then `right`; reversed when selected.
fn list_row<'a>(selected: bool, left: &str, right: &str, room: usize, theme: &Theme) -> Line<'a> {
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
fn truncate(text: &str, room: usize) -> String {
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

#[cfg(test)]
pub fn hint_for_tests(r: &super::record::RecordView) -> Msg {
    record::record_keys(r)
}

#[cfg(test)]
pub fn wrap_for_tests(text: &str, room: usize) -> Vec<String> {
    wrap(text, room)
}
