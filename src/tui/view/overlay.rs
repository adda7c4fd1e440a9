//! What opens over a page: help, confirmations, the export and receipt
//! dialogs, the jump list and the review page.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Wrap};

use super::parts::{Theme, para, set_cursor, shaped, truncate, wrap};
use crate::tui::app::{App, Overlay, Page};
use crate::tui::input::Input;
use crate::tui::keymap;
use crate::tui::review::{QuestionState, ReviewItem};
use crate::tui::words::Msg;

/// A question and a line to type the answer in.
fn dialog<'a>(app: &App, prompt: &'a str, input: &Input, theme: &Theme) -> Vec<Line<'a>> {
    vec![
        Line::raw(""),
        Line::styled(prompt, theme.heading()),
        Line::from(vec![
            Span::raw("> "),
            Span::styled(
                input.shown(),
                Style::default().add_modifier(Modifier::UNDERLINED),
            ),
        ]),
        Line::raw(""),
        Line::styled(app.t(Msg::DialogKeys), theme.dim()),
    ]
}

pub(super) fn draw_overlay(
    app: &App,
    overlay: &Overlay,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) {
    // Overlays take the whole body: small terminals need every row.
    let rect = area;
    frame.render_widget(Clear, rect);
    let (title, lines): (&str, Vec<Line>) = match overlay {
        Overlay::Picker(p) => {
            super::picker::draw(app, p, frame, rect, theme);
            return;
        }
        Overlay::Help => (
            app.t(Msg::HelpTitle),
            keymap::help(app.lang())
                .into_iter()
                .map(|(k, what)| {
                    Line::from(vec![
                        Span::styled(format!("{k:<15} "), theme.heading()),
                        Span::raw(what),
                    ])
                })
                .chain([Line::raw(""), Line::styled(app.t(Msg::Close), theme.dim())])
                .collect(),
        ),
        Overlay::Export { dir } => {
            let cursor = 3 + dir.cursor_column();
            set_cursor(frame, rect, cursor + 1, 3);
            (
                app.t(Msg::ExportTitle),
                dialog(app, app.t(Msg::ExportPrompt), dir, theme),
            )
        }
        Overlay::Ack { file } => {
            let cursor = 3 + file.cursor_column();
            set_cursor(frame, rect, cursor + 1, 3);
            (
                app.t(Msg::AckTitle),
                dialog(app, app.t(Msg::ReceiptFile), file, theme),
            )
        }
        Overlay::Pack { file } => {
            let cursor = 3 + file.cursor_column();
            set_cursor(frame, rect, cursor + 1, 3);
            (
                app.t(Msg::PackTitle),
                dialog(app, app.t(Msg::PackFile), file, theme),
            )
        }
        Overlay::ConfirmDelete { id } => (
            "",
            vec![Line::styled(
                Msg::ConfirmDelete.fill(app.lang(), &app.draft_words(id)),
                theme.problem(),
            )],
        ),
        Overlay::ConfirmRemove => {
            let Page::Record(r) = &app.page else { return };
            let (n, label) = r.entry_in_view().unwrap_or_default();
            (
                "",
                vec![Line::styled(
                    Msg::ConfirmRemove.fill(app.lang(), &[n.to_string(), label]),
                    theme.problem(),
                )],
            )
        }
        Overlay::Jump { cursor } => {
            let Page::Record(r) = &app.page else { return };
            let entries = r.jump_entries();
            let rows = rect.height.saturating_sub(2) as usize;
            let first = cursor
                .saturating_sub(rows / 2)
                .min(entries.len().saturating_sub(rows));
            let lines = entries
                .iter()
                .enumerate()
                .skip(first)
                .take(rows)
                .map(|(i, e)| {
                    let (mark, style) = match e.state {
                        QuestionState::Answered => ("✓", theme.good()),
                        QuestionState::Missing => ("!", theme.problem()),
                        QuestionState::Violated => ("✗", theme.problem()),
                        QuestionState::Empty => ("·", theme.dim()),
                        QuestionState::Note => (" ", theme.dim()),
                    };
                    let text = format!("{}{} {}", "  ".repeat(e.depth), mark, e.label);
                    let line = Line::styled(
                        truncate(&text, (rect.width as usize).saturating_sub(2)),
                        style,
                    );
                    if i == *cursor {
                        line.style(theme.selected())
                    } else {
                        line
                    }
                })
                .collect();
            (app.t(Msg::JumpTitle), lines)
        }
        Overlay::Review { cursor } => {
            let lines = review(app, *cursor, rect, theme);
            let block = Block::default()
                .borders(Borders::ALL)
                .title(shaped(Line::styled(
                    format!(" {} ", app.t(Msg::ReviewTitle)),
                    theme.heading(),
                )));
            // Wrapped by `review`, so the paragraph must not wrap again.
            frame.render_widget(para(lines).block(block), rect);
            return;
        }
    };
    let mut block = Block::default().borders(Borders::ALL);
    if !title.is_empty() {
        block = block.title(shaped(Line::styled(format!(" {title} "), theme.heading())));
    }
    frame.render_widget(para(lines).block(block).wrap(Wrap { trim: false }), rect);
}

/// The review page's lines, wrapped to the overlay and scrolled so the
/// entry at `cursor` is in view.
fn review<'a>(app: &App, cursor: usize, rect: Rect, theme: &Theme) -> Vec<Line<'a>> {
    let room = (rect.width as usize).saturating_sub(4);
    let rows = rect.height.saturating_sub(2) as usize;
    let items = &app.review;
    let mut lines: Vec<Line> = Vec::new();
    // (first line, line after) of the entry at the cursor.
    let mut at = (0, 0);
    let heading = |lines: &mut Vec<Line<'a>>, text: &str, style: Style| {
        for l in wrap(text, room + 2) {
            lines.push(Line::styled(l, style));
        }
    };
    let clean = matches!(items.first(), Some(ReviewItem::Finalize));
    if clean {
        heading(&mut lines, app.t(Msg::ReviewClean), theme.good());
    } else {
        heading(&mut lines, app.t(Msg::ReviewProblems), theme.problem());
    }
    let mut answers_heading = false;
    for (i, item) in items.iter().enumerate() {
        let (text, style, indent) = match item {
            ReviewItem::Finalize => (app.t(Msg::ReviewFinalize).to_string(), theme.heading(), 0),
            ReviewItem::Problem { text, .. } => (format!("! {text}"), theme.problem(), 0),
            ReviewItem::Comment { text, .. } => (
                format!(
                    "» {}",
                    Msg::SupervisorNote.fill(app.lang(), std::slice::from_ref(text))
                ),
                theme.problem(),
                0,
            ),
            ReviewItem::Question { entry, answer } => {
                if !answers_heading {
                    answers_heading = true;
                    lines.push(Line::raw(""));
                    heading(&mut lines, app.t(Msg::ReviewAnswers), theme.heading());
                }
                let (mark, style) = match entry.state {
                    QuestionState::Answered => ("✓", Style::default()),
                    QuestionState::Missing => ("!", theme.problem()),
                    QuestionState::Violated => ("✗", theme.problem()),
                    QuestionState::Empty | QuestionState::Note => ("·", theme.dim()),
                };
                let answer = if answer.is_empty() {
                    app.t(Msg::NoAnswer).to_string()
                } else {
                    answer.replace('\n', " ")
                };
                (
                    format!("{mark} {}: {answer}", entry.label),
                    style,
                    2 * entry.depth,
                )
            }
        };
        let start = lines.len();
        let width = room.saturating_sub(indent).max(8);
        for (k, l) in wrap(&text, width).into_iter().enumerate() {
            let pad = " ".repeat(indent + if k == 0 { 0 } else { 2 });
            let line = Line::styled(format!("{pad}{l}"), style);
            lines.push(if i == cursor {
                line.style(theme.selected())
            } else {
                line
            });
        }
        if i == cursor {
            at = (start, lines.len());
        }
    }
    // Scroll: the cursor's entry in view, a third of the way down.
    let scroll = if at.1 <= rows {
        0
    } else {
        at.0.saturating_sub(rows / 3)
            .min(lines.len().saturating_sub(rows))
    };
    lines.into_iter().skip(scroll).take(rows.max(1)).collect()
}
