//! The pre-open checklist against a fake LOMS: every check passing exits 0, each failing
//! check exits 1 with its own `[FAIL]` line, warnings do not fail.

use clap::Parser;
use loms_health::{Args, run};
use loms_test_server::serve;
use serde_json::{Value, json};

/// A healthy server as LOMS answers today (with the kill-switch state).
fn healthy() -> Value {
    json!({
        "ok": true, "service": "CryptoNakCore LOMS", "status": "ok", "version": "0.1.0",
        "environment": "prod", "broker_mode": "paper", "oms_enabled": true,
        "trading": {"mode": "active", "since": "2025-12-01T08:00:00Z", "set_by": "config"},
        "database_url": "sqlite:///./data/loms.db", "audit_log_path": "./logs/audit.jsonl",
        "price_source": "exchange", "price_mode": "last", "price_exchange": "bybit",
        "exit_strategy": "tp_sl_static", "uptime_s": 3600, "open_positions": 2,
        "checks": {
            "database": {"ok": true, "detail": "sqlite reachable, schema v3"},
            "audit_log": {"ok": true, "detail": "writable"},
            "price_feed": {"ok": true, "detail": "last quote 1.5 s ago",
                           "last_success_age_s": 1.5, "last_error": null, "errors_total": 0},
            "auto_close_loop": {"ok": true, "detail": "last pass 0.8 s ago",
                                "last_pass_age_s": 0.8, "last_pass_ms": 3.2}
        }
    })
}

/// `healthy()` with the JSON pointer `at` set to `to`; a failing server check also makes
/// the server `degraded`, as LOMS does.
fn with(at: &str, to: Value) -> Value {
    let mut h = healthy();
    *h.pointer_mut(at).unwrap() = to;
    let checks = h["checks"].as_object().unwrap();
    if checks.values().any(|c| c["ok"] != true) {
        h["ok"] = json!(false);
        h["status"] = json!("degraded");
    }
    h
}

/// Every expectation flag, all matching `healthy()`; `data_dir` must exist.
fn strict(data_dir: &str) -> Vec<String> {
    [
        "--expect-env",
        "prod",
        "--expect-broker",
        "paper",
        "--expect-price-source",
        "exchange",
        "--expect-trading",
        "active",
        "--max-feed-age",
        "10",
        "--max-open",
        "5",
        "--data-dir",
        data_dir,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Run the CLI in-process against a fake server answering `health`: (exit code, stdout).
fn check(health: &Value, flags: &[String]) -> (u8, String) {
    let (url, server) = serve("200 OK", &health.to_string());
    let argv = ["loms-health".to_owned(), "--url".to_owned(), url]
        .into_iter()
        .chain(flags.iter().cloned());
    let args = Args::try_parse_from(argv).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&args, &mut out, &mut err);
    assert_eq!(server.join().unwrap(), "GET /health HTTP/1.1");
    assert_eq!(String::from_utf8(err).unwrap(), "");
    (code, String::from_utf8(out).unwrap())
}

/// The checklist part of the report (from the `checks` heading).
fn checks(out: &str) -> Vec<&str> {
    out.lines().skip_while(|l| *l != "checks").collect()
}

/// Exit 1, `line` among the checks, and the summary naming exactly `failing`.
fn assert_fails(health: &Value, flags: &[String], line: &str, failing: &[&str]) {
    let (code, out) = check(health, flags);
    assert_eq!(code, 1, "{out}");
    assert!(checks(&out).contains(&line), "{line:?} in\n{out}");
    let summary = *checks(&out).last().unwrap();
    let total = checks(&out).len() - 2;
    let expected = format!(
        "{} of {total} checks failing: {}",
        failing.len(),
        failing.join(", ")
    );
    // Warnings, if any, follow after `; `.
    let rest = summary.strip_prefix(&expected);
    assert!(
        rest.is_some_and(|r| r.is_empty() || r.starts_with("; ")),
        "{expected:?} in\n{out}"
    );
}

#[test]
fn everything_as_expected_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out) = check(&healthy(), &strict(d));
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK  CryptoNakCore LOMS 0.1.0  env=prod  up 1h 0m\n"));
    assert_eq!(
        checks(&out),
        [
            "checks".to_owned(),
            "  [ OK ] server           answered HTTP 200".to_owned(),
            "  [ OK ] status           ok".to_owned(),
            "  [ OK ] database         sqlite reachable, schema v3".to_owned(),
            "  [ OK ] audit_log        writable".to_owned(),
            format!("  [ OK ] data_dir         {d} exists, writable"),
            "  [ OK ] price_feed       last quote 1.5 s ago  last_success_age_s=1.5  last_error=-"
                .to_owned(),
            "  [ OK ] auto_close_loop  last pass 0.8 s ago  last_pass_age_s=0.8".to_owned(),
            "  [ OK ] environment      prod".to_owned(),
            "  [ OK ] broker_mode      paper".to_owned(),
            "  [ OK ] price_source     exchange".to_owned(),
            "  [ OK ] trading          active since 2025-12-01T08:00:00Z (set by config)"
                .to_owned(),
            "  [ OK ] open_positions   2 (max 5)".to_owned(),
            "all 12 checks pass".to_owned(),
        ]
    );
    // The probe file used to test writability is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn json_lists_every_check_and_the_raw_health() {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = strict(dir.path().to_str().unwrap());
    flags.push("--json".to_owned());
    let (code, out) = check(&healthy(), &flags);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["failing"], json!([]));
    assert_eq!(v["health"], healthy());
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "server",
            "status",
            "database",
            "audit_log",
            "data_dir",
            "price_feed",
            "auto_close_loop",
            "environment",
            "broker_mode",
            "price_source",
            "trading",
            "open_positions"
        ]
    );
    assert_eq!(
        v["checks"][7],
        json!({"name": "environment", "ok": true, "warning": false, "detail": "prod"})
    );
}

#[test]
fn environment_mismatch_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = strict(dir.path().to_str().unwrap());
    flags[1] = "staging".to_owned();
    let line = "  [FAIL] environment      prod, expected staging (--expect-env)";
    assert_fails(&healthy(), &flags, line, &["environment"]);
    // Case does not matter.
    flags[1] = "PROD".to_owned();
    assert_eq!(check(&healthy(), &flags).0, 0);
}

#[test]
fn broker_mismatch_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = strict(dir.path().to_str().unwrap());
    flags[3] = "live".to_owned();
    let line = "  [FAIL] broker_mode      paper, expected live (--expect-broker)";
    assert_fails(&healthy(), &flags, line, &["broker_mode"]);
}

#[test]
fn price_source_mismatch_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = strict(dir.path().to_str().unwrap());
    flags[5] = "simulator".to_owned();
    let line = "  [FAIL] price_source     exchange, expected simulator (--expect-price-source)";
    assert_fails(&healthy(), &flags, line, &["price_source"]);
}

#[test]
fn stale_feed_fails_even_when_the_server_still_accepts_it() {
    // The server's own limit is five auto-close intervals: with a 10 s interval a 12 s
    // old quote is still fine to it, not to the checklist's --max-feed-age 10.
    let stale = with(
        "/checks/price_feed",
        json!({"ok": true, "detail": "last quote 12.0 s ago", "last_success_age_s": 12.0,
               "last_error": "bybit: HTTP 503", "errors_total": 4}),
    );
    let line = "  [FAIL] price_feed       last quote 12.0 s ago (12.0 s old, over \
                --max-feed-age 10 s)  last_success_age_s=12.0  last_error=\"bybit: HTTP 503\"";
    assert_fails(&stale, &[], line, &["price_feed"]);
    // A looser limit accepts it.
    let flags = ["--max-feed-age".to_owned(), "15".to_owned()];
    assert_eq!(check(&stale, &flags).0, 0);
}

#[test]
fn stale_feed_reported_by_the_server_fails() {
    let stale = with(
        "/checks/price_feed",
        json!({"ok": false, "detail": "no successful quote for 30.0 s",
               "last_success_age_s": 30.0, "last_error": null, "errors_total": 9}),
    );
    let line = "  [FAIL] price_feed       no successful quote for 30.0 s  \
                last_success_age_s=30.0  last_error=-";
    assert_fails(&stale, &[], line, &["status", "price_feed"]);
}

#[test]
fn no_open_position_needs_no_quote() {
    let mut idle = with(
        "/checks/price_feed",
        json!({"ok": true, "detail": "no open position: no quote needed",
               "last_success_age_s": null, "last_error": null, "errors_total": 0}),
    );
    idle["open_positions"] = json!(0);
    let (code, out) = check(&idle, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("\n  [ OK ] price_feed       no open position: no quote needed  "),
        "{out}"
    );
    // The same answer with positions open is not fresh.
    idle["open_positions"] = json!(3);
    let line = "  [FAIL] price_feed       no open position: no quote needed (no quote yet with \
                3 open positions)  last_success_age_s=-  last_error=-";
    assert_fails(&idle, &[], line, &["price_feed"]);
}

#[test]
fn auto_close_loop_not_running_fails() {
    let stopped = with(
        "/checks/auto_close_loop",
        json!({"ok": false, "detail": "not running"}),
    );
    let line = "  [FAIL] auto_close_loop  not running  last_pass_age_s=-";
    assert_fails(&stopped, &[], line, &["status", "auto_close_loop"]);
}

#[test]
fn database_down_fails() {
    let mut down = with(
        "/checks/database",
        json!({"ok": false, "detail": "database error: unable to open database file"}),
    );
    down["open_positions"] = Value::Null;
    let line = "  [FAIL] database         database error: unable to open database file";
    assert_fails(&down, &[], line, &["status", "database"]);
    let (_, out) = check(&down, &[]);
    assert!(
        out.contains("\n  [WARN] open_positions   unknown: the server could not count them\n"),
        "{out}"
    );
    // With --max-open an unknown count is a failure too.
    let flags = ["--max-open".to_owned(), "3".to_owned()];
    let line = "  [FAIL] open_positions   unknown: the server could not count them";
    assert_fails(
        &down,
        &flags,
        line,
        &["status", "database", "open_positions"],
    );
}

#[test]
fn audit_log_not_writable_fails() {
    let audit = with(
        "/checks/audit_log",
        json!({"ok": false, "detail": "not writable: Permission denied (os error 13)"}),
    );
    let line = "  [FAIL] audit_log        not writable: Permission denied (os error 13)";
    assert_fails(&audit, &[], line, &["status", "audit_log"]);
}

#[test]
fn data_dir_missing_or_not_a_folder_fails() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("data");
    let missing = missing.to_str().unwrap();
    let flags = ["--data-dir".to_owned(), missing.to_owned()];
    let line = format!("  [FAIL] data_dir         {missing} is missing");
    assert_fails(&healthy(), &flags, &line, &["data_dir"]);

    let file = dir.path().join("loms.db");
    std::fs::write(&file, b"").unwrap();
    let file = file.to_str().unwrap();
    let flags = ["--data-dir".to_owned(), file.to_owned()];
    let line = format!("  [FAIL] data_dir         {file} is not a folder");
    assert_fails(&healthy(), &flags, &line, &["data_dir"]);
}

#[test]
fn too_many_open_positions_fail() {
    let flags = ["--max-open".to_owned(), "1".to_owned()];
    let line = "  [FAIL] open_positions   2, more than --max-open 1";
    assert_fails(&healthy(), &flags, line, &["open_positions"]);
    let flags = ["--max-open".to_owned(), "2".to_owned()];
    assert_eq!(check(&healthy(), &flags).0, 0);
}

#[test]
fn trading_off_warns_and_fails_only_when_active_is_expected() {
    let off = with(
        "/trading",
        json!({"mode": "entries_off", "since": "2025-12-02T07:55:00Z", "set_by": "cli"}),
    );
    let (code, out) = check(&off, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "\n  [WARN] trading          entries_off since 2025-12-02T07:55:00Z (set by cli): \
             signals open nothing, exits go on\n"
        ),
        "{out}"
    );
    assert!(
        out.ends_with("\nall 8 checks pass; 1 warning: trading\n"),
        "{out}"
    );

    let flags = ["--expect-trading".to_owned(), "active".to_owned()];
    let line = "  [FAIL] trading          entries_off since 2025-12-02T07:55:00Z (set by cli): \
                signals open nothing, exits go on; expected active (--expect-trading)";
    assert_fails(&off, &flags, line, &["trading"]);

    // Expecting the mode it is in passes (e.g. checking a kill switch took effect).
    let flags = ["--expect-trading".to_owned(), "entries_off".to_owned()];
    assert_eq!(check(&off, &flags).0, 0);
    let flatten = with("/trading/mode", json!("flatten"));
    let (code, out) = check(&flatten, &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("(set by config): closing everything, then nothing opens\n"),
        "{out}"
    );
}

#[test]
fn bad_expectations_are_usage_errors() {
    for argv in [
        &["loms-health", "--expect-broker", "demo"][..],
        &["loms-health", "--expect-price-source", "bitget"],
        &["loms-health", "--expect-trading", "paused"],
        &["loms-health", "--max-feed-age", "-1"],
        &["loms-health", "--max-feed-age", "soon"],
        &["loms-health", "--max-open", "-2"],
    ] {
        assert!(Args::try_parse_from(argv).is_err(), "{argv:?}");
    }
    let args = Args::try_parse_from(["loms-health"]).unwrap();
    assert!((args.max_feed_age - 10.0).abs() < 1e-12);
    assert_eq!((args.max_open, args.data_dir), (None, None));
}
