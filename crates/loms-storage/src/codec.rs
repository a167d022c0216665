//! Encoding of domain values in SQLite TEXT columns.

use crate::StorageError;
use loms_domain::{Decimal, Timestamp};
use std::str::FromStr;

/// Fixed-width UTC time, microsecond precision: sorts lexicographically like time.
pub(crate) fn ts(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
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
