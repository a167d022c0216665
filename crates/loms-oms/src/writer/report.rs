//! Applying what the venue says (live): an execution report moves its order forward
//! (never back: [`OrderStatus::may_become`]), stores each trade once (by trade id), and
//! settles the position — an entry's fills set its real price, size and fees, a
//! rejected entry makes it void, an exit's fills close it or make it smaller. A venue
//! check closes what the venue's own stop closed (`exchange_stop`) and turns every
//! other difference into a doubt that holds entries.

use super::Ctx;
use super::close::{finish_close, finish_partial};
use super::execute::{self, Filled, summed};
use crate::OmsError;
use crate::book::Book;
use crate::executor::Settled;
use crate::publish::{Closed, Event};
use crate::venue_check::{Found, VENUE_PREFIX, doubt_key};
use loms_broker::{ExecFill, ExecutionReport};
use loms_domain::{ClientOid, CloseReason, Leg, OrderStatus, Position, Timestamp};
use loms_storage::{NewOrder, OrderRow, Tx};

/// Apply `report` (`not_found`: it says only that the venue has no such order).
pub(super) fn on_report(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    mut report: ExecutionReport,
    not_found: bool,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<Settled, OmsError> {
    let oid = report.client_oid.clone();
    let row = tx.order_by_client_oid(&oid)?.ok_or_else(|| {
        OmsError::Invalid(format!(
            "a venue report names order {oid}, which LOMS never stored"
        ))
    })?;
    let unchanged = |row: &OrderRow, reason| Settled {
        status: row.status,
        entry: None,
        reason,
    };
    if not_found && row.status == OrderStatus::Submitted {
        // The venue acknowledged it: a lookup that misses it is the venue lagging.
        let why = format!("order {oid} was acknowledged but the venue does not find it now");
        book.doubts.insert(oid.clone(), why.clone());
        return Ok(unchanged(&row, Some(why)));
    }
    if report.status == OrderStatus::Filled && report.fills.is_empty() {
        // The venue says filled but its fills cannot be read yet: not settled.
        report.status = OrderStatus::Submitted;
        report.reason = Some("filled at the venue; its fills are read by the next lookup".into());
    }
    if !row.status.may_become(report.status) {
        return Ok(unchanged(&row, None));
    }
    let leg = ClientOid::parse(&oid).ok().and_then(|c| c.leg());
    let (Some(leg), Some(position_id)) = (leg, row.position_id) else {
        return Err(OmsError::Invalid(format!(
            "order {oid} names no position leg"
        )));
    };
    let Some(open) = book.open.get(&position_id) else {
        // Its position is no longer open (closed by an operator meanwhile): keep the
        // order's record right, nothing else to settle.
        tx.update_order(
            row.id,
            report.status,
            report.exchange_order_id.as_deref(),
            None,
        )?;
        book.doubts.remove(&oid);
        return Ok(unchanged(&row, report.reason.take()));
    };
    let mut pos = open.to_position();
    let reason = row.reason.unwrap_or(CloseReason::Manual);
    let kind = match leg {
        Leg::Entry => "entry",
        Leg::Exit(_) if pos.qty > report.filled_qty() => "partial",
        Leg::Exit(_) => "exit",
    };
    let status = report.status;
    let exchange_id = report.exchange_order_id.clone();
    let why = report.reason.clone();
    let fill = summed(report);
    if let Some(f) = &fill {
        let exit_reason = (leg != Leg::Entry).then_some(reason);
        execute::store_fills(tx, (position_id, row.id), &pos, f, (kind, exit_reason))?;
    }
    tx.update_order(
        row.id,
        status,
        exchange_id.as_deref(),
        fill.as_ref().map(|f| (f.price, f.qty)),
    )?;
    let settled_fill =
        fill.filter(|_| matches!(status, OrderStatus::Filled | OrderStatus::Canceled));
    let mut settled = Settled {
        status,
        entry: None,
        reason: why.clone(),
    };
    match (leg, settled_fill) {
        (_, None) if status.unresolved() => {
            if let Some(w) = book
                .open
                .get_mut(&position_id)
                .and_then(|o| o.working.as_mut())
            {
                w.status = status;
            }
        }
        (Leg::Entry, None) => {
            // Rejected, or canceled with nothing filled: nothing was ever opened.
            tx.void_position(position_id, now)?;
            book.remove(position_id);
            events.push(Event::Log(format!(
                "position_void id={position_id} order={oid} status={status} reason=\"{}\"",
                why.as_deref().unwrap_or("-")
            )));
        }
        (Leg::Entry, Some(f)) => {
            pos.entry_price = f.price;
            pos.qty = f.qty;
            pos.opened_qty = f.qty;
            pos.fees = f.fee;
            pos.created_at = f.ts;
            pos.external_order_id = exchange_id;
            tx.store_entry_fill(&pos)?;
            book.remove(position_id);
            book.add_open(pos.clone());
            ctx.prices.observe(&pos.symbol, f.price);
            settled.entry = Some((f.price, f.qty));
            events.push(Event::Log(format!(
                "entry_filled id={position_id} order={oid} price={} qty={} fee={}",
                f.price, f.qty, f.fee
            )));
        }
        (Leg::Exit(_), None) => {
            // The exit was refused: the position stays open. The venue may have closed
            // it already (its stop fired): compare before anything more is sent.
            if let Some(o) = book.open.get_mut(&position_id) {
                o.working = None;
            }
            book.doubts.insert(
                doubt_key(&pos.symbol),
                format!(
                    "exit {oid} of position {position_id} was {status}: {}; the venue's \
                     position is compared",
                    why.as_deref().unwrap_or("no reason given")
                ),
            );
            events.push(Event::Venue(check_one(&pos)));
        }
        (Leg::Exit(_), Some(f)) => settle_exit(book, tx, pos, &f, reason, events)?,
    }
    if status == OrderStatus::Unknown {
        book.doubts.insert(
            oid.clone(),
            format!(
                "order {oid}: the venue's answer was lost ({}); it is looked up by client id",
                why.as_deref().unwrap_or("no answer")
            ),
        );
    } else {
        book.doubts.remove(&oid);
    }
    Ok(settled)
}

/// An exit's fills close the position, or make it smaller.
fn settle_exit(
    book: &mut Book,
    tx: &Tx<'_>,
    mut pos: Position,
    f: &Filled,
    reason: CloseReason,
    events: &mut Vec<Event>,
) -> Result<(), OmsError> {
    let id = pos.id;
    if f.qty >= pos.qty {
        let mut c = finish_close(tx, pos, f, reason)?;
        tx.read_references(&mut c)?;
        book.remove(id);
        events.extend(Closed::of(&c).map(Event::Closed));
    } else {
        finish_partial(tx, &mut pos, f, reason)?;
        book.update(&pos);
        if let Some(o) = book.open.get_mut(&id) {
            o.working = None;
        }
        events.push(Event::Log(format!(
            "position_partial_close id={id} qty={} qty_left={}",
            f.qty, pos.qty
        )));
    }
    Ok(())
}

/// A venue check of one position (after its exit was refused).
fn check_one(p: &Position) -> crate::executor::Job {
    crate::executor::Job::CheckVenue {
        watched: vec![crate::venue_check::Watched {
            id: p.id,
            symbol: p.symbol.clone(),
            side: p.side,
            qty: p.qty,
            since: p.created_at,
        }],
        busy: Vec::new(),
        // Not the symbol's doubt key: applying the check must not clear the doubt the
        // refused exit raised unless the venue explains it.
        key: format!("{VENUE_PREFIX}check:{}", p.id),
        full: false,
    }
}

/// Apply a venue check: close what the venue closed by itself at its trades, with
/// reason `exchange_stop`, and doubt every other difference.
pub(super) fn on_venue_check(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    found: Found,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<(), OmsError> {
    match &found.full {
        Some(busy) => book
            .doubts
            .retain(|k, _| !k.starts_with(VENUE_PREFIX) || busy.iter().any(|s| *k == doubt_key(s))),
        // One position after its exit was refused: only a close the venue explains
        // clears the doubt (a venue that still holds it leaves it for the operator, or
        // the next full reconciliation).
        None => {
            for (id, _) in &found.closed {
                if let Some(o) = book.open.get(id) {
                    book.doubts.remove(&doubt_key(&o.symbol));
                }
            }
        }
    }
    for (id, trades) in found.closed {
        venue_closed(ctx, book, tx, id, trades, now, events)?;
    }
    for m in found.mismatches {
        if let Some((symbol, ids)) = &m.compared
            && !book.same_on(symbol, ids)
        {
            // LOMS opened, closed or sent something there since: the next check decides.
            continue;
        }
        events.push(Event::Log(format!("venue_mismatch {}", m.why)));
        book.doubts.insert(m.key, m.why);
    }
    book.doubts.remove(&found.key);
    Ok(())
}

/// Position `id` was closed at the venue by `trades` LOMS did not send: store them as
/// its next exit order (filled, with the venue's order id) and close it there.
fn venue_closed(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    id: i64,
    trades: Vec<(String, ExecFill)>,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<(), OmsError> {
    let Some(o) = book.open.get(&id).filter(|o| o.working.is_none()) else {
        return Ok(());
    };
    let pos = o.to_position();
    let (oid, _) = super::close::unused_exit(ctx, tx, id, o.exits)?;
    let venue_order = trades.first().map(|(o, _)| o.clone());
    tx.insert_order(&NewOrder {
        symbol: &pos.symbol,
        side: execute::order_side(&pos, true),
        qty: pos.qty,
        order_type: "venue_stop",
        status: OrderStatus::PendingSubmit,
        price: pos.entry_price,
        created_at: now,
        signal_id: None,
        client_oid: oid.as_str(),
        exchange_order_id: venue_order.as_deref(),
        position_id: Some(id),
        reason: Some(CloseReason::ExchangeStop),
    })?;
    events.push(Event::Log(format!(
        "exchange_stop id={id} symbol={} venue_order={}",
        pos.symbol,
        venue_order.as_deref().unwrap_or("-")
    )));
    let report = ExecutionReport {
        client_oid: oid.as_str().to_string(),
        exchange_order_id: venue_order,
        status: OrderStatus::Filled,
        fills: trades.into_iter().map(|(_, f)| f).collect(),
        reason: None,
    };
    on_report(ctx, book, tx, report, false, now, events).map(|_| ())
}
