//! The circuit breakers (paper and live alike): the settings that switch entries off
//! after losses, until an operator switches them back on.

use crate::keys::{KeySpec, Reject};
use crate::values::{optional, positive_amount, whole_between};
use std::time::Duration;

/// The keys of the "Circuit breakers" group, appended to [`crate::KEYS`].
pub(crate) const BREAKER_KEYS: &[KeySpec] = &[
    KeySpec {
        name: "MAX_DAILY_LOSS_USDT",
        group: "Circuit breakers",
        default: "none",
        accepted: "a number > 0 (at most 1e12), or none/null/off/empty for no limit",
        doc: "Switch entries off once the net realised PnL since 00:00 UTC (fees included) is a loss of this many USDT or more; paper and live alike.",
        apply: |d, v| {
            d.s.max_daily_loss_usdt = optional(v, positive_amount)?;
            Ok(())
        },
    },
    KeySpec {
        name: "MAX_CONSECUTIVE_LOSSES",
        group: "Circuit breakers",
        default: "none",
        accepted: "a whole number from 1 to 100, or none/null/off/empty for no limit",
        doc: "Switch entries off after this many losing closes in a row (net of fees); paper and live alike.",
        apply: |d, v| {
            d.s.max_consecutive_losses = optional(v, |t| {
                u32::try_from(whole_between(t, 1, 100)?).map_err(|_| Reject::Invalid)
            })?;
            Ok(())
        },
    },
    KeySpec {
        name: "LOSS_COOLDOWN_MIN",
        group: "Circuit breakers",
        default: "60",
        accepted: "a whole number of minutes from 1 to 10080 (one week)",
        doc: "The cooldown of MAX_CONSECUTIVE_LOSSES: how long entries stay off after it trips.",
        apply: |d, v| {
            d.s.loss_cooldown = Duration::from_secs(60 * whole_between(v, 1, 10_080)?);
            Ok(())
        },
    },
];
