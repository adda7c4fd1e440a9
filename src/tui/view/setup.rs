//! The setup page (a new laptop: make the profile) and the unlock page.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Wrap;

use super::parts::{Theme, input_line, para, set_cursor, width, wrap};
use crate::tui::app::{App, SetupField};
use crate::tui::input::Input;
use crate::tui::words::Msg;

pub(super) fn setup(
    app: &App,
    s: &crate::tui::app::Setup,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) {
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

pub(super) fn unlock(
    app: &App,
    passphrase: &Input,
    error: &Option<crate::tui::words::Notice>,
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
