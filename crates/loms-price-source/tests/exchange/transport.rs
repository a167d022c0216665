//! Transport failures, retries and the time budget (same code path for both exchanges).

use crate::fake::{FakeExchange, Reply, Route};
use crate::{client, clock, config, ok, syms, unavailable};
use loms_price_source::{Exchange, ExchangeClient, Market, PriceSource};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn timeout_is_an_error_and_retries_stay_within_the_budget() {
    let fake = FakeExchange::start();
    let canned = Reply::json(200, &Route::BybitLinear.canned());
    fake.set(Route::BybitLinear, canned.delayed(Duration::from_secs(1)));
    let mut cfg = config(&fake, Exchange::Bybit, Market::Perp);
    cfg.timeout = Duration::from_millis(200);
    cfg.retries = 3;
    cfg.retry_backoff = Duration::from_millis(20);
    // 200 ms attempt + 20 ms backoff + 200 ms attempt fits; a third attempt would not.
    cfg.budget = Duration::from_millis(600);
    let c = ExchangeClient::new(cfg, clock());
    let started = Instant::now();
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT"]));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(
        took < Duration::from_millis(600),
        "within the budget: {took:?}"
    );
    assert_eq!(fake.requests().len(), 2);
    for s in ["BTCUSDT", "ETHUSDT"] {
        assert_eq!(
            unavailable(&b[s], "bybit"),
            "timed out after 200 ms (2 attempts)"
        );
    }
}

#[test]
fn http_500_is_retried_then_fails_every_symbol() {
    let fake = FakeExchange::start();
    fake.set(Route::BitgetMix, Reply::status(500));
    let c = client(&fake, Exchange::Bitget, Market::Perp);
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT"]));
    assert_eq!(fake.requests().len(), 3, "1 attempt + 2 retries");
    for s in ["BTCUSDT", "ETHUSDT"] {
        assert_eq!(
            unavailable(&b[s], "bitget"),
            "HTTP 500: <html><body>error 500</body></html> (3 attempts)"
        );
    }
}

#[test]
fn a_retry_after_503_or_429_recovers() {
    let fake = FakeExchange::start();
    fake.push_once(Route::BybitSpot, Reply::status(503));
    fake.push_once(
        Route::BybitSpot,
        Reply::json(
            429,
            &json!({"retCode": 10006, "retMsg": "Too many visits!"}),
        ),
    );
    let c = client(&fake, Exchange::Bybit, Market::Spot);
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT"]));
    assert_eq!(fake.requests().len(), 3);
    assert!(ok(&b["BTCUSDT"]).last.is_some());
    assert!(ok(&b["ETHUSDT"]).last.is_some());
}

#[test]
fn retries_stop_when_the_next_attempt_would_not_fit_the_budget() {
    let fake = FakeExchange::start();
    fake.set(Route::BitgetSpot, Reply::status(502));
    let mut cfg = config(&fake, Exchange::Bitget, Market::Spot);
    cfg.timeout = Duration::from_millis(200);
    cfg.retries = 10;
    cfg.retry_backoff = Duration::from_millis(100);
    // Attempt 1 at ~0 ms; retry 1 after 100 ms (100 + 200 <= 400); retry 2 would need
    // ~100 + 200 + 200 > 400.
    cfg.budget = Duration::from_millis(400);
    let c = ExchangeClient::new(cfg, clock());
    let started = Instant::now();
    let b = c.quotes(&syms(&["BTCUSDT"]));
    assert!(started.elapsed() < Duration::from_millis(400));
    assert_eq!(fake.requests().len(), 2);
    let detail = unavailable(&b["BTCUSDT"], "bitget");
    assert!(detail.starts_with("HTTP 502: "), "{detail}");
    assert!(detail.ends_with("(2 attempts)"), "{detail}");
}

#[test]
fn malformed_body_is_an_error_and_is_not_retried() {
    let fake = FakeExchange::start();
    fake.set(Route::BybitLinear, Reply::malformed());
    let c = client(&fake, Exchange::Bybit, Market::Perp);
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT"]));
    assert_eq!(fake.requests().len(), 1);
    for s in ["BTCUSDT", "ETHUSDT"] {
        let detail = unavailable(&b[s], "bybit");
        assert!(
            detail.starts_with("malformed response: invalid JSON"),
            "{detail}"
        );
        assert!(detail.contains(r#""symbol":"BTCU"#), "{detail}");
    }
}

#[test]
fn unexpected_shapes_are_errors() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bitget, Market::Perp);
    for (body, want) in [
        (
            json!({"code": "00000", "msg": "success", "requestTime": 1, "data": {"list": []}}),
            "malformed response: no data array (Bitget tickers)",
        ),
        (
            json!([1, 2, 3]),
            "malformed response: no code (Bitget tickers)",
        ),
        (
            json!("hello"),
            "malformed response: no code (Bitget tickers)",
        ),
    ] {
        fake.set(Route::BitgetMix, Reply::json(200, &body));
        let b = c.quotes(&syms(&["BTCUSDT"]));
        assert_eq!(unavailable(&b["BTCUSDT"], "bitget"), want);
    }
    let fake = FakeExchange::start();
    fake.set(
        Route::BybitSpot,
        Reply::json(
            200,
            &json!({"retCode": 0, "retMsg": "OK", "result": null, "time": 1}),
        ),
    );
    let c = client(&fake, Exchange::Bybit, Market::Spot);
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT"]));
    assert_eq!(
        unavailable(&b["ETHUSDT"], "bybit"),
        "malformed response: no result.list array (Bybit tickers)"
    );
}

#[test]
fn connection_refused_is_retried_then_an_error() {
    let fake = FakeExchange::start();
    let mut cfg = config(&fake, Exchange::Bybit, Market::Perp);
    // Port 1: privileged and outside the ephemeral range, so no fake server can be there.
    cfg.base_url = "http://127.0.0.1:1/".to_string();
    cfg.retries = 1;
    let c = ExchangeClient::new(cfg, clock());
    let b = c.quotes(&syms(&["BTCUSDT"]));
    let detail = unavailable(&b["BTCUSDT"], "bybit");
    assert!(detail.starts_with("connection failed: "), "{detail}");
    assert!(detail.ends_with("(2 attempts)"), "{detail}");
}

#[test]
fn no_symbols_no_request_and_duplicates_share_the_request() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bitget, Market::Spot);
    assert!(c.quotes(&[]).is_empty());
    assert!(fake.requests().is_empty());
    let b = c.quotes(&syms(&["BTCUSDT", "btcusdt", "BTCUSDT"]));
    assert_eq!(b.len(), 2);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(ok(&b["btcusdt"]).last, ok(&b["BTCUSDT"]).last);
}
