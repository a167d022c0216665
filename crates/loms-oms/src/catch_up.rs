//! The downtime gap: after a restart on exchange prices, the one-minute bars since
//! prices were last watched go through the exit policies before the live loop starts,
//! so a position whose stop or take-profit was hit while LOMS was down closes at the
//! level touched, with its reason and the bar's end as its time.
//!
//! Which bars: every **finished** bar from the one containing `last_check_at` on (from
//! the oldest open position's open time when `last_check_at` is missing or unreadable).
//! The bar prices were last watched in is judged whole (the rest of that minute was
//! not watched; an SL touched in the first minute of downtime is not missed); the
//! current, unfinished minute is not judged (its high and low are not final, and its
//! end is still to come: a close time is never after now) and is left to the live
//! loop. A bar is judged only for the positions open when it began (as in replay: no
//! price from before an entry closes it).
//!
//! A symbol whose bars cannot be fetched is not forgotten: its window is kept
//! ([`Gap`]), tried again before every auto-close pass until its bars come (or it has
//! no open position left), and /health's loop check fails meanwhile, naming it.

use crate::writer::{self, Market, Tick, Write};
use crate::{Oms, OmsError, PassReport};
use chrono::DurationRound;
use loms_domain::{PriceQuote, Timestamp};
use loms_exit_engine::Bar;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The part of the downtime window whose bars could not be fetched yet.
#[derive(Debug, Clone, PartialEq)]
struct Left {
    from: Timestamp,
    to: Timestamp,
    /// Symbol → the last error fetching its bars.
    symbols: BTreeMap<String, String>,
}

/// The symbols whose downtime is still unchecked, kept for the next passes.
#[derive(Debug, Default)]
pub(crate) struct Gap(Mutex<Option<Left>>);

impl Gap {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Left>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is still unchecked, for /health (`None`: nothing).
    pub(crate) fn describe(&self) -> Option<String> {
        let left = self.lock().clone()?;
        let symbols: Vec<String> = left
            .symbols
            .iter()
            .map(|(s, e)| format!("{s} ({e})"))
            .collect();
        Some(format!(
            "downtime {} to {} not checked for {}: retried before every pass",
            left.from.format("%Y-%m-%dT%H:%M:%SZ"),
            left.to.format("%Y-%m-%dT%H:%M:%SZ"),
            symbols.join(", ")
        ))
    }
}

/// One minute, the length of the bars judged.
fn minute() -> chrono::Duration {
    chrono::Duration::minutes(1)
}

/// The start times `[from, to)` of the bars to judge when prices were last watched at
/// `last_check` and it is now `now`: from the start of the minute `last_check` fell in
/// to the start of the current, unfinished minute. `None` when no bar has finished
/// since (or the clock went back).
pub(crate) fn window(last_check: Timestamp, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
    let from = last_check.duration_trunc(minute()).ok()?;
    let to = now.duration_trunc(minute()).ok()?;
    (from < to).then_some((from, to))
}

impl Oms {
    /// After a restart with exchange prices: fetch the finished one-minute bars since
    /// prices were last watched (see the module doc for which) and run them through the
    /// exit policies, so a position whose TP or SL was hit while LOMS was down closes
    /// at the level touched, with the right reason and time. Does nothing with
    /// simulator prices, without open positions, or when no bar has finished since the
    /// last check. A symbol whose bars cannot be fetched is logged and tried again
    /// before every pass (see the module doc).
    ///
    /// # Errors
    /// [`OmsError::Storage`] or [`OmsError::Stopped`].
    pub async fn catch_up_downtime(&self) -> Result<PassReport, OmsError> {
        let total = PassReport::default();
        let Some(klines) = self.0.deps.klines.clone() else {
            return Ok(total);
        };
        let (stored, oldest) = self
            .read(|s| Ok((s.state(writer::LAST_CHECK_KEY)?, s.oldest_open_at()?)))
            .await?;
        let last = match stored {
            Some(text) => match chrono::DateTime::parse_from_rfc3339(&text) {
                Ok(t) => Some(t.with_timezone(&chrono::Utc)),
                Err(e) => {
                    // Never skip the gap on a guess: judge since the oldest open position.
                    log::error!(
                        "downtime_gap_last_check_unreadable value={text:?} error=\"{e}\" from_oldest_open={oldest:?}"
                    );
                    oldest
                }
            },
            // Open positions, but prices never watched (a crash before the first saved
            // check): every bar since the oldest of them.
            None => oldest,
        };
        let now = self.0.deps.clock.now();
        let Some((from, to)) = last.and_then(|t| window(t, now)) else {
            return Ok(total);
        };
        let symbols = self.open_symbols().await?;
        if symbols.is_empty() {
            return Ok(total);
        }
        log::warn!("downtime_gap from={from} to={to} symbols={}", symbols.len());
        self.judge_gap(&klines, from, to, symbols).await
    }

    /// Before a pass: try again the symbols whose downtime bars could not be fetched,
    /// as long as they have open positions.
    ///
    /// # Errors
    /// [`OmsError::Storage`] or [`OmsError::Stopped`] (the gap is kept).
    pub(crate) async fn retry_gap(&self) -> Result<PassReport, OmsError> {
        let Some(left) = self.0.gap.lock().clone() else {
            return Ok(PassReport::default());
        };
        let Some(klines) = self.0.deps.klines.clone() else {
            return Ok(PassReport::default());
        };
        let open = self.open_symbols().await?;
        let symbols: Vec<String> = open
            .into_iter()
            .filter(|s| left.symbols.contains_key(s))
            .collect();
        if symbols.is_empty() {
            *self.0.gap.lock() = None;
            return Ok(PassReport::default());
        }
        log::warn!(
            "downtime_gap_retry from={} to={} symbols={}",
            left.from,
            left.to,
            symbols.len()
        );
        self.judge_gap(&klines, left.from, left.to, symbols).await
    }

    /// Fetch the bars `[from, to)` of `symbols` and judge them in time order; symbols
    /// whose bars cannot be fetched are kept in the gap (and the rest cleared from it).
    async fn judge_gap(
        &self,
        klines: &std::sync::Arc<dyn loms_price_source::KlineSource>,
        from: Timestamp,
        to: Timestamp,
        symbols: Vec<String>,
    ) -> Result<PassReport, OmsError> {
        let mut total = PassReport::default();
        let mut failed = BTreeMap::new();
        // Bars by start time, across symbols.
        let mut by_time: BTreeMap<Timestamp, Market> = Default::default();
        for symbol in symbols {
            let src = klines.clone();
            let sym = symbol.clone();
            let bars = tokio::task::spawn_blocking(move || src.klines_1m(&sym, from, to))
                .await
                .map_err(|e| OmsError::Storage(format!("kline task failed: {e}")))?;
            match bars {
                Ok(bars) => {
                    // Whatever a source answers, only finished bars of the window.
                    for b in bars.into_iter().filter(|b| b.start >= from && b.start < to) {
                        let end = b.start + minute();
                        by_time.entry(b.start).or_default().insert(
                            symbol.clone(),
                            Tick {
                                price: b.close,
                                quote: PriceQuote::flat(symbol.clone(), b.close, end),
                                bar: Some(Bar {
                                    open: b.open,
                                    high: b.high,
                                    low: b.low,
                                }),
                                bar_start: Some(b.start),
                            },
                        );
                    }
                }
                Err(e) => {
                    log::error!("downtime_gap_klines_failed symbol={symbol} error=\"{e}\"");
                    failed.insert(symbol, e.to_string());
                }
            }
        }
        // Until every bar is judged, every symbol stays unchecked (a storage error below
        // leaves the whole window to the next pass).
        let mut unchecked = failed.clone();
        for market in by_time.values() {
            for symbol in market.keys() {
                unchecked
                    .entry(symbol.clone())
                    .or_insert_with(|| "bars fetched, not judged yet".into());
            }
        }
        *self.0.gap.lock() = (!unchecked.is_empty()).then_some(Left {
            from,
            to,
            symbols: unchecked,
        });
        for (start, market) in by_time {
            let at = Some(start + minute());
            let r = self
                .ask(|reply| Write::Pass {
                    market,
                    at,
                    reply,
                    progress: None,
                    keep_closed: true,
                })
                .await?;
            for c in &r.closed {
                log::warn!(
                    "downtime_gap_close id={} symbol={} reason={} price={} at={}",
                    c.id,
                    c.symbol,
                    c.auto_close_reason.map_or("-", |r| r.as_str()),
                    c.close_price.unwrap_or_default(),
                    c.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                );
            }
            total.checked += r.checked;
            total.closed_count += r.closed_count;
            total.closed.extend(r.closed);
        }
        *self.0.gap.lock() = (!failed.is_empty()).then_some(Left {
            from,
            to,
            symbols: failed,
        });
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2025, 12, 1, h, m, s).unwrap()
    }

    #[test]
    fn the_window_holds_the_minute_of_the_last_check_and_every_finished_minute_after() {
        // Last watched at 10:05:40, back at 10:15:30: the bars of 10:05 (whole) to
        // 10:14; not the unfinished 10:15.
        assert_eq!(
            window(at(10, 5, 40), at(10, 15, 30)),
            Some((at(10, 5, 0), at(10, 15, 0)))
        );
        // A check on the minute: that minute's bar is the first.
        assert_eq!(
            window(at(10, 5, 0), at(10, 6, 0)),
            Some((at(10, 5, 0), at(10, 6, 0)))
        );
        // No bar finished since the check (or the clock went back): nothing.
        assert_eq!(window(at(10, 5, 40), at(10, 5, 59)), None);
        assert_eq!(window(at(10, 5, 40), at(10, 1, 0)), None);
    }
}
