//! loms-health against a fake LOMS: report text, --json, exit codes, failures.

use clap::Parser;
use loms_health::{Args, run};
use loms_test_server::{dead_url, hang, serve};
use std::process::Command;

const DEGRADED: &str = r#"{"ok": false, "service": "CryptoNakCore LOMS", "status": "degraded",
 "version": "0.1.0", "environment": "dev", "broker_mode": "paper", "oms_enabled": true,
 "database_url": "sqlite:///./data/loms_dev.db", "audit_log_path": "./logs/signals_audit.jsonl",
 "price_source": "simulator", "price_mode": "last", "price_exchange": "dummy",
 "exit_strategy": "tp_sl_static", "uptime_s": 11520, "open_positions": 3,
 "checks": {
   "database": {"ok": true, "detail": "sqlite reachable, schema v1"},
   "audit_log": {"ok": true, "detail": "writable"},
   "price_feed": {"ok": false, "detail": "no successful quote for 12.0 s", "last_success_age_s": 12.0, "last_error": "simulator: unknown symbol"},
   "auto_close_loop": {"ok": true, "detail": "last pass 0.4 s ago", "last_pass_age_s": 0.4}
 }}"#;

/// Run the CLI in-process against `url`: (exit code, stdout, stderr).
fn health(url: &str, flags: &[&str]) -> (u8, String, String) {
    let argv = ["loms-health", "--url", url]
        .into_iter()
        .chain(flags.iter().copied());
    let args = Args::try_parse_from(argv).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn degraded_report_is_aligned_and_exits_1() {
    let (url, server) = serve("200 OK", DEGRADED);
    let (code, out, err) = health(&url, &[]);
    assert_eq!(server.join().unwrap(), "GET /health HTTP/1.1");
    assert_eq!((code, err.as_str()), (1, ""));
    let expected = format!(
        "\
DEGRADED  CryptoNakCore LOMS 0.1.0  env=dev  up 3h 12m
  url             {url}
  broker_mode     paper
  oms_enabled     true
  price_source    simulator
  price_mode      last
  price_exchange  dummy
  exit_strategy   tp_sl_static
  open_positions  3
  database_url    sqlite:///./data/loms_dev.db
  audit_log_path  ./logs/signals_audit.jsonl
checks
  [ OK ] server           answered HTTP 200
  [FAIL] status           degraded
  [ OK ] database         sqlite reachable, schema v1
  [ OK ] audit_log        writable
  [FAIL] price_feed       no successful quote for 12.0 s  last_success_age_s=12.0  last_error=\"simulator: unknown symbol\"
  [ OK ] auto_close_loop  last pass 0.4 s ago  last_pass_age_s=0.4
  [WARN] trading          not reported by the server
  [ OK ] open_positions   3
2 of 8 checks failing: status, price_feed; 1 warning: trading
"
    );
    assert_eq!(out, expected);
}

#[test]
fn ok_report_exits_0() {
    let body = DEGRADED
        .replace(r#""status": "degraded""#, r#""status": "ok""#)
        .replace(r#""ok": false, "service""#, r#""ok": true, "service""#)
        .replace(
            r#""ok": false, "detail": "no"#,
            r#""ok": true, "detail": "no"#,
        )
        // Fresh enough for the default --max-feed-age 10 with 3 open positions.
        .replace(
            r#""last_success_age_s": 12.0"#,
            r#""last_success_age_s": 1.2"#,
        );
    let (url, _server) = serve("200 OK", &body);
    let (code, out, err) = health(&url, &[]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(
        out.starts_with("OK  CryptoNakCore LOMS 0.1.0  env=dev  up 3h 12m\n"),
        "{out}"
    );
    assert!(out.contains("  [ OK ] price_feed  "), "{out}");
    // A server without the kill-switch state warns, and a warning does not fail.
    assert!(
        out.ends_with("all 8 checks pass; 1 warning: trading\n"),
        "{out}"
    );
}

#[test]
fn missing_and_null_fields_show_dash_and_extras_are_tolerated() {
    // Missing server checks fail the checklist; unknown ones are judged by their `ok`.
    let body = r#"{"status": "ok", "future_field": {"x": [1, 2]},
        "checks": {"zeta": {"ok": true, "detail": "new check", "more": 1},
                   "price_feed": {"ok": true, "last_success_age_s": null, "last_error": null},
                   "auto_close_loop": {"ok": true, "detail": "fine", "last_pass_age_s": null}}}"#;
    let (url, _server) = serve("200 OK", body);
    let (code, out, _) = health(&url, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("OK  - -  env=-  up -\n"), "{out}");
    assert!(out.contains("\n  broker_mode     -\n"), "{out}");
    assert!(out.contains("\n  open_positions  -\n"), "{out}");
    let checks: Vec<&str> = out.lines().skip_while(|l| *l != "checks").collect();
    assert_eq!(
        checks,
        [
            "checks",
            "  [ OK ] server           answered HTTP 200",
            "  [ OK ] status           ok",
            "  [FAIL] database         not reported by the server",
            "  [FAIL] audit_log        not reported by the server",
            "  [FAIL] price_feed       no quote yet, open positions unknown  \
             last_success_age_s=-  last_error=-",
            "  [ OK ] auto_close_loop  fine  last_pass_age_s=-",
            "  [ OK ] zeta             new check",
            "  [WARN] trading          not reported by the server",
            "  [WARN] open_positions   unknown: not reported by the server",
            "3 of 9 checks failing: database, audit_log, price_feed; \
             2 warnings: trading, open_positions",
        ]
    );
}

#[test]
fn other_status_or_ok_false_exits_1() {
    for (body, header) in [
        (r#"{"status": "maintenance", "ok": false}"#, "MAINTENANCE  "),
        (r#"{"status": "ok", "ok": false}"#, "NOT OK  "),
    ] {
        let (url, _server) = serve("200 OK", body);
        let (code, out, _) = health(&url, &[]);
        assert_eq!(code, 1, "{body}");
        assert!(out.starts_with(header), "{out}");
        assert!(out.contains("\n  [FAIL] status  "), "{out}");
        assert!(
            out.contains("\n  [FAIL] database         not reported by the server\n"),
            "{out}"
        );
    }
}

#[test]
fn json_flag_prints_pretty_json_with_the_same_exit_code() {
    let (url, _server) = serve("200 OK", DEGRADED);
    let (code, out, err) = health(&url, &["--json"]);
    assert_eq!((code, err.as_str()), (1, ""));
    assert!(out.starts_with("{\n  \""), "{out}");
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let original: serde_json::Value = serde_json::from_str(DEGRADED).unwrap();
    assert_eq!(parsed["health"], original);
    assert_eq!(parsed["ok"], false);
    assert_eq!(
        parsed["failing"],
        serde_json::json!(["status", "price_feed"])
    );
    assert_eq!(parsed["warnings"], serde_json::json!(["trading"]));
    assert_eq!(
        parsed["checks"][4],
        serde_json::json!({"name": "price_feed", "ok": false, "warning": false,
                           "detail": "no successful quote for 12.0 s"})
    );
}

#[test]
fn invalid_json_exits_2_and_says_so() {
    let (url, _server) = serve("200 OK", "<html>gateway</html>");
    let (code, out, err) = health(&url, &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.starts_with("loms-health: the answer of "), "{err}");
    assert!(
        err.contains("/health (HTTP 200) is not valid JSON"),
        "{err}"
    );
    assert!(err.contains("<html>gateway</html>"), "{err}");
}

#[test]
fn wrong_shape_exits_2_and_says_so() {
    for body in [
        r#"{"error": "not_found"}"#,
        "[1, 2]",
        r#"{"status": 7}"#,
        "null",
    ] {
        let (url, _server) = serve("404 Not Found", body);
        let (code, out, err) = health(&url, &[]);
        assert_eq!((code, out.as_str()), (2, ""), "{body}");
        assert!(
            err.contains("(HTTP 404) is not a LOMS health report ("),
            "{err}"
        );
    }
}

#[test]
fn unreachable_exits_2_with_a_hint() {
    let url = dead_url();
    let (code, out, err) = health(&url, &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "loms-health: cannot reach LOMS at {url} (connection refused). Is the server \
             running? Start it with: cargo run --release --bin loms-server\n"
        )
    );
}

#[test]
fn timeout_exits_2() {
    let (url, server) = hang();
    let (code, _, err) = health(&url, &["--timeout", "0.3"]);
    assert_eq!(code, 2);
    assert!(err.contains("(no answer within 0.3s)"), "{err}");
    assert!(err.contains("--timeout"), "{err}");
    assert_eq!(server.join().unwrap(), "GET /health HTTP/1.1");
}

#[test]
fn bad_arguments_are_rejected() {
    for argv in [
        &["loms-health", "--timeout", "0"][..],
        &["loms-health", "--timeout", "-1"],
        &["loms-health", "--timeout", "soon"],
        &["loms-health", "--timeout", "1e9"],
        &["loms-health", "--url", "localhost:8000"],
        &["loms-health", "--url", "ftp://host"],
        &["loms-health", "--url", ""],
        &["loms-health", "--bogus"],
    ] {
        assert!(Args::try_parse_from(argv).is_err(), "{argv:?}");
    }
    let args = Args::try_parse_from(["loms-health", "--url", "http://h:1/", "--timeout", "1.5"]);
    let args = args.unwrap();
    assert_eq!(
        (args.url.as_deref(), args.timeout.as_millis()),
        (Some("http://h:1"), 1500)
    );
}

#[test]
fn binary_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_loms-health");
    let usage = Command::new(bin).args(["--timeout", "x"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--timeout"));
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit codes: 0 ok"));
    let down = Command::new(bin)
        .args(["--url", &dead_url()])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&down.stderr).contains("cannot reach LOMS"));
}
