//! A record page: the questions of the page in view, their editors and
//! messages (and on a returned record the supervisor's comments), the
//! group path and the question count; and its key hints.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Wrap;

use super::parts::{Theme, para, set_cursor, title_of, truncate, width, wrap};
use crate::form::{Kind, Screen};
use crate::tui::app::App;
use crate::tui::keymap::{Context, Hints};
use crate::tui::record::{DateShape, Editor, RecordView};
use crate::tui::words::Msg;

/// The key hints of a record page: what the keys do on the question in
/// focus (how to pick, clear, or give today's date).
pub(super) fn record_keys(r: &RecordView) -> Hints {
    let contexts = r.key_contexts();
    let has = |c: Context| contexts.contains(&c);
    if has(Context::AddRepeat) {
        Hints::AddRepeat
    } else if has(Context::Ticks) {
        Hints::Ticks
    } else if has(Context::List) {
        Hints::List
    } else if has(Context::Ack) {
        Hints::Ack
    } else if has(Context::File) {
        Hints::File
    } else if has(Context::Date) {
        Hints::Date
    } else {
        Hints::Text
    }
}

/// "Group › Subgroup [2]": where a question sits.
fn group_path(r: &RecordView) -> String {
    let Some(pos) = r.focused().or_else(|| match &r.screen {
        Screen::AddRepeat { path, repeat } => Some(crate::form::Pos {
            path: path.clone(),
            node: *repeat,
        }),
        _ => None,
    }) else {
        return String::new();
    };
    let form = r.session.form();
    let mut parts = Vec::new();
    let mut at = form.nodes[pos.node].parent;
    while let Some(id) = at {
        let node = &form.nodes[id];
        let label = r.session.label(&crate::form::Pos {
            path: pos
                .path
                .iter()
                .copied()
                .filter(|(rep, _)| *rep != id)
                .collect(),
            node: id,
        });
        let label = if label.is_empty() {
            node.name.clone()
        } else {
            label
        };
        match pos.path.iter().find(|(rep, _)| *rep == id) {
            Some((_, i)) => parts.push(format!("{label} [{}]", i + 1)),
            None => parts.push(label),
        }
        at = node.parent;
    }
    parts.reverse();
    parts.join(" › ")
}

pub(super) fn record(app: &App, r: &RecordView, frame: &mut Frame, area: Rect, theme: &Theme) {
    let form = r.session.form();
    let title = title_of(form, &app.language);
    let (n, m) = r.progress();
    let progress = format!("{} {n} {} {m}", app.t(Msg::Question), app.t(Msg::Of));
    let path = group_path(r);
    let head = if path.is_empty() {
        title
    } else {
        format!("{title} › {path}")
    };
    let room = (area.width as usize).saturating_sub(width(&progress) + 2);
    let head = truncate(&head, room);
    let pad = room.saturating_sub(width(&head));
    let [head_area, body] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        para(vec![
            Line::from(vec![
                Span::styled(format!(" {head}"), theme.heading()),
                Span::raw(" ".repeat(pad + 1)),
                Span::raw(progress),
            ]),
            Line::styled("─".repeat(area.width as usize), theme.dim()),
        ]),
        head_area,
    );

    if let Screen::AddRepeat { path, repeat } = &r.screen {
        let label = r.session.label(&crate::form::Pos {
            path: path.clone(),
            node: *repeat,
        });
        let label = if label.is_empty() {
            form.nodes[*repeat].name.clone()
        } else {
            label
        };
        let count = r.session.instance_count(path, *repeat);
        let ask = if count == 0 {
            app.t(Msg::AddFirst)
        } else {
            app.t(Msg::AddAnother)
        };
        let lines = vec![
            Line::raw(""),
            Line::styled(format!(" {ask}: {label}?"), theme.heading()),
            Line::raw(format!(" {}: {count}", app.t(Msg::Entries))),
        ];
        frame.render_widget(para(lines).wrap(Wrap { trim: false }), body);
        return;
    }

    let questions = r.questions();
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor: Option<(usize, usize)> = None;
    let mut list_at: Option<usize> = None;
    for (i, pos) in questions.iter().enumerate() {
        let node = &form.nodes[pos.node];
        let focused = i == r.focus;
        let required = node.kind.is_input() && r.session.is_required(pos);
        let label = r.session.label(pos);
        let marker = if focused && questions.len() > 1 {
            "▸"
        } else {
            " "
        };
        let mut first = true;
        let room = (body.width as usize).saturating_sub(3);
        for text in wrap(&label, room) {
            let mut spans = vec![Span::raw(if first { marker } else { " " })];
            if first && required {
                spans.push(Span::styled("* ", theme.problem()));
            } else {
                spans.push(Span::raw("  "));
            }
            spans.push(Span::styled(text, theme.heading()));
            lines.push(Line::from(spans));
            first = false;
        }
        let hint = r.session.hint(pos);
        if focused && !hint.is_empty() {
            for text in wrap(&hint, room) {
                lines.push(Line::styled(format!("   {text}"), theme.dim()));
            }
        }
        // What the entity list holds for it: last round's value.
        if let Some(last) = focused.then(|| r.session.last_round(pos)).flatten() {
            let when = last
                .when
                .get(..7)
                .map(|month| format!(", {month}"))
                .unwrap_or_default();
            let said = Msg::LastRound.fill(app.lang(), &[last.value, when]);
            for text in wrap(&said, room) {
                lines.push(Line::styled(format!("   {text}"), theme.heading()));
            }
        }
        let value = r.session.raw_value(pos);
        match (&r.editor, focused) {
            (Editor::Text(input), true) => {
                let example = match node.kind {
                    Kind::Date => DateShape::of(node).placeholder(),
                    Kind::Time => "HH:MM",
                    Kind::DateTime => "YYYY-MM-DDTHH:MM",
                    Kind::Geopoint => "lat lon [alt [acc]]",
                    Kind::Geotrace | Kind::Geoshape => "lat lon; lat lon; ...",
                    // Words, not a number that reads as an answer given.
                    Kind::Integer => app.t(Msg::WholeNumber),
                    Kind::Decimal => app.t(Msg::Number),
                    _ => "",
                };
                let mut spans = vec![
                    Span::raw("   > "),
                    Span::styled(
                        input.shown(),
                        Style::default().add_modifier(Modifier::UNDERLINED),
                    ),
                ];
                if input.text.is_empty() && !example.is_empty() {
                    spans.push(Span::styled(format!(" {example}"), theme.dim()));
                }
                cursor = Some((5 + input.cursor_column(), lines.len()));
                lines.push(Line::from(spans));
            }
            (Editor::Choices(c), true) => {
                let filter = if c.filter.text.is_empty() {
                    format!("({})", app.t(Msg::TypeToFilter))
                } else {
                    c.filter.text.clone()
                };
                let total = r.session.choices(pos).len();
                lines.push(Line::from(vec![
                    Span::raw("   / "),
                    Span::styled(filter, Style::default().add_modifier(Modifier::UNDERLINED)),
                    Span::styled(
                        format!(
                            "  {} {} {} {total}",
                            app.t(Msg::Showing),
                            c.visible.len(),
                            app.t(Msg::Of)
                        ),
                        theme.dim(),
                    ),
                ]));
                if !c.browsing {
                    cursor = Some((5 + c.filter.cursor_column(), lines.len() - 1));
                }
                // How to pick: Enter never does.
                let how = match (c.browsing, c.multiple) {
                    (false, _) => Msg::ListFiltering,
                    (true, true) => Msg::SpaceToggles,
                    (true, false) => Msg::SpacePicks,
                };
                lines.push(Line::styled(format!("   {}", app.t(how)), theme.dim()));
                list_at = Some(lines.len());
            }
            (_, focused) if node.kind.media().is_some() => {
                let shown = if value.is_empty() {
                    app.t(Msg::NoFile).to_string()
                } else {
                    match r.attached.get(value) {
                        Some(&size) => {
                            format!("{value} ({})", crate::form::media::human_size(size))
                        }
                        None => value.to_string(),
                    }
                };
                let style = if value.is_empty() {
                    theme.dim()
                } else {
                    Style::default()
                };
                lines.push(Line::styled(format!("   = {shown}"), style));
                if focused && r.editor == Editor::File {
                    lines.push(Line::styled(
                        format!("   {}", app.t(Msg::AttachHint)),
                        theme.dim(),
                    ));
                }
            }
            (Editor::Acknowledge, true) | (_, false) if node.kind == Kind::Acknowledge => {
                let mark = if value == "OK" { "[x]" } else { "[ ]" };
                lines.push(Line::raw(format!("   {mark} {}", app.t(Msg::Acknowledged))));
            }
            (_, _) if node.kind.is_input() => {
                let shown = r.shown_value(pos);
                if !shown.is_empty() {
                    lines.push(Line::raw(format!("   = {shown}")));
                }
            }
            _ => {}
        }
        // A returned record: what the supervisor said of this answer.
        if let Some(returned) = &r.draft.returned {
            let path = r.session.describe(pos);
            for comment in returned.comments_on(&path) {
                let said = Msg::SupervisorNote.fill(app.lang(), &[comment.to_string()]);
                for (k, text) in wrap(&said, room.saturating_sub(2)).into_iter().enumerate() {
                    let mark = if k == 0 { "»" } else { " " };
                    lines.push(Line::styled(format!("   {mark} {text}"), theme.problem()));
                }
            }
        }
        if let Some(m) = r.message(pos) {
            for (k, text) in wrap(&m, room.saturating_sub(2)).into_iter().enumerate() {
                let mark = if k == 0 { "!" } else { " " };
                lines.push(Line::styled(format!("   {mark} {text}"), theme.problem()));
            }
        }
    }

    // The choice list takes the rows that are left.
    if let (Some(at), Some(pos), Editor::Choices(c)) = (list_at, r.focused(), &r.editor) {
        let rows = (body.height as usize).saturating_sub(lines.len()).max(3);
        let mut list = Vec::new();
        if c.visible.is_empty() {
            list.push(Line::styled(
                format!("   {}", app.t(Msg::NoMatch)),
                theme.dim(),
            ));
        }
        let ticked: Vec<&str> = r.session.raw_value(&pos).split_whitespace().collect();
        let first = c
            .cursor
            .saturating_sub(rows / 2)
            .min(c.visible.len().saturating_sub(rows));
        if let Some(lst) = form.list_of(pos.node) {
            for (k, &i) in c.visible.iter().enumerate().skip(first).take(rows) {
                let choice = &lst.choices[i];
                let on = ticked.contains(&choice.name.as_str());
                let mark = match (c.multiple, on) {
                    (true, true) => "[x]",
                    (true, false) => "[ ]",
                    (false, true) => "(•)",
                    (false, false) => "( )",
                };
                let text = format!("   {mark} {}", r.session.choice_label(lst, i));
                let line = Line::raw(truncate(&text, body.width as usize));
                // The highlight shows once Space would pick it.
                list.push(if k == c.cursor && c.browsing {
                    line.style(theme.selected())
                } else {
                    line
                });
            }
        }
        let tail = lines.split_off(at);
        lines.extend(list);
        lines.extend(tail);
    }
    // Keep the focused part in view: scroll when the page is taller.
    let height = body.height as usize;
    let scroll = cursor
        .map(|(_, y)| y)
        .or(list_at)
        .map_or(0, |y| y.saturating_sub(height.saturating_sub(4)));
    frame.render_widget(para(lines).scroll((scroll as u16, 0)), body);
    if let Some((x, y)) = cursor
        && y >= scroll
    {
        set_cursor(frame, body, x, y - scroll);
    }
}
