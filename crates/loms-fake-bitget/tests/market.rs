//! The public routes as LOMS's price source reads them: tickers and candles made from
//! the marks, read by `loms-price-source`'s `ExchangeClient` (Bitget, perp).

use chrono::DateTime;
use loms_domain::{Decimal, ManualClock};
use loms_fake_bitget::{FakeBitget, NOW_MS, VenueClock};
use loms_price_source::{
    Exchange, ExchangeClient, ExchangeConfig, KlineSource, Market, PriceError, PriceSource,
};
use rust_decimal::dec;
use std::sync::Arc;
use std::time::Duration;

fn price_client(venue: &FakeBitget, now_ms: i64) -> ExchangeClient {
    let mut cfg = ExchangeConfig::new(Exchange::Bitget, Market::Perp, Duration::from_secs(5));
    cfg.base_url = venue.base_url();
    let now = DateTime::from_timestamp_millis(now_ms).unwrap();
    ExchangeClient::new(cfg, Arc::new(ManualClock::new(now)))
}

fn syms(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_price_source_reads_the_marks_from_the_tickers() {
    let venue = FakeBitget::start();
    let prices = price_client(&venue, NOW_MS + 1_000);
    let q = prices.quotes(&syms(&["BTCUSDT", "ETHUSDT", "DOGEUSDT"]));
    let btc = q["BTCUSDT"].as_ref().unwrap();
    assert_eq!(
        (btc.mark, btc.last, btc.bid, btc.ask),
        (
            Some(dec!(64210)),
            Some(dec!(64210)),
            Some(dec!(64209.9)),
            Some(dec!(64210.1))
        ),
        "bid and ask one tick (0.1) around the mark"
    );
    assert_eq!(btc.ts.timestamp_millis(), NOW_MS, "the venue's clock");
    let eth = q["ETHUSDT"].as_ref().unwrap();
    assert_eq!(
        (eth.mark, eth.bid),
        (Some(dec!(3500.20)), Some(dec!(3500.19)))
    );
    assert!(matches!(
        q["DOGEUSDT"],
        Err(PriceError::UnknownSymbol { .. })
    ));

    venue.set_mark("BTCUSDT", dec!(65000.5));
    let q = prices.quotes(&syms(&["BTCUSDT"]));
    assert_eq!(q["BTCUSDT"].as_ref().unwrap().mark, Some(dec!(65000.5)));
    let asked: Vec<String> = venue.seen().iter().map(|s| s.path.clone()).collect();
    // Many symbols: the whole list; one symbol: its own ticker.
    assert_eq!(
        asked,
        ["/api/v2/mix/market/tickers", "/api/v2/mix/market/ticker"]
    );
    assert!(venue.seen().iter().all(|s| !s.signed()), "public: unsigned");
}

#[test]
fn candles_follow_the_marks_minute_by_minute() {
    let venue = FakeBitget::start();
    let at = |ms: i64, price: Option<Decimal>| {
        venue.set_clock(VenueClock::Fixed(NOW_MS + ms));
        if let Some(p) = price {
            venue.set_mark("BTCUSDT", p);
        }
    };
    at(30_000, Some(dec!(64300)));
    at(45_000, Some(dec!(64100)));
    at(90_000, Some(dec!(64200)));
    at(150_000, None);
    let t = |ms: i64| DateTime::from_timestamp_millis(NOW_MS + ms).unwrap();
    let bars = price_client(&venue, NOW_MS + 150_000)
        .klines_1m("BTCUSDT", t(0), t(180_000))
        .unwrap();
    let got: Vec<_> = bars
        .iter()
        .map(|b| {
            (
                b.start.timestamp_millis() - NOW_MS,
                b.open,
                b.high,
                b.low,
                b.close,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (0, dec!(64210), dec!(64300), dec!(64100), dec!(64100)),
            (60_000, dec!(64100), dec!(64200), dec!(64100), dec!(64200)),
            (120_000, dec!(64200), dec!(64200), dec!(64200), dec!(64200)),
        ]
    );
}

#[test]
fn the_single_ticker_and_the_contracts_answer_in_bitget_shapes() {
    let venue = FakeBitget::start();
    let get = |path: &str| -> serde_json::Value {
        let mut r = ureq::get(&format!("{}{path}", venue.base_url()))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        r.body_mut().read_json().unwrap()
    };
    let t = get("/api/v2/mix/market/ticker?symbol=ETHUSDT&productType=usdt-futures");
    assert_eq!(t["code"], "00000");
    assert_eq!(t["data"][0]["markPrice"], "3500.20");
    let e = get("/api/v2/mix/market/ticker?symbol=NOPEUSDT&productType=USDT-FUTURES");
    assert_eq!(
        (e["code"].as_str(), &e["data"]),
        (Some("40034"), &serde_json::Value::Null)
    );
    let e = get("/api/v2/mix/market/tickers");
    assert_eq!(e["code"], "40019", "productType is required");
    let c = get("/api/v2/mix/market/contracts?productType=USDT-FUTURES");
    let rows = c["data"].as_array().unwrap();
    let eth = rows.iter().find(|r| r["symbol"] == "ETHUSDT").unwrap();
    assert_eq!(
        (&eth["pricePlace"], &eth["volumePlace"], &eth["minTradeNum"]),
        (&"2".into(), &"2".into(), &"0.01".into())
    );
    assert!(rows.iter().any(|r| r["symbol"] == "BTCUSDT"));
}
