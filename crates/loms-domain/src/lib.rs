//! LOMS domain types: the vocabulary every other crate speaks.
//!
//! Everything here is pure (no I/O, no async): sides, position and order records,
//! the validated [`Signal`], price quotes and [`PriceMode`], and the arithmetic of
//! take-profit / stop-loss levels, PnL and sizing. Money is [`rust_decimal::Decimal`],
//! never `f64`; JSON output renders it as numbers for compatibility with the bot.

pub mod answer;
pub mod client_oid;
pub mod clock;
pub mod error;
pub mod math;
pub mod order_status;
pub mod position;
pub mod position_orders;
pub mod price;
pub mod side;
pub mod signal;
pub mod stats;
pub mod trading;
pub mod venue;

pub use answer::SignalAnswer;
pub use client_oid::{ClientOid, DB_TAG_KEY, Leg};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::DomainError;
pub use math::{FEE_DP, Sizing, pnl, size_qty, tp_sl_prices};
pub use order_status::OrderStatus;
pub use position::{CloseReason, ClosedPiece, ExitMeta, Order, Position, PositionStatus};
pub use position_orders::{Fill, FillKind, PositionOrder, PositionOrders};
pub use price::{PriceMode, PriceQuote};
pub use rust_decimal::Decimal;
pub use side::Side;
pub use signal::{Signal, SignalDefaults};
pub use trading::{TradingMode, TradingState};
pub use venue::{
    Doubt, LomsHolding, ReconcileAction, ReconcileOutcome, ReconcileRequest, VenueHolding,
    VenueView,
};

/// Timestamps are UTC everywhere.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
