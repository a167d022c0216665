//! The blocking Bitget v2 USDT-M futures REST client: one signed request per call, its
//! answer read into typed values, its failure classified ([`BitgetError`]).
//!
//! One-way mode only: orders never carry `tradeSide` (refused with 40774 in one-way
//! mode), closes are the opposite side with `reduceOnly: YES`. Demo trading
//! ([`BitgetConfig::demo`]) adds the `paptrading: 1` header and is otherwise the same code.

use crate::codes::ErrorClass;
use crate::contract::ContractSpec;
use crate::error::BitgetError;
use crate::order::{
    AccountInfo, CancelOutcome, ClientOid, Fill, KeyInfo, OrderAck, OrderDetail, OrderSide,
    PlaceOrder, VenuePosition,
};
use crate::sign::{Credentials, sorted_query};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod history;
mod open_orders;

pub use open_orders::OpenOrder;

pub use history::MAX_FILLS_WINDOW_MS;

/// USDT-M perpetuals.
pub const PRODUCT_TYPE: &str = "USDT-FUTURES";
/// Their margin coin.
pub const MARGIN_COIN: &str = "USDT";
/// Largest answer read (a fills page is well under this).
const MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;

/// Where and how to reach Bitget.
#[derive(Debug, Clone)]
pub struct BitgetConfig {
    /// `https://api.bitget.com` (a fake's URL in tests); no trailing slash needed.
    pub base_url: String,
    /// Demo trading: header `paptrading: 1` on every request (same host, demo key).
    pub demo: bool,
    /// Time limit of one request, answer included.
    pub timeout: Duration,
}

/// The source of "now" in Unix milliseconds (injected in tests).
pub type NowMs = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The Bitget private REST client. Cheap to share behind an `Arc`; calls block.
pub struct BitgetClient {
    cfg: BitgetConfig,
    creds: Credentials,
    agent: ureq::Agent,
    now_ms: NowMs,
    /// Venue time minus local time, ms, from [`BitgetClient::sync_time`].
    offset_ms: AtomicI64,
    contracts: Mutex<HashMap<String, ContractSpec>>,
}

impl std::fmt::Debug for BitgetClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitgetClient")
            .field("base_url", &self.cfg.base_url)
            .field("demo", &self.cfg.demo)
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

/// One answer: HTTP status and body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl BitgetClient {
    /// A client for `cfg` signing with `creds`, timestamps from the system clock.
    pub fn new(cfg: BitgetConfig, creds: Credentials) -> Self {
        let now: NowMs = Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        });
        Self::with_clock(cfg, creds, now)
    }

    /// [`BitgetClient::new`] with an injected clock.
    pub fn with_clock(cfg: BitgetConfig, creds: Credentials, now_ms: NowMs) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("loms/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self {
            cfg,
            creds,
            agent,
            now_ms,
            offset_ms: AtomicI64::new(0),
            contracts: Mutex::new(HashMap::new()),
        }
    }

    fn url(&self, path: &str, query: &str) -> String {
        let base = self.cfg.base_url.trim_end_matches('/');
        if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{query}")
        }
    }

    /// The venue's time as this client believes it (local + offset), ms.
    pub fn venue_now_ms(&self) -> i64 {
        (self.now_ms)() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Send one request; `signed` adds the ACCESS-* headers. Returns the `data` of a
    /// `code: "00000"` envelope.
    fn call(
        &self,
        method: &'static str,
        path: &str,
        params: &[(&str, &str)],
        body: Option<&str>,
        signed: bool,
    ) -> Result<Value, BitgetError> {
        let query = sorted_query(params).map_err(|e| BitgetError::Request(e.to_string()))?;
        let url = self.url(path, &query);
        let body = body.unwrap_or("");
        let ts = self.venue_now_ms().to_string();
        let mut headers: Vec<(&str, String)> = vec![
            ("Content-Type", "application/json".into()),
            ("locale", "en-US".into()),
        ];
        if self.cfg.demo {
            headers.push(("paptrading", "1".into()));
        }
        if signed {
            headers.push(("ACCESS-KEY", self.creds.key().to_string()));
            headers.push(("ACCESS-PASSPHRASE", self.creds.passphrase().to_string()));
            headers.push(("ACCESS-TIMESTAMP", ts.clone()));
            headers.push((
                "ACCESS-SIGN",
                self.creds.sign(&ts, method, path, &query, body),
            ));
        }
        let answer = self.send(method, &url, &headers, body)?;
        parse_envelope(answer)
    }

    fn send(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> Result<Answer, BitgetError> {
        let result = if method == "POST" {
            let mut req = self.agent.post(url);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            req.send(body.as_bytes())
        } else {
            let mut req = self.agent.get(url);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            req.call()
        };
        let mut resp = result.map_err(|e| transport(e, self.cfg.timeout))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| transport(e, self.cfg.timeout))?;
        Ok(Answer { status, body })
    }

    fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, BitgetError> {
        self.call("GET", path, params, None, true)
    }

    fn post(&self, path: &str, body: &str) -> Result<Value, BitgetError> {
        self.call("POST", path, &[], Some(body), true)
    }

    /// `GET /api/v2/public/time`: set the offset between the local and the venue's clock,
    /// and return it (venue − local, ms).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn sync_time(&self) -> Result<i64, BitgetError> {
        let before = (self.now_ms)();
        let data = self.call("GET", "/api/v2/public/time", &[], None, false)?;
        let after = (self.now_ms)();
        let server = dec_field(&data, "serverTime")
            .ok()
            .and_then(|d| i64::try_from(d.trunc().mantissa()).ok())
            .ok_or_else(|| bad(200, "serverTime missing", &data))?;
        let offset = server - (before + after) / 2;
        self.offset_ms.store(offset, Ordering::Relaxed);
        Ok(offset)
    }

    /// The contract rules of `symbol` (public endpoint), cached after the first call.
    ///
    /// # Errors
    /// [`BitgetError`]; an unknown symbol is a `BadAnswer`.
    pub fn contract(&self, symbol: &str) -> Result<ContractSpec, BitgetError> {
        if let Some(c) = lock(&self.contracts).get(symbol) {
            return Ok(c.clone());
        }
        let data = self.call(
            "GET",
            "/api/v2/mix/market/contracts",
            &[("productType", PRODUCT_TYPE), ("symbol", symbol)],
            None,
            false,
        )?;
        let row = data
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["symbol"] == symbol))
            .ok_or_else(|| bad(200, &format!("no contract {symbol}"), &data))?;
        let spec = ContractSpec::from_json(row).map_err(|e| BitgetError::BadAnswer {
            status: 200,
            detail: e.to_string(),
        })?;
        lock(&self.contracts).insert(symbol.to_string(), spec.clone());
        Ok(spec)
    }

    /// `POST /api/v2/mix/order/place-order`: a market order, one-way mode, isolated margin.
    /// The answer only says the venue received it; fills come from
    /// [`BitgetClient::order_detail`] and [`BitgetClient::fills`].
    ///
    /// # Errors
    /// [`BitgetError`]: when [`BitgetError::outcome_unknown`], look the order up by its
    /// clientOid before anything else; never send it under another id.
    pub fn place_order(&self, order: &PlaceOrder) -> Result<OrderAck, BitgetError> {
        let body = order.body();
        let data = self.post("/api/v2/mix/order/place-order", &body)?;
        Ok(OrderAck {
            order_id: data
                .get("orderId")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            client_oid: order.client_oid.clone(),
        })
    }

    /// `GET /api/v2/mix/order/detail` by clientOid; `None` when the venue has no such
    /// order (40109).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn order_detail(
        &self,
        symbol: &str,
        client_oid: &ClientOid,
    ) -> Result<Option<OrderDetail>, BitgetError> {
        self.detail_by(symbol, ("clientOid", client_oid.as_str()))
    }

    /// `detail` by one id parameter (`clientOid` or `orderId`); `None` on 40109.
    fn detail_by(
        &self,
        symbol: &str,
        id: (&str, &str),
    ) -> Result<Option<OrderDetail>, BitgetError> {
        let r = self.get(
            "/api/v2/mix/order/detail",
            &[("symbol", symbol), ("productType", PRODUCT_TYPE), id],
        );
        match r {
            Ok(data) => OrderDetail::from_json(&data)
                .map(Some)
                .map_err(|e| bad(200, &e, &data)),
            Err(e) if e.class() == Some(ErrorClass::OrderNotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /api/v2/mix/order/cancel-order` by clientOid.
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn cancel_order(
        &self,
        symbol: &str,
        client_oid: &ClientOid,
    ) -> Result<CancelOutcome, BitgetError> {
        let body = json_object(&[
            ("symbol", symbol),
            ("productType", PRODUCT_TYPE),
            ("marginCoin", MARGIN_COIN),
            ("clientOid", client_oid.as_str()),
        ]);
        match self.post("/api/v2/mix/order/cancel-order", &body) {
            Ok(_) => Ok(CancelOutcome::Canceled),
            Err(e) if e.class() == Some(ErrorClass::OrderNotFound) => Ok(CancelOutcome::NotFound),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/v2/mix/order/fills` of one order (newest first as the venue sends them).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn fills(&self, symbol: &str, order_id: &str) -> Result<Vec<Fill>, BitgetError> {
        let data = self.get(
            "/api/v2/mix/order/fills",
            &[
                ("productType", PRODUCT_TYPE),
                ("symbol", symbol),
                ("orderId", order_id),
            ],
        )?;
        let list = data
            .get("fillList")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        list.iter()
            .map(|f| Fill::from_json(f).map_err(|e| bad(200, &e, f)))
            .collect()
    }

    /// `GET /api/v2/mix/position/all-position`: every open position of the account.
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn positions(&self) -> Result<Vec<VenuePosition>, BitgetError> {
        let data = self.get(
            "/api/v2/mix/position/all-position",
            &[("productType", PRODUCT_TYPE), ("marginCoin", MARGIN_COIN)],
        )?;
        data.as_array()
            .ok_or_else(|| bad(200, "data is not a list", &data))?
            .iter()
            .map(|p| VenuePosition::from_json(p).map_err(|e| bad(200, &e, p)))
            .collect()
    }

    /// `GET /api/v2/mix/account/account` for `symbol`: equity, modes, leverage.
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn account(&self, symbol: &str) -> Result<AccountInfo, BitgetError> {
        let data = self.get(
            "/api/v2/mix/account/account",
            &[
                ("symbol", symbol),
                ("productType", PRODUCT_TYPE),
                ("marginCoin", MARGIN_COIN),
            ],
        )?;
        AccountInfo::from_json(&data).map_err(|e| bad(200, &e, &data))
    }

    /// `GET /api/v2/mix/account/accounts`: the USDT-M futures account (equity and what
    /// a new isolated position may still use).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn usdt_account(&self) -> Result<AccountInfo, BitgetError> {
        let data = self.get(
            "/api/v2/mix/account/accounts",
            &[("productType", PRODUCT_TYPE)],
        )?;
        let row = data
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["marginCoin"] == MARGIN_COIN))
            .ok_or_else(|| bad(200, "no USDT account", &data))?;
        AccountInfo::from_json(row).map_err(|e| bad(200, &e, row))
    }

    /// `GET /api/v2/spot/account/info`: the key's account UID, parent and permissions.
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn key_info(&self) -> Result<KeyInfo, BitgetError> {
        let data = self.get("/api/v2/spot/account/info", &[])?;
        KeyInfo::from_json(&data).map_err(|e| bad(200, &e, &data))
    }

    /// `POST /api/v2/mix/account/set-leverage` for `symbol` (isolated, one-way: both sides).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn set_leverage(&self, symbol: &str, leverage: u32) -> Result<(), BitgetError> {
        let lev = leverage.to_string();
        let body = json_object(&[
            ("symbol", symbol),
            ("productType", PRODUCT_TYPE),
            ("marginCoin", MARGIN_COIN),
            ("leverage", &lev),
        ]);
        self.post("/api/v2/mix/account/set-leverage", &body)
            .map(drop)
    }

    /// `POST /api/v2/mix/account/set-margin-mode` to isolated for `symbol` (refused with
    /// 45117 while a position or order exists).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn set_isolated(&self, symbol: &str) -> Result<(), BitgetError> {
        let body = json_object(&[
            ("symbol", symbol),
            ("productType", PRODUCT_TYPE),
            ("marginCoin", MARGIN_COIN),
            ("marginMode", "isolated"),
        ]);
        self.post("/api/v2/mix/account/set-margin-mode", &body)
            .map(drop)
    }

    /// `POST /api/v2/mix/account/set-position-mode` to one-way mode (every symbol of the
    /// product type; refused with 40920 while a position or order exists).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn set_one_way(&self) -> Result<(), BitgetError> {
        let body = json_object(&[("productType", PRODUCT_TYPE), ("posMode", "one_way_mode")]);
        self.post("/api/v2/mix/account/set-position-mode", &body)
            .map(drop)
    }

    /// `POST /api/v2/mix/order/modify-tpsl-order`: move the position's stop-loss (the
    /// preset placed with the entry, id `stop_loss_id` from [`VenuePosition`]).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn move_stop(
        &self,
        symbol: &str,
        stop_loss_id: &str,
        trigger_price: Decimal,
    ) -> Result<(), BitgetError> {
        let price = trigger_price.normalize().to_string();
        let body = json_object(&[
            ("orderId", stop_loss_id),
            ("marginCoin", MARGIN_COIN),
            ("productType", PRODUCT_TYPE),
            ("symbol", symbol),
            ("triggerPrice", &price),
            ("triggerType", "mark_price"),
            ("size", ""),
        ]);
        self.post("/api/v2/mix/order/modify-tpsl-order", &body)
            .map(drop)
    }
}

impl OrderSide {
    /// Bitget's `side`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrderSide::Buy => "buy",
            OrderSide::Sell => "sell",
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A flat JSON object of string values, in the given key order.
pub(crate) fn json_object(fields: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Serialising a &str cannot fail.
        out.push_str(&serde_json::to_string(k).unwrap_or_default());
        out.push(':');
        out.push_str(&serde_json::to_string(v).unwrap_or_default());
    }
    out.push('}');
    out
}

/// A string or number field as a decimal.
pub(crate) fn dec_field(v: &Value, key: &str) -> Result<Decimal, String> {
    let text = match v.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(format!("field {key} missing")),
    };
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text)
    } else {
        text.parse::<Decimal>()
    }
    .map_err(|_| format!("field {key} is not a number: {text:?}"))
}

fn bad(status: u16, what: &str, v: &Value) -> BitgetError {
    let mut shown = v.to_string();
    if shown.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| shown.is_char_boundary(*i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    BitgetError::BadAnswer {
        status,
        detail: format!("{what}: {shown}"),
    }
}

/// Read Bitget's envelope: `code == "00000"` is success whatever the status; any other
/// code is a refusal whatever the status (auth errors come with HTTP 400); a non-2xx
/// without an envelope is a transport failure (the outcome is unknown).
fn parse_envelope(a: Answer) -> Result<Value, BitgetError> {
    let v: Option<Value> = serde_json::from_slice(&a.body).ok();
    let code = v.as_ref().and_then(|v| match v.get("code") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    });
    match (v, code) {
        (Some(mut v), Some(code)) if code == "00000" => {
            Ok(v.get_mut("data").map(Value::take).unwrap_or(Value::Null))
        }
        (Some(v), Some(code)) => {
            let msg = v
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Err(BitgetError::Venue {
                status: a.status,
                class: ErrorClass::of(&code, &msg),
                code,
                msg,
            })
        }
        _ if a.status == 429 => Err(BitgetError::Venue {
            status: 429,
            code: "429".into(),
            msg: "Too Many Requests".into(),
            class: ErrorClass::RateLimited,
        }),
        _ if a.status >= 500 => Err(BitgetError::NoAnswer(format!(
            "HTTP {} {}",
            a.status,
            snippet(&a.body)
        ))),
        _ => Err(BitgetError::BadAnswer {
            status: a.status,
            detail: format!("not a Bitget envelope: {}", snippet(&a.body)),
        }),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let s: String = text
        .chars()
        .take(120)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.trim().is_empty() {
        "<empty body>".into()
    } else {
        s.trim().to_string()
    }
}

fn transport(e: ureq::Error, timeout: Duration) -> BitgetError {
    match e {
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::BadUri(_) => {
            BitgetError::Unreachable(e.to_string())
        }
        ureq::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => {
            BitgetError::Unreachable(io.to_string())
        }
        ureq::Error::Timeout(_) => {
            BitgetError::NoAnswer(format!("timed out after {} ms", timeout.as_millis()))
        }
        other => BitgetError::NoAnswer(other.to_string()),
    }
}
