//! Closing through the execution client: a whole position or a part of it, at the market or at
//! the level a policy says was touched, stored with its closed piece and exit fill.

use super::execute::{self, Filled};
use super::{Ctx, Tick};
use crate::OmsError;
use loms_domain::{CloseReason, ClosedPiece, Decimal, Leg, Position, Timestamp, pnl};
use loms_storage::Tx;

/// Execute an exit ([`execute::execute_inline`]) — at the level a policy says was
/// touched inside a bar (`at`), else at the market (the tick's price and quote) — as
/// leg `exits_done + 1` of the position's client order ids, and store its order and
/// fills.
fn exit_fill(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (pos, exits_done, qty): (&Position, u32, Decimal),
    (tick, at): (&Tick, Option<Decimal>),
    (kind, reason): (&str, CloseReason),
    now: Timestamp,
) -> Result<Filled, OmsError> {
    let leg = Leg::Exit(exits_done + 1);
    let quote = if at.is_some() {
        None
    } else {
        Some(&tick.quote)
    };
    let price = at.unwrap_or(tick.price);
    let order = execute::intent(ctx, (pos.id, leg), pos, qty, price, quote, now)?;
    let fill = execute::execute_inline(ctx, &order)?;
    let order_id = execute::store_order(tx, (pos, pos.id), &fill, "market", true)?;
    execute::store_fills(tx, (pos.id, order_id), pos, &fill, (kind, Some(reason)))?;
    Ok(fill)
}

/// Close the whole (remaining) position through the broker and store the result.
/// Its PnL is the realised part of earlier partial closes plus this last part, net of
/// every fee paid.
pub(super) fn close_one(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (mut c, exits_done): (Position, u32),
    (tick, at): (&Tick, Option<Decimal>),
    reason: CloseReason,
    now: Timestamp,
) -> Result<Position, OmsError> {
    let qty = c.qty;
    let fill = exit_fill(
        ctx,
        tx,
        (&c, exits_done, qty),
        (tick, at),
        ("exit", reason),
        now,
    )?;
    let fees = c.fees + fill.fee;
    let gross = c.realized_pnl + pnl(c.side, c.entry_price, fill.price, fill.qty)?;
    c.status = loms_domain::PositionStatus::Closed;
    c.close_price = Some(fill.price);
    c.pnl = Some((gross - fees).normalize());
    c.fees = fees.normalize();
    c.closed_at = Some(fill.ts);
    c.auto_close_reason = Some(reason);
    // One statement stores the close, its piece and whatever the policy changed this pass.
    if !tx.close_position(&c, &closed_piece(&fill, reason))? {
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

/// Close `fraction` of a position; the rest stays open with a smaller quantity.
pub(super) fn partial_close(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (pos, exits_done): (&mut Position, u32),
    fraction: Decimal,
    (tick, at): (&Tick, Option<Decimal>),
    reason: CloseReason,
    now: Timestamp,
) -> Result<(), OmsError> {
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
    let fill = exit_fill(
        ctx,
        tx,
        (pos, exits_done, qty),
        (tick, at),
        ("partial", reason),
        now,
    )?;
    pos.realized_pnl += pnl(pos.side, pos.entry_price, fill.price, fill.qty)?;
    pos.fees += fill.fee;
    pos.qty -= fill.qty;
    tx.update_open_position(pos, Some(&closed_piece(&fill, reason)))?;
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
