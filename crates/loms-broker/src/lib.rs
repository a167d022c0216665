//! LOMS broker adapters. The OMS talks only to [`BrokerAdapter`], which turns an order
//! request into a [`Fill`]. [`PaperSim`] fills at once at the requested price; a live
//! adapter comes later. Adapters never touch storage.

use loms_domain::{Decimal, Side, Timestamp};
use std::fmt::Debug;

/// An order to open or reduce a position.
#[derive(Debug, Clone)]
pub struct OrderRequest<'a> {
    /// Instrument.
    pub symbol: &'a str,
    /// Side of the *position* the order opens or closes.
    pub side: Side,
    /// Quantity.
    pub qty: Decimal,
    /// Reference price: the signal's price on entry, the current price on exit.
    pub price: Decimal,
    /// Time of the request.
    pub ts: Timestamp,
}

/// What the broker did.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// Average fill price.
    pub price: Decimal,
    /// Filled quantity.
    pub qty: Decimal,
    /// Fee paid, quote currency.
    pub fee: Decimal,
    /// Fill time.
    pub ts: Timestamp,
    /// Exchange order id (live adapters).
    pub external_order_id: Option<String>,
}

/// A broker refused or failed an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// The broker rejected the order.
    #[error("order rejected: {0}")]
    Rejected(String),
}

/// Executes orders.
pub trait BrokerAdapter: Send + Sync + Debug {
    /// `paper` or the live venue's name.
    fn name(&self) -> &'static str;
    /// Open a position.
    ///
    /// # Errors
    /// [`BrokerError`] when the order is not filled.
    fn open(&self, req: &OrderRequest<'_>) -> Result<Fill, BrokerError>;
    /// Close (part of) a position.
    ///
    /// # Errors
    /// [`BrokerError`] when the order is not filled.
    fn close(&self, req: &OrderRequest<'_>) -> Result<Fill, BrokerError>;
}

/// Paper broker: fills everything at once at the requested price, paying a taker fee
/// of `taker_fee_bps` basis points of the notional.
#[derive(Debug, Default, Clone)]
pub struct PaperSim {
    /// Taker fee, basis points (0 = no fees).
    pub taker_fee_bps: Decimal,
}

impl PaperSim {
    fn fill(&self, req: &OrderRequest<'_>) -> Result<Fill, BrokerError> {
        let fee = req
            .price
            .checked_mul(req.qty)
            .and_then(|n| n.checked_mul(self.taker_fee_bps))
            .map(|f| f / Decimal::from(10_000))
            .ok_or_else(|| BrokerError::Rejected("notional out of range".into()))?;
        Ok(Fill {
            price: req.price,
            qty: req.qty,
            fee: fee.normalize(),
            ts: req.ts,
            external_order_id: None,
        })
    }
}

impl BrokerAdapter for PaperSim {
    fn name(&self) -> &'static str {
        "paper"
    }
    fn open(&self, req: &OrderRequest<'_>) -> Result<Fill, BrokerError> {
        self.fill(req)
    }
    fn close(&self, req: &OrderRequest<'_>) -> Result<Fill, BrokerError> {
        self.fill(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn fills_at_the_requested_price_with_the_fee_on_notional() {
        let req = OrderRequest {
            symbol: "BTCUSDT",
            side: Side::Long,
            qty: dec!(0.5),
            price: dec!(40000),
            ts: chrono::DateTime::UNIX_EPOCH,
        };
        let f = PaperSim::default().open(&req).unwrap();
        assert_eq!((f.price, f.qty, f.fee), (dec!(40000), dec!(0.5), dec!(0)));
        let f = PaperSim {
            taker_fee_bps: dec!(6),
        }
        .close(&req)
        .unwrap();
        assert_eq!(f.fee, dec!(12)); // 20 000 × 0.0006
    }
}
