//! The paradata of the record on screen (`store::paradata` keeps the
//! counts): every key on a record page counts the time since the last key
//! for the question that was in focus, and a question coming into focus
//! counts a visit; an answer given again counts a change. The draft
//! carries the counts, so they are encrypted and saved with it: in the
//! save a key makes anyway, else (focus moved, the record left) in a save
//! of the paradata alone, once the draft is in the store. Time under an
//! overlay (help, the jump list, the review page, the file picker) counts
//! for the question in focus beneath it. Pure, like the rest of `update`.

use ratatui::crossterm::event::KeyEvent;

use super::action::Effect;
use super::app::{App, Page};
use super::record::RecordView;
use crate::form::Pos;
use crate::form::dates::DateTime;
use crate::store::paradata::DraftParadata;

impl App {
    /// A key, with the time up to it counted for the question in focus
    /// before it is handled, and the question in focus after it noted.
    pub(super) fn timed_key(&mut self, key: KeyEvent) -> Option<Effect> {
        let now = self.now;
        if let Page::Record(r) = &mut self.page {
            r.note_time(now);
        }
        let mut effect = self.key(key);
        let Page::Record(r) = &mut self.page else {
            return effect;
        };
        let moved = r.note_time(now);
        let save = match &mut effect {
            Some(Effect::Detach { then, .. }) => Some(then.as_mut()),
            other => other.as_mut(),
        };
        match save {
            Some(
                Effect::Save { draft, .. }
                | Effect::SaveAndQuit { draft, .. }
                | Effect::SaveParadata { draft, .. }
                | Effect::Finalize { draft, .. },
            ) => {
                draft.paradata.clone_from(&r.draft.paradata);
                r.timing_dirty = false;
            }
            None if moved => effect = r.save_paradata(false),
            _ => {}
        }
        effect
    }
}

impl RecordView {
    /// An event at `now`: see `DraftParadata::tick`. True when the
    /// question in focus changed.
    pub(super) fn note_time(&mut self, now: DateTime) -> bool {
        let field = self.focused().map(|p| self.session.describe(&p));
        let p = self
            .draft
            .paradata
            .get_or_insert_with(|| DraftParadata::new(now));
        let before = (p.ms, p.questions.len());
        let moved = p.tick(now, field.as_deref());
        self.timing_dirty |= moved || before != (p.ms, p.questions.len());
        moved
    }

    /// An answer to `pos` was set (`had_answer`: it held one before).
    pub(super) fn note_answer(&mut self, pos: &Pos, had_answer: bool, now: DateTime) {
        let field = self.session.describe(pos);
        self.draft
            .paradata
            .get_or_insert_with(|| DraftParadata::new(now))
            .answered(&field, had_answer);
        self.timing_dirty = true;
    }

    /// The save of the paradata alone, when it changed and the draft is
    /// in the store (paradata alone never makes a draft).
    pub(super) fn save_paradata(&mut self, quit: bool) -> Option<Effect> {
        if !(self.saved_once && self.timing_dirty) {
            return None;
        }
        self.timing_dirty = false;
        Some(Effect::SaveParadata {
            draft: self.draft.clone(),
            quit,
        })
    }
}
