//! Start the real server on port 0 with a manual clock, talk raw HTTP/1.1 to it.

use chrono::{TimeZone, Utc};
use loms_config::Settings;
use loms_domain::{ManualClock, Timestamp};
use loms_oms::{Deps, Oms};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The time the tests' clock starts at, 30 s after the bot payload's timestamp.
pub(crate) fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 12, 1, 10, 5, 30).unwrap()
}

pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) oms: Oms,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    tweak: Tweak,
    make_deps: MakeDeps,
}

type Tweak = Arc<dyn Fn(&mut Settings) + Send + Sync>;

/// Builds the server's dependencies from its settings and the tests' clock (the
/// default: [`Deps::with_clock`]; live tests put the Bitget execution client in).
pub(crate) type MakeDeps = Arc<dyn Fn(&Settings, Arc<ManualClock>) -> Deps + Send + Sync>;

fn settings(dir: &Path, tweak: &Tweak) -> Settings {
    let mut s = Settings::for_tests(dir);
    s.min_position_age = Duration::ZERO;
    // Tests run passes themselves; the loop's own passes must not interfere.
    s.auto_close_interval = Duration::from_secs(3600);
    s.sim_seed = Some(7);
    // Exact PnL figures in the tests; the fee tests set their own.
    s.fee_taker_bps = rust_decimal::Decimal::ZERO;
    tweak(&mut s);
    s
}

impl TestServer {
    pub(crate) async fn start(tweak: fn(&mut Settings)) -> Self {
        Self::start_with(tweak).await
    }

    /// Like [`TestServer::start`] with a closure (it may capture, e.g. a fake's URL).
    pub(crate) async fn start_with(tweak: impl Fn(&mut Settings) + Send + Sync + 'static) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(t0()));
        let make_deps: MakeDeps = Arc::new(|s, clock| Deps::with_clock(s, clock));
        Self::start_in(dir, clock, Arc::new(tweak), make_deps).await
    }

    /// Like [`TestServer::start_with`] with the dependencies `make_deps` builds.
    pub(crate) async fn start_with_deps(
        tweak: impl Fn(&mut Settings) + Send + Sync + 'static,
        make_deps: MakeDeps,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(t0()));
        Self::start_in(dir, clock, Arc::new(tweak), make_deps).await
    }

    async fn start_in(
        dir: tempfile::TempDir,
        clock: Arc<ManualClock>,
        tweak: Tweak,
        make_deps: MakeDeps,
    ) -> Self {
        let s = settings(dir.path(), &tweak);
        let deps = make_deps(&s, clock.clone());
        let oms = Oms::start(s, deps).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(loms_http::run(oms.clone(), listener, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            oms,
            clock,
            dir,
            stop: Some(stop),
            task: Some(task),
            tweak,
            make_deps,
        }
    }

    /// Graceful stop, as on SIGTERM.
    pub(crate) async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }

    /// Stop and start again on the same database and audit file.
    pub(crate) async fn restart(self) -> Self {
        self.restart_after(|_| {}).await
    }

    /// Stop, run `meanwhile` on the data folder (the server down), start again.
    pub(crate) async fn restart_after(mut self, meanwhile: impl FnOnce(&Path)) -> Self {
        self.stop().await;
        meanwhile(self.dir.path());
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::start_in(
            dir,
            self.clock.clone(),
            self.tweak.clone(),
            self.make_deps.clone(),
        )
        .await
    }

    pub(crate) async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let (status, text) = raw_request(self.addr, method, path, body, headers).await;
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {text}"));
        (status, v)
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, None, &[]).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.request("POST", path, Some(&body.to_string()), &[])
            .await
    }

    /// Pin the simulator and run one auto-close pass.
    pub(crate) async fn market(&self, symbol: &str, price: &str) -> loms_oms::PassReport {
        let (st, _) = self
            .post(
                &format!("/market/price/{price}?symbol={symbol}"),
                &json!(null),
            )
            .await;
        assert_eq!(st, 200);
        self.oms.auto_close_pass().await.unwrap()
    }

    /// Rows in a table, read straight from the database file.
    pub(crate) fn count(&self, table: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join("loms_test.db")).unwrap();
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    pub(crate) fn audit_lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("signals_audit.jsonl"))
            .unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub(crate) async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let (status, _, body) = raw_exchange(addr, method, path, body, headers).await;
    (status, body)
}

/// One request on its own connection: status, response head, body (de-chunked). The
/// answer is checked against openapi.json (a mismatch fails the test).
pub(crate) async fn raw_exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    // Every answer of every test must be what openapi.json says it is.
    let content_type = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-type")
            .then(|| value.trim())
    });
    if let Err(e) = crate::openapi::check_answer(method, path, status, content_type, &body) {
        panic!("the answer does not match openapi.json: {e}");
    }
    (status, head.to_string(), body)
}

/// The body of a `Transfer-Encoding: chunked` answer (panics on a malformed or cut one).
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").expect("chunk size line");
        let n = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if n == 0 {
            return body;
        }
        body.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").expect("CRLF after a chunk");
    }
}

/// The bot's payload from the spec, with overrides.
pub(crate) fn bot_signal(overrides: Value) -> Value {
    let mut v = json!({"symbol": "BTCUSDT", "side": "long", "price": 97250.5,
        "timestamp": "2025-12-01T10:05:00Z", "exchange": "bitget",
        "timeframe_min": 5, "strategy": "bounce_ema10_strict",
        "tp_pct": 4.5, "sl_pct": 1.5});
    if let (Some(base), Some(extra)) = (v.as_object_mut(), overrides.as_object()) {
        for (k, val) in extra {
            base.insert(k.clone(), val.clone());
        }
    }
    v
}

/// A distinct signal per `n` (distinct timestamp, so distinct derived key).
pub(crate) fn nth_signal(n: u32, overrides: Value) -> Value {
    let mut v = bot_signal(overrides);
    v["timestamp"] = json!(format!("2025-12-01T10:05:{:02}.{:03}Z", n % 60, n / 60));
    v
}
