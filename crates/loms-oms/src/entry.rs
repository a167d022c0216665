//! The market an entry fills at. A signal's price is what the bot saw; the paper fill
//! is the market's when the signal arrives, like an exit's: a long buys at the ask, a
//! short sells at the bid, moved SLIPPAGE_BPS against the trader, so the signal→entry
//! slippage (`entry_price` − `signal_price`) is measured, not assumed zero.
//!
//! The quote is fetched here, in the request's task (`spawn_blocking`), before the
//! command is queued: the writer never waits on the network. No usable quote fails
//! closed: the signal opens nothing and is answered 503 `price_unavailable`, with
//! nothing stored, so the bot's retry is handled afresh. Sources without a market of
//! their own at entry ([`loms_price_source::PriceSource::quotes_entries`]: the
//! simulator, replayed bars) fill at the signal's price.

use crate::writer::Tick;
use crate::{Oms, OmsError};
use loms_domain::Signal;

/// What an entry fills at, decided before the signal is queued.
#[derive(Debug)]
pub(crate) enum EntryQuote {
    /// The source has no market of its own at entry: the signal's price.
    SignalPrice,
    /// The quote of the moment.
    Market(Box<Tick>),
    /// No usable quote (why): the signal opens nothing (503), nothing is stored.
    Unavailable(String),
}

impl EntryQuote {
    /// The tick to fill at (`None`: the signal's price).
    ///
    /// # Errors
    /// [`OmsError::PriceUnavailable`] when there is no usable quote.
    pub(crate) fn tick(&self, symbol: &str) -> Result<Option<&Tick>, OmsError> {
        match self {
            Self::SignalPrice => Ok(None),
            Self::Market(t) => Ok(Some(t)),
            Self::Unavailable(detail) => Err(OmsError::PriceUnavailable {
                symbol: symbol.to_string(),
                detail: format!("no entry at the market's price: {detail}"),
            }),
        }
    }
}

impl Oms {
    /// The quote `s` would fill at, fetched now when the price source quotes entries.
    /// Not fetched while signals may not open positions (they open nothing anyway; one
    /// racing a switch back to `active` is refused rather than filled at its price).
    pub(crate) async fn entry_quote(&self, s: &Signal) -> EntryQuote {
        if !self.0.deps.prices.quotes_entries() {
            return EntryQuote::SignalPrice;
        }
        if !self.enabled() {
            return EntryQuote::Unavailable(
                "no quote was asked: signals could not open positions when it arrived".into(),
            );
        }
        match self.tick(&s.symbol).await {
            Ok(t) => EntryQuote::Market(Box::new(t)),
            Err(OmsError::PriceUnavailable { detail, .. }) => EntryQuote::Unavailable(detail),
            Err(e) => EntryQuote::Unavailable(e.to_string()),
        }
    }
}
