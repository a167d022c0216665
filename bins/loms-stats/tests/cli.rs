//! loms-stats against a fake LOMS: snapshot text, filters, --json, exit codes, failures.

use clap::Parser;
use loms_stats::{Args, run};
use loms_test_server::{dead_url, hang, serve, serve_routes};
use std::process::Command;

const STATS: &str = r#"{"total_positions": 10, "open_positions": 2, "closed_positions": 8,
 "total_pnl": 12.5, "winning_trades": 5, "losing_trades": 3, "tp_count": 5, "sl_count": 3,
 "winrate": 62.5, "avg_pnl_per_trade": 1.5625, "avg_pnl_win": 3.1, "avg_pnl_loss": -1.0,
 "max_drawdown": 3.2, "profit_factor": 2.1, "expectancy": 1.5625, "trades_per_day": 4.0,
 "by_close_reason": {"tp": 5, "sl": 3},
 "by_symbol": {"BTCUSDT": {"trades": 5, "wins": 3, "pnl": 3.2}, "ETHUSDT": {"trades": 3, "wins": 2, "pnl": 9.3}},
 "first_trade_at": "2025-12-01T10:05:00Z", "last_trade_at": "2025-12-03T09:00:00Z",
 "filters": {"since": null, "until": null, "symbol": null}}"#;

const EMPTY: &str = r#"{"total_positions": 0, "open_positions": 0, "closed_positions": 0,
 "total_pnl": 0, "winning_trades": 0, "losing_trades": 0, "winrate": null,
 "avg_pnl_per_trade": null, "avg_pnl_win": null, "avg_pnl_loss": null, "max_drawdown": 0,
 "profit_factor": null, "expectancy": null, "trades_per_day": null,
 "by_close_reason": {}, "by_symbol": {}, "first_trade_at": null, "last_trade_at": null,
 "filters": {"since": "2025-12-01T00:00:00Z", "until": null, "symbol": "SOLUSDT"}}"#;

/// The 8 closed trades behind STATS, newest first as `GET /positions/` lists them:
/// oldest first the pnl is 3, -1, 4, -1, 2.5, 3, -1, 3 (sum 12.5), so the cumulative curve
/// is 3, 2, 6, 5, 7.5, 10.5, 9.5, 12.5: min 2, max 12.5, level = round((v − 2) / 10.5 · 7)
/// = 1, 0, 3, 2, 4, 6, 5, 7 → ▂▁▄▃▅▇▆█.
const CLOSED: &str = r#"[
 {"id": 8, "symbol": "ETHUSDT", "status": "closed", "closed_at": "2025-12-03T09:00:00Z", "pnl": 3.0},
 {"id": 7, "symbol": "BTCUSDT", "status": "closed", "closed_at": "2025-12-03T08:00:00.5Z", "pnl": -1.0},
 {"id": 6, "symbol": "BTCUSDT", "status": "closed", "closed_at": "2025-12-02T20:00:00Z", "pnl": 3.0},
 {"id": 5, "symbol": "ETHUSDT", "status": "closed", "closed_at": "2025-12-02T10:00:00Z", "pnl": 2.5},
 {"id": 4, "symbol": "BTCUSDT", "status": "closed", "closed_at": "2025-12-01T18:00:00Z", "pnl": -1.0},
 {"id": 3, "symbol": "BTCUSDT", "status": "closed", "closed_at": "2025-12-01T15:30:00Z", "pnl": 4.0},
 {"id": 2, "symbol": "ETHUSDT", "status": "closed", "closed_at": "2025-12-01T12:00:00Z", "pnl": -1.0},
 {"id": 1, "symbol": "BTCUSDT", "status": "closed", "closed_at": "2025-12-01T10:30:00Z", "pnl": 3.0}
]"#;

/// Run the CLI in-process against `url`: (exit code, stdout, stderr).
fn stats(url: &str, flags: &[&str]) -> (u8, String, String) {
    let argv = ["loms-stats", "--url", url]
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
fn snapshot_is_aligned_and_sorted_by_pnl() {
    let (url, server) = serve_routes(&[
        ("/stats", "200 OK", STATS),
        ("/positions/", "200 OK", CLOSED),
    ]);
    let (code, out, err) = stats(&url, &[]);
    assert_eq!(
        server.join().unwrap(),
        [
            "GET /stats HTTP/1.1",
            "GET /positions/?status=closed&limit=5000 HTTP/1.1"
        ]
    );
    assert_eq!((code, err.as_str()), (0, ""));
    let expected = format!(
        "\
LOMS stats  {url}  filters: none
  trades          10 total, 2 open, 8 closed
  total pnl       12.5000
  winrate         62.5 % (95 % CI 30.6–86.3 %, n=8)  5 wins, 3 losses
  avg pnl         1.5625 per trade, 3.1000 per win, -1.0000 per loss
  max drawdown    3.2000
  profit factor   2.10
  expectancy      1.5625
  trades per day  4.00
  first trade     2025-12-01T10:05:00Z
  last trade      2025-12-03T09:00:00Z
  equity curve    ▂▁▄▃▅▇▆█  min 2.0000  max 12.5000  (8 trades)
WARNING: 8 trades are too few to judge the winrate (95 % CI 30.6–86.3 % is 55.7 points wide)

by close reason
  reason  trades
  tp           5
  sl           3

by symbol
  symbol   trades  wins  win %     pnl
  ETHUSDT       3     2   66.7  9.3000
  BTCUSDT       5     3   60.0  3.2000
"
    );
    assert_eq!(out, expected);
}

#[test]
fn fee_fields_are_shown_when_present() {
    let body = STATS.replacen(
        '{',
        r#"{"gross_pnl": 13.1, "net_pnl": 12.5, "fees_paid": 0.6, "#,
        1,
    );
    let (url, _server) = serve("200 OK", &body);
    let (code, out, _) = stats(&url, &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "  total pnl       12.5000\n  gross pnl       13.1000\n  \
             fees paid       0.6000\n  net pnl         12.5000\n"
        ),
        "{out}"
    );
}

#[test]
fn entry_slippage_and_signal_to_fill_are_shown_when_present() {
    let body = STATS.replacen(
        '{',
        r#"{"entry_slippage_bps": {"trades": 8, "avg": 4.2, "max": 15.11},
            "signal_to_fill_ms": {"trades": 8, "avg": 310.5, "max": 421}, "#,
        1,
    );
    let (url, _server) = serve("200 OK", &body);
    let (code, out, _) = stats(&url, &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("  entry slippage  avg 4.20 bps, worst 15.11 bps over 8 trades\n"),
        "{out}"
    );
    assert!(
        out.contains("  signal to fill  avg 310.50 ms, worst 421.00 ms over 8 trades\n"),
        "{out}"
    );
    let (_, plain, _) = stats(&serve("200 OK", STATS).0, &[]);
    assert!(
        !plain.contains("entry slippage"),
        "absent without the fields: {plain}"
    );
}

#[test]
fn shadow_vs_live_drift_is_shown_when_present() {
    let body = STATS.replacen(
        '{',
        r#"{"shadow_drift_bps": {"trades": 3, "avg": -1.5, "max": 12.004}, "#,
        1,
    );
    let (url, _server) = serve("200 OK", &body);
    let (code, out, _) = stats(&url, &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("  live vs paper   avg -1.50 bps, worst 12.00 bps over 3 trades\n"),
        "{out}"
    );
    // Paper mode (null) and an older server (absent) show no such line.
    let null = STATS.replacen('{', r#"{"shadow_drift_bps": null, "#, 1);
    for body in [null.as_str(), STATS] {
        let (_, plain, _) = stats(&serve("200 OK", body).0, &[]);
        assert!(!plain.contains("live vs paper"), "{plain}");
    }
}

#[test]
fn no_trades_shows_dashes_and_echoed_filters() {
    let (url, _server) = serve("200 OK", EMPTY);
    let (code, out, err) = stats(&url, &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    for line in [
        "filters: since=2025-12-01T00:00:00Z symbol=SOLUSDT\n",
        "  winrate         -  (0 wins, 0 losses)\n",
        // No closed trade: nothing to draw, and /positions/ is not asked.
        "  equity curve    - (no closed trades)\n",
        "  avg pnl         - per trade, - per win, - per loss\n",
        "  profit factor   n/a\n",
        "  trades per day  -\n",
        "  first trade     -\n",
        "\nby close reason: none\n\nby symbol: none\n",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
}

#[test]
fn filters_are_sent_url_encoded() {
    let (url, server) = serve("200 OK", STATS);
    let flags = [
        "--since",
        "2025-12-01T00:00:00+02:00",
        "--until",
        "2025-12-02",
        "--symbol",
        "BTC/USDT",
    ];
    let (code, _, _) = stats(&url, &flags);
    assert_eq!(code, 0);
    assert_eq!(
        server.join().unwrap(),
        "GET /stats?since=2025-12-01T00%3A00%3A00%2B02%3A00&until=2025-12-02&symbol=BTC%2FUSDT HTTP/1.1"
    );
}

#[test]
fn server_error_exits_1_with_error_and_detail() {
    let body = r#"{"error":"invalid_query","detail":"since must be RFC 3339"}"#;
    let (url, _server) = serve("422 Unprocessable Entity", body);
    let (code, out, err) = stats(&url, &["--since", "yesterday"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        format!(
            "loms-stats: LOMS refused {url}/stats (HTTP 422): invalid_query: since must be RFC 3339\n"
        )
    );
}

#[test]
fn server_error_without_json_exits_1() {
    let (url, _server) = serve("503 Service Unavailable", "overloaded");
    let (code, _, err) = stats(&url, &[]);
    assert_eq!(code, 1);
    assert!(err.ends_with("(HTTP 503): overloaded\n"), "{err}");
}

#[test]
fn json_flag_prints_pretty_json() {
    let (url, _server) = serve("200 OK", STATS);
    let (code, out, _) = stats(&url, &["--json"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("{\n  \""), "{out}");
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        parsed,
        serde_json::from_str::<serde_json::Value>(STATS).unwrap()
    );
}

#[test]
fn invalid_json_or_wrong_shape_exits_2() {
    for (body, says) in [
        ("{\"total_positions\": 1", "is not valid JSON"),
        (r#"{"status": "ok"}"#, "is not a LOMS stats report"),
        (
            r#"{"total_positions": "many"}"#,
            "is not a LOMS stats report",
        ),
        ("", "(empty body)"),
    ] {
        let (url, _server) = serve("200 OK", body);
        let (code, out, err) = stats(&url, &[]);
        assert_eq!((code, out.as_str()), (2, ""), "{body}");
        assert!(err.starts_with("loms-stats: the answer of "), "{err}");
        assert!(err.contains(says), "{says} in {err}");
    }
}

#[test]
fn odd_values_do_not_break_the_tables() {
    let body = r#"{"total_positions": 3, "by_close_reason": {"tp": "x", "manual": 1},
        "by_symbol": {"A": 5, "B": {"trades": 0, "pnl": "1.5"}, "C\nD": {"pnl": null}}}"#;
    let (url, _server) = serve("200 OK", body);
    let (code, out, _) = stats(&url, &[]);
    assert_eq!(code, 0);
    let tail: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "by close reason")
        .collect();
    assert_eq!(
        tail,
        [
            "by close reason",
            "  reason  trades",
            "  manual       1",
            "  tp           x",
            "",
            "by symbol",
            "  symbol  trades  wins  win %     pnl",
            "  B            0     -      -  1.5000",
            "  A            -     -      -       -",
            "  C D          -     -      -       -",
        ]
    );
}

#[test]
fn unreachable_exits_2_with_a_hint() {
    let url = dead_url();
    let (code, out, err) = stats(&url, &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "loms-stats: cannot reach LOMS at {url} (connection refused). Is the server \
             running? Start it with: cargo run --release --bin loms-server\n"
        )
    );
}

#[test]
fn timeout_exits_2() {
    let (url, server) = hang();
    let (code, _, err) = stats(&url, &["--timeout", "0.3", "--symbol", "BTCUSDT"]);
    assert_eq!(code, 2);
    assert!(err.contains("(no answer within 0.3s)"), "{err}");
    assert_eq!(server.join().unwrap(), "GET /stats?symbol=BTCUSDT HTTP/1.1");
}

#[test]
fn binary_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_loms-stats");
    let usage = Command::new(bin).args(["--url", "nope"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--url"));
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--since <RFC3339>"));
    let down = Command::new(bin)
        .args(["--url", &dead_url()])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&down.stderr).contains("cannot reach LOMS"));
}
