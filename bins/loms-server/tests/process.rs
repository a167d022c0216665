//! The real `loms-server` binary as a process: start-up errors, --print-config,
//! durability across `kill -9`, and a clean stop on SIGTERM.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command};
use std::sync::mpsc;

mod common;

use common::{server, start_logged};

/// Start and wait for the "listening" line; returns the child, its address and a
/// channel with the rest of its log. Callers kill or wait for the child.
fn start(cmd: Command) -> (Child, SocketAddr, mpsc::Receiver<String>) {
    let (child, addr, rx, _) = start_showing(cmd);
    (child, addr, rx)
}

/// [`start`], also returning the "listening" line.
fn start_showing(cmd: Command) -> (Child, SocketAddr, mpsc::Receiver<String>, String) {
    let (child, addr, rx, mut seen) = start_logged(cmd);
    let line = seen.pop().unwrap();
    (child, addr, rx, line)
}

fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    (status, out.split_once("\r\n\r\n").unwrap().1.to_string())
}

fn signal(n: u32) -> String {
    format!(
        r#"{{"symbol":"S{n}USDT","side":"long","price":100,"timestamp":"2025-12-01T10:05:00Z","signal_id":"kill-{n}"}}"#
    )
}

#[test]
fn every_answered_signal_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _log) = start(server(dir.path()));
    for n in 0..25 {
        let (st, body) = post(addr, "/signals/bounce", &signal(n));
        assert_eq!(st, 200, "{body}");
    }
    child.kill().unwrap(); // SIGKILL: no shutdown code runs.
    child.wait().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("db/loms.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM positions", [], |r| r.get(0))
        .unwrap();
    let orphans: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM orders WHERE id NOT IN (SELECT order_id FROM positions)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((n, orphans), (25, 0));
    // And the restarted server sees them open.
    let (mut child, addr, _log) = start(server(dir.path()));
    let (st, body) = post(addr, "/signals/bounce", &signal(0));
    assert_eq!(st, 200);
    assert!(body.contains("\"duplicate\":true"), "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_start_line_states_the_trading_mode_in_force_not_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _log, line) = start_showing(server(dir.path()));
    assert!(line.contains("trading active"), "{line}");
    let (st, body) = post(
        addr,
        "/admin/oms",
        r#"{"mode":"entries_off","set_by":"test"}"#,
    );
    assert_eq!(st, 200, "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
    // OMS_ENABLED=true does not lift a stored entries_off.
    let mut cmd = server(dir.path());
    cmd.env("OMS_ENABLED", "true");
    let (mut child, _addr, _log, line) = start_showing(cmd);
    assert!(
        line.contains("trading entries_off") && line.contains("signals open nothing"),
        "{line}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[cfg(unix)]
#[test]
fn sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr, log) = start(server(dir.path()));
    assert_eq!(post(addr, "/signals/bounce", &signal(1)).0, 200);
    let st = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit status {:?}", out.status);
    let lines: Vec<String> = log.try_iter().collect();
    assert!(
        lines.iter().any(|l| l.contains("LOMS stopped cleanly")),
        "{lines:#?}"
    );
}

#[test]
fn print_config_shows_layers_and_warns_about_env_overrides() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "MAX_SIZE_PER_POSITION_USDT=50\nTP_PCT=3\n",
    )
    .unwrap();
    let out = server(dir.path())
        .env("MAX_SIZE_PER_POSITION_USDT", "10")
        .args(["--print-config", "--set", "SL_PCT=2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("MAX_SIZE_PER_POSITION_USDT ").contains("10")
            && line("MAX_SIZE_PER_POSITION_USDT ").contains("env"),
        "{stdout}"
    );
    assert!(line("TP_PCT ").contains(".env"), "{stdout}");
    assert!(line("SL_PCT ").contains("cli"), "{stdout}");
    assert!(line("MAX_OPEN_POSITIONS ").contains("default"), "{stdout}");
    assert!(
        stderr.contains("MAX_SIZE_PER_POSITION_USDT") && stderr.contains("overrides"),
        "{stderr}"
    );
}

#[test]
fn invalid_values_stop_start_up_naming_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = server(dir.path())
        .env("PRICE_MODE", "foo")
        .env("MAX_OPEN_POSITIONS", "-3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PRICE_MODE") && stderr.contains("last, bid, ask, mid, mark"),
        "{stderr}"
    );
    assert!(
        stderr.contains("MAX_OPEN_POSITIONS") && stderr.contains("-3"),
        "{stderr}"
    );
    assert!(!dir.path().join("db").exists(), "nothing was created");
}

#[test]
fn busy_address_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = server(dir.path())
        .env("LOMS_BIND", taken.local_addr().unwrap().to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot listen on") && stderr.contains("--bind"),
        "{stderr}"
    );
}

#[test]
fn non_loopback_bind_without_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = server(dir.path())
        .env("LOMS_BIND", "0.0.0.0:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("LOMS_API_TOKEN"),
        "{stderr}"
    );
}

#[test]
fn the_token_never_reaches_the_log() {
    let token = "s3cret-token-never-logged";
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = server(dir.path());
    cmd.env("LOMS_API_TOKEN", token).env("RUST_LOG", "trace");
    let (mut child, addr, log) = start(cmd);
    let (st, _) = post(addr, "/admin/oms", r#"{"mode":"entries_off"}"#);
    assert_eq!(st, 401);
    let mut s = TcpStream::connect(addr).unwrap();
    let body = r#"{"mode":"active"}"#;
    write!(
        s,
        "POST /admin/oms HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    child.kill().unwrap();
    child.wait().unwrap();
    let lines: Vec<String> = log.try_iter().collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| !l.contains(token)), "{lines:#?}");
}
