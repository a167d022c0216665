//! LOMS orchestration, usable as a library without HTTP.
//!
//! [`Oms`] composes the layers: a signal is parsed ([`loms_domain::Signal`]), checked
//! against the kill switch and the risk limits ([`loms_risk`]), filled by a broker
//! ([`loms_broker::ExecutionClient`]) and stored ([`loms_storage`]); the auto-close loop
//! fetches one quote per distinct symbol ([`loms_price_source::PriceSource`]) and lets
//! the exit policy of each position ([`loms_exit_engine`]) close it.
//!
//! All writes go through one writer thread that groups concurrent requests into one
//! durable transaction; reads use their own connections and never wait for writes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), loms_oms::OmsError> {
//! let settings = loms_config::Settings::for_tests(std::path::Path::new("/tmp/loms-demo"));
//! let oms = loms_oms::Oms::start(settings.clone(), loms_oms::Deps::from_settings(&settings))?;
//! let body = br#"{"symbol":"BTCUSDT","side":"long","price":97250.5,"timestamp":"2025-12-01T10:05:00Z"}"#;
//! let answer = oms.handle_signal(body, None).await?;
//! println!("opened position {:?}", answer.position_id);
//! oms.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! See `examples/paper_roundtrip.rs` for a complete open → close cycle.

pub mod audit;
mod auto_close;
mod book;
mod breakers;
mod catch_up;
mod checkpoint;
mod deps;
mod disk;
mod entry;
mod error;
mod executor;
mod flatten;
pub mod health;
mod json_list;
mod live_start;
mod market;
pub mod metrics;
pub mod order;
mod position_orders;
mod publish;
mod readers;
mod reconcile;
pub mod replay;
mod seen;
mod signals;
pub mod stats;
mod stored;
pub mod trading;
mod venue_check;
mod writer;

pub use deps::Deps;
pub use error::OmsError;
pub use health::HealthReport;
pub use json_list::{JSON_PIECE_BYTES, JsonList, JsonPieces};
pub use loms_config::Settings;
pub use loms_domain::SignalAnswer;
pub use metrics::Metrics;
pub use order::ManualOrder;
pub use stats::Stats;
pub use trading::{TradingMode, TradingState};
pub use writer::{CloseAllReport, CloseFailure, PassReport, SentClose};

use audit::AuditLog;
use book::Book;
use checkpoint::{Checkpointer, spawn_checkpointer};
use health::Health;
use loms_domain::{CloseReason, Decimal, Order, Position};
use loms_price_source::Simulator;
use loms_storage::{DatabaseLock, PositionFilter, Store, TradeFilter};
use readers::Readers;
use serde_json::Value;
pub(crate) use signals::{idempotency_key, validate_signal};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use writer::{CloseOutcome, Cmd, Ctx, Write, Writer};

/// IDEMPOTENCY_RETENTION_HOURS as a time span.
pub(crate) fn retention(s: &Settings) -> chrono::Duration {
    chrono::Duration::from_std(s.idempotency_retention).unwrap_or(chrono::Duration::days(7))
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    deps: Deps,
    tx: Sender<Cmd>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Stops the WAL checkpoint thread when dropped or taken.
    checkpointer: Mutex<Option<Checkpointer>>,
    readers: Readers,
    audit: Arc<AuditLog>,
    trading: Arc<Mutex<TradingState>>,
    metrics: Arc<Metrics>,
    trades: Arc<stats::TradeLog>,
    /// Set once a flush of the WAL failed (writes refused until restart).
    failure: Arc<publish::FlushFailure>,
    health: Health,
    /// Downtime bars still to judge (their fetch failed).
    gap: catch_up::Gap,
    /// What start-up could not read.
    stored: stored::StoredData,
    /// This server's lock of the database file, released once the writer has stopped.
    lock: Mutex<Option<DatabaseLock>>,
    /// Sends live orders (`None`: paper).
    executor: Option<executor::Executor>,
    /// What LOMS doubts about the venue, as last committed (live; see [`book::Book`]).
    doubts: Arc<Mutex<std::collections::BTreeMap<String, String>>>,
}
/// A running OMS. Cheap to clone; every clone talks to the same writer.
#[derive(Debug, Clone)]
pub struct Oms(Arc<Inner>);

impl Oms {
    /// Open the database and the audit log, load open positions, start the writer thread.
    ///
    /// # Errors
    /// [`OmsError::Storage`] when the database or the audit file cannot be opened.
    pub fn start(settings: Settings, deps: Deps) -> Result<Oms, OmsError> {
        let path = settings.database_path.clone();
        // One writer per database file, before anything is read or written.
        let lock = DatabaseLock::acquire(&path)
            .map_err(|e| OmsError::Storage(format!("opening database {}: {e}", path.display())))?;
        let store = Store::open(&path)
            .map_err(|e| OmsError::Storage(format!("opening database {}: {e}", path.display())))?;
        let audit = Arc::new(AuditLog::open(&settings.audit_log_path)?);
        let mut book = Book::load(
            &store,
            deps.clock.now(),
            settings.oms_enabled,
            retention(&settings),
        )?;
        // Live: what the last run left at the venue is settled before the first signal.
        let live = !deps.execution.immediate();
        let unresolved = if live {
            store.unresolved_orders()?
        } else {
            Vec::new()
        };
        book.mark_working(&unresolved);
        book.doubt_unresolved(&unresolved);
        let mut stored = stored::StoredData {
            unreadable_open: book.unreadable_open.clone(),
            unreadable_trading: book
                .unreadable_trading
                .clone()
                .map(|why| (why, book.trading.clone())),
            skipped_closed: Vec::new(),
        };
        let mut closed = Vec::new();
        store.each_closed_trade(&TradeFilter::default(), |t| match t {
            Ok(t) => closed.push(t),
            Err(bad) => stored.skipped_closed.push(bad),
        })?;
        stored.log();
        log::info!(
            "Database {} ready: schema v{}, {} open positions",
            path.display(),
            store.schema_version()?,
            book.open.len()
        );
        log::info!(
            "Trading mode {} (set by {} at {})",
            book.trading.mode,
            book.trading.set_by,
            book.trading.since
        );
        let trading = Arc::new(Mutex::new(book.trading.clone()));
        let failure = Arc::new(publish::FlushFailure::default());
        let metrics = Arc::new(Metrics::default());
        let trades = Arc::new(stats::TradeLog::new(closed));
        metrics
            .open_positions
            .store(book.open.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let doubts = Arc::new(Mutex::new(book.doubts.clone()));
        let (tx, rx) = std::sync::mpsc::channel();
        let executor = if live {
            Some(executor::Executor::start(
                deps.execution.clone(),
                tx.clone(),
                settings.live_exec_workers,
                (settings.live_resolve_interval, settings.reconcile_interval),
            )?)
        } else {
            None
        };
        let ctx = Ctx {
            clock: deps.clock.clone(),
            execution: deps.execution.clone(),
            paper: deps::paper_sim(&settings),
            executor: executor.clone(),
            doubts: doubts.clone(),
            oid_tag: store.client_oid_tag()?,
            prices: deps.prices.clone(),
            policies: deps.policies.clone(),
            limits: live_start::limits(&settings, live),
            breaker_limits: breakers::BreakerLimits::from_settings(&settings),
            sizing: settings.sizing,
            default_exit: settings.exit_strategy.clone(),
            min_age: chrono::Duration::from_std(settings.min_position_age).unwrap_or_default(),
            oms_enabled: settings.oms_enabled,
            trading: trading.clone(),
            metrics: metrics.clone(),
            trades: trades.clone(),
            audit: audit.clone(),
            failure: failure.clone(),
        };
        let mut writer = Writer::new(store, book, ctx);
        if let Some(x) = &executor {
            // Commits are durable by themselves until the WAL sync is deferred below.
            for job in live_start::settle(&mut writer, &*deps.execution, unresolved) {
                x.send_after(settings.live_resolve_interval, job);
            }
        }
        let store = &mut writer.store;
        store.disable_auto_checkpoint()?;
        // The writer never waits for the disk: its publisher thread syncs the WAL
        // before any answer goes out.
        let wal = store.defer_wal_sync()?;
        store.cut_wal_in_steps()?;
        let restart = Arc::new(AtomicBool::new(false));
        let checkpointer = spawn_checkpointer(&path, restart.clone())?;
        let handle = std::thread::Builder::new()
            .name("loms-writer".into())
            .spawn(move || writer.run(rx, Some(wal), Some(restart)))
            .map_err(|e| OmsError::Storage(format!("cannot start the writer thread: {e}")))?;
        Ok(Oms(Arc::new(Inner {
            readers: Readers::new(path),
            settings,
            deps,
            tx,
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some(checkpointer)),
            audit,
            trading,
            metrics,
            trades,
            failure,
            health: Health::new(),
            gap: catch_up::Gap::default(),
            stored,
            lock: Mutex::new(Some(lock)),
            executor,
            doubts,
        })))
    }

    /// The effective settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// Whether signals may open positions (kill switch).
    pub fn enabled(&self) -> bool {
        self.trading_state().mode.signals_may_open()
    }

    /// The trading state as last committed.
    pub fn trading_state(&self) -> TradingState {
        self.0
            .trading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The counters of `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Prometheus text for `/metrics`.
    pub fn render_metrics(&self) -> String {
        let t = self.trading_state();
        let breaker = t
            .set_by
            .strip_prefix("breaker ")
            .and_then(|b| b.split(':').next());
        self.0.metrics.render(t.mode.as_str(), breaker)
    }

    /// Set the trading mode (kept across restarts). `flatten` then closes every open
    /// position with reason `panic`; the report says what was closed.
    ///
    /// # Errors
    /// [`OmsError::Storage`] (nothing changed) or [`OmsError::Stopped`].
    pub async fn set_trading(
        &self,
        mode: TradingMode,
        set_by: &str,
    ) -> Result<(TradingState, Option<CloseAllReport>), OmsError> {
        let set_by = set_by.to_string();
        let state = self
            .ask(|reply| Write::SetTrading {
                mode,
                set_by,
                reply,
            })
            .await?;
        let report = if mode == TradingMode::Flatten {
            Some(self.drive_flat().await?)
        } else {
            // Whatever a flatten left open is no longer to be closed.
            self.0.health.flatten_left(None);
            self.0.metrics.flatten_left(0);
            None
        };
        Ok((state, report))
    }

    /// Close every open position at the current price with `reason`, in one
    /// transaction. Positions whose symbol has no price are reported as failed.
    ///
    /// # Errors
    /// [`OmsError::Storage`] or [`OmsError::Stopped`].
    pub async fn close_all(&self, reason: CloseReason) -> Result<CloseAllReport, OmsError> {
        let market = self.current_market().await?;
        let report = self
            .ask(|reply| Write::CloseAll {
                market,
                reason,
                reply,
                only_in_flatten: false,
            })
            .await?;
        log::warn!(
            "close_all reason={reason} closed={} failed={}",
            report.closed.len(),
            report.failed.len()
        );
        Ok(report)
    }

    /// The simulator, when prices come from it.
    pub fn simulator(&self) -> Option<&Simulator> {
        self.0.deps.prices.as_simulator()
    }

    async fn ask<T>(&self, make: impl FnOnce(publish::Reply<T>) -> Write) -> Result<T, OmsError> {
        let (reply, rx) = oneshot::channel();
        self.0
            .tx
            .send(Cmd::Write(make(reply)))
            .map_err(|_| OmsError::Stopped)?;
        rx.await.map_err(|_| OmsError::Stopped)?
    }

    /// `POST /orders/`: open a position from an operator's order (position limits apply).
    ///
    /// # Errors
    /// [`OmsError::Invalid`], [`OmsError::RiskBlocked`], [`OmsError::Storage`].
    pub async fn create_order(&self, body: &Value) -> Result<Position, OmsError> {
        let order = ManualOrder::from_json(body)?;
        // Live: the venue fills at the market; no price, nothing sent (503).
        let tick = match &self.0.executor {
            Some(_) => Some(Box::new(self.tick(&order.symbol).await?)),
            None => None,
        };
        self.ask(|reply| Write::Order { order, tick, reply }).await
    }

    /// Current price of `symbol` from the price source, picked by PRICE_MODE.
    ///
    /// # Errors
    /// [`OmsError::PriceUnavailable`].
    pub async fn price(&self, symbol: &str) -> Result<Decimal, OmsError> {
        Ok(self.tick(symbol).await?.price)
    }

    /// Close a position at the current price with `reason`. A position already closed
    /// is returned unchanged.
    ///
    /// # Errors
    /// [`OmsError::NotFound`], [`OmsError::PriceUnavailable`], [`OmsError::Storage`].
    pub async fn close_position(&self, id: i64, reason: CloseReason) -> Result<Position, OmsError> {
        let pos = self.position(id).await?.ok_or(OmsError::NotFound(id))?;
        if !pos.is_open() {
            return Ok(pos);
        }
        let tick = Box::new(self.tick(&pos.symbol).await?);
        match self
            .ask(|reply| Write::Close {
                id,
                tick,
                reason,
                reply,
            })
            .await?
        {
            CloseOutcome::Closed(closed) => Ok(*closed),
            // Live: the exit was sent; what is stored once it settles (or the timeout).
            CloseOutcome::Sent(told) => {
                self.settled(Some(told)).await;
                self.position(id).await?.ok_or(OmsError::NotFound(id))
            }
            // Closed by someone else meanwhile: return what is stored.
            CloseOutcome::NotOpen => self.position(id).await?.ok_or(OmsError::NotFound(id)),
        }
    }

    /// Positions, newest first.
    ///
    /// # Errors
    /// [`OmsError::Storage`].
    pub async fn positions(&self, filter: PositionFilter) -> Result<Vec<Position>, OmsError> {
        self.read(move |s| s.positions(&filter)).await
    }

    /// Positions as a JSON array, written straight from the database rows (the fast
    /// path of `GET /positions/`; same JSON as serialising [`Oms::positions`]).
    ///
    /// # Errors
    /// [`OmsError::Storage`].
    pub async fn positions_json(&self, filter: PositionFilter) -> Result<Vec<u8>, OmsError> {
        self.read(move |s| s.positions_json(&filter)).await
    }

    /// One position as JSON, `None` when absent.
    ///
    /// # Errors
    /// [`OmsError::Storage`].
    pub async fn position_json(&self, id: i64) -> Result<Option<Vec<u8>>, OmsError> {
        self.read(move |s| s.position_json(id)).await
    }

    /// One position.
    ///
    /// # Errors
    /// [`OmsError::Storage`].
    pub async fn position(&self, id: i64) -> Result<Option<Position>, OmsError> {
        self.read(move |s| s.position(id)).await
    }

    /// Orders, newest first.
    ///
    /// # Errors
    /// [`OmsError::Storage`].
    pub async fn orders(
        &self,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<Vec<Order>, OmsError> {
        self.read(move |s| s.orders(limit, offset)).await
    }

    /// The `/stats` figures for closed trades matching `filter`.
    ///
    /// # Errors
    /// [`OmsError::Storage`].
    pub async fn stats(&self, filter: TradeFilter) -> Result<Stats, OmsError> {
        let open = if filter.symbol.is_none() && filter.since.is_none() && filter.until.is_none() {
            self.0
                .metrics
                .open_positions
                .load(std::sync::atomic::Ordering::Relaxed)
        } else {
            let f = filter.clone();
            let n = self.read(move |s| s.count_open_matching(&f)).await?;
            u64::try_from(n).unwrap_or(0)
        };
        Ok(self.0.trades.stats(&filter, open))
    }

    /// The `/health` report.
    pub async fn health(&self) -> HealthReport {
        let db = self
            .read(|s| {
                let v = s.schema_version()?;
                let open = s.count_open(None)?;
                Ok((v, open))
            })
            .await;
        health::report(self, db)
    }

    /// Stop the writer after the commands already queued, and wait until the database
    /// is closed. Requests after this answer [`OmsError::Stopped`].
    pub async fn shutdown(&self) {
        if let Some(x) = &self.0.executor {
            x.stop();
        }
        let _ = self.0.tx.send(Cmd::Stop);
        let handle = self
            .0
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let checkpointer = self
            .0
            .checkpointer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(h) = handle {
                let _ = h.join();
            }
            // A last checkpoint once the writer is done.
            if let Some(c) = checkpointer {
                c.stop();
            }
        })
        .await;
        // The database is closed: another server may open it now.
        drop(self.0.lock.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn after_a_failed_flush_health_says_the_database_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let s = loms_config::Settings::for_tests(dir.path());
        let oms = Oms::start(s.clone(), Deps::from_settings(&s)).unwrap();
        assert!(oms.health().await.checks.database.ok);
        oms.0.failure.set("Input/output error (os error 5)".into());
        let h = oms.health().await;
        assert!(!h.ok && !h.checks.database.ok);
        assert!(
            h.checks.database.detail.contains("restarted"),
            "{}",
            h.checks.database.detail
        );
        let err = oms
            .set_trading(TradingMode::ReduceOnly, "test")
            .await
            .unwrap_err();
        assert!(matches!(err, OmsError::Storage(_)), "{err}");
        oms.shutdown().await;
    }

    #[tokio::test]
    async fn a_failed_write_fails_the_database_check_until_a_later_one_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let s = loms_config::Settings::for_tests(dir.path());
        let oms = Oms::start(s.clone(), Deps::from_settings(&s)).unwrap();
        // The disk is full for one symbol's rows.
        rusqlite::Connection::open(&s.database_path)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER full BEFORE INSERT ON orders WHEN NEW.symbol = 'FULLUSDT'
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
            )
            .unwrap();
        let order = |symbol: &str| {
            serde_json::json!({"symbol": symbol, "side": "buy", "qty": "0.1",
                "entry_price": "100"})
        };
        assert!(oms.health().await.checks.database.ok);
        let err = oms.create_order(&order("FULLUSDT")).await.unwrap_err();
        assert!(matches!(err, OmsError::Storage(_)), "{err}");
        let h = oms.health().await;
        assert!(!h.ok && !h.checks.database.ok, "{h:?}");
        assert!(
            h.checks
                .database
                .detail
                .contains("database or disk is full"),
            "{}",
            h.checks.database.detail
        );
        // Space is back: the next write that is stored clears it.
        oms.create_order(&order("BTCUSDT")).await.unwrap();
        let h = oms.health().await;
        assert!(h.checks.database.ok, "{:?}", h.checks.database);
        assert!(h.checks.disk_space.ok, "{:?}", h.checks.disk_space);
        oms.shutdown().await;
    }

    #[tokio::test]
    async fn a_second_oms_on_the_same_database_is_refused_until_the_first_stops() {
        let dir = tempfile::tempdir().unwrap();
        let s = loms_config::Settings::for_tests(dir.path());
        let first = Oms::start(s.clone(), Deps::from_settings(&s)).unwrap();
        let err = Oms::start(s.clone(), Deps::from_settings(&s))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("loms_test.db.lock")
                && err.contains(&format!("pid {}", std::process::id()))
                && err.contains("another loms-server"),
            "{err}"
        );
        first.shutdown().await;
        let again = Oms::start(s.clone(), Deps::from_settings(&s)).expect("released");
        again.shutdown().await;
    }

    #[tokio::test]
    async fn the_audit_and_the_stored_payload_keep_the_bytes_received() {
        let dir = tempfile::tempdir().unwrap();
        let s = loms_config::Settings::for_tests(dir.path());
        let oms = Oms::start(s.clone(), Deps::from_settings(&s)).unwrap();
        // Keys out of order, numbers spelled in ways a serialiser would change, a
        // pretty-printed body over several lines.
        let accepted = "{\"symbol\": \"BTCUSDT\",\r\n  \"side\":\"long\", \"price\": 97250.50,\n \
                        \"timestamp\":\"2025-12-01T10:05:00Z\", \"zz\": 1e2, \"aa\": 0.10}\n";
        let rejected = "{\"side\":\"long\",\"symbol\":\"BTCUSDT\",\"price\":-1.50,\"n\":1E+2}";
        oms.handle_signal(accepted.as_bytes(), Some("k1"))
            .await
            .unwrap();
        oms.handle_signal(rejected.as_bytes(), Some("k2"))
            .await
            .unwrap_err();
        oms.shutdown().await;
        let one_line = "{\"symbol\": \"BTCUSDT\",    \"side\":\"long\", \"price\": 97250.50,  \
                        \"timestamp\":\"2025-12-01T10:05:00Z\", \"zz\": 1e2, \"aa\": 0.10}";
        let audit = std::fs::read_to_string(&s.audit_log_path).unwrap();
        let lines: Vec<&str> = audit.lines().collect();
        assert_eq!(lines.len(), 2, "{audit}");
        assert!(
            lines[0].contains(&format!("\"payload\":{one_line},")),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(&format!("\"payload\":{rejected},")),
            "{}",
            lines[1]
        );
        for l in lines {
            serde_json::from_str::<Value>(l).unwrap();
        }
        let db = rusqlite::Connection::open(&s.database_path).unwrap();
        let stored: String = db
            .query_row(
                "SELECT payload FROM signals WHERE idem_key = 'k1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, one_line);
    }
}
