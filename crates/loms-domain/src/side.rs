//! Position side.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Direction of a position. Parsed from `long`/`buy` and `short`/`sell`, any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Profits when the price rises (entry order side `buy`).
    Long,
    /// Profits when the price falls (entry order side `sell`).
    Short,
}

impl Side {
    /// `"long"` or `"short"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Long => "long",
            Side::Short => "short",
        }
    }
    /// Side of the order that opens the position: `"buy"` or `"sell"`.
    pub fn entry_order_side(self) -> &'static str {
        match self {
            Side::Long => "buy",
            Side::Short => "sell",
        }
    }
    /// The opposite side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Long => Side::Short,
            Side::Short => Side::Long,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Side {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "long" | "buy" => Ok(Side::Long),
            "short" | "sell" => Ok(Side::Short),
            _ => Err(DomainError::invalid(format!(
                "side must be long/short/buy/sell, got {s:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling_in_any_case() {
        for (s, want) in [
            ("long", Side::Long),
            ("LONG", Side::Long),
            ("Buy", Side::Long),
            (" buy ", Side::Long),
            ("short", Side::Short),
            ("SeLL", Side::Short),
        ] {
            assert_eq!(s.parse::<Side>().unwrap(), want, "{s}");
        }
    }

    #[test]
    fn rejects_other_words_with_the_spec_message() {
        let e = "sideways".parse::<Side>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "side must be long/short/buy/sell, got \"sideways\""
        );
        assert!("".parse::<Side>().is_err());
    }
}
