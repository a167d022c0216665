//! Ceiling (b) of `scripts/bench/intake.sh`: how many rows per second raw rusqlite
//! can make durable when every row is its own transaction, with the PRAGMAs of
//! `loms-storage` (WAL, `synchronous=FULL`, `foreign_keys=ON`, `BEGIN IMMEDIATE`).
//!
//! No LOMS code runs here: this is what one durable commit per request would cap
//! intake at on this disk. `--rows-per-tx N` shows what grouping N rows per commit
//! gives (group commit); the ceiling quoted by the harness is `--rows-per-tx 1`.
//!
//! ```sh
//! cargo run --release -p loms-storage --example sqlite_ceiling -- \
//!     --path /tmp/ceiling.db --secs 5 [--rows-per-tx 1]
//! ```
//!
//! Prints one line, `sqlite_ceiling rows=... secs=... rows_per_s=... commits_per_s=...
//! commit_p50_us=... commit_p99_us=... rows_per_tx=...`, for the harness to parse.

use rusqlite::{Connection, TransactionBehavior, params};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Args {
    path: PathBuf,
    secs: f64,
    rows_per_tx: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut path = None;
    let mut secs = 5.0;
    let mut rows_per_tx = 1;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--path" => path = Some(PathBuf::from(value()?)),
            "--secs" => secs = value()?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--rows-per-tx" => {
                rows_per_tx = value()?
                    .parse()
                    .map_err(|e| format!("--rows-per-tx: {e}"))?;
            }
            "-h" | "--help" => {
                return Err(
                    "usage: sqlite_ceiling --path FILE [--secs 5] [--rows-per-tx 1]".into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let path = path.ok_or("--path FILE is required (a fresh file is best)")?;
    if !(secs > 0.0 && secs <= 600.0) {
        return Err("--secs must be in (0, 600]".into());
    }
    if rows_per_tx == 0 {
        return Err("--rows-per-tx must be at least 1".into());
    }
    Ok(Args {
        path,
        secs,
        rows_per_tx,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn run(a: &Args) -> rusqlite::Result<()> {
    let mut conn = Connection::open(&a.path)?;
    // The same settings as loms_storage::Store::configure.
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A row about as wide as a LOMS position row (text decimals and times).
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS ceiling (
            id INTEGER PRIMARY KEY,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            qty TEXT NOT NULL,
            entry_price TEXT NOT NULL,
            tp_price TEXT,
            sl_price TEXT,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            signal_id TEXT NOT NULL
        );",
    )?;
    let budget = Duration::from_secs_f64(a.secs);
    let mut commits = Vec::with_capacity(100_000);
    let mut rows: u64 = 0;
    let started = Instant::now();
    while started.elapsed() < budget {
        let t0 = Instant::now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO ceiling (symbol, side, qty, entry_price, tp_price, sl_price, status,
                   created_at, signal_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8)",
            )?;
            for _ in 0..a.rows_per_tx {
                rows += 1;
                stmt.execute(params![
                    format!("S{}USDT", rows % 100),
                    "long",
                    "0.10282000",
                    "97250.5",
                    "101626.7725",
                    "95791.7425",
                    "2025-12-01T10:05:00.000000Z",
                    format!(
                        "derived:bounce_ema10_strict|bitget|S{}USDT|long|{rows}",
                        rows % 100
                    ),
                ])?;
            }
        }
        tx.commit()?;
        commits.push(t0.elapsed());
    }
    let secs = started.elapsed().as_secs_f64();
    commits.sort_unstable();
    println!(
        "sqlite_ceiling rows={rows} secs={secs:.3} rows_per_s={:.0} commits_per_s={:.0} \
         commit_p50_us={} commit_p99_us={} rows_per_tx={}",
        rows as f64 / secs,
        commits.len() as f64 / secs,
        percentile(&commits, 0.50).as_micros(),
        percentile(&commits, 0.99).as_micros(),
        a.rows_per_tx
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sqlite_ceiling: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sqlite_ceiling: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
