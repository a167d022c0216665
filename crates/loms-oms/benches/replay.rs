//! Replay throughput (`loms_oms::replay::replay`, what `loms-replay` runs): one year of
//! one-minute bars for 10 symbols (5,256,000 bars, a seeded random walk of about 0.1 %
//! a minute) with 1,000 signals (TP 4.5 %, SL 1.5 %) spread over the year.
//! Target (issue 5): at most 1 s. Throughput is in bars of the files per second.
//!
//! `cargo bench -p loms-oms --bench replay`

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use loms_domain::Decimal;
use loms_oms::replay::{ReplaySignal, replay};
use loms_price_source::{Kline, KlineSeries, SplitMix64};
use std::time::Duration;

const SYMBOLS: usize = 10;
const MINUTES: usize = 365 * 24 * 60;
const SIGNALS: usize = 1_000;

/// Uniform in (-1, 1] from the simulator's seeded generator, so every run replays the same year.
fn signed(rng: &mut SplitMix64) -> f64 {
    2.0 * rng.unit() - 1.0
}

fn year() -> (Vec<KlineSeries>, Vec<ReplaySignal>) {
    let mut rng = SplitMix64(2025);
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .expect("start")
        .with_timezone(&chrono::Utc);
    let minute = chrono::Duration::minutes(1);
    let series: Vec<KlineSeries> = (0..SYMBOLS)
        .map(|s| {
            // Prices in units of 1e-4, walking ~0.1 % a minute around 100 * (s + 1).
            let mut close = 1_000_000i64 * (s as i64 + 1);
            let bars = (0..MINUTES)
                .map(|m| {
                    let open = close;
                    let step = (open as f64 * 0.0017 * signed(&mut rng)) as i64;
                    close = (open + step).max(10_000);
                    let wick = (open as f64 * 0.0005 * (signed(&mut rng) + 1.0)) as i64;
                    Kline {
                        start: start + minute * m as i32,
                        open: Decimal::new(open, 4),
                        high: Decimal::new(open.max(close) + wick, 4),
                        low: Decimal::new(open.min(close) - wick, 4),
                        close: Decimal::new(close, 4),
                    }
                })
                .collect();
            KlineSeries {
                symbol: format!("R{s}USDT"),
                interval: minute,
                bars,
            }
        })
        .collect();
    let signals = (0..SIGNALS)
        .map(|i| {
            let s = (rng.next_u64() % SYMBOLS as u64) as usize;
            let m = (rng.next_u64() % (MINUTES as u64 - 1)) as usize;
            let bar = &series[s].bars[m];
            let at = bar.start + chrono::Duration::seconds(30);
            let side = if i % 2 == 0 { "long" } else { "short" };
            ReplaySignal {
                received_at: at,
                payload: serde_json::json!({"symbol": series[s].symbol, "side": side,
                    "price": bar.close.to_string(), "timestamp": at.to_rfc3339(),
                    "tp_pct": 4.5, "sl_pct": 1.5}),
                key: None,
            }
        })
        .collect();
    (series, signals)
}

fn replay_year(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = loms_config::Settings::for_tests(dir.path());
    let (series, signals) = year();
    let bars: u64 = series.iter().map(|s| s.bars.len() as u64).sum();
    let first = replay(&settings, signals.clone(), series.clone(), &mut |_, _| {}).expect("replay");
    assert_eq!(first.bars_total, bars, "every bar counted");
    assert_eq!(
        first.signals.get("opened").copied().unwrap_or(0),
        SIGNALS as u64,
        "every signal opened: {:?}",
        first.signals
    );
    let mut g = c.benchmark_group("replay");
    // About a second per iteration plus a copy of the input: keep to ~10 iterations.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(10));
    g.throughput(Throughput::Elements(bars));
    g.bench_function("year_10_symbols_1000_signals", |b| {
        b.iter_batched(
            || (signals.clone(), series.clone()),
            |(s, k)| replay(&settings, s, k, &mut |_, _| {}).expect("replay"),
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, replay_year);
criterion_main!(benches);
