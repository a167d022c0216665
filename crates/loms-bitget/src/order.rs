//! The values the client sends and reads: client order ids, orders, order details,
//! fills, positions, the account and the key.

pub use loms_domain::{ClientOid, Leg};

use crate::client::{MARGIN_COIN, PRODUCT_TYPE, dec_field, json_object};
use rust_decimal::Decimal;
use serde_json::Value;

/// The trade direction of an order (one-way mode: the direction, not the position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSide {
    /// Buy: open a long, or close a short (reduce-only).
    Buy,
    /// Sell: open a short, or close a long (reduce-only).
    Sell,
}

/// A market order to place (one-way mode, isolated margin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// `BTCUSDT`.
    pub symbol: String,
    /// Direction.
    pub side: OrderSide,
    /// Base-coin size, already on the contract's step.
    pub size: Decimal,
    /// The idempotency id.
    pub client_oid: ClientOid,
    /// An exit: `reduceOnly: YES`; it can never open or grow a position.
    pub reduce_only: bool,
    /// The exchange-side stop-loss attached to an entry (`presetStopLossPrice`).
    pub preset_stop_loss: Option<Decimal>,
    /// The exchange-side take-profit attached to an entry (`presetStopSurplusPrice`).
    pub preset_take_profit: Option<Decimal>,
}

impl PlaceOrder {
    /// The JSON body, in the field order of Bitget's examples; never `tradeSide`
    /// (40774 in one-way mode).
    pub fn body(&self) -> String {
        let size = self.size.normalize().to_string();
        let sl = self.preset_stop_loss.map(|d| d.normalize().to_string());
        let tp = self.preset_take_profit.map(|d| d.normalize().to_string());
        let mut fields: Vec<(&str, &str)> = vec![
            ("symbol", &self.symbol),
            ("productType", PRODUCT_TYPE),
            ("marginMode", "isolated"),
            ("marginCoin", MARGIN_COIN),
            ("size", &size),
            ("side", self.side.as_str()),
            ("orderType", "market"),
            ("clientOid", self.client_oid.as_str()),
        ];
        if self.reduce_only {
            fields.push(("reduceOnly", "YES"));
        }
        if let Some(tp) = &tp {
            fields.push(("presetStopSurplusPrice", tp));
        }
        if let Some(sl) = &sl {
            fields.push(("presetStopLossPrice", sl));
        }
        json_object(&fields)
    }
}

/// The venue's acknowledgement of a place-order: received, not necessarily filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAck {
    /// The venue's id; absent when a reduce-only order squeezed out older ones (look it
    /// up by clientOid).
    pub order_id: Option<String>,
    /// The id it was sent with.
    pub client_oid: ClientOid,
}

/// An order's state on the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Resting or not yet matched (`live`, and `init`/`new` seen in older pages).
    Live,
    /// Partly filled, still working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled (`canceled` or `cancelled`), possibly after partial fills.
    Canceled,
}

impl OrderState {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "live" | "init" | "new" => Some(OrderState::Live),
            "partially_filled" | "partial-fill" => Some(OrderState::PartiallyFilled),
            "filled" | "full-fill" => Some(OrderState::Filled),
            "canceled" | "cancelled" => Some(OrderState::Canceled),
            _ => None,
        }
    }

    /// Whether the order will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, OrderState::Filled | OrderState::Canceled)
    }
}

/// `GET /api/v2/mix/order/detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetail {
    /// Venue id.
    pub order_id: String,
    /// Client id.
    pub client_oid: String,
    /// State.
    pub state: OrderState,
    /// Size asked.
    pub size: Decimal,
    /// Size filled (`baseVolume`).
    pub filled: Decimal,
    /// Average fill price (`priceAvg`), when anything filled.
    pub price_avg: Option<Decimal>,
    /// Fee paid, positive (Bitget reports a paid fee as a negative number).
    pub fee_paid: Decimal,
    /// `reduceOnly`.
    pub reduce_only: bool,
    /// What made it (`orderSource`): an API order, or the position's exchange stop.
    pub source: OrderSource,
}

/// What made an order, from Bitget's `orderSource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderSource {
    /// An ordinary order (`normal`, `market`, `limit`, ...): LOMS's own.
    Placed,
    /// A stop-loss that fired (`pos_loss_market`, `pos_loss_limit`, `loss_market`, ...):
    /// the venue closed the position by itself.
    StopLoss,
    /// A take-profit that fired (`pos_profit_market`, `profit_market`, ...).
    TakeProfit,
    /// Anything else (liquidation, trailing, ...), as the venue spelled it.
    Other(String),
}

impl OrderSource {
    fn parse(s: &str) -> Self {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "" | "normal" | "market" | "limit" => OrderSource::Placed,
            _ if lower.contains("loss") => OrderSource::StopLoss,
            _ if lower.contains("profit") => OrderSource::TakeProfit,
            _ => OrderSource::Other(s.to_string()),
        }
    }
}

impl OrderDetail {
    pub(crate) fn from_json(v: &Value) -> Result<Self, String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let state_text = text("state");
        let state = OrderState::parse(&state_text)
            .ok_or_else(|| format!("unknown order state {state_text:?}"))?;
        let filled = dec_field(v, "baseVolume").unwrap_or(Decimal::ZERO);
        let price_avg = dec_field(v, "priceAvg").ok().filter(|p| *p > Decimal::ZERO);
        Ok(Self {
            order_id: text("orderId"),
            client_oid: text("clientOid"),
            state,
            size: dec_field(v, "size")?,
            filled,
            price_avg,
            fee_paid: -dec_field(v, "fee").unwrap_or(Decimal::ZERO),
            reduce_only: text("reduceOnly").eq_ignore_ascii_case("yes"),
            source: OrderSource::parse(&text("orderSource")),
        })
    }
}

/// What a cancel found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The venue cancelled it.
    Canceled,
    /// No such working order (unknown, or already final).
    NotFound,
}

/// One trade of an order (`GET /api/v2/mix/order/fills`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// The venue's trade id: fills are applied once per trade id.
    pub trade_id: String,
    /// The order it belongs to.
    pub order_id: String,
    /// Price.
    pub price: Decimal,
    /// Base-coin quantity.
    pub qty: Decimal,
    /// Fee paid, positive (the sum of `feeDetail[].totalFee`, negated).
    pub fee_paid: Decimal,
    /// Direction: on a one-way position, the side opposite to the position closes it.
    pub side: OrderSide,
    /// Realized PnL of the part of a position it closed (`profit`; zero for an entry),
    /// fees not included.
    pub profit: Decimal,
    /// Time, Unix ms.
    pub time_ms: i64,
}

impl Fill {
    pub(crate) fn from_json(v: &Value) -> Result<Self, String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let fee: Decimal = v
            .get("feeDetail")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|f| dec_field(f, "totalFee").unwrap_or(Decimal::ZERO))
            .sum();
        let side = match text("side").to_ascii_lowercase().as_str() {
            "buy" => OrderSide::Buy,
            "sell" => OrderSide::Sell,
            other => return Err(format!("unknown fill side {other:?}")),
        };
        let trade_id = text("tradeId");
        if trade_id.is_empty() {
            return Err("fill without tradeId".into());
        }
        Ok(Self {
            trade_id,
            order_id: text("orderId"),
            price: dec_field(v, "price")?,
            qty: dec_field(v, "baseVolume")?,
            fee_paid: -fee,
            side,
            profit: dec_field(v, "profit").unwrap_or(Decimal::ZERO),
            time_ms: text("cTime").parse().unwrap_or(0),
        })
    }
}

/// One open position on the venue (`all-position`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenuePosition {
    /// Symbol.
    pub symbol: String,
    /// `long` or `short`.
    pub long: bool,
    /// Size, base coin (`total`).
    pub size: Decimal,
    /// Average entry (`openPriceAvg`).
    pub entry_price: Decimal,
    /// The position's stop-loss trigger, if any.
    pub stop_loss: Option<Decimal>,
    /// Its plan order id, to move it.
    pub stop_loss_id: Option<String>,
    /// `one_way_mode` or `hedge_mode`.
    pub pos_mode: String,
    /// `isolated` or `crossed`.
    pub margin_mode: String,
}

impl VenuePosition {
    pub(crate) fn from_json(v: &Value) -> Result<Self, String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let long = match text("holdSide").as_str() {
            "long" => true,
            "short" => false,
            other => return Err(format!("unknown holdSide {other:?}")),
        };
        Ok(Self {
            symbol: text("symbol"),
            long,
            size: dec_field(v, "total")?,
            entry_price: dec_field(v, "openPriceAvg")?,
            stop_loss: dec_field(v, "stopLoss").ok().filter(|p| *p > Decimal::ZERO),
            stop_loss_id: Some(text("stopLossId")).filter(|s| !s.is_empty()),
            pos_mode: text("posMode"),
            margin_mode: text("marginMode"),
        })
    }
}

/// The futures account of one symbol (`GET /api/v2/mix/account/account`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// `accountEquity`: balance plus unrealised PnL.
    pub equity: Decimal,
    /// `isolatedMaxAvailable`: what a new isolated position may still use.
    pub isolated_max_available: Decimal,
    /// `posMode`: `one_way_mode` or `hedge_mode`.
    pub pos_mode: String,
    /// `marginMode`: `isolated` or `crossed`.
    pub margin_mode: String,
}

impl AccountInfo {
    pub(crate) fn from_json(v: &Value) -> Result<Self, String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Ok(Self {
            equity: dec_field(v, "accountEquity")?,
            isolated_max_available: dec_field(v, "isolatedMaxAvailable").unwrap_or(Decimal::ZERO),
            pos_mode: text("posMode"),
            margin_mode: text("marginMode"),
        })
    }

    /// Whether the account is in one-way mode.
    pub fn one_way(&self) -> bool {
        self.pos_mode == "one_way_mode"
    }
}

/// The key's account and permissions (`GET /api/v2/spot/account/info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The account UID the key belongs to.
    pub user_id: String,
    /// The main account's UID (0 or equal to `user_id` for a main-account key).
    pub parent_id: String,
    /// Permission codes as the venue lists them.
    pub authorities: Vec<String>,
    /// IP whitelist (empty: none).
    pub ips: String,
}

impl KeyInfo {
    pub(crate) fn from_json(v: &Value) -> Result<Self, String> {
        let text = |k: &str| match v.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let user_id = text("userId");
        if user_id.is_empty() {
            return Err("userId missing".into());
        }
        Ok(Self {
            user_id,
            parent_id: text("parentId"),
            authorities: v
                .get("authorities")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            ips: text("ips"),
        })
    }

    /// Whether this is a main-account key (no parent, or its own parent).
    pub fn is_main_account(&self) -> bool {
        self.parent_id.is_empty() || self.parent_id == "0" || self.parent_id == self.user_id
    }

    /// The dangerous permissions the key holds: withdraw, transfer, sub-account
    /// management (current codes, and legacy strings naming them).
    pub fn dangerous_permissions(&self) -> Vec<String> {
        self.authorities
            .iter()
            .filter(|a| {
                let a = a.to_ascii_lowercase();
                matches!(a.as_str(), "wwow" | "wtow" | "chow")
                    || a.contains("withdraw")
                    || a.contains("transfer")
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;
    use serde_json::json;

    /// bitget-live.md §13 (b): the body signed there, byte for byte.
    #[test]
    fn the_entry_body_is_the_spec_vector() {
        let o = PlaceOrder {
            symbol: "BTCUSDT".into(),
            side: OrderSide::Buy,
            size: dec!(0.0010),
            client_oid: ClientOid::parse("loms-0001").unwrap(),
            reduce_only: false,
            preset_stop_loss: Some(dec!(59000.0)),
            preset_take_profit: None,
        };
        assert_eq!(
            o.body(),
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"0.001","side":"buy","orderType":"market","clientOid":"loms-0001","presetStopLossPrice":"59000"}"#
        );
        let exit = PlaceOrder {
            side: OrderSide::Sell,
            reduce_only: true,
            preset_stop_loss: None,
            ..o
        };
        let body = exit.body();
        assert!(
            body.contains(r#""side":"sell""#) && body.contains(r#""reduceOnly":"YES""#),
            "{body}"
        );
        assert!(
            !body.contains("tradeSide") && !body.contains("preset"),
            "{body}"
        );
    }

    #[test]
    fn detail_fills_and_positions_read_the_real_shapes() {
        let d = OrderDetail::from_json(&json!({"symbol":"BTCUSDT","size":"0.001",
            "orderId":"1187654321098765432","clientOid":"oms-0001","baseVolume":"0.001","priceAvg":"64210.1",
            "fee":"-0.03852606","price":"0","state":"filled","side":"buy","force":"gtc","totalProfits":"0",
            "posSide":"long","marginCoin":"USDT","presetStopSurplusPrice":"66000","presetStopLossPrice":"62500",
            "quoteVolume":"64.2101","orderType":"market","leverage":"3","marginMode":"isolated","reduceOnly":"NO",
            "enterPointSource":"api","tradeSide":"","posMode":"one_way_mode","orderSource":"market",
            "cancelReason":"","cTime":"1718340002001","uTime":"1718340002050"}))
        .unwrap();
        assert_eq!(d.state, OrderState::Filled);
        assert_eq!(
            (d.filled, d.price_avg, d.fee_paid),
            (dec!(0.001), Some(dec!(64210.1)), dec!(0.03852606))
        );
        let d = OrderDetail::from_json(
            &json!({"size":"1","state":"canceled","baseVolume":"0","priceAvg":"","fee":"0"}),
        )
        .unwrap();
        assert_eq!((d.state, d.price_avg), (OrderState::Canceled, None));
        assert_eq!(
            d.source,
            OrderSource::Placed,
            "no orderSource: an ordinary order"
        );
        for (text, source) in [
            ("market", OrderSource::Placed),
            ("pos_loss_market", OrderSource::StopLoss),
            ("loss_market", OrderSource::StopLoss),
            ("pos_loss_limit", OrderSource::StopLoss),
            ("pos_profit_market", OrderSource::TakeProfit),
            ("liquidation", OrderSource::Other("liquidation".into())),
        ] {
            assert_eq!(OrderSource::parse(text), source, "{text}");
        }
        assert!(OrderDetail::from_json(&json!({"size":"1","state":"weird"})).is_err());

        let f = Fill::from_json(&json!({"tradeId":"t1","symbol":"BTCUSDT","orderId":"o1","price":"64210.1",
            "baseVolume":"0.001","feeDetail":[{"deduction":"no","feeCoin":"USDT","totalDeductionFee":"0","totalFee":"-0.0385260"}],
            "side":"buy","quoteVolume":"64.2101","profit":"0","enterPointSource":"API","tradeSide":"buy_single",
            "posMode":"one_way_mode","tradeScope":"taker","cTime":"1718340002040"}))
        .unwrap();
        assert_eq!(
            (f.fee_paid, f.qty, f.time_ms),
            (dec!(0.038526), dec!(0.001), 1_718_340_002_040)
        );

        let p = VenuePosition::from_json(&json!({"marginCoin":"USDT","symbol":"BTCUSDT","holdSide":"long",
            "total":"0.001","openPriceAvg":"64210.1","marginMode":"isolated","posMode":"one_way_mode",
            "stopLoss":"62500","stopLossId":"1187654321098765501","takeProfit":"","takeProfitId":""}))
        .unwrap();
        assert!(p.long);
        assert_eq!(
            (p.stop_loss, p.stop_loss_id.as_deref()),
            (Some(dec!(62500)), Some("1187654321098765501"))
        );
    }

    #[test]
    fn key_permissions_and_main_accounts_are_told() {
        let k = KeyInfo::from_json(&json!({"userId":"5550000001","inviterId":"","ips":"203.0.113.7",
            "authorities":["coow","cpow","stor"],"parentId":5550000000u64,"traderType":"not_trader"}))
        .unwrap();
        assert!(!k.is_main_account());
        assert!(k.dangerous_permissions().is_empty());
        let k = KeyInfo::from_json(
            &json!({"userId":"5550000000","authorities":["trade","withdraw"],"parentId":0}),
        )
        .unwrap();
        assert!(k.is_main_account());
        assert_eq!(k.dangerous_permissions(), ["withdraw"]);
    }
}
