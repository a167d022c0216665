//! BROKER_MODE=live and the live trading settings: ranges, refusals, secrets kept hidden.

use super::*;

/// A complete live configuration (Bitget perpetual prices, credentials) plus `extra`.
fn live(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut kv = vec![
        ("BROKER_MODE", "live"),
        ("PRICE_SOURCE", "exchange"),
        ("PRICE_EXCHANGE", "bitget"),
        ("PRICE_MARKET", "perp"),
        ("BITGET_API_KEY", "bg_key-hunter-1"),
        ("BITGET_API_SECRET", "secret-hunter-2"),
        ("BITGET_API_PASSPHRASE", "pass hunter 3"),
    ];
    kv.extend_from_slice(extra);
    with_env(&kv)
}

#[test]
fn live_mode_loads_with_bitget_prices_and_credentials() {
    let s = live(&[]).unwrap();
    assert_eq!(s.broker_mode, BrokerMode::Live);
    assert_eq!(s.broker_mode.as_str(), "live");
    assert_eq!(
        s.bitget_credential("BITGET_API_KEY"),
        Some("bg_key-hunter-1")
    );
    assert_eq!(
        s.bitget_credential("BITGET_API_SECRET"),
        Some("secret-hunter-2")
    );
    assert_eq!(
        s.bitget_credential("BITGET_API_PASSPHRASE"),
        Some("pass hunter 3")
    );
    assert_eq!(s.bitget_credential("LOMS_API_TOKEN"), None);
    assert_eq!(s.bitget_secrets_file, None);
    // A secrets file instead of the three settings.
    let s = with_env(&[
        ("BROKER_MODE", "LIVE"),
        ("PRICE_SOURCE", "exchange"),
        ("PRICE_EXCHANGE", "bitget"),
        ("BITGET_SECRETS_FILE", "/etc/loms/bitget.env"),
    ])
    .unwrap();
    assert_eq!(s.broker_mode, BrokerMode::Live);
    assert_eq!(
        s.bitget_secrets_file,
        Some(PathBuf::from("/etc/loms/bitget.env"))
    );
    assert_eq!(value_of(&s, "BITGET_SECRETS_FILE"), "/etc/loms/bitget.env");
    assert_eq!(s.bitget_credential("BITGET_API_KEY"), None);
}

#[test]
fn live_defaults() {
    let s = load(&ConfigSources::defaults_only()).unwrap();
    assert_eq!(s.broker_mode, BrokerMode::Paper);
    assert_eq!(
        (
            &s.bitget_api_key,
            &s.bitget_api_secret,
            &s.bitget_api_passphrase
        ),
        (&None, &None, &None)
    );
    assert_eq!(s.bitget_secrets_file, None);
    assert!(!s.bitget_demo);
    assert_eq!(s.live_leverage, 1);
    assert_eq!(s.live_ack_timeout, Duration::from_millis(2000));
    assert_eq!(s.live_resolve_interval, Duration::from_millis(2000));
    assert_eq!(s.live_exec_workers, 4);
    let dir = TempDir::new().unwrap();
    assert_eq!(
        Settings::for_tests(dir.path()).broker_mode,
        BrokerMode::Paper
    );
}

#[test]
fn live_with_other_prices_is_refused_saying_what_to_set() {
    let want = "BROKER_MODE=live needs PRICE_SOURCE=exchange, PRICE_EXCHANGE=bitget and PRICE_MARKET=perp: orders go to Bitget USDT-M futures, so positions must be watched on that venue's prices";
    for (extra, now) in [
        (
            vec![("PRICE_SOURCE", "simulator")],
            "(now PRICE_SOURCE=simulator, PRICE_EXCHANGE=bitget, PRICE_MARKET=perp)",
        ),
        (
            vec![("PRICE_EXCHANGE", "bybit")],
            "(now PRICE_SOURCE=exchange, PRICE_EXCHANGE=bybit, PRICE_MARKET=perp)",
        ),
        (
            vec![("PRICE_MARKET", "spot")],
            "(now PRICE_SOURCE=exchange, PRICE_EXCHANGE=bitget, PRICE_MARKET=spot)",
        ),
    ] {
        let e = live(&extra).unwrap_err();
        assert_eq!(e.problems().len(), 1, "{e}");
        assert_eq!(e.to_string(), format!("{want} {now}"));
    }
    // The defaults (simulator prices) with credentials: refused the same way.
    let e = with_env(&[("BROKER_MODE", "live"), ("BITGET_SECRETS_FILE", "s.env")])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(want) && e.contains("PRICE_SOURCE=simulator"),
        "{e}"
    );
}

#[test]
fn live_without_credentials_is_refused() {
    let want = "BROKER_MODE=live needs the Bitget API credentials: set all three of BITGET_API_KEY, BITGET_API_SECRET and BITGET_API_PASSPHRASE, or set BITGET_SECRETS_FILE";
    let e = live(&[
        ("BITGET_API_KEY", "none"),
        ("BITGET_API_SECRET", ""),
        ("BITGET_API_PASSPHRASE", "off"),
    ])
    .unwrap_err();
    assert_eq!(e.problems().len(), 1, "{e}");
    assert_eq!(
        e.to_string(),
        format!("{want} (not set: BITGET_API_KEY, BITGET_API_SECRET, BITGET_API_PASSPHRASE)")
    );
    // Two of three is not enough either.
    let e = live(&[("BITGET_API_PASSPHRASE", "none")])
        .unwrap_err()
        .to_string();
    assert_eq!(e, format!("{want} (not set: BITGET_API_PASSPHRASE)"));
    // Both refusals at once, and neither hides the other.
    let e = with_env(&[("BROKER_MODE", "live")]).unwrap_err();
    assert_eq!(e.problems().len(), 2, "{e}");
    // Paper needs no credentials, and accepts them (loms-health --live may use them).
    assert!(with_env(&[("BITGET_API_KEY", "k")]).is_ok());
}

#[test]
fn live_integer_settings_accept_their_edges_only() {
    let s = live(&[
        ("LIVE_LEVERAGE", "20"),
        ("LIVE_ACK_TIMEOUT_MS", "0"),
        ("LIVE_RESOLVE_INTERVAL_MS", "100"),
        ("LIVE_EXEC_WORKERS", "1"),
        ("BITGET_DEMO", "yes"),
    ])
    .unwrap();
    assert_eq!(s.live_leverage, 20);
    assert_eq!(s.live_ack_timeout, Duration::ZERO);
    assert_eq!(s.live_resolve_interval, Duration::from_millis(100));
    assert_eq!(s.live_exec_workers, 1);
    assert!(s.bitget_demo);
    let s = with_env(&[
        ("LIVE_LEVERAGE", "1"),
        ("LIVE_ACK_TIMEOUT_MS", "30000"),
        ("LIVE_RESOLVE_INTERVAL_MS", "600000"),
        ("LIVE_EXEC_WORKERS", "64"),
        ("BITGET_DEMO", "OFF"),
    ])
    .unwrap();
    assert_eq!(s.live_leverage, 1);
    assert_eq!(s.live_ack_timeout, Duration::from_secs(30));
    assert_eq!(s.live_resolve_interval, Duration::from_secs(600));
    assert_eq!(s.live_exec_workers, 64);
    assert!(!s.bitget_demo);
    for (key, bad) in [
        ("LIVE_LEVERAGE", "0"),
        ("LIVE_LEVERAGE", "21"),
        ("LIVE_LEVERAGE", "2.5"),
        ("LIVE_LEVERAGE", "-1"),
        ("LIVE_ACK_TIMEOUT_MS", "30001"),
        ("LIVE_ACK_TIMEOUT_MS", "-1"),
        ("LIVE_ACK_TIMEOUT_MS", "none"),
        ("LIVE_RESOLVE_INTERVAL_MS", "99"),
        ("LIVE_RESOLVE_INTERVAL_MS", "600001"),
        ("LIVE_EXEC_WORKERS", "0"),
        ("LIVE_EXEC_WORKERS", "65"),
        ("LIVE_EXEC_WORKERS", "99999999999999999999"),
        ("BITGET_DEMO", "maybe"),
        ("BITGET_API_SECRET", "tab\there"),
    ] {
        let e = with_env(&[(key, bad)]).unwrap_err();
        assert_eq!(e.problems()[0].key(), Some(key), "{key}={bad}: {e}");
    }
    let e = with_env(&[("LIVE_LEVERAGE", "21")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "LIVE_LEVERAGE: \"21\" is not valid; accepted: a whole number from 1 to 20 (from env)"
    );
}

#[test]
fn bitget_secrets_never_appear_in_print_config_debug_or_errors() {
    let s = live(&[("LOMS_API_TOKEN", "token-hunter-0123456789")]).unwrap();
    let table = s.render_table();
    for k in [
        "BITGET_API_KEY",
        "BITGET_API_SECRET",
        "BITGET_API_PASSPHRASE",
    ] {
        assert_eq!(value_of(&s, k), "***", "{k}");
        let row = table.lines().find(|l| l.starts_with(k)).unwrap();
        assert!(row.contains("= ***"), "{row}");
    }
    let debug = format!("{s:?}");
    for shown in [table.as_str(), debug.as_str()] {
        assert!(!shown.contains("hunter"), "{shown}");
    }
    assert!(debug.contains("bitget_api_secret: Some(***)"), "{debug}");
    assert!(debug.contains("api_token: Some(\"***\")"), "{debug}");
    assert!(debug.contains("live_leverage: 1"), "{debug}");

    // The sources: environment values and command-line secrets are not shown either.
    let mut src = ConfigSources::defaults_only();
    src.process_env = pairs(&[("BITGET_API_SECRET", "secret-hunter-2")]);
    src.cli = pairs(&[
        ("BITGET_API_PASSPHRASE", "pass-hunter-3"),
        ("PRICE_MODE", "mid"),
    ]);
    let debug = format!("{src:?}");
    assert!(!debug.contains("hunter"), "{debug}");
    assert!(debug.contains("\"mid\""), "{debug}");

    // A refused value and an override warning name the key, never the value.
    src.process_env = pairs(&[("BITGET_API_SECRET", "bad\u{7}hunter")]);
    src.cli.clear();
    let e = load(&src).unwrap_err().to_string();
    assert!(
        e.starts_with("BITGET_API_SECRET: \"***\" is not valid"),
        "{e}"
    );
    assert!(
        !e.contains("hunter") && !format!("{e:?}").contains("hunter"),
        "{e}"
    );
    let dir = TempDir::new().unwrap();
    write(&dir, ".env", "BITGET_API_KEY=dotenv-hunter\n");
    let mut src = sources(&dir);
    src.process_env = pairs(&[("BITGET_API_KEY", "env-hunter")]);
    let s = load(&src).unwrap();
    assert_eq!(s.warnings.len(), 1);
    assert!(!s.warnings[0].contains("hunter"), "{:?}", s.warnings);
    assert!(!format!("{s:?}").contains("hunter"));
}

#[test]
fn issue_13_defaults() {
    let s = load(&ConfigSources::defaults_only()).unwrap();
    assert!(!s.live_confirm);
    assert_eq!(s.live_account_uid, None);
    assert!(s.live_sub_account);
    assert_eq!(s.live_max_equity_usdt, dec!(200));
    assert_eq!(s.live_max_clock_skew, Duration::from_millis(2000));
    assert_eq!(s.live_max_notional_usdt, dec!(25));
    assert_eq!(s.reconcile_interval, Duration::from_secs(60));
    assert_eq!(s.max_daily_loss_usdt, None);
    assert_eq!(s.max_consecutive_losses, None);
    assert_eq!(s.loss_cooldown, Duration::from_secs(3600));
}

#[test]
fn live_confirm_is_true_only_for_the_exact_phrase() {
    let s = live(&[("LIVE_CONFIRM", "I_UNDERSTAND_REAL_ORDERS")]).unwrap();
    assert!(s.live_confirm);
    assert_eq!(LIVE_CONFIRM_PHRASE, "I_UNDERSTAND_REAL_ORDERS");
    // Surrounding spaces are trimmed like every value.
    assert!(
        with_env(&[("LIVE_CONFIRM", " I_UNDERSTAND_REAL_ORDERS ")])
            .unwrap()
            .live_confirm
    );
    for unset in ["", "none", "NULL", "off"] {
        assert!(
            !with_env(&[("LIVE_CONFIRM", unset)]).unwrap().live_confirm,
            "{unset:?}"
        );
    }
    for bad in [
        "true",
        "yes",
        "1",
        "i_understand_real_orders",
        "I_UNDERSTAND",
        "I UNDERSTAND REAL ORDERS",
    ] {
        let e = live(&[("LIVE_CONFIRM", bad)]).unwrap_err();
        assert_eq!(e.problems().len(), 1, "{bad}: {e}");
        assert_eq!(
            e.to_string(),
            format!(
                "LIVE_CONFIRM: \"{bad}\" is not valid (to allow real orders set exactly LIVE_CONFIRM=I_UNDERSTAND_REAL_ORDERS); accepted: none, or exactly I_UNDERSTAND_REAL_ORDERS (from env)"
            )
        );
    }
}

#[test]
fn live_account_uid_is_digits() {
    let s = with_env(&[("LIVE_ACCOUNT_UID", " 1234567890 ")]).unwrap();
    assert_eq!(s.live_account_uid.as_deref(), Some("1234567890"));
    assert_eq!(value_of(&s, "LIVE_ACCOUNT_UID"), "1234567890");
    let long = "9".repeat(32);
    assert_eq!(
        with_env(&[("LIVE_ACCOUNT_UID", &long)])
            .unwrap()
            .live_account_uid,
        Some(long.clone())
    );
    assert_eq!(
        with_env(&[("LIVE_ACCOUNT_UID", "none")])
            .unwrap()
            .live_account_uid,
        None
    );
    let too_long = "9".repeat(33);
    for bad in ["12a4", "-123", "1.5", "12 34", too_long.as_str()] {
        let e = with_env(&[("LIVE_ACCOUNT_UID", bad)]).unwrap_err();
        assert_eq!(
            e.problems()[0].key(),
            Some("LIVE_ACCOUNT_UID"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn issue_13_settings_accept_their_edges_only() {
    let low = with_env(&[
        ("LIVE_SUB_ACCOUNT", "false"),
        ("LIVE_MAX_EQUITY_USDT", "0.01"),
        ("LIVE_MAX_CLOCK_SKEW_MS", "100"),
        ("LIVE_MAX_NOTIONAL_USDT", "0.5"),
        ("RECONCILE_INTERVAL_SEC", "5"),
        ("MAX_DAILY_LOSS_USDT", "0.01"),
        ("MAX_CONSECUTIVE_LOSSES", "1"),
        ("LOSS_COOLDOWN_MIN", "1"),
    ])
    .unwrap();
    assert!(!low.live_sub_account);
    assert_eq!(low.live_max_equity_usdt, dec!(0.01));
    assert_eq!(low.live_max_clock_skew, Duration::from_millis(100));
    assert_eq!(low.live_max_notional_usdt, dec!(0.5));
    assert_eq!(low.reconcile_interval, Duration::from_secs(5));
    assert_eq!(low.max_daily_loss_usdt, Some(dec!(0.01)));
    assert_eq!(low.max_consecutive_losses, Some(1));
    assert_eq!(low.loss_cooldown, Duration::from_secs(60));
    let high = with_env(&[
        ("LIVE_SUB_ACCOUNT", "YES"),
        ("LIVE_MAX_EQUITY_USDT", "1e12"),
        ("LIVE_MAX_CLOCK_SKEW_MS", "30000"),
        ("LIVE_MAX_NOTIONAL_USDT", "1000000000000"),
        ("RECONCILE_INTERVAL_SEC", "3600"),
        ("MAX_DAILY_LOSS_USDT", "1e12"),
        ("MAX_CONSECUTIVE_LOSSES", "100"),
        ("LOSS_COOLDOWN_MIN", "10080"),
    ])
    .unwrap();
    assert!(high.live_sub_account);
    assert_eq!(high.live_max_equity_usdt, dec!(1000000000000));
    assert_eq!(high.live_max_clock_skew, Duration::from_secs(30));
    assert_eq!(high.live_max_notional_usdt, dec!(1000000000000));
    assert_eq!(high.reconcile_interval, Duration::from_secs(3600));
    assert_eq!(high.max_daily_loss_usdt, Some(dec!(1000000000000)));
    assert_eq!(high.max_consecutive_losses, Some(100));
    assert_eq!(high.loss_cooldown, Duration::from_secs(7 * 24 * 3600));
    let off = with_env(&[
        ("MAX_DAILY_LOSS_USDT", "off"),
        ("MAX_CONSECUTIVE_LOSSES", ""),
    ])
    .unwrap();
    assert_eq!(
        (off.max_daily_loss_usdt, off.max_consecutive_losses),
        (None, None)
    );
    for (key, bad) in [
        ("LIVE_SUB_ACCOUNT", "maybe"),
        ("LIVE_MAX_EQUITY_USDT", "0"),
        ("LIVE_MAX_EQUITY_USDT", "-1"),
        ("LIVE_MAX_EQUITY_USDT", "1.1e12"),
        ("LIVE_MAX_EQUITY_USDT", "none"),
        ("LIVE_MAX_CLOCK_SKEW_MS", "99"),
        ("LIVE_MAX_CLOCK_SKEW_MS", "30001"),
        ("LIVE_MAX_CLOCK_SKEW_MS", "2000.5"),
        ("LIVE_MAX_NOTIONAL_USDT", "0"),
        ("LIVE_MAX_NOTIONAL_USDT", "-25"),
        ("LIVE_MAX_NOTIONAL_USDT", "none"),
        ("RECONCILE_INTERVAL_SEC", "4"),
        ("RECONCILE_INTERVAL_SEC", "3601"),
        ("RECONCILE_INTERVAL_SEC", "none"),
        ("MAX_DAILY_LOSS_USDT", "0"),
        ("MAX_DAILY_LOSS_USDT", "-5"),
        ("MAX_DAILY_LOSS_USDT", "abc"),
        ("MAX_CONSECUTIVE_LOSSES", "0"),
        ("MAX_CONSECUTIVE_LOSSES", "101"),
        ("MAX_CONSECUTIVE_LOSSES", "2.5"),
        ("LOSS_COOLDOWN_MIN", "0"),
        ("LOSS_COOLDOWN_MIN", "10081"),
        ("LOSS_COOLDOWN_MIN", "none"),
    ] {
        let e = with_env(&[(key, bad)]).unwrap_err();
        assert_eq!(e.problems().len(), 1, "{key}={bad}: {e}");
        assert_eq!(e.problems()[0].key(), Some(key), "{key}={bad}: {e}");
    }
}

#[test]
fn the_live_notional_cap_cannot_be_raised_by_another_setting() {
    // Paper: only MAX_SIZE_PER_POSITION_USDT counts (LIVE_MAX_NOTIONAL_USDT is live only).
    assert_eq!(with_env(&[]).unwrap().max_position_notional(), None);
    let s = with_env(&[("MAX_SIZE_PER_POSITION_USDT", "500")]).unwrap();
    assert_eq!(s.max_position_notional(), Some(dec!(500)));
    // Live: the hard cap, lowered but never raised by MAX_SIZE_PER_POSITION_USDT.
    assert_eq!(live(&[]).unwrap().max_position_notional(), Some(dec!(25)));
    let s = live(&[("MAX_SIZE_PER_POSITION_USDT", "500")]).unwrap();
    assert_eq!(s.max_position_notional(), Some(dec!(25)));
    let s = live(&[
        ("MAX_SIZE_PER_POSITION_USDT", "10"),
        ("LIVE_MAX_NOTIONAL_USDT", "40"),
    ])
    .unwrap();
    assert_eq!(s.max_position_notional(), Some(dec!(10)));
}

#[test]
fn issue_13_keys_are_grouped_for_the_docs() {
    let group = |k: &str| key_spec(k).unwrap().group;
    for k in [
        "LIVE_CONFIRM",
        "LIVE_ACCOUNT_UID",
        "LIVE_SUB_ACCOUNT",
        "LIVE_MAX_EQUITY_USDT",
        "LIVE_MAX_CLOCK_SKEW_MS",
        "LIVE_MAX_NOTIONAL_USDT",
        "RECONCILE_INTERVAL_SEC",
    ] {
        assert_eq!(group(k), "Live trading", "{k}");
        assert!(!key_spec(k).unwrap().is_secret(), "{k}");
    }
    for k in [
        "MAX_DAILY_LOSS_USDT",
        "MAX_CONSECUTIVE_LOSSES",
        "LOSS_COOLDOWN_MIN",
    ] {
        assert_eq!(group(k), "Circuit breakers", "{k}");
    }
    // The breakers come last, after the whole live group.
    assert_eq!(KEYS.last().unwrap().name, "LOSS_COOLDOWN_MIN");
}
