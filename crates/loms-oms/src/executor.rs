//! The executor (live trading): sends orders to the venue outside the writer, and hands
//! what the venue says back to the writer as commands.
//!
//! The writer stores an order as `pending_submit` first; only once that batch is durable
//! does the publisher give its [`Job::Submit`] to the executor ([`crate::publish`]). A
//! pool of worker threads does the venue's round trips (50 to 2,000 ms each), so the
//! writer never waits on the network. Each report goes back as a [`Write::Execution`];
//! an order still unresolved after it (acknowledged without fills, or unknown) is looked
//! up again by client id every retry interval ([`Job::Resolve`]) until it is settled.
//! Stop moves (trailing, break-even) are sent the same way ([`Job::AmendStop`]).

use crate::OmsError;
use crate::venue_check::{self, Watched};
use crate::writer::{Cmd, Write};
use loms_broker::{ExecutionClient, ExecutionReport, OrderIntent};
use loms_domain::{Decimal, OrderStatus, Side};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What became of an order once the writer applied the venue's report: what a live
/// answer shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settled {
    /// Where the order stands now.
    pub(crate) status: OrderStatus,
    /// An entry's real fill: average price and size.
    pub(crate) entry: Option<(Decimal, Decimal)>,
    /// Why it was rejected, or what is unknown.
    pub(crate) reason: Option<String>,
}

/// Work for the executor.
#[derive(Debug)]
pub(crate) enum Job {
    /// Send an order (stored as `pending_submit`, durable); `settled` hears the outcome.
    Submit {
        order: OrderIntent,
        settled: Option<oneshot::Sender<Settled>>,
    },
    /// Look an unresolved order up by its client id; `misses`: lookups in a row that
    /// found nothing ([`NOT_FOUND_LOOKUPS`] of them mean it was never placed).
    Resolve {
        symbol: String,
        client_oid: String,
        misses: u32,
    },
    /// Move the venue-side stop of a position.
    AmendStop {
        position_id: i64,
        symbol: String,
        side: Side,
        stop: Decimal,
    },
    /// Compare positions with the venue's ([`venue_check`]), under the doubt `key`;
    /// venue positions on `busy` symbols (an order works there) are left alone.
    CheckVenue {
        watched: Vec<Watched>,
        busy: Vec<String>,
        key: String,
        /// Every LOMS position is compared ([`venue_check::run`]).
        full: bool,
    },
    /// Reconcile every position with the venue; `again`: then again after
    /// RECONCILE_INTERVAL_SEC (the periodic one; an operator's action asks once).
    Reconcile { again: bool },
    /// A worker stops.
    Stop,
}

/// A handle on the executor's workers. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Executor {
    jobs: Sender<Job>,
    later: Sender<(Instant, Job)>,
    workers: usize,
    stopping: Arc<AtomicBool>,
}

/// What a worker needs.
struct Worker {
    client: Arc<dyn ExecutionClient>,
    writer: Sender<Cmd>,
    jobs: Arc<Mutex<Receiver<Job>>>,
    later: Sender<(Instant, Job)>,
    retry: Duration,
    reconcile: Duration,
    stopping: Arc<AtomicBool>,
}

/// Lookups in a row, one retry interval apart, that must find nothing before an order
/// counts as never placed (a venue may take a moment to show an order it took).
pub(crate) const NOT_FOUND_LOOKUPS: u32 = 2;

/// The doubt key of the periodic reconciliation (cleared by its next success).
pub(crate) const RECONCILE: &str = "venue:reconcile";

impl Executor {
    /// Start `workers` threads sending through `client` and reporting to `writer`; an
    /// unresolved order is looked up again every `retry`, and the positions are
    /// reconciled with the venue's every `reconcile`.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub(crate) fn start(
        client: Arc<dyn ExecutionClient>,
        writer: Sender<Cmd>,
        workers: usize,
        (retry, reconcile): (Duration, Duration),
    ) -> Result<Self, OmsError> {
        let (jobs, rx) = channel::<Job>();
        let (later, later_rx) = channel::<(Instant, Job)>();
        let stopping = Arc::new(AtomicBool::new(false));
        let rx = Arc::new(Mutex::new(rx));
        let spawn_err =
            |e: std::io::Error| OmsError::Storage(format!("cannot start the executor: {e}"));
        for n in 0..workers.max(1) {
            let w = Worker {
                client: client.clone(),
                writer: writer.clone(),
                jobs: rx.clone(),
                later: later.clone(),
                retry,
                reconcile,
                stopping: stopping.clone(),
            };
            std::thread::Builder::new()
                .name(format!("loms-exec-{n}"))
                .spawn(move || w.run())
                .map_err(spawn_err)?;
        }
        let _ = later.send((Instant::now() + reconcile, Job::Reconcile { again: true }));
        let (to_jobs, stop) = (jobs.clone(), stopping.clone());
        std::thread::Builder::new()
            .name("loms-exec-timer".into())
            .spawn(move || timer(&later_rx, &to_jobs, &stop))
            .map_err(spawn_err)?;
        Ok(Self {
            jobs,
            later,
            workers: workers.max(1),
            stopping,
        })
    }

    /// Queue `job` now.
    pub(crate) fn send(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            log::error!("executor_gone: a venue job was dropped");
        }
    }

    /// Queue `job` after `delay`.
    pub(crate) fn send_after(&self, delay: Duration, job: Job) {
        let _ = self.later.send((Instant::now() + delay, job));
    }

    /// Stop the workers once their current job is done (an order being sent is sent;
    /// its report, if the writer has stopped, is looked up at the next start).
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        for _ in 0..self.workers {
            let _ = self.jobs.send(Job::Stop);
        }
        let _ = self.later.send((Instant::now(), Job::Stop));
    }
}

/// Hold delayed jobs until they are due, then queue them.
fn timer(rx: &Receiver<(Instant, Job)>, jobs: &Sender<Job>, stopping: &AtomicBool) {
    let mut waiting: Vec<(Instant, Job)> = Vec::new();
    loop {
        let next = waiting.iter().map(|(t, _)| *t).min();
        let got = match next {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
        };
        match got {
            Ok((_, Job::Stop)) => return,
            Ok(item) => waiting.push(item),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if stopping.load(Ordering::Acquire) {
            return;
        }
        let now = Instant::now();
        let (due, wait): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|(t, _)| *t <= now);
        waiting = wait;
        for (_, job) in due {
            let _ = jobs.send(job);
        }
    }
}

impl Worker {
    fn run(self) {
        loop {
            let job = {
                let rx = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
                rx.recv()
            };
            match job {
                Err(_) | Ok(Job::Stop) => return,
                Ok(job) => self.handle(job),
            }
        }
    }

    fn handle(&self, job: Job) {
        match job {
            Job::Submit { order, settled } => {
                let report = self.submit(&order);
                self.settle(&order.symbol, report, false, settled);
            }
            Job::Resolve {
                symbol,
                client_oid,
                misses,
            } => match self.client.query(&symbol, &client_oid) {
                Ok(Some(report)) => self.settle(&symbol, report, false, None),
                Ok(None) if misses + 1 < NOT_FOUND_LOOKUPS => self.again(Job::Resolve {
                    symbol,
                    client_oid,
                    misses: misses + 1,
                }),
                Ok(None) => {
                    let report = ExecutionReport {
                        client_oid,
                        exchange_order_id: None,
                        status: OrderStatus::Rejected,
                        fills: Vec::new(),
                        reason: Some(format!(
                            "never placed: the venue has no order with this client id \
                             ({NOT_FOUND_LOOKUPS} lookups)"
                        )),
                    };
                    self.settle(&symbol, report, true, None);
                }
                Err(e) => {
                    log::warn!("order_lookup_failed client_oid={client_oid} error=\"{e}\"");
                    self.again(Job::Resolve {
                        symbol,
                        client_oid,
                        misses,
                    });
                }
            },
            Job::AmendStop {
                position_id,
                symbol,
                side,
                stop,
            } => {
                let key = crate::book::stop_doubt_key(position_id);
                let why = match self.client.amend_stop(&symbol, side, stop) {
                    Ok(()) => {
                        log::info!("venue_stop_moved id={position_id} symbol={symbol} stop={stop}");
                        None
                    }
                    Err(e) => {
                        log::error!(
                            "venue_stop_not_moved id={position_id} symbol={symbol} stop={stop} \
                             error=\"{e}\"; LOMS's own stop still closes it while LOMS runs"
                        );
                        Some(format!(
                            "the venue's stop of position {position_id} ({symbol}) could not be \
                             moved to {stop}: {e}; it closes at the older stop if LOMS stops"
                        ))
                    }
                };
                if let Err(e) = self.ask(|reply| Write::Doubt { key, why, reply }) {
                    log::error!("doubt_not_stored error={e}");
                }
            }
            Job::CheckVenue {
                watched,
                busy,
                key,
                full,
            } => {
                if !self.check(&watched, &busy, (key.clone(), full)) {
                    self.again(Job::CheckVenue {
                        watched,
                        busy,
                        key,
                        full,
                    });
                }
            }
            Job::Reconcile { again } => {
                let (reply, rx) = oneshot::channel();
                if self.writer.send(Cmd::Watched { reply }).is_err() {
                    return;
                }
                if let Ok((watched, busy)) = rx.blocking_recv()
                    && !self.check(&watched, &busy, (RECONCILE.into(), true))
                {
                    // Fail closed: entries wait until a comparison succeeds again.
                    let why = Some(
                        "the venue's positions could not be compared with LOMS's (see the log); \
                         retried every RECONCILE_INTERVAL_SEC"
                            .to_string(),
                    );
                    let key = RECONCILE.to_string();
                    if let Err(e) = self.ask(|reply| Write::Doubt { key, why, reply }) {
                        log::error!("doubt_not_stored error={e}");
                    }
                }
                if again && !self.stopping.load(Ordering::Acquire) {
                    let _ = self.later.send((
                        Instant::now() + self.reconcile,
                        Job::Reconcile { again: true },
                    ));
                }
            }
            Job::Stop => {}
        }
    }

    /// Compare positions with the venue and hand what was found to the writer; `false`
    /// when either failed (the doubt stays; try again).
    fn check(&self, watched: &[Watched], busy: &[String], (key, full): (String, bool)) -> bool {
        match venue_check::run(&*self.client, watched, busy, (key.clone(), full)) {
            Ok(found) => match self.ask(|reply| Write::VenueCheck { found, reply }) {
                Ok(()) => true,
                Err(e) => {
                    log::error!("venue_check_not_applied key={key} error={e}");
                    false
                }
            },
            Err(e) => {
                log::warn!("venue_check_failed key={key} error=\"{e}\"");
                false
            }
        }
    }

    /// Send `order`: an entry gets its symbol ready first (margin mode, leverage); when
    /// that fails the order is not sent.
    fn submit(&self, order: &OrderIntent) -> ExecutionReport {
        if !order.reduce_only
            && let Err(e) = self.client.prepare(&order.symbol)
        {
            return ExecutionReport {
                client_oid: order.client_oid.clone(),
                exchange_order_id: None,
                status: OrderStatus::Rejected,
                fills: Vec::new(),
                reason: Some(format!(
                    "not sent: {} could not be prepared: {e}",
                    order.symbol
                )),
            };
        }
        self.client.submit(order)
    }

    /// Hand `report` to the writer; look the order up again while it is unresolved.
    fn settle(
        &self,
        symbol: &str,
        report: ExecutionReport,
        not_found: bool,
        settled: Option<oneshot::Sender<Settled>>,
    ) {
        let client_oid = report.client_oid.clone();
        match self.ask(|reply| Write::Execution {
            report,
            not_found,
            reply,
        }) {
            Ok(s) => {
                if s.status.unresolved() {
                    self.again(Job::Resolve {
                        symbol: symbol.to_string(),
                        client_oid,
                        misses: 0,
                    });
                }
                if let Some(tx) = settled {
                    let _ = tx.send(s);
                }
            }
            Err(e) => {
                log::error!(
                    "report_not_applied client_oid={client_oid} error=\"{e}\"; looked up again"
                );
                self.again(Job::Resolve {
                    symbol: symbol.to_string(),
                    client_oid,
                    misses: 0,
                });
            }
        }
    }

    /// Ask the writer and wait for its answer (this is a plain thread, not a task).
    fn ask<T>(&self, make: impl FnOnce(crate::publish::Reply<T>) -> Write) -> Result<T, OmsError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(Cmd::Write(make(reply)))
            .map_err(|_| OmsError::Stopped)?;
        rx.blocking_recv().map_err(|_| OmsError::Stopped)?
    }

    fn again(&self, job: Job) {
        if !self.stopping.load(Ordering::Acquire) {
            let _ = self.later.send((Instant::now() + self.retry, job));
        }
    }
}
