//! Bad input: a clear 4xx JSON error, and nothing created anywhere.

use crate::harness::{TestServer, bot_signal, raw_request};
use serde_json::{Value, json};

fn with(key: &str, val: Value) -> String {
    let mut v = bot_signal(json!({}));
    v[key] = val;
    v.to_string()
}

fn without(key: &str) -> String {
    let mut v = bot_signal(json!({}));
    v.as_object_mut().unwrap().remove(key);
    v.to_string()
}

#[tokio::test]
async fn every_invalid_signal_gets_a_4xx_and_creates_nothing() {
    let srv = TestServer::start(|_| {}).await;
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "malformed JSON",
            "{\"symbol\": \"BTCUSDT\",".into(),
            400,
            "malformed_json",
        ),
        ("not an object", "[1, 2]".into(), 422, "invalid_signal"),
        ("empty body", String::new(), 400, "malformed_json"),
        ("missing price", without("price"), 422, "invalid_signal"),
        ("missing side", without("side"), 422, "invalid_signal"),
        (
            "side sideways",
            with("side", json!("sideways")),
            422,
            "invalid_signal",
        ),
        (
            "price abc",
            with("price", json!("abc")),
            422,
            "invalid_signal",
        ),
        ("price -5", with("price", json!(-5)), 422, "invalid_signal"),
        ("price 0", with("price", json!(0)), 422, "invalid_signal"),
        (
            "price NaN literal",
            bot_signal(json!({})).to_string().replace("97250.5", "NaN"),
            400,
            "malformed_json",
        ),
        (
            "price \"NaN\"",
            with("price", json!("NaN")),
            422,
            "invalid_signal",
        ),
        (
            "price \"inf\"",
            with("price", json!("inf")),
            422,
            "invalid_signal",
        ),
        (
            "price Infinity literal",
            bot_signal(json!({}))
                .to_string()
                .replace("97250.5", "Infinity"),
            400,
            "malformed_json",
        ),
        (
            "price 1e309",
            bot_signal(json!({}))
                .to_string()
                .replace("97250.5", "1e309"),
            422,
            "invalid_signal",
        ),
        (
            "price \"1e309\"",
            with("price", json!("1e309")),
            422,
            "invalid_signal",
        ),
        (
            "tp_pct -50",
            with("tp_pct", json!(-50)),
            422,
            "invalid_signal",
        ),
        (
            "sl_pct 500",
            with("sl_pct", json!(500)),
            422,
            "invalid_signal",
        ),
        (
            "empty symbol",
            with("symbol", json!("")),
            422,
            "invalid_signal",
        ),
        (
            "timestamp garbage",
            with("timestamp", json!("soon")),
            422,
            "invalid_signal",
        ),
        (
            "unknown exit strategy",
            with("exit_strategy", json!("moonshot")),
            422,
            "invalid_signal",
        ),
        ("qty 0", with("qty", json!(0)), 422, "invalid_signal"),
    ];
    for (name, body, want_status, want_code) in &cases {
        let (st, text) = raw_request(srv.addr, "POST", "/signals/bounce", Some(body), &[]).await;
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{name}: not JSON: {text}"));
        assert_eq!(
            (st, v["error"].as_str().unwrap_or("")),
            (*want_status, *want_code),
            "{name}: {v}"
        );
        assert!(
            v["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}: no detail"
        );
    }
    let (_, v) = srv
        .request(
            "POST",
            "/signals/bounce",
            Some(&with("side", json!("sideways"))),
            &[],
        )
        .await;
    assert_eq!(
        v["detail"],
        "side must be long/short/buy/sell, got \"sideways\""
    );
    assert_eq!(srv.count("positions"), 0);
    assert_eq!(srv.count("orders"), 0, "no orphan order");
    assert_eq!(srv.count("signals"), 0);
    // ... but every one of them is in the audit trail, with why it was rejected.
    let audit = srv.audit_lines();
    assert_eq!(audit.len(), cases.len() + 1);
    assert!(audit.iter().all(|l| l["outcome"]["status"] == "rejected"));
    assert_eq!(
        audit[0]["payload"], "{\"symbol\": \"BTCUSDT\",",
        "a malformed body is kept as text"
    );
}

#[tokio::test]
async fn unknown_extra_fields_are_accepted() {
    let srv = TestServer::start(|_| {}).await;
    let (st, a) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"confidence": 0.9, "meta": {"ema": 10}})),
        )
        .await;
    assert_eq!((st, a["risk_ok"].clone()), (200, json!(true)));
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    let srv = TestServer::start(|_| {}).await;
    let big = bot_signal(json!({"padding": "x".repeat(70 * 1024)})).to_string();
    let (st, text) = raw_request(srv.addr, "POST", "/signals/bounce", Some(&big), &[]).await;
    assert_eq!(st, 413, "{text}");
    assert!(text.contains("payload_too_large"));
    assert_eq!(srv.count("positions"), 0);
}
