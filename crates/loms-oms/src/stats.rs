//! `/stats`: the figures of the go/no-go review, computed from closed trades.

use loms_domain::{CloseReason, Decimal, Timestamp};
use loms_storage::{ClosedTrade, TradeFilter};
use std::collections::BTreeMap;
use std::sync::RwLock;

pub use loms_domain::stats::{Spread, Stats, StatsFilters, SymbolStats};

/// Running sum, count and largest of one measure.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    n: u64,
    sum: f64,
    max: Option<f64>,
}

impl Measure {
    fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.n += 1;
            self.sum += v;
            self.max = Some(self.max.map_or(v, |m| m.max(v)));
        }
    }

    fn spread(&self) -> Option<Spread> {
        let cents = |v: f64| (v * 100.0).round() / 100.0;
        Some(Spread {
            trades: self.n,
            avg: cents(self.sum / self.n as f64),
            max: cents(self.max?),
        })
    }
}

const DP: u32 = 8;

fn mean(sum: Decimal, n: u64) -> Decimal {
    if n == 0 {
        Decimal::ZERO
    } else {
        (sum / Decimal::from(n)).round_dp(DP).normalize()
    }
}

/// Compute the figures from closed trades sorted by close time, plus the open count,
/// in one pass.
///
/// ```
/// use loms_oms::stats::compute;
/// assert_eq!(compute(&[], 0, Default::default()).winrate, 0.0);
/// ```
pub fn compute<'a>(
    trades: impl IntoIterator<Item = &'a ClosedTrade>,
    open: u64,
    filters: StatsFilters,
) -> Stats {
    let mut t = Totals::default();
    for trade in trades {
        t.add(trade);
    }
    t.stats(open, filters)
}

/// Running totals over trades added in close-time order; [`Totals::stats`] turns them
/// into the figures without looking at the trades again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    n: u64,
    wins: u64,
    losses: u64,
    win_sum: Decimal,
    loss_sum: Decimal,
    fees: Decimal,
    equity: Decimal,
    peak: Decimal,
    max_dd: Decimal,
    by_reason: BTreeMap<&'static str, u64>,
    by_symbol: BTreeMap<String, SymbolStats>,
    first_open: Option<Timestamp>,
    first_close: Option<Timestamp>,
    last_close: Option<Timestamp>,
    slippage: Measure,
    latency: Measure,
    drift: Measure,
}

impl Totals {
    pub(crate) fn add(&mut self, t: &ClosedTrade) {
        self.n += 1;
        self.first_open = Some(self.first_open.map_or(t.opened_at, |f| f.min(t.opened_at)));
        self.first_close = self.first_close.or(Some(t.closed_at));
        self.last_close = Some(self.last_close.map_or(t.closed_at, |l| l.max(t.closed_at)));
        // Saturating: absurd amounts must not take the writer down with an overflow.
        self.fees = self.fees.saturating_add(t.fees);
        if t.pnl > Decimal::ZERO {
            self.wins += 1;
            self.win_sum = self.win_sum.saturating_add(t.pnl);
        } else if t.pnl < Decimal::ZERO {
            self.losses += 1;
            self.loss_sum = self.loss_sum.saturating_add(t.pnl);
        }
        self.equity = self.equity.saturating_add(t.pnl);
        self.peak = self.peak.max(self.equity);
        self.max_dd = self.max_dd.max(self.peak.saturating_sub(self.equity));
        *self
            .by_reason
            .entry(t.reason.map_or("unknown", CloseReason::as_str))
            .or_default() += 1;
        // Look up before inserting: no String allocation per trade.
        let s = match self.by_symbol.get_mut(&t.symbol) {
            Some(s) => s,
            None => self.by_symbol.entry(t.symbol.clone()).or_default(),
        };
        s.trades += 1;
        s.wins += u64::from(t.pnl > Decimal::ZERO);
        s.pnl = s.pnl.saturating_add(t.pnl);
        self.slippage.add(t.entry_slippage_bps.map(f64::from));
        self.latency.add(t.signal_to_fill_ms.map(f64::from));
        self.drift.add(t.shadow_drift_bps.map(f64::from));
    }

    pub(crate) fn stats(&self, open: u64, filters: StatsFilters) -> Stats {
        let (n, wins, losses) = (self.n, self.wins, self.losses);
        let total = self.win_sum + self.loss_sum;
        let trades_per_day = match (self.first_close, self.last_close) {
            (Some(f), Some(l)) => {
                let days = ((l - f).num_milliseconds() as f64 / 86_400_000.0).max(1.0);
                n as f64 / days
            }
            _ => 0.0,
        };
        let avg_win = mean(self.win_sum, wins);
        let avg_loss = mean(self.loss_sum, losses);
        // Checked: amounts near the decimal range must not panic the reader (a saturated
        // win sum times its count can exceed it after rounding).
        let expectancy = if n == 0 {
            Decimal::ZERO
        } else {
            Decimal::from(wins)
                .checked_mul(avg_win)
                .zip(Decimal::from(losses).checked_mul(avg_loss))
                .and_then(|(w, l)| w.checked_add(l))
                .map_or(mean(total, n), |sum| {
                    (sum / Decimal::from(n)).round_dp(DP).normalize()
                })
        };
        Stats {
            total_positions: n + open,
            open_positions: open,
            closed_positions: n,
            total_pnl: total.normalize(),
            gross_pnl: total.saturating_add(self.fees).normalize(),
            net_pnl: total.normalize(),
            fees_paid: self.fees.normalize(),
            winning_trades: wins,
            losing_trades: losses,
            tp_count: self.by_reason.get("tp").copied().unwrap_or(0),
            sl_count: self.by_reason.get("sl").copied().unwrap_or(0),
            winrate: if n == 0 {
                0.0
            } else {
                wins as f64 * 100.0 / n as f64
            },
            avg_pnl_per_trade: mean(total, n),
            avg_pnl_win: avg_win,
            avg_pnl_loss: avg_loss,
            max_drawdown: self.max_dd.normalize(),
            profit_factor: (losses > 0)
                .then(|| self.win_sum.checked_div(-self.loss_sum))
                .flatten()
                .map(|pf| pf.round_dp(DP).normalize()),
            expectancy,
            trades_per_day: (trades_per_day * 1e4).round() / 1e4,
            by_close_reason: self
                .by_reason
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
            by_symbol: self
                .by_symbol
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        SymbolStats {
                            pnl: v.pnl.normalize(),
                            ..v.clone()
                        },
                    )
                })
                .collect(),
            first_trade_at: self.first_open,
            last_trade_at: self.last_close,
            entry_slippage_bps: self.slippage.spread(),
            signal_to_fill_ms: self.latency.spread(),
            shadow_drift_bps: self.drift.spread(),
            filters,
        }
    }
}

/// Every closed trade in memory, sorted by close time, so /stats never reads the
/// database (100,000 trades take about 10 MB). Loaded at start, appended by the writer
/// after each durable commit.
#[derive(Debug, Default)]
pub(crate) struct TradeLog(RwLock<Log>);

/// The trades, and the running totals of all of them (the unfiltered /stats).
#[derive(Debug, Default)]
struct Log {
    trades: Vec<ClosedTrade>,
    all: Totals,
}

impl TradeLog {
    pub(crate) fn new(mut trades: Vec<ClosedTrade>) -> Self {
        trades.sort_by_key(|t| t.closed_at);
        let mut all = Totals::default();
        trades.iter().for_each(|t| all.add(t));
        Self(RwLock::new(Log { trades, all }))
    }

    /// Record a trade that was just closed.
    pub(crate) fn push(&self, t: ClosedTrade) {
        let mut log = self.0.write().unwrap_or_else(|e| e.into_inner());
        if log.trades.last().is_none_or(|l| l.closed_at <= t.closed_at) {
            log.all.add(&t);
            log.trades.push(t);
        } else {
            // Out of time order (rare): the drawdown depends on the order, start over.
            let i = log.trades.partition_point(|x| x.closed_at <= t.closed_at);
            log.trades.insert(i, t);
            let mut all = Totals::default();
            log.trades.iter().for_each(|t| all.add(t));
            log.all = all;
        }
    }

    /// The figures for the trades matching `f`.
    pub(crate) fn stats(&self, f: &TradeFilter, open: u64) -> Stats {
        let log = self.0.read().unwrap_or_else(|e| e.into_inner());
        if f.since.is_none() && f.until.is_none() && f.symbol.is_none() {
            return log.all.stats(open, StatsFilters::default());
        }
        let v = &log.trades;
        let lo = f
            .since
            .map_or(0, |s| v.partition_point(|t| t.closed_at < s));
        let hi = f
            .until
            .map_or(v.len(), |u| v.partition_point(|t| t.closed_at < u))
            .max(lo);
        let filters = StatsFilters {
            since: f.since,
            until: f.until,
            symbol: f.symbol.clone(),
        };
        let slice = &v[lo..hi];
        match &f.symbol {
            None => compute(slice, open, filters),
            Some(sym) => compute(slice.iter().filter(|t| &t.symbol == sym), open, filters),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use rust_decimal::dec;

    fn trade(symbol: &str, pnl: Decimal, reason: CloseReason, hours: i64) -> ClosedTrade {
        let t0 = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
        ClosedTrade {
            symbol: symbol.into(),
            pnl,
            fees: dec!(0.1),
            reason: Some(reason),
            opened_at: t0 + Duration::hours(hours) - Duration::minutes(30),
            closed_at: t0 + Duration::hours(hours),
            entry_slippage_bps: None,
            signal_to_fill_ms: None,
            shadow_drift_bps: None,
        }
    }

    /// Checked by hand: equity 10, 7, 2, 8, 6, 18 → peak 10 then 18; deepest fall 10 → 2 = 8.
    #[test]
    fn figures_on_a_known_set_of_trades() {
        let trades = [
            trade("BTCUSDT", dec!(10), CloseReason::Tp, 0),
            trade("BTCUSDT", dec!(-3), CloseReason::Sl, 12),
            trade("ETHUSDT", dec!(-5), CloseReason::Sl, 24),
            trade("ETHUSDT", dec!(6), CloseReason::Manual, 36),
            trade("BTCUSDT", dec!(-2), CloseReason::Sl, 40),
            trade("XRPUSDT", dec!(12), CloseReason::Tp, 48),
        ];
        let s = compute(&trades, 2, StatsFilters::default());
        assert_eq!(
            (s.total_positions, s.open_positions, s.closed_positions),
            (8, 2, 6)
        );
        assert_eq!(s.total_pnl, dec!(18));
        assert_eq!(s.fees_paid, dec!(0.6));
        assert_eq!((s.gross_pnl, s.net_pnl), (dec!(18.6), dec!(18)));
        assert_eq!(
            (s.winning_trades, s.losing_trades, s.tp_count, s.sl_count),
            (3, 3, 2, 3)
        );
        assert!((s.winrate - 50.0).abs() < 1e-9);
        assert_eq!(s.avg_pnl_per_trade, dec!(3));
        assert_eq!(s.avg_pnl_win, dec!(9.33333333));
        assert_eq!(s.avg_pnl_loss, dec!(-3.33333333));
        assert_eq!(s.max_drawdown, dec!(8));
        assert_eq!(s.profit_factor, Some(dec!(2.8)));
        assert_eq!(s.expectancy, dec!(3));
        assert!(
            (s.trades_per_day - 3.0).abs() < 1e-9,
            "6 trades over 2 days"
        );
        assert_eq!(s.by_close_reason["manual"], 1);
        assert_eq!(
            s.by_symbol["ETHUSDT"],
            SymbolStats {
                trades: 2,
                wins: 1,
                pnl: dec!(1)
            }
        );
        assert_eq!(
            s.first_trade_at.unwrap().to_rfc3339(),
            "2025-11-30T23:30:00+00:00"
        );
    }

    #[test]
    fn no_trades_no_losses() {
        let s = compute(&[], 3, StatsFilters::default());
        assert_eq!(
            (s.total_positions, s.closed_positions, s.profit_factor),
            (3, 0, None)
        );
        let s = compute(
            &[trade("A", dec!(1), CloseReason::Tp, 1)],
            0,
            StatsFilters::default(),
        );
        assert_eq!(s.profit_factor, None);
        assert_eq!(s.max_drawdown, dec!(0));
        assert!((s.trades_per_day - 1.0).abs() < 1e-9);
    }

    #[test]
    fn entry_slippage_and_signal_to_fill_time() {
        let mut trades = [
            trade("A", dec!(1), CloseReason::Tp, 1),
            trade("A", dec!(-1), CloseReason::Sl, 2),
            trade("A", dec!(1), CloseReason::Tp, 3),
        ];
        trades[0].entry_slippage_bps = Some(15.0);
        trades[0].signal_to_fill_ms = Some(120);
        trades[1].entry_slippage_bps = Some(-5.0);
        trades[1].signal_to_fill_ms = Some(480);
        // The third is a manual order: no signal price or time, not measured.
        let s = compute(&trades, 0, StatsFilters::default());
        assert_eq!(
            s.entry_slippage_bps,
            Some(Spread {
                trades: 2,
                avg: 5.0,
                max: 15.0
            })
        );
        assert_eq!(
            s.signal_to_fill_ms,
            Some(Spread {
                trades: 2,
                avg: 300.0,
                max: 480.0
            })
        );
        let none = compute(&trades[2..], 0, StatsFilters::default());
        assert_eq!(
            (none.entry_slippage_bps, none.signal_to_fill_ms),
            (None, None)
        );
    }

    #[test]
    fn shadow_drift_counts_only_the_trades_with_a_paper_price() {
        let mut trades = [
            trade("A", dec!(1), CloseReason::Tp, 1),
            trade("B", dec!(-1), CloseReason::Sl, 2),
            trade("A", dec!(1), CloseReason::Tp, 3),
        ];
        trades[0].shadow_drift_bps = Some(12.004);
        trades[1].shadow_drift_bps = Some(-4.0);
        // The third was a paper entry: no paper price of its own, not measured.
        let s = compute(&trades, 0, StatsFilters::default());
        assert_eq!(
            s.shadow_drift_bps,
            Some(Spread {
                trades: 2,
                avg: 4.0,
                max: 12.0
            })
        );
        assert_eq!(
            compute(&trades[2..], 0, StatsFilters::default()).shadow_drift_bps,
            None
        );
        // Filtered by symbol like every figure.
        let log = TradeLog::new(trades.to_vec());
        let b = TradeFilter {
            symbol: Some("B".into()),
            ..TradeFilter::default()
        };
        assert_eq!(log.stats(&b, 0).shadow_drift_bps.map(|d| d.max), Some(-4.0));
        assert_eq!(
            log.stats(&TradeFilter::default(), 0)
                .shadow_drift_bps
                .map(|d| d.trades),
            Some(2)
        );
    }

    #[test]
    fn figures_near_the_decimal_range_do_not_panic() {
        let tiny_loss = Decimal::new(-1, 28);
        let trades = [
            trade("A", Decimal::MAX, CloseReason::Tp, 1),
            trade("A", Decimal::MAX, CloseReason::Tp, 2),
            trade("A", tiny_loss, CloseReason::Sl, 3),
        ];
        let s = compute(&trades, 0, StatsFilters::default());
        assert_eq!(s.profit_factor, None, "beyond the decimal range");
        assert_eq!((s.winning_trades, s.losing_trades), (2, 1));
        assert!(s.expectancy > Decimal::ZERO);
        let s = compute(
            &[
                trade("A", dec!(10), CloseReason::Tp, 1),
                trade("A", tiny_loss, CloseReason::Sl, 2),
            ],
            0,
            StatsFilters::default(),
        );
        assert_eq!(s.profit_factor, None, "10 / 1e-28 does not fit either");
    }

    #[test]
    fn running_totals_match_a_full_recount_even_out_of_order() {
        let trades = [
            trade("BTCUSDT", dec!(10), CloseReason::Tp, 0),
            trade("BTCUSDT", dec!(-3), CloseReason::Sl, 12),
            trade("ETHUSDT", dec!(-5), CloseReason::Sl, 24),
            trade("XRPUSDT", dec!(12), CloseReason::Tp, 48),
        ];
        let log = TradeLog::new(trades[..2].to_vec());
        log.push(trades[3].clone());
        log.push(trades[2].clone()); // closed before the previous one
        let all = TradeFilter::default();
        assert_eq!(
            log.stats(&all, 1),
            compute(&trades, 1, StatsFilters::default())
        );
        let eth = TradeFilter {
            symbol: Some("ETHUSDT".into()),
            ..Default::default()
        };
        assert_eq!(log.stats(&eth, 0).total_pnl, dec!(-5));
    }
}
