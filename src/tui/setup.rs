//! The setup page's model: the fields that make a profile on a new
//! laptop. Its keys are in `keys.rs`, its drawing in `view/setup.rs`.

use std::path::PathBuf;

use super::input::Input;
use super::words::Notice;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupField {
    Id,
    Name,
    Pass,
    Again,
    Recipients,
}

impl SetupField {
    pub const ALL: [SetupField; 5] = [
        SetupField::Id,
        SetupField::Name,
        SetupField::Pass,
        SetupField::Again,
        SetupField::Recipients,
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub id: Input,
    pub name: Input,
    pub pass: Input,
    pub again: Input,
    pub recipients: Input,
    pub focus: SetupField,
    pub error: Option<Notice>,
}

impl Setup {
    pub fn new(recipients: Option<PathBuf>) -> Self {
        Setup {
            id: Input::default(),
            name: Input::default(),
            pass: Input::secret(),
            again: Input::secret(),
            recipients: Input::new(
                &recipients
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            focus: SetupField::Id,
            error: None,
        }
    }

    pub fn field(&self, f: SetupField) -> &Input {
        match f {
            SetupField::Id => &self.id,
            SetupField::Name => &self.name,
            SetupField::Pass => &self.pass,
            SetupField::Again => &self.again,
            SetupField::Recipients => &self.recipients,
        }
    }

    pub(super) fn field_mut(&mut self, f: SetupField) -> &mut Input {
        match f {
            SetupField::Id => &mut self.id,
            SetupField::Name => &mut self.name,
            SetupField::Pass => &mut self.pass,
            SetupField::Again => &mut self.again,
            SetupField::Recipients => &mut self.recipients,
        }
    }
}
