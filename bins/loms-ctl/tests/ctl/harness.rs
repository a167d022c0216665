//! The real server in-process on 127.0.0.1:0 (its own tokio runtime), the real
//! `loms-ctl` binary run with a cleared environment, and a scripted fake server for
//! the cases a real one cannot easily produce (slow, positions that will not close).

use loms_config::Settings;
use loms_oms::{Deps, Oms};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub(crate) const TOKEN: &str = "test-token-0123456789";

static SIGNAL_SEQ: AtomicU32 = AtomicU32::new(0);

/// What a run of loms-ctl printed and returned.
#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Out {
    /// Both streams, for assertion messages.
    pub(crate) fn all(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A running loms-server (OMS + HTTP) on a random port, with its files in `dir`.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) token: Option<String>,
    rt: Option<tokio::runtime::Runtime>,
    oms: Oms,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub(crate) fn start(tweak: fn(&mut Settings)) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        let mut s = Settings::for_tests(dir.path());
        s.min_position_age = Duration::ZERO;
        // The tests close positions themselves; the loop must not interfere.
        s.auto_close_interval = Duration::from_secs(3600);
        s.sim_seed = Some(7);
        tweak(&mut s);
        let token = s.api_token.clone();
        let (oms, addr, stop, task) = {
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
            (oms, addr, stop, task)
        };
        Self {
            addr,
            dir,
            token,
            rt: Some(rt),
            oms,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Graceful stop (as on SIGTERM): afterwards the database is closed.
    pub(crate) fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let (Some(rt), Some(t)) = (self.rt.as_ref(), self.task.take()) {
            rt.block_on(async {
                t.await.unwrap().unwrap();
                self.oms.shutdown().await;
            });
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("loms_test.db")
    }

    pub(crate) fn audit(&self) -> PathBuf {
        self.dir.path().join("signals_audit.jsonl")
    }

    pub(crate) fn backups(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    /// The settings loms-ctl gets, as environment variables.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("DATABASE_URL".into(), self.db().display().to_string()),
            ("AUDIT_LOG_PATH".into(), self.audit().display().to_string()),
            ("LOMS_BIND".into(), self.addr.to_string()),
            ("BACKUP_DIR".into(), self.backups().display().to_string()),
        ];
        if let Some(t) = &self.token {
            env.push(("LOMS_API_TOKEN".into(), t.clone()));
        }
        env
    }

    /// Run the real binary with this server's settings plus `extra` environment.
    pub(crate) fn ctl(&self, args: &[&str], extra: &[(&str, &str)]) -> Out {
        let mut env = self.env();
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push(((*k).to_string(), (*v).to_string()));
        }
        ctl_in(&self.dir.path().join("work"), &env, args)
    }

    /// Run [`loms_ctl::run`] in-process, with `now` as the clock.
    pub(crate) fn ctl_lib(&self, args: &[&str], now: &str, extra: &[(&str, &str)]) -> Out {
        let mut env = self.env();
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push(((*k).to_string(), (*v).to_string()));
        }
        lib_run(self.dir.path(), &env, args, now)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POST with the token when the server has one.
    pub(crate) fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut req = agent().post(self.url(path));
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.send_json(body))
    }

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        answer(agent().get(self.url(path)).call())
    }

    /// Open a position through a signal; returns its id.
    pub(crate) fn open(&self, symbol: &str, extra: Value) -> i64 {
        let (st, v) = self.post("/signals/bounce", &signal(symbol, extra));
        assert_eq!((st, &v["risk_ok"]), (200, &json!(true)), "{v}");
        v["position_id"].as_i64().unwrap()
    }

    pub(crate) fn open_count(&self) -> usize {
        let (st, v) = self.get("/positions/?status=open");
        assert_eq!(st, 200, "{v}");
        v.as_array().unwrap().len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// A bot signal for `symbol`, unique (own `signal_id`), stamped now, qty 1 at 100.
pub(crate) fn signal(symbol: &str, extra: Value) -> Value {
    let n = SIGNAL_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut v = json!({"symbol": symbol, "side": "long", "price": 100, "qty": 1,
        "timestamp": chrono::Utc::now().to_rfc3339(), "signal_id": format!("test-{}-{n}", std::process::id())});
    if let (Some(base), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in more {
            base.insert(k.clone(), val.clone());
        }
    }
    v
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .proxy(None)
        .build()
        .into()
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let mut resp = r.unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Run the binary in `cwd` with exactly `env` (nothing of the developer's leaks in).
pub(crate) fn ctl_in(cwd: &Path, env: &[(String, String)], args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_loms-ctl"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Run the library with exactly `env` and the clock at `now` (RFC 3339); the profile
/// folder and .env file are pinned inside `dir` so nothing of the checkout is read.
pub(crate) fn lib_run(dir: &Path, env: &[(String, String)], args: &[&str], now: &str) -> Out {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let env_file = conf.join("empty.env");
    std::fs::write(&env_file, "").unwrap();
    let mut argv = vec![
        "loms-ctl".to_string(),
        "--config-dir".into(),
        conf.display().to_string(),
        "--env-file".into(),
        env_file.display().to_string(),
    ];
    argv.extend(args.iter().map(|a| (*a).to_string()));
    let ctx = loms_ctl::Ctx {
        env: env.to_vec(),
        now: now.parse().unwrap(),
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = loms_ctl::run(argv, &ctx, &mut out, &mut err);
    Out {
        code: i32::from(code),
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

/// An address nothing listens on.
pub(crate) fn dead_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// One scripted answer of the fake server: the request line it expects to start with,
/// and the status and JSON body to send back; `None` = never answer.
pub(crate) type Step = (&'static str, Option<(u16, Value)>);

/// A server answering `script` in order, one request per connection; returns its
/// address and a handle giving the request lines it received.
pub(crate) fn fake_server(script: Vec<Step>) -> (SocketAddr, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut held = Vec::new();
        for (expect, reply) in script {
            let Ok((stream, _)) = listener.accept() else {
                break;
            };
            let line = read_request(&stream);
            assert!(
                line.starts_with(expect),
                "expected {expect:?}, got {line:?}"
            );
            seen.push(line);
            match reply {
                Some((status, body)) => respond(stream, status, &body),
                // Keep the connection open and silent.
                None => held.push(stream),
            }
        }
        // Let the client time out on a held connection before closing it.
        if !held.is_empty() {
            std::thread::sleep(Duration::from_millis(1500));
        }
        drop(held);
        seen
    });
    (addr, handle)
}

fn read_request(stream: &TcpStream) -> String {
    let mut r = BufReader::new(stream);
    let mut first = String::new();
    r.read_line(&mut first).unwrap();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
            break;
        }
        let length = h
            .split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        if let Some((_, v)) = length {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    first.trim_end().to_string()
}

fn respond(mut stream: TcpStream, status: u16, body: &Value) {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}
