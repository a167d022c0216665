//! The write side: one [`Tx`] groups the work of many requests into one durable commit.

use crate::closes;
use crate::codec::{dec, ts};
use crate::columns::{
    self, CLOSE_POSITION, CLOSE_SETS, Col, INSERT_POSITION, OPEN_SETS, Param, READ_REFERENCES,
    REFERENCES, UPDATE_OPEN, closes_json, exit_meta_json, index_in,
};
use crate::queries::{closes_at, dec_at, opt_dec_at, opt_ts_at};
use crate::{Result, StorageError};
use loms_domain::{CloseReason, ClosedPiece, Decimal, OrderStatus, Position, Timestamp};
use rusqlite::{CachedStatement, Connection, OptionalExtension, params, params_from_iter};
use std::cell::RefCell;

/// A received signal and what became of it (row of `signals`).
#[derive(Debug, Clone)]
pub struct SignalRecord<'a> {
    /// Idempotency key (signal_id, Idempotency-Key header, or derived).
    pub idem_key: &'a str,
    /// Receive time.
    pub received_at: Timestamp,
    /// Symbol.
    pub symbol: &'a str,
    /// `opened`, `risk_blocked`, `disabled`...
    pub outcome: &'a str,
    /// Position opened, if any.
    pub position_id: Option<i64>,
    /// The raw JSON the client sent.
    pub payload: &'a str,
    /// The JSON answered (replayed verbatim to duplicates).
    pub response: &'a str,
}

/// A new order row.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// `buy` / `sell`.
    pub side: &'a str,
    /// Quantity.
    pub qty: Decimal,
    /// `market`.
    pub order_type: &'a str,
    /// Where it stands.
    pub status: OrderStatus,
    /// Fill price.
    pub price: Decimal,
    /// Creation time.
    pub created_at: Timestamp,
    /// Originating signal.
    pub signal_id: Option<&'a str>,
    /// Deterministic client order id.
    pub client_oid: &'a str,
    /// The venue's order id, once known.
    pub exchange_order_id: Option<&'a str>,
    /// The position the order opens or reduces.
    pub position_id: Option<i64>,
    /// Why an exit is sent (`None` for an entry).
    pub reason: Option<CloseReason>,
}

/// An open write transaction. Dropping it without [`Tx::commit`] rolls back.
///
/// The transaction begins (`BEGIN IMMEDIATE`) at its first statement, so a batch that
/// writes nothing — an auto-close pass where nothing moved — takes no lock and commits
/// nothing. BEGIN, COMMIT and ROLLBACK go through cached statements.
pub struct Tx<'c> {
    raw: &'c Connection,
    begun: std::cell::Cell<bool>,
    committed: bool,
    /// The statements run once per row, taken from the connection's statement cache
    /// at their first use and given back when the transaction ends: one cache lookup
    /// (which hashes the whole SQL text) per batch instead of one per row.
    held: RefCell<[Option<CachedStatement<'c>>; HELD]>,
}

/// The statements a [`Tx`] holds, by slot.
#[derive(Clone, Copy)]
enum Held {
    InsertSignal,
    InsertOrder,
    InsertPosition,
    InsertFill,
    ClosePosition,
    UpdateOpen,
    ReadReferences,
    SignalAt,
    NextPositionId,
}

const HELD: usize = Held::NextPositionId as usize + 1;

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("begun", &self.begun.get())
            .field("committed", &self.committed)
            .finish_non_exhaustive()
    }
}

impl<'c> Tx<'c> {
    /// A transaction on `conn` that begins when first used.
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Self {
            raw: conn,
            begun: std::cell::Cell::new(false),
            committed: false,
            held: RefCell::new([const { None }; HELD]),
        }
    }

    /// Run `sql` (the statement of slot `which`) through `run`, inside the transaction.
    fn held<T>(
        &self,
        which: Held,
        sql: &str,
        run: impl FnOnce(&mut CachedStatement<'c>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let conn = self.conn()?;
        let mut held = self.held.borrow_mut();
        let stmt = match &mut held[which as usize] {
            Some(stmt) => stmt,
            slot @ None => slot.insert(conn.prepare_cached(sql)?),
        };
        Ok(run(stmt)?)
    }

    /// The connection, inside the transaction.
    ///
    /// # Errors
    /// [`StorageError::RolledBack`] once SQLite has rolled the transaction back by
    /// itself (it may on a full disk, an I/O error or out of memory): a statement run
    /// then would commit on its own.
    pub(crate) fn conn(&self) -> Result<&'c Connection> {
        if !self.begun.get() {
            self.raw.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
            self.begun.set(true);
        } else if self.is_rolled_back() {
            return Err(StorageError::RolledBack);
        }
        Ok(self.raw)
    }

    /// Rows inserted, updated or deleted on this connection so far: a command that
    /// failed changed nothing when this did not move.
    pub fn changes(&self) -> u64 {
        self.raw.total_changes()
    }

    /// True once SQLite has rolled the transaction back by itself (see
    /// [`StorageError::RolledBack`]).
    pub fn is_rolled_back(&self) -> bool {
        self.begun.get() && self.raw.is_autocommit()
    }

    /// Run `f` atomically inside the transaction (a savepoint): on `Err` everything `f`
    /// wrote is undone and the rest of the transaction goes on.
    ///
    /// # Errors
    /// `f`'s error, or a storage error managing the savepoint.
    pub fn atomic<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.exec_cached("SAVEPOINT cmd")?;
        match f(self) {
            Ok(v) => {
                self.exec_cached("RELEASE cmd")?;
                Ok(v)
            }
            Err(e) => {
                self.exec_cached("ROLLBACK TO cmd")?;
                self.exec_cached("RELEASE cmd")?;
                Err(e)
            }
        }
    }

    fn exec_cached(&self, sql: &str) -> Result<()> {
        self.conn()?.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// True once a statement has run, i.e. when [`Tx::commit`] will write something.
    pub fn has_writes(&self) -> bool {
        self.begun.get()
    }

    /// Commit: durable when this returns under `synchronous=FULL`, after the next
    /// [`crate::WalSync::sync`] under [`crate::Store::defer_wal_sync`].
    ///
    /// # Errors
    /// [`StorageError`] when the commit fails; nothing was written then.
    pub fn commit(mut self) -> Result<()> {
        if self.begun.get() {
            self.conn()?.prepare_cached("COMMIT")?.execute([])?;
        }
        self.committed = true;
        Ok(())
    }

    /// The idempotency key and stored answer of the signal of row `id`, if that row
    /// exists (the writer finds a key's row in memory; see the v7 migration).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn signal_at(&self, id: i64) -> Result<Option<(String, String)>> {
        self.held(
            Held::SignalAt,
            "SELECT idem_key, response FROM signals WHERE id = ?1",
            |st| {
                st.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            },
        )
    }

    /// The row id and stored answer of the signal received under `idem_key` in row
    /// `from` or later, found by reading those signals (no index holds the keys): only
    /// for a key whose row the caller cannot tell (two keys of the same hash).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn signal_by_key(&self, idem_key: &str, from: i64) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn()?
            .prepare_cached(
                "SELECT id, response FROM signals WHERE id >= ?2 AND idem_key = ?1 ORDER BY id LIMIT 1",
            )?
            .query_row(rusqlite::params![idem_key, from], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Record a signal.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure (including a duplicate key).
    pub fn insert_signal(&self, s: &SignalRecord<'_>) -> Result<i64> {
        self.held(
            Held::InsertSignal,
                "INSERT INTO signals (idem_key, received_at, symbol, outcome, position_id, payload, response)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            |st| st.execute(params![
                s.idem_key,
                ts(s.received_at),
                s.symbol,
                s.outcome,
                s.position_id,
                s.payload,
                s.response
            ]),
        )?;
        Ok(self.raw.last_insert_rowid())
    }

    /// Insert an order; returns its id.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn insert_order(&self, o: &NewOrder<'_>) -> Result<i64> {
        self.held(
            Held::InsertOrder,
                "INSERT INTO orders (symbol, side, qty, order_type, status, price, created_at, signal_id,
                     client_oid, exchange_order_id, position_id, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            |st| st.execute(params![
                o.symbol,
                o.side,
                dec(o.qty),
                o.order_type,
                o.status.as_str(),
                dec(o.price),
                ts(o.created_at),
                o.signal_id,
                o.client_oid,
                o.exchange_order_id,
                o.position_id,
                o.reason.map(CloseReason::as_str)
            ]),
        )?;
        Ok(self.raw.last_insert_rowid())
    }

    /// Insert a position (its `id` is ignored); returns the new id.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn insert_position(&self, p: &Position) -> Result<i64> {
        let meta = exit_meta_json(p)?;
        // A new position has closed nothing yet, save one copied whole (tests, tools).
        let closes = closes_json(p);
        self.held(Held::InsertPosition, INSERT_POSITION, |st| {
            st.execute(params_from_iter(
                Col::ALL
                    .iter()
                    .map(|c| columns::param(p, &meta, &closes, *c)),
            ))
        })?;
        Ok(self.raw.last_insert_rowid())
    }

    /// Store the final state of a position that just closed (`status`, `close_price`,
    /// `pnl`, `fees`, `closed_at`, `auto_close_reason`, and what its policy last
    /// changed) and append `piece`, the close, to its closed pieces, in one statement.
    /// Returns false when it was not open.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn close_position(&self, p: &Position, piece: &ClosedPiece) -> Result<bool> {
        let meta = exit_meta_json(p)?;
        let piece = closes::to_json(piece);
        let n = self.held(Held::ClosePosition, &CLOSE_POSITION, |st| {
            st.execute(params_from_iter(
                std::iter::once(Param::Int(p.id))
                    .chain(CLOSE_SETS.iter().map(|c| columns::value(p, &meta, "", *c)))
                    .chain(std::iter::once(Param::Str(&piece))),
            ))
        })?;
        Ok(n == 1)
    }

    /// Complete `p` with what only its row holds: its order, exchange and signal
    /// references, its opened quantity and its closed pieces (the writer does not keep
    /// them in memory). Only an answer that shows
    /// the whole position needs them.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure, or when the row is gone.
    pub fn read_references(&self, p: &mut Position) -> Result<()> {
        // A separate lookup, not `UPDATE ... RETURNING`: that makes SQLite keep a
        // statement journal for every close, which costs more than this read of a page
        // just written.
        let at = |c| index_in(REFERENCES, c);
        self.held(Held::ReadReferences, &READ_REFERENCES, |st| {
            st.query_row([p.id], |r| {
                p.order_id = r.get(at(Col::order_id))?;
                p.exchange = r.get(at(Col::exchange))?;
                p.market_type = r.get(at(Col::market_type))?;
                p.account_label = r.get(at(Col::account_label))?;
                p.external_order_id = r.get(at(Col::external_order_id))?;
                p.external_position_ref = r.get(at(Col::external_position_ref))?;
                p.signal_id = r.get(at(Col::signal_id))?;
                p.strategy = r.get(at(Col::strategy))?;
                p.timeframe_min = r.get(at(Col::timeframe_min))?;
                p.signal_price = opt_dec_at(r, at(Col::signal_price))?;
                p.signal_time = opt_ts_at(r, at(Col::signal_time))?;
                p.paper_entry_price = opt_dec_at(r, at(Col::paper_entry_price))?;
                p.opened_qty = dec_at(r, at(Col::opened_qty))?;
                p.closes = closes_at(r, at(Col::closes))?;
                Ok(())
            })
        })
    }

    /// Set a key of the persistent operator state.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn set_state(&self, key: &str, value: &str, now: Timestamp) -> Result<()> {
        self.conn()?
            .prepare_cached(
                "INSERT INTO kv_state (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )?
            .execute(params![key, value, ts(now)])?;
        Ok(())
    }

    /// Store what a policy changed on an open position (levels, best move, meta) and
    /// what a partial close changed (qty, realised PnL, fees, and `partial`, the piece
    /// it closed, appended to the closed pieces).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn update_open_position(&self, p: &Position, partial: Option<&ClosedPiece>) -> Result<()> {
        let meta = exit_meta_json(p)?;
        let piece = partial.map(closes::to_json);
        self.held(Held::UpdateOpen, &UPDATE_OPEN, |st| {
            st.execute(params_from_iter(
                std::iter::once(Param::Int(p.id))
                    .chain(OPEN_SETS.iter().map(|c| columns::value(p, &meta, "", *c)))
                    .chain(std::iter::once(
                        piece.as_deref().map_or(Param::Null, Param::Str),
                    )),
            ))
        })?;
        Ok(())
    }

    /// The id [`Tx::insert_position`] gives the next position (positions are never
    /// deleted: the largest id plus one), so an entry's client order id can be derived
    /// before its rows are written.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn next_position_id(&self) -> Result<i64> {
        self.held(
            Held::NextPositionId,
            "SELECT COALESCE(MAX(id), 0) + 1 FROM positions",
            |st| st.query_row([], |r| r.get(0)),
        )
    }

    /// Record one fill of a position (`entry`, `partial` or `exit`), once per trade:
    /// `false` when the order already has a fill with that trade id (a report applied
    /// twice), and nothing is written.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn insert_fill(&self, f: &FillRecord<'_>) -> Result<bool> {
        let n = self.held(
            Held::InsertFill,
            "INSERT INTO fills (position_id, kind, side, qty, price, fee, ts, reason, order_id, trade_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (order_id, trade_id) DO NOTHING",
            |st| {
                st.execute(params![
                    f.position_id,
                    f.kind,
                    f.side,
                    dec(f.qty),
                    dec(f.price),
                    dec(f.fee),
                    ts(f.ts),
                    f.reason.map(|r| r.as_str()),
                    f.order_id,
                    f.trade_id,
                ])
            },
        )?;
        Ok(n == 1)
    }
}

/// One fill of a position (row of `fills`).
#[derive(Debug, Clone)]
pub struct FillRecord<'a> {
    /// Position.
    pub position_id: i64,
    /// `entry`, `partial` or `exit`.
    pub kind: &'a str,
    /// `buy` or `sell`.
    pub side: &'a str,
    /// Filled quantity.
    pub qty: Decimal,
    /// Fill price.
    pub price: Decimal,
    /// Fee paid.
    pub fee: Decimal,
    /// Fill time.
    pub ts: Timestamp,
    /// Close reason for `partial` and `exit`.
    pub reason: Option<CloseReason>,
    /// The order it filled.
    pub order_id: i64,
    /// The venue's trade id (unique per order).
    pub trade_id: &'a str,
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.begun.get()
            && !self.committed
            && !self.is_rolled_back()
            && let Err(e) = self
                .raw
                .prepare_cached("ROLLBACK")
                .and_then(|mut s| s.execute([]))
        {
            log::error!("rollback_failed error={e}");
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Store;

    /// A client order id no other test row has (the column is unique).
    pub(crate) fn unique_client_oid() -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("Ltest-{n}-e")
    }

    fn order(tx: &Tx<'_>) -> Result<i64> {
        tx.insert_order(&NewOrder {
            symbol: "BTCUSDT",
            side: "buy",
            qty: Decimal::ONE,
            order_type: "market",
            status: loms_domain::OrderStatus::Filled,
            price: Decimal::ONE_HUNDRED,
            created_at: chrono::Utc::now(),
            signal_id: None,
            client_oid: "Ltest-1-e",
            exchange_order_id: None,
            position_id: None,
            reason: None,
        })
    }

    #[test]
    fn after_sqlite_rolled_the_transaction_back_nothing_more_runs_or_commits() {
        let mut s = Store::open_in_memory().unwrap();
        let tx = s.transaction();
        order(&tx).unwrap();
        let before = tx.changes();
        // What SQLite does by itself on a full disk or an I/O error.
        tx.raw.execute_batch("ROLLBACK").unwrap();
        let err = order(&tx).unwrap_err();
        assert!(matches!(err, StorageError::RolledBack), "{err}");
        assert_eq!(
            tx.changes(),
            before,
            "the order after it did not run on its own"
        );
        assert!(matches!(tx.commit(), Err(StorageError::RolledBack)));
        assert!(s.orders(None, None).unwrap().is_empty(), "nothing stored");
    }
}
