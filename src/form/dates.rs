//! Calendar arithmetic for answers and expressions: ISO 8601 dates, times and
//! date-times as XLSForm stores them, and days since 1970-01-01 as XPath
//! compares them. Pure functions; the clock itself is given by the caller.

/// A moment with the UTC offset it was recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub epoch_ms: i64,
    pub offset_s: i32,
}

const MS_PER_DAY: i64 = 86_400_000;

/// How much of a date a question asks for. XLSForm's `month-year` and
/// `year` appearances still store a whole date: the first day of the month
/// (`2026-09-01`) or of the year (`2026-01-01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DatePrecision {
    #[default]
    Day,
    MonthYear,
    Year,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DD` to days since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&s[0..4])?;
    let m = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(i64::from(y), m) {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d))
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff`, optionally followed by an offset;
/// returns milliseconds since midnight and the offset if one was given.
pub fn parse_time(s: &str) -> Option<(i64, Option<i32>)> {
    let (clock, offset) = split_offset(s)?;
    let mut parts = clock.splitn(3, ':');
    let h = digits(parts.next()?)?;
    let mi = digits(parts.next()?)?;
    let (sec, ms) = match parts.next() {
        None => (0, 0),
        Some(rest) => match rest.split_once('.') {
            None => (digits(rest)?, 0),
            Some((sec, frac)) => {
                let frac = &frac[..frac.len().min(3)];
                let ms = digits(frac)? * 10u32.pow(3 - frac.len() as u32);
                (digits(sec)?, ms)
            }
        },
    };
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let ms = ((i64::from(h) * 60 + i64::from(mi)) * 60 + i64::from(sec)) * 1000 + i64::from(ms);
    Some((ms, offset))
}

fn split_offset(s: &str) -> Option<(&str, Option<i32>)> {
    if let Some(clock) = s.strip_suffix('Z') {
        return Some((clock, Some(0)));
    }
    if let Some(i) = s.rfind(['+', '-']) {
        let (clock, off) = s.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = &off[1..];
        let (h, m) = off.split_once(':').unwrap_or((off, "00"));
        let (h, m) = (digits(h)?, digits(m)?);
        if h > 14 || m > 59 {
            return None;
        }
        return Some((clock, Some(sign * (h as i32 * 3600 + m as i32 * 60))));
    }
    Some((s, None))
}

/// `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`; a missing offset means `default_offset_s`.
pub fn parse_datetime(s: &str, default_offset_s: i32) -> Option<DateTime> {
    let (date, time) = s.split_once(['T', ' '])?;
    let days = parse_date(date)?;
    let (ms, offset) = parse_time(time)?;
    let offset_s = offset.unwrap_or(default_offset_s);
    let epoch_ms = days * MS_PER_DAY + ms - i64::from(offset_s) * 1000;
    Some(DateTime { epoch_ms, offset_s })
}

pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

impl DateTime {
    /// Local days and milliseconds since local midnight.
    pub(crate) fn local(&self) -> (i64, i64) {
        let local = self.epoch_ms + i64::from(self.offset_s) * 1000;
        (local.div_euclid(MS_PER_DAY), local.rem_euclid(MS_PER_DAY))
    }

    pub fn local_date(&self) -> i64 {
        self.local().0
    }

    /// Fractional days since the epoch, as `decimal-date-time()` gives.
    pub fn decimal_days(&self) -> f64 {
        self.epoch_ms as f64 / MS_PER_DAY as f64
    }
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (days, ms) = self.local();
        let (h, mi, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        let off = self.offset_s.abs();
        let sign = if self.offset_s < 0 { '-' } else { '+' };
        write!(
            f,
            "{}T{h:02}:{mi:02}:{s:02}.{milli:03}{sign}{:02}:{:02}",
            format_date(days),
            off / 3600,
            off / 60 % 60
        )
    }
}

/// Milliseconds since midnight as `HH:MM:SS`.
pub fn format_time(ms: i64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_779, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-11-22"), Some(20_779));
        assert_eq!(format_date(20_779), "2026-11-22");
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "26-1-1",
            "2026/01/01",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(parse_date("2024-02-29").is_some());
    }

    #[test]
    fn times_and_offsets() {
        assert_eq!(parse_time("07:05"), Some((25_500_000, None)));
        assert_eq!(parse_time("23:59:59.5"), Some((86_399_500, None)));
        assert_eq!(parse_time("24:00"), None);
        let dt = parse_datetime("2026-11-22T10:00:00+07:00", 0).unwrap();
        assert_eq!(dt.to_string(), "2026-11-22T10:00:00.000+07:00");
        assert_eq!(dt.local_date(), 20_779);
        let utc = parse_datetime("2026-11-22T03:00:00Z", 25_200).unwrap();
        assert_eq!(utc.epoch_ms, dt.epoch_ms);
    }
}
