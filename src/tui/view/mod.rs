//! Drawing: every page and overlay from `&App`, nothing else; one file
//! per page (home, setup and unlock, record, overlays), the frame around
//! them here, and the pieces they share in `parts`. Works from
//! 80x24 down to small terminals; without colour when NO_COLOR is set.
//! Text widths come from ratatui, which measures grapheme clusters, so Lao
//! vowel signs and tone marks take no column.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;

use super::action::KeysInForce;
use super::app::{App, Overlay, Page};
use super::keymap::Hints;
use super::words::Msg;

mod home;
mod overlay;
pub(crate) mod parts;
mod picker;
mod record;
mod setup;

use parts::{Theme, para, truncate, width, wrap};

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
    let right = format!("{}: {} ", app.t(Msg::Language), app.language);
    // The pack and keys in force, where the bar has room for them.
    let room = (top.width as usize).saturating_sub(width(&who) + width(&right) + 13);
    let in_force = app
        .who
        .as_ref()
        .map(|w| format!(" · {}", truncate(&keys_in_force(app, &w.keys), room)))
        .filter(|_| room > 20)
        .unwrap_or_default();
    let title = format!(" fieldkit{who}{in_force}");
    let pad = (top.width as usize).saturating_sub(width(&title) + width(&right));
    frame.render_widget(
        para(format!("{title}{}{right}", " ".repeat(pad))).style(theme.bar()),
        top,
    );

    let hints = match &app.page {
        _ if matches!(app.overlay, Some(Overlay::Review { .. })) => Some(Hints::Review),
        Page::Setup(_) => Some(Hints::Setup),
        Page::Unlock { .. } => Some(Hints::Unlock),
        Page::Busy => None,
        Page::Home(_) => Some(Hints::Home),
        Page::Record(r) => Some(record::record_keys(r)),
    };
    let hint = hints.map_or(app.t(Msg::Working).to_string(), |h| h.line(app.lang()));
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

/// "pack 2 (R2-2026) · keys: pack (2)": the top bar's words for
/// the round pack and the keys new records are encrypted to.
fn keys_in_force(app: &App, keys: &KeysInForce) -> String {
    let (msg, sequence, round) = match (&keys.pack, keys.from_pack) {
        (Some((n, round)), true) => (Msg::InForcePack, n.to_string(), round.as_str()),
        (Some((n, round)), false) => (Msg::InForcePackSetup, n.to_string(), round.as_str()),
        (None, _) => (Msg::InForceSetup, String::new(), ""),
    };
    let round = if round.is_empty() {
        String::new()
    } else {
        format!(" ({round})")
    };
    msg.fill(app.lang(), &[sequence, round, keys.recipients.to_string()])
}

#[cfg(test)]
pub fn hint_for_tests(r: &super::record::RecordView) -> Hints {
    record::record_keys(r)
}

#[cfg(test)]
pub fn wrap_for_tests(text: &str, room: usize) -> Vec<String> {
    wrap(text, room)
}
