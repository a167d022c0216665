//! Injected time, so that exits, ages and day boundaries are testable without sleeping.
//!
//! Every time LOMS hands out is whole microseconds: that is what storage keeps, so an
//! answer shows exactly what a later read of the stored row shows.

use crate::Timestamp;
use chrono::Timelike;
use std::sync::Mutex;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current UTC time, in whole microseconds (see [`to_micros`]).
    fn now(&self) -> Timestamp;
}

/// `t` cut to whole microseconds, the precision storage keeps. A leap second
/// (`23:59:60.x`, which storage cannot write) becomes `23:59:59.x`.
pub fn to_micros(t: Timestamp) -> Timestamp {
    let micros = t.nanosecond() % 1_000_000_000 / 1_000;
    t.with_nanosecond(micros * 1_000).unwrap_or(t)
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        to_micros(chrono::Utc::now())
    }
}

/// A clock that only moves when told to (tests, replay).
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// A clock frozen at `t`.
    pub fn new(t: Timestamp) -> Self {
        Self(Mutex::new(t))
    }
    /// Set the time.
    pub fn set(&self, t: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
    /// Move the time forward.
    pub fn advance(&self, d: chrono::Duration) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *g += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        to_micros(*self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn clocks_hand_out_whole_microseconds() {
        let t = chrono::Utc.with_ymd_and_hms(2025, 12, 1, 10, 5, 0).unwrap()
            + chrono::Duration::nanoseconds(226_094_347);
        assert_eq!(ManualClock::new(t).now().nanosecond(), 226_094_000);
        assert_eq!(SystemClock.now().nanosecond() % 1_000, 0);
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_999)
            .unwrap()
            .and_utc();
        assert_eq!(to_micros(leap).nanosecond(), 500_000_000);
        assert_eq!(to_micros(leap).second(), 59);
    }
}
