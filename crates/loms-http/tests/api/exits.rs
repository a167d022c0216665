//! trailing_v1, partial closes, fees and slippage through the real server.

use crate::harness::{TestServer, bot_signal};
use rust_decimal::Decimal;
use serde_json::json;

#[tokio::test]
async fn trailing_stop_follows_the_price_and_is_stored_between_passes() {
    let srv = TestServer::start(|_| {}).await;
    let sig = bot_signal(json!({"qty": 1, "price": 100, "exit_strategy": "trailing_v1"}));
    let (_, a) = srv.post("/signals/bounce", &sig).await;
    assert_eq!(a["exit_strategy"], "trailing_v1");
    let id = a["position_id"].as_i64().unwrap();

    assert!(srv.market("BTCUSDT", "101").await.closed.is_empty());
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(
        (
            p["dynamic_sl_price"].as_f64(),
            p["exit_meta"]["stop_kind"].as_str()
        ),
        (Some(100.0), Some("break_even"))
    );
    assert_eq!(p["max_favorable_move"], json!(1));

    assert!(srv.market("BTCUSDT", "103").await.closed.is_empty());
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(
        (
            p["dynamic_sl_price"].as_f64(),
            p["exit_meta"]["stop_kind"].as_str()
        ),
        (Some(101.97), Some("trailing"))
    );
    assert_eq!(p["max_favorable_move"], json!(3));

    // A restart keeps the moved stop.
    let srv = srv.restart().await;
    let r = srv.market("BTCUSDT", "101.9").await;
    assert_eq!(r.closed.len(), 1);
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(
        (p["auto_close_reason"].as_str(), p["pnl"].as_f64()),
        (Some("trailing_sl"), Some(1.9))
    );
}

/// A server whose trailing_v1 closes half at +1.5 %, with `fee_bps` taker fees, and a
/// long of 2 opened at 100 on it.
async fn half_closed_at_one_and_a_half_percent(fee_bps: i64) -> (TestServer, i64) {
    let srv = TestServer::start_with(move |s| {
        s.fee_taker_bps = Decimal::from(fee_bps);
        s.exit_strategy = "trailing_v1".into();
        s.trailing.partial_at_pct = Some(Decimal::new(15, 1));
        s.trailing.partial_fraction = Decimal::new(5, 1);
    })
    .await;
    let (_, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"qty": 2, "price": 100})),
        )
        .await;
    assert_eq!((&a["entry_price"], &a["qty"]), (&json!(100), &json!(2)));
    (srv, a["position_id"].as_i64().unwrap())
}

#[tokio::test]
async fn partial_take_profit_then_break_even_closes_the_rest() {
    let (srv, id) = half_closed_at_one_and_a_half_percent(0).await;
    assert!(srv.market("BTCUSDT", "101.5").await.closed.is_empty());
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(
        (p["status"].as_str(), p["qty"].as_f64()),
        (Some("open"), Some(1.0))
    );
    assert_eq!(p["realized_pnl"], json!(1.5));
    // Back to the entry: the stop moved to break-even closes the other half at 0.
    let r = srv.market("BTCUSDT", "100").await;
    assert_eq!(r.closed.len(), 1);
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(
        (p["auto_close_reason"].as_str(), p["pnl"].as_f64()),
        (Some("break_even"), Some(1.5))
    );
    let conn = rusqlite::Connection::open(srv.dir.path().join("loms_test.db")).unwrap();
    let kinds: Vec<String> = conn
        .prepare("SELECT kind || ':' || qty || '@' || price FROM fills WHERE position_id = ?1 ORDER BY id")
        .unwrap()
        .query_map([id], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, vec!["entry:2@100", "partial:1@101.5", "exit:1@100"]);
}

#[tokio::test]
async fn fees_and_slippage_make_pnl_net() {
    let srv = TestServer::start(|s| {
        s.fee_taker_bps = Decimal::from(6);
        s.slippage_bps = Decimal::from(10);
    })
    .await;
    let (_, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"qty": 1, "price": 100})),
        )
        .await;
    // A long buys: 100 + 0.1 % slippage.
    assert_eq!(a["entry_price"], json!(100.1));
    // TP = 100.1 × 1.045 = 104.6045; the exit sells at 110 − 0.1 % = 109.89.
    assert_eq!(srv.market("BTCUSDT", "110").await.closed.len(), 1);
    let (_, p) = srv.get(&format!("/positions/{}", a["position_id"])).await;
    // fees: 100.1 × 0.0006 + 109.89 × 0.0006 = 0.06006 + 0.065934 = 0.125994
    assert_eq!(p["fees"], json!(0.125994));
    assert_eq!(p["pnl"], json!(9.664006)); // 9.79 − 0.125994
    let (_, s) = srv.get("/stats").await;
    assert_eq!(
        (
            s["gross_pnl"].as_f64(),
            s["net_pnl"].as_f64(),
            s["fees_paid"].as_f64()
        ),
        (Some(9.79), Some(9.664006), Some(0.125994))
    );
}

#[tokio::test]
async fn the_best_move_is_stored_in_steps_unless_the_policy_acts() {
    let srv = TestServer::start(|_| {}).await;
    let sig = bot_signal(json!({"qty": 1, "price": 100, "exit_strategy": "tp_sl_static"}));
    let (_, a) = srv.post("/signals/bounce", &sig).await;
    let id = a["position_id"].as_i64().unwrap();
    let best = |p: serde_json::Value| p["max_favorable_move"].as_f64();

    // 0.05 % up: below the 0.1-point step, nothing is written.
    srv.market("BTCUSDT", "100.05").await;
    assert_eq!(best(srv.get(&format!("/positions/{id}")).await.1), None);
    srv.market("BTCUSDT", "100.2").await;
    assert_eq!(
        best(srv.get(&format!("/positions/{id}")).await.1),
        Some(0.2)
    );
    srv.market("BTCUSDT", "100.25").await;
    assert_eq!(
        best(srv.get(&format!("/positions/{id}")).await.1),
        Some(0.2)
    );
    // The close stores the exact best move with it.
    let r = srv.market("BTCUSDT", "200").await;
    assert_eq!(r.closed.len(), 1);
    assert_eq!(
        best(srv.get(&format!("/positions/{id}")).await.1),
        Some(100.0)
    );
}

/// Open a position of `side` with 6 bps fees and `offset_bps` kept at break-even, move
/// the price 1.5 % its way, then back to the stop: the break_even close's net PnL.
async fn break_even_close(side: &str, offset_bps: i64) -> (f64, f64) {
    let srv = TestServer::start_with(move |s| {
        s.fee_taker_bps = Decimal::from(6);
        s.trailing.break_even_offset_bps = Decimal::from(offset_bps);
    })
    .await;
    let sig = bot_signal(json!({"qty": 1, "price": 100, "side": side,
        "exit_strategy": "trailing_v1"}));
    let (st, a) = srv.post("/signals/bounce", &sig).await;
    assert_eq!(st, 200, "{a}");
    let (id, entry) = (
        a["position_id"].as_i64().unwrap(),
        a["entry_price"].as_f64().unwrap(),
    );
    let away = if side == "long" { 1.015 } else { 0.985 };
    assert!(
        srv.market("BTCUSDT", &format!("{}", entry * away))
            .await
            .closed
            .is_empty()
    );
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(p["exit_meta"]["stop_kind"], "break_even", "{p}");
    let stop = p["dynamic_sl_price"].to_string();
    let beyond = |s: f64| if side == "long" { s > entry } else { s < entry };
    assert!(
        beyond(stop.parse().unwrap()),
        "{side}: stop {stop} past the entry {entry}"
    );
    assert_eq!(srv.market("BTCUSDT", &stop).await.closed.len(), 1);
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(p["auto_close_reason"], "break_even", "{p}");
    (
        p["pnl"].as_f64().unwrap(),
        entry * offset_bps as f64 / 10_000.0,
    )
}

#[tokio::test]
async fn a_break_even_close_nets_the_offset_after_fees_long_and_short() {
    for side in ["long", "short"] {
        let (pnl, _) = break_even_close(side, 0).await;
        assert!((0.0..1e-9).contains(&pnl), "{side}: net {pnl}");
        let (pnl, offset) = break_even_close(side, 10).await;
        assert!(
            pnl >= offset && pnl - offset < 1e-9,
            "{side}: net {pnl}, offset {offset}"
        );
    }
}

#[tokio::test]
async fn a_partly_closed_position_shows_its_opened_size_and_every_piece() {
    let (srv, id) = half_closed_at_one_and_a_half_percent(6).await;
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(
        (&p["opened_qty"], &p["closes"]),
        (&json!(2), &json!([])),
        "open, nothing closed yet"
    );

    srv.clock.advance(chrono::Duration::seconds(60));
    assert!(srv.market("BTCUSDT", "101.5").await.closed.is_empty());
    let (_, p) = srv.get(&format!("/positions/{id}")).await;
    let partial = json!({"qty": 1, "price": 101.5, "fee": 0.0609, "reason": "tp",
        "closed_at": "2025-12-01T10:06:30Z"});
    assert_eq!(
        (&p["qty"], &p["opened_qty"], &p["closes"]),
        (&json!(1), &json!(2), &json!([partial]))
    );
    // A restart between the two exits: the next exit still knows it is the second.
    let srv = srv.restart().await;

    srv.clock.advance(chrono::Duration::seconds(60));
    srv.market("BTCUSDT", "102").await;
    let (st, closed) = srv
        .post(&format!("/positions/{id}/close"), &json!({}))
        .await;
    assert_eq!(st, 200, "{closed}");
    let last = json!({"qty": 1, "price": 102, "fee": 0.0612, "reason": "manual",
        "closed_at": "2025-12-01T10:07:30Z"});
    assert_eq!(
        (&closed["opened_qty"], &closed["qty"], &closed["closes"]),
        (&json!(2), &json!(1), &json!([partial, last]))
    );
    // PnL and fees as before the pieces were kept: 1.5 + 2 gross, fees 0.12 (entry)
    // + 0.0609 + 0.0612.
    assert_eq!(
        (&closed["realized_pnl"], &closed["fees"], &closed["pnl"]),
        (&json!(1.5), &json!(0.2421), &json!(3.2579))
    );
    // The answer, the row, the list and a restart agree.
    let (_, got) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(got, closed);
    let (_, list) = srv.get("/positions/?status=closed").await;
    assert_eq!(list[0], closed);
    let srv = srv.restart().await;
    assert_eq!(srv.get(&format!("/positions/{id}")).await.1, closed);
    // Its orders: the entry and two exits, each with its own client order id.
    let (_, orders) = srv.get("/orders").await;
    let mut legs: Vec<String> = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["position_id"] == json!(id))
        .map(|o| {
            let oid = o["client_oid"].as_str().unwrap_or("");
            oid.rsplit('-').next().unwrap_or("").to_string()
        })
        .collect();
    legs.sort();
    assert_eq!(legs, ["e", "x1", "x2"], "{orders}");
}
