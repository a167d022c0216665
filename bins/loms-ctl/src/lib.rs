//! `loms-ctl`: the operators' control of LOMS.
//!
//! * `kill on|off|status` — the runtime kill switch (`/admin/oms`),
//! * `panic` — kill switch on, close every position, verify none is open (live: flatten,
//!   then ask the venue until it reports flat),
//! * `reconcile` — live: the venue next to LOMS, and adopt/close on the operator's word,
//! * `backup` — online SQLite backup plus a gzip copy of the audit log,
//! * `prune` — delete dated backups older than `RETENTION_DAYS`,
//! * `export` — positions as CSV, straight from the database (works with the server down).
//!
//! It reads the same layered settings as `loms-server` (`--profile`, `--config-dir`,
//! `--env-file`, `--set KEY=VALUE`, the environment). Every command prints what it
//! did; exit codes: 0 done, 1 failed (the message says what to fix), 2 the server is
//! unreachable or not answering, or the command line is wrong.
//!
//! [`run`] is the whole program: `main` only hands it the arguments, the environment,
//! the clock and the output streams, so tests can call it directly.

mod backup;
mod cli;
mod export;
mod http;
mod kill;
mod panic_close;
mod panic_live;
mod prune;
mod reconcile;
mod settings;
mod venue_show;

use chrono::{DateTime, Utc};
use clap::Parser;
use cli::{Cli, Command, KillAction};
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::time::Duration;

/// Exit code: the command did what it was asked.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command failed; the message says what to fix.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the server is unreachable or not answering, or the command line is wrong.
pub const EXIT_UNREACHABLE: u8 = 2;

/// What the program sees of the outside world besides its arguments: the environment
/// (for the settings) and the time (for backup names and retention).
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The process environment (read by the settings like `loms-server` does).
    pub env: Vec<(String, String)>,
    /// Now; backups and retention use its UTC date.
    pub now: DateTime<Utc>,
}

impl Ctx {
    /// The real process environment and the system clock.
    pub fn from_process() -> Self {
        Self {
            env: std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect(),
            now: Utc::now(),
        }
    }
}

/// The server could not be reached, or did not answer in time: exit code 2.
#[derive(Debug)]
pub(crate) struct Unreachable {
    /// The server's base URL.
    pub(crate) url: String,
    /// What happened (connection refused, timed out...).
    pub(crate) cause: String,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot reach the LOMS server at {}: {}",
            self.url, self.cause
        )
    }
}

impl std::error::Error for Unreachable {}

/// Write one line, ignoring write errors (a closed terminal must not stop a panic).
macro_rules! say {
    ($w:expr) => {{
        let _ = writeln!($w);
    }};
    ($w:expr, $($arg:tt)*) => {{
        let _ = writeln!($w, $($arg)*);
    }};
}
pub(crate) use say;

/// Run `loms-ctl` with `args` (the first one is the program name). Returns the exit
/// code: [`EXIT_OK`], [`EXIT_FAILED`] or [`EXIT_UNREACHABLE`] (also for usage errors).
/// Never panics on any input; every failure is explained on `err`.
pub fn run<I, T>(args: I, ctx: &Ctx, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let text = e.render().to_string();
            let code = u8::try_from(e.exit_code()).unwrap_or(EXIT_UNREACHABLE);
            if e.use_stderr() {
                let _ = write!(err, "{text}");
            } else {
                let _ = write!(out, "{text}");
            }
            return code;
        }
    };
    let stop_advice = matches!(
        cli.command,
        Command::Panic { .. }
            | Command::Kill {
                action: KillAction::On { .. }
            }
    );
    let code = match dispatch(cli, ctx, out, err) {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<Unreachable>() {
            Some(u) => {
                say!(err, "loms-ctl: {u}");
                if stop_advice {
                    say!(err, "{}", fallback_advice(&u.url));
                } else {
                    say!(err, "{}", check_server_advice(&u.url));
                }
                EXIT_UNREACHABLE
            }
            None => {
                say!(err, "loms-ctl: error: {e:#}");
                EXIT_FAILED
            }
        },
    };
    let _ = out.flush();
    let _ = err.flush();
    code
}

fn dispatch(cli: Cli, ctx: &Ctx, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let settings = settings::load(&cli.config, &ctx.env, err)?;
    let (url, timeout) = (cli.url.clone(), cli.timeout());
    let api = || http::Api::new(&settings, url.as_deref(), timeout);
    match cli.command {
        Command::Kill { action } => match action {
            KillAction::On { mode } => kill::set(&api(), mode.as_str(), out),
            KillAction::Off => kill::set(&api(), "active", out),
            KillAction::Status => kill::status(&api(), out),
        },
        Command::Panic { deadline } => {
            let api = api();
            Ok(match broker(&api) {
                Broker::Live => panic_live::run(&api, Duration::from_secs(deadline), out, err),
                Broker::Paper => panic_close::run(&api, 0, out, err),
                Broker::Silent => panic_close::run(&api, 1, out, err),
            })
        }
        Command::Reconcile(a) => {
            let ask = match (a.adopt, a.close, a.qty) {
                (Some(s), _, _) => reconcile::Ask::Adopt(s),
                (None, Some(s), Some(q)) => reconcile::Ask::Close(s, q),
                _ => reconcile::Ask::Show,
            };
            let by = a.by.unwrap_or_else(|| operator(&ctx.env));
            reconcile::run(&api(), ask, &by, out, err)
        }
        Command::Backup => backup::run(&settings, ctx.now.date_naive(), out, err),
        Command::Prune { dry_run } => prune::run(&settings, ctx.now.date_naive(), dry_run, out),
        Command::Export {
            out: file,
            status,
            since,
        } => export::run(&settings, file.as_deref(), status, since, out, err),
    }
}

/// What the first look at `/health` says about the server.
enum Broker {
    /// `broker_mode: live`.
    Live,
    /// Paper, an older server without the field, or a refusal: the paper procedure.
    Paper,
    /// No answer in time: the paper procedure, counting this silence.
    Silent,
}

/// Whether the server trades live (`/health` says `broker_mode: live`). When it cannot
/// be asked, the paper procedure runs: it is the one that copes with a silent server.
fn broker(api: &http::Api) -> Broker {
    match api.get("/health", panic_close::PEEK_TIMEOUT.min(api.timeout())) {
        Ok(v) if v.get("broker_mode").and_then(|m| m.as_str()) == Some("live") => Broker::Live,
        Err(http::CallError::Timeout(_)) => Broker::Silent,
        _ => Broker::Paper,
    }
}

/// Who runs the command: `$USER`, else `loms-ctl`.
fn operator(env: &[(String, String)]) -> String {
    env.iter()
        .find(|(k, v)| k == "USER" && !v.trim().is_empty())
        .map_or_else(
            || "loms-ctl".to_string(),
            |(_, v)| v.trim().chars().take(64).collect(),
        )
}

/// What to do when the server cannot be told to stop trading.
pub(crate) fn fallback_advice(url: &str) -> String {
    format!(
        "FALLBACK: the server could not be told to stop trading. Stop the process itself:\n\
         \x20 1. sudo systemctl stop loms   (under tmux: Ctrl-C in its window; else: kill <pid of loms-server>, SIGTERM stops it cleanly)\n\
         \x20 2. positions in the database remain OPEN: in live mode close them by hand on the exchange\n\
         \x20 3. if the server is in fact running elsewhere, check the address: --url or LOMS_BIND (used: {url})"
    )
}

/// What to check when a read or `kill off` cannot reach the server.
fn check_server_advice(url: &str) -> String {
    format!(
        "Is loms-server running? Check: systemctl status loms, journalctl -u loms -n 50.\n\
         The address used is {url} (from --url, else http://LOMS_BIND of the settings: pass the same --profile/--env-file as loms-server)."
    )
}

/// A size for people: `840 bytes`, `12.3 KiB`, `5.0 MiB`.
pub(crate) fn fmt_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// An exact size, with the size for people when it differs: `53248 bytes (52.0 KiB)`.
pub(crate) fn fmt_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{bytes} bytes ({})", fmt_size(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(fmt_size(0), "0 bytes");
        assert_eq!(fmt_size(1023), "1023 bytes");
        assert_eq!(fmt_size(1536), "1.5 KiB");
        assert_eq!(fmt_size(5 << 20), "5.0 MiB");
        assert_eq!(fmt_bytes(325), "325 bytes");
        assert_eq!(fmt_bytes(53248), "53248 bytes (52.0 KiB)");
    }
}
