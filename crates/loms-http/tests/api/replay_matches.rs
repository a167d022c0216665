//! `loms-replay` over the audit file of a server run reproduces that run's trades.

use crate::harness::{TestServer, nth_signal};
use chrono::Duration;
use loms_oms::replay::{ReplaySignal, replay};
use loms_price_source::{Kline, KlineSeries};
use rust_decimal::Decimal;
use serde_json::json;
use std::str::FromStr;

#[tokio::test]
async fn replaying_the_audit_file_gives_the_same_trades_as_the_server() {
    let srv = TestServer::start(|s| s.fee_taker_bps = Decimal::from(6)).await;
    let t = |m: i64, s: i64| crate::harness::t0() + Duration::minutes(m) + Duration::seconds(s);
    // Signals at 10:06:10..30 (the clock started at 10:05:30).
    let signals = [
        json!({"symbol": "BTCUSDT", "side": "long", "price": 100, "qty": 1}),
        json!({"symbol": "ETHUSDT", "side": "short", "price": 200, "qty": 1, "exit_strategy": "trailing_v1"}),
        json!({"symbol": "BTCUSDT", "side": "long", "price": 100, "qty": 1, "exit_strategy": "trailing_v1"}),
    ];
    for (i, sig) in signals.iter().enumerate() {
        srv.clock.set(t(0, 40 + 10 * i as i64));
        let (st, a) = srv
            .post("/signals/bounce", &nth_signal(i as u32, sig.clone()))
            .await;
        assert_eq!((st, a["risk_ok"].as_bool()), (200, Some(true)), "{a}");
    }
    // Prices at each whole minute from 10:08: the server passes then; the klines hold the
    // same price as a flat bar ending at that minute.
    let path: [(&str, [&str; 4]); 2] = [
        ("BTCUSDT", ["101", "103", "101.5", "105"]),
        ("ETHUSDT", ["199", "195", "197", "190"]),
    ];
    let minute0 = crate::harness::t0() + Duration::seconds(30) + Duration::minutes(2); // 10:08:00
    for k in 0..4 {
        let at = minute0 + Duration::minutes(k as i64);
        srv.clock.set(at);
        for (sym, prices) in &path {
            srv.post(
                &format!("/market/price/{}?symbol={sym}", prices[k]),
                &json!(null),
            )
            .await;
        }
        srv.oms.auto_close_pass().await.unwrap();
    }
    let (_, closed) = srv.get("/positions/?status=closed").await;
    let mut server_trades: Vec<serde_json::Value> = closed.as_array().unwrap().clone();
    server_trades.sort_by_key(|p| p["id"].as_i64());
    assert_eq!(server_trades.len(), 3, "{closed}");

    // Replay the audit file over the klines.
    let audit = std::fs::read_to_string(srv.dir.path().join("signals_audit.jsonl")).unwrap();
    let replay_signals = ReplaySignal::from_audit(&audit).unwrap();
    let series: Vec<KlineSeries> = path
        .iter()
        .map(|(sym, prices)| {
            let bars = prices
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    let p = Decimal::from_str(p).unwrap();
                    let start = minute0 + Duration::minutes(k as i64 - 1);
                    Kline {
                        start,
                        open: p,
                        high: p,
                        low: p,
                        close: p,
                    }
                })
                .collect();
            KlineSeries::new(sym.to_string(), bars).unwrap()
        })
        .collect();
    let settings = srv.oms.settings().clone();
    let report = replay(&settings, replay_signals, series, &mut |_, _| {}).unwrap();

    let view = |p: &serde_json::Value| {
        (
            p["id"].as_i64(),
            p["symbol"].as_str().map(str::to_string),
            p["auto_close_reason"].as_str().map(str::to_string),
            p["close_price"].as_f64(),
            p["pnl"].as_f64(),
            p["fees"].as_f64(),
        )
    };
    let replayed: Vec<_> = report
        .trades
        .iter()
        .map(|p| view(&serde_json::to_value(p).unwrap()))
        .collect();
    let served: Vec<_> = server_trades.iter().map(view).collect();
    assert_eq!(replayed, served);
    let reasons: Vec<_> = served.iter().map(|v| v.2.clone().unwrap()).collect();
    assert_eq!(reasons, vec!["tp", "trailing_sl", "trailing_sl"]);
    let (_, stats) = srv.get("/stats").await;
    assert_eq!(
        stats["total_pnl"].as_f64(),
        Some(report.stats.total_pnl.to_string().parse::<f64>().unwrap())
    );
}
