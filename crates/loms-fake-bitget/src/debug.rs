//! Routes of the fake itself (not Bitget's), for scripts that drive the `fake-bitget`
//! binary from another process: what the venue holds, and a price to move. Unsigned,
//! answered at once (no latency, no faults), not kept in the request log.
//!
//! - `GET /fake/orders`: every order the venue accepted or made, oldest first, each in
//!   the shape of Bitget's order detail (`clientOid`, `orderId`, `side`, `reduceOnly`,
//!   `presetStopLossPrice`, `orderSource`, ...).
//! - `GET /fake/positions`: the open positions, in the shape of `all-position` rows.
//! - `POST /fake/mark?symbol=BTCUSDT&price=63000`: move a mark, as
//!   [`crate::FakeBitget::set_mark`] does (market orders fill at it from now on, tickers
//!   and candles show it); answers the new mark. The only route that changes anything.
//! - `GET /fake/requests`: the request log, oldest first, one object a request:
//!   `method`, `path`, `symbol` and `clientOid` (from the query or the JSON body, `""`
//!   when absent), `receivedUs` and `answeredUs` (Unix µs of the system clock; `null`
//!   while unanswered). `?path=` keeps the requests of one path.

use crate::state::State;
use crate::wire::{envelope, error, query_map};
use crate::{Seen, shapes};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Every order, as JSON.
pub(crate) const ORDERS: &str = "/fake/orders";
/// The open positions, as JSON.
pub(crate) const POSITIONS: &str = "/fake/positions";
/// Move a mark (`POST`).
pub(crate) const MARK: &str = "/fake/mark";
/// The request log with arrival and answer times.
pub(crate) const REQUESTS: &str = "/fake/requests";

/// Whether `path` is one of the fake's own routes.
pub(crate) fn is_debug(path: &str) -> bool {
    path.starts_with("/fake/")
}

/// The answer to a debug route; only `POST /fake/mark` changes anything.
pub(crate) fn route(req: &Seen, s: &mut State) -> (u16, String) {
    let now = s.now_ms();
    if req.path == MARK {
        return mark(req, s, now);
    }
    if req.method != "GET" {
        return error(now, 405, "40404", "this route of the fake is GET only");
    }
    match req.path.as_str() {
        ORDERS => envelope(now, s.orders.iter().map(shapes::detail).collect::<Value>()),
        POSITIONS => {
            let mut list: Vec<_> = s.positions.values().collect();
            list.sort_by(|a, b| a.symbol.cmp(&b.symbol));
            let rows = list
                .iter()
                .map(|p| shapes::position(p, now))
                .collect::<Value>();
            envelope(now, rows)
        }
        REQUESTS => {
            let q = query_map(&req.query);
            let only = q.get("path").map(String::as_str).unwrap_or("");
            let rows = s
                .seen
                .iter()
                .filter(|r| only.is_empty() || r.path == only)
                .map(request_row)
                .collect::<Value>();
            envelope(now, rows)
        }
        _ => error(now, 404, "40404", "no such route of the fake"),
    }
}

/// `POST /fake/mark?symbol=..&price=..`: set the mark; bad input changes nothing.
fn mark(req: &Seen, s: &mut State, now: i64) -> (u16, String) {
    if req.method != "POST" {
        return error(now, 405, "40404", "this route of the fake is POST only");
    }
    let q = query_map(&req.query);
    let symbol = q
        .get("symbol")
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|s| s.to_ascii_uppercase());
    let price = q
        .get("price")
        .and_then(|p| p.parse::<Decimal>().ok())
        .filter(|p| *p > Decimal::ZERO);
    match (symbol, price) {
        (Some(symbol), Some(price)) => {
            s.set_mark(&symbol, price);
            envelope(
                now,
                json!({"symbol": symbol, "markPrice": price.to_string()}),
            )
        }
        (None, _) => error(
            now,
            400,
            "40034",
            "expected symbol=SYMBOL (letters and digits), e.g. symbol=BTCUSDT",
        ),
        (_, None) => error(
            now,
            400,
            "40034",
            "expected price=PRICE, a positive number, e.g. price=63000",
        ),
    }
}

/// One row of `/fake/requests`.
fn request_row(r: &Seen) -> Value {
    let query = query_map(&r.query);
    let body = r.json();
    let named = |k: &str| {
        query
            .get(k)
            .map(String::as_str)
            .or_else(|| body.get(k).and_then(Value::as_str))
            .unwrap_or("")
            .to_string()
    };
    json!({"method": r.method, "path": r.path, "symbol": named("symbol"),
        "clientOid": named("clientOid"), "receivedUs": r.received_us,
        "answeredUs": r.answered_us})
}
