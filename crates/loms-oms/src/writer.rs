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

use crate::OmsError;
use crate::answer::SignalAnswer;
use crate::audit::AuditLog;
use crate::book::{Book, OpenPosition};
use crate::entry::EntryQuote;
use crate::metrics::Metrics;
use crate::order::ManualOrder;
use crate::publish::{
    Closed, Committed, Event, Finish, FlushFailure, PendingAudit, Publisher, Reply, finish,
};
use crate::trading::{STATE_KEY, TradingMode, TradingState};
use loms_broker::{BrokerAdapter, OrderRequest};
use loms_domain::{
    Clock, CloseReason, ClosedPiece, Decimal, Position, PriceQuote, Signal, Sizing, Timestamp, pnl,
    size_qty, tp_sl_prices,
};
use loms_exit_engine::{Bar, ExitAction, ExitContext, PolicyRegistry, favorable_move_pct};
use loms_price_source::PriceSource;
use loms_risk::{Intent, RiskLimits, check, check_signal_age};
use loms_storage::{FillRecord, NewOrder, SignalRecord, Store, Tx, WalSync};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Key of the last time prices were watched, in the persistent operator state.
pub(crate) const LAST_CHECK_KEY: &str = "last_check_at";

/// Most commands handled in one transaction.
const MAX_BATCH: usize = 512;

/// Lone one-command batches in a row after which the writer may copy the last WAL
/// frames itself to start the WAL over ([`Writer::run`]).
const CALM_BATCHES: u32 = 32;

/// Messages to the writer.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Work done inside the batch transaction.
    Write(Write),
    /// Distinct symbols with an open position (answered at once).
    Symbols { reply: oneshot::Sender<Vec<String>> },
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
        reply: Reply<SignalAnswer>,
    },
    Order {
        order: ManualOrder,
        reply: Reply<Position>,
    },
    Close {
        id: i64,
        tick: Box<Tick>,
        reason: CloseReason,
        reply: Reply<Option<Position>>,
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

/// What closing every open position did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CloseAllReport {
    /// Positions closed, as stored.
    pub closed: Vec<Position>,
    /// Positions that could not be closed, and why.
    pub failed: Vec<CloseFailure>,
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

/// How far a pass has come: it runs in slices of at most [`PASS_SLICE_POSITIONS`]
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
}

/// Everything the writer needs besides its connection and book. Immutable.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) broker: Arc<dyn BrokerAdapter>,
    pub(crate) prices: Arc<dyn PriceSource>,
    pub(crate) policies: PolicyRegistry,
    pub(crate) limits: RiskLimits,
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

    /// Serve commands until [`Cmd::Stop`] or until every sender is gone. Committed
    /// batches go to a publisher thread that syncs `wal` (when given) before anyone is
    /// answered; it is joined before this returns, so every answer has gone out.
    ///
    /// When `restart_wal` is set (by the checkpoint thread: the WAL has grown big) and
    /// requests come one at a time (the last [`CALM_BATCHES`] batches each held one
    /// command, answered before the next came), the writer copies the frames added since
    /// the last checkpoint into the database itself, so that SQLite starts the WAL file
    /// over at its next transaction: a checkpoint on another thread never sees a writer
    /// that keeps writing leave every frame copied. Rewriting a WAL file flushes faster
    /// than growing one (the inode's size is not written with the data): intake at
    /// concurrency 1 answers in 0.36 instead of 0.45 ms. Not under concurrent load: the
    /// copy then takes 7–30 ms (a database `fsync` queued behind the WAL flushes) with
    /// every caller waiting. A stream of concurrent writes grows the WAL until it calms
    /// down; the file is then cut back a few MiB between two batches
    /// ([`Store::trim_wal`]) rather than whole in the commit that starts it over.
    pub(crate) fn run(
        mut self,
        rx: Receiver<Cmd>,
        wal: Option<WalSync>,
        restart_wal: Option<Arc<AtomicBool>>,
    ) {
        let wal = wal.map(Arc::new);
        // Batches handed to the publisher thread and not finished yet.
        let in_flight = Arc::new(AtomicUsize::new(0));
        let here = self.publisher(wal.clone(), None);
        let (to_publisher, batches) = std::sync::mpsc::channel::<Committed>();
        let publisher = self.publisher(wal, Some(in_flight.clone()));
        let thread = match std::thread::Builder::new()
            .name("loms-publish".into())
            .spawn(move || publisher.run(batches))
        {
            Ok(h) => Some(h),
            Err(e) => {
                log::error!("publisher_thread_failed error={e}; answering from the writer");
                None
            }
        };
        let mut stopping = false;
        // With a pass in slices, batches alternate: what waits, then one slice.
        let mut slice_turn = false;
        // A command taken while checking whether anything waits.
        let mut held = None;
        // Lone one-command batches in a row: requests come one at a time.
        let mut calm = 0u32;
        loop {
            let mut batch = Vec::new();
            if let Some(c) = held.take() {
                batch.push(c);
            } else if self.later.is_empty() {
                if stopping {
                    break;
                }
                match rx.recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            if !slice_turn || self.later.is_empty() {
                while !stopping && batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(c) => batch.push(c),
                        Err(_) => break,
                    }
                }
            }
            if batch.is_empty() || slice_turn {
                batch.extend(self.later.drain(..).map(Cmd::Write));
                slice_turn = false;
            } else {
                slice_turn = !self.later.is_empty();
            }
            stopping |= batch.iter().any(|c| matches!(c, Cmd::Stop));
            let commands = batch.len();
            let Some(done) = self.commit_batch(batch) else {
                continue;
            };
            // A lone request (nothing waits, nothing is being flushed) is flushed and
            // answered here: one thread hop fewer. Otherwise the publisher flushes
            // while the writer goes on with the next batch.
            let lone = thread.is_none()
                || (in_flight.load(Ordering::Acquire) == 0
                    && self.later.is_empty()
                    && (stopping
                        || match rx.try_recv() {
                            Ok(c) => {
                                held = Some(c);
                                false
                            }
                            Err(_) => true,
                        }));
            if lone {
                here.publish(vec![done]);
            } else {
                in_flight.fetch_add(1, Ordering::AcqRel);
                if let Err(e) = to_publisher.send(done) {
                    // Only when the publisher thread panicked.
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    here.publish(vec![e.0]);
                }
            }
            calm = if lone && commands == 1 {
                calm.saturating_add(1)
            } else {
                0
            };
            if calm >= CALM_BATCHES
                && let Some(r) = &restart_wal
                && r.swap(false, Ordering::AcqRel)
                && let Err(e) = self.store.checkpoint()
            {
                log::warn!("checkpoint_failed error={e}");
            }
            // After a long burst, the WAL started over is cut back a step at a time.
            if let Err(e) = self.store.trim_wal() {
                log::warn!("wal_trim_failed error={e}");
            }
        }
        drop(to_publisher);
        if let Some(h) = thread {
            let _ = h.join();
        }
        log::info!("Writer stopped; database closed");
    }

    /// A publisher of this writer's batches.
    fn publisher(
        &self,
        wal: Option<Arc<WalSync>>,
        in_flight: Option<Arc<AtomicUsize>>,
    ) -> Publisher {
        Publisher {
            metrics: self.ctx.metrics.clone(),
            trades: self.ctx.trades.clone(),
            audit: self.ctx.audit.clone(),
            wal,
            failure: self.ctx.failure.clone(),
            in_flight,
        }
    }

    /// Handle `batch` and publish it on this thread (replay, and commits that are
    /// durable by themselves).
    pub(crate) fn process(&mut self, mut batch: Vec<Cmd>) {
        loop {
            if let Some(done) = self.commit_batch(batch) {
                self.publisher(None, None).publish(vec![done]);
            }
            if self.later.is_empty() {
                break;
            }
            batch = self.later.drain(..).map(Cmd::Write).collect();
        }
    }

    /// Handle the commands of `batch` in one transaction and commit it; `None` when
    /// there was nothing to write.
    fn commit_batch(&mut self, batch: Vec<Cmd>) -> Option<Committed> {
        let now = self.ctx.clock.now();
        let mut work = Vec::with_capacity(batch.len());
        for cmd in batch {
            match cmd {
                Cmd::Symbols { reply } => {
                    let _ = reply.send(self.book.symbols());
                }
                Cmd::Stop => {}
                Cmd::Write(w) => work.push(w),
            }
        }
        if work.is_empty() {
            return None;
        }
        let seq = self.ctx.failure.last_write.next_batch();
        if let Some(e) = self.ctx.failure.get() {
            let lines: Vec<String> = work
                .into_iter()
                .filter_map(|w| refuse(w, &e, now))
                .collect();
            self.ctx.audit.append(&lines);
            return None;
        }
        let mut finishers: Vec<Finish> = Vec::with_capacity(work.len());
        let mut audits: Vec<PendingAudit> = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        // A storage error inside a command: the transaction is rolled back whole.
        let mut abort: Option<String> = None;
        // Any storage error: the book may no longer match the database.
        let mut reload = false;
        // Passes that go on after this batch are pushed behind the ones already there.
        let later_before = self.later.len();
        let tx = self.store.transaction();
        let mut work = work.into_iter();
        for cmd in work.by_ref() {
            let changes = tx.changes();
            let (f, storage_error) = handle(
                &self.ctx,
                &mut self.book,
                &tx,
                cmd,
                now,
                &mut BatchOut {
                    audits: &mut audits,
                    events: &mut events,
                    later: &mut self.later,
                },
            );
            finishers.extend(f);
            reload |= storage_error.is_some();
            if let Some(e) = &storage_error {
                self.ctx.failure.last_write.failed(seq, now, e);
            }
            // A command that failed after writing part of its rows, or a transaction
            // SQLite rolled back by itself: the whole batch goes. A command that failed
            // before writing anything (an unreadable stored answer) fails alone.
            if storage_error.is_some() && (tx.changes() != changes || tx.is_rolled_back()) {
                abort = storage_error;
                break;
            }
        }
        let wrote = tx.has_writes();
        let error = match abort {
            Some(e) => {
                drop(tx); // rolls back
                let e = format!("{e}; nothing of this batch was stored");
                let lines: Vec<String> = work.filter_map(|w| refuse(w, &e, now)).collect();
                self.ctx.audit.append(&lines);
                Some(e)
            }
            None => tx.commit().err().map(|e| e.to_string()),
        };
        if error.is_some() || reload {
            // The database holds the truth; rebuild the in-memory view from it (a close
            // may have found its position already closed in the database).
            if let Err(e) = self.book.reload(&self.store, now, self.ctx.oms_enabled) {
                log::error!("book_reload_failed error={e}");
            }
        }
        if let Some(e) = &error {
            log::error!("batch_failed error={e}");
            self.ctx.failure.last_write.failed(seq, now, e);
            // A pass with a slice in this batch must not go on and report closes that
            // were just rolled back: it fails with its batch (the next pass starts
            // afresh). A pass waiting for its turn had nothing here and goes on.
            for w in self.later.drain(later_before..) {
                if let Write::Pass { reply, .. } = w {
                    finishers.push(finish(reply, Err(OmsError::Storage(e.clone()))));
                }
            }
        }
        self.ctx
            .metrics
            .open_positions
            .store(self.book.open.len() as u64, Ordering::Relaxed);
        {
            let mut shared = self.ctx.trading.lock().unwrap_or_else(|e| e.into_inner());
            if *shared != self.book.trading {
                *shared = self.book.trading.clone();
            }
        }
        Some(Committed {
            seq,
            now,
            error,
            wrote,
            events,
            audits,
            finishers,
        })
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
    fn failed<T>(r: &Result<T, OmsError>) -> Option<String> {
        match r {
            Err(OmsError::Storage(e)) => Some(e.clone()),
            _ => None,
        }
    }
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
                Ok(a) => json!({"status": a.outcome(), "position_id": a.position_id,
                    "risk_scope": a.risk_scope, "risk_reason": a.risk_reason, "reason": a.reason}),
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
        Write::Order { order, reply } => {
            let r = on_order(ctx, book, tx, &order, now, events);
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
                None => Ok(None),
                Some(o) => close_one(ctx, tx, o.to_position(), (&tick, None), reason, now)
                    .and_then(|c| with_references(tx, c))
                    .map(Some),
            };
            if let Ok(Some(c)) = &r {
                book.remove(id);
                events.extend(Closed::of(c).map(Event::Closed));
            }
            let bad = failed(&r);
            (Some(finish(reply, r)), bad)
        }
        Write::Pass {
            market,
            at,
            reply,
            progress,
            keep_closed,
        } => {
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
            let blocked = book.opening_blocked().filter(|_| mode.orders_may_open());
            let r = match blocked {
                Some(why) => Err(OmsError::WrongMode(why)),
                None => Ok(()),
            }
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

#[allow(clippy::too_many_arguments)]
fn on_signal(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    (s, entry): (&Signal, &EntryQuote),
    key: &str,
    payload: &str,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<SignalAnswer, OmsError> {
    if let Some(prev) = book.seen.response(tx, key, now)? {
        let mut a: SignalAnswer = serde_json::from_str(&prev)
            .map_err(|e| OmsError::Storage(format!("stored answer of {key} unreadable: {e}")))?;
        a.duplicate = true;
        events.push(Event::Log(format!(
            "signal_duplicate key={key} symbol={}",
            s.symbol
        )));
        events.push(Event::Signal("duplicate"));
        return Ok(a);
    }
    let enabled = book.trading.mode.signals_may_open();
    let mut a = SignalAnswer::base(enabled, key);
    if !enabled {
        a.reason = Some(book.trading.refusal());
        events.push(Event::Log(format!(
            "signal_ignored reason=trading_mode_{} key={key} symbol={}",
            book.trading.mode, s.symbol
        )));
    } else {
        let qty = match s.qty {
            Some(q) => q,
            None => size_qty(ctx.sizing, s.price)?,
        };
        let snap = book.snapshot(&s.symbol, now);
        let intent = Intent {
            symbol: &s.symbol,
            price: s.price,
            qty,
        };
        let verdict = check_signal_age(&ctx.limits, s.timestamp, now)
            .and_then(|()| check(&ctx.limits, &snap, &intent));
        match verdict {
            Err(b) => {
                events.push(Event::Log(format!(
                    "risk_block scope={} reason=\"{}\" symbol={} key={key}",
                    b.scope, b.reason, s.symbol
                )));
                events.push(Event::RiskBlock(b.scope.as_str()));
                a.risk_scope = Some(b.scope.as_str().into());
                a.risk_reason = Some(b.reason);
            }
            Ok(()) => {
                // Nothing is written before this: no quote, nothing stored (503).
                let tick = entry.tick(&s.symbol)?;
                let mut p = Position::open(s.symbol.clone(), s.side, qty, s.price, now);
                p.exchange = s.exchange.clone();
                p.exit_strategy = s
                    .exit_strategy
                    .clone()
                    .unwrap_or_else(|| ctx.default_exit.clone());
                p.signal_id = Some(key.to_string());
                p.strategy = Some(s.strategy.clone());
                p.timeframe_min = Some(s.timeframe_min);
                p.signal_price = Some(s.price);
                p.signal_time = Some(s.timestamp);
                let levels = Levels::Pct(s.tp_pct, s.sl_pct);
                let p = open_position(ctx, tx, (p, tick), levels, "market", now)?;
                a.risk_ok = true;
                a.order_id = p.order_id;
                a.position_id = Some(p.id);
                a.entry_price = Some(p.entry_price);
                a.qty = Some(p.qty);
                a.tp_price = p.tp_price;
                a.sl_price = p.sl_price;
                a.exit_strategy = Some(p.exit_strategy.clone());
                events.push(Event::Log(opened_event(&p)));
                book.count_signal_open(&p.symbol, now);
                book.add_open(p);
            }
        }
    }
    let response = serde_json::to_string(&a).map_err(|e| OmsError::Storage(e.to_string()))?;
    let row = tx.insert_signal(&SignalRecord {
        idem_key: key,
        received_at: now,
        symbol: &s.symbol,
        outcome: a.outcome(),
        position_id: a.position_id,
        payload,
        response: &response,
    })?;
    book.seen.insert(key, row);
    events.push(Event::Signal(a.outcome()));
    Ok(a)
}

fn on_order(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    o: &ManualOrder,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<Position, OmsError> {
    if !book.trading.mode.orders_may_open() {
        return Err(OmsError::WrongMode(format!(
            "trading mode is {}: no position may be opened",
            book.trading.mode
        )));
    }
    let snap = book.snapshot(&o.symbol, now);
    // Rate and staleness limits are about signals; position limits hold for everyone.
    let limits = RiskLimits {
        max_signals_per_day: None,
        max_signals_per_symbol_per_day: None,
        max_signal_age_sec: None,
        ..ctx.limits.clone()
    };
    let intent = Intent {
        symbol: &o.symbol,
        price: o.entry_price,
        qty: o.qty,
    };
    check(&limits, &snap, &intent).map_err(OmsError::RiskBlocked)?;
    let mut p = Position::open(o.symbol.clone(), o.side, o.qty, o.entry_price, now);
    p.exit_strategy = ctx.default_exit.clone();
    // An operator's order states its price: no quote.
    let p = open_position(
        ctx,
        tx,
        (p, None),
        Levels::Abs(o.tp_price, o.sl_price),
        &o.order_type,
        now,
    )?;
    events.push(Event::Log(opened_event(&p)));
    book.add_open(p.clone());
    Ok(p)
}

enum Levels {
    Pct(Decimal, Decimal),
    Abs(Option<Decimal>, Option<Decimal>),
}

/// Fill through the broker — at the tick's quote when there is one (the paper broker
/// buys at its ask and sells at its bid), else at the position's price — and store the
/// order, the position and the entry fill.
fn open_position(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (mut p, tick): (Position, Option<&Tick>),
    levels: Levels,
    order_type: &str,
    now: Timestamp,
) -> Result<Position, OmsError> {
    let fill = ctx.broker.open(&OrderRequest {
        symbol: &p.symbol,
        side: p.side,
        qty: p.qty,
        price: tick.map_or(p.entry_price, |t| t.price),
        quote: tick.map(|t| &t.quote),
        ts: now,
    })?;
    p.entry_price = fill.price;
    p.qty = fill.qty;
    p.opened_qty = fill.qty;
    p.created_at = fill.ts;
    p.fees = fill.fee;
    p.external_order_id = fill.external_order_id.clone();
    (p.tp_price, p.sl_price) = match levels {
        Levels::Pct(tp, sl) => {
            let (t, s) = tp_sl_prices(p.side, fill.price, tp, sl)?;
            (Some(t), Some(s))
        }
        Levels::Abs(t, s) => (t, s),
    };
    let order_id = tx.insert_order(&NewOrder {
        symbol: &p.symbol,
        side: p.side.entry_order_side(),
        qty: p.qty,
        order_type,
        status: "filled",
        price: fill.price,
        created_at: fill.ts,
        signal_id: p.signal_id.as_deref(),
    })?;
    p.order_id = Some(order_id);
    p.id = tx.insert_position(&p)?;
    record_fill(tx, &p, "entry", &fill, None)?;
    ctx.prices.observe(&p.symbol, p.entry_price);
    Ok(p)
}

fn record_fill(
    tx: &Tx<'_>,
    p: &Position,
    kind: &str,
    fill: &loms_broker::Fill,
    reason: Option<CloseReason>,
) -> Result<(), OmsError> {
    let side = match kind {
        "entry" => p.side.entry_order_side(),
        _ => p.side.opposite().entry_order_side(),
    };
    tx.insert_fill(&FillRecord {
        position_id: p.id,
        kind,
        side,
        qty: fill.qty,
        price: fill.price,
        fee: fill.fee,
        ts: fill.ts,
        reason,
    })?;
    Ok(())
}

/// Fill an exit: at the level a policy says was touched inside a bar (`at`), else at
/// the market (the tick's price and quote).
fn close_fill(
    ctx: &Ctx,
    pos: &Position,
    qty: Decimal,
    tick: &Tick,
    at: Option<Decimal>,
    now: Timestamp,
) -> Result<loms_broker::Fill, OmsError> {
    Ok(ctx.broker.close(&OrderRequest {
        symbol: &pos.symbol,
        side: pos.side,
        qty,
        price: at.unwrap_or(tick.price),
        quote: if at.is_some() {
            None
        } else {
            Some(&tick.quote)
        },
        ts: now,
    })?)
}

/// Close the whole (remaining) position through the broker and store the result.
/// Its PnL is the realised part of earlier partial closes plus this last part, net of
/// every fee paid.
fn close_one(
    ctx: &Ctx,
    tx: &Tx<'_>,
    mut c: Position,
    (tick, at): (&Tick, Option<Decimal>),
    reason: CloseReason,
    now: Timestamp,
) -> Result<Position, OmsError> {
    let fill = close_fill(ctx, &c, c.qty, tick, at, now)?;
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
    record_fill(tx, &c, "exit", &fill, Some(reason))?;
    Ok(c)
}

/// `c` completed with the references only its row holds, for an answer that shows
/// the whole position.
fn with_references(tx: &Tx<'_>, mut c: Position) -> Result<Position, OmsError> {
    tx.read_references(&mut c)?;
    Ok(c)
}

/// Close `fraction` of a position; the rest stays open with a smaller quantity.
fn partial_close(
    ctx: &Ctx,
    tx: &Tx<'_>,
    pos: &mut Position,
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
    let fill = close_fill(ctx, pos, qty, tick, at, now)?;
    pos.realized_pnl += pnl(pos.side, pos.entry_price, fill.price, fill.qty)?;
    pos.fees += fill.fee;
    pos.qty -= fill.qty;
    tx.update_open_position(pos, Some(&closed_piece(&fill, reason)))?;
    record_fill(tx, pos, "partial", &fill, Some(reason))
}

/// The piece of a position an exit fill closed, as its row lists it.
fn closed_piece(fill: &loms_broker::Fill, reason: CloseReason) -> ClosedPiece {
    ClosedPiece {
        qty: fill.qty,
        price: fill.price,
        fee: fill.fee,
        reason,
        closed_at: fill.ts,
    }
}

/// What the policy of one position decided, applied to a copy of it.
struct Decided {
    updated: Position,
    exits: Exits,
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
    for (looked, p) in book.open.range(from..).map(|(_, p)| p).enumerate() {
        if looked == PASS_SLICE_POSITIONS || work.len() == PASS_SLICE_WRITES {
            next = Some(p.id);
            break;
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
    for (Decided { updated, exits }, tick) in work {
        let id = updated.id;
        let mark = events.len();
        let r = if exits.partial.is_some() {
            // Two steps: undo the partial close if the close after it fails.
            tx.atomic(|tx| apply(ctx, tx, updated, exits, tick, now, events))
        } else {
            apply(ctx, tx, updated, exits, tick, now, events)
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
            Ok(Applied::Open(p)) => book.update(&p),
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
}

/// Store what the policy decided for one position: a partial close, then a close or
/// the updated levels and state.
fn apply(
    ctx: &Ctx,
    tx: &Tx<'_>,
    mut updated: Position,
    Exits { partial, close }: Exits,
    tick: &Tick,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<Applied, OmsError> {
    let id = updated.id;
    if let Some((fraction, reason, at)) = partial {
        partial_close(ctx, tx, &mut updated, fraction, (tick, at), reason, now)?;
        events.push(Event::Log(format!(
            "position_partial_close id={id} fraction={fraction} qty_left={}",
            updated.qty
        )));
    }
    match close {
        Some((reason, at)) => {
            close_one(ctx, tx, updated, (tick, at), reason, now).map(Applied::Closed)
        }
        None => {
            tx.update_open_position(&updated, None)?;
            Ok(Applied::Open(updated))
        }
    }
}

/// Close every open position at its symbol's price; those without one are reported.
fn on_close_all(
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
        let Some(pos) = book.open.get(&id).map(|o| o.to_position()) else {
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
        match tx.atomic(|tx| {
            close_one(ctx, tx, pos.clone(), (tick, None), reason, now)
                .and_then(|c| with_references(tx, c))
        }) {
            Ok(c) => {
                book.remove(id);
                events.extend(Closed::of(&c).map(Event::Closed));
                report.closed.push(c);
            }
            Err(e) => report.failed.push(fail(e.to_string())),
        }
    }
    report
}

fn opened_event(p: &Position) -> String {
    format!(
        "position_opened id={} symbol={} side={} qty={} entry={} tp={} sl={} exit={} key={}",
        p.id,
        p.symbol,
        p.side,
        p.qty,
        p.entry_price,
        p.tp_price.map_or("-".into(), |d| d.to_string()),
        p.sl_price.map_or("-".into(), |d| d.to_string()),
        p.exit_strategy,
        p.signal_id.as_deref().unwrap_or("-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use loms_domain::{ManualClock, Side};

    fn writer() -> Writer {
        writer_on(Store::open_in_memory().unwrap())
    }

    fn writer_on(store: Store) -> Writer {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let book = Book::load(&store, clock.now(), true, chrono::Duration::days(7)).unwrap();
        let ctx = crate::replay::offline_ctx(
            &crate::Settings::for_tests(std::path::Path::new("/nonexistent")),
            clock,
            &book,
        );
        Writer::new(store, book, ctx)
    }

    /// An order command for `symbol`, and where its answer arrives.
    fn order_cmd(symbol: &str) -> (Cmd, oneshot::Receiver<Result<Position, OmsError>>) {
        let (reply, rx) = oneshot::channel();
        let order = ManualOrder {
            symbol: symbol.into(),
            side: Side::Long,
            qty: Decimal::ONE,
            entry_price: Decimal::ONE_HUNDRED,
            tp_price: None,
            sl_price: None,
            order_type: "market".into(),
        };
        (Cmd::Write(Write::Order { order, reply }), rx)
    }

    fn order(w: &mut Writer) -> Result<Position, OmsError> {
        let (cmd, mut rx) = order_cmd("BTCUSDT");
        w.process(vec![cmd]);
        rx.try_recv().expect("answered")
    }

    /// A writer on a file where inserting a `table` row for symbol FAILUSDT fails, as a
    /// failing disk would; the directory and the file's path come along.
    fn writer_failing_on(table: &str) -> (tempfile::TempDir, std::path::PathBuf, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loms.db");
        let w = writer_on(Store::open(&path).unwrap());
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(&format!(
                "CREATE TRIGGER fail BEFORE INSERT ON {table} WHEN NEW.symbol = 'FAILUSDT'
                 BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;"
            ))
            .unwrap();
        (dir, path, w)
    }

    #[test]
    fn a_command_that_fails_before_writing_anything_fails_alone() {
        // The first write of the order fails: nothing of it was stored.
        let (_dir, _, mut w) = writer_failing_on("orders");
        let cmds = ["BTCUSDT", "FAILUSDT", "ETHUSDT"].map(order_cmd);
        let (cmds, mut answers): (Vec<_>, Vec<_>) = cmds.into_iter().unzip();
        w.process(cmds);
        let answers: Vec<_> = answers
            .iter_mut()
            .map(|rx| rx.try_recv().expect("answered"))
            .collect();
        assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
        assert!(matches!(&answers[1], Err(OmsError::Storage(m)) if m.contains("disk trouble")));
        assert_eq!(w.store.count_open(None).unwrap(), 2);
        assert_eq!(w.book.open.len(), 2);
    }

    #[test]
    fn a_storage_error_inside_a_command_rolls_the_whole_batch_back() {
        // The disk "fails" on the position row of one order: after its order row was
        // written, so only rolling back keeps a half-written order out of the database.
        let (_dir, path, mut w) = writer_failing_on("positions");
        let cmds = ["BTCUSDT", "FAILUSDT", "ETHUSDT", "SOLUSDT"].map(order_cmd);
        let (cmds, mut answers): (Vec<_>, Vec<_>) = cmds.into_iter().unzip();
        w.process(cmds);
        for (i, rx) in answers.iter_mut().enumerate() {
            let err = rx.try_recv().expect("answered").unwrap_err();
            assert!(
                matches!(&err, OmsError::Storage(m) if m.contains("disk trouble")),
                "order {i}: {err}"
            );
        }
        assert_eq!(w.store.count_open(None).unwrap(), 0, "no position stored");
        assert!(w.book.open.is_empty(), "the book follows the database");
        let orders: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
            .unwrap();
        assert_eq!(orders, 0, "no order row without its position");
        // The next batch is not affected.
        let (cmd, mut rx) = order_cmd("BTCUSDT");
        w.process(vec![cmd]);
        assert_eq!(rx.try_recv().unwrap().unwrap().symbol, "BTCUSDT");
        assert_eq!(w.book.open.len(), 1);
    }

    /// A signal command for BTCUSDT under idempotency key `key`.
    fn signal_cmd(key: &str) -> (Cmd, oneshot::Receiver<Result<SignalAnswer, OmsError>>) {
        let (reply, rx) = oneshot::channel();
        let signal = Signal {
            symbol: "BTCUSDT".into(),
            side: Side::Long,
            price: Decimal::ONE_HUNDRED,
            timestamp: chrono::Utc::now(),
            exchange: "bitget".into(),
            timeframe_min: 5,
            strategy: "bounce_ema10".into(),
            tp_pct: Decimal::ONE,
            sl_pct: Decimal::ONE,
            signal_id: Some(key.into()),
            qty: Some(Decimal::ONE),
            exit_strategy: None,
        };
        let w = Write::Signal {
            signal: Box::new(signal),
            key: key.into(),
            payload_text: "{}".into(),
            entry: EntryQuote::SignalPrice,
            reply,
        };
        (Cmd::Write(w), rx)
    }

    #[test]
    fn a_signal_of_a_rolled_back_batch_is_new_when_it_comes_again() {
        let (_dir, _, mut w) = writer_failing_on("positions");
        let (signal, mut first) = signal_cmd("k1");
        let (fail, _) = order_cmd("FAILUSDT");
        w.process(vec![signal, fail]);
        assert!(
            first.try_recv().unwrap().is_err(),
            "rolled back with its batch"
        );
        let (signal, mut again) = signal_cmd("k1");
        w.process(vec![signal]);
        let a = again.try_recv().unwrap().unwrap();
        assert!(a.risk_ok && !a.duplicate, "{a:?}");
        let (signal, mut third) = signal_cmd("k1");
        w.process(vec![signal]);
        assert!(third.try_recv().unwrap().unwrap().duplicate);
    }

    /// Frames in the WAL of a file database after `orders` orders sent one at a time
    /// to a running writer whose checkpoint thread has (`asked`) or has not asked it to
    /// start the WAL over.
    fn wal_frames_after(orders: usize, asked: bool) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loms.db");
        let store = Store::open(&path).unwrap();
        store.disable_auto_checkpoint().unwrap();
        let wal = store.defer_wal_sync().unwrap();
        let w = writer_on(store);
        let restart = Arc::new(AtomicBool::new(asked));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = restart.clone();
        let thread = std::thread::spawn(move || w.run(rx, Some(wal), Some(flag)));
        for _ in 0..orders {
            let (cmd, answer) = order_cmd("BTCUSDT");
            tx.send(cmd).unwrap();
            answer.blocking_recv().unwrap().unwrap();
        }
        assert!(!restart.load(Ordering::Acquire), "the writer did it");
        let frames = Store::open(&path).unwrap().checkpoint().unwrap().wal_frames;
        tx.send(Cmd::Stop).unwrap();
        thread.join().unwrap();
        frames
    }

    #[test]
    fn a_calm_writer_asked_to_start_the_wal_over_does() {
        let orders = CALM_BATCHES as usize + 4;
        let grown = wal_frames_after(orders, false);
        let restarted = wal_frames_after(orders, true);
        // Started over after CALM_BATCHES orders: only the last few are in the WAL.
        assert!(
            restarted * 4 < grown,
            "restarted {restarted}, grown {grown}"
        );
    }

    #[test]
    fn a_storage_error_in_a_pass_fails_it_and_undoes_its_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loms.db");
        let mut w = writer_on(Store::open(&path).unwrap());
        let mut market = Market::new();
        for symbol in ["BTCUSDT", "FAILUSDT"] {
            let (reply, mut rx) = oneshot::channel();
            let order = ManualOrder {
                symbol: symbol.into(),
                side: Side::Long,
                qty: Decimal::ONE,
                entry_price: Decimal::ONE_HUNDRED,
                tp_price: Some(Decimal::from(110)),
                sl_price: None,
                order_type: "market".into(),
            };
            w.process(vec![Cmd::Write(Write::Order { order, reply })]);
            rx.try_recv().unwrap().unwrap();
            let price = Decimal::from(120);
            let quote = PriceQuote::flat(symbol, price, w.ctx.clock.now());
            let tick = Tick {
                price,
                quote,
                bar: None,
                bar_start: None,
            };
            market.insert(symbol.into(), tick);
        }
        let pass = |w: &mut Writer| {
            let (reply, mut rx) = oneshot::channel();
            w.process(vec![Cmd::Write(Write::Pass {
                market: market.clone(),
                at: Some(w.ctx.clock.now() + chrono::Duration::hours(1)),
                reply,
                progress: None,
                keep_closed: false,
            })]);
            rx.try_recv().expect("answered")
        };
        // The close of the second position fails, after the first one was written.
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TRIGGER fail BEFORE UPDATE ON positions WHEN NEW.symbol = 'FAILUSDT'
             BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;",
        )
        .unwrap();
        let err = pass(&mut w).unwrap_err();
        assert!(
            matches!(&err, OmsError::Storage(m) if m.contains("disk trouble")),
            "{err}"
        );
        assert_eq!(
            w.store.count_open(None).unwrap(),
            2,
            "the first close is undone"
        );
        assert_eq!(w.book.open.len(), 2, "the book follows the database");
        db.execute_batch("DROP TRIGGER fail").unwrap();
        let report = pass(&mut w).unwrap();
        assert_eq!(report.closed_count, 2, "the next pass closes both");
        assert_eq!(w.store.count_open(None).unwrap(), 0);
    }

    #[test]
    fn a_flatten_step_after_the_mode_changed_closes_nothing() {
        let mut w = writer();
        order(&mut w).unwrap();
        let price = Decimal::ONE_HUNDRED;
        let tick = Tick {
            price,
            quote: PriceQuote::flat("BTCUSDT", price, w.ctx.clock.now()),
            bar: None,
            bar_start: None,
        };
        let (reply, mut rx) = oneshot::channel();
        w.process(vec![Cmd::Write(Write::CloseAll {
            market: Market::from([("BTCUSDT".to_string(), tick)]),
            reason: CloseReason::Panic,
            reply,
            only_in_flatten: true,
        })]);
        let r = rx.try_recv().unwrap();
        assert!(matches!(r, Err(OmsError::WrongMode(_))), "{r:?}");
        assert_eq!(w.store.count_open(None).unwrap(), 1);
    }

    #[test]
    fn after_a_failed_flush_every_write_is_refused_and_nothing_changes() {
        let mut w = writer();
        assert!(order(&mut w).is_ok(), "a healthy writer opens the position");
        w.ctx.failure.set("Input/output error (os error 5)".into());
        let err = order(&mut w).unwrap_err();
        assert!(
            matches!(&err, OmsError::Storage(m) if m.contains("restarted")),
            "{err}"
        );
        let (reply, mut rx) = oneshot::channel();
        w.process(vec![Cmd::Write(Write::SetTrading {
            mode: TradingMode::ReduceOnly,
            set_by: "test".into(),
            reply,
        })]);
        assert!(rx.try_recv().unwrap().is_err());
        assert_eq!(w.book.open.len(), 1);
        assert_eq!(w.store.count_open(None).unwrap(), 1, "nothing more stored");
        assert_eq!(w.book.trading.mode, TradingMode::Active);
    }
}
