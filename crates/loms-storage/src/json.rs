//! Positions straight from SQLite rows to JSON text, without building `Position`
//! values: the list endpoint serves 10,000 rows in a few milliseconds this way. The
//! output is the same JSON as serialising [`loms_domain::Position`] with serde
//! (tested): same keys in the same order, decimals as numbers written with the
//! decimal's own digits (never through `f64`), times as RFC 3339.

use crate::Result;
use crate::columns::{COLUMNS, Kind};
use rusqlite::Row;
use rusqlite::types::ValueRef;
use std::io::Write;

/// Append one row as a JSON object.
pub(crate) fn write_position(row: &Row<'_>, out: &mut Vec<u8>) -> Result<()> {
    out.push(b'{');
    for (col, (key, kind)) in COLUMNS.iter().enumerate() {
        if col > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match (row.get_ref(col)?, kind) {
            (ValueRef::Null, _) => out.extend_from_slice(b"null"),
            (ValueRef::Integer(n), _) => {
                let _ = write!(out, "{n}");
            }
            // A stored decimal is `Decimal::to_string` (plain digits, never an
            // exponent): already the JSON number serde writes for it. A row edited by
            // hand may hold anything: it is refused, never copied into the answer as
            // invalid JSON.
            (ValueRef::Text(t), Kind::Decimal) if is_plain_decimal(t) => out.extend_from_slice(t),
            (ValueRef::Text(t), Kind::Time) if is_stored_time(t) => time(t, out),
            (ValueRef::Text(t), Kind::Json)
                if t == b"{}" || serde_json::from_slice::<serde::de::IgnoredAny>(t).is_ok() =>
            {
                out.extend_from_slice(t)
            }
            (ValueRef::Text(t), Kind::Decimal | Kind::Time | Kind::Json) => {
                return Err(bad_row(row, key, t));
            }
            (ValueRef::Text(t), Kind::Closes) => crate::closes::write_json(t, out)?,
            // Most text needs no escaping (symbols, sides, reasons): copy it as is.
            (ValueRef::Text(t), Kind::Text | Kind::Int)
                if t.iter()
                    .all(|c| (0x20..0x80).contains(c) && *c != b'"' && *c != b'\\') =>
            {
                out.push(b'"');
                out.extend_from_slice(t);
                out.push(b'"');
            }
            (ValueRef::Text(t), Kind::Text | Kind::Int) => {
                let s = std::str::from_utf8(t).unwrap_or_default();
                serde_json::to_writer(&mut *out, s)
                    .map_err(|e| crate::StorageError::Corrupt(e.to_string()))?;
            }
            (ValueRef::Real(x), _) => {
                let _ = write!(out, "{x}");
            }
            (ValueRef::Blob(_), _) => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    Ok(())
}

/// `-?digits[.digits]`: the text `Decimal` stores (and a valid JSON number).
fn is_plain_decimal(t: &[u8]) -> bool {
    let t = t.strip_prefix(b"-").unwrap_or(t);
    let (int, frac) = match t.iter().position(|c| *c == b'.') {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    digits(int) && frac.is_none_or(digits)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` ([`crate::codec::ts`] for the years 0 to 9999): only
/// digits and the separators, nothing that would need escaping in JSON.
fn is_stored_time(t: &[u8]) -> bool {
    t.len() == 27
        && t.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A row whose stored text cannot be shown: named, so the operator can repair it.
fn bad_row(row: &Row<'_>, key: &str, t: &[u8]) -> crate::StorageError {
    let id: i64 = row.get(0).unwrap_or_default();
    crate::StorageError::Corrupt(format!(
        "positions row {id}: {key} holds {:?}, which is not what LOMS stores",
        String::from_utf8_lossy(t)
    ))
}

/// A stored time (`2025-12-01T10:05:30.451266Z`) as chrono prints it (AutoSi: no
/// fraction when zero, else 3 or 6 digits).
pub(crate) fn time(t: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    match (t.len(), t.iter().position(|c| *c == b'.')) {
        (27, Some(19)) => {
            let frac = &t[20..26];
            out.extend_from_slice(&t[..19]);
            if frac == b"000000" {
            } else if frac.ends_with(b"000") {
                out.push(b'.');
                out.extend_from_slice(&frac[..3]);
            } else {
                out.push(b'.');
                out.extend_from_slice(frac);
            }
            out.push(b'Z');
        }
        _ => out.extend_from_slice(t),
    }
    out.push(b'"');
}
