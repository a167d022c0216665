//! What the venue holds: orders, positions, marks, the account, faults and the request
//! log. The public types are snapshots a test reads back.

use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Fault, NOW_MS, Seen};

/// The direction of an order (one-way mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `buy`: opens a long or closes a short.
    Buy,
    /// `sell`: opens a short or closes a long.
    Sell,
}

impl Side {
    /// Bitget's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// The side that closes a position of this direction (`Buy` opens a long).
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// What made an order, as Bitget's `orderSource` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSource {
    /// A market order sent through the API (`market`).
    Market,
    /// The position's stop-loss fired and closed it at market (`pos_loss_market`).
    PositionStopLoss,
}

impl OrderSource {
    /// Bitget's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSource::Market => "market",
            OrderSource::PositionStopLoss => "pos_loss_market",
        }
    }
}

/// An order the venue accepted; every order fills at once in one trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The venue's id.
    pub order_id: String,
    /// The client's id; venue-made for an order the venue itself created (a fired stop).
    pub client_oid: String,
    /// `BTCUSDT`.
    pub symbol: String,
    /// Direction.
    pub side: Side,
    /// Base-coin size (filled in full).
    pub size: Decimal,
    /// The fill price (the mark, or the stop price of a fired stop).
    pub price: Decimal,
    /// `reduceOnly: YES` (a fired stop is reduce-only too).
    pub reduce_only: bool,
    /// `presetStopLossPrice` sent with it.
    pub preset_sl: Option<Decimal>,
    /// Fee paid, positive (answered negative, as Bitget does).
    pub fee: Decimal,
    /// Realized PnL of the part it closed (zero for an entry), before fees.
    pub profit: Decimal,
    /// The id of its one trade.
    pub trade_id: String,
    /// What made it.
    pub source: OrderSource,
    /// When the venue accepted and filled it, Unix ms (the venue's clock).
    pub time_ms: i64,
}

/// An open position (one per symbol: one-way mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// `BTCUSDT`.
    pub symbol: String,
    /// Long (else short).
    pub long: bool,
    /// Base-coin size.
    pub size: Decimal,
    /// Average entry price.
    pub entry: Decimal,
    /// The position's stop-loss trigger, when it has one.
    pub stop_loss: Option<Decimal>,
    /// The id of that stop (`stopLossId`), used by `modify-tpsl-order`.
    pub stop_loss_id: String,
}

/// The rules of one contract, as `/api/v2/mix/market/contracts` answers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contract {
    pub(crate) symbol: String,
    pub(crate) base: String,
    /// Decimals of a price.
    pub(crate) price_place: u32,
    /// Price step in units of the last price decimal.
    pub(crate) price_end_step: u32,
    /// Decimals of a size.
    pub(crate) volume_place: u32,
    /// Size step and minimum size (`sizeMultiplier`, `minTradeNum`).
    pub(crate) min_size: Decimal,
    pub(crate) max_lever: u32,
    pub(crate) max_market_qty: &'static str,
    pub(crate) max_order_qty: &'static str,
}

impl Contract {
    /// A plain USDT perpetual for benchmarks: prices to 0.01, sizes to 0.001, up to 100×.
    pub(crate) fn plain(symbol: &str) -> Self {
        Self {
            symbol: symbol.to_string(),
            base: symbol.trim_end_matches("USDT").to_string(),
            price_place: 2,
            price_end_step: 1,
            volume_place: 3,
            min_size: Decimal::new(1, 3),
            max_lever: 100,
            max_market_qty: "1000000",
            max_order_qty: "1000000",
        }
    }
}

/// BTCUSDT and ETHUSDT as Bitget lists them (exchanges.md §10 for BTCUSDT).
pub(crate) fn contracts() -> Vec<Contract> {
    vec![
        Contract {
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            price_place: 1,
            price_end_step: 1,
            volume_place: 4,
            min_size: Decimal::new(1, 4),
            max_lever: 125,
            max_market_qty: "220",
            max_order_qty: "1200",
        },
        Contract {
            symbol: "ETHUSDT".into(),
            base: "ETH".into(),
            price_place: 2,
            price_end_step: 1,
            volume_place: 2,
            min_size: Decimal::new(1, 2),
            max_lever: 100,
            max_market_qty: "3000",
            max_order_qty: "10000",
        },
    ]
}

/// Where the venue's "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueClock {
    /// A fixed instant, Unix ms (tests: [`NOW_MS`] by default; clients use the same).
    Fixed(i64),
    /// The system clock (a venue for a real server or a benchmark).
    System,
}

impl VenueClock {
    /// Now, Unix ms.
    pub fn now_ms(self) -> i64 {
        match self {
            VenueClock::Fixed(ms) => ms,
            VenueClock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) clock: VenueClock,
    pub(crate) demo: bool,
    pub(crate) latency: Duration,
    /// Marks by symbol, every change kept with its time (candles are made from them).
    pub(crate) marks: BTreeMap<String, Vec<(i64, Decimal)>>,
    /// By symbol (a benchmark lists thousands).
    pub(crate) contracts: BTreeMap<String, Contract>,
    pub(crate) balance: Decimal,
    pub(crate) leverage: Decimal,
    pub(crate) orders: Vec<Order>,
    pub(crate) positions: HashMap<String, Position>,
    pub(crate) faults: HashMap<String, VecDeque<Fault>>,
    pub(crate) seen: Vec<Seen>,
    pub(crate) next_id: u64,
    pub(crate) pos_mode: String,
    /// Margin mode by symbol, as set (absent: `isolated`).
    pub(crate) margin_modes: HashMap<String, String>,
    /// Orders resting at the venue (`orders-pending` entries), placed as if in the app.
    pub(crate) resting: Vec<serde_json::Value>,
    pub(crate) authorities: Vec<String>,
    pub(crate) user_id: String,
    pub(crate) parent_id: u64,
}

impl State {
    pub(crate) fn new() -> Self {
        let mut s = Self {
            clock: VenueClock::Fixed(NOW_MS),
            demo: false,
            latency: Duration::ZERO,
            resting: Vec::new(),
            marks: BTreeMap::new(),
            contracts: contracts()
                .into_iter()
                .map(|c| (c.symbol.clone(), c))
                .collect(),
            balance: Decimal::from(108),
            leverage: Decimal::from(3),
            orders: Vec::new(),
            positions: HashMap::new(),
            faults: HashMap::new(),
            seen: Vec::new(),
            next_id: 1_187_654_321_098_765_432,
            pos_mode: "one_way_mode".into(),
            margin_modes: HashMap::new(),
            authorities: vec!["coow".into(), "cpow".into(), "stor".into()],
            user_id: "5550000001".into(),
            parent_id: 5_550_000_000,
        };
        s.set_mark("BTCUSDT", Decimal::from(64210));
        s.set_mark("ETHUSDT", Decimal::new(350020, 2));
        s
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn set_mark(&mut self, symbol: &str, price: Decimal) {
        let now = self.now_ms();
        self.marks
            .entry(symbol.to_string())
            .or_default()
            .push((now, price));
    }

    /// The current mark of `symbol`.
    pub(crate) fn mark(&self, symbol: &str) -> Option<Decimal> {
        self.marks.get(symbol)?.last().map(|(_, p)| *p)
    }

    pub(crate) fn contract(&self, symbol: &str) -> Option<&Contract> {
        self.contracts.get(symbol)
    }

    /// The margin mode of `symbol` (`isolated` unless set otherwise).
    pub(crate) fn margin_mode(&self, symbol: &str) -> &str {
        self.margin_modes
            .get(symbol)
            .map_or("isolated", String::as_str)
    }

    /// A fresh venue id.
    pub(crate) fn next_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }
}
