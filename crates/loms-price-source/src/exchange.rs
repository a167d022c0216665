//! [`ExchangeClient`]: prices from the public REST tickers of Bybit v5 and Bitget v2.
//!
//! One `quotes()` call is one HTTP request: for one symbol, its ticker; else the whole
//! category (all tickers of spot or USDT perpetuals), out of which the symbols asked for
//! are picked; transient failures are
//! retried with exponential backoff inside a time budget; every quote is checked for age
//! against the injected [`Clock`].

use crate::Kline;
use crate::http::{self, HttpResponse, TransportError};
use crate::{PriceError, PriceSource, QuoteBatch, bitget, bybit};
use loms_domain::{Clock, Decimal, PriceQuote, Timestamp};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An exchange whose public tickers [`ExchangeClient`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exchange {
    /// Bybit v5 (`/v5/market/tickers`).
    Bybit,
    /// Bitget v2 (`/api/v2/spot/market/tickers`, `/api/v2/mix/market/tickers`).
    Bitget,
}

impl Exchange {
    /// Lower-case name, also the [`PriceSource::name`] of its client.
    pub fn name(self) -> &'static str {
        match self {
            Exchange::Bybit => "bybit",
            Exchange::Bitget => "bitget",
        }
    }

    /// The production REST base URL.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Exchange::Bybit => "https://api.bybit.com",
            Exchange::Bitget => "https://api.bitget.com",
        }
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Exchange {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bybit" => Ok(Exchange::Bybit),
            "bitget" => Ok(Exchange::Bitget),
            _ => Err(ParseNameError {
                what: "exchange",
                value: s.to_string(),
                accepted: "bybit, bitget",
            }),
        }
    }
}

/// Which market of the exchange the prices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Market {
    /// USDT-margined perpetuals (Bybit `linear`, Bitget `USDT-FUTURES`); quotes have a mark price.
    Perp,
    /// Spot; quotes have no mark price.
    Spot,
}

impl Market {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Market::Perp => "perp",
            Market::Spot => "spot",
        }
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Market {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "perp" | "perps" | "perpetual" | "linear" | "futures" | "swap" => Ok(Market::Perp),
            "spot" => Ok(Market::Spot),
            _ => Err(ParseNameError {
                what: "market",
                value: s.to_string(),
                accepted: "perp, spot",
            }),
        }
    }
}

/// An exchange or market name that is not one of the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; accepted: {accepted}")]
pub struct ParseNameError {
    what: &'static str,
    value: String,
    accepted: &'static str,
}

/// Settings of an [`ExchangeClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeConfig {
    /// Which exchange.
    pub exchange: Exchange,
    /// Which market of it.
    pub market: Market,
    /// REST base URL without a trailing slash (tests point it at a fake server).
    pub base_url: String,
    /// Time limit of one HTTP attempt, body included (`PRICE_HTTP_TIMEOUT`).
    pub timeout: Duration,
    /// A quote older than this is an error, never a price (`PRICE_MAX_AGE_SEC`).
    pub max_age: Duration,
    /// How many times a transient failure (timeout, connection, HTTP 5xx / 429) is retried.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
    /// Upper bound of a whole `quotes()` call, retries included: an attempt's time limit is
    /// cut to what is left, and no retry starts unless its backoff plus a full `timeout`
    /// still fit. Zero means no budget (only `timeout` and `retries` bound the call).
    pub budget: Duration,
}

impl ExchangeConfig {
    /// Default time limit of one attempt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
    /// Default maximum quote age.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10);
    /// Default number of retries.
    pub const DEFAULT_RETRIES: u32 = 2;
    /// Default first backoff.
    pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(100);

    /// Defaults for `exchange`/`market`: the production base URL, a 2 s timeout, 10 s
    /// maximum age, 2 retries from 100 ms, and `budget` (normally the auto-close interval,
    /// so that a slow exchange never makes a pass overrun the next one).
    pub fn new(exchange: Exchange, market: Market, budget: Duration) -> Self {
        Self {
            exchange,
            market,
            base_url: exchange.default_base_url().to_string(),
            timeout: Self::DEFAULT_TIMEOUT,
            max_age: Self::DEFAULT_MAX_AGE,
            retries: Self::DEFAULT_RETRIES,
            retry_backoff: Self::DEFAULT_RETRY_BACKOFF,
            budget,
        }
    }
}

/// A [`PriceSource`] reading the public tickers of Bybit or Bitget over blocking HTTP.
///
/// Every `quotes()` call makes one request (plus retries) whatever the number of symbols.
/// A symbol missing from the exchange's list is [`PriceError::UnknownSymbol`]; any failure
/// of the request itself (exchange error code, HTTP status, timeout, connection, malformed
/// body) is [`PriceError::Unavailable`] for every symbol of the call, its detail naming the
/// exchange's code or the HTTP status; a quote older than `max_age` is `Unavailable` with
/// the detail `quote is N s old (PRICE_MAX_AGE_SEC=M)`.
#[derive(Debug)]
pub struct ExchangeClient {
    cfg: ExchangeConfig,
    clock: Arc<dyn Clock>,
    agent: ureq::Agent,
}

impl ExchangeClient {
    /// A client for `cfg`; quote ages are measured against `clock`.
    pub fn new(mut cfg: ExchangeConfig, clock: Arc<dyn Clock>) -> Self {
        let trimmed = cfg.base_url.trim().trim_end_matches('/').to_string();
        cfg.base_url = trimmed;
        let agent = http::agent(cfg.timeout);
        Self { cfg, clock, agent }
    }

    /// The settings in use.
    pub fn config(&self) -> &ExchangeConfig {
        &self.cfg
    }

    /// Path and query of the one request covering `symbols` (upper case, deduplicated).
    fn request(&self, symbols: &[String]) -> (&'static str, Vec<(&'static str, String)>) {
        match self.cfg.exchange {
            Exchange::Bybit => bybit::request(self.cfg.market, symbols),
            Exchange::Bitget => bitget::request(self.cfg.market, symbols),
        }
    }

    fn interpret(&self, resp: &HttpResponse) -> Result<Tickers, ExchangeError> {
        match self.cfg.exchange {
            Exchange::Bybit => bybit::parse(resp, self.cfg.market),
            Exchange::Bitget => bitget::parse(resp, self.cfg.market),
        }
    }

    /// The tickers, retrying transient failures within the budget; on failure, the last
    /// error and the number of attempts made.
    fn fetch(&self, symbols: &[String]) -> Result<Tickers, (ExchangeError, u32)> {
        let start = Instant::now();
        let budget = (!self.cfg.budget.is_zero()).then_some(self.cfg.budget);
        let (path, query) = self.request(symbols);
        let url = format!("{}{path}", self.cfg.base_url);
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            let timeout = match budget {
                Some(b) => self.cfg.timeout.min(b.saturating_sub(start.elapsed())),
                None => self.cfg.timeout,
            };
            let outcome = if timeout.is_zero() {
                Err(ExchangeError::Transport(TransportError::Timeout(timeout)))
            } else {
                http::get(&self.agent, &url, &query, timeout)
                    .map_err(ExchangeError::Transport)
                    .and_then(|resp| self.interpret(&resp))
            };
            let err = match outcome {
                Ok(t) => return Ok(t),
                Err(e) => e,
            };
            if !err.is_transient() || attempt > self.cfg.retries {
                return Err((err, attempt));
            }
            let shift = (attempt - 1).min(16);
            let backoff = self.cfg.retry_backoff.saturating_mul(1 << shift);
            if let Some(b) = budget {
                let next_end = start
                    .elapsed()
                    .saturating_add(backoff)
                    .saturating_add(self.cfg.timeout);
                if next_end > b {
                    return Err((err, attempt));
                }
            }
            std::thread::sleep(backoff);
        }
    }

    fn unavailable(&self, detail: String) -> PriceError {
        PriceError::Unavailable {
            source_name: self.name(),
            detail,
        }
    }

    fn unknown(&self, symbol: &str) -> PriceError {
        PriceError::UnknownSymbol {
            source_name: self.name(),
            symbol: symbol.to_string(),
        }
    }

    /// The quote of `symbol` out of its ticker, unless too old.
    fn quote(&self, symbol: &str, t: &Ticker, now: Timestamp) -> Result<PriceQuote, PriceError> {
        if let Ok(age) = (now - t.ts).to_std()
            && age > self.cfg.max_age
        {
            return Err(self.unavailable(format!(
                "{symbol}: quote is {} s old (PRICE_MAX_AGE_SEC={})",
                secs(age),
                secs(self.cfg.max_age)
            )));
        }
        Ok(PriceQuote {
            symbol: symbol.to_string(),
            bid: t.bid,
            ask: t.ask,
            last: t.last,
            mark: t.mark,
            ts: t.ts,
        })
    }
}

/// Most kline pages fetched for one symbol (1,000 one-minute bars each: about 14 days).
const MAX_KLINE_PAGES: usize = 20;

/// Historical one-minute bars, to replay what happened while LOMS was down.
pub trait KlineSource: Send + Sync + std::fmt::Debug {
    /// One-minute bars of `symbol` starting in `[from, to)`, oldest first.
    ///
    /// # Errors
    /// [`PriceError`] when the exchange cannot be read.
    fn klines_1m(
        &self,
        symbol: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Kline>, PriceError>;
}

impl ExchangeClient {
    fn kline_request(
        &self,
        symbol: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> (&'static str, Vec<(&'static str, String)>) {
        let (f, t) = (from_ms.to_string(), to_ms.to_string());
        match (self.cfg.exchange, self.cfg.market) {
            (Exchange::Bybit, m) => {
                let category = if m == Market::Spot { "spot" } else { "linear" };
                let q = vec![
                    ("category", category.into()),
                    ("symbol", symbol.into()),
                    ("interval", "1".into()),
                    ("start", f),
                    ("end", t),
                    ("limit", "1000".into()),
                ];
                ("/v5/market/kline", q)
            }
            (Exchange::Bitget, Market::Perp) => {
                let q = vec![
                    ("symbol", symbol.into()),
                    ("productType", "USDT-FUTURES".into()),
                    ("granularity", "1m".into()),
                    ("startTime", f),
                    ("endTime", t),
                    ("limit", "1000".into()),
                ];
                ("/api/v2/mix/market/candles", q)
            }
            (Exchange::Bitget, Market::Spot) => {
                let q = vec![
                    ("symbol", symbol.into()),
                    ("granularity", "1min".into()),
                    ("startTime", f),
                    ("endTime", t),
                    ("limit", "1000".into()),
                ];
                ("/api/v2/spot/market/candles", q)
            }
        }
    }
}

impl KlineSource for ExchangeClient {
    fn klines_1m(
        &self,
        symbol: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Kline>, PriceError> {
        let symbol = symbol.to_ascii_uppercase();
        let mut bars: Vec<Kline> = Vec::new();
        // Windows of 1,000 minutes: each fits one page on both exchanges, whatever
        // order the exchange returns the bars in.
        const WINDOW_MS: i64 = 1_000 * 60_000;
        let to_ms = to.timestamp_millis();
        let mut from_ms = from.timestamp_millis();
        for _ in 0..MAX_KLINE_PAGES {
            if from_ms >= to_ms {
                break;
            }
            let end_ms = (from_ms + WINDOW_MS).min(to_ms);
            let (path, query) = self.kline_request(&symbol, from_ms, end_ms - 1);
            let url = format!("{}{path}", self.cfg.base_url);
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let resp = http::get(&self.agent, &url, &query, self.cfg.timeout)
                .map_err(|e| self.unavailable(format!("klines of {symbol}: {e}")))?;
            let text = String::from_utf8_lossy(&resp.body);
            let (_, mut page) = crate::klines::parse_json(&text).map_err(|e| {
                self.unavailable(format!("klines of {symbol} (HTTP {}): {e}", resp.status))
            })?;
            page.retain(|b| b.start >= from && b.start < to);
            bars.extend(page);
            from_ms = end_ms;
        }
        bars.sort_by_key(|b| b.start);
        bars.dedup_by_key(|b| b.start);
        Ok(bars)
    }
}

impl PriceSource for ExchangeClient {
    fn name(&self) -> &'static str {
        self.cfg.exchange.name()
    }

    fn quotes(&self, symbols: &[String]) -> QuoteBatch {
        if symbols.is_empty() {
            return QuoteBatch::new();
        }
        let mut wanted: Vec<String> = symbols.iter().map(|s| s.to_ascii_uppercase()).collect();
        wanted.sort();
        wanted.dedup();
        match self.fetch(&wanted) {
            Ok(tickers) => {
                let now = self.clock.now();
                symbols
                    .iter()
                    .map(|s| {
                        let q = match tickers.get(&s.to_ascii_uppercase()) {
                            None => Err(self.unknown(s)),
                            Some(Err(detail)) => Err(self.unavailable(format!("{s}: {detail}"))),
                            Some(Ok(t)) => self.quote(s, t, now),
                        };
                        (s.clone(), q)
                    })
                    .collect()
            }
            Err((err, attempts)) => {
                // Bybit answers a single unknown `symbol=` with a parameter error (10001).
                let unknown_single = self.cfg.exchange == Exchange::Bybit
                    && wanted.len() == 1
                    && err.business_code() == Some("10001");
                let detail = if attempts > 1 {
                    format!("{err} ({attempts} attempts)")
                } else {
                    err.to_string()
                };
                symbols
                    .iter()
                    .map(|s| {
                        let e = if unknown_single {
                            self.unknown(s)
                        } else {
                            self.unavailable(detail.clone())
                        };
                        (s.clone(), Err(e))
                    })
                    .collect()
            }
        }
    }
}

/// Seconds for messages: `12`, `0.25`.
fn secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        d.as_secs().to_string()
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Shared by the exchange parsers.

/// One ticker, prices already parsed; `ts` is when the exchange produced it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticker {
    pub(crate) bid: Option<Decimal>,
    pub(crate) ask: Option<Decimal>,
    pub(crate) last: Option<Decimal>,
    pub(crate) mark: Option<Decimal>,
    pub(crate) ts: Timestamp,
}

/// Tickers of one response by upper-case symbol; an entry the exchange sent but that could
/// not be read is an `Err` with the reason.
pub(crate) type Tickers = HashMap<String, Result<Ticker, String>>;

/// Why one request failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// The exchange's own error envelope (Bybit `retCode`, Bitget `code`).
    #[error("{field} {code}: {message} (HTTP {status})")]
    Business {
        /// Name of the code field (`retCode`, `code`).
        field: &'static str,
        code: String,
        message: String,
        status: u16,
    },
    /// An HTTP error status without a business code.
    #[error("HTTP {status}{}: {detail}", status_hint(*.status))]
    Status { status: u16, detail: String },
    /// No response.
    #[error("{0}")]
    Transport(TransportError),
    /// A response that is not what the API documents.
    #[error("malformed response: {0}")]
    Malformed(String),
}

impl ExchangeError {
    /// Worth another attempt: timeouts, connection failures, HTTP 5xx and 429.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            ExchangeError::Transport(t) => !matches!(t, TransportError::Other(_)),
            ExchangeError::Status { status, .. } => *status == 429 || *status >= 500,
            ExchangeError::Business { .. } | ExchangeError::Malformed(_) => false,
        }
    }

    fn business_code(&self) -> Option<&str> {
        match self {
            ExchangeError::Business { code, .. } => Some(code),
            _ => None,
        }
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        403 => " (forbidden: IP rate limit breached or region blocked)",
        429 => " (too many requests)",
        _ => "",
    }
}

/// The JSON of a response after the status checks common to both exchanges.
///
/// `envelope_error` reads the exchange's error code and message out of a parsed body
/// (`None` when it reports success). HTTP 429 and 5xx are [`ExchangeError::Status`] (transient)
/// whatever the body says; otherwise an error envelope is [`ExchangeError::Business`], any other
/// non-2xx status [`ExchangeError::Status`], and an unparsable 2xx body
/// [`ExchangeError::Malformed`].
pub(crate) fn check(
    resp: &HttpResponse,
    envelope_error: impl Fn(&Value) -> Option<(String, String)>,
    code_field: &'static str,
) -> Result<Value, ExchangeError> {
    let parsed = serde_json::from_slice::<Value>(&resp.body);
    let env_err = parsed.as_ref().ok().and_then(&envelope_error);
    let status = resp.status;
    if status == 429 || status >= 500 {
        let detail = match env_err {
            Some((code, msg)) => format!("{code_field} {code}: {msg}"),
            None => http::snippet(&resp.body),
        };
        return Err(ExchangeError::Status { status, detail });
    }
    if let Some((code, message)) = env_err {
        return Err(ExchangeError::Business {
            field: code_field,
            code,
            message,
            status,
        });
    }
    if !(200..300).contains(&status) {
        return Err(ExchangeError::Status {
            status,
            detail: http::snippet(&resp.body),
        });
    }
    parsed.map_err(|e| {
        ExchangeError::Malformed(format!("invalid JSON ({e}): {}", http::snippet(&resp.body)))
    })
}

/// A JSON string or number as text (codes and timestamps come as either).
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A price field: absent, `null`, `""` and non-positive values are `None`; a string or a
/// number that is not a decimal is an error naming the field.
pub(crate) fn price(item: &Value, field: &str) -> Result<Option<Decimal>, String> {
    let raw = match item.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(v @ (Value::String(_) | Value::Number(_))) => text(v).unwrap_or_default(),
        Some(other) => return Err(format!("{field} is not a price: {other}")),
    };
    if raw.is_empty() {
        return Ok(None);
    }
    let d = Decimal::from_str(&raw)
        .or_else(|_| Decimal::from_scientific(&raw))
        .map_err(|_| format!("{field} is not a price: {raw:?}"))?;
    Ok((d > Decimal::ZERO).then_some(d))
}

/// A millisecond timestamp (string or number); absent, `null` and `""` are `None`.
pub(crate) fn millis(v: Option<&Value>, field: &str) -> Result<Option<Timestamp>, String> {
    let raw = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => text(v).ok_or_else(|| format!("{field} is not a timestamp: {v}"))?,
    };
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(Some)
        .ok_or_else(|| format!("{field} is not a timestamp in ms: {raw:?}"))
}

/// The tickers of a list of items, each read by `read`; items that are not objects or
/// have no string `symbol` are skipped (they cannot be attributed to a symbol).
pub(crate) fn collect(items: &[Value], read: impl Fn(&Value) -> Result<Ticker, String>) -> Tickers {
    let mut out = Tickers::new();
    for item in items {
        let Some(symbol) = item.get("symbol").and_then(Value::as_str) else {
            continue;
        };
        out.entry(symbol.trim().to_ascii_uppercase())
            .or_insert_with(|| read(item));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;
    use serde_json::json;

    #[test]
    fn prices_accept_strings_and_numbers_and_treat_empty_as_absent() {
        let item = json!({"a": "64210.50", "b": 1.5, "c": "", "d": null, "e": "0",
                          "f": "abc", "g": [1], "h": "1e-3", "i": 7});
        assert_eq!(price(&item, "a"), Ok(Some(dec!(64210.50))));
        assert_eq!(price(&item, "b"), Ok(Some(dec!(1.5))));
        assert_eq!(price(&item, "c"), Ok(None));
        assert_eq!(price(&item, "d"), Ok(None));
        assert_eq!(price(&item, "e"), Ok(None));
        assert_eq!(price(&item, "missing"), Ok(None));
        assert!(price(&item, "f").unwrap_err().contains("\"abc\""));
        assert!(price(&item, "g").is_err());
        assert_eq!(price(&item, "h"), Ok(Some(dec!(0.001))));
        assert_eq!(price(&item, "i"), Ok(Some(dec!(7))));
    }

    #[test]
    fn millis_accepts_strings_and_numbers() {
        let t = chrono::DateTime::from_timestamp_millis(1_718_340_000_123).unwrap();
        assert_eq!(
            millis(Some(&json!(1_718_340_000_123_i64)), "ts"),
            Ok(Some(t))
        );
        assert_eq!(millis(Some(&json!("1718340000123")), "ts"), Ok(Some(t)));
        assert_eq!(millis(Some(&json!("")), "ts"), Ok(None));
        assert_eq!(millis(None, "ts"), Ok(None));
        assert!(millis(Some(&json!("soon")), "ts").is_err());
        assert!(millis(Some(&json!(1.5)), "ts").is_err());
        assert!(millis(Some(&json!({})), "ts").is_err());
        assert!(millis(Some(&json!(i64::MAX)), "ts").is_err());
    }

    #[test]
    fn transient_errors_are_timeouts_connections_5xx_and_429() {
        let status = |s| ExchangeError::Status {
            status: s,
            detail: String::new(),
        };
        assert!(status(500).is_transient());
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(403).is_transient());
        assert!(!status(404).is_transient());
        let t = |e| ExchangeError::Transport(e);
        assert!(t(TransportError::Timeout(Duration::from_millis(5))).is_transient());
        assert!(t(TransportError::Connection("refused".into())).is_transient());
        assert!(!t(TransportError::Other("bad uri".into())).is_transient());
        assert!(!ExchangeError::Malformed("x".into()).is_transient());
        let b = ExchangeError::Business {
            field: "retCode",
            code: "10006".into(),
            message: "Too many visits!".into(),
            status: 200,
        };
        assert!(!b.is_transient());
        assert_eq!(b.to_string(), "retCode 10006: Too many visits! (HTTP 200)");
        assert_eq!(
            status(403).to_string(),
            "HTTP 403 (forbidden: IP rate limit breached or region blocked): "
        );
    }

    #[test]
    fn seconds_are_printed_short() {
        assert_eq!(secs(Duration::from_secs(12)), "12");
        assert_eq!(secs(Duration::from_millis(250)), "0.25");
        assert_eq!(secs(Duration::from_millis(61_500)), "61.5");
    }

    #[test]
    fn names_parse() {
        assert_eq!("ByBit".parse::<Exchange>(), Ok(Exchange::Bybit));
        assert_eq!("bitget".parse::<Exchange>(), Ok(Exchange::Bitget));
        assert!("binance".parse::<Exchange>().is_err());
        assert_eq!("linear".parse::<Market>(), Ok(Market::Perp));
        assert_eq!("SPOT".parse::<Market>(), Ok(Market::Spot));
        let e = "margin".parse::<Market>().unwrap_err().to_string();
        assert_eq!(e, "unknown market \"margin\"; accepted: perp, spot");
    }

    #[test]
    fn config_defaults() {
        let c = ExchangeConfig::new(Exchange::Bitget, Market::Perp, Duration::from_secs(1));
        assert_eq!(c.base_url, "https://api.bitget.com");
        assert_eq!(c.budget, Duration::from_secs(1));
        assert_eq!(c.timeout, ExchangeConfig::DEFAULT_TIMEOUT);
    }
}
