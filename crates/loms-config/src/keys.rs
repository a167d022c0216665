//! The table of settings: one [`KeySpec`] per key drives parsing, validation,
//! `--print-config`, `.env.sample` and the reference in `docs/configuration.md`.
//!
//! To add a setting: add a field to [`Settings`] (and its built-in value to
//! [`Draft::new`]), then one entry to [`KEYS`]. The tests check that the built-in
//! values match the defaults of the table and that the docs list every key.

use crate::breakers::BREAKER_KEYS;
use crate::live::LIVE_KEYS;
use crate::{BrokerMode, PriceSourceKind, Settings};
use loms_domain::{Decimal, PriceMode, SignalDefaults, Sizing};
use loms_risk::RiskLimits;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::values::{
    base_url, bps, decimal, optional, parse_bool, percent, plain_path, positive_amount, seconds,
    sqlite_path, whole_u32,
};

/// Default text that stands for "the profile name" (used by `ENVIRONMENT`).
pub const PROFILE_DEFAULT: &str = "<profile>";

/// Longest duration accepted by `MIN_POSITION_AGE_SEC`: one year.
const MAX_AGE_SECS: u64 = 31_536_000;

/// Settings under construction: [`Settings`] plus values that only make sense together.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) s: Settings,
    pub(crate) position_size_usdt: Option<Decimal>,
    pub(crate) default_qty: Option<Decimal>,
}

impl Draft {
    /// The built-in settings; must agree with the defaults of [`KEYS`] (tested).
    pub(crate) fn new(profile: &str) -> Self {
        let s = Settings {
            profile: profile.to_string(),
            environment: profile.to_string(),
            broker_mode: BrokerMode::Paper,
            oms_enabled: true,
            database_url: "sqlite:///./data/loms_dev.db".into(),
            database_path: PathBuf::from("./data/loms_dev.db"),
            audit_log_path: PathBuf::from("./logs/signals_audit.jsonl"),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)),
            api_token: None,
            risk: RiskLimits::default(),
            sizing: Sizing::FixedNotional(Decimal::TEN),
            signal_defaults: SignalDefaults::default(),
            price_source: PriceSourceKind::Simulator,
            price_mode: PriceMode::Last,
            price_exchange: "dummy".into(),
            auto_close_interval: Duration::from_secs(1),
            min_position_age: Duration::from_secs(7),
            exit_strategy: "tp_sl_static".into(),
            sim_seed: None,
            sim_base_price: Decimal::ONE_HUNDRED,
            sim_volatility_pct: Decimal::new(3, 1),
            backup_dir: PathBuf::from("./backups"),
            price_market: "perp".into(),
            price_http_timeout: Duration::from_secs(2),
            price_max_age: Duration::from_secs(10),
            bybit_base_url: "https://api.bybit.com".into(),
            bitget_base_url: "https://api.bitget.com".into(),
            fee_taker_bps: Decimal::from(6),
            slippage_bps: Decimal::ZERO,
            trailing: loms_exit_engine::TrailingParams::default(),
            retention_days: 30,
            idempotency_retention: Duration::from_secs(7 * 24 * 3600),
            disk_free_warn_mb: 1024,
            bitget_api_key: None,
            bitget_api_secret: None,
            bitget_api_passphrase: None,
            bitget_secrets_file: None,
            bitget_demo: false,
            live_leverage: 1,
            live_ack_timeout: Duration::from_millis(2000),
            live_resolve_interval: Duration::from_millis(2000),
            live_exec_workers: 4,
            live_confirm: false,
            live_account_uid: None,
            live_sub_account: true,
            live_max_equity_usdt: Decimal::from(200),
            live_max_clock_skew: Duration::from_millis(2000),
            live_max_notional_usdt: Decimal::from(25),
            reconcile_interval: Duration::from_secs(60),
            max_daily_loss_usdt: None,
            max_consecutive_losses: None,
            loss_cooldown: Duration::from_secs(3600),
            entries: Vec::new(),
            warnings: Vec::new(),
            files_read: Vec::new(),
        };
        Self {
            s,
            position_size_usdt: Some(Decimal::TEN),
            default_qty: None,
        }
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reject {
    /// Not one of the accepted values.
    Invalid,
    /// Not accepted, with a short explanation.
    Because(String),
    /// A known value whose feature does not exist yet; the text says why.
    Unavailable(&'static str),
}

/// Parses a trimmed value into the draft.
pub(crate) type Apply = fn(&mut Draft, &str) -> Result<(), Reject>;

/// One setting: its name, default, accepted values and meaning.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// Upper-case name; the same in the environment, `.env`, TOML files and `--set`.
    pub name: &'static str,
    /// Section of the reference this key is listed under.
    pub group: &'static str,
    /// Built-in value (`none` = unset); [`PROFILE_DEFAULT`] means the profile name.
    pub default: &'static str,
    /// Accepted values, shown in error messages and docs.
    pub accepted: &'static str,
    /// One-line meaning.
    pub doc: &'static str,
    pub(crate) apply: Apply,
}

impl KeySpec {
    /// Whether the value must never be shown (see [`is_secret_key`]).
    pub fn is_secret(&self) -> bool {
        is_secret_key(self.name)
    }
}

/// Whether a key holds a secret: its name contains TOKEN, SECRET, PASSWORD,
/// PASSPHRASE or API_KEY (any case), unless it ends in `_FILE` (the path of a file of
/// secrets, such as `BITGET_SECRETS_FILE`, is shown). Secret values are shown as `***`.
pub fn is_secret_key(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    !upper.ends_with("_FILE")
        && ["TOKEN", "SECRET", "PASSWORD", "PASSPHRASE", "API_KEY"]
            .iter()
            .any(|w| upper.contains(w))
}

/// Look a key up by name, ignoring case.
pub fn key_spec(name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.name.eq_ignore_ascii_case(name))
}

/// Accepted text of the optional whole-number limits.
const LIMIT_U32: &str = "a whole number >= 0, or none/null/off/empty for no limit";

/// Every setting, in the documented order (the order of `--print-config`): the keys
/// below, then the live trading keys ([`crate::live`]), then the circuit breakers
/// ([`crate::breakers`]).
pub static KEYS: &[KeySpec] = &ALL_KEYS;

const ALL_KEYS: [KeySpec; BASE_KEYS.len() + LIVE_KEYS.len() + BREAKER_KEYS.len()] =
    concat(&[BASE_KEYS, LIVE_KEYS, BREAKER_KEYS]);

/// The `parts` one after the other; `N` must be the sum of their lengths (checked at
/// compile time).
const fn concat<const N: usize>(parts: &[&[KeySpec]]) -> [KeySpec; N] {
    assert!(N > 0 && !parts.is_empty() && !parts[0].is_empty());
    let mut out = [parts[0][0]; N];
    let (mut p, mut n) = (0, 0);
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    assert!(n == N);
    out
}

/// The settings of every mode (the live ones are in [`crate::live`]).
const BASE_KEYS: &[KeySpec] = &[
    // --- General ---------------------------------------------------------------
    KeySpec {
        name: "ENVIRONMENT",
        group: "General",
        default: PROFILE_DEFAULT,
        accepted: "a name of 1 to 64 letters, digits, '-', '_' or '.'",
        doc: "Label of this deployment shown in logs and status output; defaults to the profile name.",
        apply: |d, v| {
            if v.is_empty()
                || v.len() > 64
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(Reject::Invalid);
            }
            d.s.environment = v.to_string();
            Ok(())
        },
    },
    KeySpec {
        name: "BROKER_MODE",
        group: "General",
        default: "paper",
        accepted: "paper, live",
        doc: "Where orders go: paper (the built-in paper broker, filling at the price source's quotes) or live (Bitget USDT-M futures; needs PRICE_SOURCE=exchange, PRICE_EXCHANGE=bitget, PRICE_MARKET=perp and the Bitget API credentials, see Live trading).",
        apply: |d, v| match v.to_ascii_lowercase().as_str() {
            "paper" => {
                d.s.broker_mode = BrokerMode::Paper;
                Ok(())
            }
            "live" => {
                d.s.broker_mode = BrokerMode::Live;
                Ok(())
            }
            _ => Err(Reject::Invalid),
        },
    },
    KeySpec {
        name: "OMS_ENABLED",
        group: "General",
        default: "true",
        accepted: "true/false, 1/0, yes/no, on/off (any case)",
        doc: "Master switch of the order manager: false stops opening positions from signals.",
        apply: |d, v| {
            d.s.oms_enabled = parse_bool(v).ok_or(Reject::Invalid)?;
            Ok(())
        },
    },
    // --- Storage ---------------------------------------------------------------
    KeySpec {
        name: "DATABASE_URL",
        group: "Storage",
        default: "sqlite:///./data/loms_dev.db",
        accepted: "sqlite:///relative/path.db, sqlite:////absolute/path.db or a plain file path",
        doc: "SQLite database of positions and orders (the file is created if missing).",
        apply: |d, v| {
            d.s.database_path = sqlite_path(v)?;
            d.s.database_url = v.to_string();
            Ok(())
        },
    },
    KeySpec {
        name: "AUDIT_LOG_PATH",
        group: "Storage",
        default: "./logs/signals_audit.jsonl",
        accepted: "a file path",
        doc: "Append-only JSON-lines audit log of every signal received and what became of it.",
        apply: |d, v| {
            d.s.audit_log_path = plain_path(v)?;
            Ok(())
        },
    },
    // --- HTTP server -----------------------------------------------------------
    KeySpec {
        name: "LOMS_BIND",
        group: "HTTP server",
        default: "127.0.0.1:8000",
        accepted: "IP:PORT, e.g. 127.0.0.1:8000 or 0.0.0.0:8000 (IPv6: [::1]:8000)",
        doc: "Address the HTTP API listens on (flag --bind); use 0.0.0.0 only behind a firewall.",
        apply: |d, v| {
            d.s.bind = SocketAddr::from_str(v).map_err(|_| Reject::Invalid)?;
            Ok(())
        },
    },
    KeySpec {
        name: "LOMS_API_TOKEN",
        group: "HTTP server",
        default: "none",
        accepted: "none, or a token of at least 16 characters without spaces",
        doc: "When set, every write endpoint (POST/DELETE) needs the header Authorization: Bearer <token>; required for a non-loopback LOMS_BIND. Never logged or shown.",
        apply: |d, v| {
            d.s.api_token = optional(v, |t| {
                let t = t.trim();
                if t.len() >= 16 && !t.contains(char::is_whitespace) {
                    Ok(t.to_string())
                } else {
                    Err(Reject::Invalid)
                }
            })?;
            Ok(())
        },
    },
    // --- Sizing and signal defaults --------------------------------------------
    KeySpec {
        name: "POSITION_SIZE_USDT",
        group: "Sizing and signal defaults",
        default: "10",
        accepted: "a number > 0 (at most 1e12), or none",
        doc: "Notional in USDT of a new position when the signal has no qty (qty = notional / price).",
        apply: |d, v| {
            d.position_size_usdt = optional(v, positive_amount)?;
            Ok(())
        },
    },
    KeySpec {
        name: "DEFAULT_QTY",
        group: "Sizing and signal defaults",
        default: "none",
        accepted: "a number > 0 (at most 1e12), or none",
        doc: "Fixed quantity of a new position when the signal has no qty; wins over a default POSITION_SIZE_USDT, set only one of the two.",
        apply: |d, v| {
            d.default_qty = optional(v, positive_amount)?;
            Ok(())
        },
    },
    KeySpec {
        name: "TP_PCT",
        group: "Sizing and signal defaults",
        default: "4.5",
        accepted: "a percentage > 0 and < 100",
        doc: "Take-profit distance from the entry, percent, for signals without tp_pct.",
        apply: |d, v| {
            d.s.signal_defaults.tp_pct = percent(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "SL_PCT",
        group: "Sizing and signal defaults",
        default: "1.5",
        accepted: "a percentage > 0 and < 100",
        doc: "Stop-loss distance from the entry, percent, for signals without sl_pct.",
        apply: |d, v| {
            d.s.signal_defaults.sl_pct = percent(v)?;
            Ok(())
        },
    },
    // --- Risk limits -----------------------------------------------------------
    KeySpec {
        name: "MAX_OPEN_POSITIONS",
        group: "Risk limits",
        default: "none",
        accepted: LIMIT_U32,
        doc: "Refuse a signal while this many positions are open over all symbols.",
        apply: |d, v| {
            d.s.risk.max_open_positions = optional(v, whole_u32)?;
            Ok(())
        },
    },
    KeySpec {
        name: "MAX_OPEN_POSITIONS_PER_SYMBOL",
        group: "Risk limits",
        default: "none",
        accepted: LIMIT_U32,
        doc: "Refuse a signal while this many positions are open on its symbol.",
        apply: |d, v| {
            d.s.risk.max_open_positions_per_symbol = optional(v, whole_u32)?;
            Ok(())
        },
    },
    KeySpec {
        name: "MAX_SIZE_PER_POSITION_USDT",
        group: "Risk limits",
        default: "none",
        accepted: "a number > 0 (at most 1e12), or none/null/off/empty for no limit",
        doc: "Refuse a position whose notional (price x qty) is above this many USDT.",
        apply: |d, v| {
            d.s.risk.max_size_per_position_usdt = optional(v, positive_amount)?;
            Ok(())
        },
    },
    KeySpec {
        name: "RISK_MAX_SIGNALS_PER_DAY",
        group: "Risk limits",
        default: "none",
        accepted: LIMIT_U32,
        doc: "Refuse new positions once this many were opened in the current UTC day.",
        apply: |d, v| {
            d.s.risk.max_signals_per_day = optional(v, whole_u32)?;
            Ok(())
        },
    },
    KeySpec {
        name: "RISK_MAX_SIGNALS_PER_SYMBOL_PER_DAY",
        group: "Risk limits",
        default: "none",
        accepted: LIMIT_U32,
        doc: "Refuse new positions on a symbol once this many were opened on it in the current UTC day.",
        apply: |d, v| {
            d.s.risk.max_signals_per_symbol_per_day = optional(v, whole_u32)?;
            Ok(())
        },
    },
    KeySpec {
        name: "MAX_SIGNAL_AGE_SEC",
        group: "Risk limits",
        default: "none",
        accepted: "a whole number of seconds > 0, or none/null/off/empty for no limit",
        doc: "Refuse a signal whose timestamp is more than this many seconds old (or in the future).",
        apply: |d, v| {
            d.s.risk.max_signal_age_sec = optional(v, |v| match u64::from_str(v) {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(Reject::Invalid),
            })?;
            Ok(())
        },
    },
    // --- Prices ----------------------------------------------------------------
    KeySpec {
        name: "PRICE_SOURCE",
        group: "Prices",
        default: "simulator",
        accepted: "simulator, exchange",
        doc: "Where prices come from: the built-in random-walk simulator, or the public tickers of PRICE_EXCHANGE (shadow mode). Offline replay is the loms-replay binary.",
        apply: |d, v| match v.trim().to_ascii_lowercase().as_str() {
            "simulator" => {
                d.s.price_source = PriceSourceKind::Simulator;
                Ok(())
            }
            "exchange" => {
                d.s.price_source = PriceSourceKind::Exchange;
                Ok(())
            }
            "replay" => Err(Reject::Unavailable(
                "replay runs offline: use the loms-replay binary",
            )),
            _ => Err(Reject::Invalid),
        },
    },
    KeySpec {
        name: "PRICE_MODE",
        group: "Prices",
        default: "last",
        accepted: PriceMode::ACCEPTED,
        doc: "Which field of a quote the OMS acts on (entry fills, TP/SL checks, closes).",
        apply: |d, v| {
            d.s.price_mode = PriceMode::from_str(v).map_err(|_| Reject::Invalid)?;
            Ok(())
        },
    },
    KeySpec {
        name: "PRICE_EXCHANGE",
        group: "Prices",
        default: "dummy",
        accepted: "dummy, bybit, bitget",
        doc: "Exchange whose public tickers PRICE_SOURCE=exchange reads (dummy: none; required to be bybit or bitget with PRICE_SOURCE=exchange).",
        apply: |d, v| {
            let v = v.trim().to_ascii_lowercase();
            if !matches!(v.as_str(), "dummy" | "bybit" | "bitget") {
                return Err(Reject::Invalid);
            }
            d.s.price_exchange = v;
            Ok(())
        },
    },
    KeySpec {
        name: "PRICE_MARKET",
        group: "Prices",
        default: "perp",
        accepted: "perp, spot",
        doc: "Which tickers to read: USDT perpetuals (Bybit linear, Bitget USDT-FUTURES; the bot trades these) or spot. Spot quotes have no mark price: PRICE_MODE=mark with spot is refused at start.",
        apply: |d, v| {
            let v = v.trim().to_ascii_lowercase();
            if !matches!(v.as_str(), "perp" | "spot") {
                return Err(Reject::Invalid);
            }
            d.s.price_market = v;
            Ok(())
        },
    },
    KeySpec {
        name: "PRICE_HTTP_TIMEOUT",
        group: "Prices",
        default: "2",
        accepted: "seconds from 0.1 to 60, fractions allowed",
        doc: "Timeout of one ticker request; retries with backoff stay within the auto-close interval.",
        apply: |d, v| {
            d.s.price_http_timeout = seconds(v, Decimal::new(1, 1), 60)?;
            Ok(())
        },
    },
    KeySpec {
        name: "PRICE_MAX_AGE_SEC",
        group: "Prices",
        default: "10",
        accepted: "seconds from 1 to 3600",
        doc: "A quote older than this is never used to close a position.",
        apply: |d, v| {
            d.s.price_max_age = seconds(v, Decimal::ONE, 3600)?;
            Ok(())
        },
    },
    KeySpec {
        name: "BYBIT_BASE_URL",
        group: "Prices",
        default: "https://api.bybit.com",
        accepted: "an http:// or https:// URL",
        doc: "Bybit REST host (tests and operators can point it elsewhere).",
        apply: |d, v| {
            d.s.bybit_base_url = base_url(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "BITGET_BASE_URL",
        group: "Prices",
        default: "https://api.bitget.com",
        accepted: "an http:// or https:// URL",
        doc: "Bitget REST host (tests and operators can point it elsewhere).",
        apply: |d, v| {
            d.s.bitget_base_url = base_url(v)?;
            Ok(())
        },
    },
    // --- Exits -----------------------------------------------------------------
    KeySpec {
        name: "AUTO_CLOSE_INTERVAL_SEC",
        group: "Exits",
        default: "1",
        accepted: "seconds from 0.01 to 3600, fractions allowed",
        doc: "How often the exit engine checks open positions against their TP/SL levels.",
        apply: |d, v| {
            d.s.auto_close_interval = seconds(v, Decimal::new(1, 2), 3600)?;
            Ok(())
        },
    },
    KeySpec {
        name: "MIN_POSITION_AGE_SEC",
        group: "Exits",
        default: "7",
        accepted: "seconds >= 0 (at most 31536000), fractions allowed",
        doc: "A position younger than this is never auto-closed.",
        apply: |d, v| {
            d.s.min_position_age = seconds(v, Decimal::ZERO, MAX_AGE_SECS)?;
            Ok(())
        },
    },
    KeySpec {
        name: "EXIT_STRATEGY",
        group: "Exits",
        default: "tp_sl_static",
        accepted: "tp_sl_static, trailing_v1",
        doc: "Exit policy for positions whose signal names none: tp_sl_static (fixed TP and SL) or trailing_v1 (break-even, trailing stop, optional timeout and partial take-profit).",
        apply: |d, v| {
            let v = v.trim().to_ascii_lowercase();
            if v != "tp_sl_static" && v != "trailing_v1" {
                return Err(Reject::Invalid);
            }
            d.s.exit_strategy = v;
            Ok(())
        },
    },
    KeySpec {
        name: "TRAIL_BE_TRIGGER_PCT",
        group: "Exits",
        default: "1",
        accepted: "a percentage > 0 and < 100",
        doc: "trailing_v1: after this favourable move the stop goes to break-even: the entry plus the taker fees of entry and exit (FEE_TAKER_BPS) plus TRAIL_BE_OFFSET_BPS, so a break_even close nets at least that offset; the stop moves once the best price is beyond that level.",
        apply: |d, v| {
            d.s.trailing.break_even_pct = percent(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "TRAIL_BE_OFFSET_BPS",
        group: "Exits",
        default: "0",
        accepted: "basis points >= 0 and <= 1000",
        doc: "trailing_v1: what a break_even close nets after fees, basis points of the entry notional (raise it to cover slippage and the spread, which the break-even level does not).",
        apply: |d, v| {
            d.s.trailing.break_even_offset_bps = bps(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "TRAIL_START_PCT",
        group: "Exits",
        default: "2",
        accepted: "a percentage > 0 and < 100",
        doc: "trailing_v1: after this favourable move the stop trails the best price.",
        apply: |d, v| {
            d.s.trailing.trail_start_pct = percent(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "TRAIL_DISTANCE_PCT",
        group: "Exits",
        default: "1",
        accepted: "a percentage > 0 and < 100",
        doc: "trailing_v1: distance of the trailing stop behind the best price, percent.",
        apply: |d, v| {
            d.s.trailing.trail_distance_pct = percent(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "TRAIL_TIMEOUT_MIN",
        group: "Exits",
        default: "none",
        accepted: "whole minutes >= 1, or none",
        doc: "trailing_v1: close with reason timeout after this many minutes.",
        apply: |d, v| {
            d.s.trailing.timeout_min = optional(v, |x| {
                whole_u32(x).and_then(|n| if n >= 1 { Ok(n) } else { Err(Reject::Invalid) })
            })?;
            Ok(())
        },
    },
    KeySpec {
        name: "TRAIL_PARTIAL_AT_PCT",
        group: "Exits",
        default: "none",
        accepted: "a percentage > 0 and < 100, or none",
        doc: "trailing_v1: close TRAIL_PARTIAL_FRACTION of the position once, at this favourable move.",
        apply: |d, v| {
            d.s.trailing.partial_at_pct = optional(v, percent)?;
            Ok(())
        },
    },
    KeySpec {
        name: "TRAIL_PARTIAL_FRACTION",
        group: "Exits",
        default: "0.5",
        accepted: "a number > 0 and < 1",
        doc: "trailing_v1: share of the quantity the partial take-profit closes.",
        apply: |d, v| {
            let f = decimal(v)?;
            if f <= Decimal::ZERO || f >= Decimal::ONE {
                return Err(Reject::Invalid);
            }
            d.s.trailing.partial_fraction = f;
            Ok(())
        },
    },
    // --- Paper fills -----------------------------------------------------------
    KeySpec {
        name: "FEE_TAKER_BPS",
        group: "Paper fills",
        default: "6",
        accepted: "basis points >= 0 and <= 1000 (6 = 0.06 %, Bitget VIP0 taker)",
        doc: "Taker fee the paper broker charges on entry and exit, on the notional; PnL is net of it.",
        apply: |d, v| {
            d.s.fee_taker_bps = bps(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "SLIPPAGE_BPS",
        group: "Paper fills",
        default: "0",
        accepted: "basis points >= 0 and <= 1000",
        doc: "Slippage of paper fills (entries and exits), against the trader, on top of filling buys at the ask and sells at the bid (at the signal's price for simulator and replay entries).",
        apply: |d, v| {
            d.s.slippage_bps = bps(v)?;
            Ok(())
        },
    },
    // --- Simulator -------------------------------------------------------------
    KeySpec {
        name: "SIM_SEED",
        group: "Simulator",
        default: "none",
        accepted: "a whole number from 0 to 18446744073709551615, or none (seeded from the clock)",
        doc: "Seed of the price simulator, for reproducible runs.",
        apply: |d, v| {
            d.s.sim_seed = optional(v, |v| u64::from_str(v).map_err(|_| Reject::Invalid))?;
            Ok(())
        },
    },
    KeySpec {
        name: "SIM_BASE_PRICE",
        group: "Simulator",
        default: "100",
        accepted: "a number > 0 (at most 1e12)",
        doc: "Start price of a symbol's random walk when the OMS has not seen a price for it yet (the first signal price is used otherwise).",
        apply: |d, v| {
            d.s.sim_base_price = positive_amount(v)?;
            Ok(())
        },
    },
    KeySpec {
        name: "SIM_VOLATILITY_PCT",
        group: "Simulator",
        default: "0.3",
        accepted: "a percentage >= 0 and < 50",
        doc: "Standard deviation of one random-walk step of the simulator, percent of the price.",
        apply: |d, v| {
            let x = decimal(v)?;
            if x < Decimal::ZERO || x >= Decimal::from(50) {
                return Err(Reject::Invalid);
            }
            d.s.sim_volatility_pct = x;
            Ok(())
        },
    },
    // --- Operations --------------------------------------------------------------
    KeySpec {
        name: "BACKUP_DIR",
        group: "Operations",
        default: "./backups",
        accepted: "a folder path (created if missing)",
        doc: "Where `loms-ctl backup` writes YYYY-MM-DD_<db name>.db and the gzipped audit file.",
        apply: |d, v| {
            let v = v.trim();
            if v.is_empty() {
                return Err(Reject::Invalid);
            }
            d.s.backup_dir = PathBuf::from(v);
            Ok(())
        },
    },
    KeySpec {
        name: "RETENTION_DAYS",
        group: "Operations",
        default: "30",
        accepted: "a whole number of days from 1 to 3650",
        doc: "`loms-ctl prune` deletes backups older than this (the newest one is always kept).",
        apply: |d, v| {
            d.s.retention_days = v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=3650).contains(n))
                .ok_or(Reject::Invalid)?;
            Ok(())
        },
    },
    KeySpec {
        name: "IDEMPOTENCY_RETENTION_HOURS",
        group: "Operations",
        default: "168",
        accepted: "a whole number of hours from 1 to 87600",
        doc: "How long the idempotency key of a stored signal is remembered (at least; up to an hour more). Only these keys are kept in memory and read at start; a key repeated after this is a new signal.",
        apply: |d, v| {
            let hours = v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=87_600).contains(n))
                .ok_or(Reject::Invalid)?;
            d.s.idempotency_retention = Duration::from_secs(hours * 3600);
            Ok(())
        },
    },
    KeySpec {
        name: "DISK_FREE_WARN_MB",
        group: "Operations",
        default: "1024",
        accepted: "a whole number of MiB from 0 (not checked) to 10000000",
        doc: "/health (`disk_space`) warns when the folder of the database or of the audit file has less free space than this, and fails below 64 MiB (or this, if lower).",
        apply: |d, v| {
            d.s.disk_free_warn_mb = v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 10_000_000)
                .ok_or(Reject::Invalid)?;
            Ok(())
        },
    },
];
