//! `loms-health --live` against the fake Bitget and a fake LOMS: every venue gate passes
//! or fails with its own line, the checklist only reads (GET requests only, a hedge-mode
//! account is reported and left as it is), the server's reconciliation state is shown,
//! and neither the API secret nor the passphrase is ever printed.

use clap::Parser;
use loms_fake_bitget::{FakeBitget, KEY, PASSPHRASE, SECRET, VenueClock};
use loms_health::{Args, run};
use loms_test_server::{dead_url, serve};
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

const UID: &str = "5550000001";

/// A fake venue on the system clock (the local clock agrees with it).
fn venue() -> FakeBitget {
    let v = FakeBitget::start();
    v.set_clock(VenueClock::System);
    v
}

/// A live server's /health with `venue` as its `checks.venue`.
fn health(venue: Value) -> Value {
    let ok = venue["ok"] == true;
    json!({
        "ok": ok, "service": "CryptoNakCore LOMS", "status": if ok { "ok" } else { "degraded" },
        "version": "0.1.0", "environment": "live", "broker_mode": "live", "oms_enabled": true,
        "trading": {"mode": "active", "since": "2026-12-05T08:00:00Z", "set_by": "config"},
        "open_positions": 0,
        "checks": {
            "database": {"ok": true, "detail": "sqlite reachable, schema v9"},
            "audit_log": {"ok": true, "detail": "writable"},
            "price_feed": {"ok": true, "detail": "no open position"},
            "auto_close_loop": {"ok": true, "detail": "last pass 0.8 s ago"},
            "venue": venue
        }
    })
}

fn settled() -> Value {
    health(json!({"ok": true, "detail": "every order settled; positions match the venue"}))
}

/// The settings of a live server against `venue`, the key in the settings.
fn settings(venue: &FakeBitget) -> Vec<String> {
    let mut set = vec![
        format!("BITGET_BASE_URL={}", venue.base_url()),
        "BROKER_MODE=live".into(),
        "LIVE_CONFIRM=I_UNDERSTAND_REAL_ORDERS".into(),
        "PRICE_SOURCE=exchange".into(),
        "PRICE_EXCHANGE=bitget".into(),
        "PRICE_MARKET=perp".into(),
        format!("LIVE_ACCOUNT_UID={UID}"),
        "LIVE_MAX_EQUITY_USDT=150".into(),
        "LIVE_MAX_CLOCK_SKEW_MS=2000".into(),
    ];
    set.extend(key(SECRET));
    set
}

fn key(secret: &str) -> Vec<String> {
    vec![
        format!("BITGET_API_KEY={KEY}"),
        format!("BITGET_API_SECRET={secret}"),
        format!("BITGET_API_PASSPHRASE={PASSPHRASE}"),
    ]
}

/// Run `loms-health --live` in-process with `set` as `--set` overrides (no profile file,
/// no .env) and `flags`: (exit code, stdout, stderr).
fn live(server: &str, set: &[String], flags: &[&str]) -> (u8, String, String) {
    let mut argv: Vec<String> = [
        "loms-health",
        "--live",
        "--url",
        server,
        "--timeout",
        "3",
        "--config-dir",
        "/nonexistent/loms-health-test",
        "--env-file",
        "/dev/null",
    ]
    .map(str::to_owned)
    .to_vec();
    for s in set {
        argv.push("--set".into());
        argv.push(s.clone());
    }
    argv.extend(flags.iter().map(|f| (*f).to_owned()));
    let args = Args::try_parse_from(argv).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&args, &mut out, &mut err);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    for secret in [SECRET, PASSPHRASE] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "a secret was printed:\n{out}\n{err}"
        );
    }
    (code, out, err)
}

/// Run against a server answering `/health` with `health`.
fn against(health: &Value, set: &[String]) -> (u8, String) {
    let (url, server) = serve("200 OK", &health.to_string());
    let (code, out, err) = live(&url, set, &[]);
    assert_eq!(server.join().unwrap(), "GET /health HTTP/1.1");
    assert_eq!(err, "");
    (code, out)
}

/// The check lines: (mark, name, detail).
fn lines(out: &str) -> Vec<(String, String, String)> {
    out.lines()
        .skip_while(|l| *l != "checks")
        .skip(1)
        .filter(|l| l.starts_with("  ["))
        .map(|l| {
            let (mark, rest) = l.trim_start().split_at(6);
            let rest = rest.trim_start();
            let (name, detail) = rest.split_once(' ').unwrap_or((rest, ""));
            (mark.to_owned(), name.to_owned(), detail.trim().to_owned())
        })
        .collect()
}

/// The failing lines: (name, detail).
fn failing(out: &str) -> Vec<(String, String)> {
    lines(out)
        .into_iter()
        .filter(|(mark, _, _)| mark == "[FAIL]")
        .map(|(_, name, detail)| (name, detail))
        .collect()
}

/// Nothing but GET requests reached the venue.
fn only_reads(venue: &FakeBitget) {
    let seen = venue.seen();
    assert!(!seen.is_empty());
    let writes: Vec<String> = seen
        .iter()
        .filter(|s| s.method != "GET")
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert!(writes.is_empty(), "the checklist wrote: {writes:?}");
}

#[test]
fn a_good_sub_account_passes_every_check_reading_only() {
    let venue = venue();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bitget.env");
    let mut f = std::fs::File::create(&file).unwrap();
    writeln!(
        f,
        "# the trading sub-account's key\n{}",
        key(SECRET).join("\n")
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut set: Vec<String> = settings(&venue)
        .into_iter()
        .filter(|s| !s.starts_with("BITGET_API_"))
        .collect();
    set.push(format!("BITGET_SECRETS_FILE={}", file.display()));

    let (code, out) = against(&settled(), &set);
    assert_eq!(code, 0, "{out}");
    let names: Vec<String> = lines(&out).into_iter().map(|l| l.1).collect();
    assert_eq!(
        names,
        [
            "settings",
            "credentials",
            "clock",
            "key",
            "permissions",
            "account",
            "position_mode",
            "equity",
            "balance",
            "reconciliation"
        ],
        "{out}"
    );
    assert!(out.ends_with("all 10 checks pass\n"), "{out}");
    assert!(out.starts_with(&format!(
        "OK  loms-health --live  Bitget {}  profile=dev\n",
        venue.base_url()
    )));
    let all = lines(&out);
    let detail = |name: &str| all.iter().find(|l| l.1 == name).unwrap().2.clone();
    assert!(
        detail("credentials").contains("BITGET_SECRETS_FILE"),
        "{out}"
    );
    assert_eq!(detail("key"), format!("account {UID}"));
    assert_eq!(detail("balance"), "equity 108 USDT, available 108 USDT");
    assert_eq!(
        detail("reconciliation"),
        "every order settled; positions match the venue"
    );
    assert!(!out.contains(KEY), "not even the API key is shown: {out}");
    only_reads(&venue);
}

#[test]
fn a_key_of_another_account_fails_the_key_check() {
    let venue = venue();
    let mut set = settings(&venue);
    set.push("LIVE_ACCOUNT_UID=5559999999".into());
    let (code, out) = against(&settled(), &set);
    assert_eq!(code, 1, "{out}");
    let f = failing(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert_eq!(f[0].0, "key");
    assert!(
        f[0].1
            .contains("belongs to account 5550000001, LIVE_ACCOUNT_UID is 5559999999"),
        "{out}"
    );
    assert!(out.ends_with("1 of 10 checks failing: key\n"), "{out}");
}

#[test]
fn a_main_account_key_fails_the_key_check() {
    let venue = venue();
    venue.set_key(UID, 0, &["coow", "cpow"]);
    let (code, out) = against(&settled(), &settings(&venue));
    assert_eq!(code, 1);
    let f = failing(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert_eq!(f[0].0, "key");
    assert!(f[0].1.contains("main-account key"), "{out}");
}

#[test]
fn a_key_that_can_withdraw_fails_the_permissions_check() {
    let venue = venue();
    venue.set_key(UID, 5_550_000_000, &["coow", "cpow", "wwow"]);
    let (code, out) = against(&settled(), &settings(&venue));
    assert_eq!(code, 1);
    let f = failing(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert_eq!(f[0].0, "permissions");
    assert!(
        f[0].1
            .contains("may withdraw, transfer or manage sub-accounts (wwow)"),
        "{out}"
    );
}

#[test]
fn hedge_mode_is_reported_never_switched() {
    let venue = venue();
    venue.set_pos_mode("hedge_mode");
    let (code, out) = against(&settled(), &settings(&venue));
    assert_eq!(code, 1);
    let f = failing(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert_eq!(f[0].0, "position_mode");
    assert!(f[0].1.starts_with("the account is in hedge mode"), "{out}");
    assert_eq!(venue.pos_mode(), "hedge_mode", "the checklist only reads");
    only_reads(&venue);
}

#[test]
fn too_much_equity_fails_the_equity_check() {
    let venue = venue();
    venue.set_balance(2000.into());
    let (code, out) = against(&settled(), &settings(&venue));
    assert_eq!(code, 1);
    let f = failing(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert_eq!(f[0].0, "equity");
    assert!(
        f[0].1
            .starts_with("equity 2000 USDT is above LIVE_MAX_EQUITY_USDT 150"),
        "{out}"
    );
    assert!(
        out.contains("equity 2000 USDT, available 2000 USDT"),
        "{out}"
    );
}

#[test]
fn a_clock_off_the_venues_fails_the_clock_check() {
    let venue = venue();
    let now = VenueClock::System.now_ms();
    venue.set_clock(VenueClock::Fixed(now + 60_000));
    let (code, out) = against(&settled(), &settings(&venue));
    assert_eq!(code, 1);
    let f = failing(&out);
    assert_eq!(f.len(), 1, "after the sync the signed reads work: {out}");
    assert_eq!(f[0].0, "clock");
    assert!(
        f[0].1.contains("ms off Bitget's (at most 2000 ms)"),
        "{out}"
    );
}

#[test]
fn a_doubt_of_the_server_fails_the_reconciliation_line() {
    let venue = venue();
    let doubt = health(json!({"ok": false,
        "detail": "entries held: the venue holds 0.002 BTCUSDT long, LOMS's open positions 0.001: check the venue"}));
    let (code, out) = against(&doubt, &settings(&venue));
    assert_eq!(code, 1);
    let f = failing(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert_eq!(f[0].0, "reconciliation");
    assert!(
        f[0].1.starts_with(
            "entries held: the venue holds 0.002 BTCUSDT long, LOMS's open positions 0.001"
        ),
        "{out}"
    );
    assert!(
        f[0].1.ends_with(
            "(the server is DEGRADED: run loms-health without --live for its checklist)"
        ),
        "{out}"
    );
}

#[test]
fn a_server_in_another_broker_mode_fails_the_reconciliation_line() {
    let venue = venue();
    let mut paper = settled();
    paper["broker_mode"] = json!("paper");
    paper["checks"].as_object_mut().unwrap().remove("venue");
    let (code, out) = against(&paper, &settings(&venue));
    assert_eq!(code, 1);
    let f = failing(&out);
    assert_eq!(f[0].0, "reconciliation");
    assert!(
        f[0].1
            .contains("trades BROKER_MODE=paper, these settings say live"),
        "{out}"
    );
}

#[test]
fn a_server_that_does_not_answer_warns_unless_it_must_run() {
    let venue = venue();
    let url = dead_url();
    let (code, out, err) = live(&url, &settings(&venue), &[]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let line = lines(&out).pop().unwrap();
    assert_eq!(
        (line.0.as_str(), line.1.as_str()),
        ("[WARN]", "reconciliation")
    );
    assert!(
        line.2.starts_with(&format!(
            "LOMS at {url} does not answer (connection refused): not checked"
        )),
        "{out}"
    );

    let (code, out, _) = live(&url, &settings(&venue), &["--expect-running"]);
    assert_eq!(code, 1, "{out}");
    let f = failing(&out);
    assert_eq!(f[0].0, "reconciliation");
    assert!(
        f[0].1.contains("it must be running (--expect-running)"),
        "{out}"
    );
}

#[test]
fn an_unreachable_venue_exits_2_and_sends_nothing_signed() {
    let dead = dead_url();
    let set: Vec<String> = settings(&venue())
        .into_iter()
        .map(|s| {
            if s.starts_with("BITGET_BASE_URL=") {
                format!("BITGET_BASE_URL={dead}")
            } else {
                s
            }
        })
        .collect();
    let (code, out, err) = live(&dead_url(), &set, &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with(&format!("loms-health: cannot reach Bitget at {dead} (")),
        "{err}"
    );
}

#[test]
fn missing_key_and_uid_fail_with_what_to_set_and_ask_nothing() {
    let venue = venue();
    let mut set: Vec<String> = settings(&venue)
        .into_iter()
        .filter(|s| !s.starts_with("BITGET_API_SECRET") && !s.starts_with("LIVE_ACCOUNT_UID"))
        .collect();
    // Live settings without a key are refused as a whole (as loms-server does); the
    // read-only test before going live runs with paper settings.
    let (_, out, _) = live(&dead_url(), &set, &[]);
    assert!(out.contains("[FAIL] settings  invalid configuration (loms-server refuses it too): BROKER_MODE=live needs the Bitget API credentials"), "{out}");
    set.push("BROKER_MODE=paper".into());
    let (code, out, _) = live(&dead_url(), &set, &[]);
    assert_eq!(code, 1, "{out}");
    let f = failing(&out);
    let names: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(names, ["settings", "credentials"], "{out}");
    assert!(f[0].1.starts_with("LIVE_ACCOUNT_UID is not set"), "{out}");
    assert!(f[1].1.starts_with("BITGET_API_SECRET not set"), "{out}");
    assert!(venue.seen().is_empty(), "nothing asked without a key");
}

#[test]
fn a_wrong_secret_is_refused_by_the_venue_and_never_shown() {
    let venue = venue();
    let mut set = settings(&venue);
    set.extend(key("wrong-secret-4f1c"));
    let (code, out, err) = live(&dead_url(), &set, &["--json"]);
    assert_eq!(code, 1);
    assert!(!out.contains("wrong-secret-4f1c") && !err.contains("wrong-secret-4f1c"));
    let report: Value = serde_json::from_str(&out).unwrap();
    let failing: Vec<&str> = report["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        failing,
        [
            "key",
            "permissions",
            "account",
            "position_mode",
            "equity",
            "balance"
        ],
        "{out}"
    );
    assert_eq!(report["health"], Value::Null);
}

#[test]
fn invalid_settings_are_one_failing_line() {
    let (code, out, _) = live(&dead_url(), &["LIVE_MAX_CLOCK_SKEW_MS=5".into()], &[]);
    assert_eq!(code, 1);
    let f = failing(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert_eq!(f[0].0, "settings");
    assert!(f[0].1.contains("LIVE_MAX_CLOCK_SKEW_MS"), "{out}");
}

#[test]
fn live_flags_and_server_flags_do_not_mix() {
    let parse = |argv: &[&str]| Args::try_parse_from(argv).map(|_| ());
    assert!(parse(&["loms-health", "--live", "--expect-env", "prod"]).is_err());
    assert!(parse(&["loms-health", "--live", "--max-open", "3"]).is_err());
    assert!(parse(&["loms-health", "--profile", "live"]).is_err());
    assert!(parse(&["loms-health", "--expect-running"]).is_err());
    assert!(
        parse(&[
            "loms-health",
            "--live",
            "--profile",
            "live",
            "--expect-running"
        ])
        .is_ok()
    );
}
