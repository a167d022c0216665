//! Unit tests. They never touch the real process environment: `process_env` is injected.

use super::*;
use crate::sources::{BadLine, DotEnvVar, parse_dotenv, suggest};
use crate::values::sqlite_path;
use loms_risk::RiskLimits;
use rust_decimal::dec;
use std::fs;
use tempfile::TempDir;

/// Sources rooted in a temporary directory: `<dir>/config/<profile>.toml`, `<dir>/.env`.
fn sources(dir: &TempDir) -> ConfigSources {
    ConfigSources {
        profile: "dev".into(),
        profile_explicit: false,
        config_dir: dir.path().join("config"),
        env_file: Some(dir.path().join(".env")),
        process_env: Vec::new(),
        cli: Vec::new(),
    }
}

fn write(dir: &TempDir, rel: &str, text: &str) -> PathBuf {
    let path = dir.path().join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, text).unwrap();
    path
}

fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Defaults plus these process-environment values.
fn with_env(kv: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut src = ConfigSources::defaults_only();
    src.process_env = pairs(kv);
    load(&src)
}

fn layer_of(s: &Settings, key: &str) -> Layer {
    s.entry(key).unwrap().layer.clone()
}

fn value_of<'a>(s: &'a Settings, key: &str) -> &'a str {
    &s.entry(key).unwrap().value
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// --- defaults -------------------------------------------------------------------

#[test]
fn defaults_only_gives_the_builtin_defaults() {
    let s = load(&ConfigSources::defaults_only()).unwrap();
    assert_eq!(s.profile, "dev");
    assert_eq!(s.environment, "dev");
    assert_eq!(s.broker_mode, BrokerMode::Paper);
    assert!(s.oms_enabled);
    assert_eq!(s.database_url, "sqlite:///./data/loms_dev.db");
    assert_eq!(s.database_path, PathBuf::from("./data/loms_dev.db"));
    assert_eq!(
        s.audit_log_path,
        PathBuf::from("./logs/signals_audit.jsonl")
    );
    assert_eq!(s.bind.to_string(), "127.0.0.1:8000");
    assert_eq!(s.risk, RiskLimits::default());
    assert_eq!(s.sizing, Sizing::FixedNotional(dec!(10)));
    assert_eq!(s.signal_defaults, SignalDefaults::default());
    assert_eq!(s.price_source, PriceSourceKind::Simulator);
    assert_eq!(s.price_mode, PriceMode::Last);
    assert_eq!(s.price_exchange, "dummy");
    assert_eq!(s.auto_close_interval, Duration::from_secs(1));
    assert_eq!(s.min_position_age, Duration::from_secs(7));
    assert_eq!(s.exit_strategy, "tp_sl_static");
    assert_eq!(s.sim_seed, None);
    assert_eq!(s.sim_base_price, dec!(100));
    assert_eq!(s.sim_volatility_pct, dec!(0.3));
    assert_eq!(s.entries.len(), KEYS.len());
    assert!(s.entries.iter().all(|e| e.layer == Layer::Default));
    assert!(s.warnings.is_empty());
    assert!(s.files_read.is_empty());
}

#[test]
fn builtin_draft_agrees_with_the_key_table_defaults() {
    let mut loaded = load(&ConfigSources::defaults_only()).unwrap();
    loaded.entries.clear();
    assert_eq!(Draft::new("dev").s, loaded);
}

#[test]
fn entries_follow_the_key_table_order_and_names_are_unique() {
    let s = load(&ConfigSources::defaults_only()).unwrap();
    let names: Vec<_> = s.entries.iter().map(|e| e.key).collect();
    let table: Vec<_> = KEYS.iter().map(|k| k.name).collect();
    assert_eq!(names, table);
    for (i, k) in KEYS.iter().enumerate() {
        assert_eq!(k.name, k.name.to_ascii_uppercase());
        assert!(!k.doc.is_empty() && !k.accepted.is_empty());
        assert!(KEYS[i + 1..].iter().all(|o| o.name != k.name), "{}", k.name);
    }
    assert_eq!(key_spec("price_mode").unwrap().name, "PRICE_MODE");
}

// --- layers ---------------------------------------------------------------------

#[test]
fn each_layer_overrides_the_one_below() {
    let dir = TempDir::new().unwrap();
    let toml = write(
        &dir,
        "config/dev.toml",
        "PRICE_MODE = \"bid\"\nTP_PCT = 5\nSL_PCT = 2\nMAX_OPEN_POSITIONS = 9\n",
    );
    let dotenv = write(&dir, ".env", "TP_PCT=6\nSL_PCT=3\nMAX_OPEN_POSITIONS=8\n");
    let mut src = sources(&dir);
    src.process_env = pairs(&[("SL_PCT", "4"), ("MAX_OPEN_POSITIONS", "7")]);
    src.cli = pairs(&[("MAX_OPEN_POSITIONS", "6")]);
    let s = load(&src).unwrap();

    assert_eq!(s.price_exchange, "dummy");
    assert_eq!(layer_of(&s, "PRICE_EXCHANGE"), Layer::Default);
    assert_eq!(s.price_mode, PriceMode::Bid);
    assert_eq!(layer_of(&s, "PRICE_MODE"), Layer::File(toml.clone()));
    assert_eq!(s.signal_defaults.tp_pct, dec!(6));
    assert_eq!(layer_of(&s, "TP_PCT"), Layer::DotEnv(dotenv.clone()));
    assert_eq!(s.signal_defaults.sl_pct, dec!(4));
    assert_eq!(layer_of(&s, "SL_PCT"), Layer::Env);
    assert_eq!(s.risk.max_open_positions, Some(6));
    assert_eq!(layer_of(&s, "MAX_OPEN_POSITIONS"), Layer::Cli);
    assert_eq!(value_of(&s, "MAX_OPEN_POSITIONS"), "6");
    assert_eq!(s.files_read, vec![toml, dotenv]);
}

#[test]
fn layers_display_as_documented() {
    assert_eq!(Layer::Default.to_string(), "default");
    assert_eq!(
        Layer::File(PathBuf::from("config/dev.toml")).to_string(),
        "config/dev.toml"
    );
    assert_eq!(Layer::DotEnv(PathBuf::from(".env")).to_string(), ".env");
    assert_eq!(Layer::Env.to_string(), "env");
    assert_eq!(Layer::Cli.to_string(), "cli");
}

#[test]
fn process_env_contributes_only_known_upper_case_keys() {
    let s = with_env(&[
        ("PATH", "/usr/bin"),
        ("HOME", "/root"),
        ("price_mode", "mid"),
        ("LOMS_PROFILE", "paper"),
    ])
    .unwrap();
    assert_eq!(s.price_mode, PriceMode::Last);
    assert!(s.entries.iter().all(|e| e.layer == Layer::Default));
    // The last of repeated variables wins.
    let s = with_env(&[("PRICE_MODE", "bid"), ("PRICE_MODE", "ask")]).unwrap();
    assert_eq!(s.price_mode, PriceMode::Ask);
}

#[test]
fn cli_keys_ignore_case_and_unknown_ones_are_errors() {
    let mut src = ConfigSources::defaults_only();
    src.cli = pairs(&[("loms_bind", "127.0.0.2:9000"), ("Price_Mode", "mark")]);
    let s = load(&src).unwrap();
    assert_eq!(s.bind.to_string(), "127.0.0.2:9000");
    assert_eq!(s.price_mode, PriceMode::Mark);
    assert_eq!(layer_of(&s, "LOMS_BIND"), Layer::Cli);

    src.cli = pairs(&[("PRICE_MOD", "mid"), ("NOPE", "1")]);
    let e = load(&src).unwrap_err();
    assert_eq!(e.problems().len(), 2);
    let text = e.to_string();
    assert!(
        text.contains("PRICE_MOD: unknown setting (from cli); did you mean PRICE_MODE?"),
        "{text}"
    );
    assert!(text.contains("NOPE: unknown setting (from cli)"), "{text}");
}

// --- override warning -----------------------------------------------------------

#[test]
fn process_env_overriding_a_file_value_warns() {
    let dir = TempDir::new().unwrap();
    let dotenv = write(&dir, ".env", "MAX_SIZE_PER_POSITION_USDT=50\n");
    let toml = write(&dir, "config/dev.toml", "PRICE_MODE = \"bid\"\n");
    let mut src = sources(&dir);
    src.process_env = pairs(&[("MAX_SIZE_PER_POSITION_USDT", "10"), ("PRICE_MODE", "ask")]);
    let s = load(&src).unwrap();
    assert_eq!(s.risk.max_size_per_position_usdt, Some(dec!(10)));
    assert_eq!(
        s.warnings,
        vec![
            format!(
                "MAX_SIZE_PER_POSITION_USDT=10 from the process environment overrides 50 from {}",
                dotenv.display()
            ),
            format!(
                "PRICE_MODE=ask from the process environment overrides bid from {}",
                toml.display()
            ),
        ]
    );
    assert!(
        s.render_table()
            .contains("# warning: MAX_SIZE_PER_POSITION_USDT=10 from the process environment")
    );
}

#[test]
fn the_warning_uses_the_layer_names_of_the_incident() {
    // Relative paths, as loms-server uses them: the message reads exactly like the docs.
    let warning = format!(
        "MAX_SIZE_PER_POSITION_USDT=10 from the process environment overrides 50 from {}",
        Layer::DotEnv(PathBuf::from(".env"))
    );
    assert_eq!(
        warning,
        "MAX_SIZE_PER_POSITION_USDT=10 from the process environment overrides 50 from .env"
    );
}

#[test]
fn no_warning_when_env_agrees_or_overrides_only_a_default() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        ".env",
        "MAX_SIZE_PER_POSITION_USDT=50\nMAX_OPEN_POSITIONS=none\nOMS_ENABLED=off\n",
    );
    write(&dir, "config/dev.toml", "TP_PCT = 5\n");
    let mut src = sources(&dir);
    src.process_env = pairs(&[
        ("MAX_SIZE_PER_POSITION_USDT", "50.0"),
        ("MAX_OPEN_POSITIONS", "OFF"),
        ("OMS_ENABLED", "false"),
        ("SL_PCT", "2"), // only a default below
    ]);
    src.cli = pairs(&[("TP_PCT", "6")]); // the command line never warns
    let s = load(&src).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert!(!s.oms_enabled);

    // A limit of 0 is not "no limit": that one warns.
    src.process_env = pairs(&[("MAX_OPEN_POSITIONS", "0")]);
    let s = load(&src).unwrap();
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(
        s.warnings[0]
            .starts_with("MAX_OPEN_POSITIONS=0 from the process environment overrides none from ")
    );
}

// --- errors ---------------------------------------------------------------------

#[test]
fn all_bad_values_are_reported_at_once() {
    let e = with_env(&[("PRICE_MODE", "foo"), ("MAX_OPEN_POSITIONS", "-3")]).unwrap_err();
    assert_eq!(e.problems().len(), 2);
    let lines: Vec<String> = e.to_string().lines().map(String::from).collect();
    assert_eq!(
        lines,
        vec![
            "MAX_OPEN_POSITIONS: \"-3\" is not valid (negative); accepted: a whole number >= 0, or none/null/off/empty for no limit (from env)",
            "PRICE_MODE: \"foo\" is not valid; accepted: last, bid, ask, mid, mark (from env)",
        ]
    );
    let keys: Vec<_> = e.problems().iter().filter_map(Problem::key).collect();
    assert_eq!(keys, vec!["MAX_OPEN_POSITIONS", "PRICE_MODE"]);
}

#[test]
fn errors_from_every_layer_are_collected_together() {
    let dir = TempDir::new().unwrap();
    write(&dir, "config/dev.toml", "MAX_POSITIONS = 3\nTP_PCT = 500\n");
    write(&dir, ".env", "SL_PCT=abc\n");
    let mut src = sources(&dir);
    src.process_env = pairs(&[("LOMS_BIND", "localhost")]);
    src.cli = pairs(&[("BOGUS", "1")]);
    let e = load(&src).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.problems().len(), 5, "{text}");
    for want in ["MAX_POSITIONS", "TP_PCT", "SL_PCT", "LOMS_BIND", "BOGUS"] {
        assert!(text.lines().any(|l| l.starts_with(want)), "{want}: {text}");
    }
}

#[test]
fn unavailable_features_are_refused_with_a_clear_message() {
    let e = with_env(&[("PRICE_SOURCE", "replay")])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("PRICE_SOURCE=replay is not available in this version"),
        "{e}"
    );
    assert!(
        e.contains("loms-replay") && e.contains("accepted: simulator, exchange"),
        "{e}"
    );
    let e = with_env(&[("PRICE_SOURCE", "exchange")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "PRICE_SOURCE=exchange needs PRICE_EXCHANGE=bybit or bitget"
    );
    let e = with_env(&[("PRICE_MODE", "mark"), ("PRICE_MARKET", "spot")])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("PRICE_MODE=mark needs PRICE_MARKET=perp: spot quotes have no mark price"),
        "{e}"
    );
    assert!(with_env(&[("PRICE_MODE", "mark"), ("PRICE_MARKET", "perp")]).is_ok());
    assert!(with_env(&[("PRICE_MODE", "mid"), ("PRICE_MARKET", "spot")]).is_ok());
    let s = with_env(&[
        ("PRICE_SOURCE", "exchange"),
        ("PRICE_EXCHANGE", "Bitget"),
        ("BITGET_BASE_URL", "http://127.0.0.1:9/"),
    ])
    .unwrap();
    assert_eq!(
        (
            s.price_source,
            s.price_exchange.as_str(),
            s.bitget_base_url.as_str()
        ),
        (PriceSourceKind::Exchange, "bitget", "http://127.0.0.1:9")
    );
    assert!(with_env(&[("BYBIT_BASE_URL", "ftp://x")]).is_err());
    assert!(with_env(&[("PRICE_MARKET", "options")]).is_err());
    let e = with_env(&[("BROKER_MODE", "foo")]).unwrap_err().to_string();
    assert!(
        e.contains("BROKER_MODE: \"foo\" is not valid; accepted: paper, live"),
        "{e}"
    );
    // Case does not matter for the accepted names.
    assert!(with_env(&[("BROKER_MODE", "PAPER"), ("PRICE_SOURCE", "Simulator")]).is_ok());
}

mod files;
mod live;
mod output;
mod values;
