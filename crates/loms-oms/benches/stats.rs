//! The read side:
//!
//! * `stats/100000_closed`: `Oms::stats` (what `GET /stats` computes) over 100,000
//!   closed positions, with no filter, a `since` of 7 days and a symbol.
//!   Target (issue 5): at most 5 ms.
//! * `positions/10000`: `GET /positions/` with 10,000 positions, as the route runs it
//!   (`Oms::positions_json`, JSON written from the rows): the full list (target 20 ms)
//!   and `limit=100` (target 1 ms); and the typed library call `Oms::positions`.
//!
//! History is written straight into SQLite with `loms_storage::Tx` in one
//! transaction before the OMS starts on that file (which loads it as at a restart).
//!
//! `cargo bench -p loms-oms --bench stats`

mod common;

use common::{runtime, seed_closed, settings, start, symbol};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use loms_storage::{PositionFilter, TradeFilter};
use std::time::Duration;

fn stats(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let now = chrono::Utc::now();
    seed_closed(&settings(dir.path()).database_path, 100_000, 100, now);
    let oms = start(dir.path());
    let all = rt
        .block_on(oms.stats(TradeFilter::default()))
        .expect("stats");
    assert_eq!(all.closed_positions, 100_000, "the OMS loaded the history");
    let mut g = c.benchmark_group("stats");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let filters = [
        ("all", TradeFilter::default()),
        (
            "since_7d",
            TradeFilter {
                since: Some(now - chrono::Duration::days(7)),
                ..TradeFilter::default()
            },
        ),
        (
            "symbol",
            TradeFilter {
                symbol: Some(symbol(42)),
                ..TradeFilter::default()
            },
        ),
    ];
    for (name, filter) in filters {
        g.bench_function(BenchmarkId::new("100000_closed", name), |b| {
            b.iter(|| rt.block_on(oms.stats(filter.clone())).expect("stats"));
        });
    }
    g.finish();
    rt.block_on(oms.shutdown());
}

fn positions(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    seed_closed(
        &settings(dir.path()).database_path,
        10_000,
        100,
        chrono::Utc::now(),
    );
    let oms = start(dir.path());
    let full = PositionFilter::default();
    let page = PositionFilter {
        limit: Some(100),
        ..PositionFilter::default()
    };
    let n = rt
        .block_on(oms.positions(full.clone()))
        .expect("positions")
        .len();
    assert_eq!(n, 10_000, "full list");
    let mut g = c.benchmark_group("positions");
    // The full list takes tens of ms: flat sampling keeps it to ~10 iterations per sample.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    // What GET /positions/ runs: JSON written straight from the rows.
    g.bench_function(BenchmarkId::new("10000", "full_json"), |b| {
        b.iter(|| {
            rt.block_on(oms.positions_json(full.clone()))
                .expect("positions_json")
                .len()
        });
    });
    g.bench_function(BenchmarkId::new("10000", "limit_100_json"), |b| {
        b.iter(|| {
            rt.block_on(oms.positions_json(page.clone()))
                .expect("positions_json")
                .len()
        });
    });
    // The library call, typed positions.
    g.bench_function(BenchmarkId::new("10000", "full_typed"), |b| {
        b.iter(|| rt.block_on(oms.positions(full.clone())).expect("positions"));
    });
    g.bench_function(BenchmarkId::new("10000", "limit_100_typed"), |b| {
        b.iter(|| rt.block_on(oms.positions(page.clone())).expect("positions"));
    });
    g.finish();
    rt.block_on(oms.shutdown());
}

criterion_group!(benches, stats, positions);
criterion_main!(benches);
