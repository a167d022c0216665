//! Price quotes and the rule that picks one number out of a quote.

use crate::{Decimal, DomainError, Timestamp};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A quote for one symbol. Every field but the symbol and time may be absent:
/// sources differ in what they provide (spot has no mark price, for example).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceQuote {
    /// Instrument, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Best bid.
    pub bid: Option<Decimal>,
    /// Best ask.
    pub ask: Option<Decimal>,
    /// Last traded price.
    pub last: Option<Decimal>,
    /// Mark price (derivatives).
    pub mark: Option<Decimal>,
    /// When the source produced the quote.
    pub ts: Timestamp,
}

impl PriceQuote {
    /// A quote where every field is the same price (simulator, tests).
    pub fn flat(symbol: impl Into<String>, price: Decimal, ts: Timestamp) -> Self {
        Self {
            symbol: symbol.into(),
            bid: Some(price),
            ask: Some(price),
            last: Some(price),
            mark: Some(price),
            ts,
        }
    }
}

/// Which field of a quote the OMS acts on (setting `PRICE_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PriceMode {
    /// Last traded price.
    #[default]
    Last,
    /// Best bid.
    Bid,
    /// Best ask.
    Ask,
    /// (bid + ask) / 2.
    Mid,
    /// Mark price.
    Mark,
}

impl PriceMode {
    /// Accepted spellings, for error messages.
    pub const ACCEPTED: &'static str = "last, bid, ask, mid, mark";

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceMode::Last => "last",
            PriceMode::Bid => "bid",
            PriceMode::Ask => "ask",
            PriceMode::Mid => "mid",
            PriceMode::Mark => "mark",
        }
    }

    /// Pick the price this mode asks for.
    ///
    /// # Errors
    /// [`DomainError::MissingPriceField`] when the quote lacks the field (for `mid`: bid or ask).
    pub fn pick(self, q: &PriceQuote) -> Result<Decimal, DomainError> {
        let missing = |field| DomainError::MissingPriceField {
            symbol: q.symbol.clone(),
            field,
        };
        match self {
            PriceMode::Last => q.last.ok_or_else(|| missing("last")),
            PriceMode::Bid => q.bid.ok_or_else(|| missing("bid")),
            PriceMode::Ask => q.ask.ok_or_else(|| missing("ask")),
            PriceMode::Mark => q.mark.ok_or_else(|| missing("mark")),
            PriceMode::Mid => match (q.bid, q.ask) {
                (Some(b), Some(a)) => Ok((b + a) / Decimal::TWO),
                _ => Err(missing("mid")),
            },
        }
    }
}

impl fmt::Display for PriceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PriceMode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "last" => Ok(PriceMode::Last),
            "bid" => Ok(PriceMode::Bid),
            "ask" => Ok(PriceMode::Ask),
            "mid" => Ok(PriceMode::Mid),
            "mark" => Ok(PriceMode::Mark),
            _ => Err(DomainError::invalid(format!(
                "PRICE_MODE must be one of {}, got {s:?}",
                Self::ACCEPTED
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn quote() -> PriceQuote {
        PriceQuote {
            symbol: "BTCUSDT".into(),
            bid: Some(dec!(99)),
            ask: Some(dec!(101)),
            last: Some(dec!(100.5)),
            mark: None,
            ts: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn picks_each_field() {
        let q = quote();
        assert_eq!(PriceMode::Last.pick(&q).unwrap(), dec!(100.5));
        assert_eq!(PriceMode::Bid.pick(&q).unwrap(), dec!(99));
        assert_eq!(PriceMode::Ask.pick(&q).unwrap(), dec!(101));
        assert_eq!(PriceMode::Mid.pick(&q).unwrap(), dec!(100));
    }

    #[test]
    fn missing_field_is_a_clear_error() {
        let e = PriceMode::Mark.pick(&quote()).unwrap_err();
        assert!(e.to_string().contains("no mark price"), "{e}");
        let mut q = quote();
        q.ask = None;
        assert!(PriceMode::Mid.pick(&q).is_err());
    }

    #[test]
    fn parses_modes_and_rejects_unknown() {
        assert_eq!("MID".parse::<PriceMode>().unwrap(), PriceMode::Mid);
        let e = "foo".parse::<PriceMode>().unwrap_err().to_string();
        assert!(e.contains("last, bid, ask, mid, mark"), "{e}");
    }
}
