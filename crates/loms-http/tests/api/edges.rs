//! The edges of HTTP itself: the auth scheme's case, the answers hyper writes before a
//! request reaches the router (they are JSON too), and the Idempotency-Key header.

use crate::harness::{TestServer, bot_signal, nth_signal, raw_request};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "edge-token-0123456789abcdef";

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let srv = TestServer::start(|s| s.api_token = Some(TOKEN.into())).await;
    for (n, scheme) in ["bearer", "BEARER", "Bearer", "bEaReR"]
        .into_iter()
        .enumerate()
    {
        let auth = format!("{scheme}  {TOKEN} ");
        let body = nth_signal(n as u32, json!({})).to_string();
        let (st, text) = raw_request(
            srv.addr,
            "POST",
            "/signals/bounce",
            Some(&body),
            &[("Authorization", &auth)],
        )
        .await;
        assert_eq!(st, 200, "{scheme}: {text}");
    }
    for bad in [
        format!("Basic {TOKEN}"),
        format!("Bearer{TOKEN}"),
        "bearer".to_string(),
        format!("bearer {TOKEN}x"),
    ] {
        let (st, text) = raw_request(
            srv.addr,
            "POST",
            "/admin/close-all",
            None,
            &[("Authorization", &bad)],
        )
        .await;
        assert_eq!(st, 401, "{bad}: {text}");
    }
}

/// Send `request` as is on a fresh connection; the status and the body as JSON.
async fn send_raw(srv: &TestServer, request: &[u8]) -> (u16, Value) {
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let v = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, v)
}

#[tokio::test]
async fn answers_hyper_writes_itself_are_json_errors() {
    let srv = TestServer::start(|_| {}).await;
    let long_uri = format!(
        "GET /positions/?symbol={} HTTP/1.1\r\nHost: t\r\n\r\n",
        "A".repeat(70_000)
    );
    let mut many_headers = "GET /health HTTP/1.1\r\nHost: t\r\n".to_string();
    for i in 0..loms_http::MAX_HEADERS {
        many_headers.push_str(&format!("X-H{i}: v\r\n"));
    }
    many_headers.push_str("\r\n");
    for (name, req, want_status, want_code) in [
        ("URI too long", long_uri.into_bytes(), 414, "uri_too_long"),
        (
            "too many headers",
            many_headers.into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            "bad request line",
            b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n".to_vec(),
            400,
            "bad_request",
        ),
        (
            "bad header",
            b"GET / HTTP/1.1\r\nHo st: t\r\n\r\n".to_vec(),
            400,
            "bad_request",
        ),
    ] {
        let (st, v) = send_raw(&srv, &req).await;
        assert_eq!(
            (st, v["error"].as_str()),
            (want_status, Some(want_code)),
            "{name}: {v}"
        );
        assert!(v["detail"].is_string(), "{name}: {v}");
    }
    // The server goes on serving.
    assert_eq!(srv.get("/health").await.0, 200);
}

#[tokio::test]
async fn the_idempotency_key_header_is_checked_like_signal_id() {
    let srv = TestServer::start(|_| {}).await;
    let body = bot_signal(json!({})).to_string();
    let long = "k".repeat(129);
    for (name, key) in [
        ("too long", long.as_bytes()),
        ("derived", b"derived:bounce|x".as_slice()),
        ("not ASCII", "cl\u{e9}".as_bytes()),
    ] {
        let mut req = format!(
            "POST /signals/bounce HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\nIdempotency-Key: ",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(key);
        req.extend_from_slice(b"\r\n\r\n");
        req.extend_from_slice(body.as_bytes());
        let (st, v) = send_raw(&srv, &req).await;
        assert_eq!(
            (st, v["error"].as_str()),
            (422, Some("invalid_signal")),
            "{name}: {v}"
        );
    }
    assert_eq!(srv.count("signals"), 0, "nothing recorded");
    let (st, a) = srv
        .request(
            "POST",
            "/signals/bounce",
            Some(&body),
            &[("Idempotency-Key", &"k".repeat(128))],
        )
        .await;
    assert_eq!(
        (st, a["signal_id"].as_str()),
        (200, Some("k".repeat(128).as_str()))
    );
}
