//! Reading back what happened on the venue: the fills of a symbol since a time (an
//! exchange stop that fired while LOMS was down shows up here) and an order by its
//! venue id (to tell a fired stop by its `orderSource`).

use super::{BitgetClient, PRODUCT_TYPE, bad};
use crate::error::BitgetError;
use crate::order::{Fill, OrderDetail};
use serde_json::Value;
use std::collections::HashSet;

/// The longest window `fills` accepts, ms (three months).
pub const MAX_FILLS_WINDOW_MS: i64 = 90 * 24 * 3_600_000;
/// Fills per page (the venue's maximum).
const PAGE: usize = 100;
/// Most pages read by one [`BitgetClient::fills_since`] (10,000 fills).
const MAX_PAGES: usize = 100;

impl BitgetClient {
    /// `GET /api/v2/mix/order/fills` of `symbol` from `since_ms` to now (the venue's
    /// clock), every page, oldest first, each trade once. Works in demo trading
    /// (`fill-history` does not). A fill that closes a position has the side opposite
    /// to it and a `profit`; its `order_id` leads to the order
    /// ([`BitgetClient::order_detail_by_id`]) whose `source` tells a fired stop.
    ///
    /// # Errors
    /// [`BitgetError::Request`] when `since_ms` is more than 90 days ago (the venue's
    /// limit) or after now, nothing sent; [`BitgetError::BadAnswer`] when the pages do
    /// not end; otherwise [`BitgetError`].
    pub fn fills_since(&self, symbol: &str, since_ms: i64) -> Result<Vec<Fill>, BitgetError> {
        let now = self.venue_now_ms();
        if since_ms > now || now - since_ms > MAX_FILLS_WINDOW_MS {
            return Err(BitgetError::Request(format!(
                "fills since {since_ms}: must be within the last 90 days (venue time {now})"
            )));
        }
        let (start, end, limit) = (since_ms.to_string(), now.to_string(), PAGE.to_string());
        let mut seen = HashSet::new();
        let mut out: Vec<Fill> = Vec::new();
        let mut before: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = vec![
                ("productType", PRODUCT_TYPE),
                ("symbol", symbol),
                ("startTime", start.as_str()),
                ("endTime", end.as_str()),
                ("limit", limit.as_str()),
            ];
            if let Some(id) = &before {
                params.push(("idLessThan", id.as_str()));
            }
            let data = self.get("/api/v2/mix/order/fills", &params)?;
            let list = data
                .get("fillList")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for f in list {
                let fill = Fill::from_json(f).map_err(|e| bad(200, &e, f))?;
                if seen.insert(fill.trade_id.clone()) {
                    out.push(fill);
                }
            }
            let end_id = data
                .get("endId")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            match end_id {
                Some(id) if list.len() >= PAGE && before.as_ref() != Some(&id) => {
                    before = Some(id);
                }
                _ => {
                    out.sort_by(|a, b| (a.time_ms, &a.trade_id).cmp(&(b.time_ms, &b.trade_id)));
                    return Ok(out);
                }
            }
        }
        Err(bad(
            200,
            &format!("more than {} fills since {since_ms}", PAGE * MAX_PAGES),
            &Value::Null,
        ))
    }

    /// `GET /api/v2/mix/order/detail` by the venue's order id (an order LOMS did not
    /// place, such as a fired stop); `None` when the venue has no such order (40109).
    ///
    /// # Errors
    /// [`BitgetError`].
    pub fn order_detail_by_id(
        &self,
        symbol: &str,
        order_id: &str,
    ) -> Result<Option<OrderDetail>, BitgetError> {
        self.detail_by(symbol, ("orderId", order_id))
    }
}
