//! The read-only pre-live checklist against Bitget (../shared/spec/bitget-live.md §7):
//! the one place both the live start-up gates and `loms-health --live` ask the venue
//! whether real money may go in. Every failed check is one line saying what to fix.
//!
//! Only one check writes: an account in hedge mode is switched to one-way mode when it
//! is flat and [`GateSettings::switch_to_one_way`] allows it.

use crate::client::BitgetClient;
use crate::error::BitgetError;
use rust_decimal::Decimal;
use std::time::Duration;

/// What the checks hold the venue to.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    /// The account UID the key must belong to (LIVE_ACCOUNT_UID).
    pub account_uid: String,
    /// The key must be a sub-account's (not the main account's).
    pub sub_account: bool,
    /// Equity above this is refused: it is not the 100 EUR sub-account
    /// (LIVE_MAX_EQUITY_USDT).
    pub max_equity_usdt: Decimal,
    /// Largest accepted distance between the local clock and the venue's.
    pub max_clock_skew: Duration,
    /// The symbol whose account settings are read (position mode, margin mode).
    pub symbol: String,
    /// Switch a flat hedge-mode account to one-way mode (start-up); `false` only reports
    /// (the read-only checklist).
    pub switch_to_one_way: bool,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateCheck {
    /// Short name (`clock`, `key`, `permissions`, `account`, `position_mode`, `equity`).
    pub name: &'static str,
    /// Passed?
    pub ok: bool,
    /// What was seen; on a failure, what to fix.
    pub detail: String,
    /// Failed only because Bitget could not be asked (network, 5xx, timeout): trying
    /// again later may pass.
    pub unreachable: bool,
}

fn check(name: &'static str, ok: bool, detail: impl Into<String>) -> GateCheck {
    GateCheck {
        name,
        ok,
        detail: detail.into(),
        unreachable: false,
    }
}

/// Permission codes a trading key needs: futures orders and positions, read-write.
const NEEDED: [&str; 2] = ["coow", "cpow"];

/// Run every check; the list is complete even when the venue cannot be reached (each
/// check then fails saying so).
pub fn run(client: &BitgetClient, s: &GateSettings) -> Vec<GateCheck> {
    let mut out = Vec::new();
    let unreachable = |name, e: &BitgetError| GateCheck {
        unreachable: e.retryable(),
        ..check(name, false, cannot_ask(e))
    };

    out.push(match client.sync_time() {
        Ok(offset) => {
            let skew = Duration::from_millis(offset.unsigned_abs());
            if skew <= s.max_clock_skew {
                check("clock", true, format!("{offset} ms off Bitget's clock"))
            } else {
                check(
                    "clock",
                    false,
                    format!(
                        "the local clock is {offset} ms off Bitget's (at most {} ms): fix the time sync (timedatectl, chrony)",
                        s.max_clock_skew.as_millis()
                    ),
                )
            }
        }
        Err(e) => unreachable("clock", &e),
    });

    match client.key_info() {
        Ok(k) => {
            out.push(if k.user_id != s.account_uid {
                check(
                    "key",
                    false,
                    format!(
                        "the key belongs to account {}, LIVE_ACCOUNT_UID is {}: use the sub-account's key or fix the setting",
                        k.user_id, s.account_uid
                    ),
                )
            } else if s.sub_account && k.is_main_account() {
                check(
                    "key",
                    false,
                    format!(
                        "the key is a main-account key (account {}): create the key on the dedicated sub-account",
                        k.user_id
                    ),
                )
            } else {
                check("key", true, format!("account {}", k.user_id))
            });
            let dangerous = k.dangerous_permissions();
            let missing: Vec<&str> = NEEDED
                .into_iter()
                .filter(|n| !k.authorities.iter().any(|a| a.eq_ignore_ascii_case(n)))
                .collect();
            out.push(if !dangerous.is_empty() {
                check(
                    "permissions",
                    false,
                    format!(
                        "the key may withdraw, transfer or manage sub-accounts ({}): create a key with futures trading only",
                        dangerous.join(", ")
                    ),
                )
            } else if !missing.is_empty() {
                check(
                    "permissions",
                    false,
                    format!(
                        "the key cannot trade futures (missing {}): give it futures orders and positions read-write",
                        missing.join(", ")
                    ),
                )
            } else {
                let ips = if k.ips.is_empty() {
                    "no IP whitelist (Bitget recommends binding the key to the server's IP)"
                } else {
                    "IP whitelist set"
                };
                check("permissions", true, format!("{}; {ips}", k.authorities.join(", ")))
            });
        }
        Err(e) => {
            out.push(unreachable("key", &e));
            out.push(unreachable("permissions", &e));
        }
    }

    match client.account(&s.symbol) {
        Ok(a) => {
            out.push(check("account", true, "Classic futures account"));
            out.push(position_mode(client, s, a.one_way()));
            out.push(if a.equity > s.max_equity_usdt {
                check(
                    "equity",
                    false,
                    format!(
                        "equity {} USDT is above LIVE_MAX_EQUITY_USDT {}: is this the main account? Use the dedicated sub-account",
                        a.equity.normalize(),
                        s.max_equity_usdt
                    ),
                )
            } else {
                check("equity", true, format!("{} USDT", a.equity.normalize()))
            });
        }
        Err(e) if matches!(&e, BitgetError::Venue { code, .. } if code == "40085") => {
            out.push(check(
                "account",
                false,
                "the account is a Unified Trading Account: LOMS speaks the Classic API; use a Classic sub-account",
            ));
        }
        Err(e) => {
            for name in ["account", "position_mode", "equity"] {
                out.push(unreachable(name, &e));
            }
        }
    }
    out
}

/// Why a check could not be made; a refused key says which settings to look at.
fn cannot_ask(e: &BitgetError) -> String {
    if e.class() == Some(crate::codes::ErrorClass::Auth) {
        format!(
            "cannot ask Bitget: {e}: check BITGET_API_KEY, BITGET_API_SECRET and BITGET_API_PASSPHRASE (a demo key needs BITGET_DEMO=true, a live key BITGET_DEMO=false)"
        )
    } else {
        format!("cannot ask Bitget: {e}")
    }
}

/// One-way mode, or switched to it when flat and allowed.
fn position_mode(client: &BitgetClient, s: &GateSettings, one_way: bool) -> GateCheck {
    if one_way {
        return check("position_mode", true, "one-way mode");
    }
    if !s.switch_to_one_way {
        return check(
            "position_mode",
            false,
            "the account is in hedge mode: LOMS switches it to one-way mode at a live start when nothing is open",
        );
    }
    match client.positions() {
        Ok(p) if p.is_empty() => match client.set_one_way() {
            Ok(()) => check("position_mode", true, "switched from hedge to one-way mode"),
            Err(e) => check(
                "position_mode",
                false,
                format!("hedge mode, and the switch to one-way mode was refused: {e}"),
            ),
        },
        Ok(p) => check(
            "position_mode",
            false,
            format!(
                "hedge mode with {} open position(s): close them, then start again (LOMS trades in one-way mode only)",
                p.len()
            ),
        ),
        Err(e) => check("position_mode", false, cannot_ask(&e)),
    }
}
