//! Rows as Kobo and ODK let them pass: what fieldkit's checks would
//! refuse though it does not change what is asked (appearances for other
//! apps' widgets, columns on row types they do not apply to, media
//! columns) is left out of the TOML with a warning at the cell, as
//! pyxform does, instead of refusing the form.

use crate::form::load::{RowType, column_applies, parse_type};

use super::cells::{IGNORED_QUIETLY, Reading, Sheet};
use super::writer::{NOT_EVERYWHERE, Writer};

impl Writer {
    /// What Kobo and ODK let pass and fieldkit's checks would refuse,
    /// though it does not change what is asked: left out with a warning.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn lenient(
        &mut self,
        r: &mut Reading,
        sheet: &Sheet,
        row: usize,
        cells: &[String],
        t: &str,
        name: &str,
        skip: &mut Vec<&str>,
        extra: &mut Vec<(String, String)>,
    ) {
        // Appearances for other apps' widgets (map, signature...).
        if let Some(a) = sheet.get(cells, "appearance") {
            let (known, unknown): (Vec<&str>, Vec<&str>) = a
                .split_whitespace()
                .partition(|w| crate::form::load::APPEARANCES.contains(&w.to_lowercase().as_str()));
            if !unknown.is_empty() {
                let external = unknown.iter().any(|w| w.starts_with("search("));
                r.warn(
                    "survey",
                    Some(row),
                    Some("appearance"),
                    format!(
                        "{name}: the appearance '{}' is for other apps{}; fieldkit leaves it \
                         out and asks {}",
                        unknown.join(" "),
                        if external {
                            " (search() reads an external CSV, which fieldkit does not take \
                             yet: the choices sheet's list is offered)"
                        } else {
                            ""
                        },
                        asked_as(t)
                    ),
                );
            }
            // Known words a terminal asks another way.
            for word in &known {
                let differently = match word.to_lowercase().as_str() {
                    "likert" => "as a list, not a scale",
                    "quick" => "without moving on by itself once a choice is made",
                    "table-list" | "label" | "list-nolabel" => {
                        "question by question, each with its choices, not as a table"
                    }
                    _ => continue,
                };
                r.warn(
                    "survey",
                    Some(row),
                    Some("appearance"),
                    format!("{name}: the appearance '{word}' is asked {differently}"),
                );
            }
            let words = known.join(" ").to_lowercase();
            if words != a {
                skip.push("appearance");
                if !words.is_empty() {
                    extra.push(("appearance".into(), words));
                }
            }
        }
        // parameters: a select's randomize and seed are kept; the rest
        // (camera, audio, map settings) are for other apps.
        if let Some(p) = sheet.get(cells, "parameters")
            && !skip.contains(&"parameters")
        {
            let select = t.starts_with("select_one") || t.starts_with("select_multiple");
            let spaced = p
                .replace([',', ';'], " ")
                .replace(" =", "=")
                .replace("= ", "=");
            let (kept, other): (Vec<&str>, Vec<&str>) = spaced.split_whitespace().partition(|kv| {
                let key = kv.split('=').next().unwrap_or("").to_lowercase();
                select && (key == "randomize" || key == "seed")
            });
            if !other.is_empty() {
                r.warn(
                    "survey",
                    Some(row),
                    Some("parameters"),
                    format!(
                        "{name}: the parameters '{}' are for other apps (camera, audio, map); \
                         left out",
                        other.join(" ")
                    ),
                );
            }
            skip.push("parameters");
            if !kept.is_empty() {
                let kept: Vec<String> = kept
                    .iter()
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => format!("{}={v}", k.to_lowercase()),
                        None => kv.to_string(),
                    })
                    .collect();
                extra.push(("parameters".into(), kept.join(" ")));
            }
        }
        // Columns that mean nothing on this row's type (a constraint on a
        // note, repeat_count on a group): pyxform ignores them, so does
        // fieldkit, saying where.
        if let Ok(RowType::Kind(kind)) = parse_type(t) {
            for column in NOT_EVERYWHERE {
                if sheet.get(cells, column).is_none() || skip.contains(column) {
                    continue;
                }
                if let Err(why) = column_applies(&kind, column) {
                    r.warn(
                        "survey",
                        Some(row),
                        Some(column),
                        format!("{name}: {column} {why}, not to a {t}; left out"),
                    );
                    skip.push(column);
                }
            }
        }
        // A question shown by its picture alone: its name stands in.
        let filled = |want: &dyn Fn(&str) -> bool| {
            sheet.columns.iter().enumerate().any(|(i, c)| {
                matches!(c, Some((n, _)) if want(n)) && cells.get(i).is_some_and(|v| !v.is_empty())
            })
        };
        let has_label = filled(&|n| n == "label");
        let has_media = filled(&|n| IGNORED_QUIETLY.iter().any(|m| n.starts_with(m)));
        if !has_label && has_media && !name.is_empty() {
            r.warn(
                "survey",
                Some(row),
                Some("label"),
                format!("{name}: shown by a picture only; its name is its label here"),
            );
            extra.push(("label".into(), name.to_string()));
        }
    }
}

/// How a question of type `t` is asked in the terminal.
fn asked_as(t: &str) -> &'static str {
    match t.split_whitespace().next().unwrap_or("") {
        "select_one" | "select_multiple" | "select_one_from_file" | "select_multiple_from_file" => {
            "its choices as a list, filtered as the enumerator types"
        }
        "geopoint" => "the coordinates typed in (lat lon [alt [acc]])",
        "geotrace" | "geoshape" => "the points typed in (lat lon; lat lon; ...)",
        "date" | "datetime" | "time" => "the date or time typed in",
        "integer" | "decimal" => "the number typed in",
        _ => "the answer typed in",
    }
}
