//! The auto-close pass: each open position's exit policy looks at its symbol's price,
//! and what it decided (a moved stop, a partial close, a close) is stored. A pass over
//! many positions runs in slices that take turns with the other commands.

use super::close::{Exit, SentExit, close_one, partial_close};
use super::{BatchOut, Ctx, LAST_CHECK_KEY, Market, Tick, Write, failed};
use crate::OmsError;
use crate::book::{Book, OpenPosition};
use crate::executor::Job;
use crate::publish::{Closed, Event, Finish, Reply, finish};
use crate::venue_check::doubt_key;
use loms_domain::{CloseReason, Decimal, Position, Timestamp};
use loms_exit_engine::{ExitAction, ExitContext, favorable_move_pct};
use loms_storage::Tx;

/// positions looked at or [`PASS_SLICE_WRITES`] positions written, each in its own
/// batch, alternating with batches of the commands that came in meanwhile, so that
/// signals waiting behind a pass over many positions wait for one slice at most
/// instead of the whole pass.
#[derive(Debug)]
pub(crate) struct PassProgress {
    /// First position id still to look at.
    next_id: i64,
    /// The time of the pass: every slice judges the same prices at the same time.
    now: Timestamp,
    report: PassReport,
}

/// Positions looked at in one slice of a pass (about 0.4 ms: a signal waits for one
/// slice at most, and a quiet slice costs next to nothing more than a bigger one).
const PASS_SLICE_POSITIONS: usize = 2048;

/// Positions written (closed or updated) in one slice of a pass (a few ms).
const PASS_SLICE_WRITES: usize = 256;

/// What one auto-close pass did.
#[derive(Debug, Default, Clone)]
pub struct PassReport {
    /// Open positions when the pass ran.
    pub open: usize,
    /// Positions the policy looked at.
    pub checked: usize,
    /// Positions younger than MIN_POSITION_AGE_SEC, or opened after the bar judged
    /// began, left alone.
    pub too_young: usize,
    /// Positions whose symbol had no usable price, left alone.
    pub no_price: usize,
    /// Positions whose policy failed or is unknown, left alone.
    pub policy_errors: usize,
    /// Positions closed, as stored (empty for the passes of the auto-close loop, which
    /// only count them: see `closed_count`).
    pub closed: Vec<Position>,
    /// Positions closed.
    pub closed_count: usize,
    /// Live: positions left alone because an order of theirs is at the venue.
    pub working: usize,
    /// Live: exits sent (each closes its position, or part of it, when filled).
    pub exits_sent: usize,
}

/// One turn of a [`super::Write::Pass`]: a slice from where the pass stands, then its
/// answer, or the rest queued for the next batch (see [`PassProgress`]).
pub(super) fn step(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    (market, at, progress, keep_closed): (
        Market,
        Option<Timestamp>,
        Option<Box<PassProgress>>,
        bool,
    ),
    reply: Reply<PassReport>,
    now: Timestamp,
    out: &mut BatchOut<'_>,
) -> (Option<Finish>, Option<String>) {
    let events = &mut *out.events;
    let live = at.is_none();
    let (from, now, mut report) = match progress {
        Some(p) => (p.next_id, p.now, p.report),
        None => (
            i64::MIN,
            at.unwrap_or(now),
            PassReport {
                open: book.open.len(),
                ..Default::default()
            },
        ),
    };
    let next = match on_pass(
        ctx,
        book,
        tx,
        (&market, now),
        from,
        (&mut report, keep_closed),
        events,
    ) {
        Ok(next) => next,
        Err(e) => {
            let r = Err(e);
            let bad = failed::<PassReport>(&r);
            return (Some(finish(reply, r)), bad);
        }
    };
    // Once the pass is through, remember how far prices were watched, for the
    // downtime gap after a restart (at most every 10 s, so an idle pass writes
    // nothing most of the time).
    if next.is_none()
        && live
        && !book.open.is_empty()
        && book
            .last_check_saved
            .is_none_or(|t| now - t >= chrono::Duration::seconds(10))
    {
        match tx.set_state(LAST_CHECK_KEY, &now.to_rfc3339(), now) {
            Ok(()) => book.last_check_saved = Some(now),
            // One statement, undone by itself: the batch goes on.
            Err(e) => log::error!("last_check_save_failed error={e}"),
        }
    }
    match next {
        Some(next_id) => {
            out.later.push(Write::Pass {
                market,
                at,
                reply,
                keep_closed,
                progress: Some(Box::new(PassProgress {
                    next_id,
                    now,
                    report,
                })),
            });
            (None, None)
        }
        None => (Some(finish(reply, Ok(report))), None),
    }
}

/// What the policy of one position decided, applied to a copy of it.
struct Decided {
    updated: Position,
    exits: Exits,
    /// Exits the position has had (its next exit's client id leg is this + 1).
    exits_done: u32,
}

/// The exits a policy asked for: a partial close (fraction, reason, level touched),
/// then a close (reason, level touched).
#[derive(Clone, Copy)]
struct Exits {
    partial: Option<(Decimal, CloseReason, Option<Decimal>)>,
    close: Option<(CloseReason, Option<Decimal>)>,
}

/// Smallest growth of `max_favorable_move` (percentage points) stored on its own.
///
/// A new best move is stored at once whenever the policy acts on the position (every
/// stop it moves, every partial or full close: the decisions never lag), and otherwise
/// only once it has grown by this much since the stored one. Prices that creep up tick
/// by tick would else rewrite most open positions on every pass.
const BEST_MOVE_STEP: Decimal = Decimal::from_parts(1, 0, 0, false, 1);

/// What the policy decides for `o`, looked at through the scratch `p`; `None` when
/// nothing changes (no copy is made then: a quiet pass allocates nothing for positions
/// without policy state; a policy's state, `exit_meta`, is copied into the scratch).
fn decide(
    ctx: &Ctx,
    o: &OpenPosition,
    p: &mut Position,
    tick: &Tick,
    now: Timestamp,
) -> Result<Option<Decided>, String> {
    let policy = ctx
        .policies
        .get(&o.exit_strategy)
        .ok_or_else(|| format!("unknown exit_strategy {}", o.exit_strategy))?;
    let ectx = ExitContext {
        price: tick.price,
        now,
        bar: tick.bar,
    };
    let mv = favorable_move_pct(o.side, o.entry_price, ectx.favorable(o.side));
    let new_best = o.max_favorable_move.is_none_or(|m| mv > m);
    o.fill(p);
    let actions = policy.on_price(p, &ectx).map_err(|e| e.to_string())?;
    if actions.is_empty()
        && !(new_best && mv - o.max_favorable_move.unwrap_or_default() >= BEST_MOVE_STEP)
    {
        return Ok(None);
    }
    let mut u = p.clone();
    if new_best {
        u.max_favorable_move = Some(mv);
    }
    let (mut partial, mut close) = (None, None);
    for a in actions {
        match a {
            ExitAction::MoveStop { price } => u.dynamic_sl_price = Some(price),
            ExitAction::MoveTakeProfit { price } => u.dynamic_tp_price = Some(price),
            ExitAction::SetMeta(m) => u.exit_meta = m,
            ExitAction::PartialClose {
                fraction,
                reason,
                at,
            } => partial = Some((fraction, reason, at)),
            ExitAction::Close { reason, at } => {
                close = Some((reason, at));
                break;
            }
        }
    }
    Ok(Some(Decided {
        updated: u,
        exits: Exits { partial, close },
        exits_done: o.exits,
    }))
}

/// Look at the open positions from id `from` on, write what changed, and add it to
/// `report`; returns the id to go on from when the slice is full (see
/// [`PassProgress`]), `None` when the pass is done.
///
/// # Errors
/// [`OmsError::Storage`] when a write failed: the slice may have written part of its
/// rows, and the book is left as it was.
#[allow(clippy::too_many_arguments)]
fn on_pass(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    (market, now): (&Market, Timestamp),
    from: i64,
    (report, keep_closed): (&mut PassReport, bool),
    events: &mut Vec<Event>,
) -> Result<Option<i64>, OmsError> {
    // Decide with the book read-only; write only the positions that changed.
    let mut work = Vec::new();
    let mut next = None;
    let scratch = &mut book.scratch;
    let book_doubts = &book.doubts;
    for (looked, p) in book.open.range(from..).map(|(_, p)| p).enumerate() {
        if looked == PASS_SLICE_POSITIONS || work.len() == PASS_SLICE_WRITES {
            next = Some(p.id);
            break;
        }
        if p.working.is_some()
            || (!book_doubts.is_empty() && book_doubts.contains_key(&doubt_key(&p.symbol)))
        {
            // Live: an order of it is at the venue (judged again once it settles), or
            // LOMS doubts what the venue holds on its symbol (nothing more is sent).
            report.working += 1;
            continue;
        }
        if now - p.created_at < ctx.min_age {
            report.too_young += 1;
            continue;
        }
        let Some(tick) = market.get(&*p.symbol) else {
            report.no_price += 1;
            continue;
        };
        if tick.bar_start.is_some_and(|start| p.created_at > start) {
            report.too_young += 1;
            continue;
        }
        report.checked += 1;
        match decide(ctx, p, scratch, tick, now) {
            Ok(Some(d)) => work.push((d, tick)),
            Ok(None) => {}
            Err(e) => {
                report.policy_errors += 1;
                log::warn!("policy_error id={} error=\"{e}\"", p.id);
            }
        }
    }
    // No savepoint for the slice: a storage error fails the pass and rolls back the
    // whole batch, and the book is read again (see `Writer::commit_batch`); the next
    // pass tries these positions again. Any other error comes before its position
    // writes anything, and only that position is left alone.
    for (
        Decided {
            updated,
            exits,
            exits_done,
        },
        tick,
    ) in work
    {
        let id = updated.id;
        let mark = events.len();
        let old_stop = book.open.get(&id).and_then(|o| o.dynamic_sl_price);
        let pos = (updated, exits_done);
        let r = if exits.partial.is_some() {
            // Two steps: undo the partial close if the close after it fails.
            tx.atomic(|tx| apply(ctx, tx, pos, exits, tick, now, events))
        } else {
            apply(ctx, tx, pos, exits, tick, now, events)
        };
        match r {
            Ok(Applied::Closed(mut c)) => {
                book.remove(id);
                report.closed_count += 1;
                if keep_closed {
                    tx.read_references(&mut c)?;
                    report.closed.push(c.clone());
                }
                events.extend(Closed::of(&c).map(Event::Closed));
            }
            Ok(Applied::Open(p)) => {
                amend_stop(ctx, &p, old_stop, events);
                book.update(&p);
            }
            Ok(Applied::Sent(p, sent)) => {
                amend_stop(ctx, &p, old_stop, events);
                book.update(&p);
                sent.mark(book, id);
                report.exits_sent += 1;
                events.push(Event::Venue(sent.job));
            }
            Err(e @ OmsError::Storage(_)) => return Err(e),
            Err(e) => {
                // Nothing of this position was stored: nothing of it is told.
                events.truncate(mark);
                report.policy_errors += 1;
                log::error!("close_failed id={id} error=\"{e}\"");
            }
        }
    }
    Ok(next)
}

/// What a position became once a pass stored what its policy decided.
enum Applied {
    /// Still open, with its new levels, state or quantity.
    Open(Position),
    /// Closed.
    Closed(Position),
    /// Live: an exit was stored and goes to the venue after the batch.
    Sent(Position, Box<SentExit>),
}

/// Live: a stop the policy moved (trailing, break-even) is moved at the venue too.
fn amend_stop(ctx: &Ctx, p: &Position, old: Option<Decimal>, events: &mut Vec<Event>) {
    if ctx.executor.is_none() {
        return;
    }
    if let Some(stop) = p.dynamic_sl_price.filter(|s| Some(*s) != old) {
        events.push(Event::Venue(Job::AmendStop {
            position_id: p.id,
            symbol: p.symbol.clone(),
            side: p.side,
            stop,
        }));
    }
}

/// Store what the policy decided for one position: a partial close, then a close or
/// the updated levels and state.
fn apply(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (mut updated, mut exits_done): (Position, u32),
    Exits { partial, close }: Exits,
    tick: &Tick,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<Applied, OmsError> {
    let id = updated.id;
    if let Some((fraction, reason, at)) = partial {
        if let Some(sent) = partial_close(
            ctx,
            tx,
            (&mut updated, exits_done),
            fraction,
            (tick, at),
            reason,
            now,
        )? {
            // Live: the close, if any, is decided again once the partial exit fills.
            tx.update_open_position(&updated, None)?;
            return Ok(Applied::Sent(updated, sent));
        }
        exits_done += 1;
        events.push(Event::Log(format!(
            "position_partial_close id={id} fraction={fraction} qty_left={}",
            updated.qty
        )));
    }
    match close {
        Some((reason, at)) => {
            let before = updated.clone();
            match close_one(ctx, tx, (updated, exits_done), (tick, at), reason, now)? {
                Exit::Done(c) => Ok(Applied::Closed(c)),
                Exit::Sent(sent) => {
                    // What the policy changed this pass is kept while the exit works.
                    tx.update_open_position(&before, None)?;
                    Ok(Applied::Sent(before, sent))
                }
            }
        }
        None => {
            tx.update_open_position(&updated, None)?;
            Ok(Applied::Open(updated))
        }
    }
}
