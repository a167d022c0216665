//! The idempotency keys of a window of recent signals, read by row id.
//!
//! Signals are stored in the order they are received, so row ids increase with
//! `received_at`: the first row of a window is found by a binary search over row ids
//! (a few dozen lookups by primary key), and the window is then read as a range of
//! row ids. Start-up never reads the signals before the window.

use crate::codec::ts;
use crate::{Result, Store, Tx};
use loms_domain::Timestamp;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

/// The row id from which every signal was received at or after `since`: the first
/// such row (or the row after the last when none was). Assumes `received_at` grows
/// with the row id (it is the writer's clock at insertion); where the clock stepped
/// back, the window may start a few rows early or late.
fn first_id_since(conn: &Connection, since: Timestamp) -> Result<i64> {
    let since = ts(since);
    let (lo, hi): (Option<i64>, Option<i64>) =
        conn.query_row("SELECT min(id), max(id) FROM signals", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (Some(mut lo), Some(hi)) = (lo, hi) else {
        return Ok(1);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at >= ?2 FROM signals WHERE id >= ?1 ORDER BY id LIMIT 1",
    )?;
    // The smallest id whose next row (if any) was received in the window.
    let mut hi = hi + 1;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let next: Option<(i64, bool)> = stmt
            .query_row(rusqlite::params![mid, since], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match next {
            None | Some((_, true)) => hi = mid,
            Some((id, false)) => lo = id + 1,
        }
    }
    Ok(lo)
}

/// Hand the row id and idempotency key of every signal from row `from` on to `f`, in
/// row order. A key stored as something else than text (a hand edit) is read as text.
fn each_key(conn: &Connection, from: i64, mut f: impl FnMut(i64, &str)) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("SELECT id, idem_key FROM signals WHERE id >= ?1 ORDER BY id")?;
    let mut rows = stmt.query([from])?;
    while let Some(r) = rows.next()? {
        let id = r.get(0)?;
        match r.get_ref(1)? {
            ValueRef::Text(b) | ValueRef::Blob(b) => f(id, &String::from_utf8_lossy(b)),
            ValueRef::Integer(i) => f(id, &i.to_string()),
            ValueRef::Real(x) => f(id, &x.to_string()),
            ValueRef::Null => {}
        }
    }
    Ok(())
}

impl Store {
    /// The first row id of the signals received at or after `since` (the row after
    /// the last when there is none), found without reading the older ones.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure.
    pub fn first_signal_id_since(&self, since: Timestamp) -> Result<i64> {
        first_id_since(&self.conn, since)
    }

    /// Hand the row id and idempotency key of every signal from row `from` on to `f`,
    /// oldest first.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure.
    pub fn each_signal_key(&self, from: i64, f: impl FnMut(i64, &str)) -> Result<()> {
        each_key(&self.conn, from, f)
    }
}

impl Tx<'_> {
    /// [`Store::first_signal_id_since`] inside this transaction.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure.
    pub fn first_signal_id_since(&self, since: Timestamp) -> Result<i64> {
        first_id_since(self.conn()?, since)
    }

    /// [`Store::each_signal_key`] inside this transaction.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure.
    pub fn each_signal_key(&self, from: i64, f: impl FnMut(i64, &str)) -> Result<()> {
        each_key(self.conn()?, from, f)
    }
}

#[cfg(test)]
mod tests {
    use crate::{SignalRecord, Store};
    use chrono::Duration;

    #[test]
    fn the_window_starts_at_the_first_signal_received_in_it() {
        let mut s = Store::open_in_memory().unwrap();
        let t0 = chrono::DateTime::from_timestamp(1_764_583_500, 0).unwrap();
        assert_eq!(s.first_signal_id_since(t0).unwrap(), 1, "no signal yet");
        let tx = s.transaction();
        let mut ids = Vec::new();
        for i in 0..100 {
            let key = format!("k{i}");
            ids.push(
                tx.insert_signal(&SignalRecord {
                    idem_key: &key,
                    received_at: t0 + Duration::minutes(i),
                    symbol: "BTCUSDT",
                    outcome: "opened",
                    position_id: None,
                    payload: "{}",
                    response: "{}",
                })
                .unwrap(),
            );
        }
        tx.commit().unwrap();
        // Gaps in the ids (rows deleted by hand) do not matter.
        s.conn
            .execute(
                "DELETE FROM signals WHERE id BETWEEN ?1 AND ?2",
                [ids[40], ids[49]],
            )
            .unwrap();
        for (since, want) in [
            (t0 - Duration::hours(1), ids[0]),
            (t0, ids[0]),
            (t0 + Duration::seconds(30), ids[1]),
            (t0 + Duration::minutes(37), ids[37]),
            // Inside the gap: no row between the cut and the first one in the window.
            (t0 + Duration::minutes(42), ids[40]),
            (t0 + Duration::minutes(99), ids[99]),
            (t0 + Duration::minutes(100), ids[99] + 1),
        ] {
            assert_eq!(s.first_signal_id_since(since).unwrap(), want, "{since}");
        }
        let mut keys = Vec::new();
        s.each_signal_key(ids[97], |id, k| keys.push((id, k.to_string())))
            .unwrap();
        assert_eq!(
            keys,
            [97, 98, 99].map(|i| (ids[i], format!("k{i}"))).to_vec()
        );
        // A key stored as a blob by a hand edit is still read.
        s.conn
            .execute(
                "UPDATE signals SET idem_key = x'6b3939' WHERE id = ?1",
                [ids[99]],
            )
            .unwrap();
        let mut last = None;
        s.each_signal_key(ids[99], |_, k| last = Some(k.to_string()))
            .unwrap();
        assert_eq!(last.as_deref(), Some("k99"));
    }
}
