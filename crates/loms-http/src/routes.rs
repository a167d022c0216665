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

async fn route<B>(req: Request<B>, oms: &Oms) -> Result<Resp, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = req.uri().path().trim_end_matches('/').to_string();
    let q = query::parse(req.uri().query());
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let m = req.method().clone();
    match (segs.as_slice(), &m) {
        ([], &Method::GET) => ok(&json!({"status": "ok", "service": "CryptoNakCore LOMS"})),
        (["metrics"], &Method::GET) => Ok(text(oms.render_metrics())),
        (["dashboard"], &Method::GET) => Ok(html(DASHBOARD)),
        (["admin", "oms"], &Method::GET) => ok(&oms.trading_state()),
        (["admin", "oms"], &Method::POST) => {
            let (mode, set_by) = trading_request(&body_json(req).await?)?;
            let (state, report) = oms.set_trading(mode, &set_by).await?;
            ok(
                &json!({"trading": state, "oms_enabled": state.mode.signals_may_open(), "flatten": report}),
            )
        }
        (["admin", "close-all"], &Method::POST) => {
            let report = oms.close_all(CloseReason::Panic).await?;
            ok(
                &json!({"closed_count": report.closed.len(), "failed_count": report.failed.len(),
                "closed": report.closed, "failed": report.failed}),
            )
        }
        (["health"], &Method::GET) => ok(&oms.health().await),
        (["signals", "bounce"], &Method::POST) => signal(req, oms).await,
        (["orders"], &Method::GET) => {
            let (limit, offset) = page(&q)?;
            ok(&oms.orders(limit, offset).await?)
        }
        (["orders"], &Method::POST) => {
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
        (["positions"], &Method::GET) => {
            let filter = position_filter(&q)?;
            Ok(match oms.positions_json_pieces(filter).await? {
                JsonList::Whole(body) => raw_json(body),
                JsonList::Pieces(pieces) => json_pieces(pieces),
            })
        }
        (["positions", id], &Method::GET) => {
            let id = parse_id(id)?;
            Ok(raw_json(
                oms.position_json(id).await?.ok_or(OmsError::NotFound(id))?,
            ))
        }
        (["positions", id, "close"], &Method::POST) => ok(&oms
            .close_position(parse_id(id)?, CloseReason::Manual)
            .await?),
        (["stats"], &Method::GET) => ok(&oms.stats(trade_filter(&q)?).await?),
        (["market", "price"], &Method::GET) => market_price(oms, &q, None),
        (["market", "price", value], &Method::POST) => {
            let p =
                positive_amount("price", &Value::String((*value).to_string())).map_err(|e| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_price",
                        e.to_string(),
                    )
                })?;
            market_price(oms, &q, Some(Some(p)))
        }
        (["market", "price"], &Method::DELETE) => market_price(oms, &q, Some(None)),
        _ => Err(not_found_or_405(&segs, &m)),
    }
}

fn not_found_or_405(segs: &[&str], m: &Method) -> ApiError {
    let known = matches!(
        segs,
        [] | ["health"]
            | ["metrics"]
            | ["dashboard"]
            | ["admin", "oms"]
            | ["admin", "close-all"]
            | ["signals", "bounce"]
            | ["orders"]
            | ["positions"]
            | ["positions", _]
            | ["positions", _, "close"]
            | ["stats"]
            | ["market", "price"]
            | ["market", "price", _]
    );
    if known {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{m} is not allowed on /{}", segs.join("/")),
        )
    } else {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route /{}", segs.join("/")),
        )
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
