//! The file picker on a record, as part of the update: Space on a file
//! question opens it, its keys browse and pick, a folder listed or a file
//! kept comes back as an action; clearing a file question removes its
//! attachment. Pure, like the rest of the update.

use std::sync::Arc;

use ratatui::crossterm::event::KeyEvent;

use super::action::Effect;
use super::app::{App, Overlay, Page};
use super::editing::AfterKey;
use super::keymap::{Command, Context, command};
use super::picker::{FolderEntry, Picker, Step};
use super::record::Editor;
use super::words::{Msg, Notice};
use crate::form::Pos;

impl App {
    /// A key on a file question the picker handles (Space opens it; a
    /// clear removes the attachment as well as the answer); None for keys
    /// the record handles as usual.
    pub(super) fn file_key(&mut self, key: &KeyEvent) -> Option<Option<Effect>> {
        let now = self.now;
        let cap = self.attach_cap_mb;
        let start = self.picker_folder.clone();
        let lang = self.lang();
        let Page::Record(r) = &mut self.page else {
            return None;
        };
        if r.editor != Editor::File {
            return None;
        }
        let pos = r.focused()?;
        let node = &r.session.form().nodes[pos.node];
        let media = node.kind.media()?;
        match command(&[Context::File, Context::Question], key) {
            Some(Command::Pick) => {
                let mut picker = Picker::new(pos, media, node.accept.clone(), cap);
                picker.lao = lang == super::words::Lang::Lo;
                self.overlay = Some(Overlay::Picker(Box::new(picker)));
                Some(Some(Effect::ListFolder { folder: start }))
            }
            Some(Command::Clear) => {
                let old = r.session.raw_value(&pos).to_string();
                let record_id = r.draft.id.clone();
                let effect = match r.key(*key, now) {
                    AfterKey::Stay(e) | AfterKey::End(e) => e,
                };
                Some(match effect {
                    Some(then) if !old.is_empty() => Some(Effect::Detach {
                        record_id,
                        name: old,
                        then: Box::new(then),
                    }),
                    other => other,
                })
            }
            _ => None,
        }
    }

    /// A key while the picker is open.
    pub(super) fn picker_key(&mut self, mut picker: Box<Picker>, key: KeyEvent) -> Option<Effect> {
        if command(&[Context::Dialog], &key) == Some(Command::Close) && !picker.busy {
            self.overlay = None;
            return None;
        }
        let step = picker.key(&key);
        let pos = picker.pos.clone();
        self.overlay = Some(Overlay::Picker(picker));
        match step? {
            Step::Open(folder) => Some(Effect::ListFolder {
                folder: Some(folder),
            }),
            Step::Pick(path) => {
                let Page::Record(r) = &self.page else {
                    self.overlay = None;
                    return None;
                };
                let old = r.session.raw_value(&pos);
                Some(Effect::Attach {
                    path,
                    replaced: (!old.is_empty()).then(|| old.to_string()),
                    pos,
                    record_id: r.draft.id.clone(),
                    form: Arc::clone(r.session.form()),
                })
            }
        }
    }

    /// A resumed draft with file answers: ask for its attachments' sizes.
    pub(super) fn ask_sizes(&self) -> Option<Effect> {
        let Page::Record(r) = &self.page else {
            return None;
        };
        let form = r.session.form();
        form.nodes
            .iter()
            .any(|n| n.kind.media().is_some())
            .then(|| Effect::AttachmentSizes {
                record_id: r.draft.id.clone(),
            })
    }

    /// The sizes of the open record's attachments arrived (none shown
    /// when they could not be read: only the names).
    pub(super) fn sizes(&mut self, result: Result<Vec<(String, u64)>, String>) {
        if let (Page::Record(r), Ok(sizes)) = (&mut self.page, result) {
            r.attached.extend(sizes);
        }
    }

    /// A folder listed for the picker.
    pub(super) fn listed(
        &mut self,
        result: Result<(std::path::PathBuf, Vec<FolderEntry>), String>,
    ) {
        let lang = self.lang();
        let Some(Overlay::Picker(p)) = &mut self.overlay else {
            return;
        };
        match result {
            Ok((folder, entries)) => {
                self.picker_folder = Some(folder.clone());
                p.listed(folder, entries);
            }
            Err(e) => p.message = Some(Msg::PickerCannot.fill(lang, &[e])),
        }
    }

    /// A file kept for a question (or why not): the answer is its name,
    /// saved at once.
    pub(super) fn attached(
        &mut self,
        result: Result<(Pos, String, u64), String>,
    ) -> Option<Effect> {
        let now = self.now;
        match result {
            Ok((pos, name, size)) => {
                self.overlay = None;
                let Page::Record(r) = &mut self.page else {
                    return None;
                };
                r.attached.insert(name.clone(), size);
                let effect = r.commit(&pos, &name, now).ok().flatten();
                let shown = crate::form::media::human_size(size);
                self.say(Notice::good(Msg::Attached, &[&name, &shown]));
                effect
            }
            Err(e) => {
                match &mut self.overlay {
                    Some(Overlay::Picker(p)) => {
                        p.busy = false;
                        p.message = Some(e);
                    }
                    _ => self.say(Notice::failed(Msg::AttachFailed, e)),
                }
                None
            }
        }
    }
}
