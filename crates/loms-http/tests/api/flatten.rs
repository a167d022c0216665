//! `flatten` drives to flat: what a price failure left open is closed by the next pass,
//! and by the next start, and stays reported until then.

use crate::fake_bitget::FakeBitget;
use crate::harness::{TestServer, nth_signal, t0};
use serde_json::{Value, json};

/// A server on the fake's prices with two longs open at 100, and the exchange failing
/// when flatten is asked for; returns the flatten answer too.
async fn flatten_while_the_exchange_fails() -> (FakeBitget, TestServer, [i64; 2], Value) {
    let fake = FakeBitget::start("100", t0());
    let srv = fake
        .server(|s| s.risk.max_open_positions_per_symbol = None)
        .await;
    let mut ids = [0; 2];
    for (i, id) in ids.iter_mut().enumerate() {
        let signal = nth_signal(i as u32, json!({"qty": 1, "price": 100}));
        let (st, a) = srv.post("/signals/bounce", &signal).await;
        assert_eq!((st, a["risk_ok"].as_bool()), (200, Some(true)), "{a}");
        *id = a["position_id"].as_i64().unwrap();
    }
    fake.book.lock().unwrap().fail = true;
    let (st, a) = srv
        .post("/admin/oms", &json!({"mode": "flatten", "set_by": "test"}))
        .await;
    assert_eq!(st, 200, "{a}");
    (fake, srv, ids, a)
}

async fn status(srv: &TestServer, id: i64) -> Value {
    srv.get(&format!("/positions/{id}")).await.1
}

#[tokio::test]
async fn a_flatten_the_prices_failed_is_finished_by_the_next_pass_and_reported_until_then() {
    let (fake, srv, ids, a) = flatten_while_the_exchange_fails().await;
    assert_eq!(a["trading"]["mode"], "flatten");
    assert_eq!(a["flatten"]["closed"], json!([]), "{a}");
    let failed = a["flatten"]["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{a}");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("HTTP 500"),
        "{a}"
    );
    for id in ids {
        assert_eq!(status(&srv, id).await["status"], "open");
    }
    // Reported: /health fails the loop's check, the gauge counts what is left.
    let (_, h) = srv.get("/health").await;
    let check = &h["checks"]["auto_close_loop"];
    assert_eq!(check["ok"], false, "{h}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .starts_with("flatten incomplete: 2 position(s) still open"),
        "{h}"
    );
    let metrics = srv.oms.render_metrics();
    assert!(
        metrics.contains("loms_flatten_left_positions 2"),
        "{metrics}"
    );

    // A failing pass changes nothing; the first one with prices closes everything, at
    // the quote and with reason panic, not by the exit policies (101 hits no TP/SL).
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!((r.closed_count, r.no_price), (0, 2), "{r:?}");
    fake.set("101", t0());
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!(r.closed_count, 2, "{r:?}");
    for id in ids {
        let p = status(&srv, id).await;
        assert_eq!(
            (p["auto_close_reason"].as_str(), p["close_price"].as_f64()),
            (Some("panic"), Some(101.0)),
            "{p}"
        );
    }
    let (_, h) = srv.get("/health").await;
    assert_eq!(h["checks"]["auto_close_loop"]["ok"], true, "{h}");
    assert!(
        srv.oms
            .render_metrics()
            .contains("loms_flatten_left_positions 0")
    );
    assert_eq!(
        srv.oms.trading_state().mode.as_str(),
        "flatten",
        "stays off"
    );
}

#[tokio::test]
async fn a_restart_under_flatten_closes_what_is_still_open() {
    let (fake, srv, ids, _) = flatten_while_the_exchange_fails().await;
    fake.set("99", t0());
    // No pass runs before the restart (the loop's interval is an hour).
    let srv = srv.restart().await;
    let mut left = Vec::new();
    for _ in 0..250 {
        left.clear();
        for id in ids {
            let p = status(&srv, id).await;
            if p["status"] != "closed" {
                left.push(p);
            }
        }
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(left.is_empty(), "still open after the restart: {left:?}");
    let p = status(&srv, ids[0]).await;
    assert_eq!(p["auto_close_reason"], "panic", "{p}");
}
