//! What a supervisor may read of a record: the answers of the fields the
//! form marks `review` (a group or repeat marked covers what is inside
//! it), shaped as in the record's values, and the engine's own checks (the
//! unusual answers the enumerator confirmed against a soft check, without
//! their value unless the field is marked). The store encrypts this, with
//! who and when, to the supervisors at finalize (`record::ReviewView`).

use serde_json::{Map, Value};

use super::model::{Form, Kind, NodeId};
use crate::record::{CONFIRMED_KEY, ReviewCheck, ReviewPart};

/// The review part of a record's values.
pub fn part(form: &Form, values: &Map<String, Value>) -> ReviewPart {
    ReviewPart {
        values: scope(form, &form.top, values),
        checks: checks(values),
    }
}

/// Whether the form marks anything for review at all.
pub fn any(form: &Form) -> bool {
    form.nodes.iter().any(|n| n.review)
}

/// The marked answers of one scope (the record, or one instance of a
/// repeat): groups are flat in the values, repeats lists of objects.
fn scope(form: &Form, children: &[NodeId], values: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for &id in children {
        let node = &form.nodes[id];
        match node.kind {
            Kind::Group => out.extend(scope(form, &node.children, values)),
            Kind::Repeat => {
                let Some(Value::Array(items)) = values.get(&node.name) else {
                    continue;
                };
                let inner: Vec<Value> = items
                    .iter()
                    .map(|item| match item {
                        Value::Object(map) => Value::Object(scope(form, &node.children, map)),
                        _ => Value::Object(Map::new()),
                    })
                    .collect();
                // A repeat with nothing marked inside it says nothing, not
                // even how many instances it has, unless it is marked.
                if form.reviewed(id)
                    || inner
                        .iter()
                        .any(|v| v.as_object().is_some_and(|m| !m.is_empty()))
                {
                    out.insert(node.name.clone(), Value::Array(inner));
                }
            }
            _ => {
                if form.reviewed(id)
                    && let Some(v) = values.get(&node.name)
                {
                    out.insert(node.name.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// The soft checks the enumerator confirmed: field and message only (the
/// value is in the view's values when its field is marked).
fn checks(values: &Map<String, Value>) -> Vec<ReviewCheck> {
    let Some(Value::Array(confirmed)) = values.get(CONFIRMED_KEY) else {
        return Vec::new();
    };
    confirmed
        .iter()
        .filter_map(|c| {
            Some(ReviewCheck {
                field: c.get("field")?.as_str()?.to_string(),
                kind: "confirmed".into(),
                message: c
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FORM: &str = r#"
[settings]
form_id = "t"
version = "1"

[[survey]]
type = "text"
name = "head_name"
label = "Name"

[[survey]]
type = "integer"
name = "hh_total"
label = "Households"
review = "yes"

[[survey]]
type = "begin_repeat"
name = "members"
label = "Members"

[[survey]]
type = "text"
name = "phone"
label = "Phone"

[[survey]]
type = "integer"
name = "age"
label = "Age"
review = "yes"

[[survey]]
type = "end_repeat"

[[survey]]
type = "begin_group"
name = "needs_group"
label = "Needs"
review = "yes"

[[survey]]
type = "text"
name = "needs"
label = "Needs"

[[survey]]
type = "end_group"
"#;

    #[test]
    fn only_marked_answers_and_confirmed_checks_without_values() {
        let form = crate::form::load_str(FORM, std::path::Path::new("t.toml")).unwrap();
        assert!(any(&form));
        let values = json!({
            "head_name": "Somchai",
            "hh_total": 12,
            "members": [{"phone": "020 5555 1234", "age": 41}, {"phone": "x"}],
            "needs": "water",
            "meta/confirmed": [{"field": "members[1]/age", "value": 41, "message": "over 40?"}],
            "meta/entity": {"list": "sites", "id": "S1"}
        });
        let part = part(&form, values.as_object().unwrap());
        assert_eq!(
            Value::Object(part.values),
            json!({"hh_total": 12, "members": [{"age": 41}, {}], "needs": "water"})
        );
        assert_eq!(
            part.checks,
            vec![ReviewCheck {
                field: "members[1]/age".into(),
                kind: "confirmed".into(),
                message: "over 40?".into()
            }]
        );
    }
}
