//! A fake Bitget v2 USDT-M futures venue on 127.0.0.1: checks signatures as the venue
//! does, keeps orders, positions and fills, and answers with the real envelopes and
//! error codes of ../shared/spec/bitget-live.md. Faults are injected per route.
//!
//! HTTP/1.1, one thread per connection, `Connection: close`.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

pub(crate) const KEY: &str = "fake-key";
pub(crate) const SECRET: &str = "fake-secret";
pub(crate) const PASSPHRASE: &str = "fake-pass";
/// The venue's clock, ms (the tests' clients use the same).
pub(crate) const NOW_MS: i64 = 1_718_340_000_000;
const FEE_RATE: &str = "0.0006";

/// A fault served once, instead of (or after) the normal handling of a route.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Answer this status and body; nothing is applied.
    Reply(u16, String),
    /// Apply the request, then close the connection without answering (answer lost).
    DropAfterApply,
    /// Apply the request, then answer after this delay.
    Delay(Duration),
}

/// One request as received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) body: String,
    pub(crate) headers: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct Order {
    order_id: String,
    client_oid: String,
    symbol: String,
    side: String,
    size: Decimal,
    price: Decimal,
    reduce_only: bool,
    preset_sl: Option<Decimal>,
    fee: Decimal,
    trade_id: String,
}

#[derive(Debug, Clone)]
struct Position {
    long: bool,
    size: Decimal,
    entry: Decimal,
    stop_loss: Option<Decimal>,
    stop_loss_id: String,
}

#[derive(Debug, Default)]
struct State {
    demo: bool,
    marks: HashMap<String, Decimal>,
    balance: Decimal,
    leverage: Decimal,
    orders: Vec<Order>,
    positions: HashMap<String, Position>,
    faults: HashMap<String, VecDeque<Fault>>,
    seen: Vec<Seen>,
    next_id: u64,
    pos_mode: String,
    authorities: Vec<String>,
    user_id: String,
    parent_id: u64,
}

pub(crate) struct FakeBitget {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeBitget {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            marks: HashMap::from([("BTCUSDT".to_string(), Decimal::from(64210))]),
            balance: Decimal::from(108),
            leverage: Decimal::from(3),
            pos_mode: "one_way_mode".into(),
            authorities: vec!["coow".into(), "cpow".into(), "stor".into()],
            user_id: "5550000001".into(),
            parent_id: 5_550_000_000,
            next_id: 1_187_654_321_098_765_432,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                thread::spawn(move || handle(conn, &st));
            }
        });
        Self { addr, state, stop }
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn set_demo(&self, demo: bool) {
        lock(&self.state).demo = demo;
    }

    pub(crate) fn set_mark(&self, symbol: &str, price: Decimal) {
        lock(&self.state).marks.insert(symbol.to_string(), price);
    }

    /// The key's account, parent account and permission codes.
    pub(crate) fn set_key(&self, user_id: &str, parent_id: u64, authorities: &[&str]) {
        let mut s = lock(&self.state);
        s.user_id = user_id.into();
        s.parent_id = parent_id;
        s.authorities = authorities.iter().map(|a| a.to_string()).collect();
    }

    /// `one_way_mode` or `hedge_mode`.
    pub(crate) fn set_pos_mode(&self, mode: &str) {
        lock(&self.state).pos_mode = mode.into();
    }

    pub(crate) fn pos_mode(&self) -> String {
        lock(&self.state).pos_mode.clone()
    }

    pub(crate) fn set_balance(&self, usdt: Decimal) {
        lock(&self.state).balance = usdt;
    }

    /// The next request on `path` gets `fault`.
    pub(crate) fn fault_once(&self, path: &str, fault: Fault) {
        lock(&self.state)
            .faults
            .entry(path.to_string())
            .or_default()
            .push_back(fault);
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        lock(&self.state).seen.clone()
    }

    /// Orders the venue accepted (any route), by clientOid.
    pub(crate) fn order_count(&self, client_oid: &str) -> usize {
        lock(&self.state)
            .orders
            .iter()
            .filter(|o| o.client_oid == client_oid)
            .count()
    }

    /// The position's stop, as the venue holds it.
    pub(crate) fn stop_loss(&self, symbol: &str) -> Option<Decimal> {
        lock(&self.state)
            .positions
            .get(symbol)
            .and_then(|p| p.stop_loss)
    }
}

impl Drop for FakeBitget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn envelope(data: Value) -> (u16, String) {
    (
        200,
        json!({"code":"00000","msg":"success","requestTime":NOW_MS,"data":data}).to_string(),
    )
}

fn error(status: u16, code: &str, msg: &str) -> (u16, String) {
    (
        status,
        json!({"code":code,"msg":msg,"requestTime":NOW_MS,"data":null}).to_string(),
    )
}

fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Seen {
        method,
        path,
        query,
        body: String::from_utf8_lossy(&body).into_owned(),
        headers,
    })
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) {
    let Some(req) = read_request(&mut stream) else {
        return;
    };
    let fault = {
        let mut s = lock(state);
        s.seen.push(req.clone());
        s.faults.get_mut(&req.path).and_then(VecDeque::pop_front)
    };
    let (status, body) = match &fault {
        Some(Fault::Reply(status, body)) => (*status, body.clone()),
        _ => route(&req, &mut lock(state)),
    };
    match fault {
        Some(Fault::DropAfterApply) => return,
        Some(Fault::Delay(d)) => thread::sleep(d),
        _ => {}
    }
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The venue's checks of a private request: key, passphrase, timestamp window, signature,
/// environment.
fn authenticate(req: &Seen, s: &State) -> Result<(), (u16, String)> {
    let h = |k: &str| req.headers.get(k).cloned().unwrap_or_default();
    if h("access-key").is_empty() {
        return Err(error(400, "40001", "ACCESS_KEY cannot be empty"));
    }
    if h("access-key") != KEY {
        return Err(error(400, "40037", "Apikey does not exist"));
    }
    if h("access-passphrase") != PASSPHRASE {
        return Err(error(400, "40036", "passphrase is error"));
    }
    let Ok(ts) = h("access-timestamp").parse::<i64>() else {
        return Err(error(400, "40005", "Invalid ACCESS_TIMESTAMP"));
    };
    if (ts - NOW_MS).abs() > 30_000 {
        return Err(error(400, "40008", "Request timestamp expired"));
    }
    let mut prehash = format!("{ts}{}{}", req.method, req.path);
    if !req.query.is_empty() {
        prehash.push('?');
        prehash.push_str(&req.query);
    }
    prehash.push_str(&req.body);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(prehash.as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if h("access-sign") != want {
        return Err(error(400, "40009", "sign signature error"));
    }
    if s.demo != (h("paptrading") == "1") {
        return Err(error(400, "40099", "exchange environment is incorrect"));
    }
    Ok(())
}

fn route(req: &Seen, s: &mut State) -> (u16, String) {
    let query: HashMap<String, String> = req
        .query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match req.path.as_str() {
        "/api/v2/public/time" => {
            return envelope(json!({"serverTime": NOW_MS.to_string()}));
        }
        "/api/v2/mix/market/contracts" => return envelope(contracts()),
        _ => {}
    }
    if let Err(e) = authenticate(req, s) {
        return e;
    }
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/api/v2/mix/order/place-order") => place(s, &body),
        ("GET", "/api/v2/mix/order/detail") => {
            let oid = query.get("clientOid").cloned().unwrap_or_default();
            match s.orders.iter().find(|o| o.client_oid == oid) {
                Some(o) => envelope(detail(o)),
                None => error(
                    400,
                    "40109",
                    "The data of the order cannot be found, please confirm the order number",
                ),
            }
        }
        ("GET", "/api/v2/mix/order/fills") => {
            let id = query.get("orderId").cloned().unwrap_or_default();
            let list: Vec<Value> = s
                .orders
                .iter()
                .filter(|o| o.order_id == id)
                .map(fill)
                .collect();
            envelope(json!({"fillList": list, "endId": null}))
        }
        ("POST", "/api/v2/mix/order/cancel-order") => error(400, "22001", "No order to cancel"),
        ("GET", "/api/v2/mix/position/all-position") => {
            let list: Vec<Value> = s
                .positions
                .iter()
                .map(|(sym, p)| position(sym, p))
                .collect();
            envelope(json!(list))
        }
        ("GET", "/api/v2/mix/account/account") => envelope(json!({
            "marginCoin":"USDT","locked":"0","available":s.balance.to_string(),
            "crossedMaxAvailable":s.balance.to_string(),"isolatedMaxAvailable":s.balance.to_string(),
            "maxTransferOut":s.balance.to_string(),"accountEquity":s.balance.to_string(),
            "usdtEquity":s.balance.to_string(),"btcEquity":"0.0016","crossedRiskRate":"0",
            "unrealizedPL":"0","coupon":"0","crossedMarginLeverage":3,"isolatedLongLever":3,
            "isolatedShortLever":3,"marginMode":"isolated","posMode":s.pos_mode})),
        ("GET", "/api/v2/mix/account/accounts") => envelope(json!([{
            "marginCoin":"USDT","locked":"0","available":s.balance.to_string(),
            "crossedMaxAvailable":s.balance.to_string(),"isolatedMaxAvailable":s.balance.to_string(),
            "maxTransferOut":s.balance.to_string(),"accountEquity":s.balance.to_string(),
            "usdtEquity":s.balance.to_string(),"btcEquity":"0.0016","crossedRiskRate":"0",
            "unrealizedPL":"0","coupon":"0","unionTotalMagin":s.balance.to_string(),
            "unionAvailable":s.balance.to_string(),"unionMm":"0",
            "assetList":[{"coin":"USDT","balance":s.balance.to_string()}],"isolatedMargin":"0",
            "crossedMargin":"0","crossedUnrealizedPL":"0","isolatedUnrealizedPL":"0",
            "assetMode":"single"}])),
        ("GET", "/api/v2/spot/account/info") => envelope(json!({
            "userId":s.user_id,"inviterId":"","ips":"203.0.113.7","authorities":s.authorities,
            "parentId":s.parent_id,"traderType":"not_trader","channelCode":"","channel":"",
            "regisTime":"1700000000000"})),
        ("POST", "/api/v2/mix/account/set-leverage") => {
            s.leverage = Decimal::from_str(&field("leverage")).unwrap_or(s.leverage);
            envelope(
                json!({"symbol":field("symbol"),"marginCoin":"USDT","longLeverage":field("leverage"),
                "shortLeverage":field("leverage"),"crossMarginLeverage":field("leverage"),"marginMode":"isolated"}),
            )
        }
        ("POST", "/api/v2/mix/account/set-position-mode") => {
            if !s.positions.is_empty() {
                return error(
                    400,
                    "40920",
                    "Position or order exists, the position mode cannot be switched",
                );
            }
            s.pos_mode = field("posMode");
            envelope(json!({"posMode": s.pos_mode}))
        }
        ("POST", "/api/v2/mix/account/set-margin-mode") => envelope(json!({
            "symbol":field("symbol"),"marginCoin":"USDT","longLeverage":"3","shortLeverage":"3",
            "marginMode":field("marginMode")})),
        ("POST", "/api/v2/mix/order/modify-tpsl-order") => {
            let id = field("orderId");
            let price = Decimal::from_str(&field("triggerPrice")).ok();
            match s.positions.values_mut().find(|p| p.stop_loss_id == id) {
                Some(p) => {
                    p.stop_loss = price;
                    envelope(json!({"orderId": id, "clientOid": ""}))
                }
                None => error(400, "43020", "The plan order does not exist"),
            }
        }
        _ => error(404, "40404", "Request URL NOT FOUND"),
    }
}

fn place(s: &mut State, body: &Value) -> (u16, String) {
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if body.get("tradeSide").is_some() && s.pos_mode == "one_way_mode" {
        return error(
            400,
            "40774",
            "The order type for unilateral position must also be the unilateral position type.",
        );
    }
    let client_oid = field("clientOid");
    if s.orders.iter().any(|o| o.client_oid == client_oid) {
        return error(400, "40786", "Duplicate clientOid");
    }
    let symbol = field("symbol");
    let Some(mark) = s.marks.get(&symbol).copied() else {
        return error(400, "40034", "Parameter symbol does not exist");
    };
    let Ok(size) = Decimal::from_str(&field("size")) else {
        return error(400, "40808", "Parameter verification exception size");
    };
    if size.scale() > 4 {
        return error(
            400,
            "40808",
            &format!(
                "Parameter verification exception size checkBDScale error value={size} checkScale=4"
            ),
        );
    }
    if size < Decimal::new(1, 4) {
        return error(400, "45111", "less than the minimum order quantity");
    }
    if size * mark < Decimal::from(5) {
        return error(400, "45110", "less than the minimum amount 5 USDT");
    }
    let reduce_only = field("reduceOnly") == "YES";
    let long_side = field("side") == "buy";
    if reduce_only {
        match s.positions.get(&symbol) {
            Some(p) if p.long != long_side => {}
            _ => return error(400, "22002", "No position to close"),
        }
    } else if size * mark / s.leverage > s.balance {
        return error(400, "40762", "The order amount exceeds the balance");
    }
    let preset_sl = Decimal::from_str(&field("presetStopLossPrice")).ok();
    if let Some(sl) = preset_sl {
        if long_side && sl >= mark {
            return error(
                400,
                "40917",
                &format!("Stop price for long positions please < mark price {mark}"),
            );
        }
        if !long_side && sl <= mark {
            return error(
                400,
                "45122",
                &format!("Short position stop loss price please > mark price {mark}"),
            );
        }
    }
    s.next_id += 1;
    let order_id = s.next_id.to_string();
    let fee = (size * mark * Decimal::from_str(FEE_RATE).unwrap()).round_dp(8);
    s.orders.push(Order {
        order_id: order_id.clone(),
        client_oid: client_oid.clone(),
        symbol: symbol.clone(),
        side: field("side"),
        size,
        price: mark,
        reduce_only,
        preset_sl,
        fee,
        trade_id: format!("{}", s.next_id + 1_000_000),
    });
    if reduce_only {
        let p = s.positions.get_mut(&symbol).unwrap();
        p.size -= size.min(p.size);
        if p.size.is_zero() {
            s.positions.remove(&symbol);
        }
    } else {
        s.next_id += 1;
        let sl_id = s.next_id.to_string();
        s.positions.insert(
            symbol,
            Position {
                long: long_side,
                size,
                entry: mark,
                stop_loss: preset_sl,
                stop_loss_id: sl_id,
            },
        );
    }
    envelope(json!({"orderId": order_id, "clientOid": client_oid}))
}

fn detail(o: &Order) -> Value {
    json!({"symbol":o.symbol,"size":o.size.to_string(),"orderId":o.order_id,"clientOid":o.client_oid,
        "baseVolume":o.size.to_string(),"priceAvg":o.price.to_string(),"fee":(-o.fee).to_string(),
        "price":"0","state":"filled","side":o.side,"force":"gtc","totalProfits":"0","posSide":"net",
        "marginCoin":"USDT","presetStopSurplusPrice":"",
        "presetStopLossPrice":o.preset_sl.map(|d| d.to_string()).unwrap_or_default(),
        "quoteVolume":(o.size * o.price).to_string(),"orderType":"market","leverage":"3",
        "marginMode":"isolated","reduceOnly":if o.reduce_only {"YES"} else {"NO"},
        "enterPointSource":"api","tradeSide":"","posMode":"one_way_mode","orderSource":"market",
        "cancelReason":"","cTime":(NOW_MS + 1).to_string(),"uTime":(NOW_MS + 50).to_string()})
}

fn fill(o: &Order) -> Value {
    json!({"tradeId":o.trade_id,"symbol":o.symbol,"orderId":o.order_id,"price":o.price.to_string(),
        "baseVolume":o.size.to_string(),"feeDetail":[{"deduction":"no","feeCoin":"USDT",
        "totalDeductionFee":"0","totalFee":(-o.fee).to_string()}],"side":o.side,
        "quoteVolume":(o.size * o.price).to_string(),"profit":"0","enterPointSource":"API",
        "tradeSide":if o.side == "buy" {"buy_single"} else {"sell_single"},"posMode":"one_way_mode",
        "tradeScope":"taker","cTime":(NOW_MS + 40).to_string()})
}

fn position(symbol: &str, p: &Position) -> Value {
    json!({"marginCoin":"USDT","symbol":symbol,"holdSide":if p.long {"long"} else {"short"},
        "openDelegateSize":"0","marginSize":"21.4","available":p.size.to_string(),"locked":"0",
        "total":p.size.to_string(),"leverage":"3","achievedProfits":"0",
        "openPriceAvg":p.entry.to_string(),"marginMode":"isolated","posMode":"one_way_mode",
        "unrealizedPL":"0","liquidationPrice":"43250.7","keepMarginRate":"0.004",
        "markPrice":p.entry.to_string(),"marginRatio":"0.0127","breakEvenPrice":p.entry.to_string(),
        "totalFee":"","deductedFee":"0","takeProfit":"","takeProfitId":"",
        "stopLoss":p.stop_loss.map(|d| d.to_string()).unwrap_or_default(),
        "stopLossId":if p.stop_loss.is_some() {p.stop_loss_id.clone()} else {String::new()},
        "assetMode":"single","autoMargin":"off","cTime":NOW_MS.to_string(),"uTime":NOW_MS.to_string()})
}

/// The contracts answer: BTCUSDT as exchanges.md §10 shows it, full field list.
fn contracts() -> Value {
    json!([{"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT","buyLimitPriceRatio":"0.01",
        "sellLimitPriceRatio":"0.01","feeRateUpRatio":"0.005","makerFeeRate":"0.0002",
        "takerFeeRate":"0.0006","openCostUpRatio":"0.01","supportMarginCoins":["USDT"],
        "minTradeNum":"0.0001","priceEndStep":"1","volumePlace":"4","pricePlace":"1",
        "sizeMultiplier":"0.0001","symbolType":"perpetual","minTradeUSDT":"5",
        "maxSymbolOrderNum":"999999","maxProductOrderNum":"999999","maxPositionNum":"150",
        "symbolStatus":"normal","offTime":"-1","limitOpenTime":"-1","deliveryTime":"",
        "deliveryStartTime":"","launchTime":"","fundInterval":"8","minLever":"1","maxLever":"125",
        "posLimit":"0.05","maintainTime":"","maxMarketOrderQty":"220","maxOrderQty":"1200"}])
}
