//! `loms-health`: the LOMS `/health` answer as a compact checklist for operators.
//!
//! Exit codes: [`EXIT_OK`] when the server says `ok`, [`EXIT_DEGRADED`] for `degraded`
//! (or any other status), [`EXIT_UNREACHABLE`] when the server cannot be reached or its
//! answer is not a health report, [`EXIT_USAGE`] for bad arguments (see `main.rs`).

use clap::Parser;
use serde_json::{Map, Value};
use std::io::Write;
use std::time::Duration;

mod http;

/// Exit code: status `ok`.
pub const EXIT_OK: u8 = 0;
/// Exit code: status `degraded`, any other status, or `ok: false`.
pub const EXIT_DEGRADED: u8 = 1;
/// Exit code: unreachable, timed out, or an answer that is not a LOMS health report.
pub const EXIT_UNREACHABLE: u8 = 2;
/// Exit code: bad command-line arguments (EX_USAGE).
pub const EXIT_USAGE: u8 = 64;

const TOOL: &str = "loms-health";

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

/// The checks LOMS reports, in display order; others follow alphabetically.
const KNOWN_CHECKS: [&str; 4] = ["database", "audit_log", "price_feed", "auto_close_loop"];

/// Command-line arguments of `loms-health`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loms-health",
    version,
    about = "Check a running LOMS: GET /health, print a readable checklist.",
    after_help = "Exit codes: 0 ok, 1 degraded (or any other status), \
                  2 unreachable or not a health report, 64 bad arguments."
)]
pub struct Args {
    /// LOMS base URL.
    #[arg(long, env = "LOMS_URL", default_value = "http://127.0.0.1:8000", value_parser = http::parse_url)]
    pub url: String,
    /// Print the raw /health JSON, pretty-printed (same exit codes).
    #[arg(long)]
    pub json: bool,
    /// Give up after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = http::parse_timeout)]
    pub timeout: Duration,
}

/// Fetch `/health`, print the report (or the JSON) to `out`, problems to `err`; returns
/// the exit code. Write errors on `out` are ignored: the exit code tells the health.
pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let endpoint = format!("{}/health", args.url);
    let fail = |err: &mut dyn Write, msg: String| {
        let _ = writeln!(err, "{msg}");
        EXIT_UNREACHABLE
    };
    let answer = match http::get(&args.url, "/health", &[], args.timeout) {
        Ok(answer) => answer,
        Err(failure) => return fail(err, failure.message(TOOL, &args.url)),
    };
    let health = match http::parse_json(&endpoint, &answer) {
        Ok(health) => health,
        Err(msg) => return fail(err, format!("{TOOL}: {msg}")),
    };
    if args.json {
        let _ = out.write_all(http::pretty(&health).as_bytes());
    }
    let (label, code) = match verdict(&health) {
        Ok(verdict) => verdict,
        Err(why) => {
            let msg = format!(
                "{TOOL}: the answer of {endpoint} (HTTP {}) is not a LOMS health report ({why}): {}",
                answer.status,
                http::snippet(&answer.body)
            );
            return fail(err, msg);
        }
    };
    if !args.json {
        let _ = out.write_all(report(&args.url, &health, &label).as_bytes());
    }
    code
}

/// The header label and exit code, or why the JSON is not a health report.
fn verdict(health: &Value) -> Result<(String, u8), String> {
    let obj = health.as_object().ok_or("not a JSON object")?;
    let status = match obj.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(http::clean(s)),
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

/// The readable report: header, settings, checks, summary.
fn report(url: &str, health: &Value, label: &str) -> String {
    let field = |key: &str| http::text(health.get(key));
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
    match health.get("checks").and_then(Value::as_object) {
        Some(checks) if !checks.is_empty() => lines.extend(check_lines(checks)),
        _ => lines.push("checks: none reported".to_owned()),
    }
    lines.push(String::new());
    lines.join("\n")
}

/// `checks` heading, one line per check, then a summary line.
fn check_lines(checks: &Map<String, Value>) -> Vec<String> {
    let mut names: Vec<&String> = checks.keys().collect();
    let rank = |n: &str| {
        KNOWN_CHECKS
            .iter()
            .position(|k| *k == n)
            .unwrap_or(usize::MAX)
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut failing = Vec::new();
    let mut lines = vec!["checks".to_owned()];
    for name in &names {
        let check = &checks[name.as_str()];
        let ok = check.get("ok").and_then(Value::as_bool) == Some(true);
        if !ok {
            failing.push(http::clean(name));
        }
        let mut line = format!(
            "  {} {:<width$}  {}",
            if ok { "[ OK ]" } else { "[FAIL]" },
            http::clean(name),
            http::text(check.get("detail"))
        );
        let extras: &[&str] = match name.as_str() {
            "price_feed" => &["last_success_age_s", "last_error"],
            "auto_close_loop" => &["last_pass_age_s"],
            _ => &[],
        };
        for key in extras {
            line.push_str(&format!("  {key}={}", extra(check.get(*key))));
        }
        lines.push(line);
    }
    lines.push(if failing.is_empty() {
        format!("all {} checks pass", names.len())
    } else {
        format!(
            "{} of {} checks failing: {}",
            failing.len(),
            names.len(),
            failing.join(", ")
        )
    });
    lines
}

/// A check's extra field: ages with one decimal, strings quoted, null as `-`.
fn extra(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => Value::String(http::clean(s)).to_string(),
        other => http::num(other, 1),
    }
}

/// `uptime_s` as `42s`, `5m 3s`, `3h 12m` or `2d 4h`; `-` when absent or not a number.
fn uptime(v: Option<&Value>) -> String {
    let Some(secs) = v.and_then(http::as_f64).filter(|s| *s >= 0.0) else {
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
    fn loopback_hosts_bypass_env_proxies() {
        for url in [
            "http://127.0.0.1:8000",
            "http://LOCALHOST",
            "http://[::1]:8000/x",
        ] {
            assert!(http::is_loopback(url), "{url}");
        }
        for url in ["http://10.0.0.1:8000", "https://loms.example", "not a url"] {
            assert!(!http::is_loopback(url), "{url}");
        }
    }

    #[test]
    fn extras_format() {
        assert_eq!(extra(Some(&json!(12))), "12.0");
        assert_eq!(extra(Some(&json!(null))), "-");
        assert_eq!(extra(None), "-");
        assert_eq!(extra(Some(&json!("a \"b\"\nc"))), r#""a \"b\" c""#);
    }
}
