//! The read side: positions, orders, and the rows /stats is computed from.

use crate::codec::{parse_dec, parse_ts, ts};
use crate::columns::{Col, POSITION_COLUMNS};
use crate::rows::{BadRow, each_row};
use crate::{Result, StorageError, Store};
use loms_domain::{
    CloseReason, ClosedPiece, Decimal, Order, OrderStatus, Position, PositionStatus, Side,
    Timestamp,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row, params_from_iter};
use std::collections::HashMap;

/// Filters of `GET /positions/`.
#[derive(Debug, Clone, Default)]
pub struct PositionFilter {
    /// Only open or only closed.
    pub status: Option<PositionStatus>,
    /// Only this symbol.
    pub symbol: Option<String>,
    /// At most this many rows.
    pub limit: Option<u32>,
    /// Skip this many rows.
    pub offset: Option<u32>,
}

/// Filters of `/stats`: closed trades by close time and symbol.
#[derive(Debug, Clone, Default)]
pub struct TradeFilter {
    /// Closed at or after.
    pub since: Option<Timestamp>,
    /// Closed before.
    pub until: Option<Timestamp>,
    /// Only this symbol.
    pub symbol: Option<String>,
}

/// What /stats needs of a closed position.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedTrade {
    /// Symbol.
    pub symbol: String,
    /// Net PnL.
    pub pnl: Decimal,
    /// Fees paid.
    pub fees: Decimal,
    /// Close reason.
    pub reason: Option<CloseReason>,
    /// Open time.
    pub opened_at: Timestamp,
    /// Close time.
    pub closed_at: Timestamp,
    /// Entry fill against the signal's price, basis points, positive when against the
    /// trader ([`loms_domain::math::entry_slippage_bps`]); `None` without a signal price.
    pub entry_slippage_bps: Option<f32>,
    /// From the signal's own timestamp to the entry fill, milliseconds (`None` without a
    /// signal time; clamped to ±24 days).
    pub signal_to_fill_ms: Option<i32>,
    /// The entry fill against the paper fill the same signal would have had, basis
    /// points, positive when live did worse for the trader
    /// ([`ClosedTrade::shadow_drift`]); `None` without a paper price (paper entries,
    /// operator orders, older rows).
    pub shadow_drift_bps: Option<f32>,
}

impl ClosedTrade {
    /// The entry measures of a position: slippage and signal → fill time.
    pub fn entry_measures(
        side: loms_domain::Side,
        entry_price: Decimal,
        signal_price: Option<Decimal>,
        signal_time: Option<Timestamp>,
        opened_at: Timestamp,
    ) -> (Option<f32>, Option<i32>) {
        let slip = signal_price
            .and_then(|sp| loms_domain::math::entry_slippage_bps(side, sp, entry_price));
        let ms = signal_time.map(|st| {
            let ms = (opened_at - st).num_milliseconds();
            i32::try_from(ms).unwrap_or(if ms < 0 { i32::MIN } else { i32::MAX })
        });
        (slip, ms)
    }

    /// Shadow vs live drift of an entry filled at `entry_price` whose paper fill would
    /// have been `paper_entry_price` ([`loms_domain::math::shadow_drift_bps`]).
    pub fn shadow_drift(
        side: loms_domain::Side,
        entry_price: Decimal,
        paper_entry_price: Option<Decimal>,
    ) -> Option<f32> {
        paper_entry_price
            .and_then(|paper| loms_domain::math::shadow_drift_bps(side, paper, entry_price))
    }
}

fn text(row: &Row<'_>, i: usize) -> rusqlite::Result<String> {
    row.get(i)
}

fn opt_text(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    row.get(i)
}

fn corrupt(e: StorageError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

pub(crate) fn dec_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Decimal> {
    parse_dec(&text(row, i)?).map_err(corrupt)
}

pub(crate) fn opt_dec_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Decimal>> {
    opt_text(row, i)?
        .map(|s| parse_dec(&s))
        .transpose()
        .map_err(corrupt)
}

/// An order's status, by its stored name ([`OrderStatus::as_str`]).
pub(crate) fn status_at(row: &Row<'_>, i: usize) -> rusqlite::Result<OrderStatus> {
    text(row, i)?
        .parse()
        .map_err(|e: loms_domain::DomainError| corrupt(StorageError::Corrupt(e.to_string())))
}

pub(crate) fn ts_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Timestamp> {
    parse_ts(&text(row, i)?).map_err(corrupt)
}

pub(crate) fn opt_ts_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Timestamp>> {
    opt_text(row, i)?
        .map(|s| parse_ts(&s))
        .transpose()
        .map_err(corrupt)
}

pub(crate) fn parse_at<T: std::str::FromStr>(row: &Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    let s = text(row, i)?;
    s.parse()
        .map_err(|e: T::Err| corrupt(StorageError::Corrupt(format!("column {i}: {e}"))))
}

/// The columns of an [`Order`] as `GET /orders/` shows it, read by [`order_from_row`]:
/// `o` is the order, `p` the position whose entry it is (its own `position_id` is NULL
/// on rows stored before schema v9).
pub(crate) const ORDER_COLUMNS: &str = "o.id, o.symbol, o.side, o.qty, o.order_type, o.status, o.price, o.created_at, \
     COALESCE(o.position_id, p.id), o.signal_id, o.client_oid, o.exchange_order_id";

/// An [`Order`] from the first columns of `row` ([`ORDER_COLUMNS`]).
pub(crate) fn order_from_row(row: &Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: row.get(0)?,
        symbol: row.get(1)?,
        side: row.get(2)?,
        qty: dec_at(row, 3)?,
        order_type: row.get(4)?,
        status: status_at(row, 5)?,
        price: dec_at(row, 6)?,
        created_at: ts_at(row, 7)?,
        position_id: row.get(8)?,
        signal_id: row.get(9)?,
        client_oid: row.get(10)?,
        exchange_order_id: row.get(11)?,
    })
}

fn position_from_row(row: &Row<'_>) -> rusqlite::Result<Position> {
    let at = |c: Col| c.at();
    let meta: String = row.get(at(Col::exit_meta))?;
    Ok(Position {
        id: row.get(at(Col::id))?,
        order_id: row.get(at(Col::order_id))?,
        symbol: row.get(at(Col::symbol))?,
        side: parse_at::<Side>(row, at(Col::side))?,
        qty: dec_at(row, at(Col::qty))?,
        opened_qty: dec_at(row, at(Col::opened_qty))?,
        entry_price: dec_at(row, at(Col::entry_price))?,
        tp_price: opt_dec_at(row, at(Col::tp_price))?,
        sl_price: opt_dec_at(row, at(Col::sl_price))?,
        status: parse_at::<PositionStatus>(row, at(Col::status))?,
        created_at: ts_at(row, at(Col::created_at))?,
        closed_at: opt_ts_at(row, at(Col::closed_at))?,
        close_price: opt_dec_at(row, at(Col::close_price))?,
        pnl: opt_dec_at(row, at(Col::pnl))?,
        auto_close_reason: opt_text(row, at(Col::auto_close_reason))?
            .map(|s| s.parse::<CloseReason>())
            .transpose()
            .map_err(|e| corrupt(StorageError::Corrupt(e.to_string())))?,
        exchange: row.get(at(Col::exchange))?,
        market_type: row.get(at(Col::market_type))?,
        account_label: row.get(at(Col::account_label))?,
        external_order_id: row.get(at(Col::external_order_id))?,
        external_position_ref: row.get(at(Col::external_position_ref))?,
        exit_strategy: row.get(at(Col::exit_strategy))?,
        dynamic_tp_price: opt_dec_at(row, at(Col::dynamic_tp_price))?,
        dynamic_sl_price: opt_dec_at(row, at(Col::dynamic_sl_price))?,
        max_favorable_move: opt_dec_at(row, at(Col::max_favorable_move))?,
        exit_meta: serde_json::from_str(&meta)
            .map_err(|e| corrupt(StorageError::Corrupt(format!("exit_meta: {e}"))))?,
        signal_id: row.get(at(Col::signal_id))?,
        strategy: row.get(at(Col::strategy))?,
        timeframe_min: row.get(at(Col::timeframe_min))?,
        fees: dec_at(row, at(Col::fees))?,
        realized_pnl: dec_at(row, at(Col::realized_pnl))?,
        signal_price: opt_dec_at(row, at(Col::signal_price))?,
        signal_time: opt_ts_at(row, at(Col::signal_time))?,
        paper_entry_price: opt_dec_at(row, at(Col::paper_entry_price))?,
        closes: closes_at(row, at(Col::closes))?,
    })
}

/// The closed pieces stored in column `i` ([`crate::closes`]).
pub(crate) fn closes_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Vec<ClosedPiece>> {
    let text = row.get_ref(i)?.as_bytes()?;
    crate::closes::parse(text).map_err(corrupt)
}

fn position_query(f: &PositionFilter) -> (String, Vec<SqlValue>) {
    let mut sql = format!("SELECT {POSITION_COLUMNS} FROM positions WHERE 1 = 1");
    let mut args: Vec<SqlValue> = Vec::new();
    if let Some(s) = f.status {
        // A literal, not a parameter: SQLite uses the partial index of open positions
        // only when the query names the status itself.
        sql.push_str(" AND status = '");
        sql.push_str(s.as_str());
        sql.push('\'');
    }
    if let Some(sym) = &f.symbol {
        sql.push_str(" AND symbol = ?");
        args.push(SqlValue::Text(sym.clone()));
    }
    sql.push_str(" ORDER BY id DESC LIMIT ? OFFSET ?");
    args.push(SqlValue::Integer(f.limit.map_or(-1, i64::from)));
    args.push(SqlValue::Integer(f.offset.map_or(0, i64::from)));
    (sql, args)
}

impl Store {
    /// Every open position, oldest first.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or a corrupt row.
    pub fn open_positions(&self) -> Result<Vec<Position>> {
        all_or_first_bad(|each| self.each_open_position(each))
    }

    /// Hand every open position to `f`, oldest first, one at a time (a caller keeping
    /// a compact copy of each never holds them all at once); a row that cannot be
    /// decoded comes as a [`BadRow`], and the others still come.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn each_open_position(&self, f: impl FnMut(Result<Position, BadRow>)) -> Result<()> {
        let sql =
            format!("SELECT {POSITION_COLUMNS} FROM positions WHERE status = 'open' ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        each_row(
            stmt.query([])?,
            "positions",
            Col::id.at(),
            position_from_row,
            f,
        )
    }

    /// Row id of the last signal stored, if any.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn last_signal_id(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT max(id) FROM signals", [], |r| r.get(0))?)
    }

    /// Positions matching `f`, newest first.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or a corrupt row.
    pub fn positions(&self, f: &PositionFilter) -> Result<Vec<Position>> {
        let (sql, args) = position_query(f);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), position_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Positions matching `f`, newest first, as a JSON array — the same JSON as
    /// serialising [`Store::positions`]'s answer, written straight from the rows.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn positions_json(&self, f: &PositionFilter) -> Result<Vec<u8>> {
        // One piece: the whole list (taken as it is, not copied).
        let mut all = Vec::new();
        self.positions_json_chunks(f, usize::MAX, |chunk, _| {
            all = chunk;
            true
        })?;
        Ok(all)
    }

    /// [`Store::positions_json`] handed to `emit` in pieces of about `chunk` bytes as
    /// the rows are read (the pieces, joined, are the JSON array), so that a long list
    /// is never held whole. `emit(piece, last)` returns false to stop (the reader went
    /// away).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn positions_json_chunks(
        &self,
        f: &PositionFilter,
        chunk: usize,
        mut emit: impl FnMut(Vec<u8>, bool) -> bool,
    ) -> Result<()> {
        let (sql, args) = position_query(f);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        // Room for one piece and the row that completes it (the whole list: grow).
        let cap = if chunk < 1 << 20 {
            chunk + 4096
        } else {
            64 * 1024
        };
        let mut out = Vec::with_capacity(cap);
        out.push(b'[');
        let mut first = true;
        while let Some(row) = rows.next()? {
            if !first {
                out.push(b',');
            }
            first = false;
            crate::json::write_position(row, &mut out)?;
            if out.len() >= chunk
                && !emit(std::mem::replace(&mut out, Vec::with_capacity(cap)), false)
            {
                return Ok(());
            }
        }
        out.push(b']');
        emit(out, true);
        Ok(())
    }

    /// One position as JSON (see [`Store::positions_json`]).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn position_json(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let sql = format!("SELECT {POSITION_COLUMNS} FROM positions WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            None => Ok(None),
            Some(row) => {
                let mut out = Vec::with_capacity(1024);
                crate::json::write_position(row, &mut out)?;
                Ok(Some(out))
            }
        }
    }

    /// One position.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or a corrupt row.
    pub fn position(&self, id: i64) -> Result<Option<Position>> {
        let sql = format!("SELECT {POSITION_COLUMNS} FROM positions WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], position_from_row)
            .optional()?)
    }

    /// Orders, newest first, with the position each opened or reduced.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or a corrupt row.
    pub fn orders(&self, limit: Option<u32>, offset: Option<u32>) -> Result<Vec<Order>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders o LEFT JOIN positions p ON p.order_id = o.id
             ORDER BY o.id DESC LIMIT ?1 OFFSET ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            [limit.map_or(-1, i64::from), offset.map_or(0, i64::from)],
            order_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Closed positions matching `f`, by close time.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or a corrupt row.
    pub fn closed_trades(&self, f: &TradeFilter) -> Result<Vec<ClosedTrade>> {
        all_or_first_bad(|each| self.each_closed_trade(f, each))
    }

    /// Hand the closed positions matching `filter` to `f`, by close time; a row that
    /// cannot be decoded comes as a [`BadRow`], and the others still come.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn each_closed_trade(
        &self,
        f: &TradeFilter,
        each: impl FnMut(Result<ClosedTrade, BadRow>),
    ) -> Result<()> {
        let mut sql = String::from(
            "SELECT symbol, pnl, fees, auto_close_reason, created_at, closed_at, side, entry_price,
                    signal_price, signal_time, id, paper_entry_price FROM positions
             WHERE status = 'closed'",
        );
        let mut args: Vec<SqlValue> = Vec::new();
        if let Some(t) = f.since {
            sql.push_str(" AND closed_at >= ?");
            args.push(SqlValue::Text(ts(t).as_str().to_string()));
        }
        if let Some(t) = f.until {
            sql.push_str(" AND closed_at < ?");
            args.push(SqlValue::Text(ts(t).as_str().to_string()));
        }
        if let Some(sym) = &f.symbol {
            sql.push_str(" AND symbol = ?");
            args.push(SqlValue::Text(sym.clone()));
        }
        sql.push_str(" ORDER BY closed_at, id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let decode = |row: &Row<'_>| {
            let opened_at = ts_at(row, 4)?;
            let (side, entry_price) = (parse_at(row, 6)?, dec_at(row, 7)?);
            let (entry_slippage_bps, signal_to_fill_ms) = ClosedTrade::entry_measures(
                side,
                entry_price,
                opt_dec_at(row, 8)?,
                opt_ts_at(row, 9)?,
                opened_at,
            );
            let shadow_drift_bps =
                ClosedTrade::shadow_drift(side, entry_price, opt_dec_at(row, 11)?);
            Ok(ClosedTrade {
                symbol: row.get(0)?,
                pnl: opt_dec_at(row, 1)?.unwrap_or_default(),
                fees: dec_at(row, 2)?,
                reason: opt_text(row, 3)?.and_then(|s| s.parse().ok()),
                opened_at,
                closed_at: ts_at(row, 5)?,
                entry_slippage_bps,
                signal_to_fill_ms,
                shadow_drift_bps,
            })
        };
        each_row(
            stmt.query(params_from_iter(args))?,
            "positions",
            10,
            decode,
            each,
        )
    }

    /// When the oldest open position was opened (`None`: nothing open).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or an unreadable time.
    pub fn oldest_open_at(&self) -> Result<Option<Timestamp>> {
        let t: Option<String> = self
            .conn
            .prepare_cached("SELECT MIN(created_at) FROM positions WHERE status = 'open'")?
            .query_row([], |r| r.get(0))?;
        t.map(|t| parse_ts(&t)).transpose()
    }

    /// Open positions, optionally on one symbol.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn count_open(&self, symbol: Option<&str>) -> Result<i64> {
        Ok(self.conn.prepare_cached(
            "SELECT COUNT(*) FROM positions WHERE status = 'open' AND (?1 IS NULL OR symbol = ?1)",
        )?
        .query_row([symbol], |r| r.get(0))?)
    }

    /// Open positions of `f`'s symbol opened in `[since, until)`: the open side of a
    /// `/stats` filter (closed trades are filtered by close time, open ones by open time).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn count_open_matching(&self, f: &TradeFilter) -> Result<i64> {
        let (since, until) = (f.since.map(ts), f.until.map(ts));
        Ok(self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM positions WHERE status = 'open' AND (?1 IS NULL OR symbol = ?1)
                 AND (?2 IS NULL OR created_at >= ?2) AND (?3 IS NULL OR created_at < ?3)",
            )?
            .query_row(
                rusqlite::params![f.symbol, since, until],
                |r| r.get(0),
            )?)
    }

    /// A key of the persistent operator state.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM kv_state WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// The database's client order id tag ([`loms_domain::DB_TAG_KEY`], made once by
    /// the v9 migration), checked as [`loms_domain::ClientOid::derive`] checks it.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] when it is missing or not 1 to 8 letters or digits.
    pub fn client_oid_tag(&self) -> Result<String> {
        let tag = self.state(loms_domain::DB_TAG_KEY)?.ok_or_else(|| {
            StorageError::Corrupt(format!("kv_state has no {}", loms_domain::DB_TAG_KEY))
        })?;
        loms_domain::ClientOid::check_tag(&tag).map_err(StorageError::Corrupt)?;
        Ok(tag)
    }

    /// Positions opened by signals at or after `since`, by symbol (rate limits).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn signal_opens_since(&self, since: Timestamp) -> Result<HashMap<String, u32>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT symbol, COUNT(*) FROM positions
             WHERE signal_id IS NOT NULL AND created_at >= ?1 GROUP BY symbol",
        )?;
        let rows = stmt.query_map([ts(since)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Every row an `each_*` reader hands over, or its first unreadable row as the error.
fn all_or_first_bad<T>(
    read: impl FnOnce(&mut dyn FnMut(std::result::Result<T, BadRow>)) -> Result<()>,
) -> Result<Vec<T>> {
    let (mut all, mut bad) = (Vec::new(), None);
    read(&mut |r| match r {
        Ok(t) => all.push(t),
        Err(b) => {
            bad.get_or_insert(b);
        }
    })?;
    bad.map_or(Ok(all), |b| Err(b.into()))
}

#[cfg(test)]
mod tests;
