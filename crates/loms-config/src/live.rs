//! The live trading settings (`BROKER_MODE=live`: orders go to Bitget USDT-M futures):
//! their keys and the rules they must satisfy together with the price settings.

use crate::keys::{KeySpec, Reject};
use crate::values::{optional, parse_bool, plain_path, positive_amount, whole_between};
use crate::{BrokerMode, PriceSourceKind, Problem, Secret, Settings};
use std::time::Duration;

/// The only value of `LIVE_CONFIRM` that allows real orders.
pub const LIVE_CONFIRM_PHRASE: &str = "I_UNDERSTAND_REAL_ORDERS";

/// `LIVE_CONFIRM`: unset (a "none" word) is false, the exact phrase is true, anything
/// else is refused so that a typo or a `true` never passes for a confirmation.
fn live_confirm(v: &str) -> Result<bool, Reject> {
    match optional(v, |t| {
        if t == LIVE_CONFIRM_PHRASE {
            Ok(())
        } else {
            Err(Reject::Because(format!(
                "to allow real orders set exactly LIVE_CONFIRM={LIVE_CONFIRM_PHRASE}"
            )))
        }
    })? {
        Some(()) => Ok(true),
        None => Ok(false),
    }
}

/// A Bitget account UID: 1 to 32 ASCII digits.
fn account_uid(v: &str) -> Result<String, Reject> {
    if (1..=32).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(v.to_string())
    } else {
        Err(Reject::Because("not a string of digits".into()))
    }
}

/// Accepted text of the three Bitget API key parts.
const CREDENTIAL: &str = "none, or the value as Bitget showed it (printable ASCII)";

/// The names of the three parts of a Bitget API key, in the order of [`Settings`].
pub(crate) const CREDENTIAL_KEYS: [&str; 3] = [
    "BITGET_API_KEY",
    "BITGET_API_SECRET",
    "BITGET_API_PASSPHRASE",
];

/// One part of an API key: unset, or printable ASCII (inner spaces allowed), trimmed.
fn credential(v: &str) -> Result<Option<Secret>, Reject> {
    optional(v, |t| {
        let t = t.trim();
        if t.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            Ok(Secret::new(t))
        } else {
            Err(Reject::Because("not printable ASCII".into()))
        }
    })
}

/// A whole number of milliseconds from `min` to `max`.
fn millis(v: &str, min: u64, max: u64) -> Result<Duration, Reject> {
    whole_between(v, min, max).map(Duration::from_millis)
}

/// The keys of the "Live trading" group, appended to [`crate::KEYS`].
pub(crate) const LIVE_KEYS: &[KeySpec] = &[
    KeySpec {
        name: "BITGET_API_KEY",
        group: "Live trading",
        default: "none",
        accepted: CREDENTIAL,
        doc: "Bitget API key of the trading sub-account (BROKER_MODE=live). Set it with BITGET_API_SECRET and BITGET_API_PASSPHRASE, or use BITGET_SECRETS_FILE. Never logged or shown.",
        apply: |d, v| {
            d.s.bitget_api_key = credential(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "BITGET_API_SECRET",
        group: "Live trading",
        default: "none",
        accepted: CREDENTIAL,
        doc: "Secret of the Bitget API key (signs every private request). Never logged or shown.",
        apply: |d, v| {
            d.s.bitget_api_secret = credential(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "BITGET_API_PASSPHRASE",
        group: "Live trading",
        default: "none",
        accepted: CREDENTIAL,
        doc: "Passphrase chosen when the Bitget API key was created. Never logged or shown.",
        apply: |d, v| {
            d.s.bitget_api_passphrase = credential(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "BITGET_SECRETS_FILE",
        group: "Live trading",
        default: "none",
        accepted: "none, or a file path",
        doc: "File of NAME=value lines holding BITGET_API_KEY, BITGET_API_SECRET and BITGET_API_PASSPHRASE, used when they are not all set as settings; it must be readable and writable only by its owner (chmod 600), checked when live trading starts.",
        apply: |d, v| {
            d.s.bitget_secrets_file = optional(v, plain_path)?;
            Ok(())
        },
    },
    KeySpec {
        name: "BITGET_DEMO",
        group: "Live trading",
        default: "false",
        accepted: "true/false, 1/0, yes/no, on/off (any case)",
        doc: "Use Bitget's demo trading (header paptrading: 1) with a demo API key: the same code path as real trading, without real money.",
        apply: |d, v| {
            d.s.bitget_demo = parse_bool(v).ok_or(Reject::Invalid)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_LEVERAGE",
        group: "Live trading",
        default: "1",
        accepted: "a whole number from 1 to 20",
        doc: "Leverage set on each symbol (isolated margin) before its first live order.",
        apply: |d, v| {
            d.s.live_leverage =
                u32::try_from(whole_between(v, 1, 20)?).map_err(|_| Reject::Invalid)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_ACK_TIMEOUT_MS",
        group: "Live trading",
        default: "2000",
        accepted: "a whole number of milliseconds from 0 to 30000",
        doc: "How long the answer to a live signal waits for the outcome of its order before answering with the status known so far (0: answer at once).",
        apply: |d, v| {
            d.s.live_ack_timeout = millis(v, 0, 30_000)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_RESOLVE_INTERVAL_MS",
        group: "Live trading",
        default: "2000",
        accepted: "a whole number of milliseconds from 100 to 600000",
        doc: "How often an order whose outcome is unknown (timeout, 5xx, lost answer) is looked up on the venue by its client order id.",
        apply: |d, v| {
            d.s.live_resolve_interval = millis(v, 100, 600_000)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_EXEC_WORKERS",
        group: "Live trading",
        default: "4",
        accepted: "a whole number from 1 to 64",
        doc: "Threads sending orders to the venue (the writer never waits on them).",
        apply: |d, v| {
            d.s.live_exec_workers =
                usize::try_from(whole_between(v, 1, 64)?).map_err(|_| Reject::Invalid)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_CONFIRM",
        group: "Live trading",
        default: "none",
        accepted: "none, or exactly I_UNDERSTAND_REAL_ORDERS",
        doc: "Confirmation that BROKER_MODE=live sends real orders with real money: loms-server refuses to start live without it. Any other value is refused.",
        apply: |d, v| {
            d.s.live_confirm = live_confirm(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_ACCOUNT_UID",
        group: "Live trading",
        default: "none",
        accepted: "none, or the account UID (digits)",
        doc: "UID of the Bitget account the API key must belong to (the sub-account's UID, shown in Bitget's sub-account list); loms-server refuses to start live when it is not set or the key's UID differs.",
        apply: |d, v| {
            d.s.live_account_uid = optional(v, account_uid)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_SUB_ACCOUNT",
        group: "Live trading",
        default: "true",
        accepted: "true/false, 1/0, yes/no, on/off (any case)",
        doc: "The API key must be a sub-account's: loms-server refuses to start live with a main-account key while this is true.",
        apply: |d, v| {
            d.s.live_sub_account = parse_bool(v).ok_or(Reject::Invalid)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_MAX_EQUITY_USDT",
        group: "Live trading",
        default: "200",
        accepted: "a number > 0 (at most 1e12)",
        doc: "loms-server refuses to start live when the futures account holds more than this many USDT of equity: keep only what you are ready to lose on the trading sub-account.",
        apply: |d, v| {
            d.s.live_max_equity_usdt = positive_amount(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_MAX_CLOCK_SKEW_MS",
        group: "Live trading",
        default: "2000",
        accepted: "a whole number of milliseconds from 100 to 30000",
        doc: "loms-server refuses to start live when the local clock is further than this from Bitget's server time (signed requests are refused by the venue beyond a few seconds).",
        apply: |d, v| {
            d.s.live_max_clock_skew = millis(v, 100, 30_000)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LIVE_MAX_NOTIONAL_USDT",
        group: "Live trading",
        default: "25",
        accepted: "a number > 0 (at most 1e12)",
        doc: "Hard cap on the notional (price x qty) of one live position, in USDT: a larger entry is refused whatever the other settings say (MAX_SIZE_PER_POSITION_USDT can only lower it).",
        apply: |d, v| {
            d.s.live_max_notional_usdt = positive_amount(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "RECONCILE_INTERVAL_SEC",
        group: "Live trading",
        default: "60",
        accepted: "a whole number of seconds from 5 to 3600",
        doc: "How often the venue's open positions and orders are compared with LOMS's (also once at start, before the first signal).",
        apply: |d, v| {
            d.s.reconcile_interval = Duration::from_secs(whole_between(v, 5, 3600)?);
            Ok(())
        },
    },
];

/// The rules of `BROKER_MODE=live`: Bitget perpetual prices, and credentials (in the
/// settings or a secrets file; the file itself is read when live trading starts).
pub(crate) fn check(s: &Settings, problems: &mut Vec<Problem>) {
    if s.broker_mode != BrokerMode::Live {
        return;
    }
    let prices_ok = s.price_source == PriceSourceKind::Exchange
        && s.price_exchange == "bitget"
        && s.price_market == "perp";
    if !prices_ok {
        problems.push(Problem::Conflict {
            keys: vec!["BROKER_MODE", "PRICE_SOURCE", "PRICE_EXCHANGE", "PRICE_MARKET"],
            message: format!(
                "BROKER_MODE=live needs PRICE_SOURCE=exchange, PRICE_EXCHANGE=bitget and PRICE_MARKET=perp: orders go to Bitget USDT-M futures, so positions must be watched on that venue's prices (now PRICE_SOURCE={}, PRICE_EXCHANGE={}, PRICE_MARKET={})",
                s.price_source, s.price_exchange, s.price_market
            ),
        });
    }
    let parts = [
        &s.bitget_api_key,
        &s.bitget_api_secret,
        &s.bitget_api_passphrase,
    ];
    if s.bitget_secrets_file.is_none() && parts.iter().any(|p| p.is_none()) {
        let missing: Vec<&str> = CREDENTIAL_KEYS
            .iter()
            .zip(parts)
            .filter(|(_, p)| p.is_none())
            .map(|(k, _)| *k)
            .collect();
        problems.push(Problem::Conflict {
            keys: vec![
                "BROKER_MODE",
                "BITGET_API_KEY",
                "BITGET_API_SECRET",
                "BITGET_API_PASSPHRASE",
                "BITGET_SECRETS_FILE",
            ],
            message: format!(
                "BROKER_MODE=live needs the Bitget API credentials: set all three of BITGET_API_KEY, BITGET_API_SECRET and BITGET_API_PASSPHRASE, or set BITGET_SECRETS_FILE (not set: {})",
                missing.join(", ")
            ),
        });
    }
}
