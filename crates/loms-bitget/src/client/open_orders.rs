//! The orders working at the venue (`orders-pending`): LOMS sends only market orders,
//! which never rest, so a working order is one LOMS did not place (or one of its own
//! in flight) — reconciliation reports it, never guesses past it.

use super::{BitgetClient, PRODUCT_TYPE, bad, dec_field};
use crate::error::BitgetError;
use rust_decimal::Decimal;
use serde_json::Value;

/// An order working at the venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOrder {
    /// Instrument.
    pub symbol: String,
    /// The venue's order id.
    pub order_id: String,
    /// Its client id (the venue makes one when none was given).
    pub client_oid: String,
    /// `buy` or `sell`.
    pub side: String,
    /// Size, base coin.
    pub size: Decimal,
}

impl OpenOrder {
    fn from_json(v: &Value) -> Result<Self, String> {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{k} missing"))
        };
        Ok(Self {
            symbol: text("symbol")?,
            order_id: text("orderId")?,
            client_oid: text("clientOid").unwrap_or_default(),
            side: text("side")?,
            size: dec_field(v, "size")?,
        })
    }
}

impl BitgetClient {
    /// `GET /api/v2/mix/order/orders-pending`: every order working on the USDT-M
    /// account (first page of 100: more than that is a venue LOMS must not trade on).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn open_orders(&self) -> Result<Vec<OpenOrder>, BitgetError> {
        let data = self.get(
            "/api/v2/mix/order/orders-pending",
            &[("productType", PRODUCT_TYPE), ("limit", "100")],
        )?;
        match data.get("entrustedList") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(list)) => list
                .iter()
                .map(|o| OpenOrder::from_json(o).map_err(|e| bad(200, &e, o)))
                .collect(),
            Some(other) => Err(bad(200, "entrustedList is not a list", other)),
        }
    }
}
