//! The batch loop: the writer takes every command waiting, handles them in one
//! transaction ([`Writer::commit_batch`]) and hands the committed batch to the
//! publisher, which makes it durable and answers.

use super::{BatchOut, Cmd, Write, Writer, handle, refuse};
use crate::OmsError;
use crate::publish::{Committed, Event, Finish, PendingAudit, Publisher, finish};
use loms_storage::WalSync;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;

/// Most commands handled in one transaction.
const MAX_BATCH: usize = 512;

/// Lone one-command batches in a row after which the writer may copy the last WAL
/// frames itself to start the WAL over ([`Writer::run`]).
pub(super) const CALM_BATCHES: u32 = 32;

impl Writer {
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
            executor: self.ctx.executor.clone(),
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
                Cmd::Watched { reply } => {
                    let _ = reply.send(self.book.watched());
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
            let mark = events.len();
            let (f, mut storage_error) = handle(
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
            if storage_error.is_none() {
                match crate::breakers::after_command(
                    &self.ctx.breaker_limits,
                    &mut self.book,
                    &tx,
                    &events[mark..],
                    now,
                ) {
                    Ok(tripped) => events.extend(tripped),
                    Err(e) => storage_error = Some(e.to_string()),
                }
            }
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
        {
            let mut shared = self.ctx.doubts.lock().unwrap_or_else(|e| e.into_inner());
            if *shared != self.book.doubts {
                shared.clone_from(&self.book.doubts);
                for why in self.book.doubts.values() {
                    log::warn!("venue_doubt {why}");
                }
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
