//! A fake Bitget v2 USDT-M futures venue on 127.0.0.1, for LOMS's tests and benchmarks
//! (dev-only, never published, never linked into a release binary).
//!
//! It is a real HTTP/1.1 server (one thread per connection, `Connection: close`) that
//! behaves like the venue of ../shared/spec/bitget-live.md and exchanges.md:
//!
//! - **Private routes** check the key, passphrase, timestamp window (±30 s of the venue's
//!   clock), HMAC-SHA256 signature and demo/live environment as Bitget does, then keep
//!   orders (every market order fills at once at the mark, 0.06 % taker fee), one-way
//!   positions with their stop-loss, fills, the account and the key's permissions, and
//!   answer with the real envelopes and error codes (min size 45111, min notional 45110,
//!   balance 40762, duplicate clientOid 40786, no position 22002, stop on the wrong side
//!   40917/45122, unknown order 40109, margin mode locked by a position 45117, ...). Routes: `place-order`, `detail` (by
//!   `clientOid` or `orderId`), `fills` and `fill-history` (by order, or by symbol and
//!   time window, paged), `cancel-order`, `all-position`, `account`, `accounts`,
//!   `spot/account/info`, `set-leverage`, `set-margin-mode`, `set-position-mode`,
//!   `modify-tpsl-order`.
//! - **Public routes** (unsigned): `public/time`, `mix/market/contracts` (BTCUSDT and
//!   ETHUSDT), `mix/market/ticker`, `mix/market/tickers` and `mix/market/candles`, all
//!   from the marks the test sets, in the shapes `loms-price-source` reads, so one fake
//!   serves a whole live-mode server (prices and execution).
//! - **Faults and time**: [`FakeBitget::fault_once`] serves a [`Fault`] on the next
//!   request of a path; [`FakeBitget::set_latency`] answers every private request after a
//!   delay (the benchmark's "venue answers in 300 ms"); [`FakeBitget::fire_stop`] fires a
//!   position's exchange stop; the venue's clock is fixed at [`NOW_MS`] unless
//!   [`FakeBitget::set_clock`] says otherwise.
//! - **Reading back**: every request is logged ([`FakeBitget::seen`],
//!   [`FakeBitget::placed_orders`]); orders, positions and stops are readable
//!   ([`FakeBitget::orders`], [`FakeBitget::positions`], [`FakeBitget::stop_loss`]);
//!   from another process, `GET /fake/orders` and `GET /fake/positions` answer them as
//!   JSON, `GET /fake/requests` the request log with each request's arrival and answer
//!   times, and `POST /fake/mark?symbol=..&price=..` moves a mark (the fake's own
//!   routes, unsigned, not in the request log).
//! - **Benchmarks**: [`FakeBitget::add_bench_symbols`] lists many plain contracts
//!   (`SYM0001USDT`, ...), since live trading holds one position per symbol.
//!
//! Clients sign with [`KEY`], [`SECRET`] and [`PASSPHRASE`]. The `fake-bitget` binary
//! serves one on a port for scripts (`fake-bitget --port 0 --latency-ms 300`).
//!
//! ```
//! use loms_fake_bitget::FakeBitget;
//! let venue = FakeBitget::start();
//! venue.set_mark("BTCUSDT", rust_decimal::Decimal::from(65000));
//! assert!(venue.base_url().starts_with("http://127.0.0.1:"));
//! assert!(venue.placed_orders().is_empty());
//! ```

mod debug;
mod http;
mod market;
mod private;
mod shapes;
mod state;
mod wire;

pub use state::{Order, OrderSource, Position, Side, VenueClock};

use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// The API key the venue accepts.
pub const KEY: &str = "fake-key";
/// The secret requests must be signed with.
pub const SECRET: &str = "fake-secret";
/// The passphrase the venue accepts.
pub const PASSPHRASE: &str = "fake-pass";
/// The venue's default (fixed) clock, Unix ms; clients in tests use the same.
pub const NOW_MS: i64 = 1_718_340_000_000;
/// The taker fee rate charged on every fill.
pub const FEE_RATE: &str = "0.0006";
/// `POST` path of place-order (for [`FakeBitget::fault_once`] and the request log).
pub const PLACE_ORDER_PATH: &str = private::PLACE;
/// `GET` path of the fills of an order or a symbol.
pub const FILLS_PATH: &str = private::FILLS;
/// `GET` path of the fill history (refused in demo).
pub const FILL_HISTORY_PATH: &str = private::FILL_HISTORY;

/// The `n`-th benchmark symbol ([`FakeBitget::add_bench_symbols`]): `SYM0001USDT` for 1,
/// at least four digits.
pub fn bench_symbol(n: usize) -> String {
    format!("SYM{n:04}USDT")
}

/// Now, Unix µs of the system clock.
pub(crate) fn unix_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// A fault served once, instead of (or after) the normal handling of a route.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status and body; nothing is applied.
    Reply(u16, String),
    /// Apply the request, then close the connection without answering (answer lost).
    DropAfterApply,
    /// Apply the request, then answer after this delay.
    Delay(Duration),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET` or `POST`.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query string as sent (no `?`).
    pub query: String,
    /// The body as sent.
    pub body: String,
    /// Headers, names in lower case.
    pub headers: HashMap<String, String>,
    /// When the whole request had been read, Unix µs of the system clock (whatever the
    /// venue's clock says: benchmarks compare it with their own send times).
    pub received_us: i64,
    /// When the answer was written, Unix µs of the system clock (`None`: not answered
    /// yet, or the connection was dropped by a fault).
    pub answered_us: Option<i64>,
}

impl Seen {
    /// Whether it carried a signature (`ACCESS-SIGN`).
    pub fn signed(&self) -> bool {
        self.headers.contains_key("access-sign")
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Why [`FakeBitget::fire_stop`] could not fire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopError {
    /// No open position on the symbol.
    #[error("no open position on {0}")]
    NoPosition(String),
    /// The position has no stop-loss.
    #[error("the position on {0} has no stop-loss")]
    NoStop(String),
}

/// The fake venue; it stops serving when dropped.
#[derive(Debug)]
pub struct FakeBitget {
    addr: SocketAddr,
    state: Arc<Mutex<state::State>>,
    stop: Arc<AtomicBool>,
}

pub(crate) fn lock(m: &Mutex<state::State>) -> MutexGuard<'_, state::State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeBitget {
    /// Serve on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// When no local port can be bound (a test environment failure).
    pub fn start() -> Self {
        Self::bind("127.0.0.1:0").expect("bind a local port for the fake Bitget")
    }

    /// Serve on `addr` (`127.0.0.1:0` for any free port).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn bind(addr: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(state::State::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        thread::spawn(move || http::serve(listener, st, sp));
        Ok(Self { addr, state, stop })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Demo trading: only requests with `paptrading: 1` are accepted (40099 otherwise),
    /// and `fill-history` is refused (40110).
    pub fn set_demo(&self, demo: bool) {
        lock(&self.state).demo = demo;
    }

    /// Where the venue's "now" comes from (timestamp checks, order and fill times,
    /// `requestTime`, ticker `ts`, the time of a mark). Default: fixed at [`NOW_MS`];
    /// move a fixed clock forward to make candles out of marks set at different times.
    pub fn set_clock(&self, clock: VenueClock) {
        lock(&self.state).clock = clock;
    }

    /// The venue's now, Unix ms.
    pub fn now_ms(&self) -> i64 {
        lock(&self.state).now_ms()
    }

    /// Every private (signed) request is applied, then answered after `latency`.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// The mark (and last price) of `symbol` from now on: market orders fill at it,
    /// tickers and candles show it. BTCUSDT starts at 64210, ETHUSDT at 3500.20.
    pub fn set_mark(&self, symbol: &str, price: Decimal) {
        lock(&self.state).set_mark(symbol, price);
    }

    /// List `count` more contracts for benchmarks, [`bench_symbol`]`(1..=count)`
    /// (`SYM0001USDT`, ...), each a plain USDT perpetual (prices to 0.01, sizes to
    /// 0.001) with its mark at `price`. Symbols already listed are left as they are.
    pub fn add_bench_symbols(&self, count: usize, price: Decimal) {
        let mut s = lock(&self.state);
        for i in 1..=count {
            let symbol = bench_symbol(i);
            if s.contract(&symbol).is_none() {
                s.contracts
                    .insert(symbol.clone(), state::Contract::plain(&symbol));
                s.set_mark(&symbol, price);
            }
        }
    }

    /// The current mark of `symbol`.
    pub fn mark(&self, symbol: &str) -> Option<Decimal> {
        lock(&self.state).mark(symbol)
    }

    /// The key's account, parent account and permission codes.
    pub fn set_key(&self, user_id: &str, parent_id: u64, authorities: &[&str]) {
        let mut s = lock(&self.state);
        s.user_id = user_id.into();
        s.parent_id = parent_id;
        s.authorities = authorities.iter().map(|a| a.to_string()).collect();
    }

    /// `one_way_mode` or `hedge_mode`.
    pub fn set_pos_mode(&self, mode: &str) {
        lock(&self.state).pos_mode = mode.into();
    }

    /// The margin mode of `symbol` (`isolated` or `crossed`), as if set in the app; the
    /// `account` route reports it. Default `isolated`.
    pub fn set_margin_mode(&self, symbol: &str, mode: &str) {
        lock(&self.state)
            .margin_modes
            .insert(symbol.to_string(), mode.to_string());
    }

    /// A limit order resting at the venue, as if placed in the app: `orders-pending`
    /// lists it (in the venue's shape) until the fake is dropped.
    pub fn add_resting_order(&self, symbol: &str, client_oid: &str, side: &str, size: &str) {
        let mut s = lock(&self.state);
        s.next_id += 1;
        let order_id = s.next_id.to_string();
        let now = s.now_ms().to_string();
        s.resting.push(serde_json::json!({
            "symbol": symbol, "size": size, "orderId": order_id, "clientOid": client_oid,
            "baseVolume": "0", "fee": "0", "price": "1000", "priceAvg": "", "status": "live",
            "side": side, "force": "gtc", "totalProfits": "0", "posSide": "net",
            "marginCoin": "USDT", "quoteVolume": "0", "leverage": "1", "marginMode": "isolated",
            "reduceOnly": "NO", "enterPointSource": "WEB", "tradeSide": "", "posMode": "one_way_mode",
            "orderType": "limit", "orderSource": "normal", "presetStopSurplusPrice": "",
            "presetStopLossPrice": "", "cTime": now, "uTime": now
        }));
    }

    /// The account's position mode.
    pub fn pos_mode(&self) -> String {
        lock(&self.state).pos_mode.clone()
    }

    /// The account's USDT balance (equity and what a new position may use). Default 108.
    pub fn set_balance(&self, usdt: Decimal) {
        lock(&self.state).balance = usdt;
    }

    /// The next request on `path` gets `fault` (faults on a path queue up).
    pub fn fault_once(&self, path: &str, fault: Fault) {
        lock(&self.state)
            .faults
            .entry(path.to_string())
            .or_default()
            .push_back(fault);
    }

    /// Every request received, in order (refused ones included).
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.state).seen.clone()
    }

    /// Every place-order request received, in order (refused ones included).
    pub fn place_requests(&self) -> Vec<Seen> {
        lock(&self.state)
            .seen
            .iter()
            .filter(|s| s.path == PLACE_ORDER_PATH)
            .cloned()
            .collect()
    }

    /// The bodies of [`FakeBitget::place_requests`], parsed.
    pub fn placed_orders(&self) -> Vec<Value> {
        self.place_requests().iter().map(Seen::json).collect()
    }

    /// Orders the venue accepted (any route), by clientOid.
    pub fn order_count(&self, client_oid: &str) -> usize {
        lock(&self.state)
            .orders
            .iter()
            .filter(|o| o.client_oid == client_oid)
            .count()
    }

    /// Every order the venue accepted or made (fired stops), oldest first.
    pub fn orders(&self) -> Vec<Order> {
        lock(&self.state).orders.clone()
    }

    /// The open positions, by symbol.
    pub fn positions(&self) -> Vec<Position> {
        let mut list: Vec<Position> = lock(&self.state).positions.values().cloned().collect();
        list.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        list
    }

    /// The open position on `symbol`.
    pub fn open_position(&self, symbol: &str) -> Option<Position> {
        lock(&self.state).positions.get(symbol).cloned()
    }

    /// The position's stop, as the venue holds it.
    pub fn stop_loss(&self, symbol: &str) -> Option<Decimal> {
        lock(&self.state)
            .positions
            .get(symbol)
            .and_then(|p| p.stop_loss)
    }

    /// The stop-loss of the position on `symbol` triggers: the position closes on the
    /// venue at the stop price, through a venue-made reduce-only market order (a venue
    /// id, a venue-made clientOid, `orderSource` `pos_loss_market`) with one fill
    /// (its own trade id, price = the stop, the taker fee, the side opposite to the
    /// position, `profit` = the realized PnL). Returns that order.
    ///
    /// # Errors
    /// [`StopError`] when there is no position or it has no stop; nothing changes.
    pub fn fire_stop(&self, symbol: &str) -> Result<Order, StopError> {
        private::fire_stop(&mut lock(&self.state), symbol)
    }
}

impl Drop for FakeBitget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}
