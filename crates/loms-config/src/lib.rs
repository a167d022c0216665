//! LOMS configuration: layered settings with provenance and validation.
//!
//! Layers, lowest first:
//!
//! 1. built-in defaults ([`KEYS`]),
//! 2. `config/<profile>.toml`,
//! 3. a `.env` file,
//! 4. the process environment,
//! 5. command-line overrides (`--bind`, `--set KEY=VALUE`).
//!
//! Keys are the environment names of the original Python service (upper case).
//! Every effective value remembers its [`Layer`] ([`Settings::entries`], shown by
//! `loms-server --print-config`), and [`Settings::warnings`] says when the process
//! environment overrides a value set in a file. Invalid values stop start-up with one
//! [`ConfigError`] listing every problem.
//!
//! ```
//! use loms_config::{load, ConfigSources, Layer};
//! let mut src = ConfigSources::defaults_only();
//! src.process_env = vec![("PRICE_MODE".into(), "mid".into())];
//! src.cli = vec![("LOMS_BIND".into(), "127.0.0.1:9000".into())];
//! let s = load(&src).unwrap();
//! assert_eq!(s.price_mode.as_str(), "mid");
//! assert_eq!(s.entry("PRICE_MODE").unwrap().layer, Layer::Env);
//! assert_eq!(s.bind.port(), 9000);
//!
//! src.process_env = vec![("PRICE_MODE".into(), "foo".into())];
//! let e = load(&src).unwrap_err().to_string();
//! assert_eq!(e, "PRICE_MODE: \"foo\" is not valid; accepted: last, bid, ask, mid, mark (from env)");
//! ```

mod breakers;
mod error;
mod keys;
mod live;
mod render;
mod secret;
mod sources;
#[cfg(test)]
mod tests;
mod values;

pub use error::{ConfigError, Problem};
pub use keys::{KEYS, KeySpec, PROFILE_DEFAULT, is_secret_key, key_spec};
pub use live::LIVE_CONFIRM_PHRASE;
pub use render::{env_sample, redact, reference_markdown};
pub use secret::Secret;

use keys::{Draft, Reject};
use loms_domain::{PriceMode, SignalDefaults, Sizing};
use rust_decimal::Decimal;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use values::{parse_bool, parse_decimal};

/// Parse a command-line override `KEY=VALUE` (`--set`); the key is upper-cased.
/// Usable as a clap `value_parser`.
///
/// # Errors
/// A message when there is no `=` or no key.
pub fn parse_override(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_ascii_uppercase(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The built-in default.
    Default,
    /// The profile's TOML file.
    File(PathBuf),
    /// The `.env` file.
    DotEnv(PathBuf),
    /// The process environment.
    Env,
    /// A command-line override.
    Cli,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Default => f.write_str("default"),
            Layer::File(p) | Layer::DotEnv(p) => write!(f, "{}", p.display()),
            Layer::Env => f.write_str("env"),
            Layer::Cli => f.write_str("cli"),
        }
    }
}

/// What to read the configuration from. `Debug` shows no value of the environment
/// and redacts secrets given on the command line.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigSources {
    /// Profile name: selects `<config_dir>/<profile>.toml` (`dev`, `paper`, `live`, or any
    /// name of letters, digits, `-` and `_`).
    pub profile: String,
    /// Whether the profile was asked for (`--profile` or `LOMS_PROFILE`). A missing file
    /// is then an error, except for `dev`.
    pub profile_explicit: bool,
    /// Directory of the profile files (default `config`). Empty: read no profile file.
    pub config_dir: PathBuf,
    /// The `.env` file (default `.env`); `None` reads none. A missing file is fine.
    pub env_file: Option<PathBuf>,
    /// The process environment; only known keys are used.
    pub process_env: Vec<(String, String)>,
    /// `KEY=VALUE` overrides from the command line (`--bind` is `LOMS_BIND`,
    /// `--set KEY=VALUE`). Keys ignore case; an unknown key is an error.
    pub cli: Vec<(String, String)>,
}

impl ConfigSources {
    /// Defaults only: no files, no env. For tests.
    pub fn defaults_only() -> Self {
        Self {
            profile: "dev".into(),
            profile_explicit: false,
            config_dir: PathBuf::new(),
            env_file: None,
            process_env: Vec::new(),
            cli: Vec::new(),
        }
    }

    /// Reads the real process environment; profile from `profile` arg, else env
    /// `LOMS_PROFILE`, else `dev`. `config_dir` defaults to `config`, `env_file` to
    /// `.env`. Variables that are not valid UTF-8 are read lossily (and then usually
    /// rejected by validation, naming the key).
    pub fn from_process(
        profile: Option<String>,
        config_dir: Option<PathBuf>,
        env_file: Option<PathBuf>,
        cli: Vec<(String, String)>,
    ) -> Self {
        let env = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Self::with_env(profile, config_dir, env_file, cli, env)
    }

    /// Like [`ConfigSources::from_process`] with an explicit environment.
    pub fn with_env(
        profile: Option<String>,
        config_dir: Option<PathBuf>,
        env_file: Option<PathBuf>,
        cli: Vec<(String, String)>,
        process_env: Vec<(String, String)>,
    ) -> Self {
        let from_env = process_env
            .iter()
            .rev()
            .find(|(k, _)| k == "LOMS_PROFILE")
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let (profile, profile_explicit) = match profile.or(from_env) {
            Some(p) => (p, true),
            None => ("dev".to_string(), false),
        };
        Self {
            profile,
            profile_explicit,
            config_dir: config_dir.unwrap_or_else(|| PathBuf::from("config")),
            env_file: Some(env_file.unwrap_or_else(|| PathBuf::from(".env"))),
            process_env,
            cli,
        }
    }
}

/// One effective setting, for `--print-config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key (upper case).
    pub key: &'static str,
    /// The effective value as given (trimmed); `***` for a set secret.
    pub value: String,
    /// Where the value came from.
    pub layer: Layer,
}

/// Where orders go (setting `BROKER_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerMode {
    /// Simulated fills against the price source.
    Paper,
    /// Real orders on Bitget USDT-M futures (the `BITGET_*` and `LIVE_*` settings).
    Live,
}

impl BrokerMode {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerMode::Paper => "paper",
            BrokerMode::Live => "live",
        }
    }
}

impl fmt::Display for BrokerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where prices come from (setting `PRICE_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSourceKind {
    /// The built-in random-walk simulator.
    Simulator,
    /// The public tickers of PRICE_EXCHANGE (shadow mode).
    Exchange,
}

impl PriceSourceKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceSourceKind::Simulator => "simulator",
            PriceSourceKind::Exchange => "exchange",
        }
    }
}

impl fmt::Display for PriceSourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The validated, effective configuration. `Debug` never shows a secret.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// Profile name.
    pub profile: String,
    /// `ENVIRONMENT`, default the profile name.
    pub environment: String,
    /// `BROKER_MODE`.
    pub broker_mode: BrokerMode,
    /// `OMS_ENABLED`, default true.
    pub oms_enabled: bool,
    /// `DATABASE_URL`, as given.
    pub database_url: String,
    /// The SQLite file named by `DATABASE_URL`.
    pub database_path: PathBuf,
    /// `AUDIT_LOG_PATH`.
    pub audit_log_path: PathBuf,
    /// `LOMS_BIND`, default 127.0.0.1:8000.
    pub bind: SocketAddr,
    /// `LOMS_API_TOKEN`: bearer token required by write endpoints when set. Secret.
    pub api_token: Option<String>,
    /// The risk limits (`MAX_OPEN_POSITIONS` ... `MAX_SIGNAL_AGE_SEC`).
    pub risk: loms_risk::RiskLimits,
    /// From `POSITION_SIZE_USDT` or `DEFAULT_QTY`.
    pub sizing: Sizing,
    /// `TP_PCT`, `SL_PCT`; the rest are the [`SignalDefaults::default`] values.
    pub signal_defaults: SignalDefaults,
    /// `PRICE_SOURCE`.
    pub price_source: PriceSourceKind,
    /// `PRICE_MODE`, default last.
    pub price_mode: PriceMode,
    /// `PRICE_EXCHANGE`, lower case, default dummy.
    pub price_exchange: String,
    /// `AUTO_CLOSE_INTERVAL_SEC`, default 1 s.
    pub auto_close_interval: Duration,
    /// `MIN_POSITION_AGE_SEC`, default 7 s.
    pub min_position_age: Duration,
    /// `EXIT_STRATEGY`, default tp_sl_static.
    pub exit_strategy: String,
    /// `SIM_SEED`; `None` = seed from the clock.
    pub sim_seed: Option<u64>,
    /// `SIM_BASE_PRICE`, default 100.
    pub sim_base_price: Decimal,
    /// `SIM_VOLATILITY_PCT`, default 0.3.
    pub sim_volatility_pct: Decimal,
    /// `FEE_TAKER_BPS`, default 6.
    pub fee_taker_bps: Decimal,
    /// `SLIPPAGE_BPS`, default 0.
    pub slippage_bps: Decimal,
    /// `TRAIL_*`: parameters of the trailing_v1 exit policy (its `taker_fee_bps` is
    /// not a setting of its own: [`Settings::exit_params`] sets it from `fee_taker_bps`).
    pub trailing: loms_exit_engine::TrailingParams,
    /// `PRICE_MARKET`: `perp` or `spot`.
    pub price_market: String,
    /// `PRICE_HTTP_TIMEOUT`, default 2 s.
    pub price_http_timeout: Duration,
    /// `PRICE_MAX_AGE_SEC`, default 10 s.
    pub price_max_age: Duration,
    /// `BYBIT_BASE_URL`.
    pub bybit_base_url: String,
    /// `BITGET_BASE_URL`.
    pub bitget_base_url: String,
    /// `BACKUP_DIR`, default ./backups.
    pub backup_dir: PathBuf,
    /// `RETENTION_DAYS`, default 30.
    pub retention_days: u32,
    /// `IDEMPOTENCY_RETENTION_HOURS`, default 168 (7 days): how long the idempotency
    /// key of a stored signal is remembered, at least.
    pub idempotency_retention: Duration,
    /// `DISK_FREE_WARN_MB`, default 1024: /health warns below this much free space in
    /// the folders of the database and the audit file (0: not checked).
    pub disk_free_warn_mb: u64,
    /// `BITGET_API_KEY`: the API key of the Bitget sub-account, when set. Secret.
    pub bitget_api_key: Option<Secret>,
    /// `BITGET_API_SECRET`: the secret that signs private requests, when set. Secret.
    pub bitget_api_secret: Option<Secret>,
    /// `BITGET_API_PASSPHRASE`: the API key's passphrase, when set. Secret.
    pub bitget_api_passphrase: Option<Secret>,
    /// `BITGET_SECRETS_FILE`: a file of `NAME=value` lines with the three parts, used
    /// when they are not all set above (read and checked owner-only by the Bitget crate).
    pub bitget_secrets_file: Option<PathBuf>,
    /// `BITGET_DEMO`, default false: Bitget demo trading (header `paptrading: 1`).
    pub bitget_demo: bool,
    /// `LIVE_LEVERAGE`, 1 to 20, default 1: set on each symbol before its first order.
    pub live_leverage: u32,
    /// `LIVE_ACK_TIMEOUT_MS`, 0 to 30 s, default 2 s: how long a live signal's answer
    /// waits for its order's outcome.
    pub live_ack_timeout: Duration,
    /// `LIVE_RESOLVE_INTERVAL_MS`, 100 ms to 10 min, default 2 s: how often an order
    /// whose outcome is unknown is looked up by its client order id.
    pub live_resolve_interval: Duration,
    /// `LIVE_EXEC_WORKERS`, 1 to 64, default 4: threads sending orders to the venue.
    pub live_exec_workers: usize,
    /// `LIVE_CONFIRM`: true only when set to exactly [`LIVE_CONFIRM_PHRASE`]; live
    /// trading refuses to start without it.
    pub live_confirm: bool,
    /// `LIVE_ACCOUNT_UID`: the UID (digits) of the account the API key must belong to.
    pub live_account_uid: Option<String>,
    /// `LIVE_SUB_ACCOUNT`, default true: the API key must be a sub-account's.
    pub live_sub_account: bool,
    /// `LIVE_MAX_EQUITY_USDT`, default 200: live trading refuses to start when the
    /// futures account's equity is above this.
    pub live_max_equity_usdt: Decimal,
    /// `LIVE_MAX_CLOCK_SKEW_MS`, 100 ms to 30 s, default 2 s: live trading refuses to
    /// start when the local clock is further than this from the venue's.
    pub live_max_clock_skew: Duration,
    /// `LIVE_MAX_NOTIONAL_USDT`, default 25: hard cap on one live position's notional
    /// (see [`Settings::max_position_notional`]).
    pub live_max_notional_usdt: Decimal,
    /// `RECONCILE_INTERVAL_SEC`, 5 s to 1 h, default 60 s: how often the venue's
    /// positions and orders are compared with LOMS's.
    pub reconcile_interval: Duration,
    /// `MAX_DAILY_LOSS_USDT`: entries go off once the net realised loss since 00:00 UTC
    /// reaches this; `None` = off.
    pub max_daily_loss_usdt: Option<Decimal>,
    /// `MAX_CONSECUTIVE_LOSSES`, 1 to 100: entries go off after this many losing
    /// closes in a row; `None` = off.
    pub max_consecutive_losses: Option<u32>,
    /// `LOSS_COOLDOWN_MIN`, 1 min to 1 week, default 60 min: the cooldown of
    /// `MAX_CONSECUTIVE_LOSSES`.
    pub loss_cooldown: Duration,
    /// Every key of [`KEYS`], in that order, with its effective value and layer.
    pub entries: Vec<Entry>,
    /// Things start-up should log: the process environment overriding a file value,
    /// unknown keys in `.env`, unparsable `.env` lines, a named env file not found.
    pub warnings: Vec<String>,
    /// The files that were read, lowest layer first.
    pub files_read: Vec<PathBuf>,
}

impl Settings {
    /// Table for --print-config: one line per key, `KEY = value  (layer)`, aligned,
    /// secrets shown as "***" when set. Lines starting with `#` add the profile, the
    /// files read, derived values and the warnings.
    pub fn render_table(&self) -> String {
        render::table(self)
    }

    /// The parameters of the trailing_v1 policy in force: the `TRAIL_*` settings, with
    /// the taker fee (`FEE_TAKER_BPS`) its break-even level covers.
    pub fn exit_params(&self) -> loms_exit_engine::TrailingParams {
        loms_exit_engine::TrailingParams {
            taker_fee_bps: self.fee_taker_bps,
            ..self.trailing.clone()
        }
    }

    /// Ready-made settings for tests: defaults only, with the database and audit paths
    /// inside `dir`.
    pub fn for_tests(dir: &Path) -> Settings {
        let mut s = match load(&ConfigSources::defaults_only()) {
            Ok(s) => s,
            Err(_) => Draft::new("dev").s,
        };
        s.database_path = dir.join("loms_test.db");
        s.database_url = format!("sqlite:///{}", s.database_path.display());
        s.audit_log_path = dir.join("signals_audit.jsonl");
        let (url, audit) = (
            s.database_url.clone(),
            s.audit_log_path.display().to_string(),
        );
        for e in &mut s.entries {
            match e.key {
                "DATABASE_URL" => e.value = url.clone(),
                "AUDIT_LOG_PATH" => e.value = audit.clone(),
                _ => {}
            }
        }
        s
    }

    /// The Bitget API key part named `BITGET_API_KEY`, `BITGET_API_SECRET` or
    /// `BITGET_API_PASSPHRASE`, when set; `None` for any other name. Shaped for the
    /// Bitget crate's `Credentials::load(|n| s.bitget_credential(n).map(str::to_owned), ..)`.
    pub fn bitget_credential(&self, name: &str) -> Option<&str> {
        let part = match name {
            "BITGET_API_KEY" => &self.bitget_api_key,
            "BITGET_API_SECRET" => &self.bitget_api_secret,
            "BITGET_API_PASSPHRASE" => &self.bitget_api_passphrase,
            _ => return None,
        };
        part.as_ref().map(Secret::expose)
    }

    /// The largest notional (price x qty, USDT) a new position may have: the lower of
    /// `MAX_SIZE_PER_POSITION_USDT` and, in live mode, the hard `LIVE_MAX_NOTIONAL_USDT`
    /// (no other setting can raise it); `None` = no cap (paper without a limit).
    pub fn max_position_notional(&self) -> Option<Decimal> {
        self.max_position_notional_when(self.broker_mode == BrokerMode::Live)
    }

    /// [`Settings::max_position_notional`] when orders go to a venue (`live`) or not,
    /// whatever `BROKER_MODE` says (the OMS knows from its execution client).
    pub fn max_position_notional_when(&self, live: bool) -> Option<Decimal> {
        let live = live.then_some(self.live_max_notional_usdt);
        match (self.risk.max_size_per_position_usdt, live) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The entry of a key (any case).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case(key))
    }

    /// Log each of [`Settings::warnings`] at warn level (call once logging is set up).
    pub fn log_warnings(&self) {
        for w in &self.warnings {
            log::warn!("config: {w}");
        }
    }
}

/// Load and validate the configuration from its layers.
///
/// # Errors
/// [`ConfigError::Invalid`] listing every problem: invalid values (naming the key,
/// the value, the accepted values and the layer), unknown keys in the TOML file or on
/// the command line, unreadable files, a missing profile file, conflicting keys.
pub fn load(src: &ConfigSources) -> Result<Settings, ConfigError> {
    load_with(src, KEYS)
}

/// [`load`] over any key table (tests add keys of their own).
pub(crate) fn load_with(src: &ConfigSources, keys: &[KeySpec]) -> Result<Settings, ConfigError> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut files_read = Vec::new();
    let find = |name: &str| {
        keys.iter()
            .position(|k| k.name.eq_ignore_ascii_case(name.trim()))
    };
    let names = || keys.iter().map(|k| k.name);

    // Layer 1: defaults. Each key has a stack of (value, layer), lowest first.
    let mut stack: Vec<Vec<(String, Layer)>> = keys
        .iter()
        .map(|k| {
            let d = if k.default == PROFILE_DEFAULT {
                src.profile.clone()
            } else {
                k.default.to_string()
            };
            vec![(d, Layer::Default)]
        })
        .collect();

    // Layer 2: the profile file.
    if !valid_profile(&src.profile) {
        problems.push(Problem::BadProfile {
            profile: src.profile.clone(),
        });
    } else if !src.config_dir.as_os_str().is_empty() {
        let path = src.config_dir.join(format!("{}.toml", src.profile));
        if path.exists() {
            match sources::read_toml(&path) {
                Ok(pairs) => {
                    files_read.push(path.clone());
                    let layer = Layer::File(path.clone());
                    let mut seen = vec![false; keys.len()];
                    for (key, value) in pairs {
                        let Some(i) = find(&key) else {
                            let suggestion = sources::suggest(&key, names());
                            problems.push(Problem::UnknownKey {
                                key,
                                layer: layer.clone(),
                                suggestion,
                            });
                            continue;
                        };
                        if seen[i] {
                            problems.push(Problem::DuplicateKey {
                                key: keys[i].name,
                                layer: layer.clone(),
                            });
                            continue;
                        }
                        seen[i] = true;
                        match value {
                            Ok(v) => stack[i].push((v, layer.clone())),
                            Err((what, reason)) => problems.push(Problem::InvalidValue {
                                key: keys[i].name,
                                value: what.to_string(),
                                reason: Some(reason.to_string()),
                                accepted: keys[i].accepted,
                                layer: layer.clone(),
                            }),
                        }
                    }
                }
                Err(message) => problems.push(Problem::File { path, message }),
            }
        } else if src.profile_explicit && src.profile != "dev" {
            problems.push(Problem::MissingProfileFile {
                profile: src.profile.clone(),
                path,
            });
        }
    }

    // Layer 3: the .env file.
    if let Some(path) = &src.env_file {
        if path.exists() {
            match std::fs::read(path).map(String::from_utf8) {
                Ok(Ok(text)) => {
                    files_read.push(path.clone());
                    let layer = Layer::DotEnv(path.clone());
                    let (vars, bad) = sources::parse_dotenv(&text);
                    let mut unknown = Vec::new();
                    for var in vars {
                        match find(&var.key) {
                            Some(i) => stack[i].push((var.value, layer.clone())),
                            None if var.key.eq_ignore_ascii_case("LOMS_PROFILE") => {
                                warnings.push(format!(
                                    "LOMS_PROFILE in {} is ignored: the profile is chosen before the file is read; use --profile or the environment",
                                    path.display()
                                ));
                            }
                            None => {
                                let hint = sources::suggest(&var.key, names())
                                    .map(|s| format!(", did you mean {s}?"))
                                    .unwrap_or_default();
                                unknown.push(format!("{} (line {}{hint})", var.key, var.line));
                            }
                        }
                    }
                    if !unknown.is_empty() {
                        warnings.push(format!(
                            "{}: ignoring {} unknown key(s): {}",
                            path.display(),
                            unknown.len(),
                            unknown.join(", ")
                        ));
                    }
                    for b in bad {
                        match b.key.as_deref().and_then(find) {
                            Some(i) => problems.push(Problem::File {
                                path: path.clone(),
                                message: format!("line {}: {}: {}", b.line, keys[i].name, b.reason),
                            }),
                            None => warnings.push(format!(
                                "{}: line {} ignored: {}",
                                path.display(),
                                b.line,
                                b.reason
                            )),
                        }
                    }
                }
                Ok(Err(_)) => problems.push(Problem::File {
                    path: path.clone(),
                    message: "not valid UTF-8".into(),
                }),
                Err(e) => problems.push(Problem::File {
                    path: path.clone(),
                    message: format!("cannot read: {e}"),
                }),
            }
        } else if path != Path::new(".env") {
            warnings.push(format!(
                "env file {} not found; continuing without it",
                path.display()
            ));
        }
    }

    // Layer 4: the process environment, known keys only (exact upper-case names).
    for (key, value) in &src.process_env {
        let Some(i) = keys.iter().position(|k| k.name == key) else {
            continue;
        };
        let overridden = stack[i].last().filter(|(below, layer)| {
            matches!(layer, Layer::File(_) | Layer::DotEnv(_)) && !same_value(below, value)
        });
        if let Some((below, layer)) = overridden {
            warnings.push(format!(
                "{}={} from the process environment overrides {} from {layer}",
                keys[i].name,
                shown(keys[i].name, value),
                shown(keys[i].name, below),
            ));
        }
        stack[i].push((value.clone(), Layer::Env));
    }

    // Layer 5: command-line overrides.
    for (key, value) in &src.cli {
        match find(key) {
            Some(i) => stack[i].push((value.clone(), Layer::Cli)),
            None => problems.push(Problem::UnknownKey {
                key: key.clone(),
                layer: Layer::Cli,
                suggestion: sources::suggest(key.trim(), names()),
            }),
        }
    }

    // Validate the effective value of every key.
    let mut draft = Draft::new(&src.profile);
    let mut failed = vec![false; keys.len()];
    let mut entries = Vec::with_capacity(keys.len());
    for (i, spec) in keys.iter().enumerate() {
        let Some((raw, layer)) = stack[i].last() else {
            continue;
        };
        let v = raw.trim();
        if let Err(reject) = (spec.apply)(&mut draft, v) {
            failed[i] = true;
            problems.push(problem(spec, v, layer, reject));
        }
        entries.push(Entry {
            key: spec.name,
            value: redact(spec.name, v),
            layer: layer.clone(),
        });
    }

    // Rules between keys.
    let sizing_keys = find("POSITION_SIZE_USDT")
        .zip(find("DEFAULT_QTY"))
        .filter(|&(p, q)| !failed[p] && !failed[q]);
    if let Some((p, q)) = sizing_keys {
        let top = |i: usize| {
            stack[i]
                .last()
                .cloned()
                .unwrap_or((String::new(), Layer::Default))
        };
        if let Some(sizing) = resolve_sizing(&draft, top(p), top(q), &mut problems) {
            draft.s.sizing = sizing;
        }
    }

    if draft.s.price_source == PriceSourceKind::Exchange && draft.s.price_exchange == "dummy" {
        problems.push(Problem::Conflict {
            keys: vec!["PRICE_SOURCE", "PRICE_EXCHANGE"],
            message: "PRICE_SOURCE=exchange needs PRICE_EXCHANGE=bybit or bitget".into(),
        });
    }
    if draft.s.price_mode == PriceMode::Mark && draft.s.price_market == "spot" {
        problems.push(Problem::Conflict {
            keys: vec!["PRICE_MODE", "PRICE_MARKET"],
            message: "PRICE_MODE=mark needs PRICE_MARKET=perp: spot quotes have no mark price, so no position would ever close; choose PRICE_MODE=last, bid, ask or mid for spot".into(),
        });
    }
    if !draft.s.bind.ip().is_loopback() && draft.s.api_token.is_none() {
        problems.push(Problem::Conflict {
            keys: vec!["LOMS_BIND", "LOMS_API_TOKEN"],
            message: format!(
                "LOMS_BIND={} is not a loopback address: anyone who can reach it could trade; set LOMS_API_TOKEN (at least 16 characters) or bind 127.0.0.1",
                draft.s.bind
            ),
        });
    }
    live::check(&draft.s, &mut problems);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    let mut s = draft.s;
    s.entries = entries;
    s.warnings = warnings;
    s.files_read = files_read;
    Ok(s)
}

/// `DEFAULT_QTY` against `POSITION_SIZE_USDT`: a default notional gives way to a
/// quantity set anywhere; two explicit values conflict; one must be set.
fn resolve_sizing(
    draft: &Draft,
    (pos_value, pos_layer): (String, Layer),
    (qty_value, qty_layer): (String, Layer),
    problems: &mut Vec<Problem>,
) -> Option<Sizing> {
    match (draft.position_size_usdt, draft.default_qty) {
        (_, Some(q)) if pos_layer == Layer::Default => Some(Sizing::FixedQty(q)),
        (Some(_), Some(_)) => {
            problems.push(Problem::Conflict {
                keys: vec!["DEFAULT_QTY", "POSITION_SIZE_USDT"],
                message: format!(
                    "set only one of DEFAULT_QTY and POSITION_SIZE_USDT: DEFAULT_QTY={} (from {qty_layer}) and POSITION_SIZE_USDT={} (from {pos_layer}); set the other one to none",
                    qty_value.trim(),
                    pos_value.trim()
                ),
            });
            None
        }
        (None, Some(q)) => Some(Sizing::FixedQty(q)),
        (Some(n), None) => Some(Sizing::FixedNotional(n)),
        (None, None) => {
            problems.push(Problem::Conflict {
                keys: vec!["DEFAULT_QTY", "POSITION_SIZE_USDT"],
                message: format!(
                    "no position sizing: DEFAULT_QTY (from {qty_layer}) and POSITION_SIZE_USDT (from {pos_layer}) are both none; set one of them"
                ),
            });
            None
        }
    }
}

fn problem(spec: &KeySpec, v: &str, layer: &Layer, reject: Reject) -> Problem {
    let value = redact(spec.name, v);
    match reject {
        Reject::Invalid => Problem::InvalidValue {
            key: spec.name,
            value,
            reason: None,
            accepted: spec.accepted,
            layer: layer.clone(),
        },
        Reject::Because(r) => Problem::InvalidValue {
            key: spec.name,
            value,
            reason: Some(r),
            accepted: spec.accepted,
            layer: layer.clone(),
        },
        Reject::Unavailable(reason) => Problem::Unavailable {
            key: spec.name,
            value,
            reason,
            accepted: spec.accepted,
            layer: layer.clone(),
        },
    }
}

/// A value for a message: redacted, and `""` when empty.
fn shown(key: &str, v: &str) -> String {
    let v = redact(key, v.trim());
    if v.is_empty() { "\"\"".into() } else { v }
}

/// Two spellings of the same value: equal text, numbers, booleans or "no limit" words.
fn same_value(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a == b || (values::is_none_word(a) && values::is_none_word(b)) {
        return true;
    }
    match (parse_decimal(a), parse_decimal(b)) {
        (Some(x), Some(y)) => return x == y,
        (Some(_), None) | (None, Some(_)) => return false,
        (None, None) => {}
    }
    matches!((parse_bool(a), parse_bool(b)), (Some(x), Some(y)) if x == y)
}

/// Profile names become file names: 1 to 64 letters, digits, `-` or `_`.
fn valid_profile(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}
