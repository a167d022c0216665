//! Take-profit / stop-loss levels, PnL and position sizing.

use crate::{Decimal, DomainError, Side};
use rust_decimal::RoundingStrategy;

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Decimal places kept for quantities computed from a notional.
pub const QTY_DP: u32 = 8;

/// Decimal places of a fee (the paper broker rounds each fee to these, half to even).
pub const FEE_DP: u32 = 10;

/// Take-profit and stop-loss prices from percentages of the entry.
///
/// Long: TP above, SL below. Short: TP below, SL above.
///
/// ```
/// use loms_domain::{tp_sl_prices, Side, Decimal};
/// use rust_decimal::dec;
/// let (tp, sl) = tp_sl_prices(Side::Long, dec!(100), dec!(4.5), dec!(1.5)).unwrap();
/// assert_eq!((tp, sl), (dec!(104.5), dec!(98.5)));
/// let (tp, sl) = tp_sl_prices(Side::Short, dec!(100), dec!(4.5), dec!(1.5)).unwrap();
/// assert_eq!((tp, sl), (dec!(95.5), dec!(101.5)));
/// ```
///
/// # Errors
/// [`DomainError::Overflow`] when the numbers leave the decimal range.
pub fn tp_sl_prices(
    side: Side,
    entry: Decimal,
    tp_pct: Decimal,
    sl_pct: Decimal,
) -> Result<(Decimal, Decimal), DomainError> {
    let level = |pct: Decimal, up: bool| -> Result<Decimal, DomainError> {
        let f = if up { HUNDRED + pct } else { HUNDRED - pct };
        entry
            .checked_mul(f)
            .and_then(|v| v.checked_div(HUNDRED))
            .map(|v| v.normalize())
            .ok_or(DomainError::Overflow("tp/sl price"))
    };
    match side {
        Side::Long => Ok((level(tp_pct, true)?, level(sl_pct, false)?)),
        Side::Short => Ok((level(tp_pct, false)?, level(sl_pct, true)?)),
    }
}

/// Gross PnL of closing `qty` at `close` for a position entered at `entry`.
///
/// Long: (close − entry) × qty. Short: (entry − close) × qty.
///
/// ```
/// use loms_domain::{pnl, Side};
/// use rust_decimal::dec;
/// assert_eq!(pnl(Side::Long, dec!(100), dec!(104.5), dec!(2)).unwrap(), dec!(9));
/// assert_eq!(pnl(Side::Short, dec!(100), dec!(104.5), dec!(2)).unwrap(), dec!(-9));
/// ```
///
/// # Errors
/// [`DomainError::Overflow`] when the numbers leave the decimal range.
pub fn pnl(
    side: Side,
    entry: Decimal,
    close: Decimal,
    qty: Decimal,
) -> Result<Decimal, DomainError> {
    let diff = match side {
        Side::Long => close.checked_sub(entry),
        Side::Short => entry.checked_sub(close),
    };
    diff.and_then(|d| d.checked_mul(qty))
        .map(|v| v.normalize())
        .ok_or(DomainError::Overflow("pnl"))
}

/// How the OMS sizes a signal that carries no `qty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// The same quantity for every position (setting `DEFAULT_QTY`).
    FixedQty(Decimal),
    /// The same notional in USDT (setting `POSITION_SIZE_USDT`): qty = notional / price.
    FixedNotional(Decimal),
}

/// How far an entry filled from the signal's price, in basis points of that price,
/// positive when against the trader (a long bought above it, a short sold below it).
/// `None` when the signal price is not positive.
///
/// ```
/// use loms_domain::{Side, math::entry_slippage_bps};
/// use rust_decimal::dec;
/// assert_eq!(entry_slippage_bps(Side::Long, dec!(100), dec!(101.15)), Some(115.0));
/// assert_eq!(entry_slippage_bps(Side::Short, dec!(100), dec!(100.5)), Some(-50.0));
/// ```
pub fn entry_slippage_bps(side: Side, signal_price: Decimal, entry_price: Decimal) -> Option<f32> {
    use rust_decimal::prelude::ToPrimitive;
    if signal_price <= Decimal::ZERO {
        return None;
    }
    let moved = match side {
        Side::Long => entry_price - signal_price,
        Side::Short => signal_price - entry_price,
    };
    let bps = moved
        .checked_mul(Decimal::from(10_000))?
        .checked_div(signal_price)?;
    bps.round_dp(4).to_f32()
}

/// How far a live entry filled from the paper fill the same entry would have had
/// (`paper_price`, [`crate::Position::paper_entry_price`]), in basis points of that
/// price, positive when live did worse for the trader than paper (a long bought
/// higher, a short sold lower): what paper mode hid. `None` when `paper_price` is not
/// positive.
///
/// ```
/// use loms_domain::{Side, math::shadow_drift_bps};
/// use rust_decimal::dec;
/// assert_eq!(shadow_drift_bps(Side::Long, dec!(100), dec!(100.2)), Some(20.0));
/// assert_eq!(shadow_drift_bps(Side::Short, dec!(100), dec!(100.2)), Some(-20.0));
/// ```
pub fn shadow_drift_bps(side: Side, paper_price: Decimal, live_price: Decimal) -> Option<f32> {
    // The same measure as the slippage from the signal, from another reference.
    entry_slippage_bps(side, paper_price, live_price)
}

/// Quantity for a new position at `price`.
///
/// A notional is converted with the quantity rounded *down* to [`QTY_DP`] places, so
/// that price × qty never exceeds the notional (a size limit equal to the notional
/// would otherwise block every signal).
///
/// ```
/// use loms_domain::{size_qty, Sizing};
/// use rust_decimal::dec;
/// assert_eq!(size_qty(Sizing::FixedNotional(dec!(10)), dec!(97250.5)).unwrap(), dec!(0.00010282));
/// assert_eq!(size_qty(Sizing::FixedQty(dec!(0.5)), dec!(97250.5)).unwrap(), dec!(0.5));
/// ```
///
/// # Errors
/// [`DomainError::Invalid`] when the result rounds to zero (the notional is too small
/// for this price).
pub fn size_qty(sizing: Sizing, price: Decimal) -> Result<Decimal, DomainError> {
    match sizing {
        Sizing::FixedQty(q) => Ok(q),
        Sizing::FixedNotional(n) => {
            let q = n
                .checked_div(price)
                .ok_or(DomainError::Overflow("qty"))?
                .round_dp_with_strategy(QTY_DP, RoundingStrategy::ToZero)
                .normalize();
            if q.is_zero() {
                return Err(DomainError::invalid(format!(
                    "position size {n} USDT is too small for price {price}: qty rounds to 0"
                )));
            }
            Ok(q)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    #[test]
    fn notional_sizing_never_exceeds_the_notional() {
        for p in [dec!(97250.5), dec!(3), dec!(0.000123), dec!(1234.5678)] {
            let q = size_qty(Sizing::FixedNotional(dec!(10)), p).unwrap();
            assert!(q * p <= dec!(10), "price {p}: {q}");
        }
    }

    #[test]
    fn tiny_notional_is_an_error() {
        assert!(size_qty(Sizing::FixedNotional(dec!(0.000000001)), dec!(100000)).is_err());
    }

    #[test]
    fn shadow_drift_is_positive_when_live_did_worse_than_paper() {
        // Paper long at 64,222.94; live bought at 64,300: worse, by 12.0 bps.
        let long = shadow_drift_bps(Side::Long, dec!(64222.94), dec!(64300)).unwrap();
        assert!((long - 11.9988).abs() < 1e-3, "{long}");
        // Bought lower than paper: better, negative.
        assert!(shadow_drift_bps(Side::Long, dec!(100), dec!(99.9)).unwrap() < 0.0);
        // A short sold lower than paper: worse, positive; sold higher: better.
        assert_eq!(
            shadow_drift_bps(Side::Short, dec!(100), dec!(99.9)),
            Some(10.0)
        );
        assert_eq!(
            shadow_drift_bps(Side::Short, dec!(100), dec!(100.1)),
            Some(-10.0)
        );
        assert_eq!(
            shadow_drift_bps(Side::Long, dec!(100), dec!(100)),
            Some(0.0)
        );
        assert_eq!(shadow_drift_bps(Side::Long, Decimal::ZERO, dec!(100)), None);
    }

    proptest! {
        #[test]
        fn pnl_is_antisymmetric_between_sides(entry in 1u32..1_000_000, close in 1u32..1_000_000, qty in 1u32..1000) {
            let (e, c, q) = (Decimal::from(entry), Decimal::from(close), Decimal::from(qty));
            prop_assert_eq!(pnl(Side::Long, e, c, q).unwrap(), -pnl(Side::Short, e, c, q).unwrap());
        }

        #[test]
        fn tp_is_always_on_the_profitable_side(entry in 1u32..1_000_000, tp in 1u32..99, sl in 1u32..99) {
            let e = Decimal::from(entry);
            for side in [Side::Long, Side::Short] {
                let (tpp, slp) = tp_sl_prices(side, e, Decimal::from(tp), Decimal::from(sl)).unwrap();
                prop_assert!(pnl(side, e, tpp, Decimal::ONE).unwrap() > Decimal::ZERO);
                prop_assert!(pnl(side, e, slp, Decimal::ONE).unwrap() < Decimal::ZERO);
                prop_assert!(slp > Decimal::ZERO && tpp > Decimal::ZERO);
            }
        }
    }
}
