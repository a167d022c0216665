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
             its batch (live orders need the executor, not wired yet)",
            ctx.execution.venue()
        )));
    }
    let report = ctx.execution.submit(order);
    let (qty, fee) = (report.filled_qty(), report.fees());
    let summed = match (report.status, &report.fills[..]) {
        (OrderStatus::Filled, [one]) => Some((one.price, one.ts)),
        (OrderStatus::Filled, [.., last]) => report.avg_price().map(|p| (p.normalize(), last.ts)),
        _ => None,
    };
    let Some((price, ts)) = summed else {
        return Err(OmsError::Broker(format!(
            "order rejected: {}",
            report
                .reason
                .clone()
                .unwrap_or_else(|| format!("{} with nothing filled", report.status))
        )));
    };
    Ok(Filled {
        report,
        price,
        qty,
        fee,
        ts,
    })
}

/// Store the order `f` executed for position `position_id` (an entry, or an exit
/// of it); returns the order's id.
pub(super) fn store_order(
    tx: &Tx<'_>,
    (p, position_id): (&Position, i64),
    f: &Filled,
    order_type: &str,
    exit: bool,
) -> Result<i64, OmsError> {
    let side = if exit {
        p.side.opposite().entry_order_side()
    } else {
        p.side.entry_order_side()
    };
    let order_id = tx.insert_order(&NewOrder {
        symbol: &p.symbol,
        side,
        qty: f.qty,
        order_type,
        status: f.report.status,
        price: f.price,
        created_at: f.ts,
        signal_id: if exit { None } else { p.signal_id.as_deref() },
        client_oid: &f.report.client_oid,
        exchange_order_id: f.report.exchange_order_id.as_deref(),
        position_id: Some(position_id),
    })?;
    Ok(order_id)
}

/// Store the fills of order `order_id` of position `position_id`, one per trade with
/// its trade id.
pub(super) fn store_fills(
    tx: &Tx<'_>,
    (position_id, order_id): (i64, i64),
    p: &Position,
    f: &Filled,
    (kind, reason): (&str, Option<CloseReason>),
) -> Result<(), OmsError> {
    let side = match kind {
        "entry" => p.side.entry_order_side(),
        _ => p.side.opposite().entry_order_side(),
    };
    for t in &f.report.fills {
        tx.insert_fill(&FillRecord {
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
        })?;
    }
    Ok(())
}
