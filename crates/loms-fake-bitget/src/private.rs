//! The signed routes: the venue's authentication checks, then orders, fills, positions,
//! the account and the key, with the refusals of bitget-live.md.

use crate::Seen;
use crate::shapes::{detail, fill, position};
use crate::state::{Order, OrderSource, Position, Side, State};
use crate::wire::{envelope, error, query_map};
use crate::{KEY, PASSPHRASE, SECRET, StopError};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::str::FromStr;

/// Place an order.
pub(crate) const PLACE: &str = "/api/v2/mix/order/place-order";
/// Fills of the last 90 days (works in demo).
pub(crate) const FILLS: &str = "/api/v2/mix/order/fills";
/// Fill history (refused in demo).
pub(crate) const FILL_HISTORY: &str = "/api/v2/mix/order/fill-history";
/// Largest time span of a fills query, ms (three months).
const MAX_FILLS_SPAN_MS: i64 = 90 * 24 * 3_600_000;
/// Most fills on one page.
const MAX_FILLS_PAGE: usize = 100;

/// The venue's checks of a private request: key, passphrase, timestamp window, signature,
/// environment.
fn authenticate(req: &Seen, s: &State) -> Result<(), (u16, String)> {
    let now = s.now_ms();
    let h = |k: &str| req.headers.get(k).cloned().unwrap_or_default();
    if h("access-key").is_empty() {
        return Err(error(now, 400, "40001", "ACCESS_KEY cannot be empty"));
    }
    if h("access-key") != KEY {
        return Err(error(now, 400, "40037", "Apikey does not exist"));
    }
    if h("access-passphrase") != PASSPHRASE {
        return Err(error(now, 400, "40036", "passphrase is error"));
    }
    let Ok(ts) = h("access-timestamp").parse::<i64>() else {
        return Err(error(now, 400, "40005", "Invalid ACCESS_TIMESTAMP"));
    };
    if (ts - now).abs() > 30_000 {
        return Err(error(now, 400, "40008", "Request timestamp expired"));
    }
    let mut prehash = format!("{ts}{}{}", req.method, req.path);
    if !req.query.is_empty() {
        prehash.push('?');
        prehash.push_str(&req.query);
    }
    prehash.push_str(&req.body);
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
        return Err(error(now, 500, "50000", "signer unavailable"));
    };
    mac.update(prehash.as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if h("access-sign") != want {
        return Err(error(now, 400, "40009", "sign signature error"));
    }
    if s.demo != (h("paptrading") == "1") {
        return Err(error(
            now,
            400,
            "40099",
            "exchange environment is incorrect",
        ));
    }
    Ok(())
}

pub(crate) fn route(req: &Seen, s: &mut State) -> (u16, String) {
    if let Err(e) = authenticate(req, s) {
        return e;
    }
    let now = s.now_ms();
    let query = query_map(&req.query);
    let param = |k: &str| query.get(k).cloned().unwrap_or_default();
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", PLACE) => place(s, &body),
        // Empty: `entrustedList` is null, as the venue answers.
        ("GET", "/api/v2/mix/order/orders-pending") => {
            let list = (!s.resting.is_empty()).then(|| s.resting.clone());
            envelope(now, json!({"entrustedList": list, "endId": null}))
        }
        ("GET", "/api/v2/mix/order/detail") => {
            // Either id; orderId wins when both are given.
            let (oid, coid) = (param("orderId"), param("clientOid"));
            let found = s.orders.iter().find(|o| {
                if oid.is_empty() {
                    !coid.is_empty() && o.client_oid == coid
                } else {
                    o.order_id == oid
                }
            });
            match found {
                Some(o) => envelope(now, detail(o)),
                None => error(
                    now,
                    400,
                    "40109",
                    "The data of the order cannot be found, please confirm the order number",
                ),
            }
        }
        ("GET", FILLS) => fills(s, &query, false),
        ("GET", FILL_HISTORY) if s.demo => error(
            now,
            400,
            "40110",
            "It is currently unavailable in a demo trading",
        ),
        ("GET", FILL_HISTORY) => fills(s, &query, true),
        ("POST", "/api/v2/mix/order/cancel-order") => {
            error(now, 400, "22001", "No order to cancel")
        }
        ("GET", "/api/v2/mix/position/all-position") => {
            let mut list: Vec<&Position> = s.positions.values().collect();
            list.sort_by(|a, b| a.symbol.cmp(&b.symbol));
            let list: Vec<Value> = list.into_iter().map(|p| position(p, now)).collect();
            envelope(now, json!(list))
        }
        ("GET", "/api/v2/mix/account/account") => envelope(now, account(s, Some(&param("symbol")))),
        ("GET", "/api/v2/mix/account/accounts") => envelope(now, json!([account(s, None)])),
        ("GET", "/api/v2/spot/account/info") => envelope(
            now,
            json!({"userId":s.user_id,"inviterId":"","ips":"203.0.113.7",
            "authorities":s.authorities,"parentId":s.parent_id,"traderType":"not_trader",
            "channelCode":"","channel":"","regisTime":"1700000000000"}),
        ),
        ("POST", "/api/v2/mix/account/set-leverage") => {
            s.leverage = Decimal::from_str(&field("leverage")).unwrap_or(s.leverage);
            envelope(
                now,
                json!({"symbol":field("symbol"),"marginCoin":"USDT","longLeverage":field("leverage"),
                "shortLeverage":field("leverage"),"crossMarginLeverage":field("leverage"),
                "marginMode":"isolated"}),
            )
        }
        ("POST", "/api/v2/mix/account/set-position-mode") => {
            if !s.positions.is_empty() {
                return error(
                    now,
                    400,
                    "40920",
                    "Position or order exists, the position mode cannot be switched",
                );
            }
            s.pos_mode = field("posMode");
            envelope(now, json!({"posMode": s.pos_mode}))
        }
        ("POST", "/api/v2/mix/account/set-margin-mode") => {
            if s.positions.contains_key(&field("symbol")) {
                return error(
                    now,
                    400,
                    "45117",
                    "Currently holding positions or orders, the margin mode cannot be adjusted",
                );
            }
            s.margin_modes.insert(field("symbol"), field("marginMode"));
            envelope(
                now,
                json!({"symbol":field("symbol"),"marginCoin":"USDT","longLeverage":"3",
                "shortLeverage":"3","marginMode":field("marginMode")}),
            )
        }
        ("POST", "/api/v2/mix/order/modify-tpsl-order") => {
            let id = field("orderId");
            let price = Decimal::from_str(&field("triggerPrice")).ok();
            match s.positions.values_mut().find(|p| p.stop_loss_id == id) {
                Some(p) => {
                    p.stop_loss = price;
                    envelope(now, json!({"orderId": id, "clientOid": ""}))
                }
                None => error(now, 400, "43020", "The plan order does not exist"),
            }
        }
        _ => error(now, 404, "40404", "Request URL NOT FOUND"),
    }
}

/// The USDT-M account object: of one symbol (its modes and leverage), or the list row of
/// `accounts` (`None`: the union-margin fields).
fn account(s: &State, symbol: Option<&str>) -> Value {
    let b = s.balance.to_string();
    let mut v = json!({"marginCoin":"USDT","locked":"0","available":b,"crossedMaxAvailable":b,
        "isolatedMaxAvailable":b,"maxTransferOut":b,"accountEquity":b,"usdtEquity":b,
        "btcEquity":"0.0016","crossedRiskRate":"0","unrealizedPL":"0","coupon":"0"});
    match symbol {
        None => {
            for (k, val) in [
                ("unionTotalMagin", json!(b)),
                ("unionAvailable", json!(b)),
                ("unionMm", json!("0")),
                ("assetList", json!([{"coin":"USDT","balance":b}])),
                ("isolatedMargin", json!("0")),
                ("crossedMargin", json!("0")),
                ("crossedUnrealizedPL", json!("0")),
                ("isolatedUnrealizedPL", json!("0")),
                ("assetMode", json!("single")),
            ] {
                v[k] = val;
            }
        }
        Some(symbol) => {
            for (k, val) in [
                ("crossedMarginLeverage", json!(3)),
                ("isolatedLongLever", json!(3)),
                ("isolatedShortLever", json!(3)),
                ("marginMode", json!(s.margin_mode(symbol))),
                ("posMode", json!(s.pos_mode)),
            ] {
                v[k] = val;
            }
        }
    }
    v
}

/// `fills` / `fill-history`: one order's fills (`orderId`), or the fills of a symbol (or
/// of every symbol) in `[startTime, endTime]`, newest first, `limit` ≤ 100, paged with
/// `idLessThan` (the previous page's `endId`).
fn fills(s: &State, q: &HashMap<String, String>, history: bool) -> (u16, String) {
    let now = s.now_ms();
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if !get("productType").eq_ignore_ascii_case("USDT-FUTURES") {
        return error(now, 400, "40019", "Parameter productType cannot be empty");
    }
    let num = |k: &str| -> Result<Option<i64>, (u16, String)> {
        match get(k) {
            "" => Ok(None),
            v => v.parse().map(Some).map_err(|_| {
                error(
                    now,
                    400,
                    "40017",
                    &format!("Parameter verification failed {k}"),
                )
            }),
        }
    };
    let parsed = (|| {
        Ok((
            num("startTime")?,
            num("endTime")?,
            num("idLessThan")?,
            num("limit")?,
        ))
    })();
    let (start, end, id_less_than, limit) = match parsed {
        Ok(p) => p,
        Err(e) => return e,
    };
    let end = end.unwrap_or(now);
    let start = start.unwrap_or(end - MAX_FILLS_SPAN_MS);
    if start > end || end - start > MAX_FILLS_SPAN_MS {
        return error(
            now,
            400,
            "40017",
            "Parameter verification failed: startTime/endTime span must be within 90 days",
        );
    }
    let limit = limit.map_or(MAX_FILLS_PAGE, |l| {
        usize::try_from(l).unwrap_or(0).clamp(1, MAX_FILLS_PAGE)
    });
    let mut list: Vec<&Order> = s
        .orders
        .iter()
        .filter(|o| get("orderId").is_empty() || o.order_id == get("orderId"))
        .filter(|o| get("symbol").is_empty() || o.symbol == get("symbol"))
        .filter(|o| (start..=end).contains(&o.time_ms))
        .filter(|o| id_less_than.is_none_or(|max| o.trade_id.parse::<i64>().is_ok_and(|t| t < max)))
        .collect();
    list.sort_by(|a, b| (b.time_ms, &b.trade_id).cmp(&(a.time_ms, &a.trade_id)));
    list.truncate(limit);
    let end_id = list.last().map(|o| o.trade_id.clone());
    let rows: Vec<Value> = list.into_iter().map(|o| fill(o, history)).collect();
    envelope(now, json!({"fillList": rows, "endId": end_id}))
}

fn place(s: &mut State, body: &Value) -> (u16, String) {
    let now = s.now_ms();
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if body.get("tradeSide").is_some() && s.pos_mode == "one_way_mode" {
        return error(
            now,
            400,
            "40774",
            "The order type for unilateral position must also be the unilateral position type.",
        );
    }
    let client_oid = field("clientOid");
    if s.orders.iter().any(|o| o.client_oid == client_oid) {
        return error(now, 400, "40786", "Duplicate clientOid");
    }
    let symbol = field("symbol");
    let (Some(mark), Some(contract)) = (s.mark(&symbol), s.contract(&symbol).cloned()) else {
        return error(now, 400, "40034", "Parameter symbol does not exist");
    };
    let side = match field("side").as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        _ => return error(now, 400, "40017", "Parameter verification failed side"),
    };
    let Ok(size) = Decimal::from_str(&field("size")) else {
        return error(now, 400, "40808", "Parameter verification exception size");
    };
    if size.scale() > contract.volume_place {
        return error(
            now,
            400,
            "40808",
            &format!(
                "Parameter verification exception size checkBDScale error value={size} checkScale={}",
                contract.volume_place
            ),
        );
    }
    if size < contract.min_size {
        return error(now, 400, "45111", "less than the minimum order quantity");
    }
    if size * mark < Decimal::from(5) {
        return error(now, 400, "45110", "less than the minimum amount 5 USDT");
    }
    let reduce_only = field("reduceOnly") == "YES";
    let long_side = side == Side::Buy;
    let held = s.positions.get(&symbol).cloned();
    if reduce_only {
        match &held {
            Some(p) if p.long != long_side => {}
            _ => return error(now, 400, "22002", "No position to close"),
        }
    } else if size * mark / s.leverage > s.balance {
        return error(now, 400, "40762", "The order amount exceeds the balance");
    }
    let preset_sl = Decimal::from_str(&field("presetStopLossPrice")).ok();
    if let Some(sl) = preset_sl {
        if long_side && sl >= mark {
            return error(
                now,
                400,
                "40917",
                &format!("Stop price for long positions please < mark price {mark}"),
            );
        }
        if !long_side && sl <= mark {
            return error(
                now,
                400,
                "45122",
                &format!("Short position stop loss price please > mark price {mark}"),
            );
        }
    }
    let order_id = s.next_id();
    let profit = apply_fill(s, &symbol, side, size, mark, reduce_only, preset_sl);
    let trade_id = (s.next_id + 1_000_000).to_string();
    s.orders.push(Order {
        order_id: order_id.clone(),
        client_oid: client_oid.clone(),
        symbol,
        side,
        size,
        price: mark,
        reduce_only,
        preset_sl,
        fee: fee(size, mark),
        profit,
        trade_id,
        source: OrderSource::Market,
        time_ms: now,
    });
    envelope(now, json!({"orderId": order_id, "clientOid": client_oid}))
}

/// The taker fee of a fill, positive.
fn fee(size: Decimal, price: Decimal) -> Decimal {
    let rate = Decimal::from_str(crate::FEE_RATE).unwrap_or_default();
    (size * price * rate).round_dp(8)
}

/// Apply a fill of `size` at `price` to the position of `symbol` (one-way mode): the same
/// side adds to it (average entry), the other side reduces it, and, unless `reduce_only`,
/// opens the rest the other way. A preset stop becomes the position's stop. Returns the
/// realized PnL of the part closed.
fn apply_fill(
    s: &mut State,
    symbol: &str,
    side: Side,
    size: Decimal,
    price: Decimal,
    reduce_only: bool,
    preset_sl: Option<Decimal>,
) -> Decimal {
    let long = side == Side::Buy;
    let mut rest = size;
    let mut profit = Decimal::ZERO;
    if let Some(p) = s.positions.get_mut(symbol) {
        if p.long == long {
            p.entry = (p.entry * p.size + price * size) / (p.size + size);
            p.size += size;
            if preset_sl.is_some() {
                p.stop_loss = preset_sl;
            }
            return profit;
        }
        let closed = size.min(p.size);
        let per_unit = if p.long {
            price - p.entry
        } else {
            p.entry - price
        };
        profit = per_unit * closed;
        p.size -= closed;
        rest -= closed;
        if p.size.is_zero() {
            s.positions.remove(symbol);
        }
    }
    if rest > Decimal::ZERO && !reduce_only {
        let stop_loss_id = s.next_id();
        s.positions.insert(
            symbol.to_string(),
            Position {
                symbol: symbol.to_string(),
                long,
                size: rest,
                entry: price,
                stop_loss: preset_sl,
                stop_loss_id,
            },
        );
    }
    profit
}

/// The stop-loss of the position on `symbol` triggers: the whole position closes at the
/// stop price in one venue-made order (`orderSource` `pos_loss_market`, reduce-only, a
/// venue-made clientOid) and its one fill.
pub(crate) fn fire_stop(s: &mut State, symbol: &str) -> Result<Order, StopError> {
    let p = s
        .positions
        .get(symbol)
        .cloned()
        .ok_or_else(|| StopError::NoPosition(symbol.to_string()))?;
    let stop = p
        .stop_loss
        .ok_or_else(|| StopError::NoStop(symbol.to_string()))?;
    let side = if p.long { Side::Sell } else { Side::Buy };
    let order_id = s.next_id();
    let profit = apply_fill(s, symbol, side, p.size, stop, true, None);
    let order = Order {
        client_oid: s.next_id(),
        order_id,
        symbol: symbol.to_string(),
        side,
        size: p.size,
        price: stop,
        reduce_only: true,
        preset_sl: None,
        fee: fee(p.size, stop),
        profit,
        trade_id: (s.next_id + 1_000_000).to_string(),
        source: OrderSource::PositionStopLoss,
        time_ms: s.now_ms(),
    };
    s.orders.push(order.clone());
    Ok(order)
}
