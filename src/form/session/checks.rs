//! Checks: what stops a question from being complete (required, type,
//! constraint, choice filter, caps), the form's or fieldkit's message in
//! the enumerator's language, and where a question is (`members[2]/age`).

use super::walk::Walk;
use super::{Pos, Session, Violation, ViolationKind};
use crate::form::answer::AnswerError;
use crate::form::eval::eval;
use crate::form::limits::{self, MAX_TEXT_BYTES};
use crate::form::model::{NodeId, Required, Text};

impl Session {
    /// The form's own message (with `${name}` filled in), else `default`.
    pub(super) fn message(
        &self,
        text: &Text,
        path: &[(NodeId, usize)],
        default: impl FnOnce() -> String,
    ) -> String {
        let custom = self.render(text, path);
        if custom.is_empty() { default() } else { custom }
    }

    /// The engine's own words in the session's language: Lao when the
    /// language is Lao (draft text, to be reviewed by a Lao speaker),
    /// English otherwise.
    pub(super) fn chrome(&self, english: &str, lao: &str) -> String {
        let is_lao = self
            .language
            .as_deref()
            .is_some_and(|l| l.contains("(lo)") || l.starts_with("Lao"));
        if is_lao { lao } else { english }.to_string()
    }

    /// A refused answer, said in the session's language.
    pub fn explain(&self, error: &AnswerError) -> String {
        self.chrome(&error.to_string(), &error.in_lao())
    }

    /// What stops this question from being complete, if anything.
    pub fn check(&self, pos: &Pos) -> Option<Violation> {
        let node = &self.form.nodes[pos.node];
        if !node.kind.is_input() || !self.is_relevant(pos) {
            return None;
        }
        let value = self.raw_value(pos);
        let ctx = self.ctx(&pos.path, Some(pos.node));
        let violation = |kind, message: String| {
            Some(Violation {
                name: node.name.clone(),
                path: self.describe(pos),
                kind,
                message,
                pos: Some(pos.clone()),
            })
        };
        if value.is_empty() {
            if self.is_required(pos) {
                let message = self.message(&node.required_message, &pos.path, || {
                    self.chrome("This question needs an answer.", "ຄຳຖາມນີ້ຕ້ອງມີຄຳຕອບ.")
                });
                return violation(ViolationKind::Required, message);
            }
            return None;
        }
        let checked = node
            .constraint
            .as_ref()
            .map(|c| (c, eval(c, &ctx).to_bool()));
        if let Some((c, _)) = checked
            && ctx.overflow.get()
        {
            return violation(
                ViolationKind::Limit,
                format!(
                    "the constraint ({c}) makes a text longer than {}, fieldkit's cap for a \
                     value, and cannot be checked",
                    limits::bytes(MAX_TEXT_BYTES as u64)
                ),
            );
        }
        if let Some((c, false)) = checked {
            let message = self.message(&node.constraint_message, &pos.path, || {
                format!(
                    "{} ({c})",
                    self.chrome(
                        "This answer is not allowed here.",
                        "ຄຳຕອບນີ້ບໍ່ຖືກຕ້ອງຕາມເງື່ອນໄຂຂອງແບບຟອມ."
                    )
                )
            });
            return violation(ViolationKind::Constraint, message);
        }
        if node.choice_filter.is_some() {
            let allowed = self.choices(pos);
            let list = self.form.list_of(pos.node);
            let outside = value.split_whitespace().find(|v| {
                list.and_then(|l| l.index_of(v))
                    .is_none_or(|i| !allowed.contains(&i))
            });
            if let Some(v) = outside {
                return violation(
                    ViolationKind::Constraint,
                    format!(
                        "'{v}': {}",
                        self.chrome(
                            "not among the choices allowed here; choose again.",
                            "ບໍ່ຢູ່ໃນຕົວເລືອກທີ່ອະນຸຍາດຢູ່ບ່ອນນີ້; ກະລຸນາເລືອກໃໝ່."
                        )
                    ),
                );
            }
        }
        None
    }

    /// The soft check this answer fails and the enumerator has not
    /// confirmed (fieldkit's `soft_constraint`): the answer stays, but
    /// must be confirmed before the record is finalized.
    pub fn soft_check(&self, pos: &Pos) -> Option<Violation> {
        let (message, at) = self.soft_warning(pos)?;
        if self.confirmed.contains(&at) {
            return None;
        }
        Some(Violation {
            name: self.form.nodes[pos.node].name.clone(),
            path: at,
            kind: ViolationKind::Warning,
            message,
            pos: Some(pos.clone()),
        })
    }

    /// The soft check's message and where, when this answer fails it
    /// (confirmed or not).
    pub(super) fn soft_warning(&self, pos: &Pos) -> Option<(String, String)> {
        let node = &self.form.nodes[pos.node];
        let check = node.soft_constraint.as_ref()?;
        if self.raw_value(pos).is_empty() || !self.is_relevant(pos) {
            return None;
        }
        if eval(check, &self.ctx(&pos.path, Some(pos.node))).to_bool() {
            return None;
        }
        let message = self.message(&node.soft_constraint_message, &pos.path, || {
            format!(
                "{} ({check})",
                self.chrome(
                    "This answer is unusual: check it.",
                    "ຄຳຕອບນີ້ຜິດປົກກະຕິ: ກະລຸນາກວດຄືນ."
                )
            )
        });
        Some((message, self.describe(pos)))
    }

    /// The enumerator confirms the answer a soft check warns about: kept,
    /// and the confirmation goes in the record.
    pub fn confirm(&mut self, pos: &Pos) {
        if self.soft_warning(pos).is_some() {
            self.confirmed.insert(self.describe(pos));
        }
    }

    /// Whether the question needs an answer now (its `required` may be an
    /// expression).
    pub fn is_required(&self, pos: &Pos) -> bool {
        match &self.form.nodes[pos.node].required {
            Required::No => false,
            Required::Yes => true,
            Required::When(e) => eval(e, &self.ctx(&pos.path, Some(pos.node))).to_bool(),
        }
    }

    /// Every missing required answer, violated constraint and unconfirmed
    /// soft check, in form order.
    pub fn violations(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        self.walk(&mut |pos, step| {
            if step == Walk::Field {
                out.extend(self.check(pos).or_else(|| self.soft_check(pos)));
            }
        });
        out.extend(self.limits.iter().cloned());
        out
    }

    /// `members[2]/age`: a position as people read it (1-based instances).
    pub fn describe(&self, pos: &Pos) -> String {
        let mut parts: Vec<String> = pos
            .path
            .iter()
            .map(|&(r, i)| format!("{}[{}]", self.form.nodes[r].name, i + 1))
            .collect();
        parts.push(self.form.nodes[pos.node].name.clone());
        parts.join("/")
    }
}
