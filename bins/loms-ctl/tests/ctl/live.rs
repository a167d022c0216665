//! `panic` and `reconcile` in live mode, end to end: the real `loms-server` binary in
//! `BROKER_MODE=live` against the fake Bitget venue (crates/loms-fake-bitget, served in
//! this process), and the real `loms-ctl` binary run as a process.
//!
//! The server binary is the one cargo built next to `loms-ctl` (`cargo test
//! --workspace` builds both; with `-p loms-ctl` alone, `cargo build -p loms-server`
//! first).

use crate::harness::{Out, Server, agent, ctl_in, fake_server};
use loms_bitget::{BitgetClient, BitgetConfig, ClientOid, Credentials, OrderSide, PlaceOrder};
use loms_domain::Decimal;
use loms_fake_bitget::{FakeBitget, Fault, KEY, PASSPHRASE, PLACE_ORDER_PATH, SECRET, VenueClock};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The sub-account the fake venue's key belongs to.
const UID: &str = "5550000001";

fn server_bin() -> PathBuf {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_loms-ctl"))
        .with_file_name(format!("loms-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is not built: run `cargo build -p loms-server` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A live `loms-server` process on a fake venue, with its files in `dir`.
struct Live {
    venue: FakeBitget,
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
}

impl Live {
    /// A venue on the system clock; `before` runs on it before the server starts.
    fn start(before: impl FnOnce(&FakeBitget)) -> Self {
        let venue = FakeBitget::start();
        venue.set_clock(VenueClock::System);
        venue.set_balance(d("190"));
        before(&venue);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        let mut c = Command::new(server_bin());
        c.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env(
                "DATABASE_URL",
                format!("sqlite:///{}", dir.path().join("db/loms.db").display()),
            )
            .env("AUDIT_LOG_PATH", dir.path().join("audit.jsonl"))
            .env("LOMS_BIND", "127.0.0.1:0")
            .env("BROKER_MODE", "live")
            .env("PRICE_SOURCE", "exchange")
            .env("PRICE_EXCHANGE", "bitget")
            .env("PRICE_MARKET", "perp")
            .env("BITGET_BASE_URL", venue.base_url())
            .env("BITGET_API_KEY", KEY)
            .env("BITGET_API_SECRET", SECRET)
            .env("BITGET_API_PASSPHRASE", PASSPHRASE)
            .env("LIVE_CONFIRM", "I_UNDERSTAND_REAL_ORDERS")
            .env("LIVE_ACCOUNT_UID", UID)
            .env("LIVE_MAX_NOTIONAL_USDT", "100")
            .env("LIVE_RESOLVE_INTERVAL_MS", "100")
            .env("LIVE_ACK_TIMEOUT_MS", "3000")
            .env("RECONCILE_INTERVAL_SEC", "5")
            .env("AUTO_CLOSE_INTERVAL_SEC", "1")
            .env("MIN_POSITION_AGE_SEC", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut seen = Vec::new();
        let addr = loop {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the live server did not start: {seen:#?}");
            };
            if let Some(rest) = line.split("LOMS listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
            seen.push(line);
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Self {
            venue,
            dir,
            child,
            addr,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Run the real `loms-ctl` against this server.
    fn ctl(&self, args: &[&str]) -> Out {
        let mut argv = vec!["--url".to_string(), self.url()];
        argv.extend(args.iter().map(|a| (*a).to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let env = vec![("USER".to_string(), "night-op".to_string())];
        ctl_in(&self.dir.path().join("work"), &env, &argv)
    }

    fn get(&self, path: &str) -> Value {
        let mut r = agent().get(format!("{}{path}", self.url())).call().unwrap();
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    }

    /// A long signal on `symbol` for `qty`; waits until its entry filled at the venue.
    fn open(&self, symbol: &str, qty: &str) -> i64 {
        let price = self.venue.mark(symbol).unwrap();
        let body = json!({"signal_id": format!("live-{symbol}"), "symbol": symbol,
            "side": "long", "price": price, "qty": qty, "sl_pct": 1, "tp_pct": 5,
            "timestamp": chrono::Utc::now().to_rfc3339()});
        let mut r = agent()
            .post(format!("{}/signals/bounce", self.url()))
            .send_json(&body)
            .unwrap();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(v["risk_ok"], json!(true), "{v}");
        assert_eq!(v["order_status"], json!("filled"), "{v}");
        v["position_id"].as_i64().unwrap()
    }

    /// Wait (up to 15 s) until `GET /venue` satisfies `ok`.
    fn wait_venue(&self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let v = self.get("/venue");
            if ok(&v) {
                return v;
            }
            assert!(Instant::now() < until, "{what}: {v:#}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A position on the venue that LOMS did not open (as if opened in the app).
fn open_by_hand(venue: &FakeBitget, symbol: &str, qty: Decimal) {
    let cfg = BitgetConfig {
        base_url: venue.base_url(),
        demo: false,
        timeout: Duration::from_secs(2),
    };
    let c = BitgetClient::new(cfg, Credentials::new(KEY, SECRET, PASSPHRASE).unwrap());
    c.sync_time().unwrap();
    c.place_order(&PlaceOrder {
        symbol: symbol.into(),
        side: OrderSide::Buy,
        size: qty,
        client_oid: ClientOid::parse("by-hand-1").unwrap(),
        reduce_only: false,
        preset_stop_loss: None,
        preset_take_profit: None,
    })
    .unwrap();
}

#[test]
fn live_panic_with_a_venue_answering_in_300_ms_ends_flat_within_the_minute() {
    let live = Live::start(|_| {});
    live.open("BTCUSDT", "0.001");
    live.open("ETHUSDT", "0.01");
    assert_eq!(live.venue.positions().len(), 2);
    live.venue.set_latency(Duration::from_millis(300));

    let started = Instant::now();
    let o = live.ctl(&["panic"]);
    let took = started.elapsed();
    assert_eq!(o.code, 0, "{}", o.all());
    for line in [
        "PANIC (LIVE) on http://",
        "OK   step 1/3 entries off, flatten: mode flatten (set by cli at ",
        "nothing to cancel: LOMS sends only market orders",
        "step 2/3 ask the venue until flat",
        "venue: 0 open (nothing); LOMS: 0 open (nothing); doubts: 0",
        "OK   step 3/3 verify flat",
    ] {
        assert!(o.stdout.contains(line), "missing {line:?}: {}", o.all());
    }
    let last = o.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("PANIC COMPLETE: trading off (mode flatten), the venue reports flat"),
        "{}",
        o.all()
    );
    assert!(took < Duration::from_secs(20), "{took:?}: {}", o.all());
    assert!(
        live.venue.positions().is_empty(),
        "{:?}",
        live.venue.positions()
    );
    let exits: Vec<Value> = live
        .venue
        .placed_orders()
        .into_iter()
        .filter(|o| o["reduceOnly"] == "YES")
        .collect();
    assert_eq!(exits.len(), 2, "one reduce-only exit each: {exits:#?}");
    assert_eq!(live.get("/admin/oms")["mode"], "flatten");
    assert_eq!(live.get("/positions/?status=open"), json!([]));
}

#[test]
fn live_panic_reports_exactly_what_the_venue_would_not_close() {
    let live = Live::start(|_| {});
    let id = live.open("BTCUSDT", "0.001");
    // Every exit from now on is refused by the venue.
    let refusal = r#"{"code":"40762","msg":"The order amount exceeds the balance","requestTime":0,"data":null}"#;
    for _ in 0..200 {
        live.venue
            .fault_once(PLACE_ORDER_PATH, Fault::Reply(400, refusal.into()));
    }

    let started = Instant::now();
    let o = live.ctl(&["panic", "--deadline", "4"]);
    let took = started.elapsed();
    assert_eq!(o.code, 1, "{}", o.all());
    let last = o.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("PANIC INCOMPLETE: NOT flat after ")
            && last.ends_with(" s: 1 venue position(s), 1 LOMS position(s) still open (see above)"),
        "{}",
        o.all()
    );
    for line in [
        "FAIL step 3/3 verify flat: still open:",
        "     BTCUSDT",
        "       venue: long 0.001 entry 64210 stop ",
        &format!("       LOMS:  #{id} long 0.001"),
        &format!("       last exit of #{id}: L"),
        " rejected (qty 0.001)",
        "Next: run `loms-ctl panic` again",
    ] {
        assert!(o.stdout.contains(line), "missing {line:?}: {}", o.all());
    }
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(took >= Duration::from_secs(4), "{took:?}");
    // Nothing was closed at the venue, and LOMS says so too.
    assert_eq!(live.venue.positions().len(), 1);
    assert_eq!(
        live.get("/positions/?status=open")
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn reconcile_shows_a_venue_only_position_and_closes_it_once_on_the_operators_word() {
    let live = Live::start(|v| open_by_hand(v, "BTCUSDT", d("0.001")));
    live.wait_venue("the start-up comparison doubts BTCUSDT", |v| {
        v["doubts"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["key"] == "venue:BTCUSDT"))
    });

    let o = live.ctl(&["reconcile"]);
    assert_eq!(o.code, 1, "doubts left: {}", o.all());
    for line in [
        "venue bitget next to LOMS at http://",
        "DIFF BTCUSDT",
        "       venue: long 0.001 entry 64210 stop none",
        "       LOMS:  nothing",
        "       difference: the venue holds long 0.001 BTCUSDT that LOMS does not know",
        "       settle: loms-ctl reconcile --adopt BTCUSDT",
        "           or: loms-ctl reconcile --close BTCUSDT --qty 0.001",
        "doubts: 1 (entries are HELD while any is left)",
        "  - venue:BTCUSDT: ",
        "NOT RECONCILED: 1 difference(s), 1 doubt(s) holding entries",
    ] {
        assert!(o.stdout.contains(line), "missing {line:?}: {}", o.all());
    }

    // A wrong size is refused with the size that fits; nothing is sent.
    let o = live.ctl(&["reconcile", "--close", "BTCUSDT", "--qty", "0.002"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(
        o.stdout.contains("REFUSED reconcile close BTCUSDT: ")
            && o.stdout.contains("repeat with qty=0.001"),
        "{}",
        o.all()
    );
    assert_eq!(live.venue.positions().len(), 1);

    let o = live.ctl(&["reconcile", "--close", "BTCUSDT", "--qty", "0.001"]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout.contains(
            "OK   reconcile close BTCUSDT: closed 0.001 of the venue's long BTCUSDT reduce-only"
        ) && o.stdout.contains("by: night-op (audited)"),
        "{}",
        o.all()
    );
    assert!(live.venue.positions().is_empty());
    let audit = std::fs::read_to_string(live.dir.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("reconcile") && audit.contains("night-op"),
        "{audit}"
    );

    // The same command again: refused, nothing sent.
    let placed = live.venue.place_requests().len();
    let o = live.ctl(&["reconcile", "--close", "BTCUSDT", "--qty", "0.001"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(
        o.stdout
            .contains("REFUSED reconcile close BTCUSDT: close on BTCUSDT: the venue holds nothing"),
        "{}",
        o.all()
    );
    assert_eq!(live.venue.place_requests().len(), placed);

    // Settled: the view exits 0 once the comparison has run again.
    live.wait_venue("the doubt goes", |v| v["doubts"] == json!([]));
    let o = live.ctl(&["reconcile"]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout
            .contains("OK   flat: neither the venue nor LOMS holds a position")
            && o.stdout.contains("RECONCILED: the venue and LOMS agree"),
        "{}",
        o.all()
    );
}

#[test]
fn reconcile_on_a_paper_server_says_it_is_paper() {
    let srv = Server::start(|_| {});
    for args in [
        &["reconcile"][..],
        &["reconcile", "--adopt", "BTCUSDT"],
        &["reconcile", "--close", "BTCUSDT", "--qty", "1"],
    ] {
        let o = srv.ctl(args, &[]);
        assert_eq!(o.code, 1, "{}", o.all());
        assert!(
            o.stdout.contains("PAPER MODE: the server at http://")
                && o.stdout
                    .contains("runs BROKER_MODE=paper: there is no venue to reconcile"),
            "{}",
            o.all()
        );
    }
}

#[test]
fn live_panic_refused_by_the_server_stops_at_once_and_says_trading_is_not_off() {
    let view = json!({"venue": "bitget", "flat": false, "doubts": [],
        "positions": [{"symbol": "BTCUSDT", "side": "long", "qty": 0.001,
                       "entry_price": 64210, "stop_loss": 63500}],
        "loms": [{"id": 1, "symbol": "BTCUSDT", "side": "long", "qty": 0.001, "working": null}]});
    let (addr, server) = fake_server(vec![
        ("GET /health", Some((200, json!({"broker_mode": "live"})))),
        (
            "POST /admin/oms",
            Some((401, json!({"error": "unauthorized", "detail": "bad token"}))),
        ),
        ("GET /venue", Some((200, view))),
        (
            "GET /positions/1/orders",
            Some((
                200,
                json!({"position_id": 1, "orders": [], "unlinked_fills": []}),
            )),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("LOMS_BIND".to_string(), addr.to_string())];
    let started = Instant::now();
    let o = ctl_in(dir.path(), &env, &["panic"]);
    assert_eq!(server.join().unwrap().len(), 4);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(started.elapsed() < Duration::from_secs(10));
    for line in [
        "FAIL step 1/3 entries off, flatten: POST /admin/oms mode=flatten: HTTP 401 unauthorized: bad token",
        "       venue: long 0.001 entry 64210 stop 63500",
        "       LOMS:  #1 long 0.001",
        "       last exit of #1: none sent yet",
        "trading NOT confirmed off",
    ] {
        assert!(o.stdout.contains(line), "missing {line:?}: {}", o.all());
    }
}
