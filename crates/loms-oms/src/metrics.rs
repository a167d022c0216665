//! Counters for `GET /metrics` (Prometheus text format). Lock-free on the hot path
//! except the labelled counters, which take a short mutex.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the request latency histogram, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Labelled counter: label value → count.
#[derive(Debug, Default)]
struct Labelled(Mutex<BTreeMap<&'static str, u64>>);

impl Labelled {
    fn inc(&self, label: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(label)
            .or_default() += 1;
    }
    fn render(&self, out: &mut String, name: &str, label: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (k, v) in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "{name}{{{label}=\"{k}\"}} {v}");
        }
    }
}

/// Every metric LOMS exports.
#[derive(Debug, Default)]
pub struct Metrics {
    signals: Labelled,
    risk_blocks: Labelled,
    closes: Labelled,
    breaker_trips: Labelled,
    pub(crate) open_positions: AtomicU64,
    price_errors: AtomicU64,
    flatten_left: AtomicU64,
    pass_count: AtomicU64,
    pass_micros_sum: AtomicU64,
    pass_micros_last: AtomicU64,
    req_buckets: [AtomicU64; BUCKETS.len()],
    req_count: AtomicU64,
    req_micros_sum: AtomicU64,
}

impl Metrics {
    pub(crate) fn signal(&self, outcome: &'static str) {
        self.signals.inc(outcome);
    }
    pub(crate) fn risk_block(&self, scope: &'static str) {
        self.risk_blocks.inc(scope);
    }
    pub(crate) fn closed(&self, reason: &'static str) {
        self.closes.inc(reason);
    }
    pub(crate) fn breaker_tripped(&self, breaker: &'static str) {
        self.breaker_trips.inc(breaker);
    }
    pub(crate) fn price_error(&self) {
        self.price_errors.fetch_add(1, Ordering::Relaxed);
    }
    /// Positions the last step of a flatten left open.
    pub(crate) fn flatten_left(&self, n: u64) {
        self.flatten_left.store(n, Ordering::Relaxed);
    }
    pub(crate) fn pass(&self, took: std::time::Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.pass_count.fetch_add(1, Ordering::Relaxed);
        self.pass_micros_sum.fetch_add(us, Ordering::Relaxed);
        self.pass_micros_last.store(us, Ordering::Relaxed);
    }

    /// Record one HTTP request's latency.
    pub fn observe_request(&self, took: std::time::Duration) {
        let s = took.as_secs_f64();
        for (b, bound) in self.req_buckets.iter().zip(BUCKETS) {
            if s <= bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.req_count.fetch_add(1, Ordering::Relaxed);
        self.req_micros_sum.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Prometheus text exposition; `breaker` is the circuit breaker that switched
    /// entries off, while the trading mode it set is in force.
    pub fn render(&self, trading_mode: &str, breaker: Option<&str>) -> String {
        let mut out = String::with_capacity(4096);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        self.signals.render(
            &mut out,
            "loms_signals_total",
            "outcome",
            "Signals received, by outcome.",
        );
        self.risk_blocks.render(
            &mut out,
            "loms_risk_blocks_total",
            "scope",
            "Signals refused by a risk limit, by scope.",
        );
        self.closes.render(
            &mut out,
            "loms_positions_closed_total",
            "reason",
            "Positions closed, by reason.",
        );
        self.breaker_trips.render(
            &mut out,
            "loms_breaker_trips_total",
            "breaker",
            "Circuit breakers tripped since start, by breaker.",
        );
        if let Some(b) = breaker {
            let _ = writeln!(
                out,
                "# HELP loms_breaker_in_force The circuit breaker whose entries_off is in force (1).\n# TYPE loms_breaker_in_force gauge\nloms_breaker_in_force{{breaker=\"{b}\"}} 1"
            );
        }
        let _ = writeln!(
            out,
            "# HELP loms_open_positions Open positions.\n# TYPE loms_open_positions gauge\nloms_open_positions {}",
            get(&self.open_positions)
        );
        let _ = writeln!(
            out,
            "# HELP loms_price_errors_total Quotes that could not be had or used.\n# TYPE loms_price_errors_total counter\nloms_price_errors_total {}",
            get(&self.price_errors)
        );
        let _ = writeln!(
            out,
            "# HELP loms_flatten_left_positions Positions the last step of a flatten could not close (0 when flat or not flattening).\n# TYPE loms_flatten_left_positions gauge\nloms_flatten_left_positions {}",
            get(&self.flatten_left)
        );
        let _ = writeln!(
            out,
            "# HELP loms_auto_close_pass_seconds Duration of auto-close passes.\n# TYPE loms_auto_close_pass_seconds summary\nloms_auto_close_pass_seconds_sum {}\nloms_auto_close_pass_seconds_count {}",
            get(&self.pass_micros_sum) as f64 / 1e6,
            get(&self.pass_count)
        );
        let _ = writeln!(
            out,
            "# HELP loms_auto_close_pass_last_seconds Duration of the last auto-close pass.\n# TYPE loms_auto_close_pass_last_seconds gauge\nloms_auto_close_pass_last_seconds {}",
            get(&self.pass_micros_last) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP loms_http_request_duration_seconds HTTP request latency.\n# TYPE loms_http_request_duration_seconds histogram"
        );
        for (b, bound) in self.req_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "loms_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                get(b)
            );
        }
        let count = get(&self.req_count);
        let _ = writeln!(
            out,
            "loms_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nloms_http_request_duration_seconds_sum {}\nloms_http_request_duration_seconds_count {count}",
            get(&self.req_micros_sum) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP loms_trading_mode Current trading mode (1 = in force).\n# TYPE loms_trading_mode gauge\nloms_trading_mode{{mode=\"{trading_mode}\"}} 1"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.signal("opened");
        m.signal("opened");
        m.risk_block("total");
        m.closed("tp");
        m.observe_request(Duration::from_micros(300));
        m.observe_request(Duration::from_millis(30));
        let text = m.render("active", None);
        assert!(
            text.contains("loms_signals_total{outcome=\"opened\"} 2"),
            "{text}"
        );
        assert!(text.contains("loms_risk_blocks_total{scope=\"total\"} 1"));
        assert!(text.contains("loms_positions_closed_total{reason=\"tp\"} 1"));
        assert!(text.contains("loms_http_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("loms_http_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("loms_http_request_duration_seconds_count 2"));
        assert!(text.contains("loms_trading_mode{mode=\"active\"} 1"));
    }
}
