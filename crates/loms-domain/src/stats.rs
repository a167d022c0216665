//! The `/stats` answer: the figures of the go/no-go review, computed by the OMS from
//! closed trades and read by its clients. Fields added later read as absent from an
//! older server (`#[serde(default)]`).

use crate::{Decimal, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-symbol figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolStats {
    /// Closed trades.
    pub trades: u64,
    /// Trades with pnl > 0.
    pub wins: u64,
    /// Net PnL.
    pub pnl: Decimal,
}

/// Filters echoed back in the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsFilters {
    /// Closed at or after.
    pub since: Option<Timestamp>,
    /// Closed before.
    pub until: Option<Timestamp>,
    /// Symbol.
    pub symbol: Option<String>,
}

/// The `/stats` answer. PnL figures are net of fees; a trade with pnl > 0 is a win,
/// pnl < 0 a loss, pnl = 0 neither.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// `open_positions` + `closed_positions`: every position of the filter, each counted once.
    pub total_positions: u64,
    /// Open now; with `since`/`until`, only those opened in that window (symbol filter applies).
    pub open_positions: u64,
    /// Closed trades in the filter.
    pub closed_positions: u64,
    /// Sum of net PnL (after fees).
    pub total_pnl: Decimal,
    /// Sum of PnL before fees.
    pub gross_pnl: Decimal,
    /// Same as `total_pnl`: PnL after fees.
    pub net_pnl: Decimal,
    /// Fees paid by the closed trades.
    pub fees_paid: Decimal,
    /// Trades with pnl > 0.
    pub winning_trades: u64,
    /// Trades with pnl < 0.
    pub losing_trades: u64,
    /// Closed by take-profit.
    pub tp_count: u64,
    /// Closed by stop-loss.
    pub sl_count: u64,
    /// winning / closed × 100 (0 without trades).
    pub winrate: f64,
    /// total_pnl / closed (0 without trades).
    pub avg_pnl_per_trade: Decimal,
    /// Mean pnl of wins (0 without wins).
    pub avg_pnl_win: Decimal,
    /// Mean pnl of losses (0 without losses).
    pub avg_pnl_loss: Decimal,
    /// Largest fall of cumulative PnL from a previous peak (the curve starts at 0), ≥ 0.
    pub max_drawdown: Decimal,
    /// Gross wins / |gross losses|, 8 decimals; null when there is no loss, or when the
    /// quotient is beyond the decimal range (about 7.9e28).
    pub profit_factor: Option<Decimal>,
    /// Expected PnL per trade: P(win)·avg_win + P(loss)·avg_loss (= avg_pnl_per_trade).
    pub expectancy: Decimal,
    /// Closed trades per day between the first and the last close (at least one day).
    pub trades_per_day: f64,
    /// Closed trades by close reason.
    pub by_close_reason: BTreeMap<String, u64>,
    /// Figures by symbol.
    pub by_symbol: BTreeMap<String, SymbolStats>,
    /// Earliest open among the closed trades.
    pub first_trade_at: Option<Timestamp>,
    /// Latest close.
    pub last_trade_at: Option<Timestamp>,
    /// Entry fills against the signal's price, basis points (positive: against the
    /// trader): mean and worst over the trades that carry a signal price; null without.
    #[serde(default)]
    pub entry_slippage_bps: Option<Spread>,
    /// From the signal's timestamp to the entry fill, milliseconds: mean and worst over
    /// the trades that carry a signal time; null without.
    #[serde(default)]
    pub signal_to_fill_ms: Option<Spread>,
    /// Shadow vs live drift, basis points: each live entry fill against the paper fill
    /// the same signal would have had at that moment (positive: live did worse for the
    /// trader), mean and worst over the trades that carry a paper price (live signals);
    /// null without.
    #[serde(default)]
    pub shadow_drift_bps: Option<Spread>,
    /// The filters applied.
    pub filters: StatsFilters,
}

/// The mean and the worst (largest) of a measure over the trades that have it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Trades measured.
    pub trades: u64,
    /// Mean, 2 decimals.
    pub avg: f64,
    /// Largest, 2 decimals.
    pub max: f64,
}
