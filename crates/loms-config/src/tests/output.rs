//! What is shown: --print-config, secrets redacted, docs and .env.sample in sync, hostile values.

use super::*;

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
    assert_eq!(
        secret,
        vec![
            "LOMS_API_TOKEN",
            "BITGET_API_KEY",
            "BITGET_API_SECRET",
            "BITGET_API_PASSPHRASE"
        ]
    );
    // The path of a file of secrets is not one.
    assert!(!is_secret_key("BITGET_SECRETS_FILE"));
    assert_eq!(
        redact("BITGET_SECRETS_FILE", "/etc/loms/bitget"),
        "/etc/loms/bitget"
    );
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
