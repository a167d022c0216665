//! The runtime kill switch: what the OMS may do now, since when, and who said so. One
//! definition for the server, its storage and its clients.

use crate::{DomainError, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Trading mode, set with `POST /admin/oms` and kept across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradingMode {
    /// Everything runs.
    Active,
    /// Signals open nothing (they are still recorded); exits and manual orders go on.
    EntriesOff,
    /// Nothing may open, neither signals nor manual orders; exits go on.
    ReduceOnly,
    /// Close every open position now, then stay like `reduce_only`.
    Flatten,
}

impl TradingMode {
    /// Every mode.
    pub const ALL: [TradingMode; 4] = [
        Self::Active,
        Self::EntriesOff,
        Self::ReduceOnly,
        Self::Flatten,
    ];

    /// Accepted names, for error messages.
    pub const ACCEPTED: &'static str = "active, entries_off, reduce_only, flatten";

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::EntriesOff => "entries_off",
            Self::ReduceOnly => "reduce_only",
            Self::Flatten => "flatten",
        }
    }
    /// May a signal open a position?
    pub fn signals_may_open(self) -> bool {
        self == Self::Active
    }
    /// May an operator's order open a position?
    pub fn orders_may_open(self) -> bool {
        matches!(self, Self::Active | Self::EntriesOff)
    }
}

impl fmt::Display for TradingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TradingMode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" | "on" => Ok(Self::Active),
            "entries_off" | "off" => Ok(Self::EntriesOff),
            "reduce_only" => Ok(Self::ReduceOnly),
            "flatten" => Ok(Self::Flatten),
            _ => Err(DomainError::Invalid(format!(
                "mode must be one of {}, got {s:?}",
                Self::ACCEPTED
            ))),
        }
    }
}

/// The trading state: mode, since when, set by whom (`config`, `cli`, `api`...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradingState {
    /// Current mode.
    pub mode: TradingMode,
    /// When it was set.
    pub since: Timestamp,
    /// Who set it.
    pub set_by: String,
}

impl TradingState {
    /// Why a signal opened nothing, for its answer.
    pub fn refusal(&self) -> String {
        if self.set_by == "config" && self.mode == TradingMode::EntriesOff {
            "OMS disabled via config".to_string()
        } else {
            format!(
                "OMS disabled: trading mode {} (set by {} at {})",
                self.mode,
                self.set_by,
                self.since
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        }
    }

    /// The state at start: the stored one if any; OMS_ENABLED=false forces `entries_off`
    /// over a stored `active`. A stored state that cannot be read (`stored` is an error,
    /// or its text does not parse) fails closed: [`TradingState::fail_closed`], with
    /// the reason as the second value.
    pub fn at_start(
        stored: Result<Option<&str>, String>,
        oms_enabled: bool,
        now: Timestamp,
    ) -> (Self, Option<String>) {
        let stored = match stored {
            Ok(None) => None,
            Ok(Some(text)) => match serde_json::from_str::<TradingState>(text) {
                Ok(s) => Some(s),
                Err(e) => {
                    let why = format!("stored trading state {text:?} is unreadable ({e})");
                    return (Self::fail_closed(now), Some(why));
                }
            },
            Err(e) => {
                let why = format!("stored trading state cannot be read ({e})");
                return (Self::fail_closed(now), Some(why));
            }
        };
        let state = match stored {
            Some(s) if s.mode != TradingMode::Active || oms_enabled => s,
            _ => TradingState {
                mode: if oms_enabled {
                    TradingMode::Active
                } else {
                    TradingMode::EntriesOff
                },
                since: now,
                set_by: "config".into(),
            },
        };
        (state, None)
    }

    /// What LOMS falls back to when it cannot trust what is stored (an unreadable
    /// trading state, an open position it cannot read): `reduce_only`, the strictest
    /// mode that does not act by itself — nothing opens, exits go on — set by
    /// [`SET_BY_STARTUP`].
    pub fn fail_closed(now: Timestamp) -> Self {
        TradingState {
            mode: TradingMode::ReduceOnly,
            since: now,
            set_by: SET_BY_STARTUP.into(),
        }
    }
}

/// `set_by` of the state LOMS falls back to at start ([`TradingState::fail_closed`]).
pub const SET_BY_STARTUP: &str = "startup";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_state_survives_and_config_can_only_make_it_stricter() {
        let t = chrono::DateTime::UNIX_EPOCH;
        let off = TradingState {
            mode: TradingMode::ReduceOnly,
            since: t,
            set_by: "cli".into(),
        };
        let json = serde_json::to_string(&off).unwrap();
        assert_eq!(
            TradingState::at_start(Ok(Some(&json)), true, t),
            (off, None)
        );
        let on = serde_json::to_string(&TradingState {
            mode: TradingMode::Active,
            since: t,
            set_by: "cli".into(),
        })
        .unwrap();
        assert_eq!(
            TradingState::at_start(Ok(Some(&on)), false, t).0.mode,
            TradingMode::EntriesOff
        );
        assert_eq!(
            TradingState::at_start(Ok(None), true, t).0.mode,
            TradingMode::Active
        );
        assert!("sideways".parse::<TradingMode>().is_err());
        assert!(
            !TradingMode::EntriesOff.signals_may_open()
                && TradingMode::EntriesOff.orders_may_open()
        );
        assert!(!TradingMode::Flatten.orders_may_open());
    }

    #[test]
    fn an_unreadable_stored_state_fails_closed_with_its_reason() {
        let t = chrono::DateTime::UNIX_EPOCH;
        for stored in [Ok(Some("garbage")), Err("disk I/O error".to_string())] {
            for oms_enabled in [true, false] {
                let (state, why) = TradingState::at_start(stored.clone(), oms_enabled, t);
                assert_eq!(state, TradingState::fail_closed(t));
                assert!(!state.mode.signals_may_open() && !state.mode.orders_may_open());
                assert_eq!(state.set_by, SET_BY_STARTUP);
                let why = why.unwrap();
                assert!(
                    why.contains("garbage") || why.contains("disk I/O error"),
                    "{why}"
                );
            }
        }
        // A valid state with a mode this build does not know is unreadable too.
        let odd = r#"{"mode":"sideways","since":"1970-01-01T00:00:00Z","set_by":"cli"}"#;
        assert_eq!(
            TradingState::at_start(Ok(Some(odd)), true, t).0.mode,
            TradingMode::ReduceOnly
        );
    }
}
