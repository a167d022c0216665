//! Read-only routes of the fake itself (not Bitget's), for scripts that drive the
//! `fake-bitget` binary from another process: what the venue holds. Unsigned, answered
//! at once (no latency, no faults), not kept in the request log.
//!
//! - `GET /fake/orders`: every order the venue accepted or made, oldest first, each in
//!   the shape of Bitget's order detail (`clientOid`, `orderId`, `side`, `reduceOnly`,
//!   `presetStopLossPrice`, `orderSource`, ...).
//! - `GET /fake/positions`: the open positions, in the shape of `all-position` rows.

use crate::state::State;
use crate::wire::{envelope, error};
use crate::{Seen, shapes};
use serde_json::Value;

/// Every order, as JSON.
pub(crate) const ORDERS: &str = "/fake/orders";
/// The open positions, as JSON.
pub(crate) const POSITIONS: &str = "/fake/positions";

/// Whether `path` is one of the fake's own routes.
pub(crate) fn is_debug(path: &str) -> bool {
    path.starts_with("/fake/")
}

/// The answer to a debug route; nothing changes.
pub(crate) fn route(req: &Seen, s: &State) -> (u16, String) {
    let now = s.now_ms();
    if req.method != "GET" {
        return error(now, 405, "40404", "the fake's own routes are GET only");
    }
    match req.path.as_str() {
        ORDERS => envelope(now, s.orders.iter().map(shapes::detail).collect::<Value>()),
        POSITIONS => {
            let mut list: Vec<_> = s.positions.values().collect();
            list.sort_by(|a, b| a.symbol.cmp(&b.symbol));
            let rows = list
                .iter()
                .map(|p| shapes::position(p, now))
                .collect::<Value>();
            envelope(now, rows)
        }
        _ => error(now, 404, "40404", "no such route of the fake"),
    }
}
