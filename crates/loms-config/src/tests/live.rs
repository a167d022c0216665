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
