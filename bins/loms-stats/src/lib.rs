//! `loms-stats`: the LOMS `/stats` answer as a compact trading snapshot for operators.
//!
//! Exit codes: [`EXIT_OK`] on success, [`EXIT_REFUSED`] when the server answers an error
//! (its `error` and `detail` are printed), [`EXIT_UNREACHABLE`] when the server cannot
//! be reached or its answer is not a stats report, [`EXIT_USAGE`] for bad arguments.

use clap::Parser;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

// The HTTP and display helpers are shared with loms-health, which owns the file.
#[path = "../../loms-health/src/http.rs"]
mod http;

/// Exit code: the snapshot was printed.
pub const EXIT_OK: u8 = 0;
/// Exit code: the server answered an error (4xx/5xx), e.g. a bad `--since`.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: unreachable, timed out, or an answer that is not a LOMS stats report.
pub const EXIT_UNREACHABLE: u8 = 2;
/// Exit code: bad command-line arguments (EX_USAGE).
pub const EXIT_USAGE: u8 = 64;

const TOOL: &str = "loms-stats";

/// Command-line arguments of `loms-stats`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loms-stats",
    version,
    about = "Trading snapshot of a running LOMS: GET /stats, print PnL, winrate, drawdown, \
             counts by close reason and by symbol.",
    after_help = "Exit codes: 0 ok, 1 the server refused the query, \
                  2 unreachable or not a stats report, 64 bad arguments."
)]
pub struct Args {
    /// LOMS base URL.
    #[arg(long, env = "LOMS_URL", default_value = "http://127.0.0.1:8000", value_parser = http::parse_url)]
    pub url: String,
    /// Print the raw /stats JSON, pretty-printed.
    #[arg(long)]
    pub json: bool,
    /// Give up after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = http::parse_timeout)]
    pub timeout: Duration,
    /// Only trades closed at or after this time, e.g. 2025-12-01T00:00:00Z.
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Only trades closed before this time, e.g. 2025-12-02T00:00:00Z.
    #[arg(long, value_name = "RFC3339")]
    pub until: Option<String>,
    /// Only this symbol, e.g. BTCUSDT.
    #[arg(long, value_name = "SYM")]
    pub symbol: Option<String>,
}

/// Fetch `/stats` with the filters, print the snapshot (or the JSON) to `out`, problems
/// to `err`; returns the exit code. Write errors on `out` are ignored.
pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let endpoint = format!("{}/stats", args.url);
    let say = |err: &mut dyn Write, msg: String, code: u8| {
        let _ = writeln!(err, "{TOOL}: {msg}");
        code
    };
    let query: Vec<(&str, &str)> = asked(args)
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect();
    let answer = match http::get(&args.url, "/stats", &query, args.timeout) {
        Ok(answer) => answer,
        Err(failure) => {
            let _ = writeln!(err, "{}", failure.message(TOOL, &args.url));
            return EXIT_UNREACHABLE;
        }
    };
    let body = http::parse_json(&endpoint, &answer);
    if !(200..300).contains(&answer.status) {
        if let (true, Ok(json)) = (args.json, &body) {
            let _ = out.write_all(http::pretty(json).as_bytes());
        }
        let why = match &body {
            Ok(json) if json.get("error").is_some() || json.get("detail").is_some() => {
                let error = http::text(json.get("error"));
                match json.get("detail") {
                    Some(detail) => format!("{error}: {}", http::text(Some(detail))),
                    None => error,
                }
            }
            _ => http::snippet(&answer.body),
        };
        let msg = format!("LOMS refused {endpoint} (HTTP {}): {why}", answer.status);
        return say(err, msg, EXIT_REFUSED);
    }
    let stats = match body {
        Ok(stats) => stats,
        Err(msg) => return say(err, msg, EXIT_UNREACHABLE),
    };
    if args.json {
        let _ = out.write_all(http::pretty(&stats).as_bytes());
    }
    if stats
        .get("total_positions")
        .and_then(Value::as_f64)
        .is_none()
    {
        let msg = format!(
            "the answer of {endpoint} is not a LOMS stats report (no numeric `total_positions`): {}",
            http::snippet(&answer.body)
        );
        return say(err, msg, EXIT_UNREACHABLE);
    }
    if !args.json {
        let _ = out.write_all(snapshot(args, &stats).as_bytes());
    }
    EXIT_OK
}

/// The readable snapshot: header, figures, by close reason, by symbol.
fn snapshot(args: &Args, s: &Value) -> String {
    let f = |key: &str| s.get(key);
    let pnl = |key: &str| http::num(f(key), 4);
    let mut rows = vec![
        (
            "trades",
            format!(
                "{} total, {} open, {} closed",
                count(f("total_positions")),
                count(f("open_positions")),
                count(f("closed_positions"))
            ),
        ),
        ("total pnl", pnl("total_pnl")),
    ];
    for (key, label) in [
        ("gross_pnl", "gross pnl"),
        ("fees_paid", "fees paid"),
        ("net_pnl", "net pnl"),
    ] {
        if f(key).is_some() {
            rows.push((label, pnl(key)));
        }
    }
    let profit_factor = match f("profit_factor") {
        None | Some(Value::Null) => "n/a".to_owned(),
        pf => http::num(pf, 2),
    };
    rows.extend([
        (
            "winrate",
            format!(
                "{}  ({} wins, {} losses)",
                percent(f("winrate")),
                count(f("winning_trades")),
                count(f("losing_trades"))
            ),
        ),
        (
            "avg pnl",
            format!(
                "{} per trade, {} per win, {} per loss",
                pnl("avg_pnl_per_trade"),
                pnl("avg_pnl_win"),
                pnl("avg_pnl_loss")
            ),
        ),
        ("max drawdown", pnl("max_drawdown")),
        ("profit factor", profit_factor),
        ("expectancy", pnl("expectancy")),
        ("trades per day", http::num(f("trades_per_day"), 2)),
        ("first trade", http::text(f("first_trade_at"))),
        ("last trade", http::text(f("last_trade_at"))),
    ]);
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    let mut lines = vec![format!(
        "LOMS stats  {}  filters: {}",
        args.url,
        filters(args, s)
    )];
    lines.extend(rows.iter().map(|(l, v)| format!("  {l:<width$}  {v}")));
    lines.push(String::new());
    lines.extend(by_reason(f("by_close_reason")));
    lines.push(String::new());
    lines.extend(by_symbol(f("by_symbol")));
    lines.push(String::new());
    lines.join("\n")
}

/// The filters asked for on the command line, as query parameter names and values.
fn asked(args: &Args) -> [(&'static str, Option<&str>); 3] {
    [
        ("since", args.since.as_deref()),
        ("until", args.until.as_deref()),
        ("symbol", args.symbol.as_deref()),
    ]
}

/// The filters the server applied (its `filters` echo), else the ones asked for.
fn filters(args: &Args, s: &Value) -> String {
    let shown: Vec<String> = asked(args)
        .into_iter()
        .filter_map(|(key, mine)| {
            let value = match s.get("filters").and_then(|f| f.get(key)) {
                Some(Value::Null) => None,
                Some(echoed) => Some(http::text(Some(echoed))),
                None => mine.map(http::clean),
            };
            value.map(|v| format!("{key}={v}"))
        })
        .collect();
    if shown.is_empty() {
        "none".to_owned()
    } else {
        shown.join(" ")
    }
}

/// Close reasons by count, most frequent first.
fn by_reason(v: Option<&Value>) -> Vec<String> {
    let Some(reasons) = v.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return vec!["by close reason: none".to_owned()];
    };
    let mut rows: Vec<(f64, Vec<String>)> = reasons
        .iter()
        .map(|(reason, n)| {
            let key = http::as_f64(n).unwrap_or(f64::NEG_INFINITY);
            (key, vec![http::clean(reason), count(Some(n))])
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut lines = vec!["by close reason".to_owned()];
    lines.extend(table(&["reason", "trades"], rows.into_iter().map(|r| r.1)));
    lines
}

/// Symbols by PnL, best first: trades, wins, win %, pnl.
fn by_symbol(v: Option<&Value>) -> Vec<String> {
    let Some(symbols) = v.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return vec!["by symbol: none".to_owned()];
    };
    let mut rows: Vec<(f64, Vec<String>)> = symbols
        .iter()
        .map(|(symbol, figures)| {
            let f = |key: &str| figures.get(key);
            let trades = f("trades").and_then(http::as_f64);
            let wins = f("wins").and_then(http::as_f64);
            let win_pct = match (wins, trades) {
                (Some(w), Some(t)) if t > 0.0 => format!("{:.1}", w / t * 100.0),
                _ => "-".to_owned(),
            };
            let key = f("pnl").and_then(http::as_f64).unwrap_or(f64::NEG_INFINITY);
            let cells = vec![
                http::clean(symbol),
                count(f("trades")),
                count(f("wins")),
                win_pct,
                http::num(f("pnl"), 4),
            ];
            (key, cells)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut lines = vec!["by symbol".to_owned()];
    let header = ["symbol", "trades", "wins", "win %", "pnl"];
    lines.extend(table(&header, rows.into_iter().map(|r| r.1)));
    lines
}

/// An indented table: first column left-aligned, the others right-aligned.
fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<String> {
    let mut all = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
    all.extend(rows);
    let mut widths = vec![0; header.len()];
    for row in &all {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    all.iter()
        .map(|row| {
            let cells = row.iter().zip(&widths).enumerate().map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            });
            format!("  {}", cells.collect::<Vec<_>>().join("  "))
        })
        .collect()
}

/// A count: whole numbers without decimals, anything else as given, null as `-`.
fn count(v: Option<&Value>) -> String {
    match v.and_then(http::as_f64) {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        _ => http::text(v),
    }
}

/// A percentage with one decimal, null as `-`.
fn percent(v: Option<&Value>) -> String {
    match v.and_then(http::as_f64) {
        Some(x) => format!("{x:.1} %"),
        None => http::text(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_and_percents() {
        assert_eq!(count(Some(&json!(10))), "10");
        assert_eq!(count(Some(&json!(10.0))), "10");
        assert_eq!(count(Some(&json!(2.5))), "2.5");
        assert_eq!(count(Some(&json!(null))), "-");
        assert_eq!(count(None), "-");
        assert_eq!(percent(Some(&json!(62.5))), "62.5 %");
        assert_eq!(percent(Some(&json!(null))), "-");
    }

    #[test]
    fn table_aligns() {
        let rows = vec![
            vec!["ETHUSDT".to_owned(), "3".to_owned()],
            vec!["X".to_owned(), "12345".to_owned()],
        ];
        assert_eq!(
            table(&["symbol", "n"], rows.into_iter()),
            ["  symbol       n", "  ETHUSDT      3", "  X        12345"]
        );
    }
}
