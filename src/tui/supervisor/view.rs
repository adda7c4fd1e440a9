//! Drawing the supervisor's screen (`fieldkit review`) from its model
//! (`tui::supervisor::app`): the list of records, a record's page, the
//! prompts and help; with the enumerator's screen's theme and text
//! shaping (`parts`). Only the rows in view are drawn: the cost of a
//! frame does not grow with the number of records.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};

use super::app::{App, Overlay, Page, RecordPage};
use super::words::W;
use crate::bundle::receipt::Decision;
use crate::supervise::Seen;
use crate::tui::input::Input;
use crate::tui::view::parts::{Theme, para, set_cursor, truncate, width, wrap};
use crate::tui::words::Lang;

pub fn render(app: &App, frame: &mut Frame) {
    let theme = Theme { color: app.color };
    let area = frame.area();
    let [top, body, keys, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let counts = W::Counts.fill(
        app.lang,
        &[
            &app.opened.bundles.len().to_string(),
            &app.opened.entries.len().to_string(),
            &app.verdicts().to_string(),
        ],
    );
    let left = format!(" {} · {counts}", app.t(W::Title));
    let right = format!("{}: {} ", app.t(W::Language), language_name(app.lang));
    let pad = (top.width as usize).saturating_sub(width(&left) + width(&right));
    frame.render_widget(
        para(truncate(
            &format!("{left}{}{right}", " ".repeat(pad)),
            top.width as usize,
        ))
        .style(theme.bar()),
        top,
    );
    let hint = match (&app.overlay, &app.page) {
        (Some(Overlay::Comment { .. } | Overlay::ReturnNote { .. } | Overlay::Field { .. }), _) => {
            app.t(W::InputKeys)
        }
        (_, Page::List) => app.t(W::ListKeys),
        (_, Page::Record(_)) => app.t(W::RecordKeys),
    };
    frame.render_widget(
        para(truncate(hint, keys.width as usize)).style(theme.dim()),
        keys,
    );
    if let Some(said) = &app.said {
        let facts: Vec<&str> = said.facts.iter().map(String::as_str).collect();
        let mut text = said.words.fill(app.lang, &facts);
        if let Some(d) = &said.detail {
            text = format!("{text}: {d}");
        }
        let style = if said.problem {
            theme.problem()
        } else {
            theme.good()
        };
        frame.render_widget(
            para(truncate(&text, status.width as usize)).style(style),
            status,
        );
    }
    match &app.page {
        Page::List => list(app, frame, body, &theme),
        Page::Record(r) => record(app, r, frame, body, &theme),
    }
    if let Some(overlay) = &app.overlay {
        draw_overlay(app, overlay, frame, body, &theme);
    }
}

fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "English",
        Lang::Lo => "ລາວ",
    }
}

/// "11-22 08:40" from an RFC 3339 time; the text as it is otherwise.
fn when(time: &str) -> String {
    match (time.get(5..10), time.get(11..16)) {
        (Some(day), Some(hm)) => format!("{day} {hm}"),
        _ => time.to_string(),
    }
}

fn verdict_word(app: &App, entry: usize) -> &'static str {
    match app.pending[entry].decision {
        Some(Decision::Approved) => app.t(W::Approved),
        Some(Decision::Returned) => app.t(W::Returned),
        None => app.t(W::NoVerdict),
    }
}

/// A cell: text cut or padded to `room` columns.
fn cell(text: &str, room: usize) -> String {
    let text = truncate(text, room);
    let pad = room.saturating_sub(width(&text));
    format!("{text}{}", " ".repeat(pad))
}

fn list(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let rows = app
        .list_rows()
        .min(usize::from(area.height.saturating_sub(1)).max(1));
    let n = app.opened.entries.len();
    let top = (app.selected / rows) * rows;
    let full = area.width as usize;
    // Bundle 12, form 22, times 17, version 3, checks 6: the verdict
    // takes the rest.
    let head = format!(
        "  {} {} {} {} {} {}",
        cell(app.t(W::HeadBundle), 12),
        cell(app.t(W::HeadForm), 22),
        cell(app.t(W::HeadTimes), 17),
        cell("v", 3),
        cell(app.t(W::HeadChecks), 6),
        app.t(W::HeadVerdict)
    );
    let mut lines = vec![Line::styled(truncate(&head, full), theme.heading())];
    for i in top..(top + rows).min(n) {
        let e = &app.opened.entries[i];
        let b = &app.opened.bundles[e.bundle];
        let started = e.view().map(|v| when(&v.started)).unwrap_or_default();
        let finalized = when(&e.finalized_at);
        let times = match started.split_once(' ') {
            Some((day, hm)) if finalized.starts_with(day) => {
                format!("{day} {hm}-{}", finalized.get(6..).unwrap_or(""))
            }
            _ if started.is_empty() => finalized.clone(),
            _ => format!("{started}-{finalized}"),
        };
        let checks = match &e.seen {
            Seen::View(v) if v.checks.is_empty() => String::new(),
            Seen::View(v) => format!("{} ⚠", v.checks.len()),
            Seen::NoView => "·".into(),
            Seen::Problem(_) => "✗".into(),
        };
        let text = format!(
            "{} {} {} {} {} {} {}",
            if i == app.selected { "▸" } else { " " },
            cell(&format!("{} #{}", b.enumerator_id, b.sequence), 12),
            cell(&e.form_id, 22),
            cell(&times, 17),
            cell(&format!("v{}", e.version), 3),
            cell(&checks, 6),
            verdict_word(app, i)
        );
        let line = Line::raw(truncate(&text, full));
        lines.push(if i == app.selected {
            line.style(theme.selected())
        } else {
            line
        });
    }
    frame.render_widget(para(lines), area);
}

fn record(app: &App, r: &RecordPage, frame: &mut Frame, area: Rect, theme: &Theme) {
    let e = &app.opened.entries[r.entry];
    let b = &app.opened.bundles[e.bundle];
    let full = area.width as usize;
    let form = e
        .form
        .and_then(|i| app.opened.forms.get(i))
        .map(|f| {
            let lang = crate::supervise::labels::language(f, app.lang);
            f.title
                .get(lang, f.default_language.as_deref())
                .unwrap_or(&f.id)
                .to_string()
        })
        .unwrap_or_else(|| e.form_id.clone());
    let p = &app.pending[r.entry];
    let verdict = match p.decision {
        None => app.t(W::NotYet).to_string(),
        Some(_) if p.note.is_empty() => verdict_word(app, r.entry).to_string(),
        Some(_) => format!(
            "{} · {}: {}",
            verdict_word(app, r.entry),
            app.t(W::Note),
            p.note
        ),
    };
    let started = e.view().map(|v| v.started.as_str()).unwrap_or("");
    let mut lines = vec![
        Line::styled(
            truncate(
                &format!(
                    "{} {} · {} {} · {} {} #{}",
                    app.t(W::Record),
                    e.record_id,
                    app.t(W::Version),
                    e.version,
                    app.t(W::By),
                    b.enumerator_id,
                    b.sequence
                ),
                full,
            ),
            theme.heading(),
        ),
        Line::raw(truncate(
            &format!(
                "{form} ({} {}) · {} {} · {} {}",
                e.form_id,
                e.form_version,
                app.t(W::Started),
                when(started),
                app.t(W::Finalized),
                when(&e.finalized_at)
            ),
            full,
        )),
        Line::raw(truncate(&format!("{}: {verdict}", app.t(W::Verdict)), full)),
        Line::raw(""),
    ];
    match &e.seen {
        Seen::NoView => lines.push(Line::styled(app.t(W::NoView), theme.dim())),
        Seen::Problem(why) => lines.push(Line::styled(
            truncate(&format!("{}: {why}", app.t(W::Problem)), full),
            theme.problem(),
        )),
        Seen::View(_) if r.rows.is_empty() => {
            lines.push(Line::styled(app.t(W::NoAnswers), theme.dim()))
        }
        Seen::View(_) => lines.push(Line::styled(app.t(W::Answers), theme.heading())),
    }
    let room = app
        .record_rows()
        .min(usize::from(area.height.saturating_sub(10)).max(1));
    let top = (r.at / room) * room;
    let label_room = (full / 2).saturating_sub(4);
    for i in top..(top + room).min(r.rows.len()) {
        let row = &r.rows[i];
        let mark = match (row.check.is_some(), p.comment(&row.answer.field).is_some()) {
            (_, true) => "✎",
            (true, false) => "⚠",
            _ => " ",
        };
        let value = row.check.as_deref().unwrap_or(&row.answer.value);
        let text = format!(
            "{}{mark} {} {}",
            if i == r.at { "▸" } else { " " },
            cell(&row.answer.label, label_room),
            value
        );
        let line = Line::raw(truncate(&text, full));
        lines.push(if i == r.at {
            line.style(theme.selected())
        } else {
            line
        });
    }
    let [above, detail] = Layout::vertical([Constraint::Min(1), Constraint::Length(5)]).areas(area);
    frame.render_widget(para(lines), above);
    // The selected row in full: its path, label, answer and comment.
    let mut more = Vec::new();
    if let Some(row) = r.rows.get(r.at) {
        more.push(Line::styled(truncate(&row.answer.field, full), theme.dim()));
        let text = match &row.check {
            Some(c) => format!("{} · {}: {c}", row.answer.label, app.t(W::Check)),
            None => format!("{}: {}", row.answer.label, row.answer.value),
        };
        more.extend(wrap(&text, full).into_iter().take(2).map(Line::raw));
        if let Some(c) = p.comment(&row.answer.field) {
            more.push(Line::styled(
                truncate(&format!("✎ {}: {c}", app.t(W::Comment)), full),
                theme.good(),
            ));
        }
    }
    frame.render_widget(
        para(more).block(Block::default().borders(Borders::TOP)),
        detail,
    );
}

fn draw_overlay(app: &App, overlay: &Overlay, frame: &mut Frame, area: Rect, theme: &Theme) {
    // Inside the box's borders.
    let full = (area.width as usize).saturating_sub(2);
    let (lines, cursor): (Vec<Line>, Option<(usize, usize)>) = match overlay {
        Overlay::Help => (
            [
                W::HelpMove,
                W::HelpOpen,
                W::HelpApprove,
                W::HelpReturn,
                W::HelpComment,
                W::HelpField,
                W::HelpUndo,
                W::HelpNext,
                W::HelpWrite,
                W::HelpQuit,
            ]
            .iter()
            .map(|w| Line::raw(truncate(app.t(*w), full)))
            .chain([Line::raw("")])
            .chain(
                wrap(app.t(W::HelpSeen), full)
                    .into_iter()
                    .map(|l| Line::styled(l, theme.dim())),
            )
            .collect(),
            None,
        ),
        Overlay::Quit => (heading(app.t(W::AskQuit), full, theme), None),
        Overlay::Comment {
            field,
            label,
            input,
        } => {
            let mut lines = heading(&W::CommentOn.fill(app.lang, &[label]), full, theme);
            lines.push(Line::styled(truncate(field, full), theme.dim()));
            lines.push(Line::styled(app.t(W::CommentEmpty), theme.dim()));
            with_input(lines, input)
        }
        Overlay::Field { input } => with_input(heading(app.t(W::FieldPrompt), full, theme), input),
        Overlay::ReturnNote { input } => {
            let id = app
                .opened
                .entries
                .get(app.current())
                .map(|e| super::app::short_id(&e.record_id))
                .unwrap_or("");
            with_input(
                heading(&W::ReturnNote.fill(app.lang, &[id]), full, theme),
                input,
            )
        }
    };
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        y: area.y + area.height - height,
        height,
        ..area
    };
    frame.render_widget(Clear, rect);
    let title = if matches!(overlay, Overlay::Help) {
        app.t(W::HelpTitle)
    } else {
        ""
    };
    let inner = Block::default().borders(Borders::ALL).title(title);
    let content = inner.inner(rect);
    frame.render_widget(para(lines).block(inner), rect);
    if let Some((x, y)) = cursor {
        set_cursor(frame, content, x, y);
    }
}

/// A prompt's text wrapped to `full` columns, as headings.
fn heading(text: &str, full: usize, theme: &Theme) -> Vec<Line<'static>> {
    wrap(text, full)
        .into_iter()
        .map(|l| Line::styled(l, theme.heading()))
        .collect()
}

/// A prompt's `lines` with the input line "> text" under them, and where
/// its cursor goes.
fn with_input<'a>(
    mut lines: Vec<Line<'a>>,
    input: &Input,
) -> (Vec<Line<'a>>, Option<(usize, usize)>) {
    let y = lines.len();
    lines.push(Line::from(vec![Span::raw("> "), Span::raw(input.shown())]));
    (lines, Some((2 + input.cursor_column(), y)))
}
