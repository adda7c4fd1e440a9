//! The clock: now, in the machine's time zone, or the time FIELDKIT_NOW
//! pins for tests and reproducible runs; and the random seed a form's
//! `random()` and `uuid()` draw from.

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

/// 64 random bits from the system, for a form session's `random()` and
/// `uuid()` (a version 7 UUID's random part, mixed with its time).
pub fn seed() -> u64 {
    let bits = uuid::Uuid::now_v7().as_u128();
    (bits as u64) ^ ((bits >> 64) as u64).rotate_left(29)
}
