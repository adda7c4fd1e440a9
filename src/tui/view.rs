//! Drawing: every page and overlay from `&App`, nothing else. Works from
//! 80x24 down to small terminals; without colour when NO_COLOR is set.
//! Text widths come from ratatui, which measures grapheme clusters, so Lao
//! vowel signs and tone marks take no column.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, Overlay, Page, Pane, SetupField};
use super::chrome::{self, Msg};
use super::input::Input;
use super::record::{Editor, QuestionState, RecordView, ReviewItem};
use crate::form::{Kind, Screen};

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
        Page::Record(r) => app.t(record_keys(r)),
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
        Page::Setup(s) => setup(app, s, frame, body, &theme),
        Page::Unlock { passphrase, error } => unlock(app, passphrase, error, frame, body, &theme),
        Page::Busy => frame.render_widget(para(app.t(Msg::Working)), body),
        Page::Home(h) => home(app, h, frame, body, &theme),
        Page::Record(r) => record(app, r, frame, body, &theme),
    }
    if let Some(overlay) = &app.overlay {
        draw_overlay(app, overlay, frame, body, &theme);
    }
}

/// The key hints of a record page: what the keys do on the question in
/// focus (how to pick, clear, or give today's date).
fn record_keys(r: &RecordView) -> Msg {
    if let Screen::AddRepeat { .. } = r.screen {
        return Msg::AddKeys;
    }
    match &r.editor {
        Editor::Choices(c) if c.multiple => Msg::TickKeys,
        Editor::Choices(_) => Msg::ListKeys,
        Editor::Acknowledge => Msg::AckKeys,
        Editor::Text(_)
            if r.focused().is_some_and(|p| {
                matches!(
                    r.session.form().nodes[p.node].kind,
                    Kind::Date | Kind::Time | Kind::DateTime
                )
            }) =>
        {
            Msg::DateKeys
        }
        _ => Msg::FormKeys,
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

fn setup(app: &App, s: &super::app::Setup, frame: &mut Frame, area: Rect, theme: &Theme) {
    // Wrapped here, not by the paragraph, so the cursor's row is known.
    let room = area.width as usize;
    let mut lines: Vec<Line> = wrap(app.t(Msg::SetupTitle), room)
        .into_iter()
        .map(|l| Line::styled(l, theme.heading()))
        .chain(
            wrap(app.t(Msg::SetupIntro), room)
                .into_iter()
                .map(Line::raw),
        )
        .collect();
    lines.push(Line::raw(""));
    let mut cursor = None;
    for f in SetupField::ALL {
        let label = match f {
            SetupField::Id => app.t(Msg::EnumeratorId),
            SetupField::Name => app.t(Msg::FullName),
            SetupField::Pass => app.t(Msg::Passphrase),
            SetupField::Again => app.t(Msg::PassphraseAgain),
            SetupField::Recipients => app.t(Msg::Recipients),
        };
        let input = s.field(f);
        if f == s.focus {
            cursor = Some((2 + width(label) + 2 + input.cursor_column(), lines.len()));
        }
        lines.push(input_line(label, input, f == s.focus, theme));
    }
    if let Some(e) = &s.error {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("! {}", e.text(app.lang())),
            theme.problem(),
        ));
    }
    frame.render_widget(para(lines).wrap(Wrap { trim: false }), area);
    if let Some((x, y)) = cursor {
        set_cursor(frame, area, x, y);
    }
}

fn set_cursor(frame: &mut Frame, area: Rect, x: usize, y: usize) {
    if x < area.width as usize && y < area.height as usize {
        frame.set_cursor_position(Position::new(area.x + x as u16, area.y + y as u16));
    }
}

fn unlock(
    app: &App,
    passphrase: &Input,
    error: &Option<super::chrome::Notice>,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) {
    let mut lines = vec![
        Line::styled(app.t(Msg::UnlockTitle), theme.heading()),
        Line::raw(""),
        input_line(app.t(Msg::Passphrase), passphrase, true, theme),
    ];
    if let Some(e) = error {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("! {}", e.text(app.lang())),
            theme.problem(),
        ));
    }
    frame.render_widget(para(lines).wrap(Wrap { trim: false }), area);
    let x = 2 + width(app.t(Msg::Passphrase)) + 2 + passphrase.cursor_column();
    set_cursor(frame, area, x, 2);
}

fn home(app: &App, h: &super::app::Home, frame: &mut Frame, area: Rect, theme: &Theme) {
    let histories = app
        .forms
        .iter()
        .filter(|f| app.tally(&f.form.id).is_some())
        .count();
    let wanted = (app.forms.len() + histories) as u16 + 2;
    let forms_height = wanted.min(area.height / 2).max(3);
    let [forms_area, drafts_area] =
        Layout::vertical([Constraint::Length(forms_height), Constraint::Min(3)]).areas(area);

    let lang = app.language.as_str();
    let counts_header = format!(
        "{} · {} · {}",
        app.t(Msg::Drafts).to_lowercase(),
        app.t(Msg::Finalized),
        app.t(Msg::Exported)
    );
    let mut lines = Vec::new();
    // The rows of the selected form, to keep in view.
    let mut selected_rows = 0..0;
    for (i, entry) in app.forms.iter().enumerate() {
        let (d, f, e) = app.counts(&entry.form.id);
        let counts = format!("{d:>3} · {f:>3} · {e:>3}");
        let selected = h.pane == Pane::Forms && h.form == i;
        let room = (forms_area.width as usize).saturating_sub(width(&counts) + 5);
        let first = lines.len();
        lines.push(list_row(
            selected,
            &title_of(&entry.form, lang),
            &counts,
            room,
            theme,
        ));
        // What was sent and receipted stays after a receipt purges.
        if let Some(t) = app.tally(&entry.form.id) {
            let date = |at: &str| at.get(..10).unwrap_or("-").to_string();
            let words = Msg::History.fill(
                app.lang(),
                &[
                    t.sent.to_string(),
                    date(&t.last_export),
                    t.receipted.to_string(),
                    date(&t.last_receipt),
                ],
            );
            let room = (forms_area.width as usize).saturating_sub(4);
            lines.push(Line::styled(
                format!("    {}", truncate(&words, room)),
                theme.dim(),
            ));
        }
        if h.form == i {
            selected_rows = first..lines.len();
        }
    }
    let rows = forms_area.height.saturating_sub(1) as usize;
    let scroll = selected_rows
        .end
        .saturating_sub(rows)
        .min(selected_rows.start);
    let block = Block::default()
        .borders(Borders::TOP)
        .title(shaped(Line::from(vec![
            Span::styled(format!(" {} ", app.t(Msg::Forms)), theme.heading()),
            Span::styled(format!("({counts_header}) "), theme.dim()),
        ])));
    frame.render_widget(
        para(lines).block(block).scroll((scroll as u16, 0)),
        forms_area,
    );

    let drafts = app.drafts();
    let mut lines = Vec::new();
    if drafts.is_empty() {
        lines.push(Line::styled(app.t(Msg::NoDrafts), theme.dim()));
    }
    let rows = drafts_area.height.saturating_sub(1) as usize;
    let first = h.draft.saturating_sub(rows.saturating_sub(1));
    for (i, d) in drafts.iter().enumerate().skip(first).take(rows) {
        let name = if d.instance_name.trim().is_empty() {
            app.t(Msg::Untitled).to_string()
        } else {
            d.instance_name.clone()
        };
        let form = app
            .forms
            .iter()
            .find(|f| f.form.id == d.form_id)
            .map_or(d.form_id.clone(), |f| title_of(&f.form, lang));
        let when = d.updated.get(..16).unwrap_or(&d.updated).replace('T', " ");
        let room = (drafts_area.width as usize).saturating_sub(width(&when) + 4);
        let selected = h.pane == Pane::Drafts && h.draft == i;
        lines.push(list_row(
            selected,
            &format!("{name} · {form}"),
            &when,
            room,
            theme,
        ));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .title(shaped(Line::styled(
            format!(" {} ({}) ", app.t(Msg::Drafts), drafts.len()),
            theme.heading(),
        )));
    frame.render_widget(para(lines).block(block), drafts_area);
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

fn record(app: &App, r: &RecordView, frame: &mut Frame, area: Rect, theme: &Theme) {
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
        let value = r.session.raw_value(pos);
        match (&r.editor, focused) {
            (Editor::Text(input), true) => {
                let example = match node.kind {
                    Kind::Date => super::record::DateShape::of(node).placeholder(),
                    Kind::Time => "HH:MM",
                    Kind::DateTime => "YYYY-MM-DDTHH:MM",
                    Kind::Geopoint => "lat lon [alt [acc]]",
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

fn draw_overlay(app: &App, overlay: &Overlay, frame: &mut Frame, area: Rect, theme: &Theme) {
    // Overlays take the whole body: small terminals need every row.
    let rect = area;
    frame.render_widget(Clear, rect);
    let (title, lines): (&str, Vec<Line>) = match overlay {
        Overlay::Help => (
            app.t(Msg::HelpTitle),
            chrome::help(app.lang())
                .into_iter()
                .map(|(k, what)| {
                    Line::from(vec![
                        Span::styled(format!("{k:<16}"), theme.heading()),
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
            let Page::Record(r) = &app.page else { return };
            let lines = review(app, r, *cursor, rect, theme);
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
fn review<'a>(
    app: &App,
    r: &RecordView,
    cursor: usize,
    rect: Rect,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let room = (rect.width as usize).saturating_sub(4);
    let rows = rect.height.saturating_sub(2) as usize;
    let items = r.review_items();
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

#[cfg(test)]
pub fn hint_for_tests(r: &RecordView) -> Msg {
    record_keys(r)
}

#[cfg(test)]
pub fn wrap_for_tests(text: &str, room: usize) -> Vec<String> {
    wrap(text, room)
}
