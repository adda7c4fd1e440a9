//! The clock: now, in the machine's time zone, or the time FIELDKIT_NOW
//! pins for tests and reproducible runs.

use crate::form::dates::DateTime;

/// Now, in the machine's time zone. FIELDKIT_NOW (RFC 3339, e.g.
/// `2026-11-22T09:00:00+07:00`) pins it.
pub fn now() -> DateTime {
    if let Ok(pinned) = std::env::var("FIELDKIT_NOW")
        && let Some(dt) = crate::form::dates::parse_datetime(&pinned, 0)
    {
        return dt;
    }
    let zoned = jiff::Zoned::now();
    DateTime {
        epoch_ms: zoned.timestamp().as_millisecond(),
        offset_s: zoned.offset().seconds(),
    }
}
