//! The pre-live checklist against the fake venue: each gate passes on a good account
//! and fails with its one line on a bad one.

use crate::{client, entry};
use loms_bitget::gates::{GateCheck, GateSettings, run};
use loms_bitget::{BitgetClient, BitgetConfig, Credentials};
use loms_fake_bitget::{FakeBitget, Fault, KEY, NOW_MS, PASSPHRASE, SECRET};
use rust_decimal::dec;
use std::sync::Arc;
use std::time::Duration;

fn settings() -> GateSettings {
    GateSettings {
        account_uid: "5550000001".into(),
        sub_account: true,
        max_equity_usdt: dec!(150),
        max_clock_skew: Duration::from_secs(5),
        symbol: "BTCUSDT".into(),
        switch_to_one_way: true,
    }
}

fn failing(checks: &[GateCheck]) -> Vec<(&'static str, String)> {
    checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| (c.name, c.detail.clone()))
        .collect()
}

#[test]
fn a_good_sub_account_passes_every_gate() {
    let venue = FakeBitget::start();
    let checks = run(&client(&venue), &settings());
    let names: Vec<&str> = checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "clock",
            "key",
            "permissions",
            "account",
            "position_mode",
            "equity"
        ]
    );
    assert!(failing(&checks).is_empty(), "{checks:#?}");
}

#[test]
fn each_gate_fails_with_what_to_fix() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    let mut s = settings();
    s.account_uid = "5559999999".into();
    let f = failing(&run(&c, &s));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "key");
    assert!(
        f[0].1
            .contains("belongs to account 5550000001, LIVE_ACCOUNT_UID is 5559999999"),
        "{f:?}"
    );

    venue.set_key("5550000001", 0, &["coow", "cpow", "wwow"]);
    let f = failing(&run(&c, &settings()));
    let names: Vec<&str> = f.iter().map(|x| x.0).collect();
    assert_eq!(names, ["key", "permissions"], "{f:?}");
    assert!(f[0].1.contains("main-account key"), "{f:?}");
    assert!(
        f[1].1
            .contains("withdraw, transfer or manage sub-accounts (wwow)"),
        "{f:?}"
    );

    venue.set_key("5550000001", 5_550_000_000, &["stor"]);
    let f = failing(&run(&c, &settings()));
    assert!(
        f[0].1.contains("cannot trade futures (missing coow, cpow)"),
        "{f:?}"
    );

    venue.set_key("5550000001", 5_550_000_000, &["coow", "cpow"]);
    venue.set_balance(dec!(2000));
    let f = failing(&run(&c, &settings()));
    assert_eq!(f[0].0, "equity");
    assert!(
        f[0].1
            .starts_with("equity 2000 USDT is above LIVE_MAX_EQUITY_USDT 150"),
        "{f:?}"
    );

    venue.set_balance(dec!(100));
    let ahead = BitgetClient::with_clock(
        BitgetConfig {
            base_url: venue.base_url(),
            demo: false,
            timeout: Duration::from_secs(2),
        },
        Credentials::new(KEY, SECRET, PASSPHRASE).unwrap(),
        Arc::new(|| NOW_MS + 9_000),
    );
    let f = failing(&run(&ahead, &settings()));
    assert_eq!(f.len(), 1, "after the sync the signed calls work: {f:?}");
    assert!(
        f[0].1
            .starts_with("the local clock is -9000 ms off Bitget's (at most 5000 ms)"),
        "{f:?}"
    );

    venue.fault_once(
        "/api/v2/mix/account/account",
        Fault::Reply(400, r#"{"code":"40085","msg":"You are in Unified Account mode, and the Classic Account API is not supported at this time","requestTime":0,"data":null}"#.into()),
    );
    let f = failing(&run(&c, &settings()));
    assert_eq!(f[0].0, "account");
    assert!(f[0].1.contains("Unified Trading Account"), "{f:?}");
}

#[test]
fn hedge_mode_is_switched_only_when_flat_and_allowed() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    venue.set_pos_mode("hedge_mode");
    let mut read_only = settings();
    read_only.switch_to_one_way = false;
    let f = failing(&run(&c, &read_only));
    assert!(f[0].1.starts_with("the account is in hedge mode"), "{f:?}");
    assert_eq!(venue.pos_mode(), "hedge_mode", "the checklist only reads");

    let checks = run(&c, &settings());
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    assert_eq!(venue.pos_mode(), "one_way_mode");

    c.place_order(&entry("open-1", dec!(0.001))).unwrap();
    venue.set_pos_mode("hedge_mode");
    let f = failing(&run(&c, &settings()));
    assert!(
        f[0].1
            .starts_with("hedge mode with 1 open position(s): close them"),
        "{f:?}"
    );
}
