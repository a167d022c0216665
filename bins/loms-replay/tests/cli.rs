//! The loms-replay binary over the hand-checked fixture of loms-oms.

use std::path::Path;
use std::process::Command;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/loms-oms/tests/fixtures/replay")
        .join(name)
        .display()
        .to_string()
}

fn replay(extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_loms-replay"))
        .current_dir(dir.path())
        .env_clear()
        .args([
            "--signals",
            &fixture("signals.csv"),
            "--klines",
            &fixture("BTCUSDT_1m.csv"),
        ])
        .args([
            "--klines",
            &fixture("ETHUSDT_1m.json"),
            "--set",
            "FEE_TAKER_BPS=0",
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn prints_trades_and_figures() {
    let out = replay(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("signals: duplicate 1, opened 5, rejected 1"),
        "{text}"
    );
    assert!(text.contains("break_even"), "{text}");
    assert!(text.contains("total pnl 4.575"), "{text}");
    assert!(text.contains("winrate 40.00 %"), "{text}");
}

#[test]
fn json_has_the_stats_fields() {
    let out = replay(&["--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"]["closed_positions"], 5);
    assert_eq!(v["stats"]["max_drawdown"], serde_json::json!(4.425));
    assert_eq!(v["trades"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("X_1m.csv");
    std::fs::write(&bad, "1,2,3\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_loms-replay"))
        .env_clear()
        .args([
            "--signals",
            &fixture("signals.csv"),
            "--klines",
            &bad.display().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("X_1m.csv") && err.contains("line 1"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_loms-replay"))
        .env_clear()
        .args([
            "--signals",
            "/nonexistent.csv",
            "--klines",
            &fixture("BTCUSDT_1m.csv"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading signals /nonexistent.csv"));
}
