//! The file picker a file question opens (image, audio, video, file,
//! signature): a folder's entries, folders first, then files with their
//! size and type; `..` goes up; typed text filters; Enter opens a folder
//! or picks a file; Esc cancels. A file over the cap or of a type the
//! question does not take is refused here with its reason, before it is
//! read. Pure: listing a folder and reading the file picked are effects
//! the loop runs (`Effect::ListFolder`, `Effect::Attach`).

use std::path::{Path, PathBuf};

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::input::Input;
use crate::form::Pos;
use crate::form::media::{self, Media};

/// One entry of a folder, as the loop read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    pub name: String,
    pub folder: bool,
    pub size: u64,
}

/// What a key in the picker asks the loop for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// List another folder.
    Open(PathBuf),
    /// Read and keep this file as the answer.
    Pick(PathBuf),
}

/// The picker open over a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    /// The question it answers.
    pub pos: Pos,
    pub media: Media,
    pub accept: Vec<String>,
    pub cap_mb: u64,
    /// The folder shown (None until the first listing arrives).
    pub folder: Option<PathBuf>,
    pub entries: Vec<FolderEntry>,
    pub filter: Input,
    /// Index into `shown()`.
    pub cursor: usize,
    /// Why the last pick was refused, or the folder could not be read.
    pub message: Option<String>,
    /// A file is being read and kept: keys wait.
    pub busy: bool,
    /// Refusals are said in Lao (the screen's language when it opened).
    pub lao: bool,
}

/// A line of the picker: `..`, or an entry of the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown<'a> {
    Up,
    Entry(&'a FolderEntry),
}

impl Picker {
    pub fn new(pos: Pos, media: Media, accept: Vec<String>, cap_mb: u64) -> Self {
        Picker {
            pos,
            media,
            accept,
            cap_mb,
            folder: None,
            entries: Vec::new(),
            filter: Input::default(),
            cursor: 0,
            message: None,
            busy: false,
            lao: false,
        }
    }

    /// A folder's entries arrived: folders first, then files, by name.
    pub fn listed(&mut self, folder: PathBuf, mut entries: Vec<FolderEntry>) {
        entries.sort_by(|a, b| {
            b.folder
                .cmp(&a.folder)
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        });
        self.folder = Some(folder);
        self.entries = entries;
        self.filter.clear();
        self.cursor = 0;
        self.message = None;
    }

    /// What is listed: `..` when the folder has a parent, then the
    /// entries whose name holds the filter (any case).
    pub fn shown(&self) -> Vec<Shown<'_>> {
        let needle = self.filter.text.to_lowercase();
        let up = self
            .folder
            .as_deref()
            .and_then(Path::parent)
            .is_some()
            .then_some(Shown::Up);
        up.into_iter()
            .filter(|_| needle.is_empty())
            .chain(
                self.entries
                    .iter()
                    .filter(|e| e.name.to_lowercase().contains(&needle))
                    .map(Shown::Entry),
            )
            .collect()
    }

    /// What the question takes, as a line says it.
    pub fn takes(&self) -> Option<String> {
        let exts = media::accepted(self.media, &self.accept);
        (!exts.is_empty()).then(|| {
            exts.iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// A key: Some(step) to list another folder or attach a file.
    pub fn key(&mut self, key: &KeyEvent) -> Option<Step> {
        if self.busy {
            return None;
        }
        let count = self.shown().len();
        match key.code {
            KeyCode::Up => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down => self.cursor = (self.cursor + 1).min(count.saturating_sub(1)),
            KeyCode::PageUp => self.cursor = self.cursor.saturating_sub(10),
            KeyCode::PageDown => self.cursor = (self.cursor + 10).min(count.saturating_sub(1)),
            KeyCode::Enter => return self.enter(),
            _ => {
                if self.filter.handle(key) {
                    self.cursor = 0;
                }
            }
        }
        None
    }

    fn enter(&mut self) -> Option<Step> {
        let folder = self.folder.clone()?;
        let picked = match self.shown().get(self.cursor) {
            Some(Shown::Up) => Err(folder.parent().map(Path::to_path_buf)?),
            Some(Shown::Entry(e)) if e.folder => Err(folder.join(&e.name)),
            Some(Shown::Entry(e)) => Ok((*e).clone()),
            None => return None,
        };
        match picked {
            Err(next) => Some(Step::Open(next)),
            Ok(file) => {
                if let Err(why) =
                    media::check(self.media, &self.accept, &file.name, file.size, self.cap_mb)
                {
                    self.message = Some(if self.lao {
                        why.in_lao()
                    } else {
                        why.to_string()
                    });
                    return None;
                }
                self.message = None;
                self.busy = true;
                Some(Step::Pick(folder.join(&file.name)))
            }
        }
    }
}

/// The type shown beside a file: its extension, or "file".
pub fn file_type(name: &str) -> String {
    media::extension(name).map_or_else(|| "file".to_string(), |e| e.to_uppercase())
}
