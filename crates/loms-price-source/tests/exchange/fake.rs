//! A fake Bybit/Bitget REST server on 127.0.0.1 for the exchange client tests.
//!
//! HTTP/1.1, one thread per connection, `Connection: close`. Each ticker endpoint
//! ([`Route`]) serves a canned body in the real JSON shape (many symbols) until told
//! otherwise: a persistent [`Reply`] per route ([`FakeExchange::set`]) and one-shot replies
//! served first ([`FakeExchange::push_once`]). Every request's path and query is recorded.

use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::Duration;

/// Server time of the canned bodies (ms): Bybit `time`, Bitget `requestTime`.
pub(crate) const T0_MS: i64 = 1_718_340_000_123;

/// The ticker endpoints the fake knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    /// `GET /v5/market/tickers?category=linear`
    BybitLinear,
    /// `GET /v5/market/tickers?category=spot`
    BybitSpot,
    /// `GET /api/v2/spot/market/tickers`
    BitgetSpot,
    /// `GET /api/v2/mix/market/tickers?productType=USDT-FUTURES`
    BitgetMix,
}

impl Route {
    const ALL: [Route; 4] = [
        Route::BybitLinear,
        Route::BybitSpot,
        Route::BitgetSpot,
        Route::BitgetMix,
    ];

    fn of(path: &str, query: &HashMap<String, String>) -> Option<Route> {
        let q = |k: &str| query.get(k).map(|v| v.to_ascii_lowercase());
        match path {
            "/v5/market/tickers" => match q("category").as_deref() {
                Some("linear") => Some(Route::BybitLinear),
                Some("spot") => Some(Route::BybitSpot),
                _ => None,
            },
            "/api/v2/spot/market/tickers" => Some(Route::BitgetSpot),
            // One symbol's ticker comes in the same list shape; the fake answers the list.
            "/api/v2/mix/market/tickers" | "/api/v2/mix/market/ticker" => {
                match q("productType").as_deref() {
                    Some("usdt-futures") => Some(Route::BitgetMix),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The canned body of this endpoint, serialized once per test process.
    fn canned_text(self) -> &'static str {
        static TEXTS: OnceLock<HashMap<Route, String>> = OnceLock::new();
        let texts = TEXTS.get_or_init(|| {
            Route::ALL
                .iter()
                .map(|r| (*r, r.canned().to_string()))
                .collect()
        });
        texts.get(&self).map_or("", String::as_str)
    }

    /// The canned body of this endpoint.
    pub(crate) fn canned(self) -> Value {
        match self {
            Route::BybitLinear => bybit_linear(T0_MS),
            Route::BybitSpot => bybit_spot(T0_MS),
            Route::BitgetSpot => bitget_spot(T0_MS),
            Route::BitgetMix => bitget_mix(T0_MS),
        }
    }
}

/// What the fake answers.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// HTTP status.
    pub(crate) status: u16,
    /// Body, sent as is.
    pub(crate) body: String,
    /// Wait before answering.
    pub(crate) delay: Duration,
}

impl Reply {
    /// A JSON body.
    pub(crate) fn json(status: u16, v: &Value) -> Self {
        Self::raw(status, &v.to_string())
    }
    /// Any body.
    pub(crate) fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    /// A bare HTTP error status with an HTML body (as a proxy or load balancer sends).
    pub(crate) fn status(status: u16) -> Self {
        Self::raw(status, &format!("<html><body>error {status}</body></html>"))
    }
    /// A 200 whose body is cut off in the middle of the JSON.
    pub(crate) fn malformed() -> Self {
        Self::raw(
            200,
            r#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCU"#,
        )
    }
    /// Bybit business error: HTTP 200 with `retCode != 0`.
    pub(crate) fn bybit_error(ret_code: i64, msg: &str) -> Self {
        Self::json(
            200,
            &json!({"retCode": ret_code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": T0_MS}),
        )
    }
    /// Bitget business error: HTTP 400 with `code != "00000"`, `data: null`.
    pub(crate) fn bitget_error(code: &str, msg: &str) -> Self {
        Self::json(
            400,
            &json!({"code": code, "msg": msg, "requestTime": T0_MS, "data": null}),
        )
    }
    /// The same reply after `d`.
    pub(crate) fn delayed(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[derive(Debug, Default)]
struct State {
    routes: HashMap<Route, Reply>,
    once: HashMap<Route, VecDeque<Reply>>,
    requests: Vec<String>,
}

/// The fake server; stops accepting when dropped.
#[derive(Debug)]
pub(crate) struct FakeExchange {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FakeExchange {
    /// A server on an ephemeral port serving the canned bodies.
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (state2, stop2) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let st = state2.clone();
                    thread::spawn(move || handle(stream, &st));
                }
            }
        });
        Self { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Answer `route` with `reply` from now on.
    pub(crate) fn set(&self, route: Route, reply: Reply) {
        self.state().routes.insert(route, reply);
    }

    /// Answer the next request of `route` with `reply` (queued before the persistent one).
    pub(crate) fn push_once(&self, route: Route, reply: Reply) {
        self.state().once.entry(route).or_default().push_back(reply);
    }

    /// Requests received so far, as `path?query`.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }
}

impl Drop for FakeExchange {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65_536 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let Some(target) = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
    else {
        return; // the Drop wake-up connection, or garbage
    };
    let (path, query_str) = target.split_once('?').unwrap_or((target, ""));
    let query: HashMap<String, String> = query_str
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let reply = {
        let mut st = lock(state);
        st.requests.push(target.to_string());
        match Route::of(path, &query) {
            Some(r) => st
                .once
                .get_mut(&r)
                .and_then(VecDeque::pop_front)
                .or_else(|| st.routes.get(&r).cloned())
                .or_else(|| Some(Reply::raw(200, r.canned_text()))),
            None => None,
        }
    };
    let mut reply = reply.unwrap_or_else(|| {
        Reply::json(
            404,
            &json!({"code": "40404", "msg": "Request URL NOT FOUND", "data": null}),
        )
    });
    if path == "/v5/market/tickers"
        && let Some(sym) = query.get("symbol")
    {
        reply = bybit_only(reply, sym);
    }
    if !reply.delay.is_zero() {
        thread::sleep(reply.delay);
    }
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.body.as_bytes());
    let _ = stream.flush();
}

/// Bybit with `symbol=`: the list holds that symbol only, or the answer is a 10001 error.
fn bybit_only(reply: Reply, symbol: &str) -> Reply {
    let Ok(mut v) = serde_json::from_str::<Value>(&reply.body) else {
        return reply;
    };
    let Some(list) = v.pointer_mut("/result/list").and_then(Value::as_array_mut) else {
        return reply;
    };
    list.retain(|t| t["symbol"] == symbol);
    if list.is_empty() {
        return Reply {
            delay: reply.delay,
            ..Reply::bybit_error(10001, "Not supported symbols")
        };
    }
    Reply {
        body: v.to_string(),
        ..reply
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------------------
// Canned bodies (shapes from docs/spec exchanges.md; values invented).

/// Known quotes: (symbol, bid, ask, last, mark).
pub(crate) const KNOWN: [(&str, &str, &str, &str, &str); 4] = [
    ("BTCUSDT", "64210.40", "64210.50", "64210.50", "64212.00"),
    ("ETHUSDT", "3501.11", "3501.13", "3501.12", "3501.40"),
    ("SOLUSDT", "145.201", "145.215", "145.210", "145.220"),
    ("XRPUSDT", "0.51234", "0.51240", "0.51238", "0.51250"),
];

/// Filler symbols, so that the lists look like real "all symbols" answers.
fn filler() -> impl Iterator<Item = (String, String, String, String, String)> {
    (0..150).map(|i| {
        let p = 10 + i;
        (
            format!("COIN{i}USDT"),
            format!("{p}.01"),
            format!("{p}.03"),
            format!("{p}.02"),
            format!("{p}.02"),
        )
    })
}

fn rows() -> Vec<(String, String, String, String, String)> {
    let known = KNOWN.iter().map(|(s, b, a, l, m)| {
        (
            s.to_string(),
            b.to_string(),
            a.to_string(),
            l.to_string(),
            m.to_string(),
        )
    });
    filler()
        .take(70)
        .chain(known)
        .chain(filler().skip(70))
        .collect()
}

/// Bybit `category=linear`, every symbol, envelope `time` = `time_ms`.
pub(crate) fn bybit_linear(time_ms: i64) -> Value {
    let list: Vec<Value> = rows()
        .into_iter()
        .map(|(s, b, a, l, m)| {
            json!({"symbol": s, "lastPrice": l, "indexPrice": m, "markPrice": m,
                "prevPrice24h": l, "price24hPcnt": "0.011506", "highPrice24h": a, "lowPrice24h": b,
                "prevPrice1h": l, "openInterest": "51234.118", "openInterestValue": "3289838004.13",
                "turnover24h": "5123456789.1234", "volume24h": "80012.345", "fundingRate": "0.0001",
                "nextFundingTime": "1718352000000", "predictedDeliveryPrice": "", "basisRate": "",
                "deliveryFeeRate": "", "deliveryTime": "0", "ask1Size": "2.118", "bid1Price": b,
                "ask1Price": a, "bid1Size": "7.301", "basis": "", "preOpenPrice": "", "preQty": "",
                "curPreListingPhase": "", "fundingIntervalHour": "8", "fundingCap": "0.005",
                "basisRateYear": ""})
        })
        .collect();
    json!({"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": list},
        "retExtInfo": {}, "time": time_ms})
}

/// Bybit `category=spot`, every symbol (no mark price), envelope `time` = `time_ms`.
pub(crate) fn bybit_spot(time_ms: i64) -> Value {
    let list: Vec<Value> = rows()
        .into_iter()
        .map(|(s, b, a, l, m)| {
            json!({"symbol": s, "bid1Price": b, "bid1Size": "0.412", "ask1Price": a,
                "ask1Size": "1.03", "lastPrice": l, "prevPrice24h": l, "price24hPcnt": "0.0116",
                "highPrice24h": a, "lowPrice24h": b, "turnover24h": "812345678.12",
                "volume24h": "12701.55", "usdIndexPrice": m})
        })
        .collect();
    json!({"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": list},
        "retExtInfo": {}, "time": time_ms})
}

/// Bitget spot tickers, every symbol; item `ts` = `ts_ms - 1` (string), `requestTime` = `ts_ms`.
pub(crate) fn bitget_spot(ts_ms: i64) -> Value {
    let data: Vec<Value> = rows()
        .into_iter()
        .map(|(s, b, a, l, _)| {
            json!({"symbol": s, "high24h": a, "open": l, "low24h": b, "lastPr": l,
                "quoteVolume": "412345678.9012", "baseVolume": "6432.118",
                "usdtVolume": "412345678.901234", "bidPr": b, "askPr": a, "bidSz": "0.2531",
                "askSz": "0.6012", "openUtc": l, "ts": (ts_ms - 1).to_string(),
                "changeUtc24h": "0.00524", "change24h": "0.01149"})
        })
        .collect();
    json!({"code": "00000", "msg": "success", "requestTime": ts_ms, "data": data})
}

/// Bitget USDT-FUTURES tickers, every symbol; item `ts` = `ts_ms - 1` (string),
/// `requestTime` = `ts_ms`.
pub(crate) fn bitget_mix(ts_ms: i64) -> Value {
    let data: Vec<Value> = rows()
        .into_iter()
        .map(|(s, b, a, l, m)| {
            json!({"symbol": s, "lastPr": l, "askPr": a, "bidPr": b, "bidSz": "3.152",
                "askSz": "0.871", "high24h": a, "low24h": b, "ts": (ts_ms - 1).to_string(),
                "change24h": "0.01142", "baseVolume": "98213.552", "quoteVolume": "6290123456.77",
                "usdtVolume": "6290123456.77", "openUtc": l, "changeUtc24h": "0.00513",
                "indexPrice": m, "fundingRate": "0.0001", "holdingAmount": "41234.881",
                "deliveryStartTime": null, "deliveryTime": "", "deliveryStatus": "",
                "open24h": l, "markPrice": m})
        })
        .collect();
    json!({"code": "00000", "msg": "success", "requestTime": ts_ms, "data": data})
}

/// Set `field` of `symbol`'s item in a canned body (Bybit `result.list` or Bitget `data`).
pub(crate) fn set_field(body: &mut Value, symbol: &str, field: &str, value: Value) {
    let pointer = if body.pointer("/result/list").is_some() {
        "/result/list"
    } else {
        "/data"
    };
    let list = body
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .expect("a canned ticker body");
    let item = list
        .iter_mut()
        .find(|t| t["symbol"] == symbol)
        .expect("symbol in the canned body");
    item[field] = value;
}
