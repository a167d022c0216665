//! The operator's controls: trading modes, panic close, bearer token, metrics.

use crate::harness::{TestServer, bot_signal, nth_signal, raw_request};
use serde_json::json;

const TOKEN: &str = "test-token-0123456789";

#[tokio::test]
async fn entries_off_keeps_exits_running_and_survives_restart() {
    let srv = TestServer::start(|_| {}).await;
    let (_, open) = srv
        .post(
            "/signals/bounce",
            &nth_signal(0, json!({"qty": 1, "price": 100})),
        )
        .await;
    let (st, r) = srv
        .post(
            "/admin/oms",
            &json!({"mode": "entries_off", "set_by": "cli"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["trading"]["mode"].as_str(), r["oms_enabled"].as_bool()),
        (Some("entries_off"), Some(false))
    );

    let (_, refused) = srv.post("/signals/bounce", &nth_signal(1, json!({}))).await;
    assert_eq!(
        (
            refused["oms_enabled"].as_bool(),
            refused["risk_ok"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("entries_off (set by cli"),
        "{refused}"
    );
    // Exits go on.
    assert_eq!(srv.market("BTCUSDT", "104.5").await.closed.len(), 1);
    let (_, p) = srv
        .get(&format!("/positions/{}", open["position_id"]))
        .await;
    assert_eq!(p["auto_close_reason"], "tp");
    // Manual orders are still allowed in entries_off.
    let order = json!({"symbol": "SOLUSDT", "side": "buy", "qty": 1, "entry_price": 100});
    assert_eq!(srv.post("/orders/", &order).await.0, 200);

    let srv = srv.restart().await;
    let (_, h) = srv.get("/health").await;
    assert_eq!(h["trading"]["mode"], "entries_off", "{h}");
    assert_eq!(h["trading"]["set_by"], "cli");
    assert_eq!(h["oms_enabled"], false);
    let (_, r) = srv.post("/admin/oms", &json!({"enabled": true})).await;
    assert_eq!(
        (
            r["trading"]["mode"].as_str(),
            r["trading"]["set_by"].as_str()
        ),
        (Some("active"), Some("api"))
    );
    let (_, ok) = srv.post("/signals/bounce", &nth_signal(2, json!({}))).await;
    assert_eq!(ok["risk_ok"], true);
}

#[tokio::test]
async fn reduce_only_refuses_manual_orders_and_bad_modes_are_422() {
    let srv = TestServer::start(|_| {}).await;
    srv.post("/admin/oms", &json!({"mode": "reduce_only"}))
        .await;
    let order = json!({"symbol": "SOLUSDT", "side": "buy", "qty": 1, "entry_price": 100});
    let (st, e) = srv.post("/orders/", &order).await;
    assert_eq!((st, e["error"].as_str()), (409, Some("wrong_mode")));
    let (st, e) = srv.post("/admin/oms", &json!({"mode": "sideways"})).await;
    assert_eq!((st, e["error"].as_str()), (422, Some("invalid_request")));
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("active, entries_off, reduce_only, flatten")
    );
    let (_, state) = srv.get("/admin/oms").await;
    assert_eq!(
        state["mode"], "reduce_only",
        "a refused request changes nothing"
    );
}

#[tokio::test]
async fn oms_enabled_false_at_start_means_entries_off_by_config() {
    let srv = TestServer::start(|s| s.oms_enabled = false).await;
    let (_, state) = srv.get("/admin/oms").await;
    assert_eq!(
        (state["mode"].as_str(), state["set_by"].as_str()),
        (Some("entries_off"), Some("config"))
    );
}

#[tokio::test]
async fn panic_closes_twenty_positions_and_leaves_none_open() {
    let srv = TestServer::start(|_| {}).await;
    for i in 0..20 {
        let sym = format!("P{i}USDT");
        let (st, _) = srv
            .post(
                "/signals/bounce",
                &nth_signal(i, json!({"symbol": sym, "qty": 1, "price": 100})),
            )
            .await;
        assert_eq!(st, 200);
    }
    srv.post("/market/price/99", &json!(null)).await;
    let (st, r) = srv.post("/admin/close-all", &json!(null)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["closed_count"].as_i64(), r["failed_count"].as_i64()),
        (Some(20), Some(0))
    );
    assert!(
        r["closed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["auto_close_reason"] == "panic" && p["close_price"] == json!(99))
    );
    let (_, open) = srv.get("/positions/?status=open").await;
    assert_eq!(open.as_array().unwrap().len(), 0);
    let (_, stats) = srv.get("/stats").await;
    assert_eq!(stats["by_close_reason"]["panic"], 20);
}

#[tokio::test]
async fn flatten_closes_everything_then_stays_off() {
    let srv = TestServer::start(|_| {}).await;
    srv.post("/signals/bounce", &bot_signal(json!({"qty": 1})))
        .await;
    let (st, r) = srv
        .post("/admin/oms", &json!({"mode": "flatten", "set_by": "cli"}))
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["flatten"]["closed"].as_array().unwrap().len(), 1);
    let (_, again) = srv.post("/signals/bounce", &nth_signal(5, json!({}))).await;
    assert_eq!(again["risk_ok"], false);
    assert_eq!(
        srv.get("/positions/?status=open")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn token_guards_every_write_and_never_leaks() {
    let srv = TestServer::start(|s| s.api_token = Some(TOKEN.into())).await;
    let body = bot_signal(json!({})).to_string();
    for (name, headers) in [
        ("missing", vec![]),
        (
            "wrong",
            vec![("Authorization", "Bearer not-the-token-at-all")],
        ),
        ("not bearer", vec![("Authorization", TOKEN)]),
    ] {
        for (method, path) in [
            ("POST", "/signals/bounce"),
            ("POST", "/admin/oms"),
            ("POST", "/admin/close-all"),
            ("POST", "/orders/"),
        ] {
            let (st, text) = raw_request(srv.addr, method, path, Some(&body), &headers).await;
            assert_eq!(st, 401, "{name} {path}: {text}");
            assert!(
                text.contains("unauthorized") && !text.contains(TOKEN),
                "{text}"
            );
        }
    }
    assert_eq!(srv.count("signals"), 0, "nothing changed");
    assert_eq!(srv.get("/admin/oms").await.1["mode"], "active");
    let auth = format!("Bearer {TOKEN}");
    let (st, a) = srv
        .request(
            "POST",
            "/signals/bounce",
            Some(&body),
            &[("Authorization", &auth)],
        )
        .await;
    assert_eq!((st, a["risk_ok"].as_bool()), (200, Some(true)));
    // Reads stay open; the token appears nowhere.
    let (st, h) = srv.get("/health").await;
    assert_eq!(st, 200);
    assert!(!h.to_string().contains(TOKEN));
    let (_, metrics) = raw_request(srv.addr, "GET", "/metrics", None, &[]).await;
    assert!(!metrics.contains(TOKEN));
    let audit = std::fs::read_to_string(srv.dir.path().join("signals_audit.jsonl")).unwrap();
    assert!(!audit.contains(TOKEN));
}

#[tokio::test]
async fn metrics_count_signals_blocks_closes_and_requests() {
    let srv = TestServer::start(|s| s.risk.max_open_positions = Some(1)).await;
    srv.post(
        "/signals/bounce",
        &nth_signal(0, json!({"qty": 1, "price": 100})),
    )
    .await;
    srv.post("/signals/bounce", &nth_signal(1, json!({}))).await;
    srv.post("/signals/bounce", &nth_signal(1, json!({}))).await;
    srv.request("POST", "/signals/bounce", Some("{"), &[]).await;
    srv.market("BTCUSDT", "50").await;
    let (st, text) = raw_request(srv.addr, "GET", "/metrics", None, &[]).await;
    assert_eq!(st, 200);
    for line in [
        "loms_signals_total{outcome=\"opened\"} 1",
        "loms_signals_total{outcome=\"risk_blocked\"} 1",
        "loms_signals_total{outcome=\"duplicate\"} 1",
        "loms_signals_total{outcome=\"rejected\"} 1",
        "loms_risk_blocks_total{scope=\"total\"} 1",
        "loms_positions_closed_total{reason=\"sl\"} 1",
        "loms_open_positions 0",
        "loms_price_errors_total 0",
        "loms_auto_close_pass_seconds_count 1",
        "loms_trading_mode{mode=\"active\"} 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("loms_http_request_duration_seconds_count"));
}
