//! The venue's own trades that closed a position: a stop-loss or take-profit that fired
//! on Bitget (perhaps while LOMS was down), told from LOMS's orders by `orderSource`.

use super::{BitgetExecution, exec_fill, unavailable};
use crate::order::{OrderDetail, OrderSide, OrderSource};
use loms_broker::{ExecError, ExecFill};
use loms_domain::{Side, Timestamp};
use std::collections::HashMap;

impl BitgetExecution {
    /// [`loms_broker::ExecutionClient::venue_closes`]: the fills of `symbol` since `since`
    /// on the side that reduces a `side` position (one-way mode: a long is reduced by
    /// sells), kept when their order was made by the venue — a stop-loss, a take-profit,
    /// or another venue source (liquidation...) — and dropped when it is an ordinary
    /// placed order (LOMS's entries and reduce-only exits). A manual close from the app
    /// is an ordinary order too: position reconciliation finds it, not this. Each order
    /// is looked up once per call. Oldest first.
    pub(super) fn closes_since(
        &self,
        symbol: &str,
        side: Side,
        since: Timestamp,
    ) -> Result<Vec<(String, ExecFill)>, ExecError> {
        let since_ms = since.timestamp_millis();
        if since_ms > self.client.venue_now_ms() {
            // Later than the venue's now (clocks apart): nothing can have traded since.
            return Ok(Vec::new());
        }
        let reducing = match side {
            Side::Long => OrderSide::Sell,
            Side::Short => OrderSide::Buy,
        };
        let fills = self
            .client
            .fills_since(symbol, since_ms)
            .map_err(unavailable)?;
        let mut orders: HashMap<String, OrderDetail> = HashMap::new();
        let mut out = Vec::new();
        for fill in fills.iter().filter(|f| f.side == reducing) {
            if !orders.contains_key(&fill.order_id) {
                let detail = self
                    .client
                    .order_detail_by_id(symbol, &fill.order_id)
                    .map_err(unavailable)?
                    .ok_or_else(|| {
                        ExecError::Unavailable(format!(
                            "trade {} on {symbol}: its order {} is not visible yet",
                            fill.trade_id, fill.order_id
                        ))
                    })?;
                orders.insert(fill.order_id.clone(), detail);
            }
            let venue_made = orders
                .get(&fill.order_id)
                .is_some_and(|d| d.source != OrderSource::Placed);
            if venue_made {
                out.push((fill.order_id.clone(), exec_fill(fill)));
            }
        }
        Ok(out)
    }
}
