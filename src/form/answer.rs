//! Typed answers: what the enumerator types (or a script sends) checked
//! against the question's type and turned into the canonical string
//! XLSForm stores, and back into typed JSON for the record.

use serde_json::Value;

use super::dates::{self, DatePrecision};
use super::eval::number_to_string;
use super::model::{ChoiceList, Kind, Node};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerError {
    #[error("'{0}' is not a whole number")]
    NotInteger(String),
    #[error("'{0}' is not a number")]
    NotNumber(String),
    #[error("'{0}' is not a date; write it as YYYY-MM-DD")]
    NotDate(String),
    #[error("'{0}' is not a month and year; write it as YYYY-MM, like 2026-09")]
    NotMonthYear(String),
    #[error(
        "'{value}' gives a day, but this question asks only for the month and year: type {month}"
    )]
    DayInMonthYear { value: String, month: String },
    #[error("'{0}' is not a year; write it as YYYY, like 2026")]
    NotYear(String),
    #[error(
        "'{value}' gives more than the year, but this question asks only for the year: type {year}"
    )]
    MoreThanYear { value: String, year: String },
    #[error("'{0}' is not a time; write it as HH:MM")]
    NotTime(String),
    #[error("'{0}' is not a date and time; write it as YYYY-MM-DDTHH:MM")]
    NotDateTime(String),
    #[error(
        "'{0}' is not a location; write latitude and longitude in degrees, like '17.97 102.61'"
    )]
    NotGeopoint(String),
    #[error(
        "'{0}' is not a line: give at least 2 points, each latitude and longitude in degrees, \
         separated by ';', like '17.97 102.61; 17.98 102.62'"
    )]
    NotGeotrace(String),
    #[error(
        "'{0}' is not a shape: give at least 3 different points, each latitude and longitude in \
         degrees, separated by ';' (the first point closes it), like '17.97 102.61; 17.98 \
         102.62; 17.99 102.61'"
    )]
    NotGeoshape(String),
    #[error(
        "'{0}' is not an attached file's name; attach the file (on the screen, or as its path in \
         an answers file)"
    )]
    NotAttachment(String),
    #[error("'{value}' is not a choice of the list '{list}'")]
    UnknownChoice { value: String, list: String },
    #[error(
        "{0} is too large a number to store; give it as text in quotes if it is an identifier \
         (a phone or ID number)"
    )]
    NumberNotStorable(String),
    #[error(
        "{0} is not a choice name; give the choices' names as texts, like [\"water\", \"food\"]"
    )]
    NotChoiceName(String),
    #[error(
        "a list is only accepted for select_multiple questions; give one value (a text or a number)"
    )]
    ListNotAccepted,
    #[error(
        "an object is only accepted inside a repeat's list; give one value (a text or a number)"
    )]
    ObjectNotAccepted,
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
            // Added for issue 15 (Lao to review): month-year and year questions.
            AnswerError::NotMonthYear(v) => {
                format!("'{v}' ບໍ່ແມ່ນເດືອນ ແລະ ປີ; ຂຽນເປັນ YYYY-MM, ເຊັ່ນ 2026-09")
            }
            AnswerError::DayInMonthYear { value, month } => {
                format!("'{value}' ມີວັນທີ, ແຕ່ຄຳຖາມນີ້ຖາມພຽງເດືອນ ແລະ ປີ: ພິມ {month}")
            }
            AnswerError::NotYear(v) => format!("'{v}' ບໍ່ແມ່ນປີ; ຂຽນເປັນ YYYY, ເຊັ່ນ 2026"),
            AnswerError::MoreThanYear { value, year } => {
                format!("'{value}' ມີຫຼາຍກວ່າປີ, ແຕ່ຄຳຖາມນີ້ຖາມພຽງປີ: ພິມ {year}")
            }
            AnswerError::NotTime(v) => format!("'{v}' ບໍ່ແມ່ນເວລາ; ຂຽນເປັນ HH:MM"),
            AnswerError::NotDateTime(v) => {
                format!("'{v}' ບໍ່ແມ່ນວັນທີ ແລະ ເວລາ; ຂຽນເປັນ YYYY-MM-DDTHH:MM")
            }
            AnswerError::NotGeopoint(v) => {
                format!("'{v}' ບໍ່ແມ່ນບ່ອນຕັ້ງ; ຂຽນເສັ້ນຂະໜານ ແລະ ເສັ້ນແວງ ເປັນອົງສາ, ເຊັ່ນ '17.97 102.61'")
            }
            // Added for issue 18 (Lao to review): lines and shapes.
            AnswerError::NotGeotrace(v) => {
                format!(
                    "'{v}' ບໍ່ແມ່ນເສັ້ນ; ໃຫ້ຢ່າງໜ້ອຍ 2 ຈຸດ, ແຍກດ້ວຍ ';', ເຊັ່ນ '17.97 102.61; 17.98 102.62'"
                )
            }
            AnswerError::NotGeoshape(v) => {
                format!("'{v}' ບໍ່ແມ່ນຮູບຮ່າງ; ໃຫ້ຢ່າງໜ້ອຍ 3 ຈຸດທີ່ຕ່າງກັນ, ແຍກດ້ວຍ ';'")
            }
            AnswerError::UnknownChoice { value, list } => {
                format!("'{value}' ບໍ່ແມ່ນຕົວເລືອກໃນລາຍການ '{list}'")
            }
            // Added for issue 18 (Lao to review): file questions.
            AnswerError::NotAttachment(v) => {
                format!("'{v}' ບໍ່ແມ່ນຊື່ຂອງໄຟລ໌ທີ່ແນບມາ; ໃຫ້ແນບໄຟລ໌")
            }
            // Added for issue 16 (Lao to review): answers files.
            AnswerError::NumberNotStorable(v) => {
                format!("{v} ເປັນຕົວເລກທີ່ໃຫຍ່ເກີນໄປ; ຖ້າເປັນເລກລະຫັດ (ເບີໂທ ຫຼື ເລກບັດ) ໃຫ້ຂຽນເປັນຂໍ້ຄວາມໃນວົງຢືມ")
            }
            AnswerError::NotChoiceName(v) => {
                format!("{v} ບໍ່ແມ່ນຊື່ຕົວເລືອກ; ໃຫ້ຊື່ຕົວເລືອກເປັນຂໍ້ຄວາມ, ເຊັ່ນ [\"water\", \"food\"]")
            }
            AnswerError::ListNotAccepted => {
                "ລາຍການ (list) ໃຊ້ໄດ້ສະເພາະຄຳຖາມ select_multiple; ໃຫ້ຄ່າດຽວ (ຂໍ້ຄວາມ ຫຼື ຕົວເລກ)".into()
            }
            AnswerError::ObjectNotAccepted => {
                "object ໃຊ້ໄດ້ສະເພາະໃນລາຍການຂອງກຸ່ມຊ້ຳ (repeat); ໃຫ້ຄ່າດຽວ (ຂໍ້ຄວາມ ຫຼື ຕົວເລກ)".into()
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

/// `canonical` for the question `node`: its type, and for a date what
/// its appearance asks for (see [`partial_date`]).
pub fn canonical_for(
    node: &Node,
    raw: &str,
    list: Option<&ChoiceList>,
    offset_s: i32,
) -> Result<String, AnswerError> {
    match node.date_precision() {
        DatePrecision::Day => canonical(&node.kind, raw, list, offset_s),
        precision => partial_date(raw.trim(), precision),
    }
}

/// A month-year or year answer as XLSForm stores it: `2026-09` becomes
/// `2026-09-01`, `2026` becomes `2026-01-01`. The stored form is accepted
/// as typed (answers files, resumed drafts). A date that says more than
/// the question asks (a day that is not the 1st, a month that is not
/// January) is refused with what to type, never cut short silently.
pub fn partial_date(t: &str, precision: DatePrecision) -> Result<String, AnswerError> {
    if t.is_empty() {
        return Ok(String::new());
    }
    let whole = dates::parse_date(t);
    let month = dates::parse_date(&format!("{t}-01"));
    let days = match precision {
        DatePrecision::Year => whole.or(month).or(dates::parse_date(&format!("{t}-01-01"))),
        _ => whole.or(month),
    };
    let parts = days.map(|days| (days, dates::civil_from_days(days)));
    match (precision, parts) {
        (DatePrecision::MonthYear, Some((days, (_, _, 1)))) => Ok(dates::format_date(days)),
        (DatePrecision::MonthYear, Some((_, (y, m, _)))) => Err(AnswerError::DayInMonthYear {
            value: t.to_string(),
            month: format!("{y:04}-{m:02}"),
        }),
        (DatePrecision::MonthYear, None) => Err(AnswerError::NotMonthYear(t.to_string())),
        (DatePrecision::Year, Some((days, (_, 1, 1)))) => Ok(dates::format_date(days)),
        (DatePrecision::Year, Some((_, (y, _, _)))) => Err(AnswerError::MoreThanYear {
            value: t.to_string(),
            year: format!("{y:04}"),
        }),
        (DatePrecision::Year, None) => Err(AnswerError::NotYear(t.to_string())),
        (DatePrecision::Day, _) => canonical(&Kind::Date, t, None, 0),
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
        Kind::Geotrace => points(t, false).ok_or_else(|| AnswerError::NotGeotrace(bad())),
        Kind::Geoshape => points(t, true).ok_or_else(|| AnswerError::NotGeoshape(bad())),
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
        Kind::File { .. } if crate::form::media::is_attachment_name(t) => Ok(t.to_string()),
        Kind::File { .. } => Err(AnswerError::NotAttachment(bad())),
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

/// A line or a shape as XLSForm stores it: points `lat lon [alt [acc]]`
/// separated by `;`, each as typed. A line has at least 2 points; a shape
/// at least 3 different ones, and is closed (its first point repeated
/// last, added when it was not typed).
fn points(t: &str, closed: bool) -> Option<String> {
    let mut pts: Vec<(String, Vec<f64>)> = t
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(point)
        .collect::<Option<_>>()?;
    let same_place = |a: &[f64], b: &[f64]| a[0] == b[0] && a[1] == b[1];
    if closed {
        if pts.len() > 1 && same_place(&pts[0].1, &pts[pts.len() - 1].1) {
            pts.pop();
        }
        let mut distinct: Vec<&[f64]> = Vec::new();
        for (_, nums) in &pts {
            if !distinct.iter().any(|d| same_place(d, nums)) {
                distinct.push(nums);
            }
        }
        if distinct.len() < 3 {
            return None;
        }
        pts.push(pts[0].clone());
    } else if pts.len() < 2 {
        return None;
    }
    Some(
        pts.into_iter()
            .map(|(text, _)| text)
            .collect::<Vec<_>>()
            .join(";"),
    )
}

/// A location `lat lon [alt [acc]]` in degrees (and metres), stored as
/// typed (spaces between the numbers made single): only checked, never
/// rewritten, so `17.970` stays `17.970`.
fn geopoint(t: &str) -> Option<String> {
    point(t).map(|(text, _)| text)
}

/// A location as typed, and its numbers.
fn point(t: &str) -> Option<(String, Vec<f64>)> {
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
    in_range.then(|| (parts.join(" "), nums))
}

/// A JSON answer (from an answers file) as the text the enumerator would type.
pub fn json_to_raw(kind: &Kind, value: &Value) -> Result<String, AnswerError> {
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
            _ => Err(AnswerError::NumberNotStorable(n.to_string())),
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
                    other => return Err(AnswerError::NotChoiceName(other.to_string())),
                }
            }
            Ok(names.join(" "))
        }
        Value::Array(_) => Err(AnswerError::ListNotAccepted),
        Value::Object(_) => Err(AnswerError::ObjectNotAccepted),
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
    fn month_year_answers_are_stored_as_the_first_of_the_month() {
        let my = DatePrecision::MonthYear;
        assert_eq!(partial_date("2026-09", my), Ok("2026-09-01".into()));
        // The stored form comes back from answers files and drafts.
        assert_eq!(partial_date("2026-09-01", my), Ok("2026-09-01".into()));
        assert_eq!(partial_date("", my), Ok(String::new()));
        // A day the enumerator typed is never dropped: refused, with what to type.
        let e = partial_date("2026-09-15", my).unwrap_err();
        assert_eq!(
            e,
            AnswerError::DayInMonthYear {
                value: "2026-09-15".into(),
                month: "2026-09".into()
            }
        );
        assert!(e.to_string().contains("type 2026-09"), "{e}");
        assert!(e.in_lao().contains("2026-09"), "{}", e.in_lao());
        for bad in ["2026", "2026-13", "2026-9", "Sept 2026", "2026-02-30"] {
            assert_eq!(
                partial_date(bad, my),
                Err(AnswerError::NotMonthYear(bad.into())),
                "{bad}"
            );
        }
        assert!(
            AnswerError::NotMonthYear("x".into())
                .to_string()
                .contains("YYYY-MM")
        );
    }

    #[test]
    fn year_answers_are_stored_as_the_first_of_january() {
        let y = DatePrecision::Year;
        assert_eq!(partial_date("2026", y), Ok("2026-01-01".into()));
        assert_eq!(partial_date("2026-01-01", y), Ok("2026-01-01".into()));
        for more in ["2026-09", "2026-09-01", "2026-01-15"] {
            let e = partial_date(more, y).unwrap_err();
            assert_eq!(
                e,
                AnswerError::MoreThanYear {
                    value: more.into(),
                    year: "2026".into()
                },
                "{more}"
            );
            assert!(e.to_string().contains("type 2026"), "{e}");
        }
        for bad in ["26", "20266", "year", "-2026"] {
            assert_eq!(
                partial_date(bad, y),
                Err(AnswerError::NotYear(bad.into())),
                "{bad}"
            );
        }
        assert!(AnswerError::NotYear("x".into()).in_lao().contains("YYYY"));
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
        assert_eq!(
            json_to_raw(&Kind::Text, &serde_json::json!(["a"])),
            Err(AnswerError::ListNotAccepted)
        );
        assert_eq!(
            json_to_raw(&Kind::Text, &serde_json::json!({"a": 1})),
            Err(AnswerError::ObjectNotAccepted)
        );
        let multiple = Kind::SelectMultiple { list: "x".into() };
        assert_eq!(
            json_to_raw(&multiple, &serde_json::json!(["a", 3])),
            Err(AnswerError::NotChoiceName("3".into()))
        );
        // Each says what to do instead, in English and in (draft) Lao.
        for e in [
            AnswerError::NumberNotStorable("1e400".into()),
            AnswerError::NotChoiceName("3".into()),
            AnswerError::ListNotAccepted,
            AnswerError::ObjectNotAccepted,
        ] {
            assert!(e.to_string().contains("; give"), "{e}");
            assert!(e.in_lao().contains("ໃຫ້"), "{}", e.in_lao());
        }
        assert_eq!(to_json(&Kind::Integer, "7"), serde_json::json!(7));
        assert_eq!(
            to_json(&Kind::SelectMultiple { list: "x".into() }, "a b"),
            serde_json::json!(["a", "b"])
        );
    }
}
