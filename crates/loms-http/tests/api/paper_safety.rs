//! Paper stays safe (issue 12 item 7): in paper mode on real exchange prices (shadow),
//! everything LOMS does — signals, manual orders, closes, passes, close-all, flatten,
//! the downtime catch-up, a restart — reaches the exchange only through its public
//! market data: no signed request, no POST, no private path, ever.

use crate::fake_bitget::FakeBitget;
use crate::harness::{nth_signal, t0};
use serde_json::json;

#[tokio::test]
async fn shadow_mode_sends_nothing_private_to_the_exchange() {
    let fake = FakeBitget::start("100", t0());
    let srv = fake
        .server(|s| s.risk.max_open_positions_per_symbol = None)
        .await;
    assert_eq!(srv.oms.settings().broker_mode.as_str(), "paper");
    // The fake does tell a private request (checked once, then forgotten).
    {
        use std::io::{Read, Write};
        let addr = fake.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /api/v2/mix/position/all-position HTTP/1.1\r\nHost: x\r\nACCESS-KEY: k\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let _ = s.read_to_end(&mut Vec::new());
        assert_eq!(fake.private.lock().unwrap().len(), 1);
        fake.private.lock().unwrap().clear();
    }
    for n in 0..3 {
        let (st, a) = srv
            .post(
                "/signals/bounce",
                &nth_signal(n, json!({"qty": 1, "price": 100})),
            )
            .await;
        assert_eq!(st, 200, "{a}");
    }
    let order = json!({"symbol": "BTCUSDT", "side": "buy", "qty": 1, "entry_price": 100});
    let (st, o) = srv.post("/orders/", &order).await;
    assert_eq!(st, 200, "{o}");
    let (st, c) = srv.post("/positions/1/close", &json!({})).await;
    assert_eq!(st, 200, "{c}");
    srv.oms.auto_close_pass().await.unwrap();
    srv.oms.catch_up_downtime().await.unwrap();
    let (st, c) = srv.post("/admin/close-all", &json!({})).await;
    assert_eq!(st, 200, "{c}");
    let (st, f) = srv
        .post("/admin/oms", &json!({"mode": "flatten", "set_by": "test"}))
        .await;
    assert_eq!(st, 200, "{f}");
    let srv = srv.restart().await;
    srv.oms.auto_close_pass().await.unwrap();

    let hits = fake.hits.lock().unwrap().clone();
    assert!(
        hits.iter()
            .any(|h| h.starts_with("/api/v2/mix/market/ticker")),
        "the fake was used: {hits:?}"
    );
    let private = fake.private.lock().unwrap().clone();
    assert!(
        private.is_empty(),
        "private requests in paper mode: {private:?}"
    );
}
