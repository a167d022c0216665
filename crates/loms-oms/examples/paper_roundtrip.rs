//! Open and close a paper position in-process, without HTTP.
//!
//! Run: `cargo run -p loms-oms --example paper_roundtrip`

use loms_domain::Decimal;
use std::str::FromStr;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A throw-away database and audit file; positions may be checked right away.
    let dir = std::env::temp_dir().join(format!("loms-example-{}", std::process::id()));
    let mut settings = loms_config::Settings::for_tests(&dir);
    settings.min_position_age = Duration::ZERO;
    let oms = loms_oms::Oms::start(settings.clone(), loms_oms::Deps::from_settings(&settings))?;

    // The bot's payload, exactly as it sends it.
    let body = br#"{"symbol": "BTCUSDT", "side": "long", "price": 97250.5,
        "timestamp": "2025-12-01T10:05:00Z", "exchange": "bitget", "timeframe_min": 5,
        "strategy": "bounce_ema10_strict", "tp_pct": 4.5, "sl_pct": 1.5}"#;
    let answer = oms.handle_signal(body, None).await?;
    println!("signal answered: {}", serde_json::to_string(&answer)?);

    // Move the simulated market to the take-profit level and run one auto-close pass.
    let tp = answer.tp_price.ok_or("no position was opened")?;
    let sim = oms
        .simulator()
        .ok_or("prices do not come from the simulator")?;
    sim.pin(Some("BTCUSDT"), tp + Decimal::from_str("1")?);
    let report = oms.auto_close_pass().await?;
    for p in &report.closed {
        println!(
            "closed position {} at {} ({}), pnl {}",
            p.id,
            p.close_price.unwrap_or_default(),
            p.auto_close_reason.map_or("-", |r| r.as_str()),
            p.pnl.unwrap_or_default()
        );
    }
    let stats = oms.stats(Default::default()).await?;
    println!(
        "stats: {} closed, total pnl {}, winrate {}%",
        stats.closed_positions, stats.total_pnl, stats.winrate
    );
    oms.shutdown().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
