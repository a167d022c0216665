//! The execution client: what LOMS asks of a venue once an order's intent is stored,
//! and the reports that come back (live trading, part 1).
//!
//! An order is an [`OrderIntent`] written durably with its client order id before
//! [`ExecutionClient::submit`] is called, outside the writer (a venue call takes 50 to
//! 2,000 ms and its answer can be lost). What comes back is an [`ExecutionReport`]
//! applied by the writer idempotently: a fill is keyed by the venue's trade id, and an
//! order's status only moves forward ([`OrderStatus::may_become`]).
//!
//! [`crate::PaperSim`] implements it too, filling at once without I/O
//! ([`ExecutionClient::immediate`]), so paper, shadow, replay and live share one
//! pipeline.

use crate::PaperSim;
use loms_domain::{Decimal, OrderStatus, PriceQuote, Side, Timestamp};
use std::fmt::Debug;

/// An order to execute, as stored before it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderIntent {
    /// Deterministic client order id (≤ 32 of `[A-Za-z0-9_-]`): the same intent always
    /// carries the same id, so a retry can never become a second order.
    pub client_oid: String,
    /// Instrument.
    pub symbol: String,
    /// Side of the *position* the order opens or reduces.
    pub side: Side,
    /// An exit: it may only reduce the position (`reduceOnly`), never open one.
    pub reduce_only: bool,
    /// Quantity, base coin.
    pub qty: Decimal,
    /// Reference price: the signal's on entry, the current one on exit.
    pub price: Decimal,
    /// The market quote of the moment, when there is one (paper fills at its ask/bid).
    pub quote: Option<PriceQuote>,
    /// The exchange-side stop-loss attached to an entry.
    pub stop_loss: Option<Decimal>,
    /// The exchange-side take-profit attached to an entry (when kept on the venue).
    pub take_profit: Option<Decimal>,
    /// When the intent was made.
    pub ts: Timestamp,
}

impl OrderIntent {
    /// Whether the order buys (a long's entry, a short's exit).
    pub fn buys(&self) -> bool {
        (self.side == Side::Long) != self.reduce_only
    }
}

/// One trade of an order, as the venue reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecFill {
    /// The venue's trade id: a fill is applied once per trade id.
    pub trade_id: String,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Fee paid, quote currency, positive when paid.
    pub fee: Decimal,
    /// Time of the trade.
    pub ts: Timestamp,
}

/// What the venue says about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionReport {
    /// The order's client id.
    pub client_oid: String,
    /// The venue's order id, once known.
    pub exchange_order_id: Option<String>,
    /// Where the order stands.
    pub status: OrderStatus,
    /// Its trades so far (all of them for a filled order).
    pub fills: Vec<ExecFill>,
    /// Why it was rejected, or what is unknown.
    pub reason: Option<String>,
}

impl ExecutionReport {
    /// Total filled quantity.
    pub fn filled_qty(&self) -> Decimal {
        self.fills.iter().map(|f| f.qty).sum()
    }

    /// Quantity-weighted average fill price (`None`: nothing filled).
    pub fn avg_price(&self) -> Option<Decimal> {
        let qty = self.filled_qty();
        if qty.is_zero() {
            return None;
        }
        let notional = self.fills.iter().try_fold(Decimal::ZERO, |acc, f| {
            acc.checked_add(f.price.checked_mul(f.qty)?)
        })?;
        notional.checked_div(qty)
    }

    /// Total fee paid.
    pub fn fees(&self) -> Decimal {
        self.fills.iter().map(|f| f.fee).sum()
    }
}

/// A position as the venue holds it (reconciliation: the venue is the truth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenuePosition {
    /// Instrument.
    pub symbol: String,
    /// Long or short.
    pub side: Side,
    /// Size, base coin.
    pub qty: Decimal,
    /// Average entry.
    pub entry_price: Decimal,
    /// The venue-side stop, if any.
    pub stop_loss: Option<Decimal>,
}

/// The account's money, as the venue reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSnapshot {
    /// Balance plus unrealised PnL, quote currency.
    pub equity: Decimal,
    /// What a new position may still use.
    pub available: Decimal,
}

/// A request to the venue that failed before saying anything about an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The venue could not be asked or did not answer; try again later.
    #[error("venue unavailable: {0}")]
    Unavailable(String),
    /// The venue refused the request (permissions, parameters...).
    #[error("venue refused: {0}")]
    Refused(String),
    /// This client has no such thing (paper has no venue-side positions or account).
    #[error("not supported by {0}")]
    NotSupported(&'static str),
}

/// What a cancel found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Cancelled.
    Canceled,
    /// No working order with that id (never placed, or already final).
    NotFound,
}

/// Executes orders on a venue. Calls block (the live client does network I/O): call
/// them from a blocking task, never from the writer thread, unless
/// [`ExecutionClient::immediate`].
pub trait ExecutionClient: Send + Sync + Debug {
    /// `paper` or the venue's name.
    fn venue(&self) -> &'static str;

    /// Whether [`ExecutionClient::submit`] answers at once without I/O, always with a
    /// final status (paper): the writer may execute such an order inside its batch.
    fn immediate(&self) -> bool {
        false
    }

    /// Send the order (under its client id) and say what became of it. Never fails:
    /// an unknown outcome is a report with [`OrderStatus::Unknown`].
    fn submit(&self, order: &OrderIntent) -> ExecutionReport;

    /// Look an order up by its client id (`None`: the venue has no such order).
    ///
    /// # Errors
    /// [`ExecError`] when the venue could not be asked.
    fn query(&self, symbol: &str, client_oid: &str) -> Result<Option<ExecutionReport>, ExecError>;

    /// Cancel a working order by its client id.
    ///
    /// # Errors
    /// [`ExecError`].
    fn cancel(&self, symbol: &str, client_oid: &str) -> Result<CancelOutcome, ExecError>;

    /// Move the venue-side stop-loss of the position on `symbol` (trailing, break-even).
    ///
    /// # Errors
    /// [`ExecError`].
    fn amend_stop(&self, symbol: &str, side: Side, stop: Decimal) -> Result<(), ExecError>;

    /// Get `symbol` ready for its first entry (margin mode, leverage). Called before every
    /// entry; a client does the work once per symbol.
    ///
    /// # Errors
    /// [`ExecError`]: the entry must not be sent.
    fn prepare(&self, _symbol: &str) -> Result<(), ExecError> {
        Ok(())
    }

    /// The venue's open positions.
    ///
    /// # Errors
    /// [`ExecError`].
    fn positions(&self) -> Result<Vec<VenuePosition>, ExecError>;

    /// The orders working at the venue (LOMS sends only market orders, which never
    /// rest): `(symbol, client id, venue id)` of each.
    ///
    /// # Errors
    /// [`ExecError`]; [`ExecError::NotSupported`] by default.
    fn open_orders(&self) -> Result<Vec<(String, String, String)>, ExecError> {
        Err(ExecError::NotSupported(self.venue()))
    }

    /// The trades on `symbol` since `since` that reduced a `side` position and were not
    /// sent by LOMS (a venue-side stop or take-profit that fired), oldest first, with
    /// the venue's order id of each.
    ///
    /// # Errors
    /// [`ExecError`].
    fn venue_closes(
        &self,
        _symbol: &str,
        _side: Side,
        _since: Timestamp,
    ) -> Result<Vec<(String, ExecFill)>, ExecError> {
        Err(ExecError::NotSupported(self.venue()))
    }

    /// The account's equity and what is available.
    ///
    /// # Errors
    /// [`ExecError`].
    fn account(&self) -> Result<AccountSnapshot, ExecError>;
}

impl PaperSim {
    /// The fill of `order` at once ([`PaperSim::price_and_fee`]); a fill that is not
    /// possible is a rejection.
    fn paper_report(&self, order: &OrderIntent) -> ExecutionReport {
        let mut report = ExecutionReport {
            client_oid: order.client_oid.clone(),
            exchange_order_id: None,
            status: OrderStatus::Filled,
            fills: Vec::new(),
            reason: None,
        };
        match self.price_and_fee(order.buys(), order.quote.as_ref(), order.price, order.qty) {
            Ok((price, fee)) => report.fills.push(ExecFill {
                trade_id: format!("{}-1", order.client_oid),
                price,
                qty: order.qty,
                fee,
                ts: order.ts,
            }),
            Err(reason) => {
                report.status = OrderStatus::Rejected;
                report.reason = Some(reason);
            }
        }
        report
    }
}

impl ExecutionClient for PaperSim {
    fn venue(&self) -> &'static str {
        "paper"
    }

    fn immediate(&self) -> bool {
        true
    }

    fn submit(&self, order: &OrderIntent) -> ExecutionReport {
        self.paper_report(order)
    }

    /// Paper keeps no order book of its own: LOMS's rows are the only record.
    fn query(&self, _: &str, _: &str) -> Result<Option<ExecutionReport>, ExecError> {
        Err(ExecError::NotSupported("paper"))
    }

    fn cancel(&self, _: &str, _: &str) -> Result<CancelOutcome, ExecError> {
        // A paper order is final the moment it is submitted: nothing is working.
        Ok(CancelOutcome::NotFound)
    }

    /// Paper stops live in LOMS's rows only: there is no venue-side stop to move.
    fn amend_stop(&self, _: &str, _: Side, _: Decimal) -> Result<(), ExecError> {
        Err(ExecError::NotSupported("paper"))
    }

    fn positions(&self) -> Result<Vec<VenuePosition>, ExecError> {
        Err(ExecError::NotSupported("paper"))
    }

    fn account(&self) -> Result<AccountSnapshot, ExecError> {
        Err(ExecError::NotSupported("paper"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn intent(side: Side, reduce_only: bool, quote: Option<PriceQuote>) -> OrderIntent {
        OrderIntent {
            client_oid: "Lt1-7-e".into(),
            symbol: "BTCUSDT".into(),
            side,
            reduce_only,
            qty: dec!(0.5),
            price: dec!(40000),
            quote,
            stop_loss: Some(dec!(39400)),
            take_profit: None,
            ts: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// One fill at once, its trade id derived from the client id; the quantity asked.
    #[test]
    fn paper_fills_once_with_a_trade_id_from_the_client_id() {
        let sim = PaperSim {
            taker_fee_bps: dec!(6),
            slippage_bps: dec!(10),
        };
        assert!(sim.immediate());
        let r = sim.submit(&intent(Side::Long, false, None));
        assert_eq!(r.status, OrderStatus::Filled);
        assert_eq!((r.fills.len(), r.filled_qty()), (1, dec!(0.5)));
        assert_eq!(r.fills[0].trade_id, "Lt1-7-e-1");
        assert_eq!(r.fills[0].price, dec!(40040));
        assert_eq!(r.fees(), dec!(12.012)); // 40,040 × 0.5 × 0.0006
    }

    #[test]
    fn paper_has_no_venue_to_ask() {
        let sim = PaperSim::default();
        assert_eq!(
            sim.query("BTCUSDT", "x"),
            Err(ExecError::NotSupported("paper"))
        );
        assert_eq!(sim.positions(), Err(ExecError::NotSupported("paper")));
        assert_eq!(sim.cancel("BTCUSDT", "x"), Ok(CancelOutcome::NotFound));
        let mut bad = intent(Side::Short, true, None);
        bad.price = dec!(0);
        assert_eq!(sim.submit(&bad).status, OrderStatus::Rejected);
    }

    #[test]
    fn a_report_sums_its_fills() {
        let fill = |id: &str, price, qty, fee| ExecFill {
            trade_id: id.into(),
            price,
            qty,
            fee,
            ts: chrono::DateTime::UNIX_EPOCH,
        };
        let r = ExecutionReport {
            client_oid: "c".into(),
            exchange_order_id: Some("1".into()),
            status: OrderStatus::Filled,
            fills: vec![
                fill("a", dec!(100), dec!(1), dec!(0.06)),
                fill("b", dec!(103), dec!(2), dec!(0.1236)),
            ],
            reason: None,
        };
        assert_eq!(
            (r.filled_qty(), r.avg_price(), r.fees()),
            (dec!(3), Some(dec!(102)), dec!(0.1836))
        );
        let empty = ExecutionReport { fills: vec![], ..r };
        assert_eq!(empty.avg_price(), None);
    }
}
