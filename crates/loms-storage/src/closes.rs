//! The closed pieces of a position (`positions.closes`, schema v8): a JSON array with
//! one object per partial or final close, in the storage's own text forms —
//! `{"qty":"0.5","price":"101.5","fee":"0.0304","reason":"tp","closed_at":"2025-12-01T10:05:00.450000Z"}`
//! (decimals as their exact text, times as [`crate::codec::ts`]). A close appends its
//! piece inside the statement that stores it (`json_insert`), so the writer never keeps
//! the pieces in memory. Every fill is also a row of `fills`, which nothing reads at run
//! time (it has no index by position, to keep closes cheap); this copy on the row is
//! what answers show.

use crate::codec::{parse_dec, parse_ts, ts};
use crate::{Result, StorageError};
use loms_domain::{CloseReason, ClosedPiece};
use serde::Deserialize;
use std::fmt::Write;

/// A piece as stored, its texts borrowed from the column (none holds an escape).
#[derive(Debug, Deserialize)]
struct Stored<'a> {
    qty: &'a str,
    price: &'a str,
    fee: &'a str,
    reason: &'a str,
    closed_at: &'a str,
}

impl Stored<'_> {
    fn decode(&self) -> Result<ClosedPiece> {
        Ok(ClosedPiece {
            qty: parse_dec(self.qty)?,
            price: parse_dec(self.price)?,
            fee: parse_dec(self.fee)?,
            reason: self.reason.parse::<CloseReason>().map_err(corrupt)?,
            closed_at: parse_ts(self.closed_at)?,
        })
    }
}

/// A piece as stored: one JSON object. Its texts need no escaping (digits, signs,
/// points, a reason's letters and underscores, a time's digits and separators).
pub(crate) fn to_json(p: &ClosedPiece) -> String {
    let mut s = String::with_capacity(128);
    let _ = write!(
        s,
        r#"{{"qty":"{}","price":"{}","fee":"{}","reason":"{}","closed_at":"{}"}}"#,
        p.qty,
        p.price,
        p.fee,
        p.reason.as_str(),
        ts(p.closed_at).as_str()
    );
    s
}

fn corrupt(detail: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("closes: {detail}"))
}

fn stored(text: &[u8]) -> Result<Vec<Stored<'_>>> {
    serde_json::from_slice(text).map_err(corrupt)
}

/// Decode the stored pieces.
///
/// # Errors
/// [`StorageError::Corrupt`] when the text is not an array of well-formed pieces.
pub(crate) fn parse(text: &[u8]) -> Result<Vec<ClosedPiece>> {
    stored(text)?.iter().map(Stored::decode).collect()
}

/// Append the stored pieces as the JSON of `Vec<ClosedPiece>` (serde's): decimals as
/// numbers with their own digits, times as RFC 3339 strings (written like the other
/// columns of a position, [`crate::json`]).
///
/// # Errors
/// [`StorageError::Corrupt`] when the text is not an array of well-formed pieces.
pub(crate) fn write_json(text: &[u8], out: &mut Vec<u8>) -> Result<()> {
    if text == b"[]" {
        out.extend_from_slice(text);
        return Ok(());
    }
    let pieces = stored(text)?;
    out.push(b'[');
    for (i, p) in pieces.iter().enumerate() {
        // Checked first: a bad piece fails the row rather than writing invalid JSON.
        p.decode()?;
        out.extend_from_slice(if i > 0 { b",{" } else { b"{" });
        out.extend_from_slice(br#""qty":"#);
        out.extend_from_slice(p.qty.as_bytes());
        out.extend_from_slice(br#","price":"#);
        out.extend_from_slice(p.price.as_bytes());
        out.extend_from_slice(br#","fee":"#);
        out.extend_from_slice(p.fee.as_bytes());
        out.extend_from_slice(br#","reason":""#);
        out.extend_from_slice(p.reason.as_bytes());
        out.extend_from_slice(br#"","closed_at":"#);
        crate::json::time(p.closed_at.as_bytes(), out);
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use rust_decimal::dec;
    use serde_json::Value;

    #[test]
    fn pieces_round_trip_and_write_like_serde() {
        let pieces = vec![
            ClosedPiece {
                qty: dec!(0.5),
                price: dec!(101.5),
                fee: dec!(0.0304),
                reason: CloseReason::Tp,
                closed_at: Utc.with_ymd_and_hms(2025, 12, 1, 10, 5, 0).unwrap()
                    + chrono::Duration::microseconds(450_001),
            },
            ClosedPiece {
                qty: dec!(1),
                price: dec!(100),
                fee: dec!(0),
                reason: CloseReason::BreakEven,
                closed_at: Utc.with_ymd_and_hms(2025, 12, 1, 11, 0, 0).unwrap(),
            },
        ];
        let stored = format!(
            "[{}]",
            pieces.iter().map(to_json).collect::<Vec<_>>().join(",")
        );
        assert_eq!(parse(stored.as_bytes()).unwrap(), pieces);
        let mut out = Vec::new();
        write_json(stored.as_bytes(), &mut out).unwrap();
        let fast: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(fast, serde_json::to_value(&pieces).unwrap());
        assert_eq!(parse(b"[]").unwrap(), []);
        for bad in [&b"{}"[..], b"[{\"qty\":1}]", b"[1]", b"x"] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
            assert!(write_json(bad, &mut Vec::new()).is_err());
        }
    }
}
