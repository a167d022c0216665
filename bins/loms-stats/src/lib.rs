//! `loms-stats`: the LOMS `/stats` answer as a compact trading snapshot for operators,
//! with the equity curve as a sparkline, an optional go/no-go gate (`--gate`) and dated
//! snapshots on disk (`--save`).
//!
//! Exit codes: [`EXIT_OK`] on success (and GO), [`EXIT_REFUSED`] when the server answers
//! an error (its `error` and `detail` are printed) or the gate says NO-GO
//! ([`EXIT_NO_GO`]), [`EXIT_UNREACHABLE`] when the server cannot be reached or its answer
//! is not a stats report, [`EXIT_USAGE`] for bad arguments, [`EXIT_CANT_SAVE`] when
//! `--save` could not write the snapshot.

use chrono::{NaiveDate, SecondsFormat, Utc};
use clap::Parser;
use loms_client::{Client, Method, show};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod curve;
mod gate;

pub use curve::{Curve, sparkline};
pub use gate::{Criterion, Gate, Wilson, parse_gate};

/// Exit code: the snapshot was printed (and the gate, if any, says GO).
pub const EXIT_OK: u8 = 0;
/// Exit code: the server answered an error (4xx/5xx), e.g. a bad `--since`.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: the gate says NO-GO (same as [`EXIT_REFUSED`]: anything but GO).
pub const EXIT_NO_GO: u8 = 1;
/// Exit code: unreachable, timed out, or an answer that is not a LOMS stats report.
pub const EXIT_UNREACHABLE: u8 = 2;
/// Exit code: bad command-line arguments (EX_USAGE), including a bad `--gate`.
pub const EXIT_USAGE: u8 = 64;
/// Exit code: `--save` could not write the snapshot (EX_CANTCREAT).
pub const EXIT_CANT_SAVE: u8 = 73;

const TOOL: &str = "loms-stats";

/// Command-line arguments of `loms-stats`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loms-stats",
    version,
    about = "Trading snapshot of a running LOMS: GET /stats, print PnL, winrate (with its 95 % \
             Wilson interval), drawdown, the equity curve, counts by close reason and by \
             symbol; optionally judge it with a go/no-go gate and save a dated snapshot.",
    after_help = "Exit codes: 0 ok (and GO with --gate), 1 the server refused the query or the \
                  gate says NO-GO, 2 unreachable or not a stats report, 64 bad arguments \
                  (including --gate), 73 --save could not write.\n\n\
                  Gate criteria (--gate \"name=number,...\"): min_trades, min_winrate (judged \
                  on the 95 % Wilson lower bound), max_drawdown_pct (percent of --capital), \
                  min_profit_factor, min_expectancy, min_net_pnl."
)]
pub struct Args {
    /// LOMS base URL.
    #[arg(long, env = "LOMS_URL", default_value = "http://127.0.0.1:8000", value_parser = show::parse_url)]
    pub url: String,
    /// Print the raw /stats JSON, pretty-printed (with --gate, plus the verdict under
    /// "gate").
    #[arg(long)]
    pub json: bool,
    /// Give up after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = show::parse_timeout)]
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
    /// Also write DIR/YYYY-MM-DD_stats.md and DIR/YYYY-MM-DD_stats.json (UTC date of
    /// --until if given, else today); DIR is created.
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Go/no-go criteria as name=number pairs, e.g.
    /// min_trades=200,min_winrate=45,max_drawdown_pct=10,min_profit_factor=1.2; exit 0
    /// only on GO.
    #[arg(long, value_name = "CRITERIA", value_parser = gate::parse_gate)]
    pub gate: Option<Gate>,
    /// Starting capital in USDT, for max_drawdown_pct (/stats reports drawdown in USDT).
    #[arg(long, value_name = "USDT", default_value = "100", value_parser = parse_capital)]
    pub capital: f64,
}

/// Clap parser for `--capital`: USDT above 0.
fn parse_capital(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| format!("`{s}` is not an amount of USDT above 0"))
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
    let client = Client::new(&args.url).with_timeout(args.timeout);
    let answer = match client.fetch(Method::Get, "/stats", &query, None) {
        Ok(answer) => answer,
        Err(e) => {
            let _ = writeln!(err, "{}", show::failure(TOOL, &args.url, &e));
            return EXIT_UNREACHABLE;
        }
    };
    let body = show::parse_json(&endpoint, &answer);
    if !(200..300).contains(&answer.status) {
        if let (true, Ok(json)) = (args.json, &body) {
            let _ = out.write_all(show::pretty(json).as_bytes());
        }
        let why = match &body {
            Ok(json) if json.get("error").is_some() || json.get("detail").is_some() => {
                let error = show::text(json.get("error"));
                match json.get("detail") {
                    Some(detail) => format!("{error}: {}", show::text(Some(detail))),
                    None => error,
                }
            }
            _ => show::snippet(&answer.body),
        };
        let msg = format!("LOMS refused {endpoint} (HTTP {}): {why}", answer.status);
        return say(err, msg, EXIT_REFUSED);
    }
    let stats = match body {
        Ok(stats) => stats,
        Err(msg) => return say(err, msg, EXIT_UNREACHABLE),
    };
    // Without a gate, --json is the raw answer whatever it is (as before the gate).
    if args.json && args.gate.is_none() {
        let _ = out.write_all(show::pretty(&stats).as_bytes());
    }
    if stats
        .get("total_positions")
        .and_then(Value::as_f64)
        .is_none()
    {
        let msg = format!(
            "the answer of {endpoint} is not a LOMS stats report (no numeric `total_positions`): {}",
            show::snippet(&answer.body)
        );
        return say(err, msg, EXIT_UNREACHABLE);
    }
    let verdict = args
        .gate
        .as_ref()
        .map(|g| gate::evaluate(g, &stats, args.capital));
    let curve = (!args.json || args.save.is_some()).then(|| equity_curve(args, &client, &stats));
    let curve_row = curve.as_ref().map(|c| match c {
        Ok(c) => c.row(),
        Err(why) => format!("not available ({why})"),
    });
    let text = snapshot(args, &stats, curve_row.as_deref(), verdict.is_none());
    if args.json {
        if let Some(v) = &verdict {
            let mut merged = stats.clone();
            merged["gate"] = v.json();
            let _ = out.write_all(show::pretty(&merged).as_bytes());
        }
    } else {
        let _ = out.write_all(text.as_bytes());
        if let Some(v) = &verdict {
            let _ = writeln!(out, "\n{}", v.text().join("\n"));
        }
    }
    let go = verdict.as_ref().is_none_or(gate::Verdict::go);
    if let Some(dir) = &args.save {
        let curve = curve.and_then(Result::ok);
        let snap = Snapshot {
            args,
            stats: &stats,
            text: &text,
            verdict: verdict.as_ref(),
            curve: curve.as_ref(),
        };
        match snap.save(dir) {
            Ok(paths) => {
                // With --json, stdout is the JSON alone.
                let to: &mut dyn Write = if args.json { err } else { out };
                for path in paths {
                    let _ = writeln!(to, "saved {}", path.display());
                }
            }
            Err(msg) => return say(err, msg, EXIT_CANT_SAVE),
        }
    }
    if go { EXIT_OK } else { EXIT_NO_GO }
}

/// The equity curve of the closed trades in the report's filters; the error says why
/// there is none (the snapshot goes on without it).
fn equity_curve(args: &Args, client: &Client, stats: &Value) -> Result<Curve, String> {
    if gate::count_of(stats, "closed_positions") == Some(0) {
        return Ok(Curve { points: Vec::new() });
    }
    let since = curve::bound(stats, "since", args.since.as_deref());
    let until = curve::bound(stats, "until", args.until.as_deref());
    curve::fetch(client, args.symbol.as_deref(), since, until)
}

/// Everything a saved snapshot holds.
struct Snapshot<'a> {
    args: &'a Args,
    stats: &'a Value,
    /// The terminal snapshot (without the gate, which gets its own section).
    text: &'a str,
    verdict: Option<&'a gate::Verdict>,
    curve: Option<&'a Curve>,
}

impl Snapshot<'_> {
    /// The snapshot's date: UTC date of `--until` (the server's echo first), else today.
    fn date(&self) -> NaiveDate {
        curve::bound(self.stats, "until", self.args.until.as_deref())
            .unwrap_or_else(Utc::now)
            .date_naive()
    }

    /// Write `DIR/YYYY-MM-DD_stats.md` and `.json`; returns their paths.
    fn save(&self, dir: &Path) -> Result<[PathBuf; 2], String> {
        let date = self.date();
        let taken_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let shown = dir.display();
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the folder {shown} for --save ({e})"))?;
        let md_path = dir.join(format!("{date}_stats.md"));
        let json_path = dir.join(format!("{date}_stats.json"));

        let mut md = format!(
            "# LOMS stats {date}\n\n- taken at: {taken_at}\n- server: {}\n- filters: {}\n\n\
             ```text\n{}```\n",
            self.args.url,
            filters(self.args, self.stats),
            self.text
        );
        if let Some(v) = self.verdict {
            md.push('\n');
            md.push_str(&v.markdown());
        }

        let mut json = self.stats.clone();
        if let Some(v) = self.verdict {
            json["gate"] = v.json();
        }
        json["snapshot"] = serde_json::json!({
            "date": date.to_string(),
            "taken_at": taken_at,
            "url": self.args.url,
            "winrate_ci": gate::winrate_ci(self.stats).as_ref().map(Wilson::json),
            "equity_curve": self.curve.map(|c| c.points.clone()),
        });

        for (path, content) in [(&md_path, md), (&json_path, show::pretty(&json))] {
            std::fs::write(path, content)
                .map_err(|e| format!("cannot write {} ({e})", path.display()))?;
        }
        Ok([md_path, json_path])
    }
}

/// The readable snapshot: header, figures (with the equity curve row when given, and
/// the small-sample warning when `warn`), by close reason, by symbol.
fn snapshot(args: &Args, s: &Value, curve: Option<&str>, warn: bool) -> String {
    let f = |key: &str| s.get(key);
    let pnl = |key: &str| show::num(f(key), 4);
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
        pf => show::num(pf, 2),
    };
    let winrate = match gate::winrate_ci(s) {
        Some(ci) => format!(
            "{} ({})  {} wins, {} losses",
            percent(f("winrate")),
            ci.label(),
            count(f("winning_trades")),
            count(f("losing_trades"))
        ),
        None => format!(
            "{}  ({} wins, {} losses)",
            percent(f("winrate")),
            count(f("winning_trades")),
            count(f("losing_trades"))
        ),
    };
    rows.extend([
        ("winrate", winrate),
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
        ("trades per day", show::num(f("trades_per_day"), 2)),
        ("first trade", show::text(f("first_trade_at"))),
        ("last trade", show::text(f("last_trade_at"))),
    ]);
    for (key, label, unit) in [
        ("entry_slippage_bps", "entry slippage", "bps"),
        ("signal_to_fill_ms", "signal to fill", "ms"),
        // Shadow vs live drift: the live entry fill against paper's fill of the signal.
        ("shadow_drift_bps", "live vs paper", "bps"),
    ] {
        if let Some(m) = f(key).filter(|v| v.is_object()) {
            rows.push((
                label,
                format!(
                    "avg {} {unit}, worst {} {unit} over {} trades",
                    show::num(m.get("avg"), 2),
                    show::num(m.get("max"), 2),
                    count(m.get("trades"))
                ),
            ));
        }
    }
    if let Some(curve) = curve {
        rows.push(("equity curve", curve.to_owned()));
    }
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    let mut lines = vec![format!(
        "LOMS stats  {}  filters: {}",
        args.url,
        filters(args, s)
    )];
    lines.extend(rows.iter().map(|(l, v)| format!("  {l:<width$}  {v}")));
    if warn {
        lines.extend(gate::winrate_warning(s));
    }
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
                Some(echoed) => Some(show::text(Some(echoed))),
                None => mine.map(show::clean),
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
            let key = show::as_f64(n).unwrap_or(f64::NEG_INFINITY);
            (key, vec![show::clean(reason), count(Some(n))])
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
            let trades = f("trades").and_then(show::as_f64);
            let wins = f("wins").and_then(show::as_f64);
            let win_pct = match (wins, trades) {
                (Some(w), Some(t)) if t > 0.0 => format!("{:.1}", w / t * 100.0),
                _ => "-".to_owned(),
            };
            let key = f("pnl").and_then(show::as_f64).unwrap_or(f64::NEG_INFINITY);
            let cells = vec![
                show::clean(symbol),
                count(f("trades")),
                count(f("wins")),
                win_pct,
                show::num(f("pnl"), 4),
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
    match v.and_then(show::as_f64) {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        _ => show::text(v),
    }
}

/// A percentage with one decimal, null as `-`.
fn percent(v: Option<&Value>) -> String {
    match v.and_then(show::as_f64) {
        Some(x) => format!("{x:.1} %"),
        None => show::text(v),
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
