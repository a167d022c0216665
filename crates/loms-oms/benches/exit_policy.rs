//! Exit-policy evaluations per second: `tp_sl_static` (`TpSlStatic::on_price`) over
//! 10,000 positions (longs and shorts) at prices of which about a third hit TP or SL,
//! called directly and through the `PolicyRegistry` lookup the auto-close pass does.
//!
//! `cargo bench -p loms-oms --bench exit_policy`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use loms_domain::{Decimal, Position, Side};
use loms_exit_engine::{ExitContext, ExitPolicy, PolicyRegistry, TpSlStatic};
use std::hint::black_box;
use std::time::Duration;

const N: usize = 10_000;

fn positions() -> (Vec<Position>, Vec<ExitContext>) {
    let now = chrono::Utc::now();
    let mut ps = Vec::with_capacity(N);
    let mut ctxs = Vec::with_capacity(N);
    for i in 0..N {
        let side = if i % 2 == 0 { Side::Long } else { Side::Short };
        let entry = Decimal::from(100);
        let mut p = Position::open(
            format!("S{:03}USDT", i % 100),
            side,
            Decimal::ONE,
            entry,
            now,
        );
        let (tp, sl) = match side {
            Side::Long => (Decimal::from(104), Decimal::from(98)),
            Side::Short => (Decimal::from(96), Decimal::from(102)),
        };
        p.tp_price = Some(tp);
        p.sl_price = Some(sl);
        ps.push(p);
        // Prices 94.00 .. 105.99: inside the band for most, past TP or SL for the rest.
        let price = Decimal::new(9400 + ((i * 37) % 1200) as i64, 2);
        ctxs.push(ExitContext {
            price,
            now,
            bar: None,
        });
    }
    (ps, ctxs)
}

fn exit_policy(c: &mut Criterion) {
    let (ps, ctxs) = positions();
    let registry = PolicyRegistry::default();
    let fallback = registry
        .get("tp_sl_static")
        .expect("tp_sl_static registered");
    let direct = TpSlStatic;
    let closes = ps
        .iter()
        .zip(&ctxs)
        .filter(|(p, x)| !direct.on_price(p, x).expect("decides").is_empty())
        .count();
    assert!(closes > 0 && closes < N, "a mix of closes and holds");
    let mut g = c.benchmark_group("exit_policy");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("tp_sl_static/on_price", |b| {
        b.iter(|| {
            let mut acts = 0;
            for (p, x) in ps.iter().zip(&ctxs) {
                acts += direct
                    .on_price(black_box(p), black_box(x))
                    .map_or(0, |a| a.len());
            }
            acts
        });
    });
    g.bench_function("tp_sl_static/registry_dyn", |b| {
        b.iter(|| {
            let mut acts = 0;
            for (p, x) in ps.iter().zip(&ctxs) {
                let policy = registry
                    .get(black_box(&p.exit_strategy))
                    .unwrap_or(fallback);
                acts += policy
                    .on_price(black_box(p), black_box(x))
                    .map_or(0, |a| a.len());
            }
            acts
        });
    });
    g.finish();
}

criterion_group!(benches, exit_policy);
criterion_main!(benches);
