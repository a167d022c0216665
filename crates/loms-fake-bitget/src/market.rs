//! The public, unsigned routes: server time, contracts, tickers and candles, all made
//! from the marks the test sets (exchanges.md §4, §5, §10).

use crate::Seen;
use crate::state::{Contract, State};
use crate::wire::{envelope, envelope_text, error, query_map};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Server time.
pub(crate) const TIME: &str = "/api/v2/public/time";
/// Contract rules.
pub(crate) const CONTRACTS: &str = "/api/v2/mix/market/contracts";
/// One symbol's ticker.
pub(crate) const TICKER: &str = "/api/v2/mix/market/ticker";
/// Every ticker of the product type.
pub(crate) const TICKERS: &str = "/api/v2/mix/market/tickers";
/// Candles.
pub(crate) const CANDLES: &str = "/api/v2/mix/market/candles";

/// Most candles in one answer.
const MAX_CANDLES: usize = 1000;

/// Whether `path` is public (unsigned, no latency).
pub(crate) fn is_public(path: &str) -> bool {
    path == TIME || path.starts_with("/api/v2/mix/market/")
}

pub(crate) fn route(req: &Seen, s: &State) -> (u16, String) {
    let now = s.now_ms();
    let q = query_map(&req.query);
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if req.path == TIME {
        return envelope(now, json!({"serverTime": now.to_string()}));
    }
    if !get("productType").eq_ignore_ascii_case("USDT-FUTURES") {
        return error(now, 400, "40019", "Parameter productType cannot be empty");
    }
    match req.path.as_str() {
        CONTRACTS => {
            let rows: Vec<Value> = s
                .contracts
                .values()
                .filter(|c| get("symbol").is_empty() || c.symbol == get("symbol"))
                .map(contract)
                .collect();
            envelope(now, json!(rows))
        }
        TICKER => match s.mark(get("symbol")) {
            Some(mark) => envelope_text(now, &format!("[{}]", ticker(s, get("symbol"), mark, now))),
            None => error(now, 400, "40034", "Parameter symbol does not exist"),
        },
        TICKERS => {
            let rows: Vec<String> = s
                .marks
                .keys()
                .filter_map(|sym| Some(ticker(s, sym, s.mark(sym)?, now)))
                .collect();
            envelope_text(now, &format!("[{}]", rows.join(",")))
        }
        CANDLES => candles(s, get, now),
        _ => error(now, 404, "40404", "Request URL NOT FOUND"),
    }
}

/// The price step of `symbol`: `priceEndStep × 10^-pricePlace` (0.1 when unknown).
fn tick(s: &State, symbol: &str) -> Decimal {
    s.contract(symbol).map_or(Decimal::new(1, 1), |c| {
        Decimal::new(i64::from(c.price_end_step), c.price_place)
    })
}

/// One ticker, as JSON text: last and mark at the mark, bid and ask one tick either
/// side. Written as text, not built as a `Value`: a benchmark lists thousands of symbols
/// and LOMS asks for all of them with every live signal.
fn ticker(s: &State, symbol: &str, mark: Decimal, now: i64) -> String {
    let t = tick(s, symbol);
    let (ask, bid) = (mark + t, mark - t);
    let sym = Value::from(symbol);
    format!(
        r#"{{"symbol":{sym},"lastPr":"{mark}","askPr":"{ask}","bidPr":"{bid}","bidSz":"3.152","askSz":"0.871","high24h":"{mark}","low24h":"{mark}","ts":"{now}","change24h":"0","baseVolume":"98213.552","quoteVolume":"6290123456.77","usdtVolume":"6290123456.77","openUtc":"{mark}","changeUtc24h":"0","indexPrice":"{mark}","fundingRate":"0.0001","holdingAmount":"41234.881","deliveryStartTime":null,"deliveryTime":"","deliveryStatus":"","open24h":"{mark}","markPrice":"{mark}"}}"#
    )
}

/// A bar's length in ms, for the futures granularities served.
fn granularity_ms(g: &str) -> Option<i64> {
    let minute = 60_000;
    Some(match g {
        "1m" => minute,
        "3m" => 3 * minute,
        "5m" => 5 * minute,
        "15m" => 15 * minute,
        "30m" => 30 * minute,
        "1H" => 60 * minute,
        "4H" => 240 * minute,
        _ => return None,
    })
}

/// Candles of one symbol from its mark history, oldest first: a bar opens at the mark in
/// force at its start and follows every mark set inside it. Bars start at the first mark.
fn candles<'a>(s: &State, get: impl Fn(&str) -> &'a str, now: i64) -> (u16, String) {
    let Some(step) = granularity_ms(get("granularity")) else {
        return error(
            now,
            400,
            "40017",
            "Parameter verification failed granularity",
        );
    };
    let Some(history) = s.marks.get(get("symbol")) else {
        return error(now, 400, "40034", "Parameter symbol does not exist");
    };
    let limit = get("limit")
        .parse::<usize>()
        .unwrap_or(100)
        .clamp(1, MAX_CANDLES);
    let end = get("endTime").parse::<i64>().unwrap_or(now).min(now);
    let start = get("startTime")
        .parse::<i64>()
        .unwrap_or(end - step * limit as i64);
    let first = history.first().map_or(now, |(t, _)| *t);
    let mut bucket = start.max(first).div_euclid(step) * step;
    let mut rows = Vec::new();
    while bucket <= end && rows.len() < limit {
        let before = history.iter().rev().find(|(t, _)| *t <= bucket);
        let inside: Vec<Decimal> = history
            .iter()
            .filter(|(t, _)| *t > bucket && *t < bucket + step)
            .map(|(_, p)| *p)
            .collect();
        let open = before.map(|(_, p)| *p).or(inside.first().copied());
        if let Some(open) = open {
            let all = std::iter::once(open).chain(inside.iter().copied());
            let high = all.clone().max().unwrap_or(open);
            let low = all.min().unwrap_or(open);
            let close = inside.last().copied().unwrap_or(open);
            rows.push(json!([
                bucket.to_string(),
                open.to_string(),
                high.to_string(),
                low.to_string(),
                close.to_string(),
                "0",
                "0"
            ]));
        }
        bucket += step;
    }
    envelope(now, json!(rows))
}

/// One contract row with the full field list of exchanges.md §10.
fn contract(c: &Contract) -> Value {
    json!({"symbol":c.symbol,"baseCoin":c.base,"quoteCoin":"USDT","buyLimitPriceRatio":"0.01",
        "sellLimitPriceRatio":"0.01","feeRateUpRatio":"0.005","makerFeeRate":"0.0002",
        "takerFeeRate":crate::FEE_RATE,"openCostUpRatio":"0.01","supportMarginCoins":["USDT"],
        "minTradeNum":c.min_size.to_string(),"priceEndStep":c.price_end_step.to_string(),
        "volumePlace":c.volume_place.to_string(),"pricePlace":c.price_place.to_string(),
        "sizeMultiplier":c.min_size.to_string(),"symbolType":"perpetual","minTradeUSDT":"5",
        "maxSymbolOrderNum":"999999","maxProductOrderNum":"999999","maxPositionNum":"150",
        "symbolStatus":"normal","offTime":"-1","limitOpenTime":"-1","deliveryTime":"",
        "deliveryStartTime":"","launchTime":"","fundInterval":"8","minLever":"1",
        "maxLever":c.max_lever.to_string(),"posLimit":"0.05","maintainTime":"",
        "maxMarketOrderQty":c.max_market_qty,"maxOrderQty":c.max_order_qty})
}
