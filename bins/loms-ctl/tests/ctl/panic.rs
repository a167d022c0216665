//! `panic`: against the real server, and against scripted fake ones.

use crate::harness::{Server, dead_addr, fake_server};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn panic_closes_twenty_positions_and_leaves_none_open() {
    let srv = Server::start(|_| {});
    let ids: Vec<i64> = (0..20)
        .map(|i| srv.open(&format!("P{i}USDT"), json!({})))
        .collect();
    assert_eq!(srv.open_count(), 20);

    let started = Instant::now();
    let o = srv.ctl(&["panic"], &[]);
    let took = started.elapsed();
    assert_eq!(o.code, 0, "{}", o.all());
    let last = o.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("PANIC COMPLETE: trading off, 0 positions open"),
        "{}",
        o.all()
    );
    for step in [
        "OK   step 1/3 kill switch on: mode entries_off (set by cli at ",
        "OK   step 2/3 close all positions: 20 closed, 0 failed",
        "OK   step 3/3 verify none open: 0 positions open",
    ] {
        assert!(o.stdout.contains(step), "missing {step:?} in {}", o.all());
    }
    for id in &ids {
        assert!(
            o.stdout.contains(&format!("closed #{id} P")),
            "{id}: {}",
            o.all()
        );
    }
    assert!(o.stdout.contains(" close_price ") && o.stdout.contains(" pnl "));
    assert!(took < Duration::from_secs(30), "{took:?}");

    assert_eq!(srv.open_count(), 0);
    assert_eq!(srv.get("/admin/oms").1["mode"], "entries_off");
    let (_, closed) = srv.get("/positions/?status=closed");
    let closed = closed.as_array().unwrap();
    assert_eq!(closed.len(), 20);
    assert!(closed.iter().all(|p| p["auto_close_reason"] == "panic"));

    // Again: nothing left to close, still complete.
    let o = srv.ctl(&["panic"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("0 closed, 0 failed"), "{}", o.all());
}

#[test]
fn panic_leaves_a_stricter_mode_in_force() {
    let srv = Server::start(|_| {});
    srv.open("BTCUSDT", json!({}));
    let (st, _) = srv.post(
        "/admin/oms",
        &json!({"mode": "reduce_only", "set_by": "ops"}),
    );
    assert_eq!(st, 200);
    let o = srv.ctl(&["panic"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout.contains("already reduce_only (set by ops at "),
        "{}",
        o.all()
    );
    assert_eq!(srv.get("/admin/oms").1["mode"], "reduce_only");
    assert_eq!(srv.open_count(), 0);
}

/// The first call of `panic`: which procedure (paper here).
fn paper_health() -> crate::harness::Step {
    ("GET /health", Some((200, json!({"broker_mode": "paper"}))))
}

fn trading(mode: &str) -> serde_json::Value {
    json!({"trading": {"mode": mode, "since": "2026-11-25T10:00:00Z", "set_by": "cli"}, "oms_enabled": false})
}

#[test]
fn panic_retries_close_all_once_when_positions_remain() {
    let (addr, server) = fake_server(vec![
        paper_health(),
        (
            "GET /admin/oms",
            Some((
                200,
                json!({"mode": "active", "since": "x", "set_by": "api"}),
            )),
        ),
        ("POST /admin/oms", Some((200, trading("entries_off")))),
        (
            "POST /admin/close-all",
            Some((
                200,
                json!({"closed_count": 1, "failed_count": 1,
            "closed": [{"id": 4, "symbol": "BTCUSDT", "close_price": 99.5, "pnl": -0.5}],
            "failed": [{"position_id": 5, "symbol": "XYZUSDT", "error": "no price"}]}),
            )),
        ),
        (
            "GET /positions/?status=open",
            Some((200, json!([{"id": 5, "symbol": "XYZUSDT"}]))),
        ),
        (
            "POST /admin/close-all",
            Some((
                200,
                json!({"closed_count": 1, "failed_count": 0,
            "closed": [{"id": 5, "symbol": "XYZUSDT", "close_price": 3.25, "pnl": 0.1}], "failed": []}),
            )),
        ),
        ("GET /positions/?status=open", Some((200, json!([])))),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("LOMS_BIND".to_string(), addr.to_string())];
    let o = crate::harness::ctl_in(dir.path(), &env, &["panic"]);
    assert_eq!(server.join().unwrap().len(), 7);
    assert_eq!(o.code, 0, "{}", o.all());
    for line in [
        "FAIL step 2/3 close all positions: 1 closed, 1 failed",
        "closed #4 BTCUSDT close_price 99.5 pnl -0.5",
        "NOT closed #5 XYZUSDT: no price",
        "FAIL step 3/3 verify none open: 1 positions still open",
        "retrying close-all once",
        "OK   step 2/3 close all positions (retry): 1 closed, 0 failed",
        "closed #5 XYZUSDT close_price 3.25 pnl 0.1",
        "OK   step 3/3 verify none open (retry): 0 positions open",
        "PANIC COMPLETE: trading off, 0 positions open",
    ] {
        assert!(o.stdout.contains(line), "missing {line:?} in {}", o.all());
    }
}

#[test]
fn panic_that_cannot_close_everything_lists_the_ids_and_exits_1() {
    let stubborn = json!({"closed_count": 0, "failed_count": 2, "closed": [],
        "failed": [{"position_id": 5, "symbol": "A", "error": "no price"},
                   {"position_id": 9, "symbol": "B", "error": "no price"}]});
    let open = json!([{"id": 5, "symbol": "A"}, {"id": 9, "symbol": "B"}]);
    let (addr, server) = fake_server(vec![
        paper_health(),
        ("GET /admin/oms", Some((200, json!({"mode": "active"})))),
        ("POST /admin/oms", Some((200, trading("entries_off")))),
        ("POST /admin/close-all", Some((200, stubborn.clone()))),
        ("GET /positions/?status=open", Some((200, open.clone()))),
        ("POST /admin/close-all", Some((200, stubborn))),
        ("GET /positions/?status=open", Some((200, open))),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("LOMS_BIND".to_string(), addr.to_string())];
    let o = crate::harness::ctl_in(dir.path(), &env, &["panic"]);
    server.join().unwrap();
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(
        o.stdout
            .contains("PANIC INCOMPLETE: 2 positions still open: ids 5, 9"),
        "{}",
        o.all()
    );
    assert!(o.stdout.contains("systemctl stop loms"), "{}", o.all());
    assert!(!o.stdout.contains("PANIC COMPLETE"), "{}", o.all());
}

#[test]
fn panic_against_a_server_that_does_not_answer_gives_up_quickly_with_the_fallback() {
    // The look at /health gets no answer, then the mode: given up on after two.
    let (addr, server) = fake_server(vec![("GET /health", None), ("GET /admin/oms", None)]);
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("LOMS_BIND".to_string(), addr.to_string())];
    let started = Instant::now();
    let o = crate::harness::ctl_in(dir.path(), &env, &["--timeout", "1", "panic"]);
    let took = started.elapsed();
    server.join().unwrap();
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(o.stdout.contains("no answer within 1 s"), "{}", o.all());
    assert!(
        o.stdout
            .contains("PANIC INCOMPLETE: server unreachable or not answering"),
        "{}",
        o.all()
    );
    assert!(o.stderr.contains("systemctl stop loms"), "{}", o.all());
}

#[test]
fn panic_with_the_server_down_exits_2_with_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("LOMS_BIND".to_string(), dead_addr().to_string())];
    let o = crate::harness::ctl_in(dir.path(), &env, &["panic"]);
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(
        o.stdout.contains("FAIL step 1/3 kill switch on"),
        "{}",
        o.all()
    );
    assert!(o.stdout.contains("PANIC INCOMPLETE"), "{}", o.all());
    for advice in [
        "sudo systemctl stop loms",
        "positions in the database remain OPEN",
        "close them by hand on the exchange",
    ] {
        assert!(
            o.stderr.contains(advice),
            "missing {advice:?} in {}",
            o.all()
        );
    }
}
