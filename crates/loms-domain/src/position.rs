//! Position and order records, as stored and as served over HTTP.

use crate::{Decimal, DomainError, Side, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Free-form, policy-owned state of a position (JSON object).
pub type ExitMeta = serde_json::Map<String, serde_json::Value>;

/// Whether a position is still exposed to the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionStatus {
    /// Exposed; watched by the auto-close loop.
    Open,
    /// Closed; `close_price`, `pnl`, `closed_at` and `auto_close_reason` are set.
    Closed,
    /// Never opened: its entry order was rejected, or canceled or not found at the
    /// venue with nothing filled (live trading). Not a trade: no PnL, not in /stats.
    Void,
}

impl PositionStatus {
    /// `"open"` or `"closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PositionStatus::Open => "open",
            PositionStatus::Closed => "closed",
            PositionStatus::Void => "void",
        }
    }
}

impl FromStr for PositionStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            "void" => Ok(Self::Void),
            _ => Err(DomainError::invalid(format!(
                "status must be open, closed or void, got {s:?}"
            ))),
        }
    }
}

/// Why a position was closed (`auto_close_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Take-profit reached.
    Tp,
    /// Stop-loss reached.
    Sl,
    /// Closed by an operator (`POST /positions/{id}/close`).
    Manual,
    /// Held longer than the policy allows.
    Timeout,
    /// A trailing stop was hit.
    TrailingSl,
    /// A stop moved to break-even was hit.
    BreakEven,
    /// Closed by the panic procedure.
    Panic,
    /// Closed by the venue-side stop (or take-profit) attached to the entry, found
    /// filled at the venue (live trading): the position closes at the venue's fill.
    ExchangeStop,
}

impl CloseReason {
    /// Every reason, in display order.
    pub const ALL: [CloseReason; 8] = [
        Self::Tp,
        Self::Sl,
        Self::Manual,
        Self::Timeout,
        Self::TrailingSl,
        Self::BreakEven,
        Self::Panic,
        Self::ExchangeStop,
    ];

    /// Wire name (`tp`, `sl`, `manual`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tp => "tp",
            Self::Sl => "sl",
            Self::Manual => "manual",
            Self::Timeout => "timeout",
            Self::TrailingSl => "trailing_sl",
            Self::BreakEven => "break_even",
            Self::Panic => "panic",
            Self::ExchangeStop => "exchange_stop",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CloseReason {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::invalid(format!("unknown close reason {s:?}")))
    }
}

/// A position: what was opened, how it is managed, and how it ended.
///
/// `entry_price`/`created_at` are the broker fill; `signal_price`/`signal_time` what the
/// signal asked for, so slippage and signal-to-fill latency can be reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Row id.
    pub id: i64,
    /// The entry order.
    pub order_id: Option<i64>,
    /// Instrument, upper case.
    pub symbol: String,
    /// Long or short.
    pub side: Side,
    /// Quantity still open (base units); on a closed position, what its last close took
    /// (every piece is in `closes`).
    pub qty: Decimal,
    /// Quantity opened by the entry fill.
    pub opened_qty: Decimal,
    /// Fill price of the entry.
    pub entry_price: Decimal,
    /// Initial take-profit level.
    pub tp_price: Option<Decimal>,
    /// Initial stop-loss level.
    pub sl_price: Option<Decimal>,
    /// Open or closed.
    pub status: PositionStatus,
    /// Fill time of the entry.
    pub created_at: Timestamp,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
    /// Exit fill price.
    pub close_price: Option<Decimal>,
    /// Realised PnL in quote currency, net of `fees`.
    pub pnl: Option<Decimal>,
    /// Why it was closed.
    pub auto_close_reason: Option<CloseReason>,
    /// Exchange named by the signal.
    pub exchange: String,
    /// `perp` or `spot`.
    pub market_type: String,
    /// Sub-account label (live trading).
    pub account_label: Option<String>,
    /// Exchange order id (live trading).
    pub external_order_id: Option<String>,
    /// Exchange position reference (live trading).
    pub external_position_ref: Option<String>,
    /// Name of the exit policy managing it.
    pub exit_strategy: String,
    /// Take-profit level as moved by the policy.
    pub dynamic_tp_price: Option<Decimal>,
    /// Stop-loss level as moved by the policy.
    pub dynamic_sl_price: Option<Decimal>,
    /// Best favourable move seen, in percent of the entry.
    pub max_favorable_move: Option<Decimal>,
    /// Policy-owned state.
    pub exit_meta: ExitMeta,
    /// Idempotency key of the signal that opened it.
    pub signal_id: Option<String>,
    /// Strategy named by the signal.
    pub strategy: Option<String>,
    /// Candle timeframe of the signal, minutes.
    pub timeframe_min: Option<u32>,
    /// Fees paid so far (entry, partial closes, exit).
    pub fees: Decimal,
    /// Gross PnL of the parts already closed (partial closes), before fees.
    pub realized_pnl: Decimal,
    /// Price the signal carried.
    pub signal_price: Option<Decimal>,
    /// Timestamp the signal carried.
    pub signal_time: Option<Timestamp>,
    /// A live signal's entry only: the price the paper broker would have filled it at
    /// when it was sent (the quote of the moment, SLIPPAGE_BPS), to measure what paper
    /// mode hides ([`crate::math::shadow_drift_bps`]). `None` for paper entries (their
    /// `entry_price` is that fill), operator orders (no signal) and rows stored before
    /// it was recorded.
    #[serde(default)]
    pub paper_entry_price: Option<Decimal>,
    /// Every piece closed so far, oldest first: the partial closes, then the close.
    pub closes: Vec<ClosedPiece>,
}

/// One piece of a position closed: a partial close, or the final close of the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedPiece {
    /// Quantity closed.
    pub qty: Decimal,
    /// Fill price.
    pub price: Decimal,
    /// Taker fee of this fill.
    pub fee: Decimal,
    /// Why it was closed.
    pub reason: CloseReason,
    /// Fill time.
    pub closed_at: Timestamp,
}

impl Position {
    /// A fresh open position with the essentials set and every optional field empty
    /// (`id` 0 until stored, exchange `bitget`, market `perp`, policy `tp_sl_static`).
    pub fn open(
        symbol: impl Into<String>,
        side: Side,
        qty: Decimal,
        entry_price: Decimal,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id: 0,
            order_id: None,
            symbol: symbol.into(),
            side,
            qty,
            opened_qty: qty,
            entry_price,
            tp_price: None,
            sl_price: None,
            status: PositionStatus::Open,
            created_at,
            closed_at: None,
            close_price: None,
            pnl: None,
            auto_close_reason: None,
            exchange: "bitget".into(),
            market_type: "perp".into(),
            account_label: None,
            external_order_id: None,
            external_position_ref: None,
            exit_strategy: "tp_sl_static".into(),
            dynamic_tp_price: None,
            dynamic_sl_price: None,
            max_favorable_move: None,
            exit_meta: ExitMeta::new(),
            signal_id: None,
            strategy: None,
            timeframe_min: None,
            fees: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            signal_price: None,
            signal_time: None,
            paper_entry_price: None,
            closes: Vec::new(),
        }
    }

    /// Stop level in force: the dynamic one if a policy moved it, else the initial one.
    pub fn effective_sl(&self) -> Option<Decimal> {
        self.dynamic_sl_price.or(self.sl_price)
    }
    /// Take-profit level in force.
    pub fn effective_tp(&self) -> Option<Decimal> {
        self.dynamic_tp_price.or(self.tp_price)
    }
    /// True while open.
    pub fn is_open(&self) -> bool {
        self.status == PositionStatus::Open
    }
}

/// An order sent to a broker. In paper mode every order fills at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Row id.
    pub id: i64,
    /// Instrument.
    pub symbol: String,
    /// `buy` or `sell`.
    pub side: String,
    /// Quantity.
    pub qty: Decimal,
    /// `market` (only type for now).
    pub order_type: String,
    /// Where it stands in its lifecycle.
    pub status: crate::OrderStatus,
    /// Fill price.
    pub price: Decimal,
    /// Creation time.
    pub created_at: Timestamp,
    /// Position it opened (an entry) or reduced (an exit).
    pub position_id: Option<i64>,
    /// Idempotency key of the originating signal.
    pub signal_id: Option<String>,
    /// Deterministic client order id (`None`: stored before schema v9).
    pub client_oid: Option<String>,
    /// The venue's order id, once known (`None` in paper).
    pub exchange_order_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_round_trip() {
        for r in CloseReason::ALL {
            assert_eq!(r.as_str().parse::<CloseReason>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
