//! Bybit v5 public tickers: `GET /v5/market/tickers?category=linear|spot[&symbol=]`.
//!
//! Envelope `{retCode, retMsg, result: {category, list: [...]}, retExtInfo, time}`; business
//! errors come as HTTP 200 with `retCode != 0`. The quote time is the envelope's `time` (ms).

use crate::exchange::{self, ExchangeError, Market, Ticker, Tickers};
use crate::http::HttpResponse;
use serde_json::Value;

/// Path of the tickers endpoint.
pub(crate) const TICKERS_PATH: &str = "/v5/market/tickers";

/// Path and query for `symbols` (upper case, deduplicated): the whole category, or just the
/// symbol when there is exactly one.
pub(crate) fn request(
    market: Market,
    symbols: &[String],
) -> (&'static str, Vec<(&'static str, String)>) {
    let category = match market {
        Market::Perp => "linear",
        Market::Spot => "spot",
    };
    let mut query = vec![("category", category.to_string())];
    if let [one] = symbols {
        query.push(("symbol", one.clone()));
    }
    (TICKERS_PATH, query)
}

fn envelope_error(v: &Value) -> Option<(String, String)> {
    let code = v.get("retCode").and_then(exchange::text)?;
    if code == "0" {
        return None;
    }
    let msg = v
        .get("retMsg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some((code, msg))
}

/// The tickers of a response, or why there are none.
pub(crate) fn parse(resp: &HttpResponse, market: Market) -> Result<Tickers, ExchangeError> {
    let v = exchange::check(resp, envelope_error, "retCode")?;
    let malformed = |what: &str| ExchangeError::Malformed(format!("{what} (Bybit tickers)"));
    if v.get("retCode").and_then(exchange::text).is_none() {
        return Err(malformed("no retCode"));
    }
    let ts = exchange::millis(v.get("time"), "time")
        .map_err(|e| malformed(&e))?
        .ok_or_else(|| malformed("no time"))?;
    let items = v
        .get("result")
        .and_then(|r| r.get("list"))
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no result.list array"))?;
    Ok(exchange::collect(items, |item| {
        Ok(Ticker {
            bid: exchange::price(item, "bid1Price")?,
            ask: exchange::price(item, "ask1Price")?,
            last: exchange::price(item, "lastPrice")?,
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

    const LINEAR: &str = r#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT",
 "lastPrice":"64210.50","indexPrice":"64225.13","markPrice":"64212.00","prevPrice24h":"63480.10",
 "price24hPcnt":"0.011506","highPrice24h":"64800.00","lowPrice24h":"63102.40","prevPrice1h":"64150.00",
 "openInterest":"51234.118","openInterestValue":"3289838004.13","turnover24h":"5123456789.1234",
 "volume24h":"80012.345","fundingRate":"0.0001","nextFundingTime":"1718352000000",
 "predictedDeliveryPrice":"","basisRate":"","deliveryFeeRate":"","deliveryTime":"0",
 "ask1Size":"2.118","bid1Price":"64210.40","ask1Price":"64210.50","bid1Size":"7.301","basis":"",
 "preOpenPrice":"","preQty":"","curPreListingPhase":"","fundingIntervalHour":"8","fundingCap":"0.005",
 "basisRateYear":""},{"symbol":"ETHUSDT","lastPrice":"3500","markPrice":"","bid1Price":"","ask1Price":"x"},
 {"nosymbol":true},7]},"retExtInfo":{},"time":1718340000123}"#;

    #[test]
    fn parses_the_documented_linear_shape() {
        let t = parse(&resp(200, LINEAR), Market::Perp).unwrap();
        let btc = t["BTCUSDT"].as_ref().unwrap();
        assert_eq!(btc.bid, Some(dec!(64210.40)));
        assert_eq!(btc.ask, Some(dec!(64210.50)));
        assert_eq!(btc.last, Some(dec!(64210.50)));
        assert_eq!(btc.mark, Some(dec!(64212.00)));
        assert_eq!(btc.ts.timestamp_millis(), 1_718_340_000_123);
        let eth = t["ETHUSDT"].as_ref().unwrap_err();
        assert!(eth.contains("ask1Price"), "{eth}");
        assert_eq!(t.len(), 2);
        // Spot ignores markPrice even when present.
        let t = parse(&resp(200, LINEAR), Market::Spot).unwrap();
        assert_eq!(t["BTCUSDT"].as_ref().unwrap().mark, None);
    }

    #[test]
    fn errors_of_the_envelope() {
        let e = parse(
            &resp(
                200,
                r#"{"retCode":10001,"retMsg":"params error","result":null,"time":1}"#,
            ),
            Market::Perp,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "retCode 10001: params error (HTTP 200)");
        for body in [
            "",
            "not json",
            "[]",
            r#"{"retCode":0,"result":{},"time":1}"#,
            r#"{"retCode":0,"result":{"list":[]}}"#,
            r#"{"retCode":0,"result":{"list":{}},"time":1}"#,
            r#"{"result":{"list":[]},"time":1}"#,
            r#"{"retCode":0,"result":{"list":[]},"time":"later"}"#,
        ] {
            let e = parse(&resp(200, body), Market::Perp).unwrap_err();
            assert!(matches!(e, ExchangeError::Malformed(_)), "{body}: {e:?}");
        }
        let e = parse(&resp(502, "<html>bad gateway</html>"), Market::Spot).unwrap_err();
        assert_eq!(e.to_string(), "HTTP 502: <html>bad gateway</html>");
        assert!(e.is_transient());
        let e = parse(&resp(403, "access too frequent"), Market::Spot).unwrap_err();
        assert!(!e.is_transient());
    }

    #[test]
    fn one_symbol_is_passed_several_are_not() {
        let (_, q) = request(Market::Perp, &["BTCUSDT".into()]);
        assert_eq!(
            q,
            vec![("category", "linear".into()), ("symbol", "BTCUSDT".into())]
        );
        let (_, q) = request(Market::Spot, &["BTCUSDT".into(), "ETHUSDT".into()]);
        assert_eq!(q, vec![("category", "spot".into())]);
    }
}
