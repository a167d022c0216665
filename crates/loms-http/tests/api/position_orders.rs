//! `GET /positions/{id}/orders`: a position's orders with their fills, in paper mode.

use crate::harness::{TestServer, bot_signal};
use rust_decimal::Decimal;
use serde_json::{Value, json};

#[tokio::test]
async fn an_entry_a_partial_and_a_full_exit_show_three_orders_with_their_fills() {
    let srv = TestServer::start_with(|s| {
        s.fee_taker_bps = Decimal::from(6);
        s.exit_strategy = "trailing_v1".into();
        s.trailing.partial_at_pct = Some(Decimal::new(15, 1));
        s.trailing.partial_fraction = Decimal::new(5, 1);
    })
    .await;
    let sig = |ts: &str| bot_signal(json!({"qty": 2, "price": 100, "timestamp": ts}));
    let (_, a) = srv
        .post("/signals/bounce", &sig("2025-12-01T10:05:00Z"))
        .await;
    let id = a["position_id"].as_i64().unwrap();
    // Another position's orders must not show.
    let (_, b) = srv
        .post("/signals/bounce", &sig("2025-12-01T10:10:00Z"))
        .await;
    let other = b["position_id"].as_i64().unwrap();
    assert_ne!(id, other);
    assert!(srv.market("BTCUSDT", "101.5").await.closed.is_empty());
    let (status, _) = srv
        .post(&format!("/positions/{id}/close"), &json!({}))
        .await;
    assert_eq!(status, 200);

    let (status, got) = srv.get(&format!("/positions/{id}/orders")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["position_id"], json!(id));
    assert_eq!(got["unlinked_fills"], json!([]));
    let orders = got["orders"].as_array().unwrap();
    let shape: Vec<_> = orders
        .iter()
        .map(|o| {
            (
                o["order"]["side"].as_str().unwrap(),
                o["order"]["status"].as_str().unwrap(),
                o["order"]["position_id"].as_i64().unwrap(),
                o["reason"].clone(),
                o["fills"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("buy", "filled", id, Value::Null, 1),
            ("sell", "filled", id, json!("tp"), 1),
            ("sell", "filled", id, json!("manual"), 1),
        ]
    );
    let fills: Vec<_> = orders.iter().map(|o| &o["fills"][0]).collect();
    assert_eq!(
        fills
            .iter()
            .map(|f| (f["kind"].as_str().unwrap(), &f["qty"], &f["price"]))
            .collect::<Vec<_>>(),
        [
            ("entry", &json!(2), &json!(100)),
            ("partial", &json!(1), &json!(101.5)),
            ("exit", &json!(1), &json!(101.5)),
        ]
    );
    // Paper trades are named after their order's client id; fees are the taker's 6 bps.
    for (o, f) in orders.iter().zip(&fills) {
        let oid = o["order"]["client_oid"].as_str().unwrap();
        assert_eq!(f["trade_id"], json!(format!("{oid}-1")));
    }
    assert_eq!(fills[0]["fee"], json!(0.12));
    // Each order is the one GET /orders/ lists.
    let (_, all) = srv.get("/orders/").await;
    for o in orders {
        let listed = all
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == o["order"]["id"])
            .unwrap();
        assert_eq!(listed, &o["order"]);
    }
    // The other position: its entry and its own partial close only.
    let (_, b_orders) = srv.get(&format!("/positions/{other}/orders/")).await;
    let b_orders = b_orders["orders"].as_array().unwrap();
    assert_eq!(b_orders.len(), 2);
    assert!(
        b_orders
            .iter()
            .all(|o| o["order"]["position_id"] == json!(other))
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_position_gets_a_json_error() {
    let srv = TestServer::start(|_| {}).await;
    let (status, e) = srv.get("/positions/42/orders").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (404, Some("not_found")),
        "{e}"
    );
    let (status, e) = srv.get("/positions/abc/orders").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (422, Some("invalid_query")),
        "{e}"
    );
    let (status, _) = srv.post("/positions/1/orders", &json!({})).await;
    assert_eq!(status, 405);
}
