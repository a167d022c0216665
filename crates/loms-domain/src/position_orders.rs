//! `GET /positions/{id}/orders`: a position's orders with the venue's fills of each
//! (shared by the server and loms-client).

use crate::{CloseReason, Decimal, DomainError, Order, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a fill did to its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillKind {
    /// Opened it.
    Entry,
    /// Closed part of it.
    Partial,
    /// Closed the rest.
    Exit,
}

impl FillKind {
    /// Every kind.
    pub const ALL: [FillKind; 3] = [FillKind::Entry, FillKind::Partial, FillKind::Exit];

    /// Lower-case name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FillKind::Entry => "entry",
            FillKind::Partial => "partial",
            FillKind::Exit => "exit",
        }
    }
}

impl fmt::Display for FillKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FillKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| DomainError::invalid(format!("unknown fill kind {s:?}")))
    }
}

/// One trade at the venue (a paper fill in paper mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// The venue's trade id (`None`: stored before schema v9).
    pub trade_id: Option<String>,
    /// Price.
    pub price: Decimal,
    /// Quantity (base units).
    pub qty: Decimal,
    /// Fee paid (quote currency).
    pub fee: Decimal,
    /// When it filled.
    pub ts: Timestamp,
    /// What it did to the position.
    pub kind: FillKind,
}

/// One order of a position and its fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionOrder {
    /// The order, as `GET /orders/` shows it.
    pub order: Order,
    /// An exit's close reason (`None`: an entry, or an exit stored before schema v10).
    pub reason: Option<CloseReason>,
    /// Its fills, oldest first.
    pub fills: Vec<Fill>,
}

/// `GET /positions/{id}/orders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionOrders {
    /// The position.
    pub position_id: i64,
    /// Its orders (the entry, then its exits), oldest first.
    pub orders: Vec<PositionOrder>,
    /// Fills of the position that name no order (partial and full exits stored before
    /// schema v9, which wrote no exit order), oldest first.
    pub unlinked_fills: Vec<Fill>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_kinds_round_trip() {
        for k in FillKind::ALL {
            assert_eq!(k.as_str().parse::<FillKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert!("refund".parse::<FillKind>().is_err());
    }
}
