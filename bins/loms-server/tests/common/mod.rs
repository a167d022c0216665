//! What the process tests of `loms-server` share: an isolated command and a start that
//! waits for the "listening" line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_loms-server");

/// A command isolated from the developer's environment and files: a paper server on
/// `<dir>/db/loms.db`, any free port.
pub(crate) fn server(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env(
            "DATABASE_URL",
            format!("sqlite:///{}", dir.join("db/loms.db").display()),
        )
        .env("AUDIT_LOG_PATH", dir.join("audit.jsonl"))
        .env("LOMS_BIND", "127.0.0.1:0");
    c
}

/// Start and wait for the "listening" line; returns the child, its address, a channel
/// with the rest of its log, and its log up to the "listening" line (the last).
/// Callers kill or wait for the child.
#[allow(clippy::zombie_processes)]
pub(crate) fn start_logged(
    mut cmd: Command,
) -> (Child, SocketAddr, mpsc::Receiver<String>, Vec<String>) {
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not start: {seen:#?}");
        };
        seen.push(line.clone());
        if let Some(rest) = line.split("LOMS listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap().parse().unwrap();
            return (child, addr, rx, seen);
        }
    }
}
