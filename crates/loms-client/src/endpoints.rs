//! One method per endpoint of the HTTP API (docs/api.md, crates/loms-http/openapi.json).

use crate::client::{Client, Method};
use crate::error::Error;
use crate::types::{
    CloseAllAnswer, Health, MarketPrice, NewOrder, PositionQuery, ServiceInfo, SignalAnswer, Stats,
    StatsQuery, TradingAnswer,
};
use chrono::SecondsFormat;
use loms_domain::{
    Decimal, Order, Position, PositionOrders, ReconcileOutcome, ReconcileRequest, VenueView,
};
use loms_domain::{TradingMode, TradingState};
use serde_json::{Value, json};

impl Client {
    /// `GET /`: the service's name.
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn service(&self) -> Result<ServiceInfo, Error> {
        self.call(Method::Get, "/", &[], None)
    }

    /// `GET /health`: settings and checks.
    ///
    /// ```no_run
    /// let h = loms_client::Client::new("http://127.0.0.1:8000").health()?;
    /// println!("{} ({} open, mode {})", h.status, h.open_positions.unwrap_or(0), h.trading.mode);
    /// # Ok::<(), loms_client::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn health(&self) -> Result<Health, Error> {
        self.call(Method::Get, "/health", &[], None)
    }

    /// `GET /metrics`: the Prometheus text.
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn metrics(&self) -> Result<String, Error> {
        Ok(self.success(Method::Get, "/metrics", &[], None)?.body)
    }

    /// `GET /dashboard`: the operators' HTML page.
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn dashboard(&self) -> Result<String, Error> {
        Ok(self.success(Method::Get, "/dashboard", &[], None)?.body)
    }

    /// `GET /openapi.json`: the OpenAPI document of the API.
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn openapi(&self) -> Result<Value, Error> {
        self.call(Method::Get, "/openapi.json", &[], None)
    }

    /// `POST /signals/bounce`: send a bot payload, with an optional `Idempotency-Key`.
    ///
    /// ```no_run
    /// use serde_json::json;
    /// let client = loms_client::Client::new("http://127.0.0.1:8000");
    /// let a = client.signal(&json!({"symbol": "BTCUSDT", "side": "long", "price": 97250.5,
    ///                               "timestamp": "2025-12-01T10:05:00Z"}), None)?;
    /// println!("opened: {}, position {:?}", a.risk_ok, a.position_id);
    /// # Ok::<(), loms_client::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any [`Error`]; an invalid payload is [`Error::Refused`] with `invalid_signal`.
    pub fn signal(
        &self,
        payload: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<SignalAnswer, Error> {
        let header = idempotency_key.map(|k| ("Idempotency-Key", k));
        let answer = self.send(Method::Post, "/signals/bounce", &[], Some(payload), header)?;
        Self::json(Method::Post, "/signals/bounce", answer)
    }

    /// `GET /orders/`: newest first.
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn orders(&self, limit: Option<u32>, offset: Option<u32>) -> Result<Vec<Order>, Error> {
        let (limit, offset) = (limit.map(|n| n.to_string()), offset.map(|n| n.to_string()));
        let query = pairs([("limit", limit.as_deref()), ("offset", offset.as_deref())]);
        self.call(Method::Get, "/orders/", &query, None)
    }

    /// `POST /orders/`: a manual market order; answers the position it opened.
    ///
    /// # Errors
    /// Any [`Error`]; `risk_blocked` (409), `invalid_order` (422), `wrong_mode` (409).
    pub fn create_order(&self, order: &NewOrder) -> Result<Position, Error> {
        let body = json!({
            "symbol": order.symbol, "side": order.side, "qty": order.qty,
            "entry_price": order.entry_price, "tp_price": order.tp_price,
            "sl_price": order.sl_price, "order_type": "market",
        });
        self.call(Method::Post, "/orders/", &[], Some(&body))
    }

    /// `GET /positions/`: newest first, filtered.
    ///
    /// ```no_run
    /// use loms_client::{Client, PositionQuery};
    /// let last10 = Client::new("http://127.0.0.1:8000")
    ///     .positions(&PositionQuery { limit: Some(10), ..Default::default() })?;
    /// for p in last10 { println!("#{} {} {:?}", p.id, p.symbol, p.pnl); }
    /// # Ok::<(), loms_client::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn positions(&self, q: &PositionQuery) -> Result<Vec<Position>, Error> {
        let (limit, offset) = (
            q.limit.map(|n| n.to_string()),
            q.offset.map(|n| n.to_string()),
        );
        let query = pairs([
            ("status", q.status.map(|s| s.as_str())),
            ("symbol", q.symbol.as_deref()),
            ("limit", limit.as_deref()),
            ("offset", offset.as_deref()),
        ]);
        self.call(Method::Get, "/positions/", &query, None)
    }

    /// `GET /positions/{id}`.
    ///
    /// # Errors
    /// Any [`Error`]; an unknown id is [`Error::Refused`] with status 404.
    pub fn position(&self, id: i64) -> Result<Position, Error> {
        self.call(Method::Get, &format!("/positions/{id}"), &[], None)
    }

    /// `GET /positions/{id}/orders`: the position's orders (entry, then exits), oldest
    /// first, each with its close reason and the venue's fills.
    ///
    /// # Errors
    /// Any [`Error`]; an unknown id is [`Error::Refused`] with status 404.
    pub fn position_orders(&self, id: i64) -> Result<PositionOrders, Error> {
        self.call(Method::Get, &format!("/positions/{id}/orders"), &[], None)
    }

    /// `GET /venue` (live): the venue's positions next to LOMS's open ones, and what
    /// holds entries.
    ///
    /// # Errors
    /// Any [`Error`]; paper mode is [`Error::Refused`] with status 409.
    pub fn venue(&self) -> Result<VenueView, Error> {
        self.call(Method::Get, "/venue", &[], None)
    }

    /// `POST /venue/reconcile` (live): settle a difference on the operator's word.
    ///
    /// # Errors
    /// Any [`Error`]; an action that does not fit what the venue and LOMS hold now is
    /// [`Error::Refused`] with status 422 and a message saying what does.
    pub fn reconcile(&self, req: &ReconcileRequest) -> Result<ReconcileOutcome, Error> {
        let body =
            json!({"symbol": req.symbol, "action": req.action, "qty": req.qty, "by": req.by});
        self.call(Method::Post, "/venue/reconcile", &[], Some(&body))
    }

    /// `POST /positions/{id}/close`: close at the current price (reason `manual`); a
    /// closed position comes back unchanged.
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn close_position(&self, id: i64) -> Result<Position, Error> {
        self.call(Method::Post, &format!("/positions/{id}/close"), &[], None)
    }

    /// `GET /stats`, filtered.
    ///
    /// ```no_run
    /// use loms_client::{Client, StatsQuery};
    /// let s = Client::new("http://127.0.0.1:8000").stats(&StatsQuery::default())?;
    /// println!("{} trades, net {} USDT, winrate {:.1} %", s.closed_positions, s.net_pnl, s.winrate);
    /// # Ok::<(), loms_client::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn stats(&self, q: &StatsQuery) -> Result<Stats, Error> {
        let time = |t: Option<loms_domain::Timestamp>| {
            t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        };
        let (since, until) = (time(q.since), time(q.until));
        let query = pairs([
            ("since", since.as_deref()),
            ("until", until.as_deref()),
            ("symbol", q.symbol.as_deref()),
        ]);
        self.call(Method::Get, "/stats", &query, None)
    }

    /// `GET /admin/oms`: the trading mode.
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn trading(&self) -> Result<TradingState, Error> {
        self.call(Method::Get, "/admin/oms", &[], None)
    }

    /// `POST /admin/oms`: set the trading mode, saying who set it (1–64 characters).
    ///
    /// ```no_run
    /// use loms_client::{Client, TradingMode};
    /// let a = Client::new("http://127.0.0.1:8000")
    ///     .with_token(Some("the LOMS_API_TOKEN".into()))
    ///     .set_trading(TradingMode::EntriesOff, "my-tool")?;
    /// assert_eq!(a.trading.mode, TradingMode::EntriesOff);
    /// # Ok::<(), loms_client::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn set_trading(&self, mode: TradingMode, set_by: &str) -> Result<TradingAnswer, Error> {
        let body = json!({"mode": mode.as_str(), "set_by": set_by});
        self.call(Method::Post, "/admin/oms", &[], Some(&body))
    }

    /// `POST /admin/close-all`: close every open position now (reason `panic`).
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn close_all(&self) -> Result<CloseAllAnswer, Error> {
        self.call(Method::Post, "/admin/close-all", &[], Some(&json!({})))
    }

    /// `GET /market/price`: the simulator's price of `symbol` (default BTCUSDT).
    ///
    /// # Errors
    /// Any [`Error`]; `wrong_mode` (409) unless PRICE_SOURCE=simulator.
    pub fn market_price(&self, symbol: Option<&str>) -> Result<MarketPrice, Error> {
        self.call(
            Method::Get,
            "/market/price",
            &pairs([("symbol", symbol)]),
            None,
        )
    }

    /// `POST /market/price/{price}`: pin `symbol` (every symbol when `None`) to `price`.
    ///
    /// # Errors
    /// Any [`Error`]; `invalid_price` (422), `wrong_mode` (409).
    pub fn pin_price(&self, price: Decimal, symbol: Option<&str>) -> Result<MarketPrice, Error> {
        let path = format!("/market/price/{price}");
        self.call(Method::Post, &path, &pairs([("symbol", symbol)]), None)
    }

    /// `DELETE /market/price`: release the pin of `symbol` (every symbol when `None`).
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn unpin_price(&self, symbol: Option<&str>) -> Result<MarketPrice, Error> {
        let q = pairs([("symbol", symbol)]);
        self.call(Method::Delete, "/market/price", &q, None)
    }
}

/// The query pairs that are set.
fn pairs<'a, const N: usize>(kv: [(&'a str, Option<&'a str>); N]) -> Vec<(&'a str, &'a str)> {
    kv.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}
