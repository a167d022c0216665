//! loms-stats as the go/no-go tool: gate verdicts on known figures, the Wilson rule, the
//! small-sample warning, dated snapshots (--save), the equity sparkline, bad --gate.

use clap::Parser;
use loms_stats::{Args, run};
use loms_test_server::serve_routes;
use serde_json::{Value, json};
use std::process::Command;

const GATE: &str = "min_trades=200,min_winrate=45,max_drawdown_pct=10,min_profit_factor=1.2";

/// 250 closed trades, 150 wins (60 %): Wilson 95 % lower bound 53.82 %; drawdown 8.1 USDT
/// (8.1 % of the default 100 USDT capital); profit factor 1.35.
fn go_stats() -> Value {
    json!({
        "total_positions": 252, "open_positions": 2, "closed_positions": 250,
        "total_pnl": 12.5, "gross_pnl": 20.0, "net_pnl": 12.5, "fees_paid": 7.5,
        "winning_trades": 150, "losing_trades": 100, "tp_count": 150, "sl_count": 100,
        "winrate": 60.0, "avg_pnl_per_trade": 0.05, "avg_pnl_win": 0.3, "avg_pnl_loss": -0.325,
        "max_drawdown": 8.1, "profit_factor": 1.35, "expectancy": 0.05, "trades_per_day": 25.0,
        "by_close_reason": {"tp": 150, "sl": 100},
        "by_symbol": {"BTCUSDT": {"trades": 250, "wins": 150, "pnl": 12.5}},
        "first_trade_at": "2025-11-22T00:00:00Z", "last_trade_at": "2025-12-01T23:00:00Z",
        "filters": {"since": null, "until": null, "symbol": null}
    })
}

/// `go_stats()` with some fields replaced.
fn with(changes: Value) -> Value {
    let mut s = go_stats();
    for (k, v) in changes.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

/// Run the CLI in-process against a fake LOMS answering `stats` and `positions`:
/// (exit code, stdout, stderr, request lines).
fn run_with(stats: &Value, positions: &str, flags: &[&str]) -> (u8, String, String, Vec<String>) {
    let stats = stats.to_string();
    let (url, server) = serve_routes(&[
        ("/stats", "200 OK", &stats),
        ("/positions/", "200 OK", positions),
    ]);
    let argv = ["loms-stats", "--url", &url]
        .into_iter()
        .chain(flags.iter().copied());
    let args = Args::try_parse_from(argv).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&args, &mut out, &mut err);
    let out = String::from_utf8(out).unwrap();
    let err = String::from_utf8(err).unwrap();
    // Without --json both endpoints are asked; let the server thread finish.
    let requests = if flags.contains(&"--json") {
        Vec::new()
    } else {
        server.join().unwrap()
    };
    (code, out, err, requests)
}

/// The gate block of the output (from its heading to the end).
fn gate_block(out: &str) -> Vec<&str> {
    out.lines().skip_while(|l| *l != "go/no-go gate").collect()
}

#[test]
fn go_exits_0_and_shows_every_criterion() {
    let (code, out, err, _) = run_with(&go_stats(), "[]", &["--gate", GATE]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(
        out.contains(
            "\n  winrate         60.0 % (95 % CI 53.8–65.9 %, n=250)  150 wins, 100 losses\n"
        ),
        "{out}"
    );
    assert_eq!(
        gate_block(&out),
        [
            "go/no-go gate",
            "  max_drawdown_pct: /stats reports the drawdown in USDT; it is taken as a percent \
             of the starting capital, 100 USDT (--capital)",
            "  criterion          required  value    verdict",
            "  min_trades         ≥ 200     250      PASS     closed trades",
            "  min_winrate        ≥ 45 %    53.82 %  PASS     95 % CI lower bound (winrate 60.0 %, \
             95 % CI 53.8–65.9 %, n=250)",
            "  max_drawdown_pct   ≤ 10 %    8.10 %   PASS     max drawdown 8.1000 USDT of 100 USDT \
             capital",
            "  min_profit_factor  ≥ 1.2     1.35     PASS",
            "GO  (all 4 criteria pass)",
        ]
    );
    // 250 trades and a 12-point interval: no warning.
    assert!(!out.contains("WARNING"), "{out}");
}

/// Exit 1, the criterion's line says FAIL, the verdict names it alone.
fn assert_no_go(stats: &Value, flags: &[&str], criterion: &str, value: &str) {
    let (code, out, _, _) = run_with(stats, "[]", flags);
    assert_eq!(code, 1, "{out}");
    let block = gate_block(&out);
    let line = block
        .iter()
        .find(|l| l.starts_with(&format!("  {criterion} ")))
        .unwrap_or_else(|| panic!("no {criterion} line in\n{out}"));
    let cells: Vec<&str> = line.split("  ").filter(|c| !c.is_empty()).collect();
    assert_eq!(
        (cells[2].trim(), cells[3].trim()),
        (value, "FAIL"),
        "{line}"
    );
    let n = flags[1].split(',').count();
    assert_eq!(
        *block.last().unwrap(),
        format!("NO-GO  (1 of {n} criteria failing: {criterion})"),
        "{out}"
    );
}

#[test]
fn no_go_by_each_criterion() {
    let flags = ["--gate", GATE];
    // 150 trades, 90 wins: still 60 %, lower bound 52.0 %, but too few trades.
    let few = with(json!({"closed_positions": 150, "winning_trades": 90, "losing_trades": 60}));
    assert_no_go(&few, &flags, "min_trades", "150");
    // 118 of 250 wins (47.2 %): lower bound 41.10 % < 45.
    let weak = with(json!({"winning_trades": 118, "losing_trades": 132, "winrate": 47.2}));
    assert_no_go(&weak, &flags, "min_winrate", "41.10 %");
    let deep = with(json!({"max_drawdown": 12.0}));
    assert_no_go(&deep, &flags, "max_drawdown_pct", "12.00 %");
    let thin = with(json!({"profit_factor": 1.1}));
    assert_no_go(&thin, &flags, "min_profit_factor", "1.10");
    // No winning trade at all: no profit factor.
    let none = with(
        json!({"profit_factor": null, "winning_trades": 0, "losing_trades": 250,
                           "winrate": 0.0}),
    );
    let (code, out, _, _) = run_with(&none, "[]", &flags);
    assert_eq!(code, 1);
    let row = gate_block(&out)
        .into_iter()
        .find(|l| l.starts_with("  min_profit_factor "))
        .unwrap();
    let cells: Vec<&str> = row
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells[2..], ["n/a", "FAIL", "no winning trade"], "{out}");

    let flags = ["--gate", "min_expectancy=0,min_net_pnl=0"];
    let losing = with(json!({"expectancy": -0.01}));
    assert_no_go(&losing, &flags, "min_expectancy", "-0.0100");
    let losing = with(json!({"net_pnl": -5.0}));
    assert_no_go(&losing, &flags, "min_net_pnl", "-5.0000");
    assert_eq!(run_with(&go_stats(), "[]", &flags).0, 0);
}

#[test]
fn drawdown_is_a_percent_of_the_capital() {
    let deep = with(json!({"max_drawdown": 12.0}));
    let flags = ["--gate", "max_drawdown_pct=10", "--capital", "200"];
    let (code, out, _, _) = run_with(&deep, "[]", &flags);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "  max_drawdown_pct  ≤ 10 %    6.00 %  PASS     max drawdown 12.0000 USDT of 200 USDT capital\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("starting capital, 200 USDT (--capital)"),
        "{out}"
    );
}

#[test]
fn winrate_is_judged_on_the_wilson_lower_bound() {
    // Wilson score interval, z = 1.96, z² = 3.8416:
    //   centre = (p̂ + z²/2n) / (1 + z²/n),  half = z/(1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²)
    // 10 of 20 (50 %): z²/n = 0.19208, centre = 0.59604 / 1.19208 = 0.5,
    //   half = 1.96 · √(0.0125 + 0.0024010) / 1.19208 = 1.96 · 0.122070 / 1.19208 = 0.200706
    //   → 29.93–70.07 %: the lower bound 29.93 < 45 fails although 50 % > 45.
    // 600 of 1000 (60 %): z²/n = 0.0038416, centre = 0.6019208 / 1.0038416 = 0.599617,
    //   half = 1.96 · √(0.00024 + 0.00000096) / 1.0038416 = 1.96 · 0.0155229 / 1.0038416
    //   = 0.030309 → 56.93–62.99 %: the lower bound 56.93 ≥ 45 passes.
    let flags = ["--gate", "min_winrate=45"];
    let small = with(json!({"closed_positions": 20, "winning_trades": 10,
                            "losing_trades": 10, "winrate": 50.0}));
    let (code, out, _, _) = run_with(&small, "[]", &flags);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "\n  winrate         50.0 % (95 % CI 29.9–70.1 %, n=20)  10 wins, 10 losses\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "\n  min_winrate  ≥ 45 %    29.93 %  FAIL     95 % CI lower bound (winrate 50.0 %, \
             95 % CI 29.9–70.1 %, n=20)\n"
        ),
        "{out}"
    );
    let large = with(json!({"closed_positions": 1000, "winning_trades": 600,
                            "losing_trades": 400, "winrate": 60.0}));
    let (code, out, _, _) = run_with(&large, "[]", &flags);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("  56.93 %  PASS  "), "{out}");
    assert!(out.contains("(95 % CI 56.9–63.0 %, n=1000)"), "{out}");
}

#[test]
fn small_samples_warn_before_the_verdict() {
    let small = with(json!({"closed_positions": 20, "winning_trades": 10,
                            "losing_trades": 10, "winrate": 50.0}));
    let (_, out, _, _) = run_with(&small, "[]", &["--gate", "min_trades=10"]);
    let block = gate_block(&out);
    assert_eq!(
        block[block.len() - 2..],
        [
            "WARNING: 20 trades are too few to judge the winrate (95 % CI 29.9–70.1 % is 40.1 \
             points wide)",
            "GO  (all 1 criterion pass)",
        ],
        "{out}"
    );
    // Printed once: in the gate block, not also under the figures.
    assert_eq!(out.matches("WARNING").count(), 1, "{out}");
    // Without a gate it follows the figures.
    let (code, out, _, _) = run_with(&small, "[]", &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("(20 trades)\nWARNING: 20 trades are too few")
            || out.contains(
                "\n  equity curve    - (no closed trades)\nWARNING: 20 trades are too few"
            ),
        "{out}"
    );
    // 60 trades at 50 %: n ≥ 30, but the interval is 24.6 points wide.
    let wide = with(json!({"closed_positions": 60, "winning_trades": 30,
                           "losing_trades": 30, "winrate": 50.0}));
    let (_, out, _, _) = run_with(&wide, "[]", &["--gate", "min_trades=10"]);
    assert!(
        out.contains("WARNING: 60 trades are too few to judge the winrate (95 % CI 37.7–62.3 %"),
        "{out}"
    );
}

/// The closed trades of a day: three inside 2025-12-01, one just before and one at the
/// `--until` bound (both outside), listed newest first as the server does.
const DAY: &str = r#"[
 {"id": 5, "symbol": "BTCUSDT", "closed_at": "2025-12-02T00:00:00Z", "pnl": 100.0},
 {"id": 4, "symbol": "BTCUSDT", "closed_at": "2025-12-01T21:00:00.250Z", "pnl": -2.0},
 {"id": 3, "symbol": "BTCUSDT", "closed_at": "2025-12-01T12:00:00Z", "pnl": 1.5},
 {"id": 9, "symbol": "BTCUSDT", "closed_at": null, "pnl": null},
 {"id": 2, "symbol": "BTCUSDT", "closed_at": "2025-12-01T08:00:00Z", "pnl": "0.5"},
 {"id": 1, "symbol": "BTCUSDT", "closed_at": "2025-11-30T23:59:59Z", "pnl": 50.0}
]"#;

fn day_stats() -> Value {
    with(json!({
        "filters": {"since": "2025-12-01T00:00:00Z", "until": "2025-12-02T00:00:00Z",
                    "symbol": "BTCUSDT"}
    }))
}

const DAY_FLAGS: [&str; 6] = [
    "--since",
    "2025-12-01T00:00:00Z",
    "--until",
    "2025-12-02T00:00:00Z",
    "--symbol",
    "btcusdt",
];

#[test]
fn equity_sparkline_follows_the_filters() {
    let (code, out, _, requests) = run_with(&day_stats(), DAY, &DAY_FLAGS);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        requests[1],
        "GET /positions/?status=closed&symbol=btcusdt&limit=5000 HTTP/1.1"
    );
    // In the window, oldest first: 0.5, 1.5, -2 → cumulative 0.5, 2, 0; span 2:
    // round(0.5/2·7) = 2, 7, 0 → ▃█▁.
    assert!(
        out.contains("\n  equity curve    ▃█▁  min 0.0000  max 2.0000  (3 trades)\n"),
        "{out}"
    );
}

#[test]
fn positions_are_read_page_by_page() {
    // A full first page (5000, the page size) asks for the next one; an id already seen
    // (the list shifted as a trade closed meanwhile) counts once.
    // Closed `id` seconds after midnight: oldest first -2, -2, then 5000 × +1.
    let trade = |id: usize, pnl: f64| {
        let at = format!(
            "2025-12-01T{:02}:{:02}:{:02}Z",
            id / 3600,
            id / 60 % 60,
            id % 60
        );
        json!({"id": id, "closed_at": at, "pnl": pnl})
    };
    let first: Vec<Value> = (0..5000).map(|i| trade(10_000 - i, 1.0)).collect();
    let second = json!([trade(5001, 1.0), trade(3, -2.0), trade(2, -2.0)]);
    let (first, second) = (Value::from(first).to_string(), second.to_string());
    let stats = go_stats().to_string();
    let (url, server) = serve_routes(&[
        ("/stats", "200 OK", &stats),
        ("/positions", "200 OK", &first),
        ("/positions", "200 OK", &second),
    ]);
    let args = Args::try_parse_from(["loms-stats", "--url", &url]).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(run(&args, &mut out, &mut err), 0);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        server.join().unwrap()[1..],
        [
            "GET /positions/?status=closed&limit=5000 HTTP/1.1",
            "GET /positions/?status=closed&limit=5000&offset=5000 HTTP/1.1",
        ]
    );
    assert!(
        out.contains("  min -4.0000  max 4996.0000  (5002 trades)\n"),
        "{out}"
    );
}

#[test]
fn positions_failing_only_drops_the_sparkline() {
    let stats = go_stats().to_string();
    let (url, _server) = serve_routes(&[
        ("/stats", "200 OK", &stats),
        ("/positions/", "503 Service Unavailable", "overloaded"),
    ]);
    let args = Args::try_parse_from(["loms-stats", "--url", &url, "--gate", GATE]).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&args, &mut out, &mut err);
    let out = String::from_utf8(out).unwrap();
    assert_eq!((code, err.as_slice()), (0, &b""[..]), "{out}");
    assert!(
        out.contains(&format!(
            "\n  equity curve    not available (GET {url}/positions/ answered HTTP 503: overloaded)\n"
        )),
        "{out}"
    );
    assert!(out.ends_with("GO  (all 4 criteria pass)\n"), "{out}");
}

#[test]
fn save_writes_dated_markdown_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports/daily");
    let dir_s = dir.to_str().unwrap();
    let mut flags = DAY_FLAGS.to_vec();
    flags.extend(["--gate", GATE, "--save", dir_s]);
    let (code, out, err, _) = run_with(&day_stats(), DAY, &flags);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let md_path = format!("{dir_s}/2025-12-02_stats.md");
    let json_path = format!("{dir_s}/2025-12-02_stats.json");
    let report = out
        .strip_suffix(&format!("saved {md_path}\nsaved {json_path}\n"))
        .unwrap_or_else(|| panic!("paths at the end of\n{out}"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["2025-12-02_stats.json", "2025-12-02_stats.md"]);

    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(
        md.starts_with("# LOMS stats 2025-12-02\n\n- taken at: 20"),
        "{md}"
    );
    assert!(
        md.contains(
            "\n- filters: since=2025-12-01T00:00:00Z until=2025-12-02T00:00:00Z symbol=BTCUSDT\n"
        ),
        "{md}"
    );
    // The terminal snapshot, verbatim, then the gate as a table.
    let (snapshot, gate) = report.split_once("\ngo/no-go gate\n").unwrap();
    assert!(gate.ends_with("\nGO  (all 4 criteria pass)\n"), "{report}");
    assert!(
        md.contains(&format!("\n```text\n{snapshot}```\n\n## Gate: GO\n")),
        "{md}"
    );
    assert!(md.contains("\n## Gate: GO\n\n| criterion | required | value | verdict | note |\n"));
    assert!(
        md.contains("\n| min_winrate | ≥ 45 % | 53.82 % | PASS | 95 % CI lower bound (winrate 60.0 %, 95 % CI 53.8–65.9 %, n=250) |\n"),
        "{md}"
    );
    assert!(md.ends_with("\n**GO** (all 4 criteria pass)\n"), "{md}");

    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    // The raw /stats, plus the gate result and what the snapshot was taken from.
    for (key, value) in day_stats().as_object().unwrap() {
        assert_eq!(&json[key], value, "{key}");
    }
    assert_eq!(json["gate"]["verdict"], "GO");
    assert_eq!(json["gate"]["go"], true);
    assert_eq!(json["gate"]["capital_usdt"], 100.0);
    assert_eq!(json["gate"]["criteria"].as_array().unwrap().len(), 4);
    assert_eq!(
        json["gate"]["criteria"][1],
        json!({"name": "min_winrate", "op": ">=", "threshold": 45.0,
               "value": json["gate"]["winrate_ci"]["lower_pct"], "shown": "53.82 %", "ok": true,
               "note": "95 % CI lower bound (winrate 60.0 %, 95 % CI 53.8–65.9 %, n=250)"})
    );
    assert_eq!(json["snapshot"]["date"], "2025-12-02");
    assert_eq!(json["snapshot"]["equity_curve"], json!([0.5, 2.0, 0.0]));
    assert_eq!(json["snapshot"]["winrate_ci"]["n"], 250);
}

#[test]
fn save_without_until_uses_today_and_keeps_json_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let dir_s = tmp.path().to_str().unwrap();
    let before = chrono::Utc::now().date_naive();
    let (code, out, err, _) = run_with(
        &go_stats(),
        "[]",
        &["--json", "--gate", "min_trades=300", "--save", dir_s],
    );
    let after = chrono::Utc::now().date_naive();
    assert_eq!(code, 1, "NO-GO: {out}");
    // stdout is the JSON alone: the raw stats plus the gate.
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["gate"]["verdict"], "NO-GO");
    assert_eq!(printed["closed_positions"], 250);
    assert!(printed.get("snapshot").is_none());
    let dated = [before, after].map(|d| format!("saved {dir_s}/{d}_stats.md\n"));
    assert!(
        err.starts_with(&dated[0]) || err.starts_with(&dated[1]),
        "{err}"
    );
    let md = std::fs::read_to_string(err.lines().next().unwrap().strip_prefix("saved ").unwrap())
        .unwrap();
    assert!(md.contains("\n## Gate: NO-GO\n"), "{md}");
    assert!(
        md.ends_with("\n**NO-GO** (1 of 1 criterion failing: min_trades)\n"),
        "{md}"
    );
}

#[test]
fn save_into_a_file_exits_73() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let (code, _, err, _) = run_with(&go_stats(), "[]", &["--save", file.to_str().unwrap()]);
    assert_eq!(code, 73);
    assert!(
        err.starts_with("loms-stats: cannot create the folder "),
        "{err}"
    );
}

#[test]
fn json_with_a_gate_adds_the_verdict() {
    let (code, out, _, _) = run_with(
        &with(json!({"profit_factor": 1.1})),
        "[]",
        &["--json", "--gate", GATE],
    );
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["gate"]["verdict"], "NO-GO");
    assert_eq!(v["gate"]["criteria"][3]["ok"], false);
    assert_eq!(v["gate"]["warnings"], json!([]));
    let mut raw = v.clone();
    raw.as_object_mut().unwrap().remove("gate");
    assert_eq!(raw, with(json!({"profit_factor": 1.1})));
}

#[test]
fn bad_gate_exits_64_listing_the_names() {
    let bin = env!("CARGO_BIN_EXE_loms-stats");
    for gate in ["min_trade=200", "min_winrate=lots", "min_trades", ""] {
        let run = Command::new(bin)
            .args(["--url", "http://127.0.0.1:9", "--gate", gate])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(64), "{gate}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains(
                "accepted: min_trades, min_winrate, max_drawdown_pct, min_profit_factor, \
                 min_expectancy, min_net_pnl"
            ),
            "{gate}: {stderr}"
        );
    }
    for argv in [
        &["loms-stats", "--gate", "min_winrate=101"][..],
        &["loms-stats", "--gate", "min_trades=1,min_trades=2"],
        &["loms-stats", "--capital", "0"],
        &["loms-stats", "--capital", "-5"],
    ] {
        assert!(Args::try_parse_from(argv).is_err(), "{argv:?}");
    }
}
