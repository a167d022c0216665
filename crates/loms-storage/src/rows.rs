//! Reading every row of a table at start-up without dying on one that cannot be
//! decoded: such a row is handed over as a [`BadRow`] (its table, its id and why) and
//! the reading goes on. Errors of the database itself (I/O, a locked file) still stop it.

use crate::StorageError;
use std::fmt;

/// A stored row that cannot be decoded (written by an older build that accepted values
/// no reader round-trips, edited by hand, or damaged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// Table of the row.
    pub table: &'static str,
    /// Its row id.
    pub id: i64,
    /// Why it cannot be read.
    pub detail: String,
}

impl BadRow {
    /// The row `id` of `table` could not be decoded: `e` says why.
    pub(crate) fn new(table: &'static str, id: i64, e: &rusqlite::Error) -> Self {
        let detail = match e {
            // Our own decoders wrap a `StorageError::Corrupt`: show its text alone.
            rusqlite::Error::FromSqlConversionFailure(_, _, inner) => inner.to_string(),
            e => e.to_string(),
        };
        Self { table, id, detail }
    }
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} row {}: {}", self.table, self.id, self.detail)
    }
}

impl From<BadRow> for StorageError {
    fn from(b: BadRow) -> Self {
        StorageError::Corrupt(b.to_string())
    }
}

/// Step through `rows` and hand each to `f`, decoded by `decode`, or as a [`BadRow`] of
/// `table` when it cannot be (the row id is read from column `id_col`).
///
/// # Errors
/// [`StorageError`] when the database fails (not when a row cannot be decoded).
pub(crate) fn each_row<T>(
    mut rows: rusqlite::Rows<'_>,
    table: &'static str,
    id_col: usize,
    decode: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    mut f: impl FnMut(Result<T, BadRow>),
) -> Result<(), StorageError> {
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(id_col)?;
        f(decode(row).map_err(|e| BadRow::new(table, id, &e)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{NewOrder, Store, TradeFilter};
    use loms_domain::{Position, Side};
    use rust_decimal::dec;

    fn open(s: &mut Store, symbol: &str) -> i64 {
        let t = chrono::DateTime::from_timestamp(1_764_583_500, 0).unwrap();
        let tx = s.transaction();
        let order_id = tx
            .insert_order(&NewOrder {
                symbol,
                side: "buy",
                qty: dec!(1),
                order_type: "market",
                status: loms_domain::OrderStatus::Filled,
                price: dec!(100),
                created_at: t,
                signal_id: None,
                client_oid: &crate::tx::tests::unique_client_oid(),
                exchange_order_id: None,
                position_id: None,
                reason: None,
            })
            .unwrap();
        let mut p = Position::open(symbol, Side::Long, dec!(1), dec!(100), t);
        p.order_id = Some(order_id);
        let id = tx.insert_position(&p).unwrap();
        tx.commit().unwrap();
        id
    }

    #[test]
    fn a_row_that_cannot_be_decoded_is_named_and_the_others_are_read() {
        let mut s = Store::open_in_memory().unwrap();
        let good = open(&mut s, "BTCUSDT");
        let bad = open(&mut s, "ETHUSDT");
        let (closed_good, closed_bad) = (open(&mut s, "A"), open(&mut s, "B"));
        s.conn
            .execute(
                "UPDATE positions SET created_at = '10000-01-01T00:00:00.000000Z' WHERE id = ?1",
                [bad],
            )
            .unwrap();
        s.conn
            .execute(
                "UPDATE positions SET status = 'closed', pnl = '1', closed_at = CASE id
                 WHEN ?1 THEN '2025-12-01T10:06:00.000000Z' ELSE 'soon' END
                 WHERE id IN (?1, ?2)",
                [closed_good, closed_bad],
            )
            .unwrap();
        let mut seen = Vec::new();
        s.each_open_position(|p| seen.push(p.map(|p| p.id)))
            .unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], Ok(good));
        let b = seen[1].clone().unwrap_err();
        assert_eq!((b.table, b.id), ("positions", bad));
        assert!(b.detail.contains("bad time \"10000-01-01"), "{b}");
        let e = s.open_positions().unwrap_err().to_string();
        assert!(e.contains(&format!("positions row {bad}: ")), "{e}");

        let mut trades = Vec::new();
        s.each_closed_trade(&TradeFilter::default(), |t| {
            trades.push(t.map(|t| t.symbol));
        })
        .unwrap();
        assert_eq!(trades.len(), 2);
        assert!(trades.contains(&Ok("A".to_string())));
        assert!(
            trades
                .iter()
                .any(|t| t.as_ref().is_err_and(|b| b.id == closed_bad)),
            "{trades:?}"
        );
        assert!(s.closed_trades(&TradeFilter::default()).is_err());
    }
}
