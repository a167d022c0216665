//! `loms-replay`: run signals over historical klines through the OMS's own risk, broker
//! and exit code, offline, and print the same figures as `/stats` plus the trade list.

use anyhow::{Context, bail};
use clap::Parser;
use loms_price_source::KlineSeries;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Replay signals over kline files (see docs/replay.md).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Signals: the audit JSONL written by loms-server (AUDIT_LOG_PATH), or a CSV
    /// with a header `timestamp,symbol,side,price[,tp_pct,sl_pct,qty,exit_strategy,signal_id]`.
    #[arg(long, value_name = "FILE")]
    signals: PathBuf,
    /// Kline files (Bybit or Bitget kline JSON, or CSV ts,open,high,low,close[,volume]);
    /// the symbol comes from the file or its name (BTCUSDT_1m.csv). Repeatable.
    #[arg(long = "klines", value_name = "FILE", required = true)]
    klines: Vec<PathBuf>,
    /// Print JSON (stats, trades, outcomes) instead of text.
    #[arg(long)]
    json: bool,
    /// Settings profile (risk limits, sizing, fees, exit policy), as for loms-server.
    #[arg(long)]
    profile: Option<String>,
    /// Folder of the profile files.
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// The .env file to read.
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Override any setting, e.g. --set EXIT_STRATEGY=trailing_v1 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = loms_config::parse_override)]
    set: Vec<(String, String)>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loms-replay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let sources = loms_config::ConfigSources::from_process(
        cli.profile,
        cli.config_dir,
        cli.env_file,
        cli.set,
    );
    let settings = loms_config::load(&sources).context("invalid configuration")?;

    let text = std::fs::read_to_string(&cli.signals)
        .with_context(|| format!("reading signals {}", cli.signals.display()))?;
    let is_csv = cli
        .signals
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let signals = if is_csv {
        loms_oms::replay::ReplaySignal::from_csv(&text)
    } else {
        loms_oms::replay::ReplaySignal::from_audit(&text)
    }
    .map_err(anyhow::Error::msg)
    .with_context(|| format!("reading signals {}", cli.signals.display()))?;
    let series = cli
        .klines
        .iter()
        .map(|p| KlineSeries::from_file(p, None))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = std::collections::BTreeSet::new();
    for s in &series {
        if !seen.insert(&s.symbol) {
            bail!("two kline files for {}: give one file per symbol", s.symbol);
        }
    }

    let started = Instant::now();
    let show = std::io::stderr().is_terminal();
    let mut progress = |done: u64, total: u64| {
        if show && started.elapsed().as_secs_f64() > 1.0 && total > 0 {
            let pct = done * 100 / total;
            let bar = "#".repeat((pct / 4) as usize);
            eprint!("\r[{bar:<25}] {pct:>3}%  {done}/{total} bars");
            let _ = std::io::stderr().flush();
        }
    };
    let report = loms_oms::replay::replay(&settings, signals, series, &mut progress)?;
    if show && started.elapsed().as_secs_f64() > 1.0 {
        eprintln!();
    }
    let mut out = std::io::stdout().lock();
    if cli.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    let s = &report.stats;
    writeln!(
        out,
        "LOMS replay: {} bars in files, {} evaluated, {:.2} s",
        report.bars_total,
        report.bars_evaluated,
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "signals: {}",
        report
            .signals
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(out)?;
    write!(out, "{report}")?;
    writeln!(out)?;
    writeln!(
        out,
        "closed {}  open {}  total pnl {}  (gross {}, fees {})",
        s.closed_positions,
        s.open_positions,
        s.total_pnl.round_dp(4),
        s.gross_pnl.round_dp(4),
        s.fees_paid.round_dp(4)
    )?;
    writeln!(
        out,
        "wins {}  losses {}  winrate {:.2} %  tp {}  sl {}",
        s.winning_trades, s.losing_trades, s.winrate, s.tp_count, s.sl_count
    )?;
    writeln!(
        out,
        "avg/trade {}  avg win {}  avg loss {}  max drawdown {}  profit factor {}  expectancy {}",
        s.avg_pnl_per_trade.round_dp(4),
        s.avg_pnl_win.round_dp(4),
        s.avg_pnl_loss.round_dp(4),
        s.max_drawdown.round_dp(4),
        s.profit_factor
            .map_or("-".into(), |p| p.round_dp(3).to_string()),
        s.expectancy.round_dp(4)
    )?;
    let reasons: Vec<String> = s
        .by_close_reason
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    writeln!(out, "by reason: {}", reasons.join(", "))?;
    Ok(())
}
