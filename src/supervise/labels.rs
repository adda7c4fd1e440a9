//! The questions' words beside a review view's answers: the forms a
//! bundle carries (`forms/<id>@<version>.toml`) loaded as `aggregate`
//! loads them, each answer's path (`members[2]/age`) turned into its
//! question's label (and a choice's name into its label) in the screen's
//! language, the path itself when the form did not load; and whether a
//! path names a field of the form at all (what a comment may name).

use serde_json::{Map, Value};

use super::FormsAt;
use crate::form::Form;
use crate::form::model::{Kind, NodeId};
use crate::lang::Lang;
use crate::record::ReviewView;

/// Loads a form a bundle carries; its CSV choice lists are looked for in
/// the forms folder given (else the shipped forms) and then the current
/// folder, as `aggregate` does. None when it does not load there: the
/// screen then shows paths instead of labels.
pub fn load_carried(text: &[u8], form_id: &str, version: &str, at: &FormsAt) -> Option<Form> {
    let text = std::str::from_utf8(text).ok()?;
    crate::catalog::load_carried(text, form_id, version, at.dir.as_deref(), &[]).ok()
}

/// The form's language for the screen's: Lao for Lao, else English, else
/// the form's default.
pub fn language(form: &Form, lang: Lang) -> Option<&str> {
    let wanted = |l: &&String| match lang {
        Lang::Lo => Lang::of_form_language(Some(l)) == Lang::Lo,
        Lang::En => l.contains("(en)") || l.starts_with("English"),
    };
    form.languages
        .iter()
        .find(wanted)
        .map(String::as_str)
        .or(form.default_language.as_deref())
}

/// One answer of a review view as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer's path as the record's values name it (`members[2]/age`).
    pub field: String,
    /// Its question's label, or the path when the form is not known.
    pub label: String,
    /// The answer, a choice shown with its label.
    pub value: String,
}

/// The review view's answers, in the view's order (the form's), each
/// repeat instance's answers under `name[n]/`.
pub fn answers(view: &ReviewView, form: Option<&Form>, lang: Lang) -> Vec<Answer> {
    let mut out = Vec::new();
    flatten("", &view.values, form, lang, &mut out);
    out
}

fn flatten(
    prefix: &str,
    values: &Map<String, Value>,
    form: Option<&Form>,
    lang: Lang,
    out: &mut Vec<Answer>,
) {
    for (name, value) in values {
        // `meta/...` keys are the record's, not answers.
        if name.contains('/') {
            continue;
        }
        match value {
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Object(inner) = item {
                        flatten(
                            &format!("{prefix}{name}[{}]/", i + 1),
                            inner,
                            form,
                            lang,
                            out,
                        );
                    }
                }
            }
            _ => {
                let field = format!("{prefix}{name}");
                let node = form.and_then(|f| f.find(name).map(|id| (f, id)));
                out.push(Answer {
                    label: node
                        .and_then(|(f, id)| question(f, id, lang))
                        .map_or_else(|| field.clone(), |label| placed(label, &field)),
                    value: node.map_or_else(|| plain(value), |(f, id)| shown(f, id, value, lang)),
                    field,
                });
            }
        }
    }
}

/// A question's label in the screen's language.
fn question(form: &Form, id: NodeId, lang: Lang) -> Option<String> {
    form.node(id)
        .label
        .get(language(form, lang), form.default_language.as_deref())
        .map(str::to_string)
}

/// The label of the question a path names, when the form knows it
/// (with the repeat instance it is in: `Age (members[2])`).
pub fn label_of(form: Option<&Form>, path: &str, lang: Lang) -> Option<String> {
    let form = form?;
    let name = path.rsplit('/').next()?;
    Some(placed(question(form, form.find(name)?, lang)?, path))
}

/// A label, followed by the repeat instance its path is in, if any.
fn placed(label: String, path: &str) -> String {
    match path.rsplit_once('/') {
        Some((within, _)) => format!("{label} ({within})"),
        None => label,
    }
}

/// An answer as text, without the form.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(" "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An answer as text, a choice's name followed by its label.
fn shown(form: &Form, id: NodeId, value: &Value, lang: Lang) -> String {
    let text = plain(value);
    let Some(list) = form.list_of(id) else {
        return text;
    };
    let language = language(form, lang);
    let named: Vec<String> = text
        .split_whitespace()
        .map(|name| {
            match list
                .find(name)
                .and_then(|c| c.label.get(language, form.default_language.as_deref()))
            {
                Some(label) if label != name => format!("{label} ({name})"),
                _ => name.to_string(),
            }
        })
        .collect();
    named.join(", ")
}

/// Whether `path` names a field of the form: its last part a question,
/// calculation or metadata (not a group or repeat), and every part before
/// it `repeat[n]` (n from 1) for exactly the repeats around that field,
/// outermost first.
pub fn field_in_form(form: &Form, path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    let Some(id) = form.find(last) else {
        return false;
    };
    let node = form.node(id);
    if matches!(node.kind, Kind::Group | Kind::Repeat) || node.repeats.len() != parts.len() {
        return false;
    }
    parts.iter().zip(&node.repeats).all(|(part, &repeat)| {
        let Some((name, rest)) = part.split_once('[') else {
            return false;
        };
        let index = rest.strip_suffix(']').and_then(|n| n.parse::<usize>().ok());
        name == form.node(repeat).name && index.is_some_and(|n| n >= 1)
    })
}

/// Whether the review view itself names `path`: an answer or a check.
pub fn field_in_view(view: &ReviewView, path: &str) -> bool {
    view.checks.iter().any(|c| c.field == path)
        || answers(view, None, Lang::En)
            .iter()
            .any(|a| a.field == path)
}
