//! `POST /orders/`: an operator's order with absolute levels.

use loms_domain::signal::{parse_symbol, positive_amount};
use loms_domain::{Decimal, DomainError, Side};
use serde_json::Value;

/// A validated manual order.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualOrder {
    /// Symbol, upper case.
    pub symbol: String,
    /// Position side (`buy`/`long` or `sell`/`short`).
    pub side: Side,
    /// Quantity (> 0).
    pub qty: Decimal,
    /// Entry price (> 0).
    pub entry_price: Decimal,
    /// Optional take-profit level.
    pub tp_price: Option<Decimal>,
    /// Optional stop-loss level.
    pub sl_price: Option<Decimal>,
    /// Only `market`.
    pub order_type: String,
}

impl ManualOrder {
    /// Parse `{symbol, side, qty, entry_price, tp_price?, sl_price?, order_type="market"}`.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the bad field.
    pub fn from_json(v: &Value) -> Result<Self, DomainError> {
        let obj = v
            .as_object()
            .ok_or_else(|| DomainError::invalid("order must be a JSON object"))?;
        let field = |k: &str| obj.get(k).filter(|v| !v.is_null());
        let req = |k: &str| {
            field(k).ok_or_else(|| DomainError::invalid(format!("field {k} is required")))
        };
        let symbol = parse_symbol(
            req("symbol")?
                .as_str()
                .ok_or_else(|| DomainError::invalid("symbol must be a string"))?,
        )?;
        let side = req("side")?
            .as_str()
            .ok_or_else(|| DomainError::invalid("side must be a string"))?
            .parse::<Side>()?;
        let qty = positive_amount("qty", req("qty")?)?;
        let entry_price = positive_amount("entry_price", req("entry_price")?)?;
        let tp_price = field("tp_price")
            .map(|v| positive_amount("tp_price", v))
            .transpose()?;
        let sl_price = field("sl_price")
            .map(|v| positive_amount("sl_price", v))
            .transpose()?;
        let order_type = match field("order_type") {
            None => "market".to_string(),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("market") => "market".to_string(),
            Some(other) => {
                return Err(DomainError::invalid(format!(
                    "order_type must be \"market\" (the only type in paper mode), got {other}"
                )));
            }
        };
        let wrong_side =
            |level: Option<Decimal>, above: bool| level.is_some_and(|l| (l > entry_price) != above);
        let tp_above = side == Side::Long;
        if wrong_side(tp_price, tp_above) || wrong_side(sl_price, !tp_above) {
            return Err(DomainError::invalid(format!(
                "for a {side} position tp_price must be {} and sl_price {} the entry_price",
                if tp_above { "above" } else { "below" },
                if tp_above { "below" } else { "above" }
            )));
        }
        Ok(Self {
            symbol,
            side,
            qty,
            entry_price,
            tp_price,
            sl_price,
            order_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_validates() {
        let o = ManualOrder::from_json(&json!({"symbol": "btcusdt", "side": "buy", "qty": "0.5",
            "entry_price": 100, "tp_price": 110, "sl_price": 95}))
        .unwrap();
        assert_eq!(
            (o.symbol.as_str(), o.side, o.order_type.as_str()),
            ("BTCUSDT", Side::Long, "market")
        );
        for bad in [
            json!({"symbol": "BTCUSDT", "side": "buy", "qty": 1}),
            json!({"symbol": "BTCUSDT", "side": "up", "qty": 1, "entry_price": 1}),
            json!({"symbol": "BTCUSDT", "side": "buy", "qty": -1, "entry_price": 1}),
            json!({"symbol": "BTCUSDT", "side": "buy", "qty": 1, "entry_price": 100, "tp_price": 90}),
            json!({"symbol": "BTCUSDT", "side": "sell", "qty": 1, "entry_price": 100, "sl_price": 90}),
            json!({"symbol": "BTCUSDT", "side": "buy", "qty": 1, "entry_price": 1, "order_type": "limit"}),
        ] {
            assert!(ManualOrder::from_json(&bad).is_err(), "{bad}");
        }
    }
}
