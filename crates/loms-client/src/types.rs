//! The answers that are not the domain's own types (positions, orders, the trading
//! state and `/stats` come from [`loms_domain`]), and the bodies and filters of the requests. Unknown fields
//! in an answer are ignored, so a newer server with more fields still reads.

pub use loms_domain::SignalAnswer;
pub use loms_domain::stats::{Spread, Stats, StatsFilters, SymbolStats};
use loms_domain::{Decimal, Position, PositionStatus, Side, Timestamp, TradingState};
use serde::{Deserialize, Serialize};

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
    /// Live: positions whose exit is at the venue, not filled yet.
    #[serde(default)]
    pub sent: Vec<SentClose>,
}

/// Live: a position whose exit order is at the venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentClose {
    /// Position id.
    pub position_id: i64,
    /// Its symbol.
    pub symbol: String,
    /// The order and where it stands.
    pub detail: String,
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
    /// Live only: exits at the venue, not filled yet.
    #[serde(default)]
    pub sent_count: usize,
    /// Live only: positions whose exit is at the venue.
    #[serde(default)]
    pub sent: Vec<SentClose>,
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
    /// Live only: every order settled, positions match the venue's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<HealthCheck>,
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
