//! Replay of a small kline fixture whose trades were worked out by hand
//! (tests/fixtures/replay; the reasoning is in docs/replay.md, "Worked example").

use loms_oms::replay::{ReplaySignal, replay};
use loms_price_source::KlineSeries;
use rust_decimal::Decimal;
use std::path::Path;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn hand_checked_trades_and_figures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay");
    let signals =
        ReplaySignal::from_csv(&std::fs::read_to_string(dir.join("signals.csv")).unwrap()).unwrap();
    let series = vec![
        KlineSeries::from_file(&dir.join("BTCUSDT_1m.csv"), None).unwrap(),
        KlineSeries::from_file(&dir.join("ETHUSDT_1m.json"), None).unwrap(),
    ];
    let mut settings = loms_config::Settings::for_tests(Path::new("/nonexistent"));
    settings.fee_taker_bps = Decimal::ZERO;
    let mut calls = 0;
    let r = replay(&settings, signals, series, &mut |_, _| calls += 1).unwrap();
    assert!(calls >= 1);

    let trades: Vec<(String, &str, Decimal, Decimal)> = r
        .trades
        .iter()
        .map(|p| {
            (
                p.symbol.clone(),
                p.auto_close_reason.unwrap().as_str(),
                p.close_price.unwrap(),
                p.pnl.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        trades,
        vec![
            ("ETHUSDT".into(), "tp", d("191"), d("4.5")),
            ("BTCUSDT".into(), "tp", d("104.5"), d("4.5")),
            ("ETHUSDT".into(), "sl", d("193.865"), d("-2.865")),
            ("BTCUSDT".into(), "sl", d("102.44"), d("-1.56")),
            ("BTCUSDT".into(), "break_even", d("98"), d("0")),
        ]
    );
    assert!(r.still_open.is_empty());
    assert_eq!(r.signals.get("opened"), Some(&5));
    assert_eq!(r.signals.get("duplicate"), Some(&1));
    assert_eq!(r.signals.get("rejected"), Some(&1));
    assert_eq!((r.bars_total, r.bars_evaluated), (10, 7));

    let s = &r.stats;
    assert_eq!(
        (s.closed_positions, s.winning_trades, s.losing_trades),
        (5, 2, 2)
    );
    assert_eq!(s.total_pnl, d("4.575"));
    assert!((s.winrate - 40.0).abs() < 1e-9);
    assert_eq!(s.max_drawdown, d("4.425"));
    assert_eq!(s.profit_factor, Some(d("2.03389831")));
    assert_eq!(
        (s.avg_pnl_per_trade, s.expectancy),
        (d("0.915"), d("0.915"))
    );
    assert_eq!(s.by_close_reason.get("break_even"), Some(&1));
}
