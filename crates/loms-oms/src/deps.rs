//! The swappable parts of the OMS ([`Deps`]) and how the settings build them.

use crate::Settings;
use loms_broker::{ExecutionClient, PaperSim};
use loms_config::PriceSourceKind;
use loms_domain::{Clock, SystemClock};
use loms_exit_engine::PolicyRegistry;
use loms_price_source::{
    Exchange, ExchangeClient, ExchangeConfig, KlineSource, Market as PriceMarket, PriceSource,
    Simulator, SimulatorConfig,
};
use std::sync::Arc;

/// The swappable parts of the OMS: time, prices, broker, exit policies.
#[derive(Debug, Clone)]
pub struct Deps {
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Price source.
    pub prices: Arc<dyn PriceSource>,
    /// Executes orders (paper: [`PaperSim`], immediate).
    pub execution: Arc<dyn ExecutionClient>,
    /// Exit policies by name.
    pub policies: PolicyRegistry,
    /// Historical bars, to close what was hit while LOMS was down (exchange prices only).
    pub klines: Option<Arc<dyn KlineSource>>,
}

impl Deps {
    /// The parts the settings ask for: the simulator and the paper broker, on the wall clock.
    pub fn from_settings(s: &Settings) -> Self {
        Self::with_clock(s, Arc::new(SystemClock))
    }

    /// Same as [`Deps::from_settings`] with another clock (tests, replay).
    pub fn with_clock(s: &Settings, clock: Arc<dyn Clock>) -> Self {
        let (prices, klines): (Arc<dyn PriceSource>, Option<Arc<dyn KlineSource>>) =
            match s.price_source {
                PriceSourceKind::Simulator => (Arc::new(simulator(s, clock.clone())), None),
                PriceSourceKind::Exchange => {
                    let client = Arc::new(exchange_client(s, clock.clone()));
                    (client.clone(), Some(client))
                }
            };
        Self {
            clock,
            prices,
            klines,
            execution: Arc::new(paper_sim(s)),
            policies: PolicyRegistry::new(s.exit_params()),
        }
    }
}

/// The paper broker with the settings' fee and slippage (FEE_TAKER_BPS, SLIPPAGE_BPS):
/// paper mode's broker, and in live mode the shadow every live entry is compared with.
pub(crate) fn paper_sim(s: &Settings) -> PaperSim {
    PaperSim {
        taker_fee_bps: s.fee_taker_bps,
        slippage_bps: s.slippage_bps,
    }
}

/// The exchange ticker client the settings describe. Public tickers only: nothing in
/// it can place an order.
fn exchange_client(s: &Settings, clock: Arc<dyn Clock>) -> ExchangeClient {
    let exchange = if s.price_exchange == "bybit" {
        Exchange::Bybit
    } else {
        Exchange::Bitget
    };
    let market = if s.price_market == "spot" {
        PriceMarket::Spot
    } else {
        PriceMarket::Perp
    };
    let mut cfg = ExchangeConfig::new(exchange, market, s.auto_close_interval);
    cfg.base_url = match exchange {
        Exchange::Bybit => s.bybit_base_url.clone(),
        Exchange::Bitget => s.bitget_base_url.clone(),
    };
    cfg.timeout = s.price_http_timeout;
    cfg.max_age = s.price_max_age;
    ExchangeClient::new(cfg, clock)
}

fn simulator(s: &Settings, clock: Arc<dyn Clock>) -> Simulator {
    use rust_decimal::prelude::ToPrimitive;
    let seed = s.sim_seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    Simulator::new(
        SimulatorConfig {
            seed,
            base_price: s.sim_base_price,
            volatility_pct: s.sim_volatility_pct.to_f64().unwrap_or(0.0),
        },
        clock,
    )
}
