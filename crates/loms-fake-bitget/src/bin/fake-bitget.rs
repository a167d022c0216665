//! `fake-bitget`: serve the fake Bitget venue for scripts and benchmarks.
//!
//! Prints the base URL on its first stdout line, then serves until killed. The venue's
//! clock is the system clock unless `--fixed-clock` (then [`loms_fake_bitget::NOW_MS`]).

use anyhow::Context as _;
use clap::Parser;
use loms_fake_bitget::{FakeBitget, VenueClock};
use rust_decimal::Decimal;
use std::io::Write as _;
use std::time::Duration;

/// A fake Bitget v2 USDT-M futures venue on 127.0.0.1 (key `fake-key`, secret
/// `fake-secret`, passphrase `fake-pass`).
#[derive(Debug, Parser)]
#[command(name = "fake-bitget", version)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Every private (signed) request is answered after this many milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Use the fixed test clock instead of the system clock.
    #[arg(long)]
    fixed_clock: bool,
    /// Demo trading: require `paptrading: 1`.
    #[arg(long)]
    demo: bool,
    /// Account balance, USDT.
    #[arg(long)]
    balance: Option<Decimal>,
    /// List this many more contracts, `SYM0001USDT` .. (benchmarks: live trading holds
    /// one position per symbol), each marked at `--symbols-price`.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    symbols: u32,
    /// The mark of the `--symbols` contracts.
    #[arg(long, default_value = "100")]
    symbols_price: Decimal,
    /// A mark to set, `SYMBOL=PRICE` (repeatable), e.g. `BTCUSDT=64210`; move it later
    /// with `curl -X POST '<url>/fake/mark?symbol=BTCUSDT&price=63000'`.
    #[arg(long = "mark", value_parser = parse_mark)]
    marks: Vec<(String, Decimal)>,
}

fn parse_mark(s: &str) -> Result<(String, Decimal), String> {
    let (sym, price) = s
        .split_once('=')
        .ok_or_else(|| format!("expected SYMBOL=PRICE, got {s:?}"))?;
    let price: Decimal = price
        .parse()
        .map_err(|_| format!("not a price: {price:?}"))?;
    if price <= Decimal::ZERO || sym.is_empty() {
        return Err(format!(
            "expected SYMBOL=PRICE with a positive price, got {s:?}"
        ));
    }
    Ok((sym.to_ascii_uppercase(), price))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let venue = FakeBitget::bind(&format!("127.0.0.1:{}", args.port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    venue.set_clock(if args.fixed_clock {
        VenueClock::Fixed(loms_fake_bitget::NOW_MS)
    } else {
        VenueClock::System
    });
    venue.set_latency(Duration::from_millis(args.latency_ms));
    venue.set_demo(args.demo);
    if let Some(b) = args.balance {
        venue.set_balance(b);
    }
    if args.symbols_price <= Decimal::ZERO {
        anyhow::bail!("--symbols-price must be positive");
    }
    venue.add_bench_symbols(args.symbols as usize, args.symbols_price);
    for (sym, price) in &args.marks {
        venue.set_mark(sym, *price);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", venue.base_url())?;
    out.flush()?;
    drop(out);
    loop {
        std::thread::park();
    }
}
