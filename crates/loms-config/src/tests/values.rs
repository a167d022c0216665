//! Value parsing and checks: limits, amounts, booleans, durations, database URLs, sizing.

use super::*;

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
