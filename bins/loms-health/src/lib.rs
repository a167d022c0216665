//! `loms-health`: the pre-open checklist of a running LOMS.
//!
//! GETs `/health`, adds the operator's expectations (`--expect-env`, `--expect-broker`,
//! `--expect-price-source`, `--expect-trading`, `--max-feed-age`, `--max-open`) and a
//! local look at the data folder (`--data-dir`, loms-health runs on the server's host),
//! and prints one line per check.
//!
//! With `--live` it is instead the read-only pre-open checklist against Bitget, with the
//! server's own settings ([`live`]).
//!
//! Exit codes: [`EXIT_OK`] when every check passes (warnings allowed), [`EXIT_DEGRADED`]
//! when any check fails, [`EXIT_UNREACHABLE`] when the server (with `--live`: the venue)
//! cannot be reached or its answer is not a health report, [`EXIT_USAGE`] for bad
//! arguments (see `main.rs`).

mod live;

use clap::Parser;
use loms_client::{Client, Method, show};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit code: every check passes.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one check fails (status `degraded`, an expectation not met...).
pub const EXIT_DEGRADED: u8 = 1;
/// Exit code: unreachable, timed out, or an answer that is not a LOMS health report.
pub const EXIT_UNREACHABLE: u8 = 2;
/// Exit code: bad command-line arguments (EX_USAGE).
pub const EXIT_USAGE: u8 = 64;

const TOOL: &str = "loms-health";

/// The server's URL when neither `--url` nor `LOMS_URL` names one (without `--live`).
const DEFAULT_URL: &str = "http://127.0.0.1:8000";

/// The settings shown under the header, in this order.
const SETTINGS: [&str; 9] = [
    "broker_mode",
    "oms_enabled",
    "price_source",
    "price_mode",
    "price_exchange",
    "exit_strategy",
    "open_positions",
    "database_url",
    "audit_log_path",
];

/// The server checks the checklist judges by name; other server checks follow them
/// alphabetically, judged by their own `ok`.
const SERVER_CHECKS: [&str; 4] = ["database", "audit_log", "price_feed", "auto_close_loop"];

/// Trading modes `--expect-trading` accepts (the server's `trading.mode`).
const TRADING_MODES: [&str; 4] = ["active", "entries_off", "reduce_only", "flatten"];

/// Command-line arguments of `loms-health`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loms-health",
    version,
    about = "Pre-open checklist of a running LOMS: GET /health, check it against what you \
             expect, print one line per check. With --live: the read-only checklist \
             against Bitget.",
    after_help = "Exit codes: 0 ok (every check passes; warnings allowed), 1 a check fails \
                  (degraded, expectation not met), 2 unreachable (with --live: Bitget) or \
                  not a health report, 64 bad arguments."
)]
pub struct Args {
    /// LOMS base URL [default: http://127.0.0.1:8000; with --live: http://<LOMS_BIND>
    /// of the settings].
    #[arg(long, env = "LOMS_URL", value_parser = show::parse_url)]
    pub url: Option<String>,
    /// Print the checklist as JSON (each check's name, ok, detail; raw /health under
    /// "health"), same exit codes.
    #[arg(long)]
    pub json: bool,
    /// Give up after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = show::parse_timeout)]
    pub timeout: Duration,
    /// The server's ENVIRONMENT must be this (case-insensitive), e.g. prod.
    #[arg(long, value_name = "NAME", conflicts_with = "live")]
    pub expect_env: Option<String>,
    /// The server's BROKER_MODE must be this.
    #[arg(long, value_name = "MODE", conflicts_with = "live", value_parser = ["paper", "live"])]
    pub expect_broker: Option<String>,
    /// The server's PRICE_SOURCE must be this.
    #[arg(long, value_name = "SOURCE", conflicts_with = "live", value_parser = ["simulator", "exchange"])]
    pub expect_price_source: Option<String>,
    /// The trading mode must be this; without it, a mode other than `active` is only a
    /// warning.
    #[arg(long, value_name = "MODE", conflicts_with = "live", value_parser = TRADING_MODES)]
    pub expect_trading: Option<String>,
    /// The last good quote may be at most this old (seconds) while positions are open.
    #[arg(long, value_name = "SECS", default_value = "10", conflicts_with = "live", value_parser = parse_age)]
    pub max_feed_age: f64,
    /// This folder must exist and be writable (checked here, on this machine).
    #[arg(long, value_name = "PATH", conflicts_with = "live")]
    pub data_dir: Option<PathBuf>,
    /// At most this many open positions.
    #[arg(long, value_name = "N", conflicts_with = "live")]
    pub max_open: Option<u64>,
    /// The read-only pre-open checklist against Bitget instead, with the server's
    /// settings: clock skew, the key's account UID and permissions, account and
    /// position mode, equity and balance, then the server's reconciliation state. Sends
    /// only GET requests: never switches, places or cancels anything.
    #[arg(long)]
    pub live: bool,
    /// With --live: the server must answer (otherwise a server that does not answer is
    /// only a warning, as before its first start).
    #[arg(long, requires = "live")]
    pub expect_running: bool,
    /// With --live: the settings' profile, reads config/<PROFILE>.toml, as loms-server
    /// --profile. Env: LOMS_PROFILE.
    #[arg(long, requires = "live")]
    pub profile: Option<String>,
    /// With --live: the folder of the profile files (default: config).
    #[arg(long, value_name = "DIR", requires = "live")]
    pub config_dir: Option<PathBuf>,
    /// With --live: the .env file to read (default: .env).
    #[arg(long, value_name = "FILE", requires = "live")]
    pub env_file: Option<PathBuf>,
    /// With --live: override a setting as loms-server --set does (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "live",
          value_parser = loms_config::parse_override)]
    pub set: Vec<(String, String)>,
}

/// Clap parser for `--max-feed-age`: seconds, 0 or more (fractions allowed).
fn parse_age(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("`{s}` is not a number of seconds, 0 or more"))
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Passed.
    Pass,
    /// Passed, but worth a look (does not change the exit code).
    Warn,
    /// Failed.
    Fail,
}

impl Mark {
    fn from_ok(ok: bool) -> Self {
        if ok { Self::Pass } else { Self::Fail }
    }
    fn label(self) -> &'static str {
        match self {
            Self::Pass => "[ OK ]",
            Self::Warn => "[WARN]",
            Self::Fail => "[FAIL]",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone)]
struct Check {
    /// Short name, also the JSON `name`.
    name: String,
    /// Pass, warn or fail.
    mark: Mark,
    /// What was seen (and expected).
    detail: String,
    /// Extra `key=value` figures shown after the detail in the text report.
    extras: String,
}

impl Check {
    fn new(name: &str, mark: Mark, detail: impl Into<String>) -> Self {
        Self {
            name: show::clean(name),
            mark,
            detail: detail.into(),
            extras: String::new(),
        }
    }
}

/// Fetch `/health` (with `--live`: run the venue checklist), print the checklist (or its
/// JSON) to `out`, problems to `err`; returns the exit code. Write errors on `out` are
/// ignored: the exit code tells.
pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if args.live {
        return live::run(args, out, err);
    }
    let url = args.url.as_deref().unwrap_or(DEFAULT_URL);
    let endpoint = format!("{url}/health");
    let fail = |err: &mut dyn Write, msg: String| {
        let _ = writeln!(err, "{msg}");
        EXIT_UNREACHABLE
    };
    let client = Client::new(url).with_timeout(args.timeout);
    let answer = match client.fetch(Method::Get, "/health", &[], None) {
        Ok(answer) => answer,
        Err(e) => return fail(err, show::failure(TOOL, url, &e)),
    };
    let health = match show::parse_json(&endpoint, &answer) {
        Ok(health) => health,
        Err(msg) => return fail(err, format!("{TOOL}: {msg}")),
    };
    let (label, _) = match verdict(&health) {
        Ok(verdict) => verdict,
        Err(why) => {
            let msg = format!(
                "{TOOL}: the answer of {endpoint} (HTTP {}) is not a LOMS health report ({why}): {}",
                answer.status,
                show::snippet(&answer.body)
            );
            return fail(err, msg);
        }
    };
    let checks = checklist(args, &health, answer.status);
    let failing = checks.iter().any(|c| c.mark == Mark::Fail);
    if args.json {
        let _ = out.write_all(show::pretty(&as_json(&checks, &health)).as_bytes());
    } else {
        let _ = out.write_all(report(url, &health, &label, &checks).as_bytes());
    }
    if failing { EXIT_DEGRADED } else { EXIT_OK }
}

/// The header label and exit code, or why the JSON is not a health report.
fn verdict(health: &Value) -> Result<(String, u8), String> {
    let obj = health.as_object().ok_or("not a JSON object")?;
    let status = match obj.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(show::clean(s)),
        Some(_) => return Err("`status` is not a string".to_owned()),
    };
    let ok = match obj.get("ok") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err("`ok` is not true or false".to_owned()),
    };
    Ok(match (status.as_deref(), ok) {
        (None, None) => return Err("neither `status` nor `ok`".to_owned()),
        (Some("ok"), None | Some(true)) | (None, Some(true)) => ("OK".to_owned(), EXIT_OK),
        (Some(s), _) if s != "ok" && !s.trim().is_empty() => {
            (s.trim().to_uppercase(), EXIT_DEGRADED)
        }
        _ => ("NOT OK".to_owned(), EXIT_DEGRADED),
    })
}

/// Every check, in display order.
fn checklist(args: &Args, health: &Value, http_status: u16) -> Vec<Check> {
    let server_checks = health.get("checks").and_then(Value::as_object);
    let server_check = |name: &str| server_checks.and_then(|c| c.get(name));
    let open = health.get("open_positions").and_then(Value::as_u64);

    let mut checks = vec![Check::new(
        "server",
        Mark::Pass,
        format!("answered HTTP {http_status}"),
    )];
    checks.push(status_check(health));
    for name in ["database", "audit_log"] {
        checks.push(server_side(name, server_check(name)));
    }
    if let Some(dir) = &args.data_dir {
        checks.push(data_dir_check(dir));
    }
    checks.push(price_feed_check(
        server_check("price_feed"),
        open,
        args.max_feed_age,
    ));
    let mut loop_check = server_side("auto_close_loop", server_check("auto_close_loop"));
    loop_check.extras = extras(server_check("auto_close_loop"), &["last_pass_age_s"]);
    checks.push(loop_check);
    let mut others: Vec<(&String, &Value)> = server_checks
        .map(|c| {
            c.iter()
                .filter(|(name, _)| !SERVER_CHECKS.contains(&name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    others.sort_by(|a, b| a.0.cmp(b.0));
    for (name, check) in others {
        checks.push(server_side(name, Some(check)));
    }
    if let Some(want) = &args.expect_env {
        let got = health.get("environment");
        let ok = got
            .and_then(Value::as_str)
            .is_some_and(|g| g.trim().eq_ignore_ascii_case(want.trim()));
        checks.push(expectation("environment", got, want, ok, "--expect-env"));
    }
    for (name, want, flag) in [
        ("broker_mode", &args.expect_broker, "--expect-broker"),
        (
            "price_source",
            &args.expect_price_source,
            "--expect-price-source",
        ),
    ] {
        if let Some(want) = want {
            let got = health.get(name);
            let ok = got.and_then(Value::as_str) == Some(want.as_str());
            checks.push(expectation(name, got, want, ok, flag));
        }
    }
    checks.push(trading_check(
        health.get("trading"),
        args.expect_trading.as_deref(),
    ));
    checks.push(open_check(health.get("open_positions"), args.max_open));
    checks
}

/// `status`: the server's own verdict over its checks.
fn status_check(health: &Value) -> Check {
    let status = health.get("status").and_then(Value::as_str);
    let ok = health.get("ok").and_then(Value::as_bool);
    let pass = matches!(
        (status, ok),
        (Some("ok"), None | Some(true)) | (None, Some(true))
    );
    let detail = match (status, ok) {
        (Some("ok"), Some(false)) => "ok, but ok=false".to_owned(),
        (Some(s), _) if !s.trim().is_empty() => show::clean(s),
        (_, Some(b)) => format!("ok={b}"),
        _ => "-".to_owned(),
    };
    Check::new("status", Mark::from_ok(pass), detail)
}

/// A check judged by the server's own `ok`.
fn server_side(name: &str, check: Option<&Value>) -> Check {
    match check {
        None | Some(Value::Null) => Check::new(name, Mark::Fail, "not reported by the server"),
        Some(c) => {
            let ok = c.get("ok").and_then(Value::as_bool) == Some(true);
            let warning = c.get("warning").and_then(Value::as_bool) == Some(true);
            let mark = if ok && warning {
                Mark::Warn
            } else {
                Mark::from_ok(ok)
            };
            Check::new(name, mark, show::text(c.get("detail")))
        }
    }
}

/// `price_feed`: fresh when the last good quote is at most `max_age` seconds old, or,
/// with no open position, when the server says so (it needs no quote then).
fn price_feed_check(check: Option<&Value>, open: Option<u64>, max_age: f64) -> Check {
    let Some(c) = check.filter(|c| !c.is_null()) else {
        return Check::new("price_feed", Mark::Fail, "not reported by the server");
    };
    let server_ok = c.get("ok").and_then(Value::as_bool) == Some(true);
    let age = c.get("last_success_age_s").and_then(show::as_f64);
    let fresh = age.is_some_and(|a| a <= max_age);
    let idle = open == Some(0) && server_ok;
    let mut detail = show::text(c.get("detail"));
    let ok = fresh || idle;
    if ok && !server_ok {
        detail.push_str(&format!(" (within --max-feed-age {max_age} s)"));
    } else if !ok && server_ok {
        let why = match (age, open) {
            (Some(a), _) => format!("{a:.1} s old, over --max-feed-age {max_age} s"),
            (None, Some(n)) => format!("no quote yet with {n} open positions"),
            (None, None) => "no quote yet, open positions unknown".to_owned(),
        };
        detail = if detail == "-" {
            why
        } else {
            format!("{detail} ({why})")
        };
    }
    let mut line = Check::new("price_feed", Mark::from_ok(ok), detail);
    line.extras = extras(Some(c), &["last_success_age_s", "last_error"]);
    line
}

/// `data_dir`: the folder exists, is a folder and a file can be created in it.
fn data_dir_check(dir: &Path) -> Check {
    let shown = show::clean(&dir.display().to_string());
    let fail = |why: String| Check::new("data_dir", Mark::Fail, why);
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fail(format!("{shown} is missing")),
        Err(e) => fail(format!("{shown}: {e}")),
        Ok(meta) if !meta.is_dir() => fail(format!("{shown} is not a folder")),
        Ok(_) => {
            let probe = dir.join(format!(".loms-health-probe-{}", std::process::id()));
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe);
            match written {
                Ok(file) => {
                    drop(file);
                    let _ = std::fs::remove_file(&probe);
                    Check::new("data_dir", Mark::Pass, format!("{shown} exists, writable"))
                }
                Err(e) => fail(format!("{shown} is not writable ({e})")),
            }
        }
    }
}

/// A setting that must equal what the operator expects.
fn expectation(name: &str, got: Option<&Value>, want: &str, ok: bool, flag: &str) -> Check {
    let got = show::text(got);
    let detail = if ok {
        got
    } else {
        format!("{got}, expected {} ({flag})", show::clean(want))
    };
    Check::new(name, Mark::from_ok(ok), detail)
}

/// `trading`: `active` passes; another mode warns, unless `--expect-trading` says which
/// mode it must be.
fn trading_check(trading: Option<&Value>, expected: Option<&str>) -> Check {
    let mode = trading.and_then(|t| t.get("mode")).and_then(Value::as_str);
    let Some(mode) = mode else {
        let mark = if expected.is_some() {
            Mark::Fail
        } else {
            Mark::Warn
        };
        let mut detail = "not reported by the server".to_owned();
        if let Some(want) = expected {
            detail.push_str(&format!(", expected {want} (--expect-trading)"));
        }
        return Check::new("trading", mark, detail);
    };
    let t = trading.unwrap_or(&Value::Null);
    let mut detail = format!(
        "{} since {} (set by {})",
        show::clean(mode),
        show::text(t.get("since")),
        show::text(t.get("set_by"))
    );
    let meaning = match mode {
        "entries_off" => ": signals open nothing, exits go on",
        "reduce_only" => ": nothing may open, exits go on",
        "flatten" => ": closing everything, then nothing opens",
        _ => "",
    };
    detail.push_str(meaning);
    let mark = match expected {
        Some(want) if want == mode => Mark::Pass,
        Some(want) => {
            detail.push_str(&format!("; expected {want} (--expect-trading)"));
            Mark::Fail
        }
        None if mode == "active" => Mark::Pass,
        None => Mark::Warn,
    };
    Check::new("trading", mark, detail)
}

/// `open_positions`: the count; fails above `--max-open`.
fn open_check(open: Option<&Value>, max: Option<u64>) -> Check {
    let count = open.and_then(Value::as_u64);
    match (count, max) {
        (Some(n), Some(m)) if n > m => Check::new(
            "open_positions",
            Mark::Fail,
            format!("{n}, more than --max-open {m}"),
        ),
        (Some(n), Some(m)) => Check::new("open_positions", Mark::Pass, format!("{n} (max {m})")),
        (Some(n), None) => Check::new("open_positions", Mark::Pass, n.to_string()),
        (None, max) => {
            let mark = if max.is_some() {
                Mark::Fail
            } else {
                Mark::Warn
            };
            let detail = match open {
                None => "unknown: not reported by the server".to_owned(),
                Some(Value::Null) => "unknown: the server could not count them".to_owned(),
                Some(other) => format!("unknown: {}", show::text(Some(other))),
            };
            Check::new("open_positions", mark, detail)
        }
    }
}

/// The readable report: header, settings, checklist, summary.
fn report(url: &str, health: &Value, label: &str, checks: &[Check]) -> String {
    let field = |key: &str| show::text(health.get(key));
    let mut lines = vec![format!(
        "{label}  {} {}  env={}  up {}",
        field("service"),
        field("version"),
        field("environment"),
        uptime(health.get("uptime_s"))
    )];
    lines.push(format!("  {:<15} {url}", "url"));
    for key in SETTINGS {
        lines.push(format!("  {key:<15} {}", field(key)));
    }
    lines.extend(check_lines(checks));
    lines.push(String::new());
    lines.join("\n")
}

/// `checks` heading, one line per check, then a summary line.
fn check_lines(checks: &[Check]) -> Vec<String> {
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = vec!["checks".to_owned()];
    for c in checks {
        lines.push(format!(
            "  {} {:<width$}  {}{}",
            c.mark.label(),
            c.name,
            c.detail,
            c.extras
        ));
    }
    let named = |mark: Mark| -> Vec<&str> {
        checks
            .iter()
            .filter(|c| c.mark == mark)
            .map(|c| c.name.as_str())
            .collect()
    };
    let (failing, warnings) = (named(Mark::Fail), named(Mark::Warn));
    let mut summary = if failing.is_empty() {
        format!("all {} checks pass", checks.len())
    } else {
        format!(
            "{} of {} checks failing: {}",
            failing.len(),
            checks.len(),
            failing.join(", ")
        )
    };
    match warnings.len() {
        0 => {}
        1 => summary.push_str(&format!("; 1 warning: {}", warnings[0])),
        n => summary.push_str(&format!("; {n} warnings: {}", warnings.join(", "))),
    }
    lines.push(summary);
    lines
}

/// The checklist as JSON: overall `ok`, failing and warning names, every check, and the
/// raw /health under `health`.
fn as_json(checks: &[Check], health: &Value) -> Value {
    let names = |mark: Mark| -> Vec<&str> {
        checks
            .iter()
            .filter(|c| c.mark == mark)
            .map(|c| c.name.as_str())
            .collect()
    };
    let list: Vec<Value> = checks
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "ok": c.mark != Mark::Fail,
                "warning": c.mark == Mark::Warn,
                "detail": c.detail,
            })
        })
        .collect();
    json!({
        "ok": checks.iter().all(|c| c.mark != Mark::Fail),
        "failing": names(Mark::Fail),
        "warnings": names(Mark::Warn),
        "checks": list,
        "health": health,
    })
}

/// `  key=value` for each extra field of a server check.
fn extras(check: Option<&Value>, keys: &[&str]) -> String {
    let Some(c) = check else {
        return String::new();
    };
    keys.iter()
        .map(|key| format!("  {key}={}", extra(c.get(*key))))
        .collect()
}

/// A check's extra field: ages with one decimal, strings quoted, null as `-`.
fn extra(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => Value::String(show::clean(s)).to_string(),
        other => show::num(other, 1),
    }
}

/// `uptime_s` as `42s`, `5m 3s`, `3h 12m` or `2d 4h`; `-` when absent or not a number.
fn uptime(v: Option<&Value>) -> String {
    let Some(secs) = v.and_then(show::as_f64).filter(|s| *s >= 0.0) else {
        return "-".to_owned();
    };
    let s = secs as u64;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uptime_is_human() {
        let up = |v: Value| uptime(Some(&v));
        assert_eq!(up(json!(11520)), "3h 12m");
        assert_eq!(up(json!(42)), "42s");
        assert_eq!(up(json!(303.9)), "5m 3s");
        assert_eq!(up(json!(2 * 86_400 + 4 * 3600 + 59)), "2d 4h");
        assert_eq!(up(json!(-1)), "-");
        assert_eq!(up(json!("soon")), "-");
        assert_eq!(up(json!(1e300)), "213503982334601d 7h");
        assert_eq!(uptime(None), "-");
    }

    #[test]
    fn verdict_reads_status_and_ok() {
        let v = |j: Value| verdict(&j);
        assert_eq!(v(json!({"status": "ok", "ok": true})), Ok(("OK".into(), 0)));
        assert_eq!(v(json!({"status": "ok"})), Ok(("OK".into(), 0)));
        assert_eq!(v(json!({"ok": true})), Ok(("OK".into(), 0)));
        assert_eq!(v(json!({"status": "degraded"})), Ok(("DEGRADED".into(), 1)));
        assert_eq!(
            v(json!({"status": "ok", "ok": false})),
            Ok(("NOT OK".into(), 1))
        );
        assert_eq!(v(json!({"ok": false})), Ok(("NOT OK".into(), 1)));
        assert_eq!(v(json!({"status": ""})), Ok(("NOT OK".into(), 1)));
        assert!(v(json!({"status": 3})).is_err());
        assert!(v(json!({"ok": "yes"})).is_err());
        assert!(v(json!({"error": "not_found"})).is_err());
        assert!(v(json!([1, 2])).is_err());
    }

    #[test]
    fn a_server_check_that_passes_with_a_warning_is_a_warning() {
        let c = |j: Value| server_side("stored_data", Some(&j)).mark;
        assert!(c(json!({"ok": true, "warning": true, "detail": "x"})) == Mark::Warn);
        assert!(c(json!({"ok": true, "detail": "x"})) == Mark::Pass);
        assert!(c(json!({"ok": false, "warning": true, "detail": "x"})) == Mark::Fail);
    }

    #[test]
    fn extras_format() {
        assert_eq!(extra(Some(&json!(12))), "12.0");
        assert_eq!(extra(Some(&json!(null))), "-");
        assert_eq!(extra(None), "-");
        assert_eq!(extra(Some(&json!("a \"b\"\nc"))), r#""a \"b\" c""#);
    }
}
