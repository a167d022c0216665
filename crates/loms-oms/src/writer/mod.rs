//! The single writer: one thread owns the write connection and the [`Book`], takes
//! commands from a queue, and handles every command that is waiting as one batch in
//! one transaction (group commit). A command refused for what it asks (bad input, risk
//! limit, trading mode) fails before it writes anything. A storage error fails only
//! its command when that command wrote nothing; once a command has written part of
//! its rows, or SQLite has rolled the transaction back by itself, the whole batch is
//! rolled back and every command of it answered with that error (no savepoint per
//! command or pass slice: they cost a copy of every page written). Each position of a
//! flatten, and a partial close followed by a close, keep their own savepoint. Replies are sent only after the
//! batch is durable, by the publisher ([`crate::publish`]), which flushes the WAL while
//! the writer goes on. Because commands are handled one after another, the
//! risk check and the insert are one atomic step however many requests race. A pass
//! over many positions runs in slices that take turns with the waiting commands.
//!
//! One file per responsibility: the batch loop and its commit ([`batch`]), opening
//! positions from signals and orders ([`open`]), closing them through the broker
//! ([`close`]), the auto-close pass and its slices ([`pass`]), and closing everything
//! at once ([`close_all`]). Every command is a [`Write`]; [`handle`] sends each to its
//! module, so a new kind of command is a new variant, a new arm and a new module.

mod adopt;
mod batch;
mod close;
mod close_all;
mod execute;
#[cfg(test)]
mod execute_tests;
mod open;
mod pass;
mod report;
#[cfg(test)]
mod tests;

pub use close_all::{CloseAllReport, CloseFailure, SentClose};
pub(crate) use pass::PassProgress;
pub use pass::PassReport;

use crate::OmsError;
use crate::audit::AuditLog;
use crate::book::Book;
use crate::entry::EntryQuote;
use crate::executor::Settled;
use crate::metrics::Metrics;
use crate::order::ManualOrder;
use crate::publish::{Closed, Event, Finish, FlushFailure, PendingAudit, Reply, finish};
use crate::trading::{STATE_KEY, TradingMode, TradingState};
use crate::venue_check::Found;
use close::{Exit, close_one, with_references};
use close_all::on_close_all;
use loms_broker::{ExecutionClient, ExecutionReport};
use loms_domain::SignalAnswer;
use loms_domain::{Clock, CloseReason, Decimal, Position, PriceQuote, Signal, Sizing, Timestamp};
use loms_exit_engine::{Bar, PolicyRegistry};
use loms_price_source::PriceSource;
use loms_risk::RiskLimits;
use loms_storage::{Store, Tx};
use open::{on_order, on_signal};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Key of the last time prices were watched, in the persistent operator state.
pub(crate) const LAST_CHECK_KEY: &str = "last_check_at";

/// Messages to the writer.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Work done inside the batch transaction.
    Write(Write),
    /// Distinct symbols with an open position (answered at once).
    Symbols { reply: oneshot::Sender<Vec<String>> },
    /// The positions to compare with the venue, and the symbols where an order works
    /// (answered at once).
    Watched {
        reply: oneshot::Sender<(Vec<crate::venue_check::Watched>, Vec<String>)>,
    },
    /// Finish the current batch and stop.
    Stop,
}

/// Work done inside the batch transaction.
#[derive(Debug)]
pub(crate) enum Write {
    Signal {
        signal: Box<Signal>,
        key: String,
        /// The body as received, on one line ([`crate::audit::body_text`]): stored, and
        /// in the audit line.
        payload_text: String,
        /// What an entry fills at, fetched before the command was queued.
        entry: EntryQuote,
        reply: Reply<Accepted>,
    },
    /// A venue's report on an order (live): applied once, idempotently.
    Execution {
        report: ExecutionReport,
        /// The report says only that the venue has no such order.
        not_found: bool,
        reply: Reply<Settled>,
    },
    /// An operator adopts a venue position LOMS does not hold (live).
    Adopt {
        holding: Box<loms_domain::VenueHolding>,
        by: String,
        reply: Reply<Position>,
    },
    /// An operator closes in LOMS a position the venue does not hold, at `price` (live).
    Forget {
        id: i64,
        price: Decimal,
        by: String,
        reply: Reply<Position>,
    },
    /// Set (`why`) or clear a doubt about the venue (live).
    Doubt {
        key: String,
        why: Option<String>,
        reply: Reply<()>,
    },
    /// What comparing positions with the venue found (live).
    VenueCheck { found: Found, reply: Reply<()> },
    Order {
        order: ManualOrder,
        /// Live: the market price it will fill at (`None`: paper, at its stated price).
        tick: Option<Box<Tick>>,
        reply: Reply<Position>,
    },
    Close {
        id: i64,
        tick: Box<Tick>,
        reason: CloseReason,
        reply: Reply<CloseOutcome>,
    },
    Pass {
        market: Market,
        /// Time of the prices when they are not live (bars replayed after downtime).
        at: Option<Timestamp>,
        reply: Reply<PassReport>,
        /// Where a pass cut into slices goes on (`None`: from the start).
        progress: Option<Box<PassProgress>>,
        /// Keep every closed position in the report (`false`: only count them; the
        /// auto-close loop reads no report, and a pass closing 100,000 positions would
        /// otherwise hold them all until its end).
        keep_closed: bool,
    },
    CloseAll {
        market: Market,
        reason: CloseReason,
        reply: Reply<CloseAllReport>,
        /// A step of a flatten: close only while the trading mode is `flatten` (a mode
        /// changed meanwhile closes nothing and answers [`OmsError::WrongMode`]).
        only_in_flatten: bool,
    },
    SetTrading {
        mode: TradingMode,
        set_by: String,
        reply: Reply<TradingState>,
    },
}

/// A signal's answer, and where a live entry's outcome will be told.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) answer: SignalAnswer,
    /// Told once the venue's first report on the entry is applied (live).
    pub(crate) settled: Option<oneshot::Receiver<Settled>>,
}

/// What a close request did.
#[derive(Debug)]
pub(crate) enum CloseOutcome {
    /// Closed (paper: at once).
    Closed(Box<Position>),
    /// The exit order was stored and is being sent (live); told when settled.
    Sent(oneshot::Receiver<Settled>),
    /// Not open (closed meanwhile).
    NotOpen,
}

/// A usable price of a symbol: the one PRICE_MODE picked, and the quote it came from
/// (the paper broker fills buys at its ask and sells at its bid).
#[derive(Debug, Clone)]
pub(crate) struct Tick {
    pub(crate) price: Decimal,
    pub(crate) quote: PriceQuote,
    /// The kline this price closes (replay, downtime gap).
    pub(crate) bar: Option<Bar>,
    /// When that kline began: it is judged only for the positions open by then (no
    /// price from before an entry may close it).
    pub(crate) bar_start: Option<Timestamp>,
}

/// Ticks by symbol.
pub(crate) type Market = HashMap<String, Tick>;

#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) clock: Arc<dyn Clock>,
    /// Executes orders; inside the writer only when immediate (paper).
    pub(crate) execution: Arc<dyn ExecutionClient>,
    /// The paper broker of the settings: what a live entry would have filled at in
    /// paper (its shadow price, [`loms_domain::Position::paper_entry_price`]).
    pub(crate) paper: loms_broker::PaperSim,
    /// Sends live orders after their batch is durable (`None`: paper, replay).
    pub(crate) executor: Option<crate::executor::Executor>,
    /// The book's doubts about the venue as last committed, for /health.
    pub(crate) doubts: Arc<Mutex<std::collections::BTreeMap<String, String>>>,
    /// The database's client order id tag ([`loms_domain::DB_TAG_KEY`]).
    pub(crate) oid_tag: String,
    pub(crate) prices: Arc<dyn PriceSource>,
    pub(crate) policies: PolicyRegistry,
    pub(crate) limits: RiskLimits,
    /// The circuit breakers' limits.
    pub(crate) breaker_limits: crate::breakers::BreakerLimits,
    pub(crate) sizing: Sizing,
    pub(crate) default_exit: String,
    pub(crate) min_age: chrono::Duration,
    pub(crate) oms_enabled: bool,
    /// The trading state as last committed, for readers outside the writer.
    pub(crate) trading: Arc<Mutex<TradingState>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) trades: Arc<crate::stats::TradeLog>,
    pub(crate) audit: Arc<AuditLog>,
    /// Set by the first failed flush of the WAL: every write is refused from then on.
    pub(crate) failure: Arc<FlushFailure>,
}

/// The writer thread's state.
#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) store: Store,
    pub(crate) book: Book,
    pub(crate) ctx: Ctx,
    /// Commands to finish in the next batch, after the ones waiting then (the rest of
    /// a pass cut into slices).
    later: Vec<Write>,
}

impl Writer {
    /// A writer on `store`, whose in-memory view is `book`.
    pub(crate) fn new(store: Store, book: Book, ctx: Ctx) -> Self {
        Self {
            store,
            book,
            ctx,
            later: Vec::new(),
        }
    }
}

/// Why no other order may be sent for `o` now: one is working on it at the venue.
pub(crate) fn working_on(o: &crate::book::OpenPosition) -> String {
    match &o.working {
        Some(w) => format!(
            "position {}: order {} is {} at the venue; it settles first",
            o.id, w.client_oid, w.status
        ),
        None => format!("position {}: no order working", o.id),
    }
}

/// Answer `w` with a storage error `e` without doing anything; a signal's audit line
/// (it was received, and refused) is returned.
fn refuse(w: Write, e: &str, now: Timestamp) -> Option<String> {
    fn err<T>(e: &str) -> Result<T, OmsError> {
        Err(OmsError::Storage(e.to_string()))
    }
    let mut line = None;
    let f = match w {
        Write::Signal {
            reply,
            payload_text,
            key,
            ..
        } => {
            let outcome = json!({"status": "error", "error": "storage_error", "detail": e});
            line = Some(AuditLog::record(now, &payload_text, Some(&key), &outcome));
            finish(reply, err(e))
        }
        Write::Order { reply, .. } => finish(reply, err(e)),
        Write::Execution { reply, .. } => finish(reply, err(e)),
        Write::VenueCheck { reply, .. } => finish(reply, err(e)),
        Write::Doubt { reply, .. } => finish(reply, err(e)),
        Write::Adopt { reply, .. } => finish(reply, err(e)),
        Write::Forget { reply, .. } => finish(reply, err(e)),
        Write::Close { reply, .. } => finish(reply, err(e)),
        Write::Pass { reply, .. } => finish(reply, err(e)),
        Write::CloseAll { reply, .. } => finish(reply, err(e)),
        Write::SetTrading { reply, .. } => finish(reply, err(e)),
    };
    f(None);
    line
}

/// What the commands of a batch leave for after its commit.
struct BatchOut<'a> {
    audits: &'a mut Vec<PendingAudit>,
    events: &'a mut Vec<Event>,
    /// Commands to go on with in the next batch.
    later: &'a mut Vec<Write>,
}

/// The storage error of a command's result, which must roll its batch back when the
/// command wrote part of its rows.
fn failed<T>(r: &Result<T, OmsError>) -> Option<String> {
    match r {
        Err(OmsError::Storage(e)) => Some(e.clone()),
        _ => None,
    }
}

/// Handle one command inside the batch transaction. Returns its finisher (none for a
/// pass that goes on in the next batch) and the storage error that must roll the whole
/// batch back, if one happened (the command may have written part of its rows).
fn handle(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    cmd: Write,
    now: Timestamp,
    out: &mut BatchOut<'_>,
) -> (Option<Finish>, Option<String>) {
    let events = &mut *out.events;
    match cmd {
        Write::Signal {
            signal,
            key,
            payload_text,
            entry,
            reply,
        } => {
            let r = on_signal(
                ctx,
                book,
                tx,
                (&signal, &entry),
                &key,
                &payload_text,
                now,
                events,
            );
            let outcome = match &r {
                Ok(Accepted { answer: a, .. }) => {
                    json!({"status": a.outcome(), "position_id": a.position_id,
                    "risk_scope": a.risk_scope, "risk_reason": a.risk_reason, "reason": a.reason,
                    "order_status": a.order_status})
                }
                Err(e) => json!({"status": "error", "error": e.code(), "detail": e.to_string()}),
            };
            out.audits.push(PendingAudit {
                payload: payload_text,
                key,
                outcome,
            });
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
        Write::Order { order, tick, reply } => {
            let r = on_order(ctx, book, tx, (&order, tick.as_deref()), now, events);
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
        Write::Close {
            id,
            tick,
            reason,
            reply,
        } => {
            let r = match book.open.get(&id) {
                None => Ok(CloseOutcome::NotOpen),
                Some(o) if o.working.is_some() => Err(OmsError::Busy(working_on(o))),
                Some(o) => close_one(
                    ctx,
                    tx,
                    (o.to_position(), o.exits),
                    (&tick, None),
                    reason,
                    now,
                )
                .and_then(|exit| match exit {
                    Exit::Done(c) => {
                        let c = with_references(tx, c)?;
                        book.remove(id);
                        events.extend(Closed::of(&c).map(Event::Closed));
                        Ok(CloseOutcome::Closed(Box::new(c)))
                    }
                    Exit::Sent(mut sent) => {
                        sent.mark(book, id);
                        let (tell, told) = oneshot::channel();
                        if let crate::executor::Job::Submit { settled, .. } = &mut sent.job {
                            *settled = Some(tell);
                        }
                        events.push(Event::Venue(sent.job));
                        Ok(CloseOutcome::Sent(told))
                    }
                }),
            };
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
        Write::Execution {
            report,
            not_found,
            reply,
        } => {
            let r = report::on_report(ctx, book, tx, report, not_found, now, events);
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
        Write::Adopt { holding, by, reply } => {
            let r = adopt::on_adopt(ctx, book, tx, (&holding, &by), now, events);
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
        Write::Forget {
            id,
            price,
            by,
            reply,
        } => {
            let r = adopt::on_forget(ctx, book, tx, (id, price, &by), now, events);
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
        Write::Doubt { key, why, reply } => {
            match why {
                Some(why) => book.doubts.insert(key, why),
                None => book.doubts.remove(&key),
            };
            (Some(finish(reply, Ok(()))), None)
        }
        Write::VenueCheck { found, reply } => {
            let r = report::on_venue_check(ctx, book, tx, found, now, events);
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
        Write::Pass {
            market,
            at,
            reply,
            progress,
            keep_closed,
        } => pass::step(
            ctx,
            book,
            tx,
            (market, at, progress, keep_closed),
            reply,
            now,
            out,
        ),
        Write::CloseAll {
            market,
            reason,
            reply,
            only_in_flatten,
        } => {
            let r = if only_in_flatten && book.trading.mode != TradingMode::Flatten {
                Err(OmsError::WrongMode(format!(
                    "trading mode is {}, no longer flatten: nothing closed",
                    book.trading.mode
                )))
            } else {
                Ok(on_close_all(ctx, book, tx, &market, reason, now, events))
            };
            (Some(finish(reply, r)), None)
        }
        Write::SetTrading {
            mode,
            set_by,
            reply,
        } => {
            let state = TradingState {
                mode,
                since: now,
                set_by,
            };
            let cooling = book
                .breakers
                .cooldown_until(&ctx.breaker_limits)
                .filter(|t| *t > now)
                .map(|t| {
                    format!(
                        "the MAX_CONSECUTIVE_LOSSES breaker keeps entries off until {} (LOSS_COOLDOWN_MIN)",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )
                });
            let blocked = book
                .opening_blocked()
                .or(cooling.filter(|_| mode.signals_may_open()))
                .filter(|_| mode.orders_may_open());
            let r = match blocked {
                Some(why) => Err(OmsError::WrongMode(why)),
                None => Ok(()),
            }
            // Switching entries back on re-arms the breakers; a stricter mode does not
            // (it would reset a streak's cooldown).
            .and_then(|()| {
                if mode.signals_may_open() {
                    book.breakers.rearm(tx, now)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| {
                serde_json::to_string(&state).map_err(|e| OmsError::Storage(e.to_string()))
            })
            .and_then(|json| Ok(tx.set_state(STATE_KEY, &json, now)?))
            .map(|()| {
                events.push(Event::Log(format!(
                    "trading_mode_set mode={} by={}",
                    state.mode, state.set_by
                )));
                book.trading = state.clone();
                state
            });
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
    }
}
