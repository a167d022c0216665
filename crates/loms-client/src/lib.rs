//! A blocking Rust client of the LOMS HTTP API (docs/api.md; the OpenAPI document is
//! `crates/loms-http/openapi.json`, served at `GET /openapi.json`).
//!
//! One method per endpoint, answers as the domain's types ([`domain::Position`],
//! [`domain::Order`]) or types made for them ([`Stats`], [`Health`], ...), and one
//! error, [`Error`], that tells an unreachable server from a refusal (the API's JSON
//! `error` and `detail`, with the HTTP status) from an answer that cannot be used.
//!
//! ```no_run
//! use loms_client::{Client, Error, PositionQuery, StatsQuery};
//!
//! let client = Client::new("http://127.0.0.1:8000");
//! let stats = client.stats(&StatsQuery { symbol: Some("BTCUSDT".into()), ..Default::default() })?;
//! println!("{} closed trades, net PnL {}", stats.closed_positions, stats.net_pnl);
//! match client.position(999_999) {
//!     Err(Error::Refused(e)) if e.status == 404 => println!("no such position: {}", e.detail),
//!     other => println!("{other:?}"),
//! }
//! # Ok::<(), Error>(())
//! ```
//!
//! Writes (`POST`, `DELETE`) need the server's token when it has one:
//! [`Client::with_token`]. See `examples/snapshot.rs` for a whole program.

mod client;
mod endpoints;
mod error;
pub mod show;
mod types;

pub use client::{Answer, Client, DEFAULT_TIMEOUT, DEFAULT_URL, Method, base_url, is_loopback};
pub use error::{ApiError, Error, Problem, Transport, TransportKind};
pub use loms_domain::{TradingMode, TradingState};
pub use types::{
    CloseAllAnswer, CloseFailure, CloseReport, Health, HealthCheck, HealthChecks, MarketPrice,
    NewOrder, PositionQuery, SentClose, ServiceInfo, SignalAnswer, Spread, Stats, StatsFilters,
    StatsQuery, SymbolStats, TradingAnswer,
};

/// The domain types the answers are made of.
pub mod domain {
    pub use loms_domain::{
        CloseReason, ClosedPiece, Decimal, Fill, FillKind, Order, OrderStatus, Position,
        PositionOrder, PositionOrders, PositionStatus, Side, Timestamp,
    };
}
