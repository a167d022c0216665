//! Bitget v2 spot and USDT-FUTURES tickers.

use crate::fake::{FakeExchange, Reply, Route, T0_MS, bitget_mix, bitget_spot, set_field};
use crate::{client, d, ok, syms, unavailable};
use loms_domain::PriceMode;
use loms_price_source::{Exchange, Market, PriceError, PriceSource};
use serde_json::json;

#[test]
fn futures_quotes_map_every_field_in_one_request() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bitget, Market::Perp);
    assert_eq!(c.name(), "bitget");
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]));
    assert_eq!(
        fake.requests(),
        vec!["/api/v2/mix/market/tickers?productType=USDT-FUTURES"],
        "one request for every symbol"
    );
    let btc = ok(&b["BTCUSDT"]);
    assert_eq!(btc.bid, Some(d("64210.40")));
    assert_eq!(btc.ask, Some(d("64210.50")));
    assert_eq!(btc.last, Some(d("64210.50")));
    assert_eq!(btc.mark, Some(d("64212.00")));
    assert_eq!(btc.ts.timestamp_millis(), T0_MS - 1, "item ts");
    let xrp = ok(&b["XRPUSDT"]);
    assert_eq!(
        (xrp.bid, xrp.ask, xrp.last, xrp.mark),
        (
            Some(d("0.51234")),
            Some(d("0.51240")),
            Some(d("0.51238")),
            Some(d("0.51250"))
        )
    );
    assert_eq!(PriceMode::Mid.pick(xrp).unwrap(), d("0.51237"));
    assert_eq!(b.len(), 4);
}

#[test]
fn spot_quotes_have_no_mark_and_mid_comes_from_bid_and_ask() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bitget, Market::Spot);
    let b = c.quotes(&syms(&["ETHUSDT", "BTCUSDT"]));
    assert_eq!(fake.requests(), vec!["/api/v2/spot/market/tickers"]);
    let eth = ok(&b["ETHUSDT"]);
    assert_eq!(eth.bid, Some(d("3501.11")));
    assert_eq!(eth.ask, Some(d("3501.13")));
    assert_eq!(eth.last, Some(d("3501.12")));
    assert_eq!(eth.mark, None, "spot has no mark price");
    assert_eq!(PriceMode::Mid.pick(eth).unwrap(), d("3501.12"));
    // One symbol (a signal's entry quote) asks for that symbol only.
    let b = c.quotes(&syms(&["BTCUSDT"]));
    assert!(b["BTCUSDT"].is_ok());
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(
        fake.requests()[1],
        "/api/v2/spot/market/tickers?symbol=BTCUSDT"
    );
}

#[test]
fn one_futures_symbol_is_asked_on_its_own_ticker_route() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bitget, Market::Perp);
    let b = c.quotes(&syms(&["BTCUSDT"]));
    assert_eq!(ok(&b["BTCUSDT"]).bid, Some(d("64210.40")));
    assert_eq!(
        fake.requests(),
        vec!["/api/v2/mix/market/ticker?symbol=BTCUSDT&productType=USDT-FUTURES"]
    );
}

#[test]
fn item_without_ts_uses_the_request_time_and_numbers_are_accepted() {
    let fake = FakeExchange::start();
    let mut body = bitget_mix(T0_MS);
    set_field(&mut body, "SOLUSDT", "ts", json!(null));
    set_field(&mut body, "BTCUSDT", "ts", json!(T0_MS - 5));
    set_field(&mut body, "BTCUSDT", "lastPr", json!(64211.5));
    fake.set(Route::BitgetMix, Reply::json(200, &body));
    let c = client(&fake, Exchange::Bitget, Market::Perp);
    let b = c.quotes(&syms(&["SOLUSDT", "BTCUSDT"]));
    assert_eq!(ok(&b["SOLUSDT"]).ts.timestamp_millis(), T0_MS);
    let btc = ok(&b["BTCUSDT"]);
    assert_eq!(btc.ts.timestamp_millis(), T0_MS - 5);
    assert_eq!(btc.last, Some(d("64211.5")));
}

#[test]
fn error_code_with_http_400_fails_every_symbol_and_is_not_retried() {
    let fake = FakeExchange::start();
    fake.set(
        Route::BitgetMix,
        Reply::bitget_error("40017", "Parameter verification failed"),
    );
    let c = client(&fake, Exchange::Bitget, Market::Perp);
    let b = c.quotes(&syms(&["BTCUSDT", "ETHUSDT"]));
    assert_eq!(fake.requests().len(), 1, "business errors are not retried");
    for s in ["BTCUSDT", "ETHUSDT"] {
        assert_eq!(
            unavailable(&b[s], "bitget"),
            "code 40017: Parameter verification failed (HTTP 400)"
        );
    }
}

#[test]
fn stale_item_fails_only_that_symbol() {
    let fake = FakeExchange::start();
    let mut body = bitget_spot(T0_MS);
    set_field(
        &mut body,
        "XRPUSDT",
        "ts",
        json!((T0_MS - 60_000).to_string()),
    );
    fake.set(Route::BitgetSpot, Reply::json(200, &body));
    let c = client(&fake, Exchange::Bitget, Market::Spot);
    let b = c.quotes(&syms(&["XRPUSDT", "BTCUSDT"]));
    assert_eq!(
        unavailable(&b["XRPUSDT"], "bitget"),
        "XRPUSDT: quote is 61 s old (PRICE_MAX_AGE_SEC=10)"
    );
    assert!(b["BTCUSDT"].is_ok());
}

#[test]
fn empty_bid_and_ask_make_mid_a_clear_error() {
    let fake = FakeExchange::start();
    let mut body = bitget_mix(T0_MS);
    set_field(&mut body, "BTCUSDT", "bidPr", json!(""));
    set_field(&mut body, "BTCUSDT", "askPr", json!(""));
    fake.set(Route::BitgetMix, Reply::json(200, &body));
    let c = client(&fake, Exchange::Bitget, Market::Perp);
    let b = c.quotes(&syms(&["BTCUSDT"]));
    let btc = ok(&b["BTCUSDT"]);
    assert_eq!((btc.bid, btc.ask), (None, None));
    let e = PriceMode::Mid.pick(btc).unwrap_err().to_string();
    assert!(e.contains("has no mid price"), "{e}");
    assert_eq!(PriceMode::Mark.pick(btc).unwrap(), d("64212.00"));
}

#[test]
fn unknown_symbol_fails_only_that_symbol() {
    let fake = FakeExchange::start();
    let c = client(&fake, Exchange::Bitget, Market::Spot);
    let b = c.quotes(&syms(&["NOPEUSDT", "BTCUSDT"]));
    assert_eq!(fake.requests().len(), 1);
    assert!(b["BTCUSDT"].is_ok());
    assert_eq!(
        b["NOPEUSDT"],
        Err(PriceError::UnknownSymbol {
            source_name: "bitget",
            symbol: "NOPEUSDT".into()
        })
    );
}
