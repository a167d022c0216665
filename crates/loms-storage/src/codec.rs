//! Encoding of domain values in SQLite TEXT columns.

use crate::StorageError;
use loms_domain::{Decimal, Timestamp};
use std::str::FromStr;

/// Fixed-width UTC time, microsecond precision: sorts lexicographically like time.
/// Written field by field (no format string to parse on every row).
pub(crate) fn ts(t: Timestamp) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let mut s = String::with_capacity(27);
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() % 1_000_000_000 / 1_000
    );
    s
}

pub(crate) fn parse_ts(s: &str) -> Result<Timestamp, StorageError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StorageError::Corrupt(format!("bad time {s:?}: {e}")))
}

pub(crate) fn parse_dec(s: &str) -> Result<Decimal, StorageError> {
    Decimal::from_str(s).map_err(|e| StorageError::Corrupt(format!("bad decimal {s:?}: {e}")))
}

pub(crate) fn opt_ts(t: Option<Timestamp>) -> Option<String> {
    t.map(ts)
}

pub(crate) fn opt_dec(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_fixed_width_and_round_trip() {
        let t = chrono::Utc.with_ymd_and_hms(2025, 12, 1, 9, 5, 3).unwrap()
            + chrono::Duration::microseconds(450_021);
        assert_eq!(ts(t), "2025-12-01T09:05:03.450021Z");
        assert_eq!(parse_ts(&ts(t)).unwrap(), t);
        assert_eq!(
            ts(chrono::DateTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
    }
}
