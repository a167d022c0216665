//! `--gate`: go/no-go criteria over the `/stats` figures, judged with the winrate's 95 %
//! Wilson score interval.

use loms_client::show;
use serde_json::{Value, json};
use std::fmt;

/// z for a two-sided 95 % interval.
pub(crate) const Z95: f64 = 1.96;

/// Below this many closed trades the winrate is not worth judging.
const MIN_SAMPLE: u64 = 30;

/// An interval wider than this (percentage points) says too little.
const MAX_CI_WIDTH: f64 = 20.0;

/// One go/no-go criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// At least this many closed trades.
    MinTrades,
    /// The winrate's 95 % Wilson lower bound at least this many percent.
    MinWinrate,
    /// Max drawdown at most this percent of `--capital`.
    MaxDrawdownPct,
    /// Profit factor at least this.
    MinProfitFactor,
    /// Expectancy (USDT per trade) at least this.
    MinExpectancy,
    /// Net PnL (USDT, after fees) at least this.
    MinNetPnl,
}

impl Criterion {
    /// Every criterion, in the order of the accepted-names message.
    pub const ALL: [Criterion; 6] = [
        Self::MinTrades,
        Self::MinWinrate,
        Self::MaxDrawdownPct,
        Self::MinProfitFactor,
        Self::MinExpectancy,
        Self::MinNetPnl,
    ];

    /// The name used in `--gate`.
    pub fn name(self) -> &'static str {
        match self {
            Self::MinTrades => "min_trades",
            Self::MinWinrate => "min_winrate",
            Self::MaxDrawdownPct => "max_drawdown_pct",
            Self::MinProfitFactor => "min_profit_factor",
            Self::MinExpectancy => "min_expectancy",
            Self::MinNetPnl => "min_net_pnl",
        }
    }

    /// An upper limit (the value must be at most the threshold)?
    fn is_max(self) -> bool {
        self == Self::MaxDrawdownPct
    }

    /// Why `x` is not a valid threshold, if it is not.
    fn reject(self, x: f64) -> Option<&'static str> {
        match self {
            Self::MinTrades if x < 0.0 || x.fract() != 0.0 => Some("a whole number, 0 or more"),
            Self::MinWinrate if !(0.0..=100.0).contains(&x) => Some("a percent from 0 to 100"),
            Self::MaxDrawdownPct if x < 0.0 => Some("a percent, 0 or more"),
            _ => None,
        }
    }

    /// The threshold with its unit, e.g. `≥ 45 %`.
    fn required(self, t: f64) -> String {
        let op = if self.is_max() { "≤" } else { "≥" };
        let unit = match self {
            Self::MinWinrate | Self::MaxDrawdownPct => " %",
            Self::MinExpectancy | Self::MinNetPnl => " USDT",
            _ => "",
        };
        format!("{op} {t}{unit}")
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The criteria of `--gate`, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate(pub Vec<(Criterion, f64)>);

/// The accepted names, for error messages.
fn accepted() -> String {
    let names: Vec<&str> = Criterion::ALL.iter().map(|c| c.name()).collect();
    format!(
        "accepted: {} (e.g. \"min_trades=200,min_winrate=45,max_drawdown_pct=10,min_profit_factor=1.2\")",
        names.join(", ")
    )
}

/// Clap parser for `--gate`: `name=number` pairs separated by commas.
pub fn parse_gate(s: &str) -> Result<Gate, String> {
    let mut rules: Vec<(Criterion, f64)> = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, value)) = item.split_once('=') else {
            return Err(format!("`{item}` is not name=number; {}", accepted()));
        };
        let (name, value) = (name.trim(), value.trim());
        let criterion = Criterion::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("unknown criterion `{name}`; {}", accepted()))?;
        let x = value
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("`{item}`: `{value}` is not a number; {}", accepted()))?;
        if let Some(want) = criterion.reject(x) {
            return Err(format!("`{item}`: {criterion} must be {want}"));
        }
        if rules.iter().any(|(c, _)| *c == criterion) {
            return Err(format!("{criterion} is given twice"));
        }
        rules.push((criterion, x));
    }
    if rules.is_empty() {
        return Err(format!("no criterion given; {}", accepted()));
    }
    Ok(Gate(rules))
}

/// A winrate's 95 % Wilson score interval, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wilson {
    /// Winning trades.
    pub wins: u64,
    /// Closed trades.
    pub n: u64,
    /// Lower bound, percent.
    pub lower: f64,
    /// Upper bound, percent.
    pub upper: f64,
}

impl Wilson {
    /// The interval of `wins` out of `n` trades; `None` without trades or with more wins
    /// than trades.
    ///
    /// p̂ = wins/n; centre = (p̂ + z²/2n) / (1 + z²/n);
    /// half-width = z/(1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²).
    pub fn new(wins: u64, n: u64) -> Option<Self> {
        if n == 0 || wins > n {
            return None;
        }
        let (w, n_f) = (wins as f64, n as f64);
        let p = w / n_f;
        let z2 = Z95 * Z95;
        let denom = 1.0 + z2 / n_f;
        let centre = (p + z2 / (2.0 * n_f)) / denom;
        let half = Z95 / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
        Some(Self {
            wins,
            n,
            lower: ((centre - half) * 100.0).max(0.0),
            upper: ((centre + half) * 100.0).min(100.0),
        })
    }

    /// `95 % CI 45.1–58.8 %, n=200`.
    pub fn label(&self) -> String {
        format!(
            "95 % CI {:.1}–{:.1} %, n={}",
            self.lower, self.upper, self.n
        )
    }

    /// The interval as JSON.
    pub fn json(&self) -> Value {
        json!({
            "wins": self.wins, "n": self.n, "z": Z95,
            "lower_pct": self.lower, "upper_pct": self.upper,
        })
    }
}

/// A whole, non-negative count from the stats.
pub(crate) fn count_of(stats: &Value, key: &str) -> Option<u64> {
    stats
        .get(key)
        .and_then(show::as_f64)
        .filter(|x| *x >= 0.0 && x.fract() == 0.0 && *x < 9e15)
        .map(|x| x as u64)
}

/// The interval of the report's `winning_trades` out of `closed_positions`.
pub(crate) fn winrate_ci(stats: &Value) -> Option<Wilson> {
    Wilson::new(
        count_of(stats, "winning_trades")?,
        count_of(stats, "closed_positions")?,
    )
}

/// The warning when the sample is too small to judge the winrate: fewer than 30 closed
/// trades, or an interval wider than 20 points.
pub(crate) fn winrate_warning(stats: &Value) -> Option<String> {
    let n = count_of(stats, "closed_positions")?;
    let ci = winrate_ci(stats);
    let too_small = n < MIN_SAMPLE || ci.is_some_and(|c| c.upper - c.lower > MAX_CI_WIDTH);
    if !too_small {
        return None;
    }
    Some(match (n, ci) {
        (0, _) => "WARNING: no closed trades, nothing to judge the winrate on".to_owned(),
        (_, Some(c)) => format!(
            "WARNING: {n} {} too few to judge the winrate (95 % CI {:.1}–{:.1} % is {:.1} points wide)",
            if n == 1 { "trade is" } else { "trades are" },
            c.lower,
            c.upper,
            c.upper - c.lower
        ),
        (_, None) => format!("WARNING: {n} trades are too few to judge the winrate"),
    })
}

/// One judged criterion.
#[derive(Debug, Clone)]
struct Row {
    criterion: Criterion,
    threshold: f64,
    /// The value judged (+∞ for a profit factor without losses); `None` when unknown.
    value: Option<f64>,
    /// The value for display.
    shown: String,
    ok: bool,
    /// Where the value comes from.
    note: String,
}

/// The gate's verdict over one `/stats` report.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    rows: Vec<Row>,
    warning: Option<String>,
    capital: f64,
    ci: Option<Wilson>,
}

/// Judge `stats` by `gate`; drawdown percentages are of `capital` USDT.
pub(crate) fn evaluate(gate: &Gate, stats: &Value, capital: f64) -> Verdict {
    let num = |key: &str| stats.get(key).and_then(show::as_f64);
    let closed = count_of(stats, "closed_positions");
    let ci = winrate_ci(stats);
    let rows = gate
        .0
        .iter()
        .map(|&(criterion, threshold)| {
            let (value, shown, note) = match criterion {
                Criterion::MinTrades => (
                    closed.map(|n| n as f64),
                    closed.map_or("-".to_owned(), |n| n.to_string()),
                    "closed trades".to_owned(),
                ),
                Criterion::MinWinrate => match ci {
                    Some(c) => (
                        Some(c.lower),
                        format!("{:.2} %", c.lower),
                        format!(
                            "95 % CI lower bound (winrate {:.1} %, {})",
                            c.wins as f64 / c.n as f64 * 100.0,
                            c.label()
                        ),
                    ),
                    None => (None, "-".to_owned(), "no closed trades".to_owned()),
                },
                Criterion::MaxDrawdownPct => match num("max_drawdown") {
                    Some(dd) => (
                        Some(dd / capital * 100.0),
                        format!("{:.2} %", dd / capital * 100.0),
                        format!("max drawdown {dd:.4} USDT of {capital} USDT capital"),
                    ),
                    None => (None, "-".to_owned(), "no max_drawdown in /stats".to_owned()),
                },
                Criterion::MinProfitFactor => match num("profit_factor") {
                    Some(pf) => (Some(pf), format!("{pf:.2}"), String::new()),
                    None if count_of(stats, "winning_trades").is_some_and(|w| w > 0)
                        && count_of(stats, "losing_trades") == Some(0) =>
                    {
                        (
                            Some(f64::INFINITY),
                            "∞".to_owned(),
                            "no losing trade".to_owned(),
                        )
                    }
                    None => (None, "n/a".to_owned(), "no winning trade".to_owned()),
                },
                Criterion::MinExpectancy => match num("expectancy") {
                    Some(x) => (Some(x), format!("{x:.4}"), "USDT per trade".to_owned()),
                    None => (None, "-".to_owned(), "no expectancy in /stats".to_owned()),
                },
                Criterion::MinNetPnl => match num("net_pnl").or_else(|| num("total_pnl")) {
                    Some(x) => (Some(x), format!("{x:.4}"), "USDT after fees".to_owned()),
                    None => (None, "-".to_owned(), "no net_pnl in /stats".to_owned()),
                },
            };
            let ok = value.is_some_and(|v| {
                if criterion.is_max() {
                    v <= threshold
                } else {
                    v >= threshold
                }
            });
            Row {
                criterion,
                threshold,
                value,
                shown,
                ok,
                note,
            }
        })
        .collect();
    Verdict {
        rows,
        warning: winrate_warning(stats),
        capital,
        ci,
    }
}

impl Verdict {
    /// Every criterion passes.
    pub(crate) fn go(&self) -> bool {
        self.rows.iter().all(|r| r.ok)
    }

    /// `GO` or `NO-GO`.
    pub(crate) fn label(&self) -> &'static str {
        if self.go() { "GO" } else { "NO-GO" }
    }

    fn failing(&self) -> Vec<&'static str> {
        self.rows
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.criterion.name())
            .collect()
    }

    /// `(all 4 criteria pass)` or `(1 of 4 criteria failing: min_winrate)`.
    fn summary(&self) -> String {
        let failing = self.failing();
        let n = self.rows.len();
        let word = if n == 1 { "criterion" } else { "criteria" };
        if failing.is_empty() {
            format!("(all {n} {word} pass)")
        } else {
            format!(
                "({} of {n} {word} failing: {})",
                failing.len(),
                failing.join(", ")
            )
        }
    }

    /// The drawdown note, when max_drawdown_pct is judged.
    fn capital_note(&self) -> Option<String> {
        self.rows
            .iter()
            .any(|r| r.criterion == Criterion::MaxDrawdownPct)
            .then(|| {
                format!(
                    "max_drawdown_pct: /stats reports the drawdown in USDT; it is taken as a \
                     percent of the starting capital, {} USDT (--capital)",
                    self.capital
                )
            })
    }

    fn cells(&self) -> Vec<[String; 5]> {
        self.rows
            .iter()
            .map(|r| {
                [
                    r.criterion.name().to_owned(),
                    r.criterion.required(r.threshold),
                    r.shown.clone(),
                    if r.ok { "PASS" } else { "FAIL" }.to_owned(),
                    r.note.clone(),
                ]
            })
            .collect()
    }

    /// The terminal block: heading, one line per criterion, warning, verdict line.
    pub(crate) fn text(&self) -> Vec<String> {
        let mut lines = vec!["go/no-go gate".to_owned()];
        if let Some(note) = self.capital_note() {
            lines.push(format!("  {note}"));
        }
        let header = ["criterion", "required", "value", "verdict", ""].map(str::to_owned);
        let mut all = vec![header];
        all.extend(self.cells());
        let mut widths = [0usize; 5];
        for row in &all {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in &all {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            lines.push(format!("  {}", cells.join("  ")).trim_end().to_owned());
        }
        lines.extend(self.warning.clone());
        lines.push(format!("{}  {}", self.label(), self.summary()));
        lines
    }

    /// The markdown section: a table, the notes, the verdict.
    pub(crate) fn markdown(&self) -> String {
        let mut md = format!("## Gate: {}\n\n", self.label());
        md.push_str("| criterion | required | value | verdict | note |\n|---|---|---|---|---|\n");
        for row in self.cells() {
            md.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        md.push('\n');
        if let Some(note) = self.capital_note() {
            md.push_str(&format!("{note}.\n\n"));
        }
        if let Some(warning) = &self.warning {
            let text = warning.trim_start_matches("WARNING: ");
            md.push_str(&format!("> **WARNING:** {text}\n\n"));
        }
        md.push_str(&format!("**{}** {}\n", self.label(), self.summary()));
        md
    }

    /// The verdict as JSON.
    pub(crate) fn json(&self) -> Value {
        let criteria: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.criterion.name(),
                    "op": if r.criterion.is_max() { "<=" } else { ">=" },
                    "threshold": r.threshold,
                    "value": r.value,
                    "shown": r.shown,
                    "ok": r.ok,
                    "note": r.note,
                })
            })
            .collect();
        json!({
            "verdict": self.label(),
            "go": self.go(),
            "capital_usdt": self.capital,
            "winrate_ci": self.ci.as_ref().map(Wilson::json),
            "criteria": criteria,
            "warnings": self.warning.iter().collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.005
    }

    #[test]
    fn wilson_matches_hand_computation() {
        // 104 of 200: p̂ = 0.52, z²/n = 0.019208, centre = 0.529604 / 1.019208 = 0.519623,
        // half = 1.96 · √(0.001248 + 0.000024) / 1.019208 = 0.068586 → 45.10–58.82 %.
        let c = Wilson::new(104, 200).unwrap();
        assert!(close(c.lower, 45.104) && close(c.upper, 58.821), "{c:?}");
        assert_eq!(c.label(), "95 % CI 45.1–58.8 %, n=200");
        // Extremes stay inside 0–100.
        let all = Wilson::new(5, 5).unwrap();
        assert!(
            close(all.upper, 100.0) && close(all.lower, 56.55),
            "{all:?}"
        );
        let none = Wilson::new(0, 5).unwrap();
        assert!(
            close(none.lower, 0.0) && close(none.upper, 43.45),
            "{none:?}"
        );
        assert_eq!(Wilson::new(0, 0), None);
        assert_eq!(Wilson::new(3, 2), None);
    }

    #[test]
    fn gate_syntax() {
        let g = parse_gate(" min_trades=200, MIN_WINRATE = 45 ,max_drawdown_pct=10,").unwrap();
        assert_eq!(
            g.0,
            [
                (Criterion::MinTrades, 200.0),
                (Criterion::MinWinrate, 45.0),
                (Criterion::MaxDrawdownPct, 10.0)
            ]
        );
        let g = parse_gate("min_expectancy=-0.5,min_net_pnl=0,min_profit_factor=1.2").unwrap();
        assert_eq!(g.0.len(), 3);
        for (bad, says) in [
            ("", "no criterion given; accepted: min_trades, "),
            (
                "min_trade=3",
                "unknown criterion `min_trade`; accepted: min_trades, min_winrate, max_drawdown_pct, min_profit_factor, min_expectancy, min_net_pnl",
            ),
            ("min_trades", "`min_trades` is not name=number; accepted: "),
            (
                "min_winrate=abc",
                "`min_winrate=abc`: `abc` is not a number; accepted: ",
            ),
            ("min_winrate=NaN", "is not a number"),
            (
                "min_winrate=120",
                "min_winrate must be a percent from 0 to 100",
            ),
            ("min_trades=2.5", "min_trades must be a whole number"),
            (
                "max_drawdown_pct=-1",
                "max_drawdown_pct must be a percent, 0 or more",
            ),
            ("min_trades=1,min_trades=2", "min_trades is given twice"),
        ] {
            let err = parse_gate(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn small_samples_warn() {
        let s = |n: u64, w: u64| json!({"closed_positions": n, "winning_trades": w});
        let warn = winrate_warning(&s(12, 6)).unwrap();
        assert!(
            warn.starts_with("WARNING: 12 trades are too few to judge the winrate (95 % CI "),
            "{warn}"
        );
        assert!(
            winrate_warning(&s(1, 1))
                .unwrap()
                .contains(" 1 trade is too few")
        );
        assert!(
            winrate_warning(&s(0, 0))
                .unwrap()
                .contains("no closed trades")
        );
        // 30 trades, but the interval is ~34 points wide.
        assert!(winrate_warning(&s(30, 15)).is_some());
        // 100 trades at 50 %: 40.4–59.6, 19.2 points: enough.
        assert_eq!(winrate_warning(&s(100, 50)), None);
        assert_eq!(winrate_warning(&json!({})), None);
    }
}
