//! Paper entries on exchange prices fill like exits: a long at the ask, a short at the
//! bid, at the quote of the moment, slippage against the trader; without a quote a
//! signal opens nothing (503) and stores nothing.

use crate::fake_bitget::FakeBitget;
use crate::harness::{nth_signal, t0};
use rust_decimal::Decimal;
use serde_json::json;

#[tokio::test]
async fn entries_fill_at_the_ask_or_bid_of_the_moment_with_slippage_against_the_trader() {
    let fake = FakeBitget::start("100", t0());
    let srv = fake
        .server(|s| {
            s.slippage_bps = Decimal::from(10);
            s.risk.max_open_positions_per_symbol = None;
        })
        .await;
    // The market moved since the bot's signal at 100.
    fake.quote("101", "100.95", "101.05", t0());
    let tickers_before = fake.hits.lock().unwrap().len();
    let long = nth_signal(0, json!({"qty": 1, "price": 100, "side": "long"}));
    let (st, a) = srv.post("/signals/bounce", &long).await;
    assert_eq!(st, 200, "{a}");
    // The ask, plus 0.1 %: 101.05 × 1.001. TP/SL from the fill.
    assert_eq!(a["entry_price"], json!(101.15105), "{a}");
    assert_eq!(a["sl_price"], json!(99.63378425), "{a}");
    let short = nth_signal(1, json!({"qty": 1, "price": 100, "side": "short"}));
    let (st, a) = srv.post("/signals/bounce", &short).await;
    assert_eq!(st, 200, "{a}");
    // The bid, minus 0.1 %: 100.95 × 0.999.
    assert_eq!(a["entry_price"], json!(100.84905), "{a}");
    assert_eq!(
        fake.hits.lock().unwrap().len(),
        tickers_before + 2,
        "one ticker request per entry"
    );
    // The signal→entry slippage is there to measure.
    let (_, open) = srv.get("/positions/?status=open").await;
    let slippage: Vec<f64> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["entry_price"].as_f64().unwrap() - p["signal_price"].as_f64().unwrap())
        .collect();
    assert!(slippage.iter().all(|s| s.abs() > 0.8), "{slippage:?}");
    // /stats measures it on the closed trades, against the trader: the long bought
    // 115.105 bps above the signal, the short sold 84.905 bps above it (in its favour).
    for p in open.as_array().unwrap() {
        let (st, c) = srv
            .post(&format!("/positions/{}/close", p["id"]), &json!({}))
            .await;
        assert_eq!(st, 200, "{c}");
    }
    let (_, stats) = srv.get("/stats").await;
    assert_eq!(
        stats["entry_slippage_bps"],
        json!({"trades": 2, "avg": 15.1, "max": 115.11}),
        "{stats}"
    );
    assert_eq!(stats["signal_to_fill_ms"]["trades"], 2, "{stats}");
    // Paper entries are the paper fill: no shadow price, no drift to show.
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|p| p["paper_entry_price"].is_null()),
        "{open}"
    );
    assert_eq!(stats["shadow_drift_bps"], json!(null), "{stats}");
}

#[tokio::test]
async fn without_a_quote_a_signal_opens_nothing_and_its_retry_is_handled_afresh() {
    let fake = FakeBitget::start("100", t0());
    let srv = fake.server(|_| {}).await;
    fake.book.lock().unwrap().fail = true;
    let signal = nth_signal(0, json!({"qty": 1, "price": 100}));
    let (st, e) = srv.post("/signals/bounce", &signal).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (503, Some("price_unavailable")),
        "{e}"
    );
    assert!(e["detail"].as_str().unwrap().contains("HTTP 500"), "{e}");
    assert_eq!((srv.count("positions"), srv.count("signals")), (0, 0));
    let audit = srv.audit_lines();
    assert_eq!(
        audit.last().unwrap()["outcome"]["error"],
        "price_unavailable"
    );

    // The exchange answers again: the same signal opens, at the quote, not a duplicate.
    fake.quote("100.1", "100.05", "100.15", t0());
    let (st, a) = srv.post("/signals/bounce", &signal).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(
        (a["risk_ok"].as_bool(), a["duplicate"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(a["entry_price"], json!(100.15), "{a}");
}
