//! An operator's word on a difference with the venue (live, `POST /venue/reconcile`):
//! a venue position LOMS does not hold becomes a LOMS position, and a LOMS position the
//! venue does not hold is closed in LOMS — neither sends an order.

use super::Ctx;
use super::close::finish_close;
use super::execute::{self, Filled};
use crate::OmsError;
use crate::book::Book;
use crate::publish::{Closed, Event};
use crate::venue_check::doubt_key;
use loms_broker::{ExecFill, ExecutionReport};
use loms_domain::{
    ClientOid, CloseReason, Decimal, Leg, OrderStatus, Position, Timestamp, VenueHolding,
};
use loms_storage::{NewOrder, Tx};

/// Take the venue's position `v` into LOMS: an open position at the venue's entry and
/// stop, with an `adopted` order row (never sent).
pub(super) fn on_adopt(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    (v, by): (&VenueHolding, &str),
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<Position, OmsError> {
    if let Some(o) = book.open.values().find(|o| *o.symbol == *v.symbol) {
        return Err(OmsError::Invalid(format!(
            "LOMS holds position {} on {}: adopt takes a venue position LOMS does not hold; \
             close the difference at the venue instead",
            o.id, v.symbol
        )));
    }
    let id = tx.next_position_id()?;
    let oid = ClientOid::derive(&ctx.oid_tag, id, Leg::Entry).map_err(OmsError::Storage)?;
    let mut p = Position::open(v.symbol.clone(), v.side, v.qty, v.entry_price, now);
    p.exit_strategy = ctx.default_exit.clone();
    p.sl_price = v.stop_loss;
    let order_id = tx.insert_order(&NewOrder {
        symbol: &p.symbol,
        side: execute::order_side(&p, false),
        qty: p.qty,
        order_type: "adopted",
        status: OrderStatus::Filled,
        price: p.entry_price,
        created_at: now,
        signal_id: None,
        client_oid: oid.as_str(),
        exchange_order_id: None,
        position_id: Some(id),
        reason: None,
    })?;
    p.order_id = Some(order_id);
    p.id = tx.insert_position(&p)?;
    if p.id != id {
        return Err(OmsError::Storage(format!(
            "position stored as {} where its client order id says {id}",
            p.id
        )));
    }
    book.doubts.remove(&doubt_key(&p.symbol));
    events.push(Event::Log(format!(
        "position_adopted id={id} symbol={} side={} qty={} entry={} by={by}",
        p.symbol, p.side, p.qty, p.entry_price
    )));
    book.add_open(p.clone());
    Ok(p)
}

/// Close LOMS position `id` in LOMS only, at `price` (the venue holds nothing of it):
/// a `reconciled` exit order row and fill (never sent), reason `manual`.
pub(super) fn on_forget(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    (id, price, by): (i64, Decimal, &str),
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<Position, OmsError> {
    let Some(o) = book.open.get(&id) else {
        return Err(OmsError::NotFound(id));
    };
    if o.working.is_some() {
        return Err(OmsError::Busy(super::working_on(o)));
    }
    let pos = o.to_position();
    let (oid, _) = super::close::unused_exit(ctx, tx, id, o.exits)?;
    let fill = Filled {
        report: ExecutionReport {
            client_oid: oid.as_str().to_string(),
            exchange_order_id: None,
            status: OrderStatus::Filled,
            fills: vec![ExecFill {
                trade_id: format!("{}-reconciled", oid.as_str()),
                price,
                qty: pos.qty,
                fee: Decimal::ZERO,
                ts: now,
            }],
            reason: None,
        },
        price,
        qty: pos.qty,
        fee: Decimal::ZERO,
        ts: now,
    };
    let reason = Some(CloseReason::Manual);
    let order_id = execute::store_order(tx, (&pos, id), &fill, "reconciled", reason)?;
    execute::store_fills(tx, (id, order_id), &pos, &fill, ("exit", reason))?;
    let mut c = finish_close(tx, pos, &fill, CloseReason::Manual)?;
    tx.read_references(&mut c)?;
    book.remove(id);
    book.doubts.remove(&doubt_key(&c.symbol));
    events.push(Event::Log(format!(
        "position_reconciled id={id} symbol={} close={price} by={by}: the venue held nothing of it",
        c.symbol
    )));
    events.extend(Closed::of(&c).map(Event::Closed));
    Ok(c)
}
