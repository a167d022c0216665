//! What happens to a committed batch after the writer is done with it: make it durable
//! (one `fdatasync` of the WAL for every batch committed since the last one), then
//! count it, log it, append its audit lines and answer its callers, in commit order.
//!
//! Under load this runs on its own thread ([`Publisher::run`]), so the writer goes on
//! with the next batch while the disk flushes the last one: a request waits for one
//! commit and one flush, and the writer does not wait for the disk. A lone batch
//! (nothing waiting, nothing being flushed) is published by the writer itself, which
//! saves a request two thread wake-ups.

use crate::OmsError;
use crate::audit::AuditLog;
use crate::metrics::Metrics;
use crate::stats::TradeLog;
use loms_domain::{CloseReason, Decimal, Position, Side, Timestamp};
use loms_storage::ClosedTrade;
use loms_storage::WalSync;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::oneshot;

/// Where a command's answer goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, OmsError>>;

/// Sends a command's answer once its batch's fate is known (`Some(error)`: the batch
/// was not stored).
pub(crate) type Finish = Box<dyn FnOnce(Option<&str>) + Send>;

/// The finisher of a command whose result is `r` if its batch is stored.
pub(crate) fn finish<T: Send + 'static>(reply: Reply<T>, r: Result<T, OmsError>) -> Finish {
    Box::new(move |batch_error| {
        let r = match (batch_error, r) {
            (Some(e), Ok(_)) => Err(OmsError::Storage(e.to_string())),
            (_, r) => r,
        };
        // The caller may have gone away (client disconnected); the work is done anyway.
        let _ = reply.send(r);
    })
}

/// Something that happened in a batch; acted on only once the batch is durable.
#[derive(Debug)]
pub(crate) enum Event {
    Log(String),
    Signal(&'static str),
    RiskBlock(&'static str),
    Closed(Closed),
    /// A circuit breaker tripped ([`crate::breakers`]).
    Breaker(&'static str),
    /// Work for the venue (live): given to the executor only once the batch that
    /// stored its order is durable; dropped with a batch that was not stored.
    Venue(crate::executor::Job),
}

/// What the publisher needs of a position that closed: its trade (for /stats), its
/// close reason (metrics) and its log line; not the whole position, which the writer
/// frees where it allocated it.
#[derive(Debug)]
pub(crate) struct Closed {
    id: i64,
    side: Side,
    close_price: Decimal,
    trade: ClosedTrade,
}

impl Closed {
    /// The trade's net PnL and close time (the circuit breakers count them).
    pub(crate) fn result(&self) -> (Decimal, Timestamp) {
        (self.trade.pnl, self.trade.closed_at)
    }

    /// The close event of `p`; `None` when `p` is not closed.
    pub(crate) fn of(p: &Position) -> Option<Self> {
        let (entry_slippage_bps, signal_to_fill_ms) = ClosedTrade::entry_measures(
            p.side,
            p.entry_price,
            p.signal_price,
            p.signal_time,
            p.created_at,
        );
        Some(Self {
            id: p.id,
            side: p.side,
            close_price: p.close_price?,
            trade: ClosedTrade {
                symbol: p.symbol.clone(),
                pnl: p.pnl?,
                fees: p.fees,
                reason: p.auto_close_reason,
                opened_at: p.created_at,
                closed_at: p.closed_at?,
                entry_slippage_bps,
                signal_to_fill_ms,
                shadow_drift_bps: ClosedTrade::shadow_drift(
                    p.side,
                    p.entry_price,
                    p.paper_entry_price,
                ),
            },
        })
    }
}

/// A signal's audit line, completed once the batch's fate is known.
#[derive(Debug)]
pub(crate) struct PendingAudit {
    /// The body as received, on one line ([`crate::audit::body_text`]).
    pub(crate) payload: String,
    pub(crate) key: String,
    pub(crate) outcome: Value,
}

/// A batch the writer has committed (or failed to commit).
pub(crate) struct Committed {
    /// Its number ([`LastWriteError::next_batch`]).
    pub(crate) seq: u64,
    pub(crate) now: Timestamp,
    /// The commit failed: nothing of the batch is stored.
    pub(crate) error: Option<String>,
    /// The batch wrote something, so it needs a sync before anyone is answered.
    pub(crate) wrote: bool,
    pub(crate) events: Vec<Event>,
    pub(crate) audits: Vec<PendingAudit>,
    pub(crate) finishers: Vec<Finish>,
}

/// Set once a flush of the WAL failed. The commits since the last good flush may not be
/// on disk, yet they are visible to every reader and to the duplicate check, and Linux
/// reports a failed write-back only once, so a later flush that succeeds proves
/// nothing. From then on every batch that wrote is answered with a storage error and
/// the writer refuses all writes, until a restart lets SQLite's recovery decide what is
/// on disk (fail-stop, as PostgreSQL does since "fsyncgate").
///
/// It also keeps the last write that failed short of that (a full disk, an I/O error
/// inside a transaction), until a later one is stored ([`LastWriteError`]).
#[derive(Debug, Default)]
pub(crate) struct FlushFailure {
    flush: OnceLock<String>,
    /// The last batch that failed to write, while none after it was stored.
    pub(crate) last_write: LastWriteError,
}

/// The last batch whose writes failed, with when and why, until a batch committed after
/// it is durable (the `database` check of /health).
#[derive(Debug, Default)]
pub(crate) struct LastWriteError {
    batches: AtomicU64,
    last: Mutex<Option<(u64, Timestamp, String)>>,
}

impl LastWriteError {
    /// Number the next batch (in commit order).
    pub(crate) fn next_batch(&self) -> u64 {
        self.batches.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Batch `seq` failed at `at` with `e`.
    pub(crate) fn failed(&self, seq: u64, at: Timestamp, e: &str) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((seq, at, e.to_string()));
    }

    /// Batch `seq` wrote and is durable: a failure of an earlier batch is over.
    pub(crate) fn stored(&self, seq: u64) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_ref().is_some_and(|(failed, ..)| *failed < seq) {
            *last = None;
        }
    }

    /// When and why the last write failed, while none has been stored since.
    pub(crate) fn get(&self) -> Option<(Timestamp, String)> {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, at, e)| (*at, e.clone()))
    }
}

impl FlushFailure {
    /// Why writes are refused, once a flush has failed.
    pub(crate) fn get(&self) -> Option<String> {
        self.flush.get().map(|e| {
            format!("a flush of the database to disk failed ({e}); writes are refused until loms-server is restarted")
        })
    }

    pub(crate) fn set(&self, e: String) {
        if self.flush.set(e).is_ok() {
            log::error!("storage_failed: {}", self.get().unwrap_or_default());
        }
    }
}

/// Finishes committed batches: sync, count, log, audit, answer.
pub(crate) struct Publisher {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) trades: Arc<TradeLog>,
    pub(crate) audit: Arc<AuditLog>,
    /// `None` when commits are durable by themselves (`synchronous=FULL`, in memory).
    pub(crate) wal: Option<Arc<WalSync>>,
    /// Set by the first failed flush; shared with the writer and /health.
    pub(crate) failure: Arc<FlushFailure>,
    /// Batches handed over and not finished yet, counted down once each is answered
    /// (the writer answers a lone batch itself only when this is zero).
    pub(crate) in_flight: Option<Arc<AtomicUsize>>,
    /// Where venue work goes (live only).
    pub(crate) executor: Option<crate::executor::Executor>,
}

impl Publisher {
    /// Finish batches as they come, until the writer hangs up; every batch waiting when
    /// a flush starts shares it.
    pub(crate) fn run(self, rx: Receiver<Committed>) {
        while let Ok(first) = rx.recv() {
            let mut batches = vec![first];
            batches.extend(rx.try_iter());
            let n = batches.len();
            self.publish(batches);
            if let Some(c) = &self.in_flight {
                c.fetch_sub(n, Ordering::AcqRel);
            }
        }
    }

    /// Finish `batches`, committed in this order.
    pub(crate) fn publish(&self, batches: Vec<Committed>) {
        if let Some(wal) = &self.wal
            && self.failure.get().is_none()
            && batches.iter().any(|b| b.error.is_none() && b.wrote)
            && let Err(e) = wal.sync()
        {
            self.failure.set(e.to_string());
        }
        let failed = self.failure.get();
        for b in batches {
            let error = b.error.or_else(|| failed.clone().filter(|_| b.wrote));
            if error.is_none() && b.wrote {
                self.failure.last_write.stored(b.seq);
            }
            self.finish_batch(b.now, error, b.events, b.audits, b.finishers);
        }
    }

    fn finish_batch(
        &self,
        now: Timestamp,
        error: Option<String>,
        events: Vec<Event>,
        mut audits: Vec<PendingAudit>,
        finishers: Vec<Finish>,
    ) {
        if let Some(e) = &error {
            for a in &mut audits {
                a.outcome =
                    json!({"status": "error", "detail": format!("storage unavailable: {e}")});
            }
        } else {
            for e in events {
                match e {
                    Event::Log(line) => log::info!("{line}"),
                    Event::Signal(outcome) => self.metrics.signal(outcome),
                    Event::RiskBlock(scope) => self.metrics.risk_block(scope),
                    Event::Closed(c) => {
                        self.metrics
                            .closed(c.trade.reason.map_or("unknown", CloseReason::as_str));
                        log::info!("{}", closed_line(&c));
                        self.trades.push(c.trade);
                    }
                    Event::Breaker(b) => self.metrics.breaker_tripped(b),
                    Event::Venue(job) => match &self.executor {
                        Some(x) => x.send(job),
                        None => log::error!("venue_job_without_executor job={job:?}"),
                    },
                }
            }
        }
        let lines: Vec<String> = audits
            .into_iter()
            .map(|a| AuditLog::record(now, &a.payload, Some(&a.key), &a.outcome))
            .collect();
        self.audit.append(&lines);
        for f in finishers {
            f(error.as_deref());
        }
    }
}

fn closed_line(c: &Closed) -> String {
    format!(
        "position_closed id={} symbol={} side={} reason={} close={} pnl={}",
        c.id,
        c.trade.symbol,
        c.side,
        c.trade.reason.map_or("-", |r| r.as_str()),
        c.close_price,
        c.trade.pnl
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn publisher(wal: Option<WalSync>) -> Publisher {
        Publisher {
            metrics: Arc::new(Metrics::default()),
            trades: Arc::new(TradeLog::default()),
            audit: Arc::new(AuditLog::discard()),
            wal: wal.map(Arc::new),
            failure: Arc::default(),
            in_flight: None,
            executor: None,
        }
    }

    /// A batch of one command whose result is `Ok(n)`, and where its answer arrives.
    fn batch(n: u32, wrote: bool) -> (Committed, oneshot::Receiver<Result<u32, OmsError>>) {
        let (reply, rx) = oneshot::channel();
        let b = Committed {
            seq: u64::from(n),
            now: Utc.with_ymd_and_hms(2025, 12, 1, 10, 5, 0).unwrap(),
            error: None,
            wrote,
            events: vec![Event::Signal("opened")],
            audits: Vec::new(),
            finishers: vec![finish(reply, Ok(n))],
        };
        (b, rx)
    }

    /// A WAL stand-in in `dir` that flushes fine.
    fn wal_file(dir: &std::path::Path) -> WalSync {
        let path = dir.join("wal");
        std::fs::write(&path, b"frames").unwrap();
        WalSync::open(&path).unwrap()
    }

    #[test]
    fn answers_come_after_the_flush_and_in_commit_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = publisher(Some(wal_file(dir.path())));
        let (a, mut ra) = batch(1, true);
        let (b, mut rb) = batch(2, false);
        p.publish(vec![a, b]);
        assert_eq!(ra.try_recv().unwrap().unwrap(), 1);
        assert_eq!(rb.try_recv().unwrap().unwrap(), 2);
        let text = p.metrics.render("active", None);
        assert!(
            text.contains("loms_signals_total{outcome=\"opened\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn a_failed_flush_answers_every_batch_that_wrote_with_a_storage_error() {
        // fdatasync on a character device fails (EINVAL), as a dying disk would.
        let p = publisher(Some(
            WalSync::open(std::path::Path::new("/dev/null")).unwrap(),
        ));
        let (a, mut ra) = batch(1, true);
        let (b, mut rb) = batch(2, false);
        p.publish(vec![a, b]);
        let err = ra.try_recv().unwrap().unwrap_err();
        assert!(
            matches!(&err, OmsError::Storage(m) if m.contains("durable")),
            "{err}"
        );
        assert_eq!(
            rb.try_recv().unwrap().unwrap(),
            2,
            "wrote nothing: not at risk"
        );
        let text = p.metrics.render("active", None);
        assert!(
            text.contains("loms_signals_total{outcome=\"opened\"} 1"),
            "only the batch that was not at risk is counted: {text}"
        );
    }

    #[test]
    fn after_a_failed_flush_a_flush_that_succeeds_proves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = publisher(Some(wal_file(dir.path())));
        p.failure.set("Input/output error (os error 5)".into());
        let (a, mut ra) = batch(1, true);
        p.publish(vec![a]);
        let err = ra.try_recv().unwrap().unwrap_err();
        assert!(
            matches!(&err, OmsError::Storage(m) if m.contains("restarted")),
            "{err}"
        );
    }
}
