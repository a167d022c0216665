//! Open → close paths, manual close, stats, restart, shutdown, routing.

use crate::harness::{TestServer, bot_signal, nth_signal, raw_exchange};
use serde_json::json;

#[tokio::test]
async fn long_opens_then_closes_at_take_profit() {
    let srv = TestServer::start(|_| {}).await;
    let (st, a) = srv.post("/signals/bounce", &bot_signal(json!({}))).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(
        (
            a["received"].clone(),
            a["oms_enabled"].clone(),
            a["risk_ok"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert_eq!(a["tp_price"], json!(101626.7725));
    assert_eq!(a["sl_price"], json!(95791.7425));
    assert_eq!(a["exit_strategy"], "tp_sl_static");
    let id = a["position_id"].as_i64().unwrap();
    assert_eq!(a["order_id"].as_i64().unwrap(), id);

    // Just below TP: nothing happens.
    let r = srv.market("BTCUSDT", "101626.77").await;
    assert!(r.closed.is_empty());
    let r = srv.market("BTCUSDT", "101700").await;
    assert_eq!(r.closed.len(), 1);
    // The writer keeps no signal or order references in memory: the closed position
    // it reports is completed from its row.
    let c = &r.closed[0];
    assert_eq!(c.order_id, Some(id));
    assert!(c.signal_id.is_some());
    assert_eq!(c.signal_id.as_deref(), a["signal_id"].as_str());
    assert_eq!(c.strategy.as_deref(), Some("bounce_ema10_strict"));
    assert_eq!((c.exchange.as_str(), c.timeframe_min), ("bitget", Some(5)));
    assert!(c.signal_price.is_some() && c.signal_time.is_some());

    let (st, p) = srv.get(&format!("/positions/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(p["status"], "closed");
    assert_eq!(p["auto_close_reason"], "tp");
    assert_eq!(p["close_price"], json!(101700));
    // qty = 10 USDT / 97250.5 rounded down to 8 places = 0.00010282; pnl = 4449.5 × qty.
    assert_eq!(p["qty"], json!(0.00010282));
    assert_eq!(p["pnl"], json!(0.45749759));
    assert_eq!(p["signal_price"], json!(97250.5));
    assert_eq!(p["signal_time"], "2025-12-01T10:05:00Z");
    assert!(p["closed_at"].is_string());
}

#[tokio::test]
async fn long_closes_at_stop_loss_and_short_mirrors() {
    let srv = TestServer::start(|_| {}).await;
    let (_, long) = srv
        .post("/signals/bounce", &bot_signal(json!({"qty": 1})))
        .await;
    let (_, short) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"symbol": "ETHUSDT", "side": "SELL", "price": "3500", "qty": 2})),
        )
        .await;
    assert_eq!(short["tp_price"], json!(3342.5));
    assert_eq!(short["sl_price"], json!(3552.5));

    let r = srv.market("BTCUSDT", "95000").await;
    assert_eq!(r.closed.len(), 1);
    let (_, p) = srv
        .get(&format!("/positions/{}", long["position_id"]))
        .await;
    assert_eq!(
        (p["auto_close_reason"].as_str(), p["pnl"].as_f64()),
        (Some("sl"), Some(-2250.5))
    );

    // Short: price up to the stop closes at a loss, (3500 − 3560) × 2 = −120.
    let r = srv.market("ETHUSDT", "3560").await;
    assert_eq!(r.closed.len(), 1);
    let (_, p) = srv
        .get(&format!("/positions/{}", short["position_id"]))
        .await;
    assert_eq!(p["side"], "short");
    assert_eq!(
        (p["auto_close_reason"].as_str(), p["pnl"].as_f64()),
        (Some("sl"), Some(-120.0))
    );
}

#[tokio::test]
async fn short_closes_at_take_profit() {
    let srv = TestServer::start(|_| {}).await;
    let (_, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"side": "short", "price": 100, "qty": 1})),
        )
        .await;
    let r = srv.market("BTCUSDT", "95").await;
    assert_eq!(r.closed.len(), 1);
    let (_, p) = srv.get(&format!("/positions/{}", a["position_id"])).await;
    assert_eq!(
        (p["auto_close_reason"].as_str(), p["pnl"].as_f64()),
        (Some("tp"), Some(5.0))
    );
}

#[tokio::test]
async fn kill_switch_off_answers_and_opens_nothing() {
    let srv = TestServer::start(|s| s.oms_enabled = false).await;
    let (st, a) = srv.post("/signals/bounce", &bot_signal(json!({}))).await;
    assert_eq!(st, 200);
    assert_eq!(a["oms_enabled"], false);
    assert_eq!(a["risk_ok"], false);
    assert_eq!(a["reason"], "OMS disabled via config");
    assert_eq!(srv.count("positions"), 0);
    assert_eq!(srv.count("orders"), 0);
    assert_eq!(srv.audit_lines()[0]["outcome"]["status"], "disabled");
    let (_, h) = srv.get("/health").await;
    assert_eq!(h["oms_enabled"], false);
}

#[tokio::test]
async fn the_same_signal_twice_opens_one_position() {
    let srv = TestServer::start(|_| {}).await;
    // Derived key: the bot sends neither signal_id nor a header.
    let (_, first) = srv.post("/signals/bounce", &bot_signal(json!({}))).await;
    let (st, again) = srv
        .post("/signals/bounce", &bot_signal(json!({"price": 97000})))
        .await;
    assert_eq!(st, 200);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["position_id"], first["position_id"]);
    assert_eq!(first["duplicate"], false);
    // signal_id in the body.
    let body = nth_signal(1, json!({"signal_id": "abc-1"}));
    let (_, a) = srv.post("/signals/bounce", &body).await;
    let (_, b) = srv
        .post(
            "/signals/bounce",
            &nth_signal(2, json!({"signal_id": "abc-1"})),
        )
        .await;
    assert_eq!(
        (a["duplicate"].clone(), b["duplicate"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(a["signal_id"], "abc-1");
    // Idempotency-Key header.
    let h = [("Idempotency-Key", "key-9")];
    let (_, c) = srv
        .request(
            "POST",
            "/signals/bounce",
            Some(&nth_signal(3, json!({})).to_string()),
            &h,
        )
        .await;
    let (_, d) = srv
        .request(
            "POST",
            "/signals/bounce",
            Some(&nth_signal(4, json!({})).to_string()),
            &h,
        )
        .await;
    assert_eq!(
        (c["duplicate"].clone(), d["duplicate"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(srv.count("positions"), 3);
    assert_eq!(srv.count("signals"), 3);
    let outcomes: Vec<_> = srv
        .audit_lines()
        .iter()
        .map(|l| l["outcome"]["status"].clone())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            "opened",
            "duplicate",
            "opened",
            "duplicate",
            "opened",
            "duplicate"
        ]
    );
}

#[tokio::test]
async fn manual_close_uses_the_current_price_and_is_idempotent() {
    let srv = TestServer::start(|_| {}).await;
    let (_, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"qty": 1, "price": 100})),
        )
        .await;
    let id = a["position_id"].as_i64().unwrap();
    srv.post("/market/price/101.5?symbol=BTCUSDT", &json!(null))
        .await;
    let (st, p) = srv
        .post(&format!("/positions/{id}/close"), &json!(null))
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(
        (p["status"].as_str(), p["auto_close_reason"].as_str()),
        (Some("closed"), Some("manual"))
    );
    assert_eq!(p["close_price"], json!(101.5));
    assert_eq!(p["pnl"], json!(1.5));
    let (st, again) = srv
        .post(&format!("/positions/{id}/close"), &json!(null))
        .await;
    assert_eq!(st, 200);
    assert_eq!(again, p, "closing a closed position returns it unchanged");
    let (st, e) = srv.post("/positions/999/close", &json!(null)).await;
    assert_eq!((st, e["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn manual_order_opens_a_position_and_lists() {
    let srv = TestServer::start(|_| {}).await;
    let order = json!({"symbol": "SOLUSDT", "side": "buy", "qty": 3, "entry_price": 200, "tp_price": 210, "sl_price": 190});
    let (st, p) = srv.post("/orders/", &order).await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(
        (p["symbol"].as_str(), p["tp_price"].as_f64()),
        (Some("SOLUSDT"), Some(210.0))
    );
    let (st, orders) = srv.get("/orders").await;
    assert_eq!(st, 200);
    assert_eq!(orders[0]["side"], "buy");
    assert_eq!(orders[0]["position_id"], p["id"]);
    let (st, e) = srv
        .post(
            "/orders/",
            &json!({"symbol": "SOLUSDT", "side": "buy", "qty": 3}),
        )
        .await;
    assert_eq!((st, e["error"].as_str()), (422, Some("invalid_order")));
}

#[tokio::test]
async fn a_long_position_list_is_sent_in_pieces_as_it_is_read() {
    let srv = TestServer::start(|_| {}).await;
    // About 600 bytes each: more than one piece of 256 KiB.
    for n in 0..600 {
        let body = json!({"symbol": format!("S{}USDT", n % 9), "side": "buy", "qty": 1,
            "entry_price": 100, "tp_price": 110, "sl_price": 90});
        srv.oms.create_order(&body).await.unwrap();
    }
    let (st, head, body) = raw_exchange(srv.addr, "GET", "/positions/", None, &[]).await;
    assert_eq!(st, 200);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(body.len() > loms_oms::JSON_PIECE_BYTES);
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let whole: serde_json::Value =
        serde_json::from_slice(&srv.oms.positions_json(Default::default()).await.unwrap()).unwrap();
    assert_eq!(listed, whole);
    assert_eq!(listed.as_array().unwrap().len(), 600);
    // A short one is sent whole, with its length.
    let (_, head, _) = raw_exchange(srv.addr, "GET", "/positions/?limit=3", None, &[]).await;
    assert!(
        head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
}

#[tokio::test]
async fn positions_filters_and_pages() {
    let srv = TestServer::start(|_| {}).await;
    for (n, sym) in ["BTCUSDT", "ETHUSDT", "BTCUSDT"].iter().enumerate() {
        srv.post(
            "/signals/bounce",
            &nth_signal(n as u32, json!({"symbol": sym, "qty": 1, "price": 100})),
        )
        .await;
    }
    srv.market("ETHUSDT", "200").await;
    let ids = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&srv.get("/positions/").await.1), vec![3, 2, 1]);
    assert_eq!(ids(&srv.get("/positions").await.1), vec![3, 2, 1]);
    assert_eq!(ids(&srv.get("/positions/?status=open").await.1), vec![3, 1]);
    assert_eq!(ids(&srv.get("/positions/?status=closed").await.1), vec![2]);
    assert_eq!(
        ids(&srv.get("/positions/?symbol=btcusdt&limit=1").await.1),
        vec![3]
    );
    assert_eq!(
        ids(&srv.get("/positions/?limit=1&offset=2").await.1),
        vec![1]
    );
    let (st, e) = srv.get("/positions/?status=maybe").await;
    assert_eq!((st, e["error"].as_str()), (422, Some("invalid_query")));
    let (st, _) = srv.get("/positions/?limit=-1").await;
    assert_eq!(st, 422);
    let (st, e) = srv.get("/positions/abc").await;
    assert_eq!((st, e["error"].as_str()), (422, Some("invalid_query")));
    let (st, e) = srv.get("/positions/42").await;
    assert_eq!((st, e["error"].as_str()), (404, Some("not_found")));
}

/// Trades checked by hand (qty 1 each, entry 100):
/// +5 (tp), −1.5 (sl), +3 (manual at 103), −1.5 (sl) → total 5, winrate 50,
/// equity 5, 3.5, 6.5, 5 → max drawdown 1.5; profit factor 8 / 3 = 2.66666667.
#[tokio::test]
async fn stats_on_a_known_set_of_trades() {
    let srv =
        TestServer::start(|s| s.signal_defaults.tp_pct = rust_decimal::Decimal::from(5)).await;
    let symbols = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT"];
    for (n, sym) in symbols.iter().enumerate() {
        let (st, _) = srv
            .post(
                "/signals/bounce",
                &nth_signal(n as u32, json!({"symbol": sym, "qty": 1, "price": 100})),
            )
            .await;
        assert_eq!(st, 200);
    }
    srv.market("AAAUSDT", "105").await;
    srv.market("BBBUSDT", "98.5").await;
    srv.post("/market/price/103?symbol=CCCUSDT", &json!(null))
        .await;
    srv.post("/positions/3/close", &json!(null)).await;
    srv.market("DDDUSDT", "98.5").await;
    let (st, s) = srv.get("/stats").await;
    assert_eq!(st, 200, "{s}");
    assert_eq!(
        (
            s["total_positions"].as_i64(),
            s["open_positions"].as_i64(),
            s["closed_positions"].as_i64()
        ),
        (Some(5), Some(1), Some(4))
    );
    assert_eq!(s["total_pnl"], json!(5));
    assert_eq!(
        (s["winning_trades"].as_i64(), s["losing_trades"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        (s["tp_count"].as_i64(), s["sl_count"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(s["winrate"], json!(50.0));
    assert_eq!(s["avg_pnl_per_trade"], json!(1.25));
    assert_eq!(s["avg_pnl_win"], json!(4));
    assert_eq!(s["avg_pnl_loss"], json!(-1.5));
    assert_eq!(s["max_drawdown"], json!(1.5));
    assert_eq!(s["profit_factor"], json!(2.66666667));
    assert_eq!(s["expectancy"], json!(1.25));
    assert_eq!(s["by_close_reason"], json!({"manual": 1, "sl": 2, "tp": 1}));
    assert_eq!(
        s["by_symbol"]["CCCUSDT"],
        json!({"trades": 1, "wins": 1, "pnl": 3})
    );
    assert_eq!(s["trades_per_day"], json!(4.0));
    let (_, only) = srv.get("/stats?symbol=BBBUSDT").await;
    assert_eq!(
        (
            only["closed_positions"].as_i64(),
            only["total_pnl"].as_f64()
        ),
        (Some(1), Some(-1.5))
    );
    let (_, none) = srv.get("/stats?since=2030-01-01T00:00:00Z").await;
    assert_eq!(none["closed_positions"], 0);
    // The window applies to the open position too (by its open time), and the total
    // counts each position of the window once.
    assert_eq!(
        (
            none["open_positions"].as_i64(),
            none["total_positions"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let (_, before) = srv.get("/stats?until=2030-01-01T00:00:00Z").await;
    assert_eq!(
        (
            before["open_positions"].as_i64(),
            before["total_positions"].as_i64()
        ),
        (Some(1), Some(5))
    );
    let (st, e) = srv.get("/stats?since=yesterday").await;
    assert_eq!((st, e["error"].as_str()), (422, Some("invalid_query")));
}

#[tokio::test]
async fn restart_keeps_open_positions_and_goes_on_closing_them() {
    let srv = TestServer::start(|_| {}).await;
    let (_, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"qty": 1, "price": 100})),
        )
        .await;
    let srv = srv.restart().await;
    let (_, open) = srv.get("/positions/?status=open").await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let r = srv.market("BTCUSDT", "104.5").await;
    assert_eq!(r.closed.len(), 1);
    let (_, p) = srv.get(&format!("/positions/{}", a["position_id"])).await;
    assert_eq!(p["auto_close_reason"], "tp");
    // The closed trade counts in /stats across another restart.
    let srv = srv.restart().await;
    let (_, stats) = srv.get("/stats").await;
    assert_eq!(
        (
            stats["closed_positions"].as_i64(),
            stats["tp_count"].as_i64()
        ),
        (Some(1), Some(1))
    );
    // And the idempotency record survived too.
    let (_, again) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"qty": 1, "price": 100})),
        )
        .await;
    assert_eq!(again["duplicate"], true);
}

#[tokio::test]
async fn young_positions_wait_for_min_age() {
    let srv = TestServer::start(|s| s.min_position_age = std::time::Duration::from_secs(7)).await;
    srv.post(
        "/signals/bounce",
        &bot_signal(json!({"qty": 1, "price": 100})),
    )
    .await;
    let r = srv.market("BTCUSDT", "200").await;
    assert_eq!((r.closed.len(), r.too_young), (0, 1));
    srv.clock.advance(chrono::Duration::seconds(7));
    let r = srv.market("BTCUSDT", "200").await;
    assert_eq!(r.closed.len(), 1);
}

#[tokio::test]
async fn root_health_market_and_routing() {
    let srv = TestServer::start(|_| {}).await;
    let (st, root) = srv.get("/").await;
    assert_eq!(
        (st, root),
        (
            200,
            json!({"status": "ok", "service": "CryptoNakCore LOMS"})
        )
    );
    let (st, h) = srv.get("/health").await;
    assert_eq!(st, 200);
    for key in [
        "ok",
        "service",
        "status",
        "environment",
        "broker_mode",
        "oms_enabled",
        "database_url",
        "audit_log_path",
        "price_source",
        "price_mode",
        "price_exchange",
        "version",
        "uptime_s",
        "open_positions",
    ] {
        assert!(h.get(key).is_some(), "/health lacks {key}: {h}");
    }
    assert_eq!(h["checks"]["database"]["ok"], true);
    assert_eq!(h["checks"]["audit_log"]["ok"], true);
    assert_eq!(h["checks"]["auto_close_loop"]["ok"], true, "{h}");
    assert_eq!(h["status"], "ok", "{h}");
    let (st, m) = srv.post("/market/price/123.5", &json!(null)).await;
    assert_eq!((st, m["price"].as_f64()), (200, Some(123.5)));
    let (_, m) = srv.get("/market/price?symbol=ETHUSDT").await;
    assert_eq!(m["price"], json!(123.5));
    for bad in ["abc", "0", "-3", "1e20", "NaN"] {
        let (st, e) = srv
            .post(&format!("/market/price/{bad}"), &json!(null))
            .await;
        assert_eq!(
            (st, e["error"].as_str()),
            (422, Some("invalid_price")),
            "{bad}"
        );
    }
    let (st, e) = srv.get("/nope").await;
    assert_eq!((st, e["error"].as_str()), (404, Some("not_found")));
    let (st, e) = srv.get("/signals/bounce").await;
    assert_eq!((st, e["error"].as_str()), (405, Some("method_not_allowed")));
    let (st, e) = srv.request("DELETE", "/positions/", None, &[]).await;
    assert_eq!((st, e["error"].as_str()), (405, Some("method_not_allowed")));
}

#[tokio::test]
async fn graceful_stop_refuses_new_connections() {
    let mut srv = TestServer::start(|_| {}).await;
    let (st, _) = srv.post("/signals/bounce", &bot_signal(json!({}))).await;
    assert_eq!(st, 200);
    let addr = srv.addr;
    srv.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    // The database was closed cleanly: the signal is there.
    assert_eq!(srv.count("positions"), 1);
}
