//! Shadow mode: paper positions on exchange prices, against a fake Bitget on 127.0.0.1
//! serving the real USDT-FUTURES ticker format.

use crate::fake_bitget::FakeBitget;
use crate::harness::{TestServer, bot_signal};
use loms_config::PriceSourceKind;
use serde_json::json;

#[tokio::test]
async fn shadow_position_closes_by_trailing_stop_on_the_fake_exchange_prices() {
    let fake = FakeBitget::start("100", crate::harness::t0());
    let url = fake.url.clone();
    let srv = TestServer::start_with(move |s| {
        s.price_source = PriceSourceKind::Exchange;
        s.price_exchange = "bitget".into();
        s.bitget_base_url = url.clone();
        s.exit_strategy = "trailing_v1".into();
        s.fee_taker_bps = rust_decimal::Decimal::from(6);
    })
    .await;
    let (_, h) = srv.get("/health").await;
    assert_eq!(h["price_source"], "exchange");
    let (_, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"qty": 1, "price": 100})),
        )
        .await;
    assert_eq!(a["exit_strategy"], "trailing_v1");
    let id = a["position_id"].as_i64().unwrap();

    let step = |secs: i64| crate::harness::t0() + chrono::Duration::seconds(secs);
    for (i, price) in ["101", "103"].iter().enumerate() {
        srv.clock.set(step(10 * (i as i64 + 1)));
        fake.set(price, step(10 * (i as i64 + 1)));
        let r = srv.oms.auto_close_pass().await.unwrap();
        assert!(r.closed.is_empty(), "{r:?}");
    }
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(p["dynamic_sl_price"], json!(101.97), "{p}");

    // The exchange fails: the position is left alone and /health says why.
    fake.book.lock().unwrap().fail = true;
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!((r.closed.len(), r.no_price), (0, 1));
    let (_, h) = srv.get("/health").await;
    assert!(
        h["checks"]["price_feed"]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{h}"
    );

    // A stale quote is never used to close.
    srv.clock.set(step(60));
    fake.set("90", step(30));
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!((r.closed.len(), r.no_price), (0, 1));

    // The price falls through the trailing stop: closed as trailing_sl, net of fees.
    fake.set("101.9", step(60));
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!(r.closed.len(), 1);
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(p["auto_close_reason"], "trailing_sl");
    assert_eq!(p["close_price"], json!(101.9));
    // gross 1.9; fees 100 × 0.0006 + 101.9 × 0.0006 = 0.12114
    assert_eq!(
        (p["fees"].as_f64(), p["pnl"].as_f64()),
        (Some(0.12114), Some(1.77886))
    );
    // One ticker request per pass, never per position; an entry asks for its symbol.
    let hits = fake.hits.lock().unwrap().clone();
    assert!(
        hits.iter().all(|h| {
            h == "/api/v2/mix/market/tickers?productType=USDT-FUTURES"
                || h == "/api/v2/mix/market/ticker?symbol=BTCUSDT&productType=USDT-FUTURES"
        }),
        "{hits:?}"
    );
    // /market/price is the simulator's: refused in shadow mode.
    let (st, e) = srv.get("/market/price").await;
    assert_eq!((st, e["error"].as_str()), (409, Some("wrong_mode")));
}

#[tokio::test]
async fn a_stop_hit_while_down_closes_at_the_level_touched_after_restart() {
    let t0 = crate::harness::t0();
    let fake = FakeBitget::start("100", t0);
    let url = fake.url.clone();
    let srv = TestServer::start_with(move |s| {
        s.price_source = PriceSourceKind::Exchange;
        s.price_exchange = "bitget".into();
        s.bitget_base_url = url.clone();
    })
    .await;
    let (_, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"qty": 1, "price": 100})),
        )
        .await;
    let id = a["position_id"].as_i64().unwrap();
    srv.clock.set(t0 + chrono::Duration::seconds(10));
    fake.set("100.2", t0 + chrono::Duration::seconds(10));
    assert!(srv.oms.auto_close_pass().await.unwrap().closed.is_empty());

    // LOMS is down for ten minutes; the third minute dipped through the stop (98.5).
    let minute = |m: i64| {
        (t0 + chrono::Duration::minutes(m))
            .timestamp_millis()
            .to_string()
    };
    let row = |m: i64, o: &str, h: &str, l: &str, c: &str| {
        [minute(m), o.into(), h.into(), l.into(), c.into()]
    };
    fake.book.lock().unwrap().candles = vec![
        row(1, "100.2", "100.9", "99.8", "100"),
        row(2, "100", "100.1", "99", "99.2"),
        row(3, "99.2", "99.4", "98.1", "98.3"),
        row(4, "98.3", "104.9", "98.2", "104.8"),
    ];
    srv.clock.set(t0 + chrono::Duration::minutes(10));
    fake.set("104.8", t0 + chrono::Duration::minutes(10));
    let srv = srv.restart().await;
    let mut p = serde_json::Value::Null;
    for _ in 0..250 {
        p = srv.get(&format!("/positions/{id}")).await.1;
        if p["status"] == "closed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(p["status"], "closed", "{p}");
    // The stop, not the later take-profit nor the current price; at the bar's end.
    assert_eq!(
        (p["auto_close_reason"].as_str(), p["close_price"].as_f64()),
        (Some("sl"), Some(98.5))
    );
    let closed_at =
        (t0 + chrono::Duration::minutes(4)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    assert_eq!(p["closed_at"].as_str(), Some(closed_at.as_str()));
    let hits = fake.hits.lock().unwrap().clone();
    assert!(
        hits.iter().any(|h| h.starts_with(
            "/api/v2/mix/market/candles?symbol=BTCUSDT&productType=USDT-FUTURES&granularity=1m"
        )),
        "{hits:?}"
    );
}
