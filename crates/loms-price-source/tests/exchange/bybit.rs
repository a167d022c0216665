//! Bybit v5 tickers.

use crate::fake::{FakeExchange, Reply, Route, T0_MS, bybit_linear, bybit_spot, set_field};
use crate::{client, config, d, ok, syms, unavailable};
use loms_domain::{ManualClock, PriceMode};
use loms_price_source::{Exchange, ExchangeClient, Market, PriceError, PriceSource};
use serde_json::json;
use std::sync::Arc;

#[test]
fn linear_quotes_map_every_field_in_one_request() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bybit, Market::Perp);
    assert_eq!(c.name(), "bybit");
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT", "XRPUSDT"]));
    assert_eq!(
        fake.requests(),
        vec!["/v5/market/tickers?category=linear"],
        "one request for every symbol"
    );
    assert_eq!(b.len(), 3);
    let btc = ok(&b["BTCUSDT"]);
    assert_eq!(btc.symbol, "BTCUSDT");
    assert_eq!(btc.bid, Some(d("64210.40")));
    assert_eq!(btc.ask, Some(d("64210.50")));
    assert_eq!(btc.last, Some(d("64210.50")));
    assert_eq!(btc.mark, Some(d("64212.00")));
    assert_eq!(btc.ts.timestamp_millis(), T0_MS, "envelope time");
    let eth = ok(&b["ETHUSDT"]);
    assert_eq!(
        (eth.bid, eth.ask, eth.last, eth.mark),
        (
            Some(d("3501.11")),
            Some(d("3501.13")),
            Some(d("3501.12")),
            Some(d("3501.40"))
        )
    );
    assert_eq!(PriceMode::Mid.pick(eth).unwrap(), d("3501.12"));
    assert_eq!(
        PriceMode::Mark.pick(ok(&b["XRPUSDT"])).unwrap(),
        d("0.51250")
    );
}

#[test]
fn spot_quotes_have_no_mark_and_mid_comes_from_bid_and_ask() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bybit, Market::Spot);
    let b = c.quotes(&syms(&["BTCUSDT", "SOLUSDT"]));
    assert_eq!(fake.requests(), vec!["/v5/market/tickers?category=spot"]);
    let sol = ok(&b["SOLUSDT"]);
    assert_eq!(sol.bid, Some(d("145.201")));
    assert_eq!(sol.ask, Some(d("145.215")));
    assert_eq!(sol.last, Some(d("145.210")));
    assert_eq!(sol.mark, None, "spot has no mark price");
    assert_eq!(PriceMode::Mid.pick(sol).unwrap(), d("145.208"));
    let e = PriceMode::Mark.pick(ok(&b["BTCUSDT"])).unwrap_err();
    assert!(e.to_string().contains("no mark price"), "{e}");
}

#[test]
fn a_single_symbol_is_asked_for_by_name_and_lower_case_is_accepted() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bybit, Market::Perp);
    let b = c.quotes(&syms(&["btcusdt"]));
    assert_eq!(
        fake.requests(),
        vec!["/v5/market/tickers?category=linear&symbol=BTCUSDT"]
    );
    let q = ok(&b["btcusdt"]);
    assert_eq!(q.symbol, "btcusdt", "keyed and named as asked");
    assert_eq!(q.last, Some(d("64210.50")));
    // Bybit answers an unknown single symbol with retCode 10001.
    let b = c.quotes(&syms(&["NOPEUSDT"]));
    assert!(
        matches!(&b["NOPEUSDT"], Err(PriceError::UnknownSymbol { source_name: "bybit", symbol }) if symbol == "NOPEUSDT"),
        "{:?}",
        b["NOPEUSDT"]
    );
}

#[test]
fn unknown_symbol_fails_only_that_symbol() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bybit, Market::Perp);
    let b = c.quotes(&syms(&["BTCUSDT", "NOPEUSDT", "SOLUSDT"]));
    assert_eq!(fake.requests().len(), 1);
    assert!(b["BTCUSDT"].is_ok() && b["SOLUSDT"].is_ok());
    let e = b["NOPEUSDT"].as_ref().unwrap_err();
    assert_eq!(
        *e,
        PriceError::UnknownSymbol {
            source_name: "bybit",
            symbol: "NOPEUSDT".into()
        }
    );
    assert_eq!(e.to_string(), "bybit: unknown symbol NOPEUSDT");
}

#[test]
fn ret_code_error_in_a_200_fails_every_symbol_and_is_not_retried() {
    let fake = FakeExchange::start();
    fake.set(
        Route::BybitLinear,
        Reply::bybit_error(10006, "Too many visits!"),
    );
    let c = client(&fake, Exchange::Bybit, Market::Perp);
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT"]));
    assert_eq!(fake.requests().len(), 1, "business errors are not retried");
    for s in ["BTCUSDT", "ETHUSDT"] {
        let detail = unavailable(&b[s], "bybit");
        assert_eq!(detail, "retCode 10006: Too many visits! (HTTP 200)");
    }
    let e = b["BTCUSDT"].as_ref().unwrap_err().to_string();
    assert_eq!(e, "bybit: retCode 10006: Too many visits! (HTTP 200)");
}

#[test]
fn stale_quotes_are_errors_never_prices() {
    let fake = FakeExchange::start();
    // The exchange answers with a server time 30 s behind the clock.
    fake.set(
        Route::BybitSpot,
        Reply::json(200, &bybit_spot(T0_MS - 29_000)),
    );
    let c = client(&fake, Exchange::Bybit, Market::Spot);
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT"]));
    for s in ["BTCUSDT", "ETHUSDT"] {
        let detail = unavailable(&b[s], "bybit");
        assert_eq!(
            detail,
            format!("{s}: quote is 30 s old (PRICE_MAX_AGE_SEC=10)")
        );
    }
    // Exactly at the limit is still fresh; just past it is not.
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::from_timestamp_millis(T0_MS - 29_000 + 10_000).unwrap(),
    ));
    let c = ExchangeClient::new(config(&fake, Exchange::Bybit, Market::Spot), clock.clone());
    assert!(c.quotes(&syms(&["BTCUSDT"]))["BTCUSDT"].is_ok());
    clock.advance(chrono::Duration::milliseconds(250));
    let detail = unavailable(&c.quotes(&syms(&["BTCUSDT"]))["BTCUSDT"], "bybit");
    assert!(
        detail.ends_with("quote is 10.25 s old (PRICE_MAX_AGE_SEC=10)"),
        "{detail}"
    );
}

#[test]
fn empty_bid_and_ask_make_mid_a_clear_error() {
    let fake = FakeExchange::start();
    let mut body = bybit_linear(T0_MS);
    set_field(&mut body, "ETHUSDT", "bid1Price", json!(""));
    set_field(&mut body, "ETHUSDT", "ask1Price", json!(""));
    set_field(&mut body, "ETHUSDT", "markPrice", json!(""));
    fake.set(Route::BybitLinear, Reply::json(200, &body));
    let c = client(&fake, Exchange::Bybit, Market::Perp);
    let b = c.quotes(&syms(&["ETHUSDT", "BTCUSDT"]));
    let eth = ok(&b["ETHUSDT"]);
    assert_eq!((eth.bid, eth.ask, eth.mark), (None, None, None));
    assert_eq!(eth.last, Some(d("3501.12")), "last is still there");
    let e = PriceMode::Mid.pick(eth).unwrap_err();
    assert_eq!(
        e.to_string(),
        "quote for ETHUSDT has no mid price (PRICE_MODE=mid); choose another PRICE_MODE"
    );
    assert_eq!(PriceMode::Last.pick(eth).unwrap(), d("3501.12"));
    assert!(PriceMode::Mid.pick(ok(&b["BTCUSDT"])).is_ok());
}

#[test]
fn a_garbled_price_fails_only_its_symbol() {
    let fake = FakeExchange::start();
    let mut body = bybit_linear(T0_MS);
    set_field(&mut body, "SOLUSDT", "lastPrice", json!("12,5"));
    fake.set(Route::BybitLinear, Reply::json(200, &body));
    let c = client(&fake, Exchange::Bybit, Market::Perp);
    let b = c.quotes(&syms(&["SOLUSDT", "BTCUSDT"]));
    let detail = unavailable(&b["SOLUSDT"], "bybit");
    assert_eq!(detail, "SOLUSDT: lastPrice is not a price: \"12,5\"");
    assert!(b["BTCUSDT"].is_ok());
}

#[test]
fn http_403_is_an_error_and_is_not_retried() {
    let fake = FakeExchange::start();
    fake.set(Route::BybitLinear, Reply::raw(403, "access too frequent"));
    let c = client(&fake, Exchange::Bybit, Market::Perp);
    let b = c.quotes(&syms(&["BTCUSDT"]));
    assert_eq!(fake.requests().len(), 1);
    let detail = unavailable(&b["BTCUSDT"], "bybit");
    assert_eq!(
        detail,
        "HTTP 403 (forbidden: IP rate limit breached or region blocked): access too frequent"
    );
}
