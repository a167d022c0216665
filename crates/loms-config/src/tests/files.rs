//! The file layers: config/<profile>.toml, profiles, .env files.

use super::*;

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
