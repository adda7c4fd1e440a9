//! Typed answers: what the enumerator types (or a script sends) checked
//! against the question's type and turned into the canonical string
//! XLSForm stores, and back into typed JSON for the record.

use serde_json::Value;

use super::dates;
use super::eval::number_to_string;
use super::model::{ChoiceList, Kind};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerError {
    #[error("'{0}' is not a whole number")]
    NotInteger(String),
    #[error("'{0}' is not a number")]
    NotNumber(String),
    #[error("'{0}' is not a date; write it as YYYY-MM-DD")]
    NotDate(String),
    #[error("'{0}' is not a time; write it as HH:MM")]
    NotTime(String),
    #[error("'{0}' is not a date and time; write it as YYYY-MM-DDTHH:MM")]
    NotDateTime(String),
    #[error(
        "'{0}' is not a location; write latitude and longitude in degrees, like '17.97 102.61'"
    )]
    NotGeopoint(String),
    #[error("'{value}' is not a choice of the list '{list}'")]
    UnknownChoice { value: String, list: String },
    #[error("this answer is worked out by the form and cannot be typed in")]
    NotAnswerable,
    #[error("this answer is read-only")]
    ReadOnly,
    #[error("there is no such question or repeat instance here")]
    NoSuchPlace,
    #[error(
        "the answer is {0} bytes long, over fieldkit's cap of {cap} for one answer; shorten it",
        cap = super::limits::bytes(super::limits::MAX_TEXT_BYTES as u64)
    )]
    TooLong(usize),
    #[error(
        "the record is full: it holds at most {values} values and {bytes} of text in all (answers, \
         calculations and repeat entries together); remove entries or shorten answers",
        values = super::limits::MAX_RECORD_VALUES,
        bytes = super::limits::bytes(super::limits::MAX_RECORD_VALUE_BYTES as u64)
    )]
    RecordFull,
}

impl AnswerError {
    /// The same message in Lao (draft text, to be reviewed by a Lao
    /// speaker): the screen and `fill --language "Lao (lo)"` say it in the
    /// language the enumerator chose.
    pub fn in_lao(&self) -> String {
        use super::limits::{MAX_RECORD_VALUE_BYTES, MAX_RECORD_VALUES, MAX_TEXT_BYTES, bytes};
        match self {
            AnswerError::NotInteger(v) => format!("'{v}' ບໍ່ແມ່ນຈຳນວນເຕັມ"),
            AnswerError::NotNumber(v) => format!("'{v}' ບໍ່ແມ່ນຕົວເລກ"),
            AnswerError::NotDate(v) => format!("'{v}' ບໍ່ແມ່ນວັນທີ; ຂຽນເປັນ YYYY-MM-DD"),
            AnswerError::NotTime(v) => format!("'{v}' ບໍ່ແມ່ນເວລາ; ຂຽນເປັນ HH:MM"),
            AnswerError::NotDateTime(v) => {
                format!("'{v}' ບໍ່ແມ່ນວັນທີ ແລະ ເວລາ; ຂຽນເປັນ YYYY-MM-DDTHH:MM")
            }
            AnswerError::NotGeopoint(v) => {
                format!("'{v}' ບໍ່ແມ່ນບ່ອນຕັ້ງ; ຂຽນເສັ້ນຂະໜານ ແລະ ເສັ້ນແວງ ເປັນອົງສາ, ເຊັ່ນ '17.97 102.61'")
            }
            AnswerError::UnknownChoice { value, list } => {
                format!("'{value}' ບໍ່ແມ່ນຕົວເລືອກໃນລາຍການ '{list}'")
            }
            AnswerError::NotAnswerable => "ຄຳຕອບນີ້ແບບຟອມຄິດໄລ່ເອງ, ພິມໃສ່ບໍ່ໄດ້".into(),
            AnswerError::ReadOnly => "ຄຳຕອບນີ້ອ່ານໄດ້ຢ່າງດຽວ".into(),
            AnswerError::NoSuchPlace => "ບໍ່ມີຄຳຖາມ ຫຼື ລາຍການຊ້ຳນີ້ຢູ່ບ່ອນນີ້".into(),
            AnswerError::TooLong(n) => format!(
                "ຄຳຕອບຍາວ {n} ໄບຕ໌, ເກີນຂອບເຂດ {} ສຳລັບຄຳຕອບໜຶ່ງ; ກະລຸນາຫຍໍ້ລົງ",
                bytes(MAX_TEXT_BYTES as u64)
            ),
            AnswerError::RecordFull => format!(
                "ບັນທຶກນີ້ເຕັມແລ້ວ: ມີໄດ້ບໍ່ເກີນ {MAX_RECORD_VALUES} ຄ່າ ແລະ ຂໍ້ຄວາມ {} ລວມກັນ; \
                 ລຶບລາຍການອອກ ຫຼື ຫຍໍ້ຄຳຕອບລົງ",
                bytes(MAX_RECORD_VALUE_BYTES as u64)
            ),
        }
    }
}

/// Checks `raw` for a question of `kind` and returns the stored form; an
/// empty (or blank) answer clears the question.
pub fn canonical(
    kind: &Kind,
    raw: &str,
    list: Option<&ChoiceList>,
    offset_s: i32,
) -> Result<String, AnswerError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let bad = || t.to_string();
    match kind {
        Kind::Integer => {
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AnswerError::NotInteger(bad()));
            }
            t.parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| AnswerError::NotInteger(bad()))
        }
        Kind::Decimal => {
            let n = super::eval::string_to_number(t.strip_prefix('+').unwrap_or(t));
            if n.is_finite() && !t.contains('-') || n.is_finite() && t.starts_with('-') {
                Ok(number_to_string(n))
            } else {
                Err(AnswerError::NotNumber(bad()))
            }
        }
        Kind::Date | Kind::Today => dates::parse_date(t)
            .map(dates::format_date)
            .ok_or_else(|| AnswerError::NotDate(bad())),
        Kind::Time => match dates::parse_time(t) {
            Some((ms, _)) => Ok(dates::format_time(ms)),
            None => Err(AnswerError::NotTime(bad())),
        },
        Kind::DateTime | Kind::Start | Kind::End => dates::parse_datetime(t, offset_s)
            .map(|dt| dt.to_string())
            .ok_or_else(|| AnswerError::NotDateTime(bad())),
        Kind::Geopoint => geopoint(t).ok_or_else(|| AnswerError::NotGeopoint(bad())),
        Kind::SelectOne { list: name } => {
            let choice = t;
            match list {
                Some(l) if l.find(choice).is_some() => Ok(choice.to_string()),
                _ => Err(AnswerError::UnknownChoice {
                    value: choice.to_string(),
                    list: name.clone(),
                }),
            }
        }
        Kind::SelectMultiple { list: name } => {
            let mut picked: Vec<&str> = Vec::new();
            for choice in t.split_whitespace() {
                if list.is_none_or(|l| l.find(choice).is_none()) {
                    return Err(AnswerError::UnknownChoice {
                        value: choice.to_string(),
                        list: name.clone(),
                    });
                }
                if !picked.contains(&choice) {
                    picked.push(choice);
                }
            }
            Ok(picked.join(" "))
        }
        Kind::Acknowledge => match t.to_ascii_lowercase().as_str() {
            "ok" | "yes" | "true" | "1" => Ok("OK".into()),
            "no" | "false" | "0" => Ok(String::new()),
            _ => Err(AnswerError::NotAnswerable),
        },
        Kind::Text | Kind::Hidden | Kind::DeviceId | Kind::Username => Ok(raw.to_string()),
        Kind::Note | Kind::Calculate | Kind::Group | Kind::Repeat => {
            Err(AnswerError::NotAnswerable)
        }
    }
}

fn geopoint(t: &str) -> Option<String> {
    let parts: Vec<&str> = t.split_whitespace().collect();
    if !(2..=4).contains(&parts.len()) {
        return None;
    }
    let nums: Vec<f64> = parts
        .iter()
        .map(|p| p.parse::<f64>().ok().filter(|n| n.is_finite()))
        .collect::<Option<_>>()?;
    let in_range = nums[0].abs() <= 90.0
        && nums[1].abs() <= 180.0
        && nums.get(3).is_none_or(|acc| *acc >= 0.0);
    in_range.then(|| {
        nums.iter()
            .map(|n| number_to_string(*n))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// A JSON answer (from an answers file) as the text the enumerator would type.
pub fn json_to_raw(kind: &Kind, value: &Value) -> Result<String, String> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(if *b { "OK" } else { "" }.to_string()),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i.to_string()),
            (None, Some(x)) if *kind == Kind::Integer && x.fract() == 0.0 && x.abs() < 9e15 => {
                Ok(format!("{}", x as i64))
            }
            (None, Some(x)) => Ok(number_to_string(x)),
            _ => Err(format!("{n} is not a number fieldkit can store")),
        },
        Value::Array(items) if matches!(kind, Kind::SelectMultiple { .. }) => {
            let mut names = Vec::new();
            for item in items {
                match item {
                    Value::String(s)
                        if !s.trim().is_empty() && !s.contains(char::is_whitespace) =>
                    {
                        names.push(s.as_str())
                    }
                    other => return Err(format!("{other} is not a choice name")),
                }
            }
            Ok(names.join(" "))
        }
        Value::Array(_) => Err("a list is only accepted for select_multiple questions".into()),
        Value::Object(_) => Err("an object is only accepted inside a repeat's list".into()),
    }
}

/// A stored answer as typed JSON for the record.
pub fn to_json(kind: &Kind, stored: &str) -> Value {
    match kind {
        Kind::Integer => stored
            .parse::<i64>()
            .map_or_else(|_| Value::String(stored.into()), Value::from),
        Kind::Decimal => match stored.parse::<f64>() {
            Ok(x) if x.fract() == 0.0 && x.abs() < 9e15 => Value::from(x as i64),
            Ok(x) => serde_json::Number::from_f64(x)
                .map_or_else(|| Value::String(stored.into()), Value::Number),
            Err(_) => Value::String(stored.into()),
        },
        Kind::SelectMultiple { .. } => {
            Value::Array(stored.split_whitespace().map(Value::from).collect())
        }
        _ => Value::String(stored.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(canonical(&Kind::Integer, " 42 ", None, 0), Ok("42".into()));
        assert_eq!(canonical(&Kind::Integer, "-3", None, 0), Ok("-3".into()));
        assert!(canonical(&Kind::Integer, "4.5", None, 0).is_err());
        assert!(canonical(&Kind::Integer, "99999999999999999999", None, 0).is_err());
        assert_eq!(
            canonical(&Kind::Decimal, "36.60", None, 0),
            Ok("36.6".into())
        );
        assert_eq!(
            canonical(&Kind::Decimal, "-0.5", None, 0),
            Ok("-0.5".into())
        );
        assert!(canonical(&Kind::Decimal, "1-2", None, 0).is_err());
        assert!(canonical(&Kind::Decimal, "abc", None, 0).is_err());
        assert_eq!(canonical(&Kind::Decimal, "", None, 0), Ok(String::new()));
    }

    #[test]
    fn dates_times_and_places() {
        assert_eq!(
            canonical(&Kind::Date, "2026-02-28", None, 0),
            Ok("2026-02-28".into())
        );
        assert!(canonical(&Kind::Date, "2026-02-30", None, 0).is_err());
        assert_eq!(
            canonical(&Kind::Time, "7:05", None, 0),
            Ok("07:05:00".into())
        );
        assert_eq!(
            canonical(&Kind::DateTime, "2026-11-22T09:30", None, 25_200),
            Ok("2026-11-22T09:30:00.000+07:00".into())
        );
        assert_eq!(
            canonical(&Kind::Geopoint, "17.9757 102.6331 170 5", None, 0),
            Ok("17.9757 102.6331 170 5".into())
        );
        assert!(canonical(&Kind::Geopoint, "95 10", None, 0).is_err());
        assert!(canonical(&Kind::Geopoint, "17.9", None, 0).is_err());
    }

    #[test]
    fn json_values() {
        assert_eq!(
            json_to_raw(&Kind::Integer, &serde_json::json!(3.0)),
            Ok("3".into())
        );
        assert_eq!(
            json_to_raw(
                &Kind::SelectMultiple { list: "x".into() },
                &serde_json::json!(["a", "b"])
            ),
            Ok("a b".into())
        );
        assert!(json_to_raw(&Kind::Text, &serde_json::json!(["a"])).is_err());
        assert_eq!(to_json(&Kind::Integer, "7"), serde_json::json!(7));
        assert_eq!(
            to_json(&Kind::SelectMultiple { list: "x".into() }, "a b"),
            serde_json::json!(["a", "b"])
        );
    }
}
