//! Positions straight from SQLite rows to JSON text, without building `Position`
//! values: the list endpoint serves 10,000 rows in a few milliseconds this way. The
//! output is the same JSON as serialising [`loms_domain::Position`] with serde
//! (tested): same keys in the same order, decimals as numbers written with the
//! decimal's own digits (never through `f64`), times as RFC 3339.

use crate::Result;
use rusqlite::Row;
use rusqlite::types::ValueRef;
use std::io::Write;

/// How a column is written.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Decimal,
    Time,
    Json,
}

/// `(key, column index in POSITION_COLUMNS, kind)` in the order of `Position`'s fields.
const FIELDS: [(&str, usize, Kind); 31] = [
    ("id", 0, Kind::Int),
    ("order_id", 1, Kind::Int),
    ("symbol", 2, Kind::Text),
    ("side", 3, Kind::Text),
    ("qty", 4, Kind::Decimal),
    ("entry_price", 5, Kind::Decimal),
    ("tp_price", 6, Kind::Decimal),
    ("sl_price", 7, Kind::Decimal),
    ("status", 8, Kind::Text),
    ("created_at", 9, Kind::Time),
    ("closed_at", 10, Kind::Time),
    ("close_price", 11, Kind::Decimal),
    ("pnl", 12, Kind::Decimal),
    ("auto_close_reason", 13, Kind::Text),
    ("exchange", 14, Kind::Text),
    ("market_type", 15, Kind::Text),
    ("account_label", 16, Kind::Text),
    ("external_order_id", 17, Kind::Text),
    ("external_position_ref", 18, Kind::Text),
    ("exit_strategy", 19, Kind::Text),
    ("dynamic_tp_price", 20, Kind::Decimal),
    ("dynamic_sl_price", 21, Kind::Decimal),
    ("max_favorable_move", 22, Kind::Decimal),
    ("exit_meta", 23, Kind::Json),
    ("signal_id", 24, Kind::Text),
    ("strategy", 25, Kind::Text),
    ("timeframe_min", 26, Kind::Int),
    ("fees", 27, Kind::Decimal),
    ("realized_pnl", 30, Kind::Decimal),
    ("signal_price", 28, Kind::Decimal),
    ("signal_time", 29, Kind::Time),
];

/// Append one row as a JSON object.
pub(crate) fn write_position(row: &Row<'_>, out: &mut Vec<u8>) -> Result<()> {
    out.push(b'{');
    for (i, (key, col, kind)) in FIELDS.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match (row.get_ref(*col)?, kind) {
            (ValueRef::Null, _) => out.extend_from_slice(b"null"),
            (ValueRef::Integer(n), _) => {
                let _ = write!(out, "{n}");
            }
            // A stored decimal is `Decimal::to_string` (plain digits, never an
            // exponent): already the JSON number serde writes for it.
            (ValueRef::Text(t), Kind::Decimal) => out.extend_from_slice(t),
            (ValueRef::Text(t), Kind::Time) => time(t, out),
            (ValueRef::Text(t), Kind::Json) => out.extend_from_slice(t),
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

/// A stored time (`2025-12-01T10:05:30.451266Z`) as chrono prints it (AutoSi: no
/// fraction when zero, else 3 or 6 digits).
fn time(t: &[u8], out: &mut Vec<u8>) {
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
