//! Bitget v2 public tickers: `GET /api/v2/spot/market/tickers` and
//! `GET /api/v2/mix/market/tickers?productType=USDT-FUTURES` (all symbols in one answer),
//! or for one symbol (a signal's entry quote) `spot/market/tickers?symbol=` and
//! `mix/market/ticker?symbol=&productType=`: the same item shape, without fetching and
//! parsing every listed symbol (hundreds) to use one.
//!
//! Envelope `{code, msg, requestTime, data: [...]}`; success is `code == "00000"`, business
//! errors usually come as HTTP 400 with the same envelope. The quote time is the item's `ts`
//! (ms), else the envelope's `requestTime`.

use crate::exchange::{self, ExchangeError, Market, Ticker, Tickers};
use crate::http::HttpResponse;
use serde_json::Value;

/// Path of the spot tickers endpoint.
pub(crate) const SPOT_TICKERS_PATH: &str = "/api/v2/spot/market/tickers";
/// Path of the futures tickers endpoint.
pub(crate) const MIX_TICKERS_PATH: &str = "/api/v2/mix/market/tickers";
/// Path of the futures ticker endpoint of one symbol.
pub(crate) const MIX_TICKER_PATH: &str = "/api/v2/mix/market/ticker";

/// Path and query of the request for `symbols` of `market`: one symbol's ticker, or
/// every ticker.
pub(crate) fn request(
    market: Market,
    symbols: &[String],
) -> (&'static str, Vec<(&'static str, String)>) {
    let product = ("productType", "USDT-FUTURES".to_string());
    match (market, symbols) {
        (Market::Perp, [one]) => (MIX_TICKER_PATH, vec![("symbol", one.clone()), product]),
        (Market::Perp, _) => (MIX_TICKERS_PATH, vec![product]),
        (Market::Spot, [one]) => (SPOT_TICKERS_PATH, vec![("symbol", one.clone())]),
        (Market::Spot, _) => (SPOT_TICKERS_PATH, Vec::new()),
    }
}

fn envelope_error(v: &Value) -> Option<(String, String)> {
    let code = v.get("code").and_then(exchange::text)?;
    if code == "00000" {
        return None;
    }
    let msg = v
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some((code, msg))
}

/// The tickers of a response, or why there are none.
pub(crate) fn parse(resp: &HttpResponse, market: Market) -> Result<Tickers, ExchangeError> {
    let v = exchange::check(resp, envelope_error, "code")?;
    let malformed = |what: &str| ExchangeError::Malformed(format!("{what} (Bitget tickers)"));
    if v.get("code").and_then(exchange::text).is_none() {
        return Err(malformed("no code"));
    }
    let request_time =
        exchange::millis(v.get("requestTime"), "requestTime").map_err(|e| malformed(&e))?;
    let items = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no data array"))?;
    Ok(exchange::collect(items, |item| {
        let ts = exchange::millis(item.get("ts"), "ts")?
            .or(request_time)
            .ok_or("no ts and no requestTime")?;
        Ok(Ticker {
            bid: exchange::price(item, "bidPr")?,
            ask: exchange::price(item, "askPr")?,
            last: exchange::price(item, "lastPr")?,
            mark: match market {
                Market::Perp => exchange::price(item, "markPrice")?,
                Market::Spot => None,
            },
            ts,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    const MIX: &str = r#"{"code":"00000","msg":"success","requestTime":1718340000456,"data":[{"symbol":"BTCUSDT",
 "lastPr":"64208.4","askPr":"64208.5","bidPr":"64208.4","bidSz":"3.152","askSz":"0.871",
 "high24h":"64795.0","low24h":"63095.2","ts":"1718340000450","change24h":"0.01142",
 "baseVolume":"98213.552","quoteVolume":"6290123456.77","usdtVolume":"6290123456.77",
 "openUtc":"63880.1","changeUtc24h":"0.00513","indexPrice":"64222.05","fundingRate":"0.0001",
 "holdingAmount":"41234.881","deliveryStartTime":null,"deliveryTime":"","deliveryStatus":"",
 "open24h":"63487.9","markPrice":"64209.0"},
 {"symbol":"ETHUSDT","lastPr":"3500.1","askPr":"","bidPr":"","markPrice":"3500.2"},
 {"symbol":"SOLUSDT","lastPr":"150","ts":"yesterday"}]}"#;

    #[test]
    fn parses_the_documented_mix_shape() {
        let t = parse(&resp(200, MIX), Market::Perp).unwrap();
        let btc = t["BTCUSDT"].as_ref().unwrap();
        assert_eq!(btc.bid, Some(dec!(64208.4)));
        assert_eq!(btc.ask, Some(dec!(64208.5)));
        assert_eq!(btc.last, Some(dec!(64208.4)));
        assert_eq!(btc.mark, Some(dec!(64209.0)));
        assert_eq!(btc.ts.timestamp_millis(), 1_718_340_000_450);
        let eth = t["ETHUSDT"].as_ref().unwrap();
        assert_eq!((eth.bid, eth.ask), (None, None));
        assert_eq!(eth.ts.timestamp_millis(), 1_718_340_000_456, "requestTime");
        assert!(t["SOLUSDT"].as_ref().unwrap_err().contains("ts"));
        let t = parse(&resp(200, MIX), Market::Spot).unwrap();
        assert_eq!(t["BTCUSDT"].as_ref().unwrap().mark, None);
    }

    #[test]
    fn one_symbol_is_asked_alone_and_many_in_one_request() {
        let one = ["BTCUSDT".to_string()];
        let two = ["BTCUSDT".to_string(), "ETHUSDT".to_string()];
        assert_eq!(request(Market::Perp, &one).0, MIX_TICKER_PATH);
        assert_eq!(
            request(Market::Perp, &one).1,
            [
                ("symbol", "BTCUSDT".to_string()),
                ("productType", "USDT-FUTURES".to_string())
            ]
        );
        assert_eq!(request(Market::Perp, &two).0, MIX_TICKERS_PATH);
        assert_eq!(
            request(Market::Spot, &one).1,
            [("symbol", "BTCUSDT".to_string())]
        );
        assert!(request(Market::Spot, &two).1.is_empty());
    }

    #[test]
    fn errors_of_the_envelope() {
        let e = parse(
            &resp(
                400,
                r#"{"code":"40017","msg":"Parameter verification failed","requestTime":1,"data":null}"#,
            ),
            Market::Perp,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "code 40017: Parameter verification failed (HTTP 400)"
        );
        assert!(!e.is_transient());
        let e = parse(
            &resp(
                429,
                r#"{"code":"429","msg":"Too Many Requests","data":null}"#,
            ),
            Market::Perp,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "HTTP 429 (too many requests): code 429: Too Many Requests"
        );
        assert!(e.is_transient());
        let e = parse(
            &resp(200, r#"{"code":"00000","data":[{"symbol":"BTCUSDT"}]}"#),
            Market::Spot,
        )
        .unwrap();
        assert!(e["BTCUSDT"].is_err(), "no ts anywhere");
        for body in [
            "{",
            r#"{"code":"00000","data":null}"#,
            r#"{"data":[]}"#,
            r#"{"code":"00000","requestTime":"x","data":[]}"#,
        ] {
            let e = parse(&resp(200, body), Market::Spot).unwrap_err();
            assert!(matches!(e, ExchangeError::Malformed(_)), "{body}: {e:?}");
        }
    }

    #[test]
    fn requests_cover_every_symbol() {
        assert_eq!(request(Market::Spot, &[]), (SPOT_TICKERS_PATH, vec![]));
        assert_eq!(
            request(Market::Perp, &[]),
            (
                MIX_TICKERS_PATH,
                vec![("productType", "USDT-FUTURES".to_string())]
            )
        );
    }
}
