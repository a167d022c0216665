//! Routing: path and method to handler. Collections answer with and without the
//! trailing slash (`/positions/` and `/positions`).

use crate::MAX_BODY_BYTES;
use crate::query;
use crate::respond::{ApiError, Resp, html, json_pieces, ok, raw_json, text};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Body;
use hyper::{Method, Request, StatusCode};
use loms_domain::signal::{MAX_SIGNAL_ID_CHARS, identifier, parse_time, positive_amount};
use loms_domain::{CloseReason, PositionStatus};
use loms_oms::{JsonList, Oms, OmsError, TradingMode};
use loms_storage::{PositionFilter, TradeFilter};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;

/// The operators' dashboard: one self-contained page (no CDN, no build step).
const DASHBOARD: &str = include_str!("dashboard.html");

/// Answer one request. Never panics on input; every error is a JSON body.
pub async fn handle<B>(req: Request<B>, oms: &Oms) -> Resp
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = match authorize(&req, oms) {
        Ok(()) => route(req, oms).await,
        Err(e) => Err(e),
    }
    .unwrap_or_else(ApiError::into_response);
    oms.metrics().observe_request(started.elapsed());
    log::debug!(
        "http method={method} path={path} status={} ms={:.3}",
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    resp
}

/// What a request asks for: one row of [`ROUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Service,
    Metrics,
    Dashboard,
    OpenApi,
    GetTrading,
    SetTrading,
    CloseAll,
    Health,
    Signal,
    ListOrders,
    CreateOrder,
    ListPositions,
    GetPosition,
    PositionOrders,
    ClosePosition,
    Stats,
    GetPrice,
    PinPrice,
    UnpinPrice,
    Venue,
    Reconcile,
}

/// Every route the server answers: method, path template (`{name}` stands for one
/// path segment; a trailing `/` is optional on every path) and endpoint. The
/// dispatcher finds a request's endpoint here and nowhere else, and the OpenAPI test
/// compares this table with `openapi.json`, so the two cannot drift apart.
const ROUTES: &[(&str, &str, Endpoint)] = &[
    ("GET", "/", Endpoint::Service),
    ("GET", "/health", Endpoint::Health),
    ("GET", "/metrics", Endpoint::Metrics),
    ("GET", "/dashboard", Endpoint::Dashboard),
    ("GET", "/openapi.json", Endpoint::OpenApi),
    ("GET", "/admin/oms", Endpoint::GetTrading),
    ("POST", "/admin/oms", Endpoint::SetTrading),
    ("POST", "/admin/close-all", Endpoint::CloseAll),
    ("POST", "/signals/bounce", Endpoint::Signal),
    ("GET", "/orders/", Endpoint::ListOrders),
    ("POST", "/orders/", Endpoint::CreateOrder),
    ("GET", "/positions/", Endpoint::ListPositions),
    ("GET", "/positions/{id}", Endpoint::GetPosition),
    ("GET", "/positions/{id}/orders", Endpoint::PositionOrders),
    ("POST", "/positions/{id}/close", Endpoint::ClosePosition),
    ("GET", "/stats", Endpoint::Stats),
    ("GET", "/market/price", Endpoint::GetPrice),
    ("POST", "/market/price/{price}", Endpoint::PinPrice),
    ("DELETE", "/market/price", Endpoint::UnpinPrice),
    ("GET", "/venue", Endpoint::Venue),
    ("POST", "/venue/reconcile", Endpoint::Reconcile),
];

/// Every route as (method, path template), e.g. `("GET", "/positions/{id}")`.
pub fn route_table() -> impl Iterator<Item = (&'static str, &'static str)> {
    ROUTES.iter().map(|(m, t, _)| (*m, *t))
}

/// The path segments of `template` matched against `segs`: `Some` with the value of
/// its `{...}` segment (if any) when they match.
fn matches<'p>(template: &str, segs: &[&'p str]) -> Option<Option<&'p str>> {
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segs.len() {
        return None;
    }
    let mut param = None;
    for (part, seg) in parts.iter().zip(segs) {
        if part.starts_with('{') {
            param = Some(*seg);
        } else if part != seg {
            return None;
        }
    }
    Some(param)
}

async fn route<B>(req: Request<B>, oms: &Oms) -> Result<Resp, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut path_known = false;
    for (method, template, endpoint) in ROUTES {
        if let Some(param) = matches(template, &segs) {
            path_known = true;
            if req.method().as_str() == *method {
                let param = param.unwrap_or_default().to_owned();
                return dispatch(*endpoint, &param, req, oms).await;
            }
        }
    }
    let path = segs.join("/");
    Err(if path_known {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on /{path}", req.method()),
        )
    } else {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route /{path}"),
        )
    })
}

/// Answer a request for `endpoint`; `param` is the value of its path's `{...}` segment.
async fn dispatch<B>(
    endpoint: Endpoint,
    param: &str,
    req: Request<B>,
    oms: &Oms,
) -> Result<Resp, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let q = query::parse(req.uri().query());
    match endpoint {
        Endpoint::Service => ok(&json!({"status": "ok", "service": "CryptoNakCore LOMS"})),
        Endpoint::Metrics => Ok(text(oms.render_metrics())),
        Endpoint::Dashboard => Ok(html(DASHBOARD)),
        Endpoint::OpenApi => Ok(raw_json(crate::OPENAPI.as_bytes().to_vec())),
        Endpoint::GetTrading => ok(&oms.trading_state()),
        Endpoint::SetTrading => {
            let (mode, set_by) = trading_request(&body_json(req).await?)?;
            let (state, report) = oms.set_trading(mode, &set_by).await?;
            ok(
                &json!({"trading": state, "oms_enabled": state.mode.signals_may_open(), "flatten": report}),
            )
        }
        Endpoint::CloseAll => {
            let report = oms.close_all(CloseReason::Panic).await?;
            ok(&close_all_answer(&report))
        }
        Endpoint::Health => ok(&oms.health().await),
        Endpoint::Signal => signal(req, oms).await,
        Endpoint::ListOrders => {
            let (limit, offset) = page(&q)?;
            ok(&oms.orders(limit, offset).await?)
        }
        Endpoint::CreateOrder => {
            let v = body_json(req).await?;
            match oms.create_order(&v).await {
                Err(OmsError::Invalid(d)) => Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_order",
                    d,
                )),
                r => ok(&r?),
            }
        }
        Endpoint::ListPositions => {
            let filter = position_filter(&q)?;
            Ok(match oms.positions_json_pieces(filter).await? {
                JsonList::Whole(body) => raw_json(body),
                JsonList::Pieces(pieces) => json_pieces(pieces),
            })
        }
        Endpoint::GetPosition => {
            let id = parse_id(param)?;
            Ok(raw_json(
                oms.position_json(id).await?.ok_or(OmsError::NotFound(id))?,
            ))
        }
        Endpoint::PositionOrders => ok(&oms.position_orders(parse_id(param)?).await?),
        Endpoint::ClosePosition => ok(&oms
            .close_position(parse_id(param)?, CloseReason::Manual)
            .await?),
        Endpoint::Stats => ok(&oms.stats(trade_filter(&q)?).await?),
        Endpoint::GetPrice => market_price(oms, &q, None),
        Endpoint::PinPrice => {
            let p = positive_amount("price", &Value::String(param.to_owned())).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_price",
                    e.to_string(),
                )
            })?;
            market_price(oms, &q, Some(Some(p)))
        }
        Endpoint::UnpinPrice => market_price(oms, &q, Some(None)),
        Endpoint::Venue => ok(&oms.venue_view().await?),
        Endpoint::Reconcile => {
            let v = body_json(req).await?;
            let bad =
                |d: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", d);
            let mut r: loms_domain::ReconcileRequest = serde_json::from_value(v).map_err(|e| {
                bad(format!(
                    "expected {{\"symbol\": \"ETHUSDT\", \"action\": \"adopt\" or \"close\", \"qty\": \
                     (close only), \"by\": (optional)}}: {e}"
                ))
            })?;
            r.symbol =
                loms_domain::signal::parse_symbol(&r.symbol).map_err(|e| bad(e.to_string()))?;
            match oms.reconcile(r).await {
                Err(OmsError::Invalid(d)) => Err(bad(d)),
                r => ok(&r?),
            }
        }
    }
}

async fn body_bytes<B>(req: Request<B>) -> Result<Bytes, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("cannot read the request body: {e}"),
        )),
    }
}

async fn body_json<B>(req: Request<B>) -> Result<Value, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = body_bytes(req).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("request body is not valid JSON: {e}"),
        )
    })
}

async fn signal<B>(req: Request<B>, oms: &Oms) -> Result<Resp, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let key = idempotency_header(&req)?;
    let body = body_bytes(req).await?;
    ok(&oms.handle_signal(&body, key.as_deref()).await?)
}

/// The `Idempotency-Key` header, trimmed; absent or blank: `None`. It must be visible
/// ASCII (HTTP header text), 1 to 128 characters, and not pose as a derived key.
fn idempotency_header<B>(req: &Request<B>) -> Result<Option<String>, ApiError> {
    let invalid = |d: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_signal", d);
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let k = v
        .to_str()
        .map_err(|_| invalid("Idempotency-Key must be visible ASCII characters"))?
        .trim();
    if k.is_empty() {
        return Ok(None);
    }
    let k = identifier("Idempotency-Key", k, MAX_SIGNAL_ID_CHARS)
        .map_err(|e| invalid(&e.to_string()))?;
    if k.starts_with("derived:") {
        return Err(invalid("Idempotency-Key may not start with \"derived:\""));
    }
    Ok(Some(k))
}

/// Write endpoints need `Authorization: Bearer <LOMS_API_TOKEN>` when a token is set.
fn authorize<B>(req: &Request<B>, oms: &Oms) -> Result<(), ApiError> {
    let Some(token) = oms.settings().api_token.as_deref() else {
        return Ok(());
    };
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(());
    }
    let given = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => Ok(()),
        _ => {
            log::warn!(
                "unauthorized method={} path={}",
                req.method(),
                req.uri().path()
            );
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong token: send Authorization: Bearer <LOMS_API_TOKEN>",
            ))
        }
    }
}

/// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compare without leaking, through timing, how much of the token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `{"mode": "entries_off", "set_by": "cli"}` or the spec's `{"enabled": false}`.
fn trading_request(v: &Value) -> Result<(TradingMode, String), ApiError> {
    let invalid = |d: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", d);
    let mode = match (v.get("mode"), v.get("enabled")) {
        (Some(Value::String(m)), _) => m
            .parse::<TradingMode>()
            .map_err(|e| invalid(e.to_string()))?,
        (None, Some(Value::Bool(true))) => TradingMode::Active,
        (None, Some(Value::Bool(false))) => TradingMode::EntriesOff,
        _ => {
            return Err(invalid(format!(
                "body must be {{\"mode\": one of {}}} or {{\"enabled\": true|false}}",
                TradingMode::ACCEPTED
            )));
        }
    };
    let set_by = match v.get("set_by") {
        None | Some(Value::Null) => "api".to_string(),
        Some(Value::String(s)) => {
            identifier("set_by", s, 64).map_err(|e| invalid(e.to_string()))?
        }
        Some(_) => {
            return Err(invalid(
                "set_by must be a string of 1 to 64 characters".into(),
            ));
        }
    };
    Ok((mode, set_by))
}

fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::query(format!("position id must be a positive integer, got {s:?}"))
    })
}

fn number(q: &HashMap<String, String>, key: &str, max: u32) -> Result<Option<u32>, ApiError> {
    q.get(key)
        .map(|v| {
            v.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(|| {
                ApiError::query(format!(
                    "{key} must be a whole number from 0 to {max}, got {v:?}"
                ))
            })
        })
        .transpose()
}

fn page(q: &HashMap<String, String>) -> Result<(Option<u32>, Option<u32>), ApiError> {
    Ok((
        number(q, "limit", 1_000_000)?,
        number(q, "offset", u32::MAX)?,
    ))
}

fn symbol(q: &HashMap<String, String>) -> Option<String> {
    q.get("symbol")
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
}

fn position_filter(q: &HashMap<String, String>) -> Result<PositionFilter, ApiError> {
    let status = q
        .get("status")
        .map(|s| {
            s.parse::<PositionStatus>()
                .map_err(|e| ApiError::query(e.to_string()))
        })
        .transpose()?;
    let (limit, offset) = page(q)?;
    Ok(PositionFilter {
        status,
        symbol: symbol(q),
        limit,
        offset,
    })
}

fn trade_filter(q: &HashMap<String, String>) -> Result<TradeFilter, ApiError> {
    let time = |k: &str| {
        q.get(k)
            .map(|v| {
                parse_time(k, &Value::String(v.clone())).map_err(|e| ApiError::query(e.to_string()))
            })
            .transpose()
    };
    Ok(TradeFilter {
        since: time("since")?,
        until: time("until")?,
        symbol: symbol(q),
    })
}

/// GET (`set` None), pin (`Some(Some(p))`) or unpin (`Some(None)`) the simulator price.
fn market_price(
    oms: &Oms,
    q: &HashMap<String, String>,
    set: Option<Option<loms_domain::Decimal>>,
) -> Result<Resp, ApiError> {
    let sim = oms.simulator().ok_or_else(|| {
        OmsError::WrongMode(format!(
            "/market/price is only available with PRICE_SOURCE=simulator (current: {})",
            oms.settings().price_source.as_str()
        ))
    })?;
    let sym = symbol(q);
    match set {
        Some(Some(p)) => sim.pin(sym.as_deref(), p),
        Some(None) => sim.unpin(sym.as_deref()),
        None => {}
    }
    let shown = sym.clone().unwrap_or_else(|| "BTCUSDT".into());
    ok(&json!({
        "source": "simulator",
        "symbol": shown,
        "price": sim.peek(&shown),
        "pinned": set.map(|s| s.is_some()),
        "scope": if sym.is_some() { "symbol" } else { "all" },
    }))
}

/// The `/positions/close-all` answer (live adds the exits still at the venue).
fn close_all_answer(r: &loms_oms::CloseAllReport) -> serde_json::Value {
    let mut a = json!({"closed_count": r.closed.len(), "failed_count": r.failed.len(),
        "closed": r.closed, "failed": r.failed});
    if !r.sent.is_empty() {
        a["sent_count"] = json!(r.sent.len());
        a["sent"] = json!(r.sent);
    }
    a
}
