//! Executing an order inside the writer's batch, through the [`ExecutionClient`]: only
//! an immediate client (paper) may be called here, since it answers at once without
//! I/O; a venue's client never is (the writer must never wait on the network). The
//! order row and its fills are stored from the report: the deterministic client order
//! id, the status, the venue's order id and each trade id.

use super::Ctx;
use crate::OmsError;
use loms_broker::{ExecutionReport, OrderIntent};
use loms_domain::{
    ClientOid, CloseReason, Decimal, Leg, OrderStatus, Position, PriceQuote, Timestamp,
};
use loms_storage::{FillRecord, NewOrder, Tx};

/// What an executed order filled, summed over its trades.
#[derive(Debug, Clone)]
pub(super) struct Filled {
    /// The report, for its trades and ids.
    pub(super) report: ExecutionReport,
    /// Average price (a single trade's own price).
    pub(super) price: Decimal,
    /// Filled quantity.
    pub(super) qty: Decimal,
    /// Fees paid.
    pub(super) fee: Decimal,
    /// Time of the last trade.
    pub(super) ts: Timestamp,
}

/// The order to send for `leg` of position `position_id`: its client order id derived
/// from the database's tag. The stop and take-profit are the position's as they stand
/// (paper ignores them; a live entry will need them computed before it is sent).
pub(super) fn intent(
    ctx: &Ctx,
    (position_id, leg): (i64, Leg),
    p: &Position,
    qty: Decimal,
    price: Decimal,
    quote: Option<&PriceQuote>,
    now: Timestamp,
) -> Result<OrderIntent, OmsError> {
    let client_oid = ClientOid::derive(&ctx.oid_tag, position_id, leg)
        .map_err(OmsError::Storage)?
        .as_str()
        .to_string();
    let entry = leg == Leg::Entry;
    Ok(OrderIntent {
        client_oid,
        symbol: p.symbol.clone(),
        side: p.side,
        reduce_only: !entry,
        qty,
        price,
        quote: quote.cloned(),
        stop_loss: if entry { p.sl_price } else { None },
        take_profit: if entry { p.tp_price } else { None },
        ts: now,
    })
}

/// Execute `order` at once. Refused — nothing sent, nothing stored — unless the client
/// is [`loms_broker::ExecutionClient::immediate`]; a rejection or any outcome but
/// filled is the broker's error.
pub(super) fn execute_inline(ctx: &Ctx, order: &OrderIntent) -> Result<Filled, OmsError> {
    if !ctx.execution.immediate() {
        return Err(OmsError::Broker(format!(
            "execution client {} is not immediate: the writer never calls a venue inside \
             its batch (a live order goes through the executor)",
            ctx.execution.venue()
        )));
    }
    let report = ctx.execution.submit(order);
    if report.status != OrderStatus::Filled {
        return Err(OmsError::Broker(format!(
            "order rejected: {}",
            report
                .reason
                .clone()
                .unwrap_or_else(|| format!("{} with nothing filled", report.status))
        )));
    }
    summed(report).ok_or_else(|| OmsError::Broker("order filled with nothing filled".into()))
}

/// What `report`'s trades filled, summed (`None`: nothing filled).
pub(super) fn summed(report: ExecutionReport) -> Option<Filled> {
    let (qty, fee) = (report.filled_qty(), report.fees());
    let (price, ts) = match &report.fills[..] {
        [] => return None,
        [one] => (one.price, one.ts),
        [.., last] => (report.avg_price()?.normalize(), last.ts),
    };
    Some(Filled {
        report,
        price,
        qty,
        fee,
        ts,
    })
}

/// Store the order `f` executed for position `position_id` (an entry, or an exit of
/// it for `exit`'s reason); returns the order's id.
pub(super) fn store_order(
    tx: &Tx<'_>,
    (p, position_id): (&Position, i64),
    f: &Filled,
    order_type: &str,
    exit: Option<CloseReason>,
) -> Result<i64, OmsError> {
    let order_id = tx.insert_order(&NewOrder {
        symbol: &p.symbol,
        side: order_side(p, exit.is_some()),
        qty: f.qty,
        order_type,
        status: f.report.status,
        price: f.price,
        created_at: f.ts,
        signal_id: if exit.is_some() {
            None
        } else {
            p.signal_id.as_deref()
        },
        client_oid: &f.report.client_oid,
        exchange_order_id: f.report.exchange_order_id.as_deref(),
        position_id: Some(position_id),
        reason: exit,
    })?;
    Ok(order_id)
}

/// Store `order` for position `position_id` as `pending_submit`, before it is sent
/// (live); returns the order's id.
pub(super) fn store_pending(
    tx: &Tx<'_>,
    (p, position_id): (&Position, i64),
    order: &OrderIntent,
    order_type: &str,
    exit: Option<CloseReason>,
) -> Result<i64, OmsError> {
    Ok(tx.insert_order(&NewOrder {
        symbol: &p.symbol,
        side: order_side(p, exit.is_some()),
        qty: order.qty,
        order_type,
        status: OrderStatus::PendingSubmit,
        price: order.price,
        created_at: order.ts,
        signal_id: if exit.is_some() {
            None
        } else {
            p.signal_id.as_deref()
        },
        client_oid: &order.client_oid,
        exchange_order_id: None,
        position_id: Some(position_id),
        reason: exit,
    })?)
}

/// `buy` or `sell`: the side of `p`'s entry, or of an exit of it.
pub(super) fn order_side(p: &Position, exit: bool) -> &'static str {
    if exit {
        p.side.opposite().entry_order_side()
    } else {
        p.side.entry_order_side()
    }
}

/// Store the fills of order `order_id` of position `position_id`, one per trade with
/// its trade id; a trade stored before is skipped. Returns how many were new.
pub(super) fn store_fills(
    tx: &Tx<'_>,
    (position_id, order_id): (i64, i64),
    p: &Position,
    f: &Filled,
    (kind, reason): (&str, Option<CloseReason>),
) -> Result<usize, OmsError> {
    let mut new = 0;
    let side = order_side(p, kind != "entry");
    for t in &f.report.fills {
        new += tx.insert_fill(&FillRecord {
            position_id,
            kind,
            side,
            qty: t.qty,
            price: t.price,
            fee: t.fee,
            ts: t.ts,
            reason,
            order_id,
            trade_id: &t.trade_id,
        })? as usize;
    }
    Ok(new)
}
