//! LOMS broker adapters. Today the OMS calls [`BrokerAdapter`] inside its writer, which
//! turns an order request into a [`Fill`] at once. [`execution`] holds the interface the
//! live order lifecycle moves to ([`ExecutionClient`]: write-ahead intents executed
//! outside the writer, reports applied idempotently); [`PaperSim`] implements both, and
//! the Bitget client (crate `loms-bitget`) the second. Adapters never touch storage.

use loms_domain::{Decimal, PriceQuote, Side, Timestamp};
use std::fmt::Debug;

pub mod execution;

pub use execution::{
    AccountSnapshot, CancelOutcome, ExecError, ExecFill, ExecutionClient, ExecutionReport,
    OrderIntent, VenuePosition,
};

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
    /// The market quote, when there is one: a paper buy fills at its ask, a sell at its bid.
    pub quote: Option<&'a PriceQuote>,
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

/// Paper broker: fills everything at once. A buy fills at the quote's ask and a sell
/// at its bid when the request carries a quote (else at the reference price), moved
/// `slippage_bps` against the trader, and pays `taker_fee_bps` of the notional.
#[derive(Debug, Default, Clone)]
pub struct PaperSim {
    /// Taker fee, basis points of the notional (FEE_TAKER_BPS).
    pub taker_fee_bps: Decimal,
    /// Slippage, basis points of the price, always against the trader (SLIPPAGE_BPS).
    pub slippage_bps: Decimal,
}

/// Basis points in one.
pub(crate) const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

impl PaperSim {
    /// Price and fee of a paper fill of `qty`: at the quote's ask for a buy and its bid
    /// for a sell (`reference` without a quote), slipped against the trader, with the
    /// taker fee on the notional rounded to [`loms_domain::FEE_DP`] places.
    ///
    /// # Errors
    /// Why no fill is possible (a price that is not positive, a notional out of range).
    pub(crate) fn price_and_fee(
        &self,
        buying: bool,
        quote: Option<&PriceQuote>,
        reference: Decimal,
        qty: Decimal,
    ) -> Result<(Decimal, Decimal), String> {
        let touch = quote.and_then(|q| if buying { q.ask } else { q.bid });
        let base = touch.unwrap_or(reference);
        let slip = base * self.slippage_bps / BPS;
        let price = if buying { base + slip } else { base - slip };
        if price <= Decimal::ZERO {
            return Err(format!("fill price {price} is not positive"));
        }
        let fee = price
            .checked_mul(qty)
            .and_then(|n| n.checked_mul(self.taker_fee_bps))
            .map(|f| f / BPS)
            .ok_or_else(|| "notional out of range".to_string())?;
        Ok((
            price.normalize(),
            fee.round_dp(loms_domain::FEE_DP).normalize(),
        ))
    }

    fn fill(&self, req: &OrderRequest<'_>, buying: bool) -> Result<Fill, BrokerError> {
        let (price, fee) = self
            .price_and_fee(buying, req.quote, req.price, req.qty)
            .map_err(BrokerError::Rejected)?;
        Ok(Fill {
            price,
            qty: req.qty,
            fee,
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
        self.fill(req, req.side == Side::Long)
    }
    fn close(&self, req: &OrderRequest<'_>) -> Result<Fill, BrokerError> {
        self.fill(req, req.side == Side::Short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn req(side: Side, quote: Option<&PriceQuote>) -> OrderRequest<'_> {
        OrderRequest {
            symbol: "BTCUSDT",
            side,
            qty: dec!(0.5),
            price: dec!(40000),
            quote,
            ts: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn fills_at_the_requested_price_with_the_fee_on_notional() {
        let f = PaperSim::default().open(&req(Side::Long, None)).unwrap();
        assert_eq!((f.price, f.qty, f.fee), (dec!(40000), dec!(0.5), dec!(0)));
        let sim = PaperSim {
            taker_fee_bps: dec!(6),
            slippage_bps: dec!(0),
        };
        assert_eq!(sim.close(&req(Side::Long, None)).unwrap().fee, dec!(12)); // 20 000 × 0.0006
    }

    #[test]
    fn buys_at_the_ask_sells_at_the_bid_with_slippage_against_the_trader() {
        let q = PriceQuote {
            symbol: "BTCUSDT".into(),
            bid: Some(dec!(39990)),
            ask: Some(dec!(40010)),
            last: Some(dec!(40000)),
            mark: None,
            ts: chrono::DateTime::UNIX_EPOCH,
        };
        let sim = PaperSim {
            taker_fee_bps: dec!(0),
            slippage_bps: dec!(10),
        };
        // Long entry buys at the ask + 0.1 %; long exit sells at the bid − 0.1 %.
        assert_eq!(
            sim.open(&req(Side::Long, Some(&q))).unwrap().price,
            dec!(40050.01)
        );
        assert_eq!(
            sim.close(&req(Side::Long, Some(&q))).unwrap().price,
            dec!(39950.01)
        );
        // Short entry sells at the bid; short exit buys at the ask.
        assert_eq!(
            sim.open(&req(Side::Short, Some(&q))).unwrap().price,
            dec!(39950.01)
        );
        assert_eq!(
            sim.close(&req(Side::Short, Some(&q))).unwrap().price,
            dec!(40050.01)
        );
        // No quote: the reference price, still slipped.
        assert_eq!(sim.open(&req(Side::Long, None)).unwrap().price, dec!(40040));
    }
}
