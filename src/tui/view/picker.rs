//! The file picker over a record: the folder, what the question takes,
//! the filter, the entries (folders first, files with size and type),
//! and why a file was refused.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use super::parts::{Theme, para, shaped, truncate, wrap};
use crate::form::media::human_size;
use crate::tui::app::App;
use crate::tui::picker::{Picker, Shown, file_type};
use crate::tui::words::Msg;

pub(super) fn draw(app: &App, p: &Picker, frame: &mut Frame, rect: Rect, theme: &Theme) {
    let width = (rect.width as usize).saturating_sub(2);
    let mut lines: Vec<Line> = Vec::new();
    let folder = p
        .folder
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| app.t(Msg::Working).to_string());
    lines.push(Line::styled(truncate(&folder, width), theme.heading()));
    let takes = p
        .takes()
        .unwrap_or_else(|| app.t(Msg::PickerAnyFile).to_string());
    let cap = p.cap_mb.to_string();
    lines.push(Line::styled(
        truncate(&Msg::PickerTakes.fill(app.lang(), &[takes, cap]), width),
        theme.dim(),
    ));
    lines.push(Line::from(vec![
        Span::raw("/ "),
        Span::styled(
            p.filter.text.clone(),
            Style::default().add_modifier(Modifier::UNDERLINED),
        ),
    ]));
    let mut bottom: Vec<Line> = Vec::new();
    if let Some(m) = &p.message {
        for l in wrap(m, width) {
            bottom.push(Line::styled(l, theme.problem()));
        }
    }
    bottom.push(Line::styled(
        truncate(app.t(Msg::PickerKeys), width),
        theme.dim(),
    ));
    let rows = (rect.height as usize)
        .saturating_sub(2 + lines.len() + bottom.len())
        .max(1);
    let shown = p.shown();
    if shown.is_empty() {
        lines.push(Line::styled(app.t(Msg::PickerEmpty), theme.dim()));
    }
    let first = p
        .cursor
        .saturating_sub(rows / 2)
        .min(shown.len().saturating_sub(rows));
    let folder_word = app.t(Msg::PickerFolder);
    for (i, s) in shown.iter().enumerate().skip(first).take(rows) {
        let text = match s {
            Shown::Up => "../".to_string(),
            Shown::Entry(e) if e.folder => {
                let name = format!("{}/", e.name);
                let room = width.saturating_sub(12);
                format!("{:<room$} {folder_word:>10}", truncate(&name, room))
            }
            Shown::Entry(e) => {
                let room = width.saturating_sub(22);
                format!(
                    "{:<room$} {:>10} {:>8}",
                    truncate(&e.name, room),
                    human_size(e.size),
                    truncate(&file_type(&e.name), 8)
                )
            }
        };
        let line = Line::raw(text);
        lines.push(if i == p.cursor {
            line.style(theme.selected())
        } else {
            line
        });
    }
    let pad = (rect.height as usize).saturating_sub(2 + lines.len() + bottom.len());
    lines.extend(std::iter::repeat_n(Line::raw(""), pad));
    lines.extend(bottom);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(shaped(Line::styled(
            format!(" {} ", app.t(Msg::PickerTitle)),
            theme.heading(),
        )));
    frame.render_widget(para(lines).block(block), rect);
}
