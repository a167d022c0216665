//! Encoding of domain values in SQLite TEXT columns.

use crate::StorageError;
use loms_domain::{Decimal, Timestamp};
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::fmt::{self, Write};
use std::str::FromStr;

/// A decimal or a time as text on the stack, bound as TEXT without an allocation (the
/// writer binds a dozen per position). The longest such text is 31 bytes (a 29-digit
/// decimal with its sign and point, or a time with a 6-digit year).
#[derive(Clone, Copy)]
pub(crate) struct Text {
    buf: [u8; 40],
    len: usize,
}

impl Text {
    fn new() -> Self {
        Self {
            buf: [0; 40],
            len: 0,
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in (`write_str`).
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl ToSql for Text {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(&self.buf[..self.len])))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A decimal as stored: `Decimal`'s own text (plain digits, never an exponent).
pub(crate) fn dec(d: Decimal) -> Text {
    let mut t = Text::new();
    // Cannot overflow: a Decimal prints in at most 31 bytes.
    let _ = write!(t, "{d}");
    t
}

/// Fixed-width UTC time, microsecond precision: sorts lexicographically like time.
/// Years 0 to 9999 are written digit by digit (the writer stores two or three times
/// per position, and `write!` costs several times as much); others go through `write!`.
pub(crate) fn ts(t: Timestamp) -> Text {
    use chrono::{Datelike, Timelike};
    let mut s = Text::new();
    let year = t.year();
    let micros = t.nanosecond() % 1_000_000_000 / 1_000;
    let Ok(y @ 0..=9999) = u32::try_from(year) else {
        // Cannot overflow: at most 31 bytes (6-digit years).
        let _ = write!(
            s,
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
        );
        return s;
    };
    // "YYYY-MM-DDTHH:MM:SS.ffffffZ": 27 bytes.
    let fields = [
        (y, 4, b'-'),
        (t.month(), 2, b'-'),
        (t.day(), 2, b'T'),
        (t.hour(), 2, b':'),
        (t.minute(), 2, b':'),
        (t.second(), 2, b'.'),
        (micros, 6, b'Z'),
    ];
    for (mut v, width, sep) in fields {
        for i in (0..width).rev() {
            s.buf[s.len + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        s.buf[s.len + width] = sep;
        s.len += width + 1;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_fixed_width_and_round_trip() {
        let t = chrono::Utc.with_ymd_and_hms(2025, 12, 1, 9, 5, 3).unwrap()
            + chrono::Duration::microseconds(450_021);
        assert_eq!(ts(t).as_str(), "2025-12-01T09:05:03.450021Z");
        assert_eq!(parse_ts(ts(t).as_str()).unwrap(), t);
        assert_eq!(
            ts(chrono::DateTime::UNIX_EPOCH).as_str(),
            "1970-01-01T00:00:00.000000Z"
        );
        let far = chrono::NaiveDate::from_ymd_opt(-262_000, 12, 31)
            .unwrap()
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .unwrap()
            .and_utc();
        assert_eq!(
            parse_ts(ts(far).as_str()).ok(),
            parse_ts(&far.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()).ok()
        );
        assert_eq!(ts(far).as_str().len(), 30, "fits");
    }

    #[test]
    fn the_fast_path_writes_what_chrono_formats() {
        let mut t = chrono::Utc
            .with_ymd_and_hms(1999, 12, 31, 23, 59, 58)
            .unwrap();
        for step_us in [1, 999_999, 86_399_999_999, 31_622_400_000_001] {
            t += chrono::Duration::microseconds(step_us);
            assert_eq!(
                ts(t).as_str(),
                t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
        }
        for (y, want) in [
            (0, "0000-01-01"),
            (9999, "9999-01-01"),
            (10_000, "10000-01-01"),
        ] {
            let t = chrono::Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap();
            assert!(ts(t).as_str().starts_with(want), "{y}");
        }
    }

    #[test]
    fn the_longest_decimals_fit_and_read_back() {
        for d in [
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(-1, 28),
            Decimal::ZERO,
        ] {
            let t = dec(d);
            assert_eq!(t.as_str(), d.to_string());
            assert_eq!(parse_dec(t.as_str()).unwrap(), d);
        }
    }
}
