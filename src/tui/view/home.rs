//! The home page: the forms with their counts and history, the round's
//! sites still to visit (with assignments), the drafts (those a supervisor
//! returned to correct first, with their note).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use super::parts::{Theme, list_row, para, shaped, title_of, truncate, width};
use crate::tui::app::{App, HomePage, Pane, ToVisit, short_time};
use crate::tui::words::Msg;

pub(super) fn home(app: &App, h: &HomePage, frame: &mut Frame, area: Rect, theme: &Theme) {
    let histories = app
        .forms
        .iter()
        .filter(|f| app.tally(&f.form.id).is_some())
        .count();
    let wanted = (app.forms.len() + histories) as u16 + 2;
    let forms_height = wanted.min(area.height / 2).max(3);
    let (left, done, assigned) = app.to_visit();
    let visits_height = if assigned == 0 {
        0
    } else {
        (left.len() as u16 + 1).clamp(2, (area.height / 4).max(2))
    };
    let [forms_area, visits_area, drafts_area] = Layout::vertical([
        Constraint::Length(forms_height),
        Constraint::Length(visits_height),
        Constraint::Min(3),
    ])
    .areas(area);
    if assigned > 0 {
        visits(app, h, frame, visits_area, theme, (&left, done, assigned));
    }

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

    drafts_pane(app, h, frame, drafts_area, theme);
}

/// The drafts, those a supervisor returned first: "returned: to correct"
/// before the name, and the supervisor's note on a line under it.
fn drafts_pane(app: &App, h: &HomePage, frame: &mut Frame, area: Rect, theme: &Theme) {
    let drafts = app.drafts();
    let mut lines = Vec::new();
    if drafts.is_empty() {
        lines.push(Line::styled(app.t(Msg::NoDrafts), theme.dim()));
    }
    // The rows of the selected draft, to keep in view.
    let mut selected_rows = 0..0;
    for (i, d) in drafts.iter().enumerate() {
        let (name, form) = app.draft_names(d);
        let when = short_time(&d.updated);
        let room = (area.width as usize).saturating_sub(width(&when) + 4);
        let selected = h.pane == Pane::Drafts && h.draft == i;
        let first = lines.len();
        let shown = match &d.returned {
            Some(_) => format!("{} · {name} · {form}", app.t(Msg::ReturnedToCorrect)),
            None => format!("{name} · {form}"),
        };
        lines.push(list_row(selected, &shown, &when, room, theme));
        if let Some(note) = d.returned.as_ref().filter(|n| !n.trim().is_empty()) {
            let said = Msg::SupervisorNote.fill(app.lang(), std::slice::from_ref(note));
            let room = (area.width as usize).saturating_sub(4);
            lines.push(Line::styled(
                format!("    {}", truncate(&said, room)),
                theme.problem(),
            ));
        }
        if selected {
            selected_rows = first..lines.len();
        }
    }
    let rows = area.height.saturating_sub(1) as usize;
    let scroll = selected_rows
        .end
        .saturating_sub(rows)
        .min(selected_rows.start);
    let block = Block::default()
        .borders(Borders::TOP)
        .title(shaped(Line::styled(
            format!(" {} ({}) ", app.t(Msg::Drafts), drafts.len()),
            theme.heading(),
        )));
    frame.render_widget(para(lines).block(block).scroll((scroll as u16, 0)), area);
}

/// The round's entities still to visit, under "To visit this round: 2 of
/// 5 done"; Enter on one starts a record for it.
fn visits(
    app: &App,
    h: &HomePage,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    (left, done, assigned): (&[&ToVisit], usize, usize),
) {
    let rows = area.height.saturating_sub(1) as usize;
    let first = h.visit.saturating_sub(rows.saturating_sub(1));
    let room = (area.width as usize).saturating_sub(4);
    let lines: Vec<Line> = left
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, v)| {
            let selected = h.pane == Pane::Visits && h.visit == i;
            let shown = if v.label.is_empty() {
                v.name.clone()
            } else {
                format!("{} · {}", v.label, v.name)
            };
            list_row(selected, &shown, "", room, theme)
        })
        .collect();
    let title = Msg::VisitsTitle.fill(app.lang(), &[done.to_string(), assigned.to_string()]);
    let block = Block::default()
        .borders(Borders::TOP)
        .title(shaped(Line::styled(format!(" {title} "), theme.heading())));
    frame.render_widget(para(lines).block(block), area);
}
