//! A fake Bitget on 127.0.0.1 serving the real USDT-FUTURES ticker and candle formats
//! from shared state, for the shadow-mode tests.

use crate::harness::TestServer;
use chrono::{DateTime, Utc};
use loms_config::{PriceSourceKind, Settings};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// What the fake answers: a price at a time, or an HTTP 500.
#[derive(Clone)]
pub(crate) struct Book {
    pub(crate) price: String,
    /// Bid and ask when they differ from the price (last).
    pub(crate) spread: Option<(String, String)>,
    pub(crate) ts: DateTime<Utc>,
    pub(crate) fail: bool,
    /// The candle endpoint answers HTTP 500.
    pub(crate) candles_fail: bool,
    /// Rows of `/api/v2/mix/market/candles`: [start ms, open, high, low, close].
    pub(crate) candles: Vec<[String; 5]>,
}

/// A fake Bitget answering `GET /api/v2/mix/market/tickers` from shared state.
pub(crate) struct FakeBitget {
    pub(crate) url: String,
    pub(crate) book: Arc<Mutex<Book>>,
    pub(crate) hits: Arc<Mutex<Vec<String>>>,
    /// Requests that could act on an account: any POST, any signed request (ACCESS-*
    /// headers), any private path. Paper and shadow mode must never send one.
    pub(crate) private: Arc<Mutex<Vec<String>>>,
}

/// Paths of Bitget's private REST API (orders, account, positions).
const PRIVATE_PATHS: [&str; 4] = [
    "/api/v2/mix/order",
    "/api/v2/mix/account",
    "/api/v2/mix/position",
    "/api/v2/spot/account",
];

impl FakeBitget {
    pub(crate) fn start(price: &str, ts: DateTime<Utc>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let book = Arc::new(Mutex::new(Book {
            price: price.into(),
            ts,
            spread: None,
            fail: false,
            candles_fail: false,
            candles: Vec::new(),
        }));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let private = Arc::new(Mutex::new(Vec::new()));
        let (b, h, pv) = (book.clone(), hits.clone(), private.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Read the headers: a signed one marks the request private.
                let mut line = String::new();
                let mut signed = false;
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    let name = line
                        .split(':')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase();
                    signed |= name.starts_with("access-") || name == "paptrading";
                    line.clear();
                }
                let target = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                if signed
                    || !request_line.starts_with("GET ")
                    || PRIVATE_PATHS.iter().any(|p| target.starts_with(p))
                {
                    pv.lock().unwrap().push(request_line.trim().to_string());
                }
                h.lock().unwrap().push(target.clone());
                let book = b.lock().unwrap().clone();
                let candles = target.starts_with("/api/v2/mix/market/candles");
                let (status, body) = if candles && book.candles_fail {
                    ("500 Internal Server Error", "upstream down".to_string())
                } else if candles {
                    let rows: Vec<_> = book
                        .candles
                        .iter()
                        .map(|r| json!([r[0], r[1], r[2], r[3], r[4], "1", "1"]))
                        .collect();
                    let body =
                        json!({"code": "00000", "msg": "success", "requestTime": 0, "data": rows});
                    ("200 OK", body.to_string())
                } else if book.fail {
                    ("500 Internal Server Error", "upstream down".to_string())
                } else {
                    let ms = book.ts.timestamp_millis().to_string();
                    let p = &book.price;
                    let (bid, ask) = book.spread.clone().unwrap_or((p.clone(), p.clone()));
                    let item = json!({"symbol": "BTCUSDT", "lastPr": p, "askPr": ask, "bidPr": bid,
                        "bidSz": "1", "askSz": "1", "high24h": p, "low24h": p, "ts": ms, "change24h": "0",
                        "baseVolume": "1", "quoteVolume": "1", "usdtVolume": "1", "openUtc": p,
                        "changeUtc24h": "0", "indexPrice": p, "fundingRate": "0.0001", "holdingAmount": "1",
                        "deliveryStartTime": "", "deliveryTime": "", "deliveryStatus": "", "open24h": p, "markPrice": p});
                    ("200 OK", json!({"code": "00000", "msg": "success", "requestTime": book.ts.timestamp_millis(), "data": [item]}).to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            url,
            book,
            hits,
            private,
        }
    }

    /// Price (bid = ask = last) at `ts`, answering again.
    pub(crate) fn set(&self, price: &str, ts: DateTime<Utc>) {
        let mut b = self.book.lock().unwrap();
        b.price = price.into();
        b.ts = ts;
        b.fail = false;
        b.spread = None;
    }

    /// Last `last`, bid `bid`, ask `ask` at `ts`, answering again.
    pub(crate) fn quote(&self, last: &str, bid: &str, ask: &str, ts: DateTime<Utc>) {
        self.set(last, ts);
        self.book.lock().unwrap().spread = Some((bid.into(), ask.into()));
    }

    /// A test server on this fake's prices (shadow mode), with `tweak` on top.
    pub(crate) async fn server(
        &self,
        tweak: impl Fn(&mut Settings) + Send + Sync + 'static,
    ) -> TestServer {
        let url = self.url.clone();
        TestServer::start_with(move |s| {
            s.price_source = PriceSourceKind::Exchange;
            s.price_exchange = "bitget".into();
            s.bitget_base_url = url.clone();
            tweak(s);
        })
        .await
    }

    /// Candle rows served from now on: (start, open, high, low, close).
    pub(crate) fn candles(&self, rows: &[(DateTime<Utc>, &str, &str, &str, &str)]) {
        self.book.lock().unwrap().candles = rows
            .iter()
            .map(|(t, o, h, l, c)| {
                [
                    t.timestamp_millis().to_string(),
                    (*o).into(),
                    (*h).into(),
                    (*l).into(),
                    (*c).into(),
                ]
            })
            .collect();
    }
}
