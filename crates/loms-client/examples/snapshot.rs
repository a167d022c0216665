//! Print the positions and the stats of a running LOMS.
//!
//! ```text
//! cargo run -p loms-client --example snapshot -- http://127.0.0.1:8000
//! LOMS_URL=http://10.0.0.5:8000 cargo run -p loms-client --example snapshot
//! ```
//!
//! The server's URL comes from the first argument, else `LOMS_URL`, else
//! `http://127.0.0.1:8000`. Copy this file to start your own tool.

use loms_client::{Client, DEFAULT_URL, Error, PositionQuery, StatsQuery};
use std::process::ExitCode;

fn main() -> ExitCode {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("LOMS_URL").ok())
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let client = Client::new(&url);
    match snapshot(&client) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Refused(e)) => {
            eprintln!("LOMS said no: HTTP {} {}: {}", e.status, e.error, e.detail);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn snapshot(client: &Client) -> Result<(), Error> {
    let positions = client.positions(&PositionQuery {
        limit: Some(20),
        ..PositionQuery::default()
    })?;
    println!("{} — last {} positions", client.base(), positions.len());
    for p in &positions {
        let pnl = p.pnl.map_or_else(|| "-".to_owned(), |x| x.to_string());
        println!(
            "  #{:<5} {:<10} {:<5} {:<6} qty {:<12} entry {:<14} pnl {}",
            p.id,
            p.symbol,
            p.side.as_str(),
            p.status.as_str(),
            p.qty,
            p.entry_price,
            pnl
        );
    }
    let s = client.stats(&StatsQuery::default())?;
    println!(
        "stats: {} positions ({} open, {} closed), net PnL {} USDT, winrate {:.1} %, max drawdown {}",
        s.total_positions,
        s.open_positions,
        s.closed_positions,
        s.net_pnl,
        s.winrate,
        s.max_drawdown
    );
    for (reason, n) in &s.by_close_reason {
        println!("  {reason:<12} {n}");
    }
    Ok(())
}
