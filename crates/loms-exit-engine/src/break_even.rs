//! The break-even level of `trailing_v1`: the exit price at which closing nets the
//! chosen offset after the taker fees of the entry and of the exit.

use loms_domain::{Decimal, FEE_DP, Side};
use rust_decimal::RoundingStrategy;

/// Decimal places of a break-even level, rounded away from the entry (the safe way).
const LEVEL_DP: u32 = 12;

/// Basis points in one.
const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// Price at which closing `qty` of a position entered at `entry` nets `offset_bps` of
/// the entry notional after paying `fee_bps` of the notional at entry and again at exit.
///
/// Per unit of quantity, a long closed at `x` nets `x − e − f·e − f·x`; setting that to
/// `o·e` gives `x = e·(1 + f + o) / (1 − f)`. A short nets `e − x − f·e − f·x`, so
/// `x = e·(1 − f − o) / (1 + f)`. The broker rounds each of the two fees to
/// [`FEE_DP`] places, up by at most half a unit each: the level moves a further
/// `10^−FEE_DP / (qty·(1 ∓ f))` away from the entry to cover that, and is rounded to 12
/// places away from the entry, so a close at the level nets at least the offset (and
/// exceeds it by a few units of 10^−10 of the quote currency at most). Per unit, so a
/// partial close at a profit leaves the rest's level right. Slippage, the spread and a
/// gap through the level are not covered: the offset is there for them.
///
/// `None` when `qty` is not positive, the fee is 100 % or more, or the numbers leave
/// the decimal range.
///
/// ```
/// use loms_exit_engine::break_even_level;
/// use loms_domain::Side;
/// use rust_decimal::dec;
/// // No fee, no offset: the entry.
/// assert_eq!(
///     break_even_level(Side::Long, dec!(100), dec!(1), dec!(0), dec!(0)),
///     Some(dec!(100))
/// );
/// // 6 bps each way, 10 bps kept: 100 × 1.0016 / 0.9994, and the cushion.
/// assert_eq!(
///     break_even_level(Side::Long, dec!(100), dec!(1), dec!(6), dec!(10)),
///     Some(dec!(100.220132079348))
/// );
/// assert_eq!(
///     break_even_level(Side::Short, dec!(100), dec!(1), dec!(6), dec!(0)),
///     Some(dec!(99.880071956725))
/// );
/// ```
pub fn break_even_level(
    side: Side,
    entry: Decimal,
    qty: Decimal,
    fee_bps: Decimal,
    offset_bps: Decimal,
) -> Option<Decimal> {
    if qty <= Decimal::ZERO {
        return None;
    }
    let f = fee_bps.checked_div(BPS)?;
    let o = offset_bps.checked_div(BPS)?;
    // Fees of zero are exact: nothing to cover.
    let rounding = if f.is_zero() {
        Decimal::ZERO
    } else {
        Decimal::new(1, FEE_DP)
    };
    let (num, den) = match side {
        Side::Long => (Decimal::ONE + f + o, Decimal::ONE - f),
        Side::Short => (Decimal::ONE - f - o, Decimal::ONE + f),
    };
    if den <= Decimal::ZERO {
        return None;
    }
    let exact = entry.checked_mul(num)?.checked_div(den)?;
    let cushion = rounding.checked_div(qty.checked_mul(den)?)?;
    let level = match side {
        Side::Long => exact
            .checked_add(cushion)?
            .round_dp_with_strategy(LEVEL_DP, RoundingStrategy::ToPositiveInfinity),
        Side::Short => exact
            .checked_sub(cushion)?
            .round_dp_with_strategy(LEVEL_DP, RoundingStrategy::ToNegativeInfinity),
    };
    Some(level.normalize())
}
