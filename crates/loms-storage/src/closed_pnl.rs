//! The closed trades' results, newest or oldest first, for the circuit breakers: the
//! net PnL since a time and the run of losses that ends the history.

use crate::codec::ts;
use crate::queries::{opt_dec_at, ts_at};
use crate::{Result, Store};
use loms_domain::{Decimal, Timestamp};

impl Store {
    /// Each closed position's net PnL and close time, for those closed at or after
    /// `since`, newest first; stops when `each` returns `false`.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure or an unreadable row.
    pub fn closed_pnl_newest_first(
        &self,
        since: Timestamp,
        mut each: impl FnMut(Decimal, Timestamp) -> bool,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT pnl, closed_at FROM positions
             WHERE status = 'closed' AND closed_at >= ?1 ORDER BY closed_at DESC, id DESC",
        )?;
        let mut rows = stmt.query([ts(since).as_str()])?;
        while let Some(row) = rows.next()? {
            let pnl = opt_dec_at(row, 0)?.unwrap_or_default();
            if !each(pnl, ts_at(row, 1)?) {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loms_domain::{CloseReason, ClosedPiece, Position, PositionStatus, Side};
    use rust_decimal::dec;

    #[test]
    fn closed_results_come_newest_first_from_a_time_and_stop_when_asked() {
        let mut s = Store::open_in_memory().unwrap();
        let t0 = chrono::DateTime::from_timestamp(1_764_583_500, 0).unwrap();
        let tx = s.transaction();
        for (i, pnl) in [dec!(5), dec!(-1), dec!(-2), dec!(-3)]
            .into_iter()
            .enumerate()
        {
            let mut p = Position::open("BTCUSDT", Side::Long, dec!(1), dec!(100), t0);
            p.id = tx.insert_position(&p).unwrap();
            p.status = PositionStatus::Closed;
            p.pnl = Some(pnl);
            p.close_price = Some(dec!(100));
            p.closed_at = Some(t0 + chrono::Duration::minutes(i as i64 + 1));
            p.auto_close_reason = Some(CloseReason::Sl);
            let piece = ClosedPiece {
                qty: dec!(1),
                price: dec!(100),
                fee: dec!(0),
                reason: CloseReason::Sl,
                closed_at: p.closed_at.unwrap(),
            };
            assert!(tx.close_position(&p, &piece).unwrap());
        }
        tx.commit().unwrap();
        let mut seen = Vec::new();
        s.closed_pnl_newest_first(t0, |pnl, _| {
            seen.push(pnl);
            pnl < Decimal::ZERO
        })
        .unwrap();
        assert_eq!(seen, [dec!(-3), dec!(-2), dec!(-1), dec!(5)]);
        let mut later = Vec::new();
        s.closed_pnl_newest_first(t0 + chrono::Duration::minutes(3), |pnl, _| {
            later.push(pnl);
            true
        })
        .unwrap();
        assert_eq!(later, [dec!(-3), dec!(-2)]);
    }
}
