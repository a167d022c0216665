//! LOMS execution: [`execution`] holds the interface of the order lifecycle
//! ([`ExecutionClient`]: an order's intent with its client order id in, the venue's
//! report out). [`PaperSim`] implements it filling at once (the writer executes it
//! inside its batch), the Bitget client (crate `loms-bitget`) over the network.
//! Clients never touch storage.

use loms_domain::{Decimal, PriceQuote};

pub mod execution;

pub use execution::{
    AccountSnapshot, CancelOutcome, ExecError, ExecFill, ExecutionClient, ExecutionReport,
    OrderIntent, VenuePosition,
};

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
    /// The price `order` fills at in paper ([`PaperSim::price_and_fee`]): what a live
    /// entry is compared with (its shadow price).
    ///
    /// # Errors
    /// Why paper would not fill it (a price that is not positive, a notional out of range).
    pub fn fill_price(&self, order: &OrderIntent) -> Result<Decimal, String> {
        self.price_and_fee(order.buys(), order.quote.as_ref(), order.price, order.qty)
            .map(|(price, _)| price)
    }

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExecutionClient;
    use loms_domain::Side;
    use rust_decimal::dec;

    /// An order of 0.5 at reference 40,000.
    fn order(side: Side, exit: bool, quote: Option<&PriceQuote>) -> OrderIntent {
        OrderIntent {
            client_oid: "c".into(),
            symbol: "BTCUSDT".into(),
            side,
            reduce_only: exit,
            qty: dec!(0.5),
            price: dec!(40000),
            quote: quote.cloned(),
            stop_loss: None,
            take_profit: None,
            ts: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// (price, fee) of a paper fill of [`order`].
    fn fill(
        sim: &PaperSim,
        side: Side,
        exit: bool,
        quote: Option<&PriceQuote>,
    ) -> (Decimal, Decimal) {
        let r = sim.submit(&order(side, exit, quote));
        (r.avg_price().unwrap(), r.fees())
    }

    #[test]
    fn fills_at_the_requested_price_with_the_fee_on_notional() {
        let f = fill(&PaperSim::default(), Side::Long, false, None);
        assert_eq!(f, (dec!(40000), dec!(0)));
        let sim = PaperSim {
            taker_fee_bps: dec!(6),
            slippage_bps: dec!(0),
        };
        assert_eq!(fill(&sim, Side::Long, true, None).1, dec!(12)); // 20 000 × 0.0006
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
        let price = |side, exit, q| fill(&sim, side, exit, q).0;
        // Long entry buys at the ask + 0.1 %; long exit sells at the bid − 0.1 %.
        assert_eq!(price(Side::Long, false, Some(&q)), dec!(40050.01));
        assert_eq!(price(Side::Long, true, Some(&q)), dec!(39950.01));
        // Short entry sells at the bid; short exit buys at the ask.
        assert_eq!(price(Side::Short, false, Some(&q)), dec!(39950.01));
        assert_eq!(price(Side::Short, true, Some(&q)), dec!(40050.01));
        // No quote: the reference price, still slipped.
        assert_eq!(price(Side::Long, false, None), dec!(40040));
        // The shadow price of a live order is that same fill.
        for (side, q) in [
            (Side::Long, Some(&q)),
            (Side::Short, Some(&q)),
            (Side::Long, None),
        ] {
            assert_eq!(
                sim.fill_price(&order(side, false, q)),
                Ok(price(side, false, q))
            );
        }
        let mut bad = order(Side::Short, false, None);
        bad.price = dec!(-1);
        assert!(
            sim.fill_price(&bad).is_err(),
            "no paper fill, no shadow price"
        );
    }
}
