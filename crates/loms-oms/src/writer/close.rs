//! Closing through the execution client: a whole position or a part of it, at the market or at
//! the level a policy says was touched, stored with its closed piece and exit fill —
//! paper at once, live by storing the exit as `pending_submit` and sending it after the
//! batch is durable (its fill closes the position when it comes: [`super::report`]).

use super::execute::{self, Filled};
use super::{Ctx, Tick};
use crate::OmsError;
use crate::book::{Book, Working};
use crate::executor::Job;
use loms_broker::OrderIntent;
use loms_domain::{
    ClientOid, CloseReason, ClosedPiece, Decimal, Leg, OrderStatus, Position, Timestamp, pnl,
};
use loms_storage::Tx;

/// What an exit did: paper's is done at once; a live one is stored as
/// `pending_submit` and sent once its batch is durable.
#[derive(Debug)]
pub(super) enum Exit<T> {
    Done(T),
    Sent(Box<SentExit>),
}

/// A live exit stored and waiting to be sent.
#[derive(Debug)]
pub(super) struct SentExit {
    pub(super) client_oid: String,
    pub(super) leg: Leg,
    /// Its [`Job::Submit`], for the batch's events.
    pub(super) job: Job,
}

impl SentExit {
    /// Mark position `id` of `book` as having this exit working.
    pub(super) fn mark(&self, book: &mut Book, id: i64) {
        if let Some(o) = book.open.get_mut(&id) {
            o.working = Some(Box::new(Working {
                client_oid: self.client_oid.clone(),
                leg: self.leg,
                status: OrderStatus::PendingSubmit,
            }));
        }
    }
}

/// The exit order of `qty` of `pos` — at the level a policy says was touched inside a
/// bar (`at`), else at the market (the tick's price and quote) — as `leg`.
fn exit_order(
    ctx: &Ctx,
    (pos, leg, qty): (&Position, Leg, Decimal),
    (tick, at): (&Tick, Option<Decimal>),
    now: Timestamp,
) -> Result<OrderIntent, OmsError> {
    let quote = if at.is_some() {
        None
    } else {
        Some(&tick.quote)
    };
    let price = at.unwrap_or(tick.price);
    execute::intent(ctx, (pos.id, leg), pos, qty, price, quote, now)
}

/// Execute an exit at once ([`execute::execute_inline`]) as leg `exits_done + 1` of the
/// position's client order ids, and store its order and fills.
fn exit_fill(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (pos, exits_done, qty): (&Position, u32, Decimal),
    tick: (&Tick, Option<Decimal>),
    (kind, reason): (&str, CloseReason),
    now: Timestamp,
) -> Result<Filled, OmsError> {
    let order = exit_order(ctx, (pos, Leg::Exit(exits_done + 1), qty), tick, now)?;
    let fill = execute::execute_inline(ctx, &order)?;
    let order_id = execute::store_order(tx, (pos, pos.id), &fill, "market", Some(reason))?;
    execute::store_fills(tx, (pos.id, order_id), pos, &fill, (kind, Some(reason)))?;
    Ok(fill)
}

/// Store a live exit of `qty` as `pending_submit`, under the first exit leg of the
/// position no order has used (a rejected exit keeps its client id).
fn send_exit(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (pos, exits_done, qty): (&Position, u32, Decimal),
    tick: (&Tick, Option<Decimal>),
    reason: CloseReason,
    now: Timestamp,
) -> Result<SentExit, OmsError> {
    let (_, leg) = unused_exit(ctx, tx, pos.id, exits_done)?;
    let order = exit_order(ctx, (pos, leg, qty), tick, now)?;
    execute::store_pending(tx, (pos, pos.id), &order, "market", Some(reason))?;
    Ok(SentExit {
        client_oid: order.client_oid.clone(),
        leg,
        job: Job::Submit {
            order,
            settled: None,
        },
    })
}

/// The first exit leg of position `id` after `exits_done` that no stored order uses (a
/// refused exit keeps its client id), with its client order id.
pub(super) fn unused_exit(
    ctx: &Ctx,
    tx: &Tx<'_>,
    id: i64,
    exits_done: u32,
) -> Result<(ClientOid, Leg), OmsError> {
    let mut n = exits_done + 1;
    loop {
        let oid = ClientOid::derive(&ctx.oid_tag, id, Leg::Exit(n)).map_err(OmsError::Storage)?;
        if tx.order_by_client_oid(oid.as_str())?.is_none() {
            return Ok((oid, Leg::Exit(n)));
        }
        n += 1;
    }
}

/// Close the whole (remaining) position through the execution client: paper at once,
/// live by sending the exit.
pub(super) fn close_one(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (c, exits_done): (Position, u32),
    tick: (&Tick, Option<Decimal>),
    reason: CloseReason,
    now: Timestamp,
) -> Result<Exit<Position>, OmsError> {
    let qty = c.qty;
    if ctx.executor.is_some() {
        return send_exit(ctx, tx, (&c, exits_done, qty), tick, reason, now)
            .map(|s| Exit::Sent(Box::new(s)));
    }
    let fill = exit_fill(ctx, tx, (&c, exits_done, qty), tick, ("exit", reason), now)?;
    finish_close(tx, c, &fill, reason).map(Exit::Done)
}

/// Store the close of `c` by `fill`. Its PnL is the realised part of earlier partial
/// closes plus this last part, net of every fee paid.
pub(super) fn finish_close(
    tx: &Tx<'_>,
    mut c: Position,
    fill: &Filled,
    reason: CloseReason,
) -> Result<Position, OmsError> {
    let fees = c.fees + fill.fee;
    let gross = c.realized_pnl + pnl(c.side, c.entry_price, fill.price, fill.qty)?;
    c.status = loms_domain::PositionStatus::Closed;
    c.close_price = Some(fill.price);
    c.pnl = Some((gross - fees).normalize());
    c.fees = fees.normalize();
    c.closed_at = Some(fill.ts);
    c.auto_close_reason = Some(reason);
    // One statement stores the close, its piece and whatever the policy changed this pass.
    if !tx.close_position(&c, &closed_piece(fill, reason))? {
        return Err(OmsError::Storage(format!(
            "position {} was not open in the database",
            c.id
        )));
    }
    Ok(c)
}

/// `c` completed with the references only its row holds, for an answer that shows
/// the whole position.
pub(super) fn with_references(tx: &Tx<'_>, mut c: Position) -> Result<Position, OmsError> {
    tx.read_references(&mut c)?;
    Ok(c)
}

/// Close `fraction` of a position; the rest stays open with a smaller quantity. Live:
/// the exit is sent (`Some`), and the fill makes the position smaller when it comes.
pub(super) fn partial_close(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (pos, exits_done): (&mut Position, u32),
    fraction: Decimal,
    tick: (&Tick, Option<Decimal>),
    reason: CloseReason,
    now: Timestamp,
) -> Result<Option<Box<SentExit>>, OmsError> {
    let qty = (pos.qty * fraction)
        .round_dp_with_strategy(
            loms_domain::math::QTY_DP,
            rust_decimal::RoundingStrategy::ToZero,
        )
        .normalize();
    if qty.is_zero() || qty >= pos.qty {
        return Err(OmsError::Invalid(format!(
            "partial close of {fraction} leaves nothing to close or nothing open"
        )));
    }
    if ctx.executor.is_some() {
        return send_exit(ctx, tx, (pos, exits_done, qty), tick, reason, now)
            .map(|s| Some(Box::new(s)));
    }
    let fill = exit_fill(
        ctx,
        tx,
        (pos, exits_done, qty),
        tick,
        ("partial", reason),
        now,
    )?;
    finish_partial(tx, pos, &fill, reason)?;
    Ok(None)
}

/// Store the partial close of `pos` by `fill`.
pub(super) fn finish_partial(
    tx: &Tx<'_>,
    pos: &mut Position,
    fill: &Filled,
    reason: CloseReason,
) -> Result<(), OmsError> {
    pos.realized_pnl += pnl(pos.side, pos.entry_price, fill.price, fill.qty)?;
    pos.fees += fill.fee;
    pos.qty -= fill.qty;
    tx.update_open_position(pos, Some(&closed_piece(fill, reason)))?;
    Ok(())
}

/// The piece of a position an exit fill closed, as its row lists it.
fn closed_piece(fill: &Filled, reason: CloseReason) -> ClosedPiece {
    ClosedPiece {
        qty: fill.qty,
        price: fill.price,
        fee: fill.fee,
        reason,
        closed_at: fill.ts,
    }
}
