//! The dashboard in a real browser: start the server in-process, make known trades over
//! HTTP, load `/dashboard` in headless Chromium and read the DOM it rendered.

use loms_config::Settings;
use loms_oms::{Deps, Oms};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// /usr/bin/chromium, else `chromium` or `chromium-browser` on PATH.
fn find_chromium() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

async fn request(addr: SocketAddr, method: &str, path: &str, body: &Value) -> Value {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{method} {path}: {buf}");
    serde_json::from_str(body).unwrap()
}

/// Pin the simulator's price of `symbol`.
async fn pin(addr: SocketAddr, symbol: &str, price: &str) {
    let path = format!("/market/price/{price}?symbol={symbol}");
    request(addr, "POST", &path, &json!(null)).await;
}

/// Run Chromium on `url` with `extra` flags; kill it after [`BROWSER_TIMEOUT`]. Stdout.
fn run_chromium(browser: &Path, profile: &Path, url: &str, extra: &[&str]) -> String {
    let (out, err) = (profile.join("stdout.txt"), profile.join("stderr.txt"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("profile").display()
        ))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}): {stderr}");
    std::fs::read_to_string(&out).unwrap()
}

/// The inner HTML of the first element whose start tag contains `marker`.
fn inner<'a>(dom: &'a str, marker: &str, close: &str) -> &'a str {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in DOM"));
    let rest = &dom[at..];
    let open_end = rest.find('>').unwrap() + 1;
    let end = rest.find(close).unwrap();
    &rest[open_end..end]
}

fn start_tag<'a>(dom: &'a str, marker: &str) -> &'a str {
    let at = dom.find(marker).unwrap();
    &dom[at..at + dom[at..].find('>').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_renders_positions_stats_and_equity_in_chromium() {
    let Some(browser) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium not installed: .ci/run must install chromium (apt-get install -y chromium)"
        );
        println!(
            "chromium not installed; dashboard browser test skipped (apt-get install chromium)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::for_tests(dir.path());
    s.min_position_age = Duration::ZERO;
    s.auto_close_interval = Duration::from_secs(3600);
    s.sim_seed = Some(7);
    let deps = Deps::from_settings(&s);
    let oms = Oms::start(s, deps).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(loms_http::run(oms.clone(), listener, async {
        let _ = rx.await;
    }));

    // Four positions at 100; BTC closes at TP, ETH at SL, SOL at TP; XRP stays open.
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"];
    for (i, sym) in symbols.iter().enumerate() {
        pin(addr, sym, "100").await;
        let signal = json!({"symbol": sym, "side": "long", "price": 100, "qty": 1,
            "timestamp": chrono::Utc::now().to_rfc3339(), "signal_id": format!("dash-{i}")});
        let opened = request(addr, "POST", "/signals/bounce", &signal).await;
        assert_eq!(opened["risk_ok"], true, "{opened}");
    }
    for (sym, price) in [("BTCUSDT", "110"), ("ETHUSDT", "90"), ("SOLUSDT", "105")] {
        pin(addr, sym, price).await;
        oms.auto_close_pass().await.unwrap();
    }
    let closed = request(addr, "GET", "/positions/?status=closed", &json!(null)).await;
    assert_eq!(closed.as_array().unwrap().len(), 3, "{closed}");

    let url = format!("http://{addr}/dashboard");
    let profile = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let dom = tokio::task::spawn_blocking(move || {
        let dom = run_chromium(&browser, profile.path(), &url, &["--dump-dom"]);
        if let Ok(shot) = std::env::var("LOMS_DASHBOARD_SCREENSHOT") {
            let shot = format!("--screenshot={shot}");
            run_chromium(
                &browser,
                profile.path(),
                &url,
                &[&shot, "--window-size=1280,900"],
            );
        }
        dom
    })
    .await
    .unwrap();
    println!("chromium rendered the dashboard in {:?}", started.elapsed());

    let open = inner(&dom, r#"<tbody id="open-positions""#, "</tbody>");
    assert_eq!(open.matches("<tr").count(), 1, "open rows: {open}");
    assert!(open.contains(">XRPUSDT<"), "{open}");
    let closes = inner(&dom, r#"<tbody id="recent-closes""#, "</tbody>");
    assert_eq!(closes.matches("<tr").count(), 3, "closed rows: {closes}");
    assert_eq!(closes.matches("<td>tp</td>").count(), 2, "{closes}");
    assert_eq!(closes.matches("<td>sl</td>").count(), 1, "{closes}");
    for p in closed.as_array().unwrap() {
        let pnl = p["pnl"].as_f64().unwrap();
        let shown = format!("{}{pnl:.4}", if pnl > 0.0 { "+" } else { "" });
        assert!(
            closes.contains(&format!(">{shown}<")),
            "pnl {shown}: {closes}"
        );
        assert!(closes.contains(&format!(">{}<", p["symbol"].as_str().unwrap())));
    }
    let chart = inner(&dom, r#"<svg id="equity-chart""#, "</svg>");
    assert!(
        start_tag(&dom, r#"<svg id="equity-chart""#).contains(r#"data-points="3""#),
        "{}",
        start_tag(&dom, r#"<svg id="equity-chart""#)
    );
    let polyline = start_tag(chart, "<polyline");
    let pts = polyline
        .split(r#" points=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(pts.split_whitespace().count(), 3, "polyline points: {pts}");
    assert!(pts.split_whitespace().all(|p| {
        let (x, y) = p.split_once(',').unwrap();
        x.parse::<f64>().is_ok() && y.parse::<f64>().is_ok()
    }));
    assert_eq!(inner(&dom, r#"id="status""#, "</span>"), "ok");
    assert_eq!(inner(&dom, r#"id="k-closed""#, "</div>"), "3");
    assert!(
        start_tag(&dom, r#"id="error-banner""#).contains("hidden"),
        "error banner shown"
    );
    assert_eq!(
        dom.matches(r#"<span class="pill ok">pass</span>"#).count(),
        4,
        "checks"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
