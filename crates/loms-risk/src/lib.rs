//! LOMS risk limits: a pure check of a new position against what is already open and
//! how many signals were taken today. No I/O: the caller builds a [`RiskSnapshot`]
//! inside the same storage transaction that inserts the position, so that the check
//! and the insert are one atomic step.

use loms_domain::{Decimal, Timestamp};
use std::fmt;

/// Every limit is optional: `None` means no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskLimits {
    /// MAX_OPEN_POSITIONS: open positions over all symbols.
    pub max_open_positions: Option<u32>,
    /// MAX_OPEN_POSITIONS_PER_SYMBOL: open positions on one symbol.
    pub max_open_positions_per_symbol: Option<u32>,
    /// MAX_SIZE_PER_POSITION_USDT: notional (price × qty) of one position.
    pub max_size_per_position_usdt: Option<Decimal>,
    /// RISK_MAX_SIGNALS_PER_DAY: positions opened per UTC day.
    pub max_signals_per_day: Option<u32>,
    /// RISK_MAX_SIGNALS_PER_SYMBOL_PER_DAY: positions opened per UTC day on one symbol.
    pub max_signals_per_symbol_per_day: Option<u32>,
    /// MAX_SIGNAL_AGE_SEC: refuse signals older than this (or too far in the future).
    pub max_signal_age_sec: Option<u64>,
}

/// What is open and what was taken today, seen by the check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RiskSnapshot {
    /// Open positions, all symbols.
    pub open_total: u32,
    /// Open positions on the signal's symbol.
    pub open_symbol: u32,
    /// Positions opened today, all symbols.
    pub opened_today: u32,
    /// Positions opened today on the signal's symbol.
    pub opened_today_symbol: u32,
}

/// The position about to be opened.
#[derive(Debug, Clone, Copy)]
pub struct Intent<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// Entry price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
}

/// Which limit refused a signal (`risk_scope` in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskScope {
    /// MAX_OPEN_POSITIONS.
    Total,
    /// MAX_OPEN_POSITIONS_PER_SYMBOL.
    Symbol,
    /// MAX_SIZE_PER_POSITION_USDT.
    Size,
    /// RISK_MAX_SIGNALS_PER_DAY / RISK_MAX_SIGNALS_PER_SYMBOL_PER_DAY.
    Rate,
    /// MAX_SIGNAL_AGE_SEC.
    Stale,
    /// Live: LOMS does not know what the venue did with an order, or the venue's
    /// positions differ from LOMS's; entries wait until that is settled.
    Venue,
}

impl RiskScope {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskScope::Total => "total",
            RiskScope::Symbol => "symbol",
            RiskScope::Size => "size",
            RiskScope::Rate => "rate",
            RiskScope::Stale => "stale",
            RiskScope::Venue => "venue",
        }
    }
}

impl fmt::Display for RiskScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: the scope and the reason string of the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("risk block ({scope}): {reason}")]
pub struct RiskBlock {
    /// Which limit.
    pub scope: RiskScope,
    /// Human and machine readable reason, e.g. `max_total_open_reached (total=5, limit=5)`.
    pub reason: String,
}

fn block(scope: RiskScope, reason: String) -> Result<(), RiskBlock> {
    Err(RiskBlock { scope, reason })
}

/// Check a new position against the limits, in the order total, symbol, size, rate.
///
/// ```
/// use loms_risk::{check, Intent, RiskLimits, RiskSnapshot};
/// use rust_decimal::dec;
/// let limits = RiskLimits { max_open_positions: Some(5), ..Default::default() };
/// let snap = RiskSnapshot { open_total: 5, ..Default::default() };
/// let intent = Intent { symbol: "BTCUSDT", price: dec!(100), qty: dec!(1) };
/// let e = check(&limits, &snap, &intent).unwrap_err();
/// assert_eq!(e.reason, "max_total_open_reached (total=5, limit=5)");
/// ```
///
/// # Errors
/// The first [`RiskBlock`] that applies.
pub fn check(
    limits: &RiskLimits,
    snap: &RiskSnapshot,
    intent: &Intent<'_>,
) -> Result<(), RiskBlock> {
    if let Some(limit) = limits.max_open_positions
        && snap.open_total >= limit
    {
        return block(
            RiskScope::Total,
            format!(
                "max_total_open_reached (total={}, limit={limit})",
                snap.open_total
            ),
        );
    }
    if let Some(limit) = limits.max_open_positions_per_symbol
        && snap.open_symbol >= limit
    {
        return block(
            RiskScope::Symbol,
            format!(
                "max_symbol_open_reached (symbol={}, count={}, limit={limit})",
                intent.symbol, snap.open_symbol
            ),
        );
    }
    if let Some(limit) = limits.max_size_per_position_usdt {
        let notional = intent.price.saturating_mul(intent.qty);
        if notional > limit {
            return block(
                RiskScope::Size,
                format!(
                    "max_size_per_position_exceeded (notional={:.4}, limit={:.4})",
                    notional, limit
                ),
            );
        }
    }
    if let Some(limit) = limits.max_signals_per_day
        && snap.opened_today >= limit
    {
        return block(
            RiskScope::Rate,
            format!(
                "max_signals_per_day_reached (count={}, limit={limit})",
                snap.opened_today
            ),
        );
    }
    if let Some(limit) = limits.max_signals_per_symbol_per_day
        && snap.opened_today_symbol >= limit
    {
        return block(
            RiskScope::Rate,
            format!(
                "max_signals_per_symbol_per_day_reached (symbol={}, count={}, limit={limit})",
                intent.symbol, snap.opened_today_symbol
            ),
        );
    }
    Ok(())
}

/// Seconds a signal may be ahead of the server clock before it counts as future-dated.
pub const MAX_FUTURE_SKEW_SEC: i64 = 5;

/// Refuse a signal older than MAX_SIGNAL_AGE_SEC, or dated more than
/// [`MAX_FUTURE_SKEW_SEC`] ahead of `now`. No limit set: always passes.
///
/// # Errors
/// A [`RiskBlock`] with scope [`RiskScope::Stale`].
pub fn check_signal_age(
    limits: &RiskLimits,
    signal_time: Timestamp,
    now: Timestamp,
) -> Result<(), RiskBlock> {
    let Some(max_age) = limits.max_signal_age_sec else {
        return Ok(());
    };
    let age_ms = (now - signal_time).num_milliseconds();
    let max_ms = i64::try_from(max_age)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    if age_ms > max_ms {
        return block(
            RiskScope::Stale,
            format!(
                "signal_too_old (age_s={:.1}, limit={max_age})",
                age_ms as f64 / 1000.0
            ),
        );
    }
    if -age_ms > MAX_FUTURE_SKEW_SEC * 1000 {
        return block(
            RiskScope::Stale,
            format!(
                "signal_from_future (ahead_s={:.1}, allowed_skew={MAX_FUTURE_SKEW_SEC})",
                -age_ms as f64 / 1000.0
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use rust_decimal::dec;

    const BTC: Intent<'static> = Intent {
        symbol: "BTCUSDT",
        price: dec!(97250.5),
        qty: dec!(0.001),
    };

    #[test]
    fn no_limits_never_block() {
        let snap = RiskSnapshot {
            open_total: 1000,
            open_symbol: 1000,
            opened_today: 1000,
            opened_today_symbol: 1000,
        };
        assert!(check(&RiskLimits::default(), &snap, &BTC).is_ok());
    }

    #[test]
    fn each_scope_blocks_with_the_original_wording() {
        struct Case(RiskLimits, RiskSnapshot, RiskScope, &'static str);
        let full = RiskSnapshot {
            open_total: 3,
            open_symbol: 2,
            opened_today: 7,
            opened_today_symbol: 4,
        };
        let cases = [
            Case(
                RiskLimits {
                    max_open_positions: Some(3),
                    ..Default::default()
                },
                full,
                RiskScope::Total,
                "max_total_open_reached (total=3, limit=3)",
            ),
            Case(
                RiskLimits {
                    max_open_positions_per_symbol: Some(2),
                    ..Default::default()
                },
                full,
                RiskScope::Symbol,
                "max_symbol_open_reached (symbol=BTCUSDT, count=2, limit=2)",
            ),
            Case(
                RiskLimits {
                    max_size_per_position_usdt: Some(dec!(10)),
                    ..Default::default()
                },
                full,
                RiskScope::Size,
                "max_size_per_position_exceeded (notional=97.2505, limit=10.0000)",
            ),
            Case(
                RiskLimits {
                    max_signals_per_day: Some(7),
                    ..Default::default()
                },
                full,
                RiskScope::Rate,
                "max_signals_per_day_reached (count=7, limit=7)",
            ),
            Case(
                RiskLimits {
                    max_signals_per_symbol_per_day: Some(4),
                    ..Default::default()
                },
                full,
                RiskScope::Rate,
                "max_signals_per_symbol_per_day_reached (symbol=BTCUSDT, count=4, limit=4)",
            ),
        ];
        for (i, Case(limits, snap, scope, reason)) in cases.into_iter().enumerate() {
            let e = check(&limits, &snap, &BTC).unwrap_err();
            assert_eq!(
                (e.scope, e.reason.as_str()),
                (scope, reason),
                "TC{i} failed"
            );
            // One below the limit passes.
            let below = RiskSnapshot {
                open_total: snap.open_total - 1,
                open_symbol: snap.open_symbol - 1,
                opened_today: snap.opened_today - 1,
                opened_today_symbol: snap.opened_today_symbol - 1,
            };
            if scope != RiskScope::Size {
                assert!(check(&limits, &below, &BTC).is_ok(), "TC{i} below limit");
            }
        }
    }

    #[test]
    fn size_limit_equal_to_notional_passes() {
        let limits = RiskLimits {
            max_size_per_position_usdt: Some(dec!(97.2505)),
            ..Default::default()
        };
        assert!(check(&limits, &RiskSnapshot::default(), &BTC).is_ok());
    }

    #[test]
    fn stale_and_future_signals_are_refused_only_when_configured() {
        let now = Utc.with_ymd_and_hms(2025, 12, 1, 10, 5, 0).unwrap();
        let limits = RiskLimits {
            max_signal_age_sec: Some(60),
            ..Default::default()
        };
        assert!(check_signal_age(&limits, now - Duration::seconds(60), now).is_ok());
        let e = check_signal_age(&limits, now - Duration::seconds(61), now).unwrap_err();
        assert_eq!(e.scope, RiskScope::Stale);
        assert!(
            e.reason.starts_with("signal_too_old (age_s=61.0"),
            "{}",
            e.reason
        );
        assert!(check_signal_age(&limits, now + Duration::seconds(5), now).is_ok());
        let e = check_signal_age(&limits, now + Duration::seconds(30), now).unwrap_err();
        assert!(e.reason.starts_with("signal_from_future"), "{}", e.reason);
        let off = RiskLimits::default();
        assert!(check_signal_age(&off, now - Duration::days(300), now).is_ok());
    }
}
