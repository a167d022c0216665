//! A seedable random-walk price simulator.

use crate::{PriceError, PriceSource, QuoteBatch};
use loms_domain::{Clock, Decimal, PriceQuote};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Simulator parameters (settings SIM_SEED, SIM_BASE_PRICE, SIM_VOLATILITY_PCT).
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// RNG seed: the same seed and the same calls give the same prices.
    pub seed: u64,
    /// Start price of a symbol no signal has been seen for.
    pub base_price: Decimal,
    /// Standard deviation of one step, percent of the price.
    pub volatility_pct: f64,
}

#[derive(Debug)]
struct Walk {
    price: f64,
    anchor: f64,
}

#[derive(Debug)]
struct State {
    rng: SplitMix64,
    walks: HashMap<String, Walk>,
    pinned: HashMap<String, Decimal>,
    pinned_all: Option<Decimal>,
}

/// A random walk per symbol with a slight pull back towards where it started.
///
/// Each [`PriceSource::quotes`] call moves every symbol asked for by one step; the walk
/// of a new symbol starts at the first price [`PriceSource::observe`] reports for it
/// (the first signal's), else at the base price. A pinned price (`POST
/// /market/price/{value}`) replaces the walk until unpinned. Quotes are flat:
/// bid = ask = last = mark.
#[derive(Debug)]
pub struct Simulator {
    cfg: SimulatorConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl Simulator {
    /// A simulator with no symbol seen yet.
    pub fn new(cfg: SimulatorConfig, clock: Arc<dyn Clock>) -> Self {
        let rng = SplitMix64(cfg.seed);
        Self {
            cfg,
            clock,
            state: Mutex::new(State {
                rng,
                walks: HashMap::new(),
                pinned: HashMap::new(),
                pinned_all: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pin `symbol` (or every symbol, when `None`) to `price`.
    pub fn pin(&self, symbol: Option<&str>, price: Decimal) {
        let mut st = self.state();
        match symbol {
            Some(s) => {
                st.pinned.insert(s.to_ascii_uppercase(), price);
            }
            None => {
                st.pinned.clear();
                st.pinned_all = Some(price);
            }
        }
    }

    /// Release a pin (or every pin, when `None`); the walk resumes from the pinned price.
    pub fn unpin(&self, symbol: Option<&str>) {
        let mut st = self.state();
        match symbol {
            Some(s) => {
                st.pinned.remove(&s.to_ascii_uppercase());
            }
            None => {
                st.pinned.clear();
                st.pinned_all = None;
            }
        }
    }

    /// The current price of `symbol` without moving the walk.
    pub fn peek(&self, symbol: &str) -> Decimal {
        let st = self.state();
        let symbol = symbol.to_ascii_uppercase();
        if let Some(p) = st.pinned.get(&symbol).copied().or(st.pinned_all) {
            return p;
        }
        st.walks
            .get(&symbol)
            .map_or(self.cfg.base_price, |w| to_decimal(w.price))
    }

    fn step(&self, st: &mut State, symbol: &str) -> Decimal {
        if let Some(p) = st.pinned.get(symbol).copied().or(st.pinned_all) {
            // Restart the walk from the pin, so that unpinning resumes from here.
            let x = to_f64(p);
            st.walks.insert(
                symbol.to_string(),
                Walk {
                    price: x,
                    anchor: x,
                },
            );
            return p;
        }
        let z = st.rng.gaussian();
        let base = to_f64(self.cfg.base_price);
        let w = st.walks.entry(symbol.to_string()).or_insert(Walk {
            price: base,
            anchor: base,
        });
        let vol = self.cfg.volatility_pct / 100.0;
        let pull = 0.01 * (w.anchor - w.price);
        let next = w.price * (1.0 + vol * z) + pull;
        // Never let a walk reach zero: floor it at 1 % of its anchor.
        w.price = next.max(w.anchor * 0.01);
        to_decimal(w.price)
    }
}

impl PriceSource for Simulator {
    fn name(&self) -> &'static str {
        "simulator"
    }

    fn quotes(&self, symbols: &[String]) -> QuoteBatch {
        let now = self.clock.now();
        let mut st = self.state();
        symbols
            .iter()
            .map(|s| {
                let q: Result<PriceQuote, PriceError> =
                    Ok(PriceQuote::flat(s.clone(), self.step(&mut st, s), now));
                (s.clone(), q)
            })
            .collect()
    }

    fn observe(&self, symbol: &str, price: Decimal) {
        let p = to_f64(price);
        self.state()
            .walks
            .entry(symbol.to_string())
            .or_insert(Walk {
                price: p,
                anchor: p,
            });
    }

    fn quotes_entries(&self) -> bool {
        false
    }

    fn as_simulator(&self) -> Option<&Simulator> {
        Some(self)
    }
}

fn to_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
}

/// Prices keep ten significant digits.
fn to_decimal(x: f64) -> Decimal {
    Decimal::from_f64_retain(x)
        .and_then(|d| d.round_sf(10))
        .map(|d| d.normalize())
        .unwrap_or(Decimal::ONE)
}

/// SplitMix64: tiny, fast, good enough for a simulator (and for seeded test data), and
/// seedable without a crate.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    fn gaussian(&mut self) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loms_domain::SystemClock;
    use rust_decimal::dec;

    fn sim(seed: u64) -> Simulator {
        let cfg = SimulatorConfig {
            seed,
            base_price: dec!(100),
            volatility_pct: 0.3,
        };
        Simulator::new(cfg, Arc::new(SystemClock))
    }

    fn last(s: &Simulator, sym: &str) -> Decimal {
        let b = s.quotes(&[sym.to_string()]);
        b[sym].as_ref().unwrap().last.unwrap()
    }

    #[test]
    fn same_seed_same_path_other_seed_other_path() {
        let (a, b, c) = (sim(7), sim(7), sim(8));
        let pa: Vec<_> = (0..20).map(|_| last(&a, "BTCUSDT")).collect();
        let pb: Vec<_> = (0..20).map(|_| last(&b, "BTCUSDT")).collect();
        let pc: Vec<_> = (0..20).map(|_| last(&c, "BTCUSDT")).collect();
        assert_eq!(pa, pb);
        assert_ne!(pa, pc);
        assert!(pa.windows(2).any(|w| w[0] != w[1]), "the walk moves");
    }

    #[test]
    fn walk_starts_at_the_observed_price_and_stays_positive() {
        let s = sim(1);
        s.observe("ETHUSDT", dec!(3500));
        let p = last(&s, "ETHUSDT");
        assert!(p > dec!(3400) && p < dec!(3600), "{p}");
        for _ in 0..10_000 {
            assert!(last(&s, "ETHUSDT") > Decimal::ZERO);
        }
        assert_eq!(s.peek("XRPUSDT"), dec!(100));
    }

    #[test]
    fn pin_overrides_then_unpin_resumes_from_the_pin() {
        let s = sim(3);
        s.pin(Some("btcusdt"), dec!(105));
        assert_eq!(last(&s, "BTCUSDT"), dec!(105));
        assert_eq!(s.peek("BTCUSDT"), dec!(105));
        s.pin(None, dec!(50));
        assert_eq!(last(&s, "ANY"), dec!(50));
        s.unpin(None);
        let p = last(&s, "ANY");
        assert!(p > dec!(45) && p < dec!(55), "{p}");
    }
}
