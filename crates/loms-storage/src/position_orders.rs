//! `GET /positions/{id}/orders`: a position's orders (its entry, then its exits), each
//! with the venue's fills, read through indexes only (`orders_position`, `fills_trade`
//! and `fills_unlinked`, schema v11), so it stays fast with millions of orders.

use crate::queries::{ORDER_COLUMNS, dec_at, order_from_row, parse_at, ts_at};
use crate::{Result, Store};
use loms_domain::{CloseReason, Fill, PositionOrder, PositionOrders};
use rusqlite::{OptionalExtension, Row};

/// The position's orders, oldest first: the entry (`positions.order_id`, the only link
/// of a row stored before schema v9) and every order naming the position.
const ORDERS: &str = "FROM positions p JOIN orders o ON o.id = p.order_id OR o.position_id = p.id
                      WHERE p.id = ?1 ORDER BY o.id";

/// The fills of one order, oldest first.
const ORDER_FILLS: &str = "SELECT trade_id, price, qty, fee, ts, kind FROM fills
                           WHERE order_id = ?1 ORDER BY id";

/// The fills of a position that name no order (stored before schema v9), oldest first.
const UNLINKED_FILLS: &str = "SELECT trade_id, price, qty, fee, ts, kind FROM fills
                              WHERE position_id = ?1 AND order_id IS NULL ORDER BY id";

fn fill_at(row: &Row<'_>) -> rusqlite::Result<Fill> {
    Ok(Fill {
        trade_id: row.get(0)?,
        price: dec_at(row, 1)?,
        qty: dec_at(row, 2)?,
        fee: dec_at(row, 3)?,
        ts: ts_at(row, 4)?,
        kind: parse_at(row, 5)?,
    })
}

/// An exit's close reason: the column after [`ORDER_COLUMNS`].
fn reason_at(row: &Row<'_>) -> rusqlite::Result<Option<CloseReason>> {
    match row.get::<_, Option<String>>(12)? {
        None => Ok(None),
        Some(_) => parse_at(row, 12).map(Some),
    }
}

impl Store {
    /// Position `id`'s orders with their fills, all read in one snapshot; `None` when
    /// the position does not exist.
    ///
    /// # Errors
    /// [`crate::StorageError`] on a database failure or a corrupt row.
    pub fn position_orders(&self, id: i64) -> Result<Option<PositionOrders>> {
        let snapshot = self.conn.unchecked_transaction()?;
        let exists = snapshot
            .prepare_cached("SELECT 1 FROM positions WHERE id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Ok(None);
        }
        let sql = format!("SELECT {ORDER_COLUMNS}, o.reason {ORDERS}");
        let mut stmt = snapshot.prepare_cached(&sql)?;
        let rows = stmt.query_map([id], |row| Ok((order_from_row(row)?, reason_at(row)?)))?;
        let found: Vec<_> = rows.collect::<rusqlite::Result<_>>()?;
        let mut fills = snapshot.prepare_cached(ORDER_FILLS)?;
        let mut orders = Vec::with_capacity(found.len());
        for (order, reason) in found {
            let of_order = fills
                .query_map([order.id], fill_at)?
                .collect::<rusqlite::Result<_>>()?;
            orders.push(PositionOrder {
                order,
                reason,
                fills: of_order,
            });
        }
        let unlinked_fills = snapshot
            .prepare_cached(UNLINKED_FILLS)?
            .query_map([id], fill_at)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(PositionOrders {
            position_id: id,
            orders,
            unlinked_fills,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FillRecord, NewOrder, Tx};
    use loms_domain::{FillKind, OrderStatus, Position, Side, Timestamp};
    use rust_decimal::dec;

    fn t(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_764_000_000 + s, 0).unwrap()
    }

    /// An order of `position` (`None`: an entry stored before v9, which names none).
    fn order(tx: &Tx<'_>, oid: &str, position: Option<i64>, reason: Option<CloseReason>) -> i64 {
        tx.insert_order(&NewOrder {
            symbol: "BTCUSDT",
            side: if reason.is_some() { "sell" } else { "buy" },
            qty: dec!(0.01),
            order_type: "market",
            status: OrderStatus::Filled,
            price: dec!(64000),
            created_at: t(0),
            signal_id: None,
            client_oid: oid,
            exchange_order_id: Some("x-1"),
            position_id: position,
            reason,
        })
        .unwrap()
    }

    fn fill(tx: &Tx<'_>, (position_id, order_id): (i64, i64), kind: &str, trade_id: &str, s: i64) {
        assert!(
            tx.insert_fill(&FillRecord {
                position_id,
                kind,
                side: "buy",
                qty: dec!(0.005),
                price: dec!(64010),
                fee: dec!(0.19),
                ts: t(s),
                reason: None,
                order_id,
                trade_id,
            })
            .unwrap()
        );
    }

    fn position(tx: &Tx<'_>, entry: Option<i64>) -> i64 {
        let mut p = Position::open("BTCUSDT", Side::Long, dec!(0.01), dec!(64000), t(0));
        p.order_id = entry;
        tx.insert_position(&p).unwrap()
    }

    #[test]
    fn a_position_shows_its_orders_oldest_first_with_their_fills_and_reasons() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.transaction();
        let next = tx.next_position_id().unwrap();
        let entry = order(&tx, "P-e", Some(next), None);
        let pos = position(&tx, Some(entry));
        assert_eq!(pos, next);
        // Another position's orders in between must not show.
        let other_entry = order(&tx, "Q-e", Some(pos + 1), None);
        let other = position(&tx, Some(other_entry));
        let partial = order(&tx, "P-x1", Some(pos), Some(CloseReason::Tp));
        let other_exit = order(&tx, "Q-x1", Some(other), Some(CloseReason::Sl));
        let exit = order(&tx, "P-x2", Some(pos), Some(CloseReason::Manual));
        fill(&tx, (pos, entry), "entry", "t-e1", 1);
        fill(&tx, (pos, entry), "entry", "t-e2", 2);
        fill(&tx, (other, other_entry), "entry", "t-q", 3);
        fill(&tx, (pos, partial), "partial", "t-p", 4);
        fill(&tx, (other, other_exit), "exit", "t-qx", 5);
        fill(&tx, (pos, exit), "exit", "t-x", 6);
        tx.commit().unwrap();

        let got = store.position_orders(pos).unwrap().unwrap();
        assert_eq!(got.position_id, pos);
        let shape: Vec<_> = got
            .orders
            .iter()
            .map(|o| {
                let trades: Vec<_> = o
                    .fills
                    .iter()
                    .map(|f| (f.trade_id.clone().unwrap(), f.kind))
                    .collect();
                (
                    o.order.id,
                    o.order.client_oid.clone().unwrap(),
                    o.order.position_id,
                    o.reason,
                    trades,
                )
            })
            .collect();
        let tr = |id: &str, k| (id.to_string(), k);
        assert_eq!(
            shape,
            [
                (
                    entry,
                    "P-e".into(),
                    Some(pos),
                    None,
                    vec![tr("t-e1", FillKind::Entry), tr("t-e2", FillKind::Entry)]
                ),
                (
                    partial,
                    "P-x1".into(),
                    Some(pos),
                    Some(CloseReason::Tp),
                    vec![tr("t-p", FillKind::Partial)]
                ),
                (
                    exit,
                    "P-x2".into(),
                    Some(pos),
                    Some(CloseReason::Manual),
                    vec![tr("t-x", FillKind::Exit)]
                ),
            ]
        );
        let f = &got.orders[0].fills[0];
        assert_eq!(
            (f.price, f.qty, f.fee, f.ts),
            (dec!(64010), dec!(0.005), dec!(0.19), t(1))
        );
        assert_eq!(
            got.orders[0].order.exchange_order_id.as_deref(),
            Some("x-1")
        );
        assert!(got.unlinked_fills.is_empty());
        assert_eq!(store.position_orders(other + 1).unwrap(), None);
    }

    /// Rows stored before schema v9: the entry order names no position (the position
    /// names it), and an exit fill names no order: it is listed apart.
    #[test]
    fn rows_stored_before_v9_show_the_entry_through_the_position_and_exit_fills_apart() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.transaction();
        let entry = order(&tx, "old-e", None, None);
        let pos = position(&tx, Some(entry));
        fill(&tx, (pos, entry), "entry", "t-e", 1);
        let bare = position(&tx, None);
        tx.commit().unwrap();
        store
            .conn
            .execute(
                "INSERT INTO fills (position_id, kind, side, qty, price, fee, ts, reason)
                 VALUES (?1, 'exit', 'sell', '0.01', '65000', '0.39', '2025-11-24T16:00:05Z', 'tp')",
                [pos],
            )
            .unwrap();
        let got = store.position_orders(pos).unwrap().unwrap();
        assert_eq!(got.orders.len(), 1);
        assert_eq!(got.orders[0].order.id, entry);
        assert_eq!(
            got.orders[0].order.position_id,
            Some(pos),
            "named by the position"
        );
        assert_eq!(got.orders[0].fills.len(), 1);
        assert_eq!(got.unlinked_fills.len(), 1);
        let u = &got.unlinked_fills[0];
        assert_eq!(
            (u.trade_id.as_deref(), u.kind, u.price),
            (None, FillKind::Exit, dec!(65000))
        );
        let none = store.position_orders(bare).unwrap().unwrap();
        assert!(none.orders.is_empty() && none.unlinked_fills.is_empty());
    }

    /// Every read goes through an index: none scans the orders or the fills table.
    #[test]
    fn the_reads_scan_no_table() {
        let store = Store::open_in_memory().unwrap();
        let orders = format!("SELECT {ORDER_COLUMNS}, o.reason {ORDERS}");
        for sql in [orders.as_str(), ORDER_FILLS, UNLINKED_FILLS] {
            let plan: Vec<String> = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([1], |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                plan.iter().all(|step| !step.starts_with("SCAN")),
                "{sql}: {plan:?}"
            );
        }
    }
}
