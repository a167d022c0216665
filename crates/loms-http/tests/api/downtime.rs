//! The downtime gap's edges: the minute prices were last watched in is judged whole,
//! the unfinished current minute is not, and a bar never judges a position opened
//! after it began.

use crate::fake_bitget::FakeBitget;
use crate::harness::{TestServer, nth_signal, t0};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

fn at(m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 1, 10, m, s).unwrap()
}

/// Longs at 100 (SL 98.5, TP 104.5): one opened at 10:05:30, one at 10:07:10. Prices
/// are watched until 10:07:20 (the last check), then LOMS is down until `back` while
/// the exchange's minute bars are `rows`. Returns the restarted server and the ids.
async fn down_until(
    back: DateTime<Utc>,
    rows: &[(DateTime<Utc>, &str, &str, &str, &str)],
) -> (FakeBitget, TestServer, [i64; 2]) {
    down_until_with(FakeBitget::start("100", t0()), back, rows, |_| {}).await
}

/// [`down_until`] on a fake set up by the caller.
async fn down_until_with(
    fake: FakeBitget,
    back: DateTime<Utc>,
    rows: &[(DateTime<Utc>, &str, &str, &str, &str)],
    while_down: impl FnOnce(&std::path::Path),
) -> (FakeBitget, TestServer, [i64; 2]) {
    let srv = fake
        .server(|s| s.risk.max_open_positions_per_symbol = None)
        .await;
    let mut ids = [0; 2];
    for (i, opened) in [at(5, 30), at(7, 10)].into_iter().enumerate() {
        srv.clock.set(opened);
        fake.set("100", opened);
        let signal = nth_signal(i as u32, json!({"qty": 1, "price": 100}));
        let (st, a) = srv.post("/signals/bounce", &signal).await;
        assert_eq!((st, a["risk_ok"].as_bool()), (200, Some(true)), "{a}");
        ids[i] = a["position_id"].as_i64().unwrap();
    }
    for watched in [at(5, 40), at(7, 20)] {
        srv.clock.set(watched);
        fake.set("100.2", watched);
        assert_eq!(srv.oms.auto_close_pass().await.unwrap().closed_count, 0);
    }
    fake.candles(rows);
    srv.clock.set(back);
    fake.set("100", back);
    let srv = srv.restart_after(while_down).await;
    (fake, srv, ids)
}

async fn position(srv: &TestServer, id: i64) -> Value {
    srv.get(&format!("/positions/{id}")).await.1
}

#[tokio::test]
async fn a_stop_touched_in_the_minute_of_the_last_check_closes_after_restart() {
    // The 10:07 bar holds the last check (10:07:20) and dips through the stop.
    let (_fake, srv, [early, late]) = down_until(
        at(12, 30),
        &[
            (at(7, 0), "100.2", "100.3", "98.4", "99.9"),
            (at(8, 0), "99.9", "100", "99.5", "99.8"),
        ],
    )
    .await;
    let mut p = Value::Null;
    for _ in 0..250 {
        p = position(&srv, early).await;
        if p["status"] == "closed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        (p["auto_close_reason"].as_str(), p["close_price"].as_f64()),
        (Some("sl"), Some(98.5)),
        "{p}"
    );
    assert_eq!(p["closed_at"], "2025-12-01T10:08:00Z");
    // The one opened at 10:07:10 is not judged on a bar whose low may predate it.
    let r = srv.oms.catch_up_downtime().await.unwrap();
    assert_eq!(r.closed_count, 0, "{r:?}");
    assert_eq!(position(&srv, late).await["status"], "open");
}

#[tokio::test]
async fn the_unfinished_minute_is_left_to_the_live_loop() {
    // Back at 10:12:30: the 10:12 bar is not finished; its low is through the stop.
    let (fake, srv, [early, late]) = down_until(
        at(12, 30),
        &[
            (at(8, 0), "100.2", "100.3", "99.9", "100"),
            (at(12, 0), "100", "100.1", "97", "97.5"),
        ],
    )
    .await;
    let r = srv.oms.catch_up_downtime().await.unwrap();
    assert_eq!(r.closed_count, 0, "{r:?}");
    for id in [early, late] {
        let p = position(&srv, id).await;
        assert_eq!(p["status"], "open", "{p}");
    }
    // The bars asked for start at the minute of the last check and end before now's.
    let (from, to) = (at(7, 0), at(12, 0) - Duration::milliseconds(1));
    let asked = format!(
        "startTime={}&endTime={}",
        from.timestamp_millis(),
        to.timestamp_millis()
    );
    let hits = fake.hits.lock().unwrap().clone();
    assert!(hits.iter().any(|h| h.contains(&asked)), "{hits:?}");
}

#[tokio::test]
async fn bars_that_could_not_be_fetched_are_tried_again_until_judged() {
    let fake = FakeBitget::start("100", t0());
    fake.book.lock().unwrap().candles_fail = true;
    let (fake, srv, [early, late]) = down_until_with(
        fake,
        at(12, 30),
        &[(at(8, 0), "99.9", "100", "98.0", "99.8")],
        |_| {},
    )
    .await;
    // The restart's catch-up could not fetch the bars: nothing closed, /health says so.
    let r = srv.oms.catch_up_downtime().await.unwrap();
    assert_eq!(r.closed_count, 0);
    let (_, h) = srv.get("/health").await;
    let detail = h["checks"]["auto_close_loop"]["detail"]
        .as_str()
        .unwrap_or("");
    assert_eq!(h["checks"]["auto_close_loop"]["ok"], false, "{h}");
    assert!(
        detail.starts_with(
            "downtime 2025-12-01T10:07:00Z to 2025-12-01T10:12:00Z not checked for BTCUSDT"
        ),
        "{detail}"
    );
    // A pass while the candles still fail keeps the gap.
    srv.oms.auto_close_pass().await.unwrap();
    assert_eq!(position(&srv, early).await["status"], "open");
    // The candles answer again: the next pass judges them first, at the bar's time.
    fake.book.lock().unwrap().candles_fail = false;
    let r = srv.oms.auto_close_pass().await.unwrap();
    assert_eq!(
        r.closed_count, 2,
        "both were open when the 10:08 bar began: {r:?}"
    );
    for id in [early, late] {
        let p = position(&srv, id).await;
        assert_eq!(
            (p["auto_close_reason"].as_str(), p["closed_at"].as_str()),
            (Some("sl"), Some("2025-12-01T10:09:00Z")),
            "{p}"
        );
    }
    let (_, h) = srv.get("/health").await;
    assert!(
        !h["checks"]["auto_close_loop"]["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("downtime"),
        "{h}"
    );
}

#[tokio::test]
async fn an_unreadable_last_check_judges_since_the_oldest_open_position() {
    let (_fake, srv, [early, late]) = down_until_with(
        FakeBitget::start("100", t0()),
        at(12, 30),
        &[(at(6, 0), "100", "100.1", "98.2", "99")],
        |dir| {
            let db = rusqlite::Connection::open(dir.join("loms_test.db")).unwrap();
            let n = db
                .execute(
                    "UPDATE kv_state SET value = 'not a time' WHERE key = 'last_check_at'",
                    [],
                )
                .unwrap();
            assert_eq!(n, 1, "the last check was stored");
        },
    )
    .await;
    // The 10:06 bar (before the last check, after the first entry) dips through the stop:
    // judged, since nothing says it was watched. The later entry is not judged on it.
    let r = srv.oms.catch_up_downtime().await.unwrap();
    let p = position(&srv, early).await;
    assert_eq!(
        (p["auto_close_reason"].as_str(), p["closed_at"].as_str()),
        (Some("sl"), Some("2025-12-01T10:07:00Z")),
        "{p} {r:?}"
    );
    assert_eq!(position(&srv, late).await["status"], "open");
}
