//! LOMS exit policies: pure decisions, from a position and the current price, to close
//! it (or, for later policies, move its stops). No I/O: the OMS fetches prices, asks the
//! policy named by the position's `exit_strategy`, and applies the actions.

mod break_even;

pub use break_even::break_even_level;
use loms_domain::{CloseReason, Decimal, ExitMeta, Position, Side, Timestamp};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

/// What a policy sees besides the position.
#[derive(Debug, Clone, Copy)]
pub struct ExitContext {
    /// Current price of the position's symbol (already picked by PRICE_MODE); for a
    /// bar, its close.
    pub price: Decimal,
    /// Current time.
    pub now: Timestamp,
    /// The bar the price closes, when prices come from klines (replay, downtime gap):
    /// exits inside it use its high and low, and fill at the level touched.
    pub bar: Option<Bar>,
}

/// Open, high and low of a kline (its close is [`ExitContext::price`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// First price of the bar.
    pub open: Decimal,
    /// Highest price.
    pub high: Decimal,
    /// Lowest price.
    pub low: Decimal,
}

impl ExitContext {
    /// A plain price at `now` (live quotes).
    pub fn at(price: Decimal, now: Timestamp) -> Self {
        Self {
            price,
            now,
            bar: None,
        }
    }

    /// The price most against `side` (a long's low, a short's high).
    fn adverse(&self, side: Side) -> Decimal {
        match (self.bar, side) {
            (None, _) => self.price,
            (Some(b), Side::Long) => b.low,
            (Some(b), Side::Short) => b.high,
        }
    }

    /// The price most in favour of `side` (a long's high inside a bar, else the price).
    pub fn favorable(&self, side: Side) -> Decimal {
        match (self.bar, side) {
            (None, _) => self.price,
            (Some(b), Side::Long) => b.high,
            (Some(b), Side::Short) => b.low,
        }
    }

    /// Fill level of a stop at `stop` hit inside a bar: the stop, or the open when the
    /// bar opened beyond it (a gap). `None` (market price) without a bar.
    fn stop_fill(&self, side: Side, stop: Decimal) -> Option<Decimal> {
        self.bar.map(|b| match side {
            Side::Long => stop.min(b.open),
            Side::Short => stop.max(b.open),
        })
    }

    /// Fill level of a take-profit or other favourable level reached inside a bar.
    fn target_fill(&self, side: Side, level: Decimal) -> Option<Decimal> {
        self.bar.map(|b| match side {
            Side::Long => level.max(b.open),
            Side::Short => level.min(b.open),
        })
    }
}

/// What a policy asks the OMS to do. Actions apply in order; a `Close` ends the list.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitAction {
    /// Close the whole (remaining) position.
    Close {
        /// Recorded as `auto_close_reason`.
        reason: CloseReason,
        /// The level touched inside a bar; `None`: at the current price.
        at: Option<Decimal>,
    },
    /// Close `fraction` (0 < fraction < 1) of the current quantity; the rest stays open.
    PartialClose {
        /// Share of the current quantity to close.
        fraction: Decimal,
        /// Why (recorded with the fill).
        reason: CloseReason,
        /// The level touched inside a bar; `None`: at the current price.
        at: Option<Decimal>,
    },
    /// Move the stop-loss (`dynamic_sl_price`).
    MoveStop {
        /// New stop level.
        price: Decimal,
    },
    /// Move the take-profit (`dynamic_tp_price`).
    MoveTakeProfit {
        /// New take-profit level.
        price: Decimal,
    },
    /// Replace the policy's own state (`exit_meta`).
    SetMeta(ExitMeta),
}

/// Favourable move of `price` from the entry, in percent (negative when adverse).
///
/// ```
/// use loms_exit_engine::favorable_move_pct;
/// use loms_domain::Side;
/// use rust_decimal::dec;
/// assert_eq!(favorable_move_pct(Side::Long, dec!(100), dec!(103)), dec!(3));
/// assert_eq!(favorable_move_pct(Side::Short, dec!(100), dec!(103)), dec!(-3));
/// ```
pub fn favorable_move_pct(side: Side, entry: Decimal, price: Decimal) -> Decimal {
    if entry.is_zero() {
        return Decimal::ZERO;
    }
    let d = match side {
        Side::Long => price - entry,
        Side::Short => entry - price,
    };
    (d * Decimal::ONE_HUNDRED / entry).round_dp(8).normalize()
}

/// Price that is `pct` percent favourable from the entry.
fn price_at_move(side: Side, entry: Decimal, pct: Decimal) -> Decimal {
    let f = match side {
        Side::Long => Decimal::ONE_HUNDRED + pct,
        Side::Short => Decimal::ONE_HUNDRED - pct,
    };
    (entry * f / Decimal::ONE_HUNDRED).normalize()
}

/// True when `price` is at or beyond the stop `stop` for this side.
fn stop_hit(side: Side, price: Decimal, stop: Decimal) -> bool {
    match side {
        Side::Long => price <= stop,
        Side::Short => price >= stop,
    }
}

/// True when `price` is at or beyond the take-profit `tp` for this side.
fn tp_hit(side: Side, price: Decimal, tp: Decimal) -> bool {
    match side {
        Side::Long => price >= tp,
        Side::Short => price <= tp,
    }
}

/// True when stop `a` protects more than stop `b` (higher for a long, lower for a short).
fn tighter(side: Side, a: Decimal, b: Decimal) -> bool {
    match side {
        Side::Long => a > b,
        Side::Short => a < b,
    }
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
        let side = pos.side;
        if let Some(sl) = pos.effective_sl()
            && stop_hit(side, ctx.adverse(side), sl)
        {
            let at = ctx.stop_fill(side, sl);
            return Ok(vec![ExitAction::Close {
                reason: CloseReason::Sl,
                at,
            }]);
        }
        if let Some(tp) = pos.effective_tp()
            && tp_hit(side, ctx.favorable(side), tp)
        {
            let at = ctx.target_fill(side, tp);
            return Ok(vec![ExitAction::Close {
                reason: CloseReason::Tp,
                at,
            }]);
        }
        Ok(Vec::new())
    }
}

/// Parameters of `trailing_v1` (settings TRAIL_*).
#[derive(Debug, Clone, PartialEq)]
pub struct TrailingParams {
    /// After this favourable move (percent), the stop goes to break-even: the level
    /// at which a close nets `break_even_offset_bps` after the entry and exit fees
    /// ([`break_even_level`]).
    pub break_even_pct: Decimal,
    /// What a close at the break-even stop nets, basis points of the entry notional,
    /// after fees (TRAIL_BE_OFFSET_BPS).
    pub break_even_offset_bps: Decimal,
    /// Taker fee paid on entry and on exit, basis points of the notional: the broker's
    /// (FEE_TAKER_BPS), for the break-even level.
    pub taker_fee_bps: Decimal,
    /// After this favourable move (percent), the stop trails the best price.
    pub trail_start_pct: Decimal,
    /// Distance of the trailing stop behind the best price, percent of the best price.
    pub trail_distance_pct: Decimal,
    /// Close with reason `timeout` after this many minutes (None: never).
    pub timeout_min: Option<u32>,
    /// Close `partial_fraction` of the position once the move reaches this (None: never).
    pub partial_at_pct: Option<Decimal>,
    /// Share closed by the partial take-profit (0 < f < 1).
    pub partial_fraction: Decimal,
}

impl Default for TrailingParams {
    fn default() -> Self {
        Self {
            break_even_pct: Decimal::ONE,
            break_even_offset_bps: Decimal::ZERO,
            taker_fee_bps: Decimal::ZERO,
            trail_start_pct: Decimal::TWO,
            trail_distance_pct: Decimal::ONE,
            timeout_min: None,
            partial_at_pct: None,
            partial_fraction: Decimal::new(5, 1),
        }
    }
}

/// Break-even, then trailing stop, with optional timeout and partial take-profit.
///
/// Using the best favourable move seen (`max_favorable_move`, kept by the OMS):
/// - after `break_even_pct` the stop moves to break-even — the entry plus the round-trip
///   taker fees plus `break_even_offset_bps` ([`break_even_level`]), once the best price
///   is beyond that level — and a later hit closes as `break_even`;
/// - after `trail_start_pct` it trails `trail_distance_pct` behind the best price
///   (a later hit closes as `trailing_sl`); the stop only ever tightens;
/// - the initial take-profit, if any, still closes as `tp`;
/// - optionally, `partial_fraction` is closed once at `partial_at_pct` (reason `tp`);
/// - optionally, after `timeout_min` minutes the position closes as `timeout`.
///
/// The stop is checked after being moved, so a price that fell through the new level
/// since the last look closes at once.
#[derive(Debug, Clone, Default)]
pub struct TrailingV1(pub TrailingParams);

const STOP_KIND: &str = "stop_kind";
const PARTIAL_DONE: &str = "partial_done";

impl ExitPolicy for TrailingV1 {
    fn name(&self) -> &'static str {
        "trailing_v1"
    }

    fn on_price(&self, pos: &Position, ctx: &ExitContext) -> Result<Vec<ExitAction>, ExitError> {
        let p = &self.0;
        let (side, entry) = (pos.side, pos.entry_price);
        if let Some(min) = p.timeout_min
            && ctx.now - pos.created_at >= chrono::Duration::minutes(i64::from(min))
        {
            return Ok(vec![ExitAction::Close {
                reason: CloseReason::Timeout,
                at: None,
            }]);
        }
        let mut meta = pos.exit_meta.clone();
        let stop_reason = |kind: Option<&str>| match kind {
            Some("trailing") => CloseReason::TrailingSl,
            Some("break_even") => CloseReason::BreakEven,
            _ => CloseReason::Sl,
        };
        // 1. The stop in force before this price (or bar): the stop wins over the TP.
        let kind = meta
            .get(STOP_KIND)
            .and_then(|v| v.as_str())
            .map(str::to_string);
        if let Some(s) = pos.effective_sl()
            && stop_hit(side, ctx.adverse(side), s)
        {
            let at = ctx.stop_fill(side, s);
            return Ok(vec![ExitAction::Close {
                reason: stop_reason(kind.as_deref()),
                at,
            }]);
        }
        // 2. The take-profit.
        if let Some(t) = pos.effective_tp()
            && tp_hit(side, ctx.favorable(side), t)
        {
            let at = ctx.target_fill(side, t);
            return Ok(vec![ExitAction::Close {
                reason: CloseReason::Tp,
                at,
            }]);
        }
        // 3. Move the stop after the best move seen, including this price (or bar).
        let best = pos
            .max_favorable_move
            .unwrap_or_default()
            .max(favorable_move_pct(side, entry, ctx.favorable(side)));
        let mut actions = Vec::new();
        let mut candidate = None;
        let best_price = price_at_move(side, entry, best);
        if best >= p.break_even_pct
            && let Some(level) =
                break_even_level(side, entry, pos.qty, p.taker_fee_bps, p.break_even_offset_bps)
            // A stop at or beyond the best price would close at once, below break-even.
            && tighter(side, best_price, level)
        {
            candidate = Some((level, "break_even"));
        }
        if best >= p.trail_start_pct {
            let trail = price_at_move(side.opposite(), best_price, p.trail_distance_pct);
            if candidate.is_none_or(|(c, _)| tighter(side, trail, c)) {
                candidate = Some((trail, "trailing"));
            }
        }
        if let Some((level, k)) = candidate
            && pos.effective_sl().is_none_or(|s| tighter(side, level, s))
        {
            actions.push(ExitAction::MoveStop { price: level });
            meta.insert(STOP_KIND.into(), k.into());
            // 4. A price already through the new stop closes now, at that price.
            if stop_hit(side, ctx.price, level) {
                push_meta(&mut actions, &pos.exit_meta, meta);
                actions.push(ExitAction::Close {
                    reason: stop_reason(Some(k)),
                    at: None,
                });
                return Ok(actions);
            }
        }
        // 5. A one-time partial take-profit.
        if let Some(at_pct) = p.partial_at_pct
            && best >= at_pct
            && meta.get(PARTIAL_DONE).is_none()
        {
            meta.insert(PARTIAL_DONE.into(), true.into());
            let at = ctx.target_fill(side, price_at_move(side, entry, at_pct));
            actions.push(ExitAction::PartialClose {
                fraction: p.partial_fraction,
                reason: CloseReason::Tp,
                at,
            });
        }
        push_meta(&mut actions, &pos.exit_meta, meta);
        Ok(actions)
    }
}

/// Emit the new meta only when it changed (so unchanged positions write nothing).
fn push_meta(actions: &mut Vec<ExitAction>, old: &ExitMeta, new: ExitMeta) {
    if &new != old {
        // Meta first: a close or partial close that follows is recorded with it.
        actions.insert(0, ExitAction::SetMeta(new));
    }
}

/// The policies known by name.
#[derive(Debug, Clone)]
pub struct PolicyRegistry {
    policies: BTreeMap<&'static str, Arc<dyn ExitPolicy>>,
}

impl Default for PolicyRegistry {
    /// Every built-in policy, `trailing_v1` with its default parameters.
    fn default() -> Self {
        Self::new(TrailingParams::default())
    }
}

impl PolicyRegistry {
    /// Every built-in policy, `trailing_v1` with `trailing`.
    pub fn new(trailing: TrailingParams) -> Self {
        let mut r = Self {
            policies: BTreeMap::new(),
        };
        r.register(Arc::new(TpSlStatic));
        r.register(Arc::new(TrailingV1(trailing)));
        r
    }

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
        let ctx = ExitContext::at(price, chrono::DateTime::UNIX_EPOCH);
        match TpSlStatic.on_price(p, &ctx).unwrap().as_slice() {
            [] => None,
            [ExitAction::Close { reason, at: None }] => Some(*reason),
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
        assert_eq!(r.names(), "tp_sl_static, trailing_v1");
    }

    fn trailing(params: TrailingParams) -> TrailingV1 {
        TrailingV1(params)
    }

    fn run(policy: &TrailingV1, p: &Position, price: Decimal, minutes: i64) -> Vec<ExitAction> {
        let now = p.created_at + chrono::Duration::minutes(minutes);
        policy.on_price(p, &ExitContext::at(price, now)).unwrap()
    }

    /// Apply the actions like the OMS does (stop, meta, best move), for multi-step tests.
    fn apply(p: &mut Position, price: Decimal, actions: &[ExitAction]) {
        let mv = favorable_move_pct(p.side, p.entry_price, price);
        p.max_favorable_move = Some(p.max_favorable_move.unwrap_or_default().max(mv));
        for a in actions {
            match a {
                ExitAction::MoveStop { price } => p.dynamic_sl_price = Some(*price),
                ExitAction::MoveTakeProfit { price } => p.dynamic_tp_price = Some(*price),
                ExitAction::SetMeta(m) => p.exit_meta = m.clone(),
                _ => {}
            }
        }
    }

    fn closes(actions: &[ExitAction]) -> Option<CloseReason> {
        actions.iter().find_map(|a| match a {
            ExitAction::Close { reason, .. } => Some(*reason),
            _ => None,
        })
    }

    fn stop_of(actions: &[ExitAction]) -> Option<Decimal> {
        actions.iter().find_map(|a| match a {
            ExitAction::MoveStop { price } => Some(*price),
            _ => None,
        })
    }

    #[test]
    fn trailing_long_break_even_then_trail_then_trailing_stop() {
        let pol = trailing(TrailingParams::default()); // BE at +1 %, trail from +2 % at 1 %
        let mut p = pos(Side::Long, dec!(110), dec!(98.5));
        // +0.5 %: nothing.
        assert!(run(&pol, &p, dec!(100.5), 1).is_empty());
        // +1 %: stop to break-even.
        let a = run(&pol, &p, dec!(101), 2);
        assert_eq!(stop_of(&a), Some(dec!(100)));
        apply(&mut p, dec!(101), &a);
        assert_eq!(p.exit_meta["stop_kind"], "break_even");
        // Back to the entry: closed at break-even.
        assert_eq!(
            closes(&run(&pol, &p, dec!(100), 3)),
            Some(CloseReason::BreakEven)
        );
        // +3 %: trail 1 % behind 103 = 101.97.
        let a = run(&pol, &p, dec!(103), 3);
        assert_eq!(stop_of(&a), Some(dec!(101.97)));
        apply(&mut p, dec!(103), &a);
        // A dip that does not reach the stop moves nothing (the stop never loosens).
        let a = run(&pol, &p, dec!(102.5), 4);
        assert!(stop_of(&a).is_none() && closes(&a).is_none(), "{a:?}");
        // Through the stop: trailing_sl.
        assert_eq!(
            closes(&run(&pol, &p, dec!(101.9), 5)),
            Some(CloseReason::TrailingSl)
        );
        // TP still applies.
        assert_eq!(closes(&run(&pol, &p, dec!(110), 5)), Some(CloseReason::Tp));
    }

    /// Net PnL of a round trip of `qty` entered at `entry` and closed at `exit`, with
    /// the paper broker's fee (`fee_bps` of each notional, rounded to 10 places).
    fn net(side: Side, entry: Decimal, exit: Decimal, qty: Decimal, fee_bps: Decimal) -> Decimal {
        let fee = |price: Decimal| (price * qty * fee_bps / dec!(10000)).round_dp(10);
        loms_domain::pnl(side, entry, exit, qty).unwrap() - fee(entry) - fee(exit)
    }

    #[test]
    fn a_break_even_close_nets_the_offset_after_fees_long_and_short() {
        for (side, up) in [(Side::Long, dec!(101.5)), (Side::Short, dec!(98.5))] {
            for offset in [dec!(0), dec!(10)] {
                let pol = trailing(TrailingParams {
                    taker_fee_bps: dec!(6),
                    break_even_offset_bps: offset,
                    ..Default::default()
                });
                let mut p = pos(side, dec!(200), dec!(1));
                if side == Side::Short {
                    (p.tp_price, p.sl_price) = (Some(dec!(1)), Some(dec!(200)));
                }
                p.qty = dec!(0.37);
                let a = run(&pol, &p, up, 1);
                let level = stop_of(&a).expect("stop moved");
                assert_eq!(
                    Some(level),
                    break_even_level(side, dec!(100), p.qty, dec!(6), offset)
                );
                assert!(
                    tighter(side, level, dec!(100)),
                    "{side:?}: beyond the entry"
                );
                apply(&mut p, up, &a);
                // The next bar comes back through the stop: closed at the level.
                let back = bar_ctx(up, up.max(dec!(100)), up.min(dec!(100)), dec!(100));
                let a = pol.on_price(&p, &back).unwrap();
                assert_eq!(close_of(&a), Some((CloseReason::BreakEven, Some(level))));
                let got = net(side, dec!(100), level, p.qty, dec!(6));
                let want = offset / dec!(10000) * dec!(100) * p.qty;
                assert!(got >= Decimal::ZERO, "{side:?} {offset}: net {got}");
                assert!(
                    (got - want).abs() <= dec!(0.0000000002),
                    "{side:?} {offset}: net {got}, want {want}"
                );
            }
        }
    }

    #[test]
    fn the_break_even_stop_waits_for_a_move_that_covers_the_fees() {
        // Triggered at +0.1 %, but 6 bps each way need +0.12 %: no stop above the price.
        let pol = trailing(TrailingParams {
            break_even_pct: dec!(0.1),
            taker_fee_bps: dec!(6),
            ..Default::default()
        });
        let p = pos(Side::Long, dec!(110), dec!(98.5));
        let a = run(&pol, &p, dec!(100.11), 1);
        assert!(stop_of(&a).is_none() && closes(&a).is_none(), "{a:?}");
        let a = run(&pol, &p, dec!(100.13), 1);
        assert_eq!(
            stop_of(&a),
            break_even_level(Side::Long, dec!(100), dec!(1), dec!(6), dec!(0))
        );
    }

    #[test]
    fn trailing_short_mirrors() {
        let pol = trailing(TrailingParams::default());
        let mut p = pos(Side::Short, dec!(90), dec!(101.5));
        let a = run(&pol, &p, dec!(97), 1); // +3 % for a short
        assert_eq!(stop_of(&a), Some(dec!(97.97)));
        apply(&mut p, dec!(97), &a);
        assert!(closes(&run(&pol, &p, dec!(97.5), 2)).is_none());
        assert_eq!(
            closes(&run(&pol, &p, dec!(98), 2)),
            Some(CloseReason::TrailingSl)
        );
        // A price that fell through the new level since the last look closes at once.
        let fresh = pos(Side::Short, dec!(90), dec!(101.5));
        let mut seen = fresh.clone();
        seen.max_favorable_move = Some(dec!(3));
        assert_eq!(
            closes(&run(&pol, &seen, dec!(98.5), 2)),
            Some(CloseReason::TrailingSl)
        );
    }

    #[test]
    fn initial_stop_reason_is_sl_and_timeout_wins() {
        let pol = trailing(TrailingParams {
            timeout_min: Some(60),
            ..Default::default()
        });
        let p = pos(Side::Long, dec!(110), dec!(98.5));
        assert_eq!(closes(&run(&pol, &p, dec!(98), 1)), Some(CloseReason::Sl));
        assert_eq!(closes(&run(&pol, &p, dec!(100.2), 59)), None);
        assert_eq!(
            closes(&run(&pol, &p, dec!(100.2), 60)),
            Some(CloseReason::Timeout)
        );
    }

    #[test]
    fn partial_close_happens_once() {
        let pol = trailing(TrailingParams {
            partial_at_pct: Some(dec!(1.5)),
            partial_fraction: dec!(0.5),
            ..Default::default()
        });
        let mut p = pos(Side::Long, dec!(110), dec!(98.5));
        let a = run(&pol, &p, dec!(101.5), 1);
        assert!(
            a.contains(&ExitAction::PartialClose {
                fraction: dec!(0.5),
                reason: CloseReason::Tp,
                at: None,
            }),
            "{a:?}"
        );
        apply(&mut p, dec!(101.5), &a);
        assert_eq!(p.exit_meta["partial_done"], true);
        let a = run(&pol, &p, dec!(101.6), 2);
        assert!(
            !a.iter()
                .any(|x| matches!(x, ExitAction::PartialClose { .. })),
            "{a:?}"
        );
    }

    #[test]
    fn unchanged_state_emits_nothing() {
        let pol = trailing(TrailingParams::default());
        let mut p = pos(Side::Long, dec!(110), dec!(98.5));
        let a = run(&pol, &p, dec!(101), 1);
        apply(&mut p, dec!(101), &a);
        assert!(
            run(&pol, &p, dec!(101), 2).is_empty(),
            "no write when nothing changes"
        );
    }

    fn bar_ctx(open: Decimal, high: Decimal, low: Decimal, close: Decimal) -> ExitContext {
        ExitContext {
            price: close,
            now: chrono::DateTime::UNIX_EPOCH,
            bar: Some(Bar { open, high, low }),
        }
    }

    fn close_of(actions: &[ExitAction]) -> Option<(CloseReason, Option<Decimal>)> {
        actions.iter().find_map(|a| match a {
            ExitAction::Close { reason, at } => Some((*reason, *at)),
            _ => None,
        })
    }

    #[test]
    fn inside_a_bar_the_stop_wins_and_fills_at_the_level_touched() {
        let long = pos(Side::Long, dec!(104.5), dec!(98.5));
        // Both levels inside one bar: the stop wins, at the stop.
        let both = bar_ctx(dec!(100), dec!(105), dec!(98), dec!(101));
        let a = TpSlStatic.on_price(&long, &both).unwrap();
        assert_eq!(close_of(&a), Some((CloseReason::Sl, Some(dec!(98.5)))));
        // Only the TP: at the TP, even though the bar closed lower.
        let tp = bar_ctx(dec!(100), dec!(105), dec!(99), dec!(101));
        assert_eq!(
            close_of(&TpSlStatic.on_price(&long, &tp).unwrap()),
            Some((CloseReason::Tp, Some(dec!(104.5))))
        );
        // A gap below the stop fills at the open.
        let gap = bar_ctx(dec!(97), dec!(97.5), dec!(96), dec!(97));
        assert_eq!(
            close_of(&TpSlStatic.on_price(&long, &gap).unwrap()),
            Some((CloseReason::Sl, Some(dec!(97))))
        );
        // Short: its adverse extreme is the high.
        let short = pos(Side::Short, dec!(95.5), dec!(101.5));
        let a = TpSlStatic
            .on_price(&short, &bar_ctx(dec!(100), dec!(102), dec!(95), dec!(100)))
            .unwrap();
        assert_eq!(close_of(&a), Some((CloseReason::Sl, Some(dec!(101.5)))));
        // Neither level: nothing.
        assert!(
            TpSlStatic
                .on_price(&long, &bar_ctx(dec!(100), dec!(101), dec!(99), dec!(100)))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn trailing_in_bars_uses_the_stop_from_before_the_bar() {
        let pol = trailing(TrailingParams::default());
        let mut p = pos(Side::Long, dec!(110), dec!(98.5));
        // A bar up to +3 % that closes at +2.5 %: stop moves to 101.97, not hit at the close.
        let a = pol
            .on_price(&p, &bar_ctx(dec!(100), dec!(103), dec!(99.5), dec!(102.5)))
            .unwrap();
        assert_eq!(stop_of(&a), Some(dec!(101.97)));
        assert!(close_of(&a).is_none());
        apply(&mut p, dec!(103), &a);
        // Next bar dips to 101.5: trailing stop hit at its level.
        let a = pol
            .on_price(
                &p,
                &bar_ctx(dec!(102.4), dec!(102.6), dec!(101.5), dec!(102)),
            )
            .unwrap();
        assert_eq!(
            close_of(&a),
            Some((CloseReason::TrailingSl, Some(dec!(101.97))))
        );
    }
}
