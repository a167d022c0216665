//! Closing every open position at once (an operator's close-all, each step of a
//! flatten), each in its own savepoint; what cannot be closed is reported.

use super::close::{Exit, close_one, with_references};
use super::{Ctx, Market, working_on};
use crate::book::Book;
use crate::publish::{Closed, Event};
use loms_domain::{CloseReason, Position, Timestamp};
use loms_storage::Tx;

/// What closing every open position did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CloseAllReport {
    /// Positions closed, as stored.
    pub closed: Vec<Position>,
    /// Positions that could not be closed, and why.
    pub failed: Vec<CloseFailure>,
    /// Live: positions whose exit order is at the venue (sent now, or earlier and not
    /// settled yet); each closes when its exit fills.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<SentClose>,
}

/// A position whose exit order is at the venue (live).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SentClose {
    /// Position id.
    pub position_id: i64,
    /// Its symbol.
    pub symbol: String,
    /// The order and where it stands.
    pub detail: String,
}

/// A position that could not be closed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CloseFailure {
    /// Position id.
    pub position_id: i64,
    /// Its symbol.
    pub symbol: String,
    /// Why.
    pub error: String,
}

/// Close every open position at its symbol's price; those without one are reported.
pub(super) fn on_close_all(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    market: &Market,
    reason: CloseReason,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> CloseAllReport {
    let mut report = CloseAllReport::default();
    let ids: Vec<i64> = book.open.keys().copied().collect();
    for id in ids {
        let Some((pos, exits)) = book.open.get(&id).map(|o| (o.to_position(), o.exits)) else {
            continue;
        };
        let fail = |error: String| CloseFailure {
            position_id: id,
            symbol: pos.symbol.clone(),
            error,
        };
        let Some(tick) = market.get(&pos.symbol) else {
            report.failed.push(fail("no price for this symbol".into()));
            continue;
        };
        if let Some(o) = book.open.get(&id).filter(|o| o.working.is_some()) {
            report.sent.push(SentClose {
                position_id: id,
                symbol: pos.symbol.clone(),
                detail: working_on(o),
            });
            continue;
        }
        match tx.atomic(|tx| {
            close_one(ctx, tx, (pos.clone(), exits), (tick, None), reason, now).and_then(|exit| {
                match exit {
                    Exit::Done(c) => with_references(tx, c).map(Exit::Done),
                    sent => Ok(sent),
                }
            })
        }) {
            Ok(Exit::Done(c)) => {
                book.remove(id);
                events.extend(Closed::of(&c).map(Event::Closed));
                report.closed.push(c);
            }
            Ok(Exit::Sent(sent)) => {
                sent.mark(book, id);
                report.sent.push(SentClose {
                    position_id: id,
                    symbol: pos.symbol.clone(),
                    detail: format!(
                        "exit order {} sent; it closes the position when filled",
                        sent.client_oid
                    ),
                });
                events.push(Event::Venue(sent.job));
            }
            Err(e) => report.failed.push(fail(e.to_string())),
        }
    }
    report
}
