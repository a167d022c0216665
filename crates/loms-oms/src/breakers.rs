//! Circuit breakers, paper and live alike: MAX_DAILY_LOSS_USDT (net realised PnL since
//! 00:00 UTC, fees included) and MAX_CONSECUTIVE_LOSSES (with LOSS_COOLDOWN_MIN).
//!
//! The writer feeds every close it stores ([`Breakers::on_close`]); a breaker that trips
//! switches the trading mode to `entries_off` in the same transaction, with the reason
//! as `set_by` (so /health, the log and /metrics say why, and a restart keeps it). Only
//! an operator switches entries back on — not while a loss streak's cooldown runs — and
//! doing so re-arms the breakers: they count from that moment (`breakers_armed_at` in
//! `kv_state`), so an operator's decision is not undone by the losses it already saw.

use crate::OmsError;
use crate::publish::Event;
use crate::trading::{STATE_KEY, TradingMode, TradingState};
use loms_domain::{Decimal, Timestamp};
use loms_storage::{StorageError, Store, Tx};

/// The `kv_state` key of the time the breakers count from.
pub(crate) const ARMED_KEY: &str = "breakers_armed_at";

/// The breakers' limits (settings).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BreakerLimits {
    /// MAX_DAILY_LOSS_USDT (`None`: off).
    pub(crate) max_daily_loss: Option<Decimal>,
    /// MAX_CONSECUTIVE_LOSSES (`None`: off).
    pub(crate) max_losses: Option<u32>,
    /// LOSS_COOLDOWN_MIN: entries stay off at least this long after the last loss of a
    /// streak that tripped.
    pub(crate) cooldown: chrono::Duration,
}

impl BreakerLimits {
    /// The limits the settings set.
    pub(crate) fn from_settings(s: &loms_config::Settings) -> Self {
        Self {
            max_daily_loss: s.max_daily_loss_usdt,
            max_losses: s.max_consecutive_losses,
            cooldown: chrono::Duration::from_std(s.loss_cooldown).unwrap_or_default(),
        }
    }
}

/// What the breakers have counted since they were armed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Breakers {
    armed: Timestamp,
    /// The UTC day `net_today` is of.
    day: chrono::NaiveDate,
    net_today: Decimal,
    streak: u32,
    last_loss: Option<Timestamp>,
}

/// A breaker that tripped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trip {
    /// `daily_loss` or `consecutive_losses`.
    pub(crate) breaker: &'static str,
    /// Why, in words.
    pub(crate) reason: String,
}

fn midnight(t: Timestamp) -> Timestamp {
    t.date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

impl Breakers {
    /// What the stored closes since the breakers were armed say, at `now`.
    ///
    /// # Errors
    /// [`StorageError`] when the closes cannot be read.
    pub(crate) fn load(store: &Store, now: Timestamp) -> Result<Self, StorageError> {
        // Unreadable or never armed: every close counts (the stricter reading).
        let armed = store
            .state(ARMED_KEY)?
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let mut b = Breakers {
            armed,
            day: now.date_naive(),
            net_today: Decimal::ZERO,
            streak: 0,
            last_loss: None,
        };
        let today = midnight(now).max(armed);
        let mut in_streak = true;
        store.closed_pnl_newest_first(armed, |pnl, at| {
            if at >= today {
                b.net_today += pnl;
            }
            if in_streak && pnl < Decimal::ZERO {
                b.streak += 1;
                b.last_loss = b.last_loss.or(Some(at));
            } else {
                in_streak = false;
            }
            in_streak || at >= today
        })?;
        Ok(b)
    }

    /// Count a close of `pnl` at `at`; the breaker that trips, if one does.
    pub(crate) fn on_close(
        &mut self,
        limits: &BreakerLimits,
        pnl: Decimal,
        at: Timestamp,
    ) -> Option<Trip> {
        if at < self.armed {
            return None;
        }
        let day = at.date_naive();
        if day > self.day {
            self.day = day;
            self.net_today = Decimal::ZERO;
        }
        if day == self.day {
            self.net_today += pnl;
        }
        if pnl < Decimal::ZERO {
            self.streak += 1;
            self.last_loss = Some(at);
        } else {
            self.streak = 0;
        }
        if let Some(max) = limits.max_daily_loss
            && self.net_today <= -max
        {
            return Some(Trip {
                breaker: "daily_loss",
                reason: format!(
                    "net realised PnL today {} USDT reached MAX_DAILY_LOSS_USDT={max}",
                    self.net_today.normalize()
                ),
            });
        }
        if let Some(max) = limits.max_losses
            && self.streak >= max
        {
            return Some(Trip {
                breaker: "consecutive_losses",
                reason: format!(
                    "{} in a row reached MAX_CONSECUTIVE_LOSSES={max}; entries may be \
                     switched back on after {}",
                    match self.streak {
                        1 => "1 loss".to_string(),
                        n => format!("{n} losses"),
                    },
                    (at + limits.cooldown).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            });
        }
        None
    }

    /// Until when a loss streak that reached its limit keeps entries off.
    pub(crate) fn cooldown_until(&self, limits: &BreakerLimits) -> Option<Timestamp> {
        let max = limits.max_losses?;
        (self.streak >= max)
            .then_some(self.last_loss)
            .flatten()
            .map(|t| t + limits.cooldown)
    }

    /// An operator set the trading mode at `now`: count afresh from then on, and store
    /// that time in `tx` (the same transaction as the mode).
    ///
    /// # Errors
    /// [`OmsError::Storage`].
    pub(crate) fn rearm(&mut self, tx: &Tx<'_>, now: Timestamp) -> Result<(), OmsError> {
        tx.set_state(ARMED_KEY, &now.to_rfc3339(), now)?;
        *self = Breakers {
            armed: now,
            day: now.date_naive(),
            net_today: Decimal::ZERO,
            streak: 0,
            last_loss: None,
        };
        Ok(())
    }
}

/// Feed the closes among `new` (the events of one command) to the breakers; one that
/// trips while entries may open switches them off (stored in `tx`).
///
/// # Errors
/// [`OmsError::Storage`] when the new mode cannot be stored.
pub(crate) fn after_command(
    limits: &BreakerLimits,
    book: &mut crate::book::Book,
    tx: &Tx<'_>,
    new: &[Event],
    now: Timestamp,
) -> Result<Vec<Event>, OmsError> {
    let mut out = Vec::new();
    for e in new {
        let Event::Closed(c) = e else { continue };
        let (pnl, at) = c.result();
        let Some(trip) = book.breakers.on_close(limits, pnl, at) else {
            continue;
        };
        if !book.trading.mode.signals_may_open() {
            continue;
        }
        let state = TradingState {
            mode: TradingMode::EntriesOff,
            since: now,
            set_by: format!("breaker {}: {}", trip.breaker, trip.reason),
        };
        let json = serde_json::to_string(&state).map_err(|e| OmsError::Storage(e.to_string()))?;
        tx.set_state(STATE_KEY, &json, now)?;
        book.trading = state;
        out.push(Event::Log(format!(
            "breaker_tripped breaker={} reason=\"{}\" trading_mode=entries_off",
            trip.breaker, trip.reason
        )));
        out.push(Event::Breaker(trip.breaker));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn t(h: u32, m: u32) -> Timestamp {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
            .and_utc()
    }

    fn fresh(armed: Timestamp) -> Breakers {
        Breakers {
            armed,
            day: armed.date_naive(),
            net_today: Decimal::ZERO,
            streak: 0,
            last_loss: None,
        }
    }

    #[test]
    fn the_daily_loss_counts_net_results_of_the_utc_day_only() {
        let l = BreakerLimits {
            max_daily_loss: Some(dec!(10)),
            ..Default::default()
        };
        let mut b = fresh(t(0, 0) - chrono::Duration::days(1));
        b.day = t(0, 0).date_naive() - chrono::Days::new(1);
        assert_eq!(
            b.on_close(&l, dec!(-9), t(0, 0) - chrono::Duration::minutes(1)),
            None
        );
        // A new day starts from zero.
        assert_eq!(b.on_close(&l, dec!(-6), t(9, 0)), None);
        assert_eq!(b.on_close(&l, dec!(2), t(10, 0)), None);
        let trip = b.on_close(&l, dec!(-6), t(11, 0)).expect("-10 reached");
        assert_eq!(trip.breaker, "daily_loss");
        assert!(trip.reason.contains("-10 USDT"), "{}", trip.reason);
    }

    #[test]
    fn a_loss_streak_trips_and_its_cooldown_runs_from_the_last_loss() {
        let l = BreakerLimits {
            max_losses: Some(3),
            cooldown: chrono::Duration::minutes(60),
            ..Default::default()
        };
        let mut b = fresh(t(0, 0));
        assert_eq!(b.on_close(&l, dec!(-1), t(1, 0)), None);
        assert_eq!(b.on_close(&l, dec!(-1), t(2, 0)), None);
        assert_eq!(
            b.on_close(&l, dec!(0.5), t(3, 0)),
            None,
            "a win ends the streak"
        );
        assert_eq!(b.on_close(&l, dec!(-1), t(4, 0)), None);
        assert_eq!(b.on_close(&l, dec!(-1), t(5, 0)), None);
        assert_eq!(b.cooldown_until(&l), None);
        let trip = b.on_close(&l, dec!(-1), t(6, 0)).expect("3 in a row");
        assert_eq!(trip.breaker, "consecutive_losses");
        assert_eq!(b.cooldown_until(&l), Some(t(7, 0)));
        // Closes from before the breakers were armed do not count.
        let mut later = fresh(t(12, 0));
        assert_eq!(later.on_close(&l, dec!(-50), t(11, 0)), None);
        assert_eq!(later.streak, 0);
    }

    #[test]
    fn off_breakers_never_trip() {
        let mut b = fresh(t(0, 0));
        for h in 1..20 {
            assert_eq!(
                b.on_close(&BreakerLimits::default(), dec!(-100), t(h, 0)),
                None
            );
        }
    }
}
