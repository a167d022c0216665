//! Numbers and times are exact end to end: a price f64 cannot hold comes back digit
//! for digit, and an answer shows exactly what a later read of the stored row shows.

use crate::harness::{TestServer, raw_request, t0};
use serde_json::Value;

/// Digits no f64 holds (f64 keeps about 16 significant digits).
const PRICE: &str = "97250.123456789012345";
const QTY: &str = "0.100000000000000000000001";

/// A clock reading with nanoseconds, as the system clock gives.
fn nanos_clock(srv: &TestServer, extra_ms: i64) {
    srv.clock
        .set(t0() + chrono::Duration::nanoseconds(226_094_347 + extra_ms * 1_000_000));
}

async fn text(srv: &TestServer, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    raw_request(srv.addr, method, path, body, &[]).await
}

fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let start = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {json}"))
        + key.len()
        + 3;
    let len = json[start..].find([',', '}']).unwrap_or(json.len() - start);
    &json[start..start + len]
}

#[tokio::test]
async fn a_signal_and_its_close_answer_exactly_what_later_reads_show() {
    let srv = TestServer::start(|_| {}).await;
    nanos_clock(&srv, 0);
    let body = format!(
        r#"{{"symbol":"BTCUSDT","side":"long","price":{PRICE},"qty":{QTY},
        "timestamp":"2025-12-01T10:05:00.123456789Z","tp_pct":4.5000000000000000001,"sl_pct":1.5}}"#
    );
    let (st, answer) = text(&srv, "POST", "/signals/bounce", Some(&body)).await;
    assert_eq!(st, 200, "{answer}");
    assert_eq!(field(&answer, "qty"), QTY, "{answer}");
    let id: i64 = field(&answer, "position_id").parse().unwrap();

    let (_, row) = text(&srv, "GET", &format!("/positions/{id}"), None).await;
    assert_eq!(field(&row, "signal_price"), PRICE, "{row}");
    assert_eq!(field(&row, "qty"), QTY, "{row}");
    assert_eq!(
        field(&row, "signal_time"),
        "\"2025-12-01T10:05:00.123456Z\""
    );
    assert_eq!(field(&row, "created_at"), "\"2025-12-01T10:05:30.226094Z\"");
    for key in ["entry_price", "tp_price", "sl_price"] {
        assert_eq!(field(&answer, key), field(&row, key), "{key}");
    }

    // A retry replays the first answer from storage, digit for digit.
    let (_, again) = text(&srv, "POST", "/signals/bounce", Some(&body)).await;
    assert_eq!(
        again.replace("\"duplicate\":true", "\"duplicate\":false"),
        answer
    );

    // The close: pinned at a price f64 cannot hold, at a clock reading with nanoseconds.
    let (st, _) = text(
        &srv,
        "POST",
        "/market/price/97260.000000000000000001?symbol=BTCUSDT",
        None,
    )
    .await;
    assert_eq!(st, 200);
    nanos_clock(&srv, 5_000);
    let (st, closed) = text(&srv, "POST", &format!("/positions/{id}/close"), None).await;
    assert_eq!(st, 200, "{closed}");
    assert_eq!(
        field(&closed, "closed_at"),
        "\"2025-12-01T10:05:35.226094Z\""
    );
    let (_, row) = text(&srv, "GET", &format!("/positions/{id}"), None).await;
    assert_eq!(closed, row, "the close answer is the stored row");
    let (_, list) = text(&srv, "GET", "/positions/", None).await;
    assert_eq!(list, format!("[{row}]"));

    // And after a restart.
    let srv = srv.restart().await;
    let (_, after) = text(&srv, "GET", &format!("/positions/{id}"), None).await;
    assert_eq!(after, row);
}

#[tokio::test]
async fn a_manual_order_answers_what_a_later_read_shows() {
    let srv = TestServer::start(|_| {}).await;
    nanos_clock(&srv, 0);
    let body = format!(
        r#"{{"symbol":"ETHUSDT","side":"sell","qty":"{QTY}","entry_price":{PRICE},
        "tp_price":90000.000000000000000001,"sl_price":99999.99999999999999999}}"#
    );
    let (st, answer) = text(&srv, "POST", "/orders/", Some(&body)).await;
    assert_eq!(st, 200, "{answer}");
    let v: Value = serde_json::from_str(&answer).unwrap();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(field(&answer, "tp_price"), "90000.000000000000000001");
    let (_, row) = text(&srv, "GET", &format!("/positions/{id}"), None).await;
    assert_eq!(answer, row);
}
