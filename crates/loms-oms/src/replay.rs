//! Offline replay: signals and klines through the same writer as the server — the same
//! risk checks, paper broker and exit policies, on an in-memory database — so shadow
//! results can be checked against history before real money is involved.
//!
//! Timing rules:
//! - a signal is handled at its receive time (the audit file's `ts`; a CSV's `timestamp`);
//! - bars are evaluated at their end (start + interval), first the bar that starts at or
//!   after the signal, so no price from before the signal is used;
//! - inside a bar, exits use the bar's high and low and fill at the level touched; when
//!   TP and SL both fall inside one bar the stop wins (the path inside a bar is unknown;
//!   assuming the worse is the honest choice);
//! - only symbols with an open position are looked at, and stretches without any open
//!   position are skipped, so a year of minute bars replays in about a second.

use crate::audit::AuditLog;
use crate::book::Book;
use crate::deps::paper_sim;
use crate::entry::EntryQuote;
use crate::metrics::Metrics;
use crate::stats::{Stats, TradeLog};
use crate::writer::{Cmd, Ctx, Market, Tick, Write, Writer};
use crate::{OmsError, Settings, idempotency_key, validate_signal};
use loms_domain::{ManualClock, Position, PositionStatus, PriceQuote, Timestamp};
use loms_exit_engine::{Bar, PolicyRegistry};
use loms_price_source::{KlineSeries, ReplayPriceSource};
use loms_storage::{PositionFilter, Store, TradeFilter};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A signal to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySignal {
    /// When the server received it (the replay clock at submission).
    pub received_at: Timestamp,
    /// The body as the bot sent it.
    pub payload: Value,
    /// The `Idempotency-Key` header it came with.
    pub key: Option<String>,
}

impl ReplaySignal {
    /// Read the audit JSONL written by loms-server. Lines that are not signals, or whose
    /// body was not JSON, are skipped (they opened nothing).
    ///
    /// # Errors
    /// A message naming the first line that is not an audit record.
    pub fn from_audit(text: &str) -> Result<Vec<Self>, String> {
        let mut out = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
            if v.get("type").and_then(Value::as_str) != Some("bounce_signal") {
                continue;
            }
            let ts = v
                .get("ts")
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .ok_or_else(|| format!("line {}: no valid ts", n + 1))?;
            let Some(payload) = v.get("payload").filter(|p| p.is_object()) else {
                continue;
            };
            out.push(Self {
                received_at: ts.with_timezone(&chrono::Utc),
                payload: payload.clone(),
                key: v
                    .get("idempotency_key")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
        Ok(out)
    }

    /// Read a CSV (RFC 4180: quoted fields allowed) with a header naming the bot's
    /// fields, at least `timestamp,symbol,side,price` (also `tp_pct`, `sl_pct`, `qty`,
    /// `exit_strategy`, `signal_id`, `strategy`, `exchange`). The signal is handled at its
    /// `timestamp`.
    ///
    /// `loms-ctl export`'s CSV is read too: without a `timestamp` column, a row's signal
    /// is its `signal_time` and `signal_price` (with `symbol`, `side`, `opened_qty` as
    /// the `qty` — else `qty` —, `exit_strategy`, `strategy`, `signal_id`); rows without
    /// a `signal_time` are manual orders, not signals, and are skipped.
    ///
    /// # Errors
    /// A message naming the bad line.
    pub fn from_csv(text: &str) -> Result<Vec<Self>, String> {
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut header: Vec<String> = reader
            .headers()
            .map_err(|e| format!("bad CSV header: {e}"))?
            .iter()
            .map(str::to_ascii_lowercase)
            .collect();
        if header.iter().all(String::is_empty) {
            return Err("empty CSV".into());
        }
        let exported =
            !header.iter().any(|h| h == "timestamp") && header.iter().any(|h| h == "signal_time");
        if exported {
            // An export row's own `price`-like columns are the position's, not the signal's,
            // and its `qty` what is left open (or what the last close took): the signal's
            // size is `opened_qty`.
            let opened = header.iter().any(|h| h == "opened_qty");
            for h in &mut header {
                match h.as_str() {
                    "signal_time" => *h = "timestamp".into(),
                    "signal_price" => *h = "price".into(),
                    "opened_qty" => *h = "qty".into(),
                    "qty" if opened => h.clear(),
                    "symbol" | "side" | "qty" | "exit_strategy" | "strategy" | "signal_id" => {}
                    _ => h.clear(),
                }
            }
        }
        for need in ["timestamp", "symbol", "side", "price"] {
            if !header.iter().any(|h| h == need) {
                return Err(format!("CSV header lacks {need}: {}", header.join(",")));
            }
        }
        let mut out = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| format!("bad CSV: {e}"))?;
            let line = record.position().map_or(0, csv::Position::line);
            let payload: serde_json::Map<String, Value> = header
                .iter()
                .zip(record.iter())
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                .collect();
            if exported && !payload.contains_key("timestamp") {
                continue; // a manual order
            }
            let payload = Value::Object(payload);
            let ts = loms_domain::signal::parse_time("timestamp", &payload["timestamp"])
                .map_err(|e| format!("line {line}: {e}"))?;
            out.push(Self {
                received_at: ts,
                payload,
                key: None,
            });
        }
        Ok(out)
    }
}

/// What a replay produced: the same figures as `/stats`, and the trades.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// Figures of the closed trades.
    pub stats: Stats,
    /// Closed positions, by id.
    pub trades: Vec<Position>,
    /// Positions still open when the klines ran out.
    pub still_open: Vec<Position>,
    /// Signals handled, by outcome (`opened`, `risk_blocked`, `duplicate`, `rejected`...).
    pub signals: std::collections::BTreeMap<String, u64>,
    /// Bars looked at (bars of symbols with an open position).
    pub bars_evaluated: u64,
    /// Bars in the files.
    pub bars_total: u64,
}

/// Replay `signals` over `series` with the settings' risk limits, sizing, fees and exit
/// policies. `progress(done, total)` is called now and then with bars consumed.
///
/// # Errors
/// [`OmsError::Storage`] if the in-memory database fails.
pub fn replay(
    settings: &Settings,
    mut signals: Vec<ReplaySignal>,
    series: Vec<KlineSeries>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ReplayReport, OmsError> {
    signals.sort_by_key(|s| s.received_at);
    let start = signals
        .first()
        .map(|s| s.received_at)
        .or_else(|| {
            series
                .iter()
                .filter_map(|s| s.bars.first())
                .map(|b| b.start)
                .min()
        })
        .unwrap_or_default();
    let clock = Arc::new(ManualClock::new(start));
    let policies = PolicyRegistry::new(settings.exit_params());
    let store = Store::open_in_memory()?;
    let book = Book::load(&store, start, true, crate::retention(settings))?;
    let ctx = offline_ctx(settings, clock.clone(), &book, store.client_oid_tag()?);
    let mut w = Writer::new(store, book, ctx);
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    let bars_total: u64 = series.iter().map(|s| s.bars.len() as u64).sum();
    let mut cursor = vec![0usize; series.len()];
    let (mut bars_evaluated, mut next_signal) = (0u64, 0usize);
    let mut last_report = 0u64;

    loop {
        let done: u64 = cursor.iter().map(|c| *c as u64).sum();
        if done - last_report >= 200_000 {
            progress(done, bars_total);
            last_report = done;
        }
        // Nothing open: jump straight to the next signal.
        if w.book.open.is_empty() {
            let Some(sig) = signals.get(next_signal) else {
                break;
            };
            for (c, s) in cursor.iter_mut().zip(&series) {
                *c = (*c).max(s.bars.partition_point(|b| b.start < sig.received_at));
            }
        }
        let next_bar = series
            .iter()
            .zip(&cursor)
            .filter_map(|(s, c)| s.bars.get(*c).map(|b| b.start))
            .min();
        // Signals received before the next bar starts go first.
        while let Some(sig) = signals.get(next_signal)
            && next_bar.is_none_or(|t| sig.received_at < t)
        {
            clock.set(sig.received_at);
            let outcome = submit(&mut w, settings, &policies, sig);
            *outcomes.entry(outcome).or_default() += 1;
            next_signal += 1;
        }
        let Some(t) = next_bar else { break };
        let mut market = Market::with_capacity(series.len());
        let mut end = t;
        for (i, s) in series.iter().enumerate() {
            let Some(b) = s.bars.get(cursor[i]).filter(|b| b.start == t) else {
                continue;
            };
            cursor[i] += 1;
            if w.book.symbols_contains(&s.symbol) {
                let bar_end = t + s.interval;
                end = end.max(bar_end);
                market.insert(
                    s.symbol.clone(),
                    Tick {
                        price: b.close,
                        quote: PriceQuote::flat(s.symbol.clone(), b.close, bar_end),
                        bar: Some(Bar {
                            open: b.open,
                            high: b.high,
                            low: b.low,
                        }),
                        bar_start: Some(t),
                    },
                );
            }
        }
        if !market.is_empty() {
            bars_evaluated += market.len() as u64;
            clock.set(end);
            let (reply, mut rx) = oneshot::channel();
            w.process(vec![Cmd::Write(Write::Pass {
                market,
                at: Some(end),
                reply,
                progress: None,
                keep_closed: false,
            })]);
            rx.try_recv().map_err(|_| OmsError::Stopped)??;
        }
    }
    progress(bars_total, bars_total);
    let closed = w.store.positions(&PositionFilter {
        status: Some(PositionStatus::Closed),
        ..Default::default()
    })?;
    let mut trades = closed;
    trades.sort_by_key(|p| p.id);
    let still_open = w.store.open_positions()?;
    let stats = w
        .ctx
        .trades
        .stats(&TradeFilter::default(), still_open.len() as u64);
    Ok(ReplayReport {
        stats,
        trades,
        still_open,
        signals: outcomes,
        bars_evaluated,
        bars_total,
    })
}

/// Hand one signal to the writer, as `Oms::handle_signal` does; returns its outcome.
fn submit(
    w: &mut Writer,
    settings: &Settings,
    policies: &PolicyRegistry,
    sig: &ReplaySignal,
) -> String {
    let signal = match validate_signal(&sig.payload, settings, policies, sig.received_at) {
        Ok(s) => s,
        Err(_) => return "rejected".into(),
    };
    let key = idempotency_key(&signal, sig.key.as_deref());
    let (reply, mut rx) = oneshot::channel::<Result<crate::writer::Accepted, OmsError>>();
    w.process(vec![Cmd::Write(Write::Signal {
        signal: Box::new(signal),
        key,
        payload_text: sig.payload.to_string(),
        // Bars, not quotes: a replayed entry fills at the signal's price (docs/replay.md).
        entry: EntryQuote::SignalPrice,
        reply,
    })]);
    match rx.try_recv() {
        Ok(Ok(a)) => a.answer.outcome().to_string(),
        Ok(Err(e)) => format!("error: {}", e.code()),
        Err(_) => "error: no answer".into(),
    }
}

impl std::fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:>6} {:<12} {:<5} {:>14} {:>14} {:>12} {:<11}",
            "id", "symbol", "side", "entry", "close", "pnl", "reason"
        )?;
        for p in &self.trades {
            writeln!(
                f,
                "{:>6} {:<12} {:<5} {:>14} {:>14} {:>12} {:<11}",
                p.id,
                p.symbol,
                p.side,
                p.entry_price.to_string(),
                p.close_price.map_or("-".into(), |d| d.to_string()),
                p.pnl.map_or("-".into(), |d| d.round_dp(4).to_string()),
                p.auto_close_reason.map_or("-", |r| r.as_str()),
            )?;
        }
        Ok(())
    }
}

/// A writer's context with no outside world: the paper broker with the settings' fees,
/// no price source (prices come as ticks), no audit file.
pub(crate) fn offline_ctx(
    settings: &Settings,
    clock: Arc<ManualClock>,
    book: &Book,
    oid_tag: String,
) -> Ctx {
    Ctx {
        clock: clock.clone(),
        oid_tag,
        executor: None,
        breaker_limits: crate::breakers::BreakerLimits::from_settings(settings),
        doubts: Arc::default(),
        execution: Arc::new(paper_sim(settings)),
        paper: paper_sim(settings),
        // The writer asks no price of its source here (bars come as ticks): an empty one,
        // rather than a copy of millions of bars.
        prices: Arc::new(ReplayPriceSource::new([], clock.clone())),
        policies: PolicyRegistry::new(settings.exit_params()),
        limits: settings.risk.clone(),
        sizing: settings.sizing,
        default_exit: settings.exit_strategy.clone(),
        min_age: chrono::Duration::from_std(settings.min_position_age).unwrap_or_default(),
        oms_enabled: true,
        trading: Arc::new(Mutex::new(book.trading.clone())),
        metrics: Arc::new(Metrics::default()),
        trades: Arc::new(TradeLog::default()),
        audit: Arc::new(AuditLog::discard()),
        failure: Arc::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_position_replays_with_the_size_it_opened() {
        // Partly closed: 0.5 left of the 2 the signal opened.
        let csv = "id,symbol,side,qty,entry_price,status,signal_price,signal_time,opened_qty\n\
                   7,BTCUSDT,long,0.5,100.1,open,100,2025-12-01T10:00:00Z,2\n";
        let s = ReplaySignal::from_csv(csv).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].payload["qty"], "2");
        assert_eq!(s[0].payload["price"], "100");
        // An export from before opened_qty: its qty.
        let old = "id,symbol,side,qty,signal_price,signal_time\n\
                   7,BTCUSDT,long,0.5,100,2025-12-01T10:00:00Z\n";
        assert_eq!(
            ReplaySignal::from_csv(old).unwrap()[0].payload["qty"],
            "0.5"
        );
    }
}
