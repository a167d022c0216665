//! Every endpoint of the client against the real server (in-process, 127.0.0.1:0), and
//! the three kinds of failure: unreachable, refused, bad answer.

use loms_client::domain::{CloseReason, Decimal, FillKind, PositionStatus, Side};
use loms_client::{
    Client, Error, NewOrder, PositionQuery, Problem, StatsQuery, TradingMode, TransportKind,
};
use loms_config::Settings;
use loms_oms::{Deps, Oms};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::str::FromStr;
use std::time::Duration;

const TOKEN: &str = "client-test-token-0123456789";

/// The real server on its own runtime; stops when dropped.
struct Server {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    rt: Option<tokio::runtime::Runtime>,
    oms: Oms,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    fn start(token: Option<&str>) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::for_tests(dir.path());
        s.min_position_age = Duration::ZERO;
        s.auto_close_interval = Duration::from_secs(3600);
        s.sim_seed = Some(7);
        s.api_token = token.map(str::to_owned);
        let _enter = rt.enter();
        let oms = Oms::start(s.clone(), Deps::from_settings(&s)).unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(loms_http::run(oms.clone(), listener, async {
            let _ = rx.await;
        }));
        drop(_enter);
        Self {
            addr,
            _dir: dir,
            rt: Some(rt),
            oms,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn client(&self) -> Client {
        Client::new(&format!("http://{}", self.addr)).with_timeout(Duration::from_secs(10))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let (Some(rt), Some(t)) = (self.rt.as_ref(), self.task.take()) {
            rt.block_on(async {
                let _ = t.await;
                self.oms.shutdown().await;
            });
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn bot_signal(symbol: &str, id: &str) -> serde_json::Value {
    json!({"symbol": symbol, "side": "long", "price": "100.5", "qty": 1,
           "timestamp": chrono::Utc::now().to_rfc3339(), "signal_id": id})
}

#[test]
fn every_endpoint_answers_in_its_type() {
    let server = Server::start(Some(TOKEN));
    let c = server.client().with_token(Some(TOKEN.into()));

    assert_eq!(c.service().unwrap().status, "ok");
    let h = c.health().unwrap();
    assert_eq!(
        (h.trading.mode, h.open_positions),
        (TradingMode::Active, Some(0))
    );
    assert!(c.metrics().unwrap().contains("loms_open_positions"));
    assert!(c.dashboard().unwrap().contains("<html"));
    assert_eq!(c.openapi().unwrap()["openapi"], "3.1.0");

    // Signals: opened, then the same key replayed.
    let a = c.signal(&bot_signal("BTCUSDT", "sig-1"), None).unwrap();
    assert!(a.risk_ok && !a.duplicate, "{a:?}");
    assert_eq!(a.entry_price, Some(dec("100.5")));
    let again = c.signal(&bot_signal("BTCUSDT", "sig-1"), None).unwrap();
    assert!(again.duplicate);
    let mut keyed = bot_signal("ETHUSDT", "x");
    keyed.as_object_mut().unwrap().remove("signal_id");
    let k = c.signal(&keyed, Some("header-key-1")).unwrap();
    assert_eq!(k.signal_id, "header-key-1");

    // Orders.
    let p = c
        .create_order(&NewOrder {
            symbol: "SOLUSDT".into(),
            side: Side::Short,
            qty: dec("2"),
            entry_price: dec("150.25"),
            tp_price: Some(dec("140")),
            sl_price: None,
        })
        .unwrap();
    assert_eq!(
        (p.side, p.entry_price, p.tp_price),
        (Side::Short, dec("150.25"), Some(dec("140")))
    );
    let orders = c.orders(Some(10), None).unwrap();
    assert_eq!(orders.len(), 3);
    assert_eq!(orders[0].position_id, Some(p.id));

    // Positions: list with filters, one, close.
    let open = c
        .positions(&PositionQuery {
            status: Some(PositionStatus::Open),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 3);
    let eth = c
        .positions(&PositionQuery {
            symbol: Some("ethusdt".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(eth.len(), 1);
    let page = c
        .positions(&PositionQuery {
            limit: Some(1),
            offset: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(c.position(p.id).unwrap(), p);

    // Market price pins (the simulator), then a manual close at the pin.
    let pin = c.pin_price(dec("149.5"), Some("SOLUSDT")).unwrap();
    assert_eq!(
        (pin.price, pin.pinned, pin.scope.as_str()),
        (dec("149.5"), Some(true), "symbol")
    );
    assert_eq!(c.market_price(Some("SOLUSDT")).unwrap().price, dec("149.5"));
    let closed = c.close_position(p.id).unwrap();
    assert_eq!(closed.status, PositionStatus::Closed);
    assert_eq!(closed.close_price, Some(dec("149.5")));
    assert_eq!(closed.auto_close_reason, Some(CloseReason::Manual));
    let orders = c.position_orders(p.id).unwrap();
    assert_eq!(orders.position_id, p.id);
    let legs: Vec<_> = orders
        .orders
        .iter()
        .map(|o| (o.order.position_id, o.reason, o.fills.len()))
        .collect();
    assert_eq!(
        legs,
        [
            (Some(p.id), None, 1),
            (Some(p.id), Some(CloseReason::Manual), 1)
        ]
    );
    assert_eq!(orders.orders[1].fills[0].price, dec("149.5"));
    assert_eq!(orders.orders[1].fills[0].kind, FillKind::Exit);
    assert_eq!(c.unpin_price(Some("SOLUSDT")).unwrap().pinned, Some(false));

    // Stats with and without filters.
    let all = c.stats(&StatsQuery::default()).unwrap();
    assert_eq!((all.total_positions, all.closed_positions), (3, 1));
    assert_eq!(all.by_close_reason.get("manual"), Some(&1));
    let sol = c
        .stats(&StatsQuery {
            symbol: Some("SOLUSDT".into()),
            since: Some("2020-01-01T00:00:00Z".parse().unwrap()),
            until: None,
        })
        .unwrap();
    assert_eq!(sol.filters.symbol.as_deref(), Some("SOLUSDT"));
    assert_eq!(sol.by_symbol["SOLUSDT"].pnl, sol.total_pnl);

    // Trading modes and close-all.
    let t = c
        .set_trading(TradingMode::EntriesOff, "client-test")
        .unwrap();
    assert_eq!(
        (t.trading.mode, t.oms_enabled, t.flatten),
        (TradingMode::EntriesOff, false, None)
    );
    assert_eq!(c.trading().unwrap().set_by, "client-test");
    c.pin_price(dec("101"), None).unwrap();
    let report = c.close_all().unwrap();
    assert_eq!((report.closed_count, report.failed_count), (2, 0));
    assert!(
        report
            .closed
            .iter()
            .all(|p| p.auto_close_reason == Some(CloseReason::Panic))
    );
    let flat = c.set_trading(TradingMode::Flatten, "client-test").unwrap();
    assert_eq!(flat.flatten.map(|r| r.closed.len()), Some(0));
}

#[test]
fn refusals_carry_the_api_error() {
    let server = Server::start(Some(TOKEN));
    let c = server.client();
    // No token on a write: 401 unauthorized, nothing changes.
    match c.set_trading(TradingMode::ReduceOnly, "x") {
        Err(Error::Refused(e)) => {
            assert_eq!((e.status, e.error.as_str()), (401, "unauthorized"));
            assert!(e.detail.contains("Bearer"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.trading().unwrap().mode, TradingMode::Active);
    let c = c.with_token(Some(TOKEN.into()));
    let e = c.position(424_242).unwrap_err();
    let api = e.api().unwrap();
    assert_eq!((api.status, api.error.as_str()), (404, "not_found"));
    let e = c.position_orders(424_242).unwrap_err();
    assert_eq!(e.api().map(|a| a.status), Some(404));
    let e = c
        .signal(
            &json!({"symbol": "BTCUSDT", "side": "sideways", "price": 1,
                        "timestamp": "2025-12-01T10:05:00Z"}),
            None,
        )
        .unwrap_err();
    assert_eq!(e.api().map(|a| a.error.as_str()), Some("invalid_signal"));
    assert!(e.to_string().contains("side must be"), "{e}");
    let e = c.pin_price(dec("-1"), None).unwrap_err();
    assert_eq!(
        e.api().map(|a| (a.status, a.error.as_str())),
        Some((422, "invalid_price"))
    );
    // A risk refusal keeps its extra fields in the body.
    let e = c
        .create_order(&NewOrder {
            symbol: "BTCUSDT".into(),
            side: Side::Long,
            qty: dec("1"),
            entry_price: dec("100"),
            tp_price: Some(dec("90")),
            sl_price: None,
        })
        .unwrap_err();
    assert_eq!(
        e.api().map(|a| (a.status, a.error.as_str())),
        Some((422, "invalid_order"))
    );
}

#[test]
fn an_absent_server_is_unreachable() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let e = Client::new(&format!("http://{addr}")).health().unwrap_err();
    match &e {
        Error::Unreachable { url, transport } => {
            assert_eq!(url, &format!("http://{addr}"));
            assert_eq!(transport.kind, TransportKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_unreachable());
    assert!(e.to_string().contains("connection refused"), "{e}");
}

#[test]
fn a_silent_server_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let hold = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_millis(800));
        drop(s);
    });
    let c = Client::new(&format!("http://{addr}")).with_timeout(Duration::from_millis(200));
    match c.stats(&StatsQuery::default()) {
        Err(Error::Unreachable { transport, .. }) => {
            assert_eq!(
                transport.kind,
                TransportKind::Timeout(Duration::from_millis(200))
            );
            assert_eq!(transport.to_string(), "no answer within 0.2s");
        }
        other => panic!("{other:?}"),
    }
    hold.join().unwrap();
}

/// A server answering every request with `status` and `body`.
fn fake(status: &'static str, body: &'static str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn answers_that_cannot_be_used_are_bad_answers() {
    let html = Client::new(&fake("200 OK", "<html>gateway</html>"));
    match html.health() {
        Err(Error::BadAnswer {
            status,
            problem: Problem::NotJson(_),
            body,
            path,
            ..
        }) => {
            assert_eq!(
                (status, body.as_str(), path.as_str()),
                (200, "<html>gateway</html>", "/health")
            );
        }
        other => panic!("{other:?}"),
    }
    let other_json = Client::new(&fake("200 OK", r#"{"hello": "world"}"#));
    match other_json.stats(&StatsQuery::default()) {
        Err(Error::BadAnswer {
            problem: Problem::Unexpected(why),
            ..
        }) => {
            assert!(why.contains("total_positions"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    // An error status with a body that is not JSON is still a refusal, with its start.
    let proxy = Client::new(&fake("502 Bad Gateway", "<html>\nupstream down</html>"));
    match proxy.trading() {
        Err(Error::Refused(e)) => {
            assert_eq!((e.status, e.error.as_str()), (502, ""));
            assert_eq!(e.detail, "<html> upstream down</html>");
        }
        other => panic!("{other:?}"),
    }
}
