//! Liveness of the parts /health reports on.

use crate::audit::AuditStatus;
use crate::{Oms, OmsError};
use loms_domain::Timestamp;
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters and last-seen times, updated by the auto-close loop.
#[derive(Debug)]
pub(crate) struct Health {
    started: Instant,
    loop_running: AtomicBool,
    passes: AtomicU64,
    price_errors: AtomicU64,
    last_pass: Mutex<Option<(Timestamp, Duration)>>,
    failed_passes: AtomicU64,
    last_pass_failure: Mutex<Option<(Timestamp, String)>>,
    last_price_ok: Mutex<Option<Timestamp>>,
    last_price_error: Mutex<Option<String>>,
    /// What the last step of a flatten left open, until flat.
    flatten_left: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Health {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            loop_running: AtomicBool::new(false),
            passes: AtomicU64::new(0),
            price_errors: AtomicU64::new(0),
            last_pass: Mutex::new(None),
            failed_passes: AtomicU64::new(0),
            last_pass_failure: Mutex::new(None),
            last_price_ok: Mutex::new(None),
            last_price_error: Mutex::new(None),
            flatten_left: Mutex::new(None),
        }
    }
    pub(crate) fn loop_started(&self) {
        self.loop_running.store(true, Ordering::SeqCst);
    }
    pub(crate) fn pass_done(&self, at: Timestamp, took: Duration) {
        self.passes.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_pass) = Some((at, took));
    }
    pub(crate) fn pass_failed(&self, at: Timestamp, error: String) {
        self.failed_passes.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_pass_failure) = Some((at, error));
    }
    pub(crate) fn price_ok(&self, at: Timestamp) {
        *lock(&self.last_price_ok) = Some(at);
    }
    /// What the last step of a flatten left open (`None`: flat, or no longer flattening).
    pub(crate) fn flatten_left(&self, detail: Option<String>) {
        *lock(&self.flatten_left) = detail;
    }
    pub(crate) fn price_error(&self, e: String) {
        self.price_errors.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_price_error) = Some(e);
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Passed?
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// Seconds since the last good quote (price feed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success_age_s: Option<f64>,
    /// Passed, with something an operator should look at (`ok` stays true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
    /// Last price error (price feed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Price errors since start (price feed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_total: Option<u64>,
    /// Seconds since the last pass (auto-close loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_pass_age_s: Option<f64>,
    /// Duration of the last pass, milliseconds (auto-close loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_pass_ms: Option<f64>,
}

impl Check {
    pub(crate) fn new(ok: bool, detail: impl Into<String>) -> Self {
        Self {
            ok,
            warning: false,
            detail: detail.into(),
            last_success_age_s: None,
            last_error: None,
            errors_total: None,
            last_pass_age_s: None,
            last_pass_ms: None,
        }
    }

    /// A check that passes with a warning.
    pub(crate) fn warning(detail: impl Into<String>) -> Self {
        Self {
            warning: true,
            ..Self::new(true, detail)
        }
    }
}

/// The checks of /health.
#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    /// The database answers, and its last write did not fail.
    pub database: Check,
    /// The last write to the audit file succeeded (its records wait in memory
    /// otherwise), and the file can be opened for appending.
    pub audit_log: Check,
    /// Free space in the folders of the database and the audit file
    /// (DISK_FREE_WARN_MB).
    pub disk_space: Check,
    /// Quotes arrive.
    pub price_feed: Check,
    /// The auto-close loop runs.
    pub auto_close_loop: Check,
    /// Every stored row start-up needed could be read ([`crate::stored`]).
    pub stored_data: Check,
    /// Live only: LOMS knows what the venue did with every order and its positions
    /// match the venue's; fails while entries are held for a doubt (each one named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue: Option<Check>,
}

/// The `/health` answer. Never contains a secret.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// True when every check passes.
    pub ok: bool,
    /// Service name.
    pub service: &'static str,
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// LOMS version.
    pub version: &'static str,
    /// ENVIRONMENT.
    pub environment: String,
    /// BROKER_MODE.
    pub broker_mode: &'static str,
    /// Kill switch: may signals open positions?
    pub oms_enabled: bool,
    /// Trading mode, since when and set by whom.
    pub trading: crate::TradingState,
    /// DATABASE_URL.
    pub database_url: String,
    /// AUDIT_LOG_PATH.
    pub audit_log_path: String,
    /// PRICE_SOURCE.
    pub price_source: &'static str,
    /// PRICE_MODE.
    pub price_mode: &'static str,
    /// PRICE_EXCHANGE.
    pub price_exchange: String,
    /// EXIT_STRATEGY (default policy).
    pub exit_strategy: String,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Open positions (null when the database does not answer).
    pub open_positions: Option<i64>,
    /// The checklist.
    pub checks: Checks,
}

/// What the auto-close loop's check looks at.
#[derive(Debug, Clone, Default)]
struct LoopSeen {
    running: bool,
    last_pass: Option<(Timestamp, Duration)>,
    last_failure: Option<(Timestamp, String)>,
    failed_passes: u64,
}

/// The loop's check: failing when it does not run, when its last pass failed (whatever
/// the grace period), or when it has not passed in `stale_after`.
fn loop_check(seen: LoopSeen, now: Timestamp, stale_after: Duration, in_grace: bool) -> Check {
    let pass_age = seen.last_pass.map(|(t, _)| age_s(now, t));
    let failing = seen
        .last_failure
        .filter(|(t, _)| seen.last_pass.is_none_or(|(ok, _)| *t >= ok));
    let mut check = if !seen.running {
        Check::new(false, "not running")
    } else if let Some((_, e)) = &failing {
        let since = match pass_age {
            Some(a) => format!("last successful pass {a:.1} s ago"),
            None => "no successful pass yet".into(),
        };
        Check::new(
            false,
            format!(
                "passes failing ({} failed since start; {since}): {e}",
                seen.failed_passes
            ),
        )
    } else {
        match pass_age {
            Some(a) if a <= stale_after.as_secs_f64() => {
                Check::new(true, format!("last pass {a:.1} s ago"))
            }
            _ if in_grace => Check::new(true, "starting"),
            Some(a) => Check::new(false, format!("no pass for {a:.1} s")),
            None => Check::new(false, "no pass yet"),
        }
    };
    check.last_pass_age_s = pass_age;
    check.last_pass_ms = seen.last_pass.map(|(_, d)| d.as_secs_f64() * 1000.0);
    check.last_error = failing.map(|(_, e)| e);
    check
}

fn age_s(now: Timestamp, t: Timestamp) -> f64 {
    ((now - t).num_milliseconds() as f64 / 1000.0).max(0.0)
}

pub(crate) fn report(oms: &Oms, db: Result<(u32, i64), OmsError>) -> HealthReport {
    let inner = &oms.0;
    let s = &inner.settings;
    let h = &inner.health;
    let now = inner.deps.clock.now();
    let uptime = h.started.elapsed();
    // A loop that has not passed in five intervals (at least 5 s) is stuck.
    let stale_after = (s.auto_close_interval * 5).max(Duration::from_secs(5));
    let in_grace = uptime < stale_after;

    let (database, open) = match db {
        Ok((v, open)) => (
            Check::new(true, format!("sqlite reachable, schema v{v}")),
            Some(open),
        ),
        Err(e) => (Check::new(false, e.to_string()), None),
    };
    let database = match (inner.failure.get(), inner.failure.last_write.get()) {
        (Some(e), _) => Check::new(false, e),
        (None, Some((at, e))) => Check::new(
            false,
            format!(
                "the last write failed at {}: {e}; writes fail until one is stored",
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
        ),
        (None, None) => database,
    };
    let audit_log = match inner.audit.status() {
        AuditStatus::Ok => Check::new(true, "writable"),
        AuditStatus::Warning(w) => Check::warning(format!("writable; {w}")),
        AuditStatus::Failing(e) => Check::new(false, format!("not writable: {e}")),
    };
    let disk_space = crate::disk::check(
        &[
            ("data", crate::disk::folder_of(&s.database_path)),
            ("audit", crate::disk::folder_of(&s.audit_log_path)),
        ],
        s.disk_free_warn_mb,
    );

    let last_ok = *lock(&h.last_price_ok);
    let ok_age = last_ok.map(|t| age_s(now, t));
    let mut price_feed = match (ok_age, open) {
        (Some(a), _) if a <= stale_after.as_secs_f64() => {
            Check::new(true, format!("last quote {a:.1} s ago"))
        }
        (_, Some(0)) => Check::new(true, "no open position: no quote needed"),
        _ if in_grace => Check::new(true, "starting"),
        (Some(a), _) => Check::new(false, format!("no successful quote for {a:.1} s")),
        (None, _) => Check::new(false, "no successful quote yet"),
    };
    price_feed.last_success_age_s = ok_age;
    price_feed.last_error = lock(&h.last_price_error).clone();
    price_feed.errors_total = Some(h.price_errors.load(Ordering::Relaxed));

    let mut auto_close_loop = loop_check(
        LoopSeen {
            running: h.loop_running.load(Ordering::SeqCst),
            last_pass: *lock(&h.last_pass),
            last_failure: lock(&h.last_pass_failure).clone(),
            failed_passes: h.failed_passes.load(Ordering::Relaxed),
        },
        now,
        stale_after,
        in_grace,
    );

    // A flatten that cannot get flat fails the loop's check until it does.
    if oms.flattening()
        && let Some(left) = lock(&h.flatten_left).clone()
    {
        auto_close_loop.ok = false;
        auto_close_loop.detail = format!("flatten incomplete: {left}");
    }

    // Positions whose downtime could not be checked fail it until their bars come.
    if let Some(gap) = oms.0.gap.describe() {
        auto_close_loop.ok = false;
        auto_close_loop.detail = gap;
    }

    let stored_data = inner.stored.check(&oms.trading_state());
    let venue = inner.executor.as_ref().map(|_| {
        let doubts = lock(&inner.doubts);
        match doubts.values().next() {
            None => Check::new(true, "every order settled; positions match the venue"),
            Some(first) => Check::new(
                false,
                format!(
                    "entries held: {first}{}",
                    match doubts.len() {
                        1 => String::new(),
                        n => format!(" (and {} more)", n - 1),
                    }
                ),
            ),
        }
    });

    let ok = venue.as_ref().is_none_or(|v| v.ok)
        && database.ok
        && audit_log.ok
        && disk_space.ok
        && price_feed.ok
        && auto_close_loop.ok
        && stored_data.ok;
    HealthReport {
        ok,
        service: "CryptoNakCore LOMS",
        status: if ok { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        environment: s.environment.clone(),
        broker_mode: s.broker_mode.as_str(),
        oms_enabled: oms.enabled(),
        trading: oms.trading_state(),
        database_url: s.database_url.clone(),
        audit_log_path: s.audit_log_path.display().to_string(),
        price_source: s.price_source.as_str(),
        price_mode: s.price_mode.as_str(),
        price_exchange: s.price_exchange.clone(),
        exit_strategy: s.exit_strategy.clone(),
        uptime_s: uptime.as_secs(),
        open_positions: open,
        checks: Checks {
            database,
            audit_log,
            disk_space,
            price_feed,
            auto_close_loop,
            stored_data,
            venue,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(s: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn check(seen: LoopSeen, now: i64, in_grace: bool) -> Check {
        loop_check(seen, t(now), Duration::from_secs(5), in_grace)
    }

    #[test]
    fn failing_passes_are_named_as_such_not_as_missing_ones() {
        let failing = LoopSeen {
            running: true,
            last_failure: Some((t(9), "storage: disk I/O error".into())),
            failed_passes: 3,
            ..LoopSeen::default()
        };
        for in_grace in [false, true] {
            let c = check(failing.clone(), 10, in_grace);
            assert!(!c.ok, "a failing pass fails the check, grace or not");
            assert_eq!(
                c.detail,
                "passes failing (3 failed since start; no successful pass yet): storage: disk I/O error"
            );
            assert_eq!(c.last_error.as_deref(), Some("storage: disk I/O error"));
        }
        let after_a_success = LoopSeen {
            last_pass: Some((t(2), Duration::from_millis(4))),
            ..failing
        };
        let c = check(after_a_success.clone(), 10, false);
        assert!(c.detail.starts_with("passes failing"), "{}", c.detail);
        assert!(
            c.detail.contains("last successful pass 8.0 s ago"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn a_pass_after_the_failure_clears_it() {
        let seen = LoopSeen {
            running: true,
            last_pass: Some((t(9), Duration::from_millis(4))),
            last_failure: Some((t(8), "boom".into())),
            failed_passes: 1,
        };
        let c = check(seen, 10, false);
        assert!(c.ok, "{}", c.detail);
        assert_eq!(c.detail, "last pass 1.0 s ago");
        assert_eq!(c.last_error, None);
    }

    #[test]
    fn no_pass_at_all_and_a_stopped_loop() {
        let idle = LoopSeen {
            running: true,
            ..LoopSeen::default()
        };
        assert_eq!(check(idle.clone(), 10, false).detail, "no pass yet");
        assert!(check(idle, 10, true).ok, "starting");
        let c = check(LoopSeen::default(), 10, false);
        assert_eq!((c.ok, c.detail.as_str()), (false, "not running"));
    }
}
