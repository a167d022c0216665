//! LOMS exit policies: pure decisions, from a position and the current price, to close
//! it (or, for later policies, move its stops). No I/O: the OMS fetches prices, asks the
//! policy named by the position's `exit_strategy`, and applies the actions.

use loms_domain::{CloseReason, Decimal, Position, Side, Timestamp};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

/// What a policy sees besides the position.
#[derive(Debug, Clone, Copy)]
pub struct ExitContext {
    /// Current price of the position's symbol (already picked by PRICE_MODE).
    pub price: Decimal,
    /// Current time.
    pub now: Timestamp,
}

/// What a policy asks the OMS to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitAction {
    /// Close the whole position at the current price.
    Close {
        /// Recorded as `auto_close_reason`.
        reason: CloseReason,
    },
}

/// A policy could not decide for this position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExitError {
    /// The position lacks something the policy needs.
    #[error("position {id}: {detail}")]
    BadPosition {
        /// Position id.
        id: i64,
        /// What is wrong.
        detail: String,
    },
}

/// An exit policy. Implementations are pure and cheap: the OMS calls them for every
/// open position on every auto-close pass.
pub trait ExitPolicy: Send + Sync + Debug {
    /// Name stored in `exit_strategy`.
    fn name(&self) -> &'static str;

    /// Decide what to do with `pos` at `ctx.price`.
    ///
    /// # Errors
    /// [`ExitError`] when the position cannot be evaluated; the OMS logs it and skips
    /// the position for this pass.
    fn on_price(&self, pos: &Position, ctx: &ExitContext) -> Result<Vec<ExitAction>, ExitError>;
}

/// Fixed take-profit and stop-loss: close when the price reaches either level.
///
/// Long: price ≥ TP → `tp`, price ≤ SL → `sl`. Short: mirrored. Levels moved by a policy
/// (`dynamic_*`) take precedence over the initial ones. The stop is checked first.
#[derive(Debug, Default, Clone, Copy)]
pub struct TpSlStatic;

impl ExitPolicy for TpSlStatic {
    fn name(&self) -> &'static str {
        "tp_sl_static"
    }

    fn on_price(&self, pos: &Position, ctx: &ExitContext) -> Result<Vec<ExitAction>, ExitError> {
        let (tp, sl) = (pos.effective_tp(), pos.effective_sl());
        if tp.is_none() && sl.is_none() {
            return Ok(Vec::new());
        }
        let p = ctx.price;
        let (hit_sl, hit_tp) = match pos.side {
            Side::Long => (sl.is_some_and(|s| p <= s), tp.is_some_and(|t| p >= t)),
            Side::Short => (sl.is_some_and(|s| p >= s), tp.is_some_and(|t| p <= t)),
        };
        let reason = if hit_sl {
            CloseReason::Sl
        } else if hit_tp {
            CloseReason::Tp
        } else {
            return Ok(Vec::new());
        };
        Ok(vec![ExitAction::Close { reason }])
    }
}

/// The policies known by name.
#[derive(Debug, Clone)]
pub struct PolicyRegistry {
    policies: BTreeMap<&'static str, Arc<dyn ExitPolicy>>,
}

impl Default for PolicyRegistry {
    /// Every built-in policy.
    fn default() -> Self {
        let mut r = Self {
            policies: BTreeMap::new(),
        };
        r.register(Arc::new(TpSlStatic));
        r
    }
}

impl PolicyRegistry {
    /// Add or replace a policy.
    pub fn register(&mut self, p: Arc<dyn ExitPolicy>) {
        self.policies.insert(p.name(), p);
    }
    /// The policy called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ExitPolicy>> {
        self.policies.get(name)
    }
    /// Names, sorted, comma separated (for error messages).
    pub fn names(&self) -> String {
        self.policies.keys().copied().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn pos(side: Side, tp: Decimal, sl: Decimal) -> Position {
        let mut p = Position::open(
            "BTCUSDT",
            side,
            dec!(1),
            dec!(100),
            chrono::DateTime::UNIX_EPOCH,
        );
        p.tp_price = Some(tp);
        p.sl_price = Some(sl);
        p
    }

    fn decide(p: &Position, price: Decimal) -> Option<CloseReason> {
        let ctx = ExitContext {
            price,
            now: chrono::DateTime::UNIX_EPOCH,
        };
        match TpSlStatic.on_price(p, &ctx).unwrap().as_slice() {
            [] => None,
            [ExitAction::Close { reason }] => Some(*reason),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn long_and_short_hit_each_level_inclusively() {
        let long = pos(Side::Long, dec!(104.5), dec!(98.5));
        let short = pos(Side::Short, dec!(95.5), dec!(101.5));
        struct Case<'a>(&'a Position, Decimal, Option<CloseReason>);
        let cases = [
            Case(&long, dec!(100), None),
            Case(&long, dec!(104.5), Some(CloseReason::Tp)),
            Case(&long, dec!(110), Some(CloseReason::Tp)),
            Case(&long, dec!(98.5), Some(CloseReason::Sl)),
            Case(&long, dec!(50), Some(CloseReason::Sl)),
            Case(&short, dec!(100), None),
            Case(&short, dec!(95.5), Some(CloseReason::Tp)),
            Case(&short, dec!(101.5), Some(CloseReason::Sl)),
            Case(&short, dec!(120), Some(CloseReason::Sl)),
        ];
        for (i, Case(p, price, want)) in cases.iter().enumerate() {
            assert_eq!(decide(p, *price), *want, "TC{i} failed");
        }
    }

    #[test]
    fn dynamic_levels_take_precedence() {
        let mut p = pos(Side::Long, dec!(104.5), dec!(98.5));
        p.dynamic_sl_price = Some(dec!(100));
        assert_eq!(decide(&p, dec!(99.9)), Some(CloseReason::Sl));
    }

    #[test]
    fn registry_knows_tp_sl_static() {
        let r = PolicyRegistry::default();
        assert!(r.get("tp_sl_static").is_some());
        assert!(r.get("nope").is_none());
        assert_eq!(r.names(), "tp_sl_static");
    }
}
