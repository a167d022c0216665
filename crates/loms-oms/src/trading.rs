//! The runtime kill switch, as the OMS stores it: the types are the domain's
//! ([`loms_domain::trading`]).

pub use loms_domain::trading::{SET_BY_STARTUP, TradingMode, TradingState};

/// Key of the trading state in the persistent operator state.
pub(crate) const STATE_KEY: &str = "trading_state";
