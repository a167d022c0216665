//! The answers that are not domain records (those are [`loms_domain::Position`] and
//! [`loms_domain::Order`]), and the bodies and filters of the requests. Unknown fields
//! in an answer are ignored, so a newer server with more fields still reads.

use loms_domain::{Decimal, Position, PositionStatus, Side, Timestamp, TradingState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /`: who answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Always `ok`.
    pub status: String,
    /// `CryptoNakCore LOMS`.
    pub service: String,
}

/// `POST /admin/oms`: the new state, and what a `flatten` closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradingAnswer {
    /// The state now in force.
    pub trading: TradingState,
    /// May signals open positions?
    pub oms_enabled: bool,
    /// What `flatten` closed and could not close; `None` for the other modes.
    pub flatten: Option<CloseReport>,
}

/// What closing every open position did (`flatten`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloseReport {
    /// Positions closed.
    pub closed: Vec<Position>,
    /// Positions not closed, and why.
    pub failed: Vec<CloseFailure>,
}

/// `POST /admin/close-all`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloseAllAnswer {
    /// How many closed.
    pub closed_count: usize,
    /// How many could not be closed.
    pub failed_count: usize,
    /// Positions closed.
    pub closed: Vec<Position>,
    /// Positions not closed, and why.
    pub failed: Vec<CloseFailure>,
}

/// A position that could not be closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseFailure {
    /// Position id.
    pub position_id: i64,
    /// Its symbol.
    pub symbol: String,
    /// Why.
    pub error: String,
}

/// `POST /signals/bounce`: what the signal did. Fields that do not apply are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalAnswer {
    /// Always true.
    pub received: bool,
    /// The kill switch when the signal was handled.
    pub oms_enabled: bool,
    /// True when a position was opened.
    pub risk_ok: bool,
    /// Why the kill switch opened nothing.
    #[serde(default)]
    pub reason: Option<String>,
    /// Why a risk limit refused it.
    #[serde(default)]
    pub risk_reason: Option<String>,
    /// Which limit: total, symbol, size, rate, stale.
    #[serde(default)]
    pub risk_scope: Option<String>,
    /// Entry order id.
    #[serde(default)]
    pub order_id: Option<i64>,
    /// Opened position id.
    #[serde(default)]
    pub position_id: Option<i64>,
    /// Entry fill price.
    #[serde(default)]
    pub entry_price: Option<Decimal>,
    /// Quantity opened.
    #[serde(default)]
    pub qty: Option<Decimal>,
    /// Take-profit level.
    #[serde(default)]
    pub tp_price: Option<Decimal>,
    /// Stop-loss level.
    #[serde(default)]
    pub sl_price: Option<Decimal>,
    /// Exit policy.
    #[serde(default)]
    pub exit_strategy: Option<String>,
    /// The idempotency key it was recorded under.
    pub signal_id: String,
    /// True when this is the first answer to the same key, replayed.
    #[serde(default)]
    pub duplicate: bool,
}

/// `POST /orders/`: a manual market order that opens a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    /// Instrument, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Long or short.
    pub side: Side,
    /// Quantity (base units).
    pub qty: Decimal,
    /// The fill price.
    pub entry_price: Decimal,
    /// Take-profit level.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tp_price: Option<Decimal>,
    /// Stop-loss level.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sl_price: Option<Decimal>,
}

/// Filters of `GET /positions/`, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionQuery {
    /// Only open or only closed.
    pub status: Option<PositionStatus>,
    /// Only this symbol (upper-cased by the server).
    pub symbol: Option<String>,
    /// At most this many (0 to 1,000,000).
    pub limit: Option<u32>,
    /// Skip this many.
    pub offset: Option<u32>,
}

/// Filters of `GET /stats`: closed trades by close time, open positions by open time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsQuery {
    /// From this time (inclusive).
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Only this symbol.
    pub symbol: Option<String>,
}

/// `GET /stats`. See docs/api.md for how each figure is computed and rounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Open plus closed positions of the filter.
    pub total_positions: u64,
    /// Open positions (opened in the window with `since`/`until`).
    pub open_positions: u64,
    /// Closed trades of the filter.
    pub closed_positions: u64,
    /// Net PnL (after fees).
    pub total_pnl: Decimal,
    /// PnL before fees.
    pub gross_pnl: Decimal,
    /// Same as `total_pnl`.
    pub net_pnl: Decimal,
    /// Fees of the closed trades.
    pub fees_paid: Decimal,
    /// Trades with pnl > 0.
    pub winning_trades: u64,
    /// Trades with pnl < 0.
    pub losing_trades: u64,
    /// Closed by take-profit.
    pub tp_count: u64,
    /// Closed by stop-loss.
    pub sl_count: u64,
    /// Percent of closed trades won.
    pub winrate: f64,
    /// Mean PnL per trade.
    pub avg_pnl_per_trade: Decimal,
    /// Mean PnL of wins.
    pub avg_pnl_win: Decimal,
    /// Mean PnL of losses.
    pub avg_pnl_loss: Decimal,
    /// Largest fall of cumulative PnL from a previous peak.
    pub max_drawdown: Decimal,
    /// Gross wins / |gross losses|; `None` without losses.
    pub profit_factor: Option<Decimal>,
    /// Expected PnL per trade.
    pub expectancy: Decimal,
    /// Closed trades per day.
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
    /// trader); `None` without a trade that carries a signal price (or an older server).
    #[serde(default)]
    pub entry_slippage_bps: Option<Spread>,
    /// From the signal's timestamp to the entry fill, milliseconds; `None` without a
    /// trade that carries a signal time (or an older server).
    #[serde(default)]
    pub signal_to_fill_ms: Option<Spread>,
    /// The filters applied.
    pub filters: StatsFilters,
}

/// The mean and the worst of a measure over the trades that carry it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Trades measured.
    pub trades: u64,
    /// Mean, 2 decimals.
    pub avg: f64,
    /// Largest, 2 decimals.
    pub max: f64,
}

/// Figures of one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolStats {
    /// Closed trades.
    pub trades: u64,
    /// Wins.
    pub wins: u64,
    /// Net PnL.
    pub pnl: Decimal,
}

/// The filters `/stats` applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsFilters {
    /// From.
    pub since: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
    /// Symbol.
    pub symbol: Option<String>,
}

/// `GET /health`. Always HTTP 200: read `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// True when every check passes.
    pub ok: bool,
    /// Service name.
    pub service: String,
    /// `ok` or `degraded`.
    pub status: String,
    /// LOMS version.
    pub version: String,
    /// ENVIRONMENT.
    pub environment: String,
    /// BROKER_MODE.
    pub broker_mode: String,
    /// May signals open positions?
    pub oms_enabled: bool,
    /// The trading mode.
    pub trading: TradingState,
    /// DATABASE_URL.
    pub database_url: String,
    /// AUDIT_LOG_PATH.
    pub audit_log_path: String,
    /// PRICE_SOURCE.
    pub price_source: String,
    /// PRICE_MODE.
    pub price_mode: String,
    /// PRICE_EXCHANGE.
    pub price_exchange: String,
    /// EXIT_STRATEGY.
    pub exit_strategy: String,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Open positions (`None` when the database does not answer).
    pub open_positions: Option<i64>,
    /// The checklist.
    pub checks: HealthChecks,
}

/// The checks of `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthChecks {
    /// The database answers.
    pub database: HealthCheck,
    /// The last append to the audit file succeeded.
    pub audit_log: HealthCheck,
    /// Free space in the folders of the database and the audit file.
    pub disk_space: HealthCheck,
    /// Quotes arrive.
    pub price_feed: HealthCheck,
    /// The auto-close loop runs.
    pub auto_close_loop: HealthCheck,
    /// Every stored row start-up needed could be read.
    pub stored_data: HealthCheck,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// Passed?
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// Passed, with something an operator should look at.
    #[serde(default)]
    pub warning: bool,
    /// Seconds since the last good quote (price feed).
    #[serde(default)]
    pub last_success_age_s: Option<f64>,
    /// Last price error (price feed).
    #[serde(default)]
    pub last_error: Option<String>,
    /// Price errors since start (price feed).
    #[serde(default)]
    pub errors_total: Option<u64>,
    /// Seconds since the last pass (auto-close loop).
    #[serde(default)]
    pub last_pass_age_s: Option<f64>,
    /// Duration of the last pass in ms (auto-close loop).
    #[serde(default)]
    pub last_pass_ms: Option<f64>,
}

/// `/market/price`: the simulator's price of a symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketPrice {
    /// Always `simulator`.
    pub source: String,
    /// The symbol shown.
    pub symbol: String,
    /// Its price now (the pin, else where its walk is).
    pub price: Decimal,
    /// `Some(true)` after a pin, `Some(false)` after a release, `None` on a read.
    pub pinned: Option<bool>,
    /// `symbol` or `all`: what the pin or release applied to.
    pub scope: String,
}
