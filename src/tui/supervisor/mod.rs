//! The supervisor's screen (`fieldkit review`): the loop that owns the
//! terminal while a supervisor reads the records of the bundles opened
//! (`crate::supervise`), approves or returns them and writes the signed
//! receipts. Same stack as the enumerator's screen (ratatui's init and
//! restore, key presses only, blocking between keys); its parts are
//! `app` (model and update), `words` (English and Lao) and
//! `tui::view::supervisor` (drawing).

pub mod app;
pub mod view;
pub mod words;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::supervise::Opened;
use crate::supervise::verdicts::{self, Pending};
use crate::tui::words::Lang;
use app::{Action, App, Effect};

/// What writing the receipts needs: the supervisor's key and the folder.
pub struct Writer<'a> {
    pub key: &'a ssh_key::PrivateKey,
    pub out: &'a Path,
}

impl Writer<'_> {
    /// Signs and writes one receipt per bundle: their paths and verdicts,
    /// or why none was written.
    pub fn write(
        &self,
        opened: &Opened,
        pending: &[Pending],
    ) -> Result<Vec<(PathBuf, usize)>, String> {
        let now = crate::clock::now().to_string();
        let signed = verdicts::sign_all(opened, pending, self.key, &now, self.out)
            .map_err(|e| e.to_string())?;
        verdicts::write_all(self.out, &signed).map_err(|e| e.to_string())?;
        Ok(signed.into_iter().map(|s| (s.path, s.verdicts)).collect())
    }
}

/// Runs the screen until the supervisor quits: the receipts written
/// (paths and verdicts), or None when they quit without writing.
pub fn run(opened: &Opened, lang: Lang, writer: &Writer) -> Result<Option<Vec<(PathBuf, usize)>>> {
    let mut app = App::new(opened, lang);
    app.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut terminal = ratatui::try_init().context("cannot start the screen")?;
    let result = event_loop(&mut terminal, &mut app, writer);
    ratatui::restore();
    result.map(|()| app.written.take())
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    writer: &Writer,
) -> Result<()> {
    loop {
        app.height = terminal.size()?.height;
        terminal.draw(|f| view::render(app, f))?;
        // Block until something happens: no CPU while idle.
        if !event::poll(Duration::from_secs(3600))? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(key) if key.kind == KeyEventKind::Press => Action::Key(key),
            _ => continue,
        };
        let mut next = app.update(action);
        while let Some(effect) = next {
            next = match effect {
                Effect::Quit => return Ok(()),
                Effect::Write => {
                    terminal.draw(|f| view::render(app, f))?;
                    let written = writer.write(app.opened, &app.pending);
                    app.update(Action::Written(written))
                }
            };
        }
    }
}

#[cfg(test)]
mod tests;
