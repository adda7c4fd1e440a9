//! What a survey row may say, whatever the form's format: the columns
//! fieldkit reads, the row types and their parsing, the appearances it
//! knows, which column applies to which type, and what an HXL tag looks
//! like. `survey` reads rows with these; the workbook reader asks them
//! too, so a TOML form and a workbook agree.

use super::suggest;
use crate::form::model::{Kind, Media};

pub(super) const SURVEY_COLUMNS: &[&str] = &[
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "soft_constraint",
    "soft_constraint_message",
    "calculation",
    "default",
    "read_only",
    "appearance",
    "choice_filter",
    "repeat_count",
    "parameters",
    "hxl",
    "review",
    "save_to",
    "accept",
];
/// Appearances fieldkit knows; the TUI acts on the first three.
pub(crate) const APPEARANCES: &[&str] = &[
    "field-list",
    "minimal",
    "search",
    "autocomplete",
    "multiline",
    "numbers",
    "thousands-sep",
    "month-year",
    "year",
    "no-calendar",
    "horizontal",
    "horizontal-compact",
    "compact",
    "likert",
    "quick",
    "list-nolabel",
    "label",
    "table-list",
    "signature",
];
pub(super) const TYPES: &str = "text, integer, decimal, select_one LIST, select_multiple LIST, \
select_one_from_file FILE.csv, select_multiple_from_file FILE.csv, csv-external, date, time, datetime, \
geopoint, geotrace, geoshape, image, audio, video, file, note, acknowledge, calculate, hidden, begin_group, end_group, begin_repeat, \
end_repeat, start, end, today, deviceid, username";

/// Whether `column` means anything on a row of this kind, and if not,
/// why: the loader refuses such a cell in a TOML form, the workbook
/// reader leaves it out with a warning (pyxform ignores it).
pub(crate) fn column_applies(kind: &Kind, column: &str) -> Result<(), &'static str> {
    let is_field = !matches!(kind, Kind::Group | Kind::Repeat);
    let ok = match column {
        "required" | "constraint" | "soft_constraint" => kind.is_input(),
        "calculation" | "default" => is_field,
        "choice_filter" | "parameters" => kind.list().is_some(),
        "repeat_count" => *kind == Kind::Repeat,
        "accept" => kind.media().is_some(),
        _ => true,
    };
    if ok {
        return Ok(());
    }
    Err(match column {
        "required" | "constraint" | "soft_constraint" => {
            "only applies to questions the enumerator answers"
        }
        "calculation" | "default" => "does not apply to a group or repeat",
        "choice_filter" | "parameters" => "only applies to select questions",
        "accept" => "only applies to image, audio, video and file questions",
        _ => "only applies to begin_repeat rows",
    })
}

pub(crate) enum RowType {
    Kind(Kind),
    End { repeat: bool },
}

pub(crate) fn parse_type(text: &str) -> Result<RowType, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some(&first) = words.first() else {
        return Err(format!("the type is empty; give one of: {TYPES}"));
    };
    let (head, rest) = match (first, words.get(1)) {
        ("begin" | "end", Some(&w @ ("group" | "repeat"))) => (format!("{first}_{w}"), &words[2..]),
        _ => (first.to_string(), &words[1..]),
    };
    let no_argument = |k: Kind| {
        if rest.is_empty() {
            Ok(k)
        } else {
            Err(format!(
                "'{head}' takes nothing after it, but the type says '{text}'"
            ))
        }
    };
    let list = |multiple: bool, from_file: bool| match rest {
        [list] if from_file && !list.to_ascii_lowercase().ends_with(".csv") => Err(format!(
            "'{head}' needs a CSV file name, like '{head} villages.csv'"
        )),
        [list] => Ok(if multiple {
            Kind::SelectMultiple {
                list: (*list).to_string(),
            }
        } else {
            Kind::SelectOne {
                list: (*list).to_string(),
            }
        }),
        [_, extra, ..] if *extra == "or_other" => Err(
            "'or_other' is not supported: add an 'other' choice and a text question relevant \
             when it is selected"
                .to_string(),
        ),
        [] => Err(format!(
            "'{head}' needs the name of its choice list: '{head} LIST'"
        )),
        _ => Err(format!("'{text}' has too many words; write '{head} LIST'")),
    };
    let file = |media| no_argument(Kind::File { media });
    let kind = match head.as_str() {
        "text" | "string" => no_argument(Kind::Text),
        "integer" | "int" => no_argument(Kind::Integer),
        "decimal" => no_argument(Kind::Decimal),
        "select_one" => list(false, false),
        "select_multiple" => list(true, false),
        "select_one_from_file" => list(false, true),
        "select_multiple_from_file" => list(true, true),
        "date" => no_argument(Kind::Date),
        "time" => no_argument(Kind::Time),
        "datetime" | "dateTime" => no_argument(Kind::DateTime),
        "geopoint" => no_argument(Kind::Geopoint),
        "geotrace" => no_argument(Kind::Geotrace),
        "geoshape" => no_argument(Kind::Geoshape),
        "image" | "photo" => file(Media::Image),
        "audio" => file(Media::Audio),
        "video" => file(Media::Video),
        "file" => file(Media::File),
        "note" => no_argument(Kind::Note),
        "acknowledge" => no_argument(Kind::Acknowledge),
        "calculate" => no_argument(Kind::Calculate),
        "hidden" => no_argument(Kind::Hidden),
        "begin_group" => no_argument(Kind::Group),
        "begin_repeat" => no_argument(Kind::Repeat),
        "end_group" => return no_argument(Kind::Group).map(|_| RowType::End { repeat: false }),
        "end_repeat" => return no_argument(Kind::Repeat).map(|_| RowType::End { repeat: true }),
        "start" => no_argument(Kind::Start),
        "end" => no_argument(Kind::End),
        "today" => no_argument(Kind::Today),
        "deviceid" => no_argument(Kind::DeviceId),
        "username" => no_argument(Kind::Username),
        _ => {
            let known: Vec<&str> = TYPES
                .split(", ")
                .map(|t| t.split(' ').next().unwrap_or(t))
                .collect();
            let hint = suggest(&head, &known);
            Err(format!("unknown type '{head}'{hint}. Types are: {TYPES}"))
        }
    }?;
    Ok(RowType::Kind(kind))
}

pub(super) fn valid_hxl(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix('#') else {
        return false;
    };
    let mut parts = rest.split('+');
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    parts.next().is_some_and(ok) && parts.all(ok)
}
