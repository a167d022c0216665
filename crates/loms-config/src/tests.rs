//! Unit tests. They never touch the real process environment: `process_env` is injected.

use super::*;
use crate::keys::sqlite_path;
use crate::sources::{BadLine, DotEnvVar, parse_dotenv, suggest};
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
    let e = with_env(&[("BROKER_MODE", "live")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BROKER_MODE=live is not available in this version (no live broker adapter yet); accepted: paper (from env)"
    );
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
        e.contains("BROKER_MODE: \"foo\" is not valid; accepted: paper"),
        "{e}"
    );
    // Case does not matter for the accepted names.
    assert!(with_env(&[("BROKER_MODE", "PAPER"), ("PRICE_SOURCE", "Simulator")]).is_ok());
}

// --- limits and values ----------------------------------------------------------

const LIMITS: [&str; 6] = [
    "MAX_OPEN_POSITIONS",
    "MAX_OPEN_POSITIONS_PER_SYMBOL",
    "MAX_SIZE_PER_POSITION_USDT",
    "RISK_MAX_SIGNALS_PER_DAY",
    "RISK_MAX_SIGNALS_PER_SYMBOL_PER_DAY",
    "MAX_SIGNAL_AGE_SEC",
];

#[test]
fn none_and_empty_mean_no_limit() {
    for word in ["", "  ", "none", "NONE", "null", "Off"] {
        let env: Vec<(&str, &str)> = LIMITS.iter().map(|k| (*k, word)).collect();
        let s = with_env(&env).unwrap_or_else(|e| panic!("{word:?}: {e}"));
        assert_eq!(s.risk, RiskLimits::default(), "{word:?}");
        assert_eq!(layer_of(&s, "MAX_OPEN_POSITIONS"), Layer::Env);
    }
}

#[test]
fn limits_are_parsed_and_checked() {
    let s = with_env(&[
        ("MAX_OPEN_POSITIONS", "0"),
        ("MAX_OPEN_POSITIONS_PER_SYMBOL", " 2 "),
        ("MAX_SIZE_PER_POSITION_USDT", "25.50"),
        ("RISK_MAX_SIGNALS_PER_DAY", "50"),
        ("RISK_MAX_SIGNALS_PER_SYMBOL_PER_DAY", "3"),
        ("MAX_SIGNAL_AGE_SEC", "600"),
    ])
    .unwrap();
    assert_eq!(
        s.risk,
        RiskLimits {
            max_open_positions: Some(0),
            max_open_positions_per_symbol: Some(2),
            max_size_per_position_usdt: Some(dec!(25.5)),
            max_signals_per_day: Some(50),
            max_signals_per_symbol_per_day: Some(3),
            max_signal_age_sec: Some(600),
        }
    );
    for (key, bad) in [
        ("MAX_OPEN_POSITIONS", "1.5"),
        ("MAX_OPEN_POSITIONS", "abc"),
        ("MAX_OPEN_POSITIONS", "4294967296"),
        ("MAX_SIZE_PER_POSITION_USDT", "0"),
        ("MAX_SIZE_PER_POSITION_USDT", "-1"),
        ("MAX_SIZE_PER_POSITION_USDT", "1e13"),
        ("MAX_SIZE_PER_POSITION_USDT", "NaN"),
        ("MAX_SIGNAL_AGE_SEC", "0"),
        ("MAX_SIGNAL_AGE_SEC", "-5"),
        ("RISK_MAX_SIGNALS_PER_DAY", "yes"),
    ] {
        let e = with_env(&[(key, bad)]).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{key}: {bad:?} is not valid")),
            "{key}={bad}: {e}"
        );
        assert!(e.contains("accepted: "), "{e}");
    }
}

#[test]
fn percentages_and_amounts() {
    let s = with_env(&[
        ("TP_PCT", "10"),
        ("SL_PCT", "0.25"),
        ("SIM_BASE_PRICE", "97250.5"),
        ("SIM_VOLATILITY_PCT", "0"),
        ("SIM_SEED", "42"),
    ])
    .unwrap();
    assert_eq!(s.signal_defaults.tp_pct, dec!(10));
    assert_eq!(s.signal_defaults.sl_pct, dec!(0.25));
    assert_eq!(s.signal_defaults.exchange, "bitget");
    assert_eq!(s.sim_base_price, dec!(97250.5));
    assert_eq!(s.sim_volatility_pct, dec!(0));
    assert_eq!(s.sim_seed, Some(42));
    for (key, bad) in [
        ("TP_PCT", "0"),
        ("TP_PCT", "100"),
        ("SL_PCT", "-1"),
        ("SIM_BASE_PRICE", "0"),
        ("SIM_VOLATILITY_PCT", "50"),
        ("SIM_VOLATILITY_PCT", "-0.1"),
        ("SIM_SEED", "-1"),
        ("SIM_SEED", "1.5"),
        ("PRICE_EXCHANGE", "binance"),
        ("EXIT_STRATEGY", "trailing"),
        ("ENVIRONMENT", "my env"),
        ("ENVIRONMENT", ""),
        ("PRICE_MODE", ""),
        ("AUDIT_LOG_PATH", ""),
    ] {
        let e = with_env(&[(key, bad)]).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{key}: ")), "{key}={bad}: {e}");
    }
    let s = with_env(&[("PRICE_EXCHANGE", "ByBit"), ("ENVIRONMENT", "staging-2")]).unwrap();
    assert_eq!(s.price_exchange, "bybit");
    assert_eq!(s.environment, "staging-2");
}

#[test]
fn the_break_even_offset_is_checked_and_the_exit_policy_gets_the_taker_fee() {
    let s = with_env(&[]).unwrap();
    assert_eq!(
        s.exit_params().break_even_offset_bps,
        dec!(0),
        "documented default"
    );
    let s = with_env(&[("TRAIL_BE_OFFSET_BPS", "2.5"), ("FEE_TAKER_BPS", "5")]).unwrap();
    let p = s.exit_params();
    assert_eq!(
        (p.break_even_offset_bps, p.taker_fee_bps),
        (dec!(2.5), dec!(5))
    );
    for bad in ["-1", "1000.01", "x", ""] {
        let e = with_env(&[("TRAIL_BE_OFFSET_BPS", bad)])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("TRAIL_BE_OFFSET_BPS: "), "{bad}: {e}");
    }
}

#[test]
fn booleans_accept_common_spellings() {
    for (v, want) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("On", true),
        ("false", false),
        ("0", false),
        ("No", false),
        ("off", false),
    ] {
        assert_eq!(
            with_env(&[("OMS_ENABLED", v)]).unwrap().oms_enabled,
            want,
            "{v}"
        );
    }
    let e = with_env(&[("OMS_ENABLED", "maybe")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("accepted: true/false, 1/0, yes/no, on/off"),
        "{e}"
    );
}

#[test]
fn durations_in_float_seconds() {
    let s = with_env(&[
        ("AUTO_CLOSE_INTERVAL_SEC", "0.25"),
        ("MIN_POSITION_AGE_SEC", "0"),
    ])
    .unwrap();
    assert_eq!(s.auto_close_interval, Duration::from_millis(250));
    assert_eq!(s.min_position_age, Duration::ZERO);
    let s = with_env(&[
        ("AUTO_CLOSE_INTERVAL_SEC", "1e-2"),
        ("MIN_POSITION_AGE_SEC", "7.5"),
    ])
    .unwrap();
    assert_eq!(s.auto_close_interval, Duration::from_millis(10));
    assert_eq!(s.min_position_age, Duration::from_millis(7500));
    let s = with_env(&[("AUTO_CLOSE_INTERVAL_SEC", "3600")]).unwrap();
    assert_eq!(s.auto_close_interval, Duration::from_secs(3600));
    for (key, bad) in [
        ("AUTO_CLOSE_INTERVAL_SEC", "0.001"),
        ("AUTO_CLOSE_INTERVAL_SEC", "0"),
        ("AUTO_CLOSE_INTERVAL_SEC", "3600.5"),
        ("AUTO_CLOSE_INTERVAL_SEC", "fast"),
        ("MIN_POSITION_AGE_SEC", "-1"),
        ("MIN_POSITION_AGE_SEC", "1e30"),
    ] {
        assert!(with_env(&[(key, bad)]).is_err(), "{key}={bad}");
    }
}

#[test]
fn database_url_forms() {
    for (url, path) in [
        ("sqlite:///./data/x.db", "./data/x.db"),
        ("sqlite:////abs/x.db", "/abs/x.db"),
        ("sqlite:///data/x.db", "data/x.db"),
        ("SQLITE:///./x.db", "./x.db"),
        ("./data/plain.db", "./data/plain.db"),
        ("/var/lib/loms/plain.db", "/var/lib/loms/plain.db"),
    ] {
        let s = with_env(&[("DATABASE_URL", url)]).unwrap();
        assert_eq!(s.database_path, PathBuf::from(path), "{url}");
        assert_eq!(s.database_url, url);
    }
    for bad in [
        "postgres://u:pw@db/loms",
        "sqlite://x.db",
        "sqlite:///",
        "sqlite:///x.db?mode=ro",
        "",
    ] {
        let e = with_env(&[("DATABASE_URL", bad)]).unwrap_err().to_string();
        assert!(e.starts_with("DATABASE_URL: "), "{bad}: {e}");
        assert!(
            e.contains("accepted: sqlite:///relative/path.db, sqlite:////absolute/path.db or a plain file path"),
            "{e}"
        );
    }
    let e = with_env(&[("DATABASE_URL", "postgres://u:pw@db/loms")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("only SQLite is supported"), "{e}");
    assert!(!e.contains("pw"), "password leaked: {e}");
    assert_eq!(
        sqlite_path("sqlite:////abs/x.db"),
        Ok(PathBuf::from("/abs/x.db"))
    );
}

// --- sizing ---------------------------------------------------------------------

#[test]
fn default_qty_wins_over_a_default_position_size() {
    let s = with_env(&[("DEFAULT_QTY", "0.5")]).unwrap();
    assert_eq!(s.sizing, Sizing::FixedQty(dec!(0.5)));
    assert!(
        s.render_table()
            .contains("# sizing: quantity 0.5 per position (DEFAULT_QTY)")
    );
}

#[test]
fn explicit_default_qty_and_position_size_conflict() {
    let dir = TempDir::new().unwrap();
    let toml = write(&dir, "config/dev.toml", "POSITION_SIZE_USDT = 20\n");
    write(&dir, ".env", "DEFAULT_QTY=0.5\n");
    let e = load(&sources(&dir)).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.problems().len(), 1);
    assert!(
        text.starts_with(
            "set only one of DEFAULT_QTY and POSITION_SIZE_USDT: DEFAULT_QTY=0.5 (from "
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("POSITION_SIZE_USDT=20 (from {})", toml.display())),
        "{text}"
    );
    match &e.problems()[0] {
        Problem::Conflict { keys, .. } => assert_eq!(keys, &["DEFAULT_QTY", "POSITION_SIZE_USDT"]),
        p => panic!("unexpected {p:?}"),
    }

    // Setting the other one to none resolves it.
    let mut src = sources(&dir);
    src.process_env = pairs(&[("POSITION_SIZE_USDT", "none")]);
    assert_eq!(load(&src).unwrap().sizing, Sizing::FixedQty(dec!(0.5)));
    src.process_env = pairs(&[("DEFAULT_QTY", "none")]);
    assert_eq!(load(&src).unwrap().sizing, Sizing::FixedNotional(dec!(20)));
}

#[test]
fn sizing_needs_one_of_the_two() {
    let s = with_env(&[("POSITION_SIZE_USDT", "25")]).unwrap();
    assert_eq!(s.sizing, Sizing::FixedNotional(dec!(25)));
    let e = with_env(&[("POSITION_SIZE_USDT", "none")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("DEFAULT_QTY") && e.contains("POSITION_SIZE_USDT"),
        "{e}"
    );
    assert!(e.contains("both none"), "{e}");
    // A bad value is reported as such, without a second sizing error.
    let e = with_env(&[("DEFAULT_QTY", "0"), ("POSITION_SIZE_USDT", "5")]).unwrap_err();
    assert_eq!(e.problems().len(), 1, "{e}");
    assert!(e.to_string().starts_with("DEFAULT_QTY: \"0\" is not valid"));
}

// --- TOML -----------------------------------------------------------------------

#[test]
fn unknown_toml_key_is_an_error_naming_file_and_key() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "config/dev.toml",
        "MAX_POSITIONS = 3\nfoo_bar_baz = 1\n",
    );
    let e = load(&sources(&dir)).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.problems().len(), 2, "{text}");
    assert!(
        text.contains(&format!(
            "MAX_POSITIONS: unknown setting (from {}); did you mean MAX_OPEN_POSITIONS?",
            path.display()
        )),
        "{text}"
    );
    assert!(text.contains("foo_bar_baz: unknown setting"), "{text}");
}

#[test]
fn toml_keys_ignore_case_and_scalars_of_any_type_are_accepted() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "config/dev.toml",
        "oms_enabled = false\ntp_pct = 5\nSl_Pct = 2.5\nPRICE_MODE = \"MID\"\nSIM_SEED = 7\n",
    );
    let s = load(&sources(&dir)).unwrap();
    assert!(!s.oms_enabled);
    assert_eq!(value_of(&s, "OMS_ENABLED"), "false");
    assert_eq!(s.signal_defaults.tp_pct, dec!(5));
    assert_eq!(s.signal_defaults.sl_pct, dec!(2.5));
    assert_eq!(s.price_mode, PriceMode::Mid);
    assert_eq!(s.sim_seed, Some(7));
}

#[test]
fn toml_structure_errors() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "config/dev.toml",
        "TP_PCT = [1, 2]\nSL_PCT = { a = 1 }\ntp_PCT = 3\n[risk]\nMAX_OPEN_POSITIONS = 1\n",
    );
    let text = load(&sources(&dir)).unwrap_err().to_string();
    assert!(
        text.contains("SL_PCT: \"[table]\" is not valid (sections and tables"),
        "{text}"
    );
    assert!(text.contains("TP_PCT: set more than once"), "{text}");
    assert!(text.contains("risk: unknown setting"), "{text}");

    write(&dir, "config/dev.toml", "TP_PCT = = 5\n");
    let mut src = sources(&dir);
    src.process_env = pairs(&[("PRICE_MODE", "foo")]);
    let e = load(&src).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.problems().len(), 2, "{text}");
    assert!(text.contains("dev.toml: not valid TOML"), "{text}");
    assert!(text.contains("PRICE_MODE: \"foo\""), "{text}");
}

// --- profiles -------------------------------------------------------------------

#[test]
fn shipped_profiles_load() {
    let config_dir = repo_root().join("config");
    let load_profile = |name: &str| {
        let src = ConfigSources {
            profile: name.into(),
            profile_explicit: true,
            config_dir: config_dir.clone(),
            env_file: None,
            process_env: Vec::new(),
            cli: Vec::new(),
        };
        load(&src).unwrap_or_else(|e| panic!("config/{name}.toml: {e}"))
    };

    let dev = load_profile("dev");
    assert_eq!(dev.environment, "dev");
    assert_eq!(dev.database_path, PathBuf::from("./data/loms_dev.db"));
    assert_eq!(dev.risk, RiskLimits::default());
    assert_eq!(dev.files_read, vec![config_dir.join("dev.toml")]);

    let paper = load_profile("paper");
    assert_eq!(paper.environment, "paper");
    assert_eq!(paper.broker_mode, BrokerMode::Paper);
    assert_eq!(paper.database_path, PathBuf::from("./data/loms_paper.db"));
    assert_eq!(paper.risk.max_open_positions, Some(5));
    assert_eq!(paper.risk.max_open_positions_per_symbol, Some(1));
    assert_eq!(paper.risk.max_signals_per_day, Some(50));
    assert_eq!(paper.risk.max_signal_age_sec, Some(600));

    let live = load_profile("live");
    assert_eq!(live.environment, "live");
    assert_eq!(live.broker_mode, BrokerMode::Paper);
    assert_eq!(live.database_path, PathBuf::from("./data/loms_live.db"));
    assert_eq!(
        live.risk,
        RiskLimits {
            max_open_positions: Some(2),
            max_open_positions_per_symbol: Some(1),
            max_size_per_position_usdt: Some(dec!(25)),
            max_signals_per_day: Some(20),
            max_signals_per_symbol_per_day: None,
            max_signal_age_sec: Some(120),
        }
    );
    assert_eq!(live.sizing, Sizing::FixedNotional(dec!(20)));
    assert_eq!(
        layer_of(&live, "MAX_SIZE_PER_POSITION_USDT"),
        Layer::File(config_dir.join("live.toml"))
    );
}

#[test]
fn missing_profile_file_is_an_error_only_when_asked_for() {
    let dir = TempDir::new().unwrap();
    let mut src = sources(&dir);
    src.profile = "paper".into();
    src.profile_explicit = true;
    let e = load(&src).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("profile \"paper\" was asked for but "),
        "{text}"
    );
    assert!(text.contains("paper.toml does not exist"), "{text}");

    src.profile_explicit = false;
    let s = load(&src).unwrap();
    assert_eq!(s.environment, "paper");

    src.profile = "dev".into();
    src.profile_explicit = true;
    assert!(load(&src).is_ok());
}

#[test]
fn bad_profile_names_are_refused() {
    for bad in ["../etc/passwd", "", "a b", "dev.toml"] {
        let mut src = ConfigSources::defaults_only();
        src.profile = bad.into();
        let e = load(&src).unwrap_err().to_string();
        assert!(e.starts_with("profile "), "{bad}: {e}");
    }
}

#[test]
fn sources_pick_the_profile_from_the_argument_then_loms_profile() {
    let env = pairs(&[("LOMS_PROFILE", "paper"), ("PATH", "/bin")]);
    let src = ConfigSources::with_env(None, None, None, vec![], env.clone());
    assert_eq!(
        (src.profile.as_str(), src.profile_explicit),
        ("paper", true)
    );
    assert_eq!(src.config_dir, PathBuf::from("config"));
    assert_eq!(src.env_file, Some(PathBuf::from(".env")));
    assert_eq!(src.process_env, env);

    let src = ConfigSources::with_env(Some("live".into()), None, None, vec![], env);
    assert_eq!((src.profile.as_str(), src.profile_explicit), ("live", true));

    let src = ConfigSources::with_env(
        None,
        Some("/etc/loms".into()),
        Some("/etc/loms/env".into()),
        pairs(&[("LOMS_BIND", "0.0.0.0:1")]),
        pairs(&[("LOMS_PROFILE", " ")]),
    );
    assert_eq!((src.profile.as_str(), src.profile_explicit), ("dev", false));
    assert_eq!(src.config_dir, PathBuf::from("/etc/loms"));
    assert_eq!(src.env_file, Some(PathBuf::from("/etc/loms/env")));
    assert_eq!(src.cli.len(), 1);
}

// --- .env -----------------------------------------------------------------------

#[test]
fn dotenv_parsing() {
    let text = "\u{feff}# comment\n\
        \n\
        PLAIN=value\n\
        export EXPORTED=1\n\
        SPACED = padded value  \n\
        DQ=\"quoted # not a comment\" # comment\n\
        SQ='single $literal \\n'\n\
        ESC=\"a\\\"b\\\\c\\nd\"\n\
        INLINE=abc # trailing comment\n\
        HASH=abc#def\n\
        EMPTY=\n\
        EMPTY_COMMENT= # nothing\n\
        EQUALS=a=b\n\
        exportNOT=2\n\
        not a pair\n\
        BAD KEY=1\n\
        OPEN=\"unterminated\n\
        AFTER='x' y\n";
    let (vars, bad) = parse_dotenv(text);
    let got: Vec<(&str, &str)> = vars
        .iter()
        .map(|v| (v.key.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("PLAIN", "value"),
            ("EXPORTED", "1"),
            ("SPACED", "padded value"),
            ("DQ", "quoted # not a comment"),
            ("SQ", "single $literal \\n"),
            ("ESC", "a\"b\\c\nd"),
            ("INLINE", "abc"),
            ("HASH", "abc#def"),
            ("EMPTY", ""),
            ("EMPTY_COMMENT", ""),
            ("EQUALS", "a=b"),
            ("exportNOT", "2"),
        ]
    );
    assert_eq!(
        vars[0],
        DotEnvVar {
            line: 3,
            key: "PLAIN".into(),
            value: "value".into()
        }
    );
    let bad_lines: Vec<(usize, Option<&str>)> = bad
        .iter()
        .map(|b: &BadLine| (b.line, b.key.as_deref()))
        .collect();
    assert_eq!(
        bad_lines,
        vec![
            (15, None),
            (16, None),
            (17, Some("OPEN")),
            (18, Some("AFTER"))
        ]
    );
}

#[test]
fn dotenv_known_keys_apply_and_unknown_ones_warn() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        ".env",
        "export TP_PCT=\"5\"\nprice_mode='mid'\nOTHER_TOOL_URL=http://x\nMAX_OPEN_POSITION=3\nLOMS_PROFILE=live\nnot a pair\n",
    );
    let s = load(&sources(&dir)).unwrap();
    assert_eq!(s.signal_defaults.tp_pct, dec!(5));
    assert_eq!(s.price_mode, PriceMode::Mid);
    assert_eq!(layer_of(&s, "PRICE_MODE"), Layer::DotEnv(path.clone()));
    let p = path.display();
    assert_eq!(
        s.warnings,
        vec![
            format!(
                "LOMS_PROFILE in {p} is ignored: the profile is chosen before the file is read; use --profile or the environment"
            ),
            format!(
                "{p}: ignoring 2 unknown key(s): OTHER_TOOL_URL (line 3), MAX_OPEN_POSITION (line 4, did you mean MAX_OPEN_POSITIONS?)"
            ),
            format!("{p}: line 6 ignored: expected KEY=VALUE"),
        ]
    );
}

#[test]
fn dotenv_broken_line_of_a_known_key_is_an_error() {
    let dir = TempDir::new().unwrap();
    write(&dir, ".env", "PRICE_MODE=\"mid\nSECRET_THING='abc' junk\n");
    let e = load(&sources(&dir)).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.problems().len(), 1, "{text}");
    assert!(
        text.contains("line 1: PRICE_MODE: unterminated double quote"),
        "{text}"
    );
}

#[test]
fn env_files_missing_or_unreadable() {
    let dir = TempDir::new().unwrap();
    let mut src = sources(&dir);
    // The default .env may be missing silently.
    src.env_file = Some(PathBuf::from(".env.definitely-missing-in-tests"));
    let s = load(&src).unwrap();
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("not found"), "{:?}", s.warnings);
    src.env_file = Some(dir.path().join("sub"));
    fs::create_dir(dir.path().join("sub")).unwrap();
    let e = load(&src).unwrap_err().to_string();
    assert!(e.contains("cannot read"), "{e}");
    fs::write(dir.path().join("latin1.env"), b"TP_PCT=\xe9\n").unwrap();
    src.env_file = Some(dir.path().join("latin1.env"));
    let e = load(&src).unwrap_err().to_string();
    assert!(e.contains("not valid UTF-8"), "{e}");
}

// --- output ---------------------------------------------------------------------

#[test]
fn render_table_lists_every_key_with_its_layer() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, ".env", "TP_PCT=5\n");
    let mut src = sources(&dir);
    src.process_env = pairs(&[("PRICE_MODE", "mid"), ("MAX_OPEN_POSITIONS", "")]);
    src.cli = pairs(&[("LOMS_BIND", "127.0.0.1:8080")]);
    let s = load(&src).unwrap();
    let table = s.render_table();
    let rows: Vec<&str> = table.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows.len(), KEYS.len(), "{table}");
    let eq_col = rows[0].find(" = ").unwrap();
    let layer_col = rows[0].rfind("  (").unwrap();
    for (row, e) in rows.iter().zip(&s.entries) {
        assert!(row.starts_with(e.key), "{row}");
        assert_eq!(row.find(" = "), Some(eq_col), "aligned: {row}");
        assert_eq!(row.rfind("  ("), Some(layer_col), "aligned: {row}");
        assert!(row.ends_with(&format!("({})", e.layer)), "{row}");
    }
    let row = |k: &str| {
        rows.iter()
            .find(|r| r.starts_with(&format!("{k} ")))
            .unwrap()
    };
    assert!(row("PRICE_MODE").contains("= mid ") && row("PRICE_MODE").ends_with("(env)"));
    assert!(row("MAX_OPEN_POSITIONS").contains("= \"\" "));
    assert!(row("LOMS_BIND").ends_with("(cli)"));
    assert!(row("TP_PCT").ends_with(&format!("({})", path.display())));
    assert!(row("SL_PCT").ends_with("(default)"));
    assert!(table.starts_with(&format!("# profile: dev; files read: {}\n", path.display())));
    assert!(table.contains("# sizing: 10 USDT notional per position (POSITION_SIZE_USDT)"));
    assert!(table.contains("# database file: ./data/loms_dev.db"));
}

#[test]
fn secret_keys_are_detected_and_redacted() {
    for k in [
        "LOMS_API_TOKEN",
        "BYBIT_API_SECRET",
        "DB_PASSWORD",
        "BITGET_PASSPHRASE",
        "bybit_api_key",
    ] {
        assert!(is_secret_key(k), "{k}");
        assert_eq!(redact(k, "hunter2"), "***");
        assert_eq!(redact(k, ""), "");
    }
    let secret: Vec<_> = KEYS
        .iter()
        .filter(|k| k.is_secret())
        .map(|k| k.name)
        .collect();
    assert_eq!(secret, vec!["LOMS_API_TOKEN"]);
    assert_eq!(redact("PRICE_MODE", "mid"), "mid");
    assert_eq!(
        redact("DATABASE_URL", "postgres://user:pw@host:5432/db"),
        "postgres://user:***@host:5432/db"
    );
    assert_eq!(
        redact("DATABASE_URL", "sqlite:////a:b@c/x.db"),
        "sqlite:////a:b@c/x.db"
    );
    assert_eq!(redact("X", "https://host/path"), "https://host/path");
}

#[test]
fn secret_values_never_appear_in_entries_warnings_tables_or_errors() {
    let keys = KEYS.to_vec();
    let dir = TempDir::new().unwrap();
    write(&dir, ".env", "LOMS_API_TOKEN=from-dotenv-hunter2\n");
    let mut src = sources(&dir);
    src.process_env = pairs(&[("LOMS_API_TOKEN", "from-env-hunter3")]);
    let s = load_with(&src, &keys).unwrap();
    let entry = s.entry("LOMS_API_TOKEN").unwrap();
    assert_eq!((entry.value.as_str(), &entry.layer), ("***", &Layer::Env));
    assert_eq!(s.warnings.len(), 1);
    assert!(
        s.warnings[0]
            .starts_with("LOMS_API_TOKEN=*** from the process environment overrides *** from ")
    );
    let table = s.render_table();
    assert!(!table.contains("hunter"), "{table}");
    assert!(table.contains("LOMS_API_TOKEN"), "{table}");

    src.process_env = pairs(&[("LOMS_API_TOKEN", "short")]);
    let e = load_with(&src, &keys).unwrap_err().to_string();
    assert_eq!(
        e,
        "LOMS_API_TOKEN: \"***\" is not valid; accepted: none, or a token of at least 16 characters without spaces (from env)"
    );

    // Unset: shown as none, not as ***.
    let s = load_with(&ConfigSources::defaults_only(), &keys).unwrap();
    assert_eq!(s.entry("LOMS_API_TOKEN").unwrap().value, "none");
    assert_eq!(s.api_token, None);
}

#[test]
fn for_tests_puts_the_files_inside_the_directory() {
    let dir = TempDir::new().unwrap();
    let s = Settings::for_tests(dir.path());
    assert_eq!(s.database_path, dir.path().join("loms_test.db"));
    assert_eq!(s.audit_log_path, dir.path().join("signals_audit.jsonl"));
    assert_eq!(sqlite_path(&s.database_url), Ok(s.database_path.clone()));
    assert_eq!(value_of(&s, "DATABASE_URL"), s.database_url);
    assert_eq!(s.sizing, Sizing::FixedNotional(dec!(10)));
    assert!(s.warnings.is_empty());
    let rel = Settings::for_tests(Path::new("tmp/x"));
    assert_eq!(
        sqlite_path(&rel.database_url),
        Ok(PathBuf::from("tmp/x/loms_test.db"))
    );
}

#[test]
fn suggestions_for_near_misses_only() {
    let names = || KEYS.iter().map(|k| k.name);
    assert_eq!(
        suggest("MAX_POSITIONS", names()),
        Some("MAX_OPEN_POSITIONS")
    );
    assert_eq!(suggest("price_mod", names()), Some("PRICE_MODE"));
    assert_eq!(suggest("TP_PTC", names()), Some("TP_PCT"));
    assert_eq!(suggest("DATABASE", names()), Some("DATABASE_URL"));
    assert_eq!(suggest("REDIS_HOST", names()), None);
    assert_eq!(suggest("FOO", names()), None);
    assert_eq!(suggest(&"X".repeat(10_000), names()), None);
}

#[test]
fn docs_and_env_sample_are_up_to_date() {
    let root = repo_root();
    let sample = fs::read_to_string(root.join(".env.sample")).unwrap();
    assert!(
        sample == env_sample(),
        ".env.sample is out of date: cargo run -q -p loms-config --example gen_reference -- env > .env.sample"
    );
    // Every key of the sample is a comment, so the sample itself loads as a .env.
    let (vars, bad) = parse_dotenv(&sample);
    assert!(vars.is_empty() && bad.is_empty());

    let docs = fs::read_to_string(root.join("docs/configuration.md")).unwrap();
    let begin = "<!-- BEGIN GENERATED: loms-config reference -->\n";
    let end = "<!-- END GENERATED: loms-config reference -->";
    let start = docs.find(begin).map(|i| i + begin.len()).unwrap();
    let stop = docs.find(end).unwrap();
    assert!(
        docs[start..stop] == reference_markdown(),
        "docs/configuration.md reference is out of date: cargo run -q -p loms-config --example gen_reference -- markdown"
    );
    for k in KEYS {
        assert!(sample.contains(&format!("# {}=", k.name)), "{}", k.name);
    }
}

#[test]
fn hostile_values_never_panic() {
    let weird = [
        "",
        " ",
        "-0",
        "+1",
        "1e400",
        "-1e400",
        "1e-400",
        "NaN",
        "inf",
        "-inf",
        "99999999999999999999999999999999999",
        "0.0000000000000000000000000000001",
        "79228162514264337593543950335",
        "18446744073709551616",
        "\u{0}",
        "\u{202e}evil",
        "🙂",
        "sqlite://",
        "sqlite:///\u{0}",
        "://",
        "[::1]:99999",
        "1_000",
        "0x10",
        ".",
        "-",
    ];
    for k in KEYS {
        for v in weird {
            let mut src = ConfigSources::defaults_only();
            src.process_env = pairs(&[(k.name, v)]);
            src.cli = pairs(&[(v, v)]);
            let _ = load(&src).map(|s| s.render_table());
        }
    }
    let _ = parse_dotenv("\"\n'\n=\n==\nexport\nexport \n\u{feff}\nK=\"\\\nK='\n");
}

#[test]
fn non_loopback_bind_needs_a_token() {
    let mut src = ConfigSources::defaults_only();
    src.cli = pairs(&[("LOMS_BIND", "0.0.0.0:8000")]);
    let e = load(&src).unwrap_err().to_string();
    assert!(
        e.contains("LOMS_BIND=0.0.0.0:8000 is not a loopback address")
            && e.contains("LOMS_API_TOKEN"),
        "{e}"
    );
    src.cli
        .push(("LOMS_API_TOKEN".into(), "a-long-enough-token-123".into()));
    let s = load(&src).unwrap();
    assert_eq!(s.api_token.as_deref(), Some("a-long-enough-token-123"));
    assert!(!s.render_table().contains("a-long-enough-token-123"));
    src.cli = pairs(&[("LOMS_BIND", "[::1]:8000")]);
    assert!(load(&src).is_ok(), "IPv6 loopback needs no token");
}
