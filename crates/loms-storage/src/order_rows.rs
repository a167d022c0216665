//! The order lifecycle's rows (live trading): an order found by its client order id,
//! moved to the status a venue report gives, the orders whose outcome is not known yet,
//! and what an entry's fills or its rejection change on its position.

use crate::codec::{dec, ts};
use crate::columns::{self, ENTRY_FILLED, ENTRY_SETS, Param, exit_meta_json};
use crate::queries::{dec_at, parse_at, status_at, ts_at};
use crate::{Result, Store, Tx};
use loms_domain::{CloseReason, Decimal, OrderStatus, Position, Timestamp};
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

/// An order as the lifecycle reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    /// Row id.
    pub id: i64,
    /// Deterministic client order id.
    pub client_oid: String,
    /// Instrument.
    pub symbol: String,
    /// `buy` / `sell`.
    pub side: String,
    /// Quantity asked (the filled quantity once filled).
    pub qty: Decimal,
    /// Reference price (the average fill price once filled).
    pub price: Decimal,
    /// Where it stands.
    pub status: OrderStatus,
    /// The venue's order id, once known.
    pub exchange_order_id: Option<String>,
    /// The position it opens or reduces.
    pub position_id: Option<i64>,
    /// Why an exit was sent.
    pub reason: Option<CloseReason>,
    /// When it was written.
    pub created_at: Timestamp,
}

const ORDER_COLS: &str = "id, client_oid, symbol, side, qty, price, status, exchange_order_id, \
                          position_id, reason, created_at";

fn order_at(row: &Row<'_>) -> rusqlite::Result<OrderRow> {
    let reason: Option<String> = row.get(9)?;
    Ok(OrderRow {
        id: row.get(0)?,
        client_oid: row.get(1)?,
        symbol: row.get(2)?,
        side: row.get(3)?,
        qty: dec_at(row, 4)?,
        price: dec_at(row, 5)?,
        status: status_at(row, 6)?,
        exchange_order_id: row.get(7)?,
        position_id: row.get(8)?,
        reason: match reason {
            None => None,
            Some(_) => Some(parse_at(row, 9)?),
        },
        created_at: ts_at(row, 10)?,
    })
}

impl Tx<'_> {
    /// The order sent under `client_oid`, if any.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure or a corrupt row.
    pub fn order_by_client_oid(&self, client_oid: &str) -> Result<Option<OrderRow>> {
        let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE client_oid = ?1");
        Ok(self
            .conn()?
            .prepare_cached(&sql)?
            .query_row([client_oid], order_at)
            .optional()?)
    }

    /// Where order `id` stands: its status, price and quantity (the average fill price
    /// and the filled quantity once filled), if it exists.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure or a corrupt row.
    pub fn order_state(&self, id: i64) -> Result<Option<(OrderStatus, Decimal, Decimal)>> {
        Ok(self
            .conn()?
            .prepare_cached("SELECT status, price, qty FROM orders WHERE id = ?1")?
            .query_row([id], |r| {
                Ok((status_at(r, 0)?, dec_at(r, 1)?, dec_at(r, 2)?))
            })
            .optional()?)
    }

    /// Move order `id` to `status`, with the venue's order id when known and, once
    /// anything filled, the average price and the filled quantity.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure.
    pub fn update_order(
        &self,
        id: i64,
        status: OrderStatus,
        exchange_order_id: Option<&str>,
        filled: Option<(Decimal, Decimal)>,
    ) -> Result<()> {
        let (price, qty) = filled.map_or((None, None), |(p, q)| (Some(dec(p)), Some(dec(q))));
        self.conn()?
            .prepare_cached(
                "UPDATE orders SET status = ?2,
                    exchange_order_id = COALESCE(?3, exchange_order_id),
                    price = COALESCE(?4, price), qty = COALESCE(?5, qty)
                 WHERE id = ?1",
            )?
            .execute(params![id, status.as_str(), exchange_order_id, price, qty])?;
        Ok(())
    }

    /// Store the entry fills of the open position `p`: its real price, size, fees,
    /// time and venue order id ([`columns::ENTRY_SETS`]). `false`: it was not open.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure.
    pub fn store_entry_fill(&self, p: &Position) -> Result<bool> {
        let meta = exit_meta_json(p)?;
        let n = self
            .conn()?
            .prepare_cached(&ENTRY_FILLED)?
            .execute(params_from_iter(std::iter::once(Param::Int(p.id)).chain(
                ENTRY_SETS.iter().map(|c| columns::value(p, &meta, "", *c)),
            )))?;
        Ok(n == 1)
    }

    /// Mark the open position `id` void at `now`: its entry never filled (size 0, `closed_at`
    /// says when it was found so). `false`: it was not open.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure.
    pub fn void_position(&self, id: i64, now: Timestamp) -> Result<bool> {
        let n = self
            .conn()?
            .prepare_cached(
                "UPDATE positions SET status = 'void', qty = '0', opened_qty = '0', closed_at = ?2
                 WHERE id = ?1 AND status = 'open'",
            )?
            .execute(params![id, ts(now)])?;
        Ok(n == 1)
    }
}

impl Store {
    /// The orders whose outcome is not known yet (`pending_submit`, `submitted`,
    /// `unknown`), oldest first: looked up at the venue by client id at start.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure or a corrupt row.
    pub fn unresolved_orders(&self) -> Result<Vec<OrderRow>> {
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders
             WHERE status IN ('pending_submit', 'submitted', 'unknown') AND client_oid IS NOT NULL
             ORDER BY id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], order_at)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FillRecord, NewOrder};
    use loms_domain::Side;
    use rust_decimal::dec;

    fn pending(tx: &Tx<'_>, client_oid: &str, position_id: i64) -> i64 {
        try_pending(tx, client_oid, position_id).unwrap()
    }

    fn try_pending(tx: &Tx<'_>, client_oid: &str, position_id: i64) -> Result<i64> {
        tx.insert_order(&NewOrder {
            symbol: "BTCUSDT",
            side: "buy",
            qty: dec!(0.01),
            order_type: "market",
            status: OrderStatus::PendingSubmit,
            price: dec!(64000),
            created_at: chrono::DateTime::UNIX_EPOCH,
            signal_id: None,
            client_oid,
            exchange_order_id: None,
            position_id: Some(position_id),
            reason: Some(CloseReason::Sl),
        })
    }

    #[test]
    fn an_order_is_found_by_client_id_moved_and_filled_once_per_trade() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.transaction();
        let p = Position::open(
            "BTCUSDT".to_string(),
            Side::Long,
            dec!(0.01),
            dec!(64000),
            chrono::DateTime::UNIX_EPOCH,
        );
        let pos = tx.insert_position(&p).unwrap();
        let id = pending(&tx, "LT1-1-e", pos);
        let other = pending(&tx, "LT1-1-x1", pos);
        let row = tx.order_by_client_oid("LT1-1-e").unwrap().unwrap();
        assert_eq!(
            (row.id, row.status, row.reason),
            (id, OrderStatus::PendingSubmit, Some(CloseReason::Sl))
        );
        assert_eq!(tx.order_by_client_oid("nope").unwrap(), None);
        // One client id names one order.
        let dup = try_pending(&tx, "LT1-1-e", pos);
        assert!(dup.is_err());
        tx.update_order(
            id,
            OrderStatus::Filled,
            Some("9001"),
            Some((dec!(64010), dec!(0.01))),
        )
        .unwrap();
        let row = tx.order_by_client_oid("LT1-1-e").unwrap().unwrap();
        assert_eq!(
            (row.status, row.exchange_order_id.as_deref(), row.price),
            (OrderStatus::Filled, Some("9001"), dec!(64010))
        );
        let fill = FillRecord {
            position_id: pos,
            kind: "entry",
            side: "buy",
            qty: dec!(0.01),
            price: dec!(64010),
            fee: dec!(0.38),
            ts: chrono::DateTime::UNIX_EPOCH,
            reason: None,
            order_id: id,
            trade_id: "t1",
        };
        assert!(tx.insert_fill(&fill).unwrap());
        assert!(!tx.insert_fill(&fill).unwrap(), "a trade is applied once");
        assert!(tx.void_position(pos, chrono::DateTime::UNIX_EPOCH).unwrap());
        assert!(!tx.void_position(pos, chrono::DateTime::UNIX_EPOCH).unwrap());
        tx.commit().unwrap();
        let left = store.unresolved_orders().unwrap();
        assert_eq!(left.iter().map(|o| o.id).collect::<Vec<_>>(), [other]);
        assert_eq!(
            store.position(pos).unwrap().unwrap().status,
            loms_domain::PositionStatus::Void
        );
    }
}
