//! Shadow mode: paper positions on exchange prices, against a fake Bitget on 127.0.0.1
//! serving the real USDT-FUTURES ticker format.

use crate::harness::{TestServer, bot_signal};
use chrono::{DateTime, Utc};
use loms_config::PriceSourceKind;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// What the fake answers: a price at a time, or an HTTP 500.
#[derive(Clone)]
struct Book {
    price: String,
    ts: DateTime<Utc>,
    fail: bool,
}

/// A fake Bitget answering `GET /api/v2/mix/market/tickers` from shared state.
struct FakeBitget {
    url: String,
    book: Arc<Mutex<Book>>,
    hits: Arc<Mutex<Vec<String>>>,
}

impl FakeBitget {
    fn start(price: &str, ts: DateTime<Utc>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let book = Arc::new(Mutex::new(Book {
            price: price.into(),
            ts,
            fail: false,
        }));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let (b, h) = (book.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Drain the headers.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                h.lock().unwrap().push(
                    request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("")
                        .to_string(),
                );
                let book = b.lock().unwrap().clone();
                let (status, body) = if book.fail {
                    ("500 Internal Server Error", "upstream down".to_string())
                } else {
                    let ms = book.ts.timestamp_millis().to_string();
                    let p = &book.price;
                    let item = json!({"symbol": "BTCUSDT", "lastPr": p, "askPr": p, "bidPr": p,
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
        Self { url, book, hits }
    }

    fn set(&self, price: &str, ts: DateTime<Utc>) {
        let mut b = self.book.lock().unwrap();
        b.price = price.into();
        b.ts = ts;
        b.fail = false;
    }
}

#[tokio::test]
async fn shadow_position_closes_by_trailing_stop_on_the_fake_exchange_prices() {
    let fake = FakeBitget::start("100", crate::harness::t0());
    let url = fake.url.clone();
    let srv = TestServer::start_with(move |s| {
        s.price_source = PriceSourceKind::Exchange;
        s.price_exchange = "bitget".into();
        s.bitget_base_url = url.clone();
        s.exit_strategy = "trailing_v1".into();
        s.fee_taker_bps = rust_decimal::Decimal::from(6);
    })
    .await;
    let (_, h) = srv.get("/health").await;
    assert_eq!(h["price_source"], "exchange");
    let (_, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"qty": 1, "price": 100})),
        )
        .await;
    assert_eq!(a["exit_strategy"], "trailing_v1");
    let id = a["position_id"].as_i64().unwrap();

    let step = |secs: i64| crate::harness::t0() + chrono::Duration::seconds(secs);
    for (i, price) in ["101", "103"].iter().enumerate() {
        srv.clock.set(step(10 * (i as i64 + 1)));
        fake.set(price, step(10 * (i as i64 + 1)));
        let r = srv.oms.auto_close_pass().await.unwrap();
        assert!(r.closed.is_empty(), "{r:?}");
    }
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(p["dynamic_sl_price"], json!(101.97), "{p}");

    // The exchange fails: the position is left alone and /health says why.
    fake.book.lock().unwrap().fail = true;
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!((r.closed.len(), r.no_price), (0, 1));
    let (_, h) = srv.get("/health").await;
    assert!(
        h["checks"]["price_feed"]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{h}"
    );

    // A stale quote is never used to close.
    srv.clock.set(step(60));
    fake.set("90", step(30));
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!((r.closed.len(), r.no_price), (0, 1));

    // The price falls through the trailing stop: closed as trailing_sl, net of fees.
    fake.set("101.9", step(60));
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!(r.closed.len(), 1);
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(p["auto_close_reason"], "trailing_sl");
    assert_eq!(p["close_price"], json!(101.9));
    // gross 1.9; fees 100 × 0.0006 + 101.9 × 0.0006 = 0.12114
    assert_eq!(
        (p["fees"].as_f64(), p["pnl"].as_f64()),
        (Some(0.12114), Some(1.77886))
    );
    // One ticker request per pass, never per position.
    let hits = fake.hits.lock().unwrap().clone();
    assert!(
        hits.iter()
            .all(|h| h == "/api/v2/mix/market/tickers?productType=USDT-FUTURES"),
        "{hits:?}"
    );
    // /market/price is the simulator's: refused in shadow mode.
    let (st, e) = srv.get("/market/price").await;
    assert_eq!((st, e["error"].as_str()), (409, Some("wrong_mode")));
}
