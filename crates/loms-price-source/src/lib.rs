//! LOMS price sources. [`PriceSource`] answers many symbols per call (one request per
//! auto-close pass, not one per position); [`Simulator`] is the seedable random walk
//! used in LAB mode and tests.
//!
//! Sources are synchronous (exchange clients block on HTTP); async callers bridge them
//! with `spawn_blocking`.

mod bitget;
mod bybit;
mod exchange;
mod http;
mod klines;
mod simulator;

pub use exchange::{Exchange, ExchangeClient, ExchangeConfig, KlineSource, Market, ParseNameError};
pub use klines::{Kline, KlineError, KlineSeries, ReplayPriceSource};
pub use simulator::{Simulator, SimulatorConfig, SplitMix64};

use loms_domain::{Decimal, PriceQuote};
use std::collections::HashMap;
use std::fmt::Debug;

/// Why a quote could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The source does not know the symbol.
    #[error("{source_name}: unknown symbol {symbol}")]
    UnknownSymbol {
        /// Source name.
        source_name: &'static str,
        /// Symbol asked for.
        symbol: String,
    },
    /// The source is unavailable (network, exchange error...).
    #[error("{source_name}: {detail}")]
    Unavailable {
        /// Source name.
        source_name: &'static str,
        /// What went wrong.
        detail: String,
    },
}

/// Quotes of one call, by symbol; each symbol succeeds or fails on its own.
pub type QuoteBatch = HashMap<String, Result<PriceQuote, PriceError>>;

/// A source of current prices.
pub trait PriceSource: Send + Sync + Debug {
    /// Short name for logs and /health (`simulator`, `bybit`...).
    fn name(&self) -> &'static str;

    /// Current quotes for `symbols`. Every symbol asked for has an entry in the answer.
    fn quotes(&self, symbols: &[String]) -> QuoteBatch;

    /// A reference price the OMS saw for `symbol` (a signal's price). Real sources ignore
    /// it; the simulator starts the walk of a symbol it has not seen yet there.
    fn observe(&self, _symbol: &str, _price: Decimal) {}

    /// Whether an entry fills at this source's quote of the moment (a long at the ask,
    /// a short at the bid), fetched when the signal arrives. `true` for exchange
    /// tickers. `false` for the simulator, whose walk of a symbol starts at the first
    /// signal's price (it has no market of its own before), and for replayed bars
    /// (no quote at the signal's second): there an entry fills at the signal's price.
    fn quotes_entries(&self) -> bool {
        true
    }

    /// The simulator, when this source is one (for `/market/price`).
    fn as_simulator(&self) -> Option<&Simulator> {
        None
    }
}
