//! Every risk scope, and the race the single writer exists for.

use crate::harness::{TestServer, bot_signal, nth_signal};
use rust_decimal::Decimal;
use serde_json::{Value, json};

async fn open_n(srv: &TestServer, n: u32, overrides: Value) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..n {
        let (st, a) = srv
            .post("/signals/bounce", &nth_signal(i, overrides.clone()))
            .await;
        assert_eq!(st, 200, "{a}");
        out.push(a);
    }
    out
}

#[tokio::test]
async fn total_limit_blocks_with_the_original_reason() {
    let srv = TestServer::start(|s| s.risk.max_open_positions = Some(2)).await;
    let a = open_n(&srv, 3, json!({})).await;
    assert_eq!(a[1]["risk_ok"], true);
    assert_eq!(a[2]["risk_ok"], false);
    assert_eq!(a[2]["risk_scope"], "total");
    assert_eq!(
        a[2]["risk_reason"],
        "max_total_open_reached (total=2, limit=2)"
    );
    assert_eq!(srv.count("positions"), 2);
    assert_eq!(srv.count("signals"), 3, "blocked signals are recorded too");
    let last = srv.audit_lines().pop().unwrap();
    assert_eq!(last["outcome"]["status"], "risk_blocked");
    assert_eq!(last["outcome"]["risk_scope"], "total");
    assert_eq!(last["payload"]["symbol"], "BTCUSDT");
}

#[tokio::test]
async fn symbol_limit_counts_only_that_symbol() {
    let srv = TestServer::start(|s| s.risk.max_open_positions_per_symbol = Some(1)).await;
    let a = open_n(&srv, 2, json!({})).await;
    assert_eq!(a[1]["risk_scope"], "symbol");
    assert_eq!(
        a[1]["risk_reason"],
        "max_symbol_open_reached (symbol=BTCUSDT, count=1, limit=1)"
    );
    let (_, eth) = srv
        .post(
            "/signals/bounce",
            &nth_signal(9, json!({"symbol": "ETHUSDT"})),
        )
        .await;
    assert_eq!(eth["risk_ok"], true);
}

#[tokio::test]
async fn size_limit_uses_price_times_qty() {
    let srv =
        TestServer::start(|s| s.risk.max_size_per_position_usdt = Some(Decimal::from(10))).await;
    // Default sizing is a 10 USDT notional: passes a 10 USDT limit.
    let (_, ok) = srv.post("/signals/bounce", &nth_signal(0, json!({}))).await;
    assert_eq!(ok["risk_ok"], true, "{ok}");
    let (_, big) = srv
        .post("/signals/bounce", &nth_signal(1, json!({"qty": 1})))
        .await;
    assert_eq!(big["risk_scope"], "size");
    assert_eq!(
        big["risk_reason"],
        "max_size_per_position_exceeded (notional=97250.5000, limit=10.0000)"
    );
}

#[tokio::test]
async fn daily_rate_limits_total_and_per_symbol() {
    let srv = TestServer::start(|s| {
        s.risk.max_signals_per_day = Some(3);
        s.risk.max_signals_per_symbol_per_day = Some(2);
    })
    .await;
    let a = open_n(&srv, 3, json!({})).await;
    assert_eq!(a[2]["risk_scope"], "rate");
    assert_eq!(
        a[2]["risk_reason"],
        "max_signals_per_symbol_per_day_reached (symbol=BTCUSDT, count=2, limit=2)"
    );
    let (_, eth) = srv
        .post(
            "/signals/bounce",
            &nth_signal(5, json!({"symbol": "ETHUSDT"})),
        )
        .await;
    assert_eq!(eth["risk_ok"], true);
    let (_, sol) = srv
        .post(
            "/signals/bounce",
            &nth_signal(6, json!({"symbol": "SOLUSDT"})),
        )
        .await;
    assert_eq!(
        sol["risk_reason"],
        "max_signals_per_day_reached (count=3, limit=3)"
    );
    // Closing positions does not give the day's budget back; a new UTC day does.
    srv.clock.advance(chrono::Duration::days(1));
    let (_, next_day) = srv
        .post(
            "/signals/bounce",
            &nth_signal(
                7,
                json!({"symbol": "SOLUSDT", "timestamp": "2025-12-02T10:05:00Z"}),
            ),
        )
        .await;
    assert_eq!(next_day["risk_ok"], true, "{next_day}");
}

#[tokio::test]
async fn stale_and_future_signals_are_refused_when_configured() {
    let srv = TestServer::start(|s| s.risk.max_signal_age_sec = Some(60)).await;
    // The clock is 30 s after the payload's timestamp: fresh.
    let (_, fresh) = srv.post("/signals/bounce", &bot_signal(json!({}))).await;
    assert_eq!(fresh["risk_ok"], true);
    let (_, old) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"timestamp": "2025-12-01T10:00:00Z"})),
        )
        .await;
    assert_eq!(old["risk_scope"], "stale");
    assert!(
        old["risk_reason"]
            .as_str()
            .unwrap()
            .starts_with("signal_too_old"),
        "{old}"
    );
    let (_, future) = srv
        .post(
            "/signals/bounce",
            &bot_signal(json!({"timestamp": "2025-12-01T10:08:00Z"})),
        )
        .await;
    assert_eq!(future["risk_scope"], "stale", "{future}");
    assert_eq!(srv.count("positions"), 1);
}

/// 50 concurrent signals with MAX_OPEN_POSITIONS=5 open exactly 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_signals_open_exactly_the_limit() {
    let srv = std::sync::Arc::new(TestServer::start(|s| s.risk.max_open_positions = Some(5)).await);
    let mut tasks = Vec::new();
    for i in 0..50u32 {
        let srv = srv.clone();
        tasks.push(tokio::spawn(async move {
            let sym = format!("S{i}USDT");
            srv.post("/signals/bounce", &nth_signal(i, json!({"symbol": sym})))
                .await
        }));
    }
    let mut opened = 0;
    let mut blocked = 0;
    for t in tasks {
        let (st, a) = t.await.unwrap();
        assert_eq!(st, 200);
        if a["risk_ok"] == true {
            opened += 1;
        } else {
            assert_eq!(a["risk_scope"], "total");
            blocked += 1;
        }
    }
    assert_eq!((opened, blocked), (5, 45));
    assert_eq!(srv.count("positions"), 5);
    assert_eq!(srv.count("signals"), 50);
}
