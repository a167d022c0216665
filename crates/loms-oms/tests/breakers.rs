//! Circuit breakers in paper mode: a loss streak and the daily loss switch entries off by
//! themselves, the reason stays over a restart, and only an operator switches them back
//! on (not during the streak's cooldown).

use loms_domain::{CloseReason, ManualClock, TradingMode};
use loms_oms::{Deps, Oms};
use rust_decimal::dec;
use serde_json::json;
use std::sync::Arc;

fn start(s: &loms_config::Settings, clock: &Arc<ManualClock>) -> Oms {
    Oms::start(s.clone(), Deps::with_clock(s, clock.clone())).unwrap()
}

/// Open a long BTCUSDT at 100 and close it at `close` (manual orders, pinned prices).
async fn trade(oms: &Oms, close: rust_decimal::Decimal) {
    let sim = oms.simulator().unwrap();
    sim.pin(Some("BTCUSDT"), dec!(100));
    let p = oms
        .create_order(
            &json!({"symbol": "BTCUSDT", "side": "buy", "qty": "1", "entry_price": "100"}),
        )
        .await
        .unwrap();
    sim.pin(Some("BTCUSDT"), close);
    oms.close_position(p.id, CloseReason::Manual).await.unwrap();
}

fn signal(key: &str) -> Vec<u8> {
    json!({"signal_id": key, "symbol": "ETHUSDT", "side": "long", "price": 100,
        "timestamp": "2026-12-05T10:00:00Z", "qty": "0.1"})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_loss_streak_switches_entries_off_until_an_operator_after_the_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = loms_config::Settings::for_tests(dir.path());
    s.max_consecutive_losses = Some(2);
    s.loss_cooldown = std::time::Duration::from_secs(3600);
    let clock = Arc::new(ManualClock::new("2026-12-05T10:00:00Z".parse().unwrap()));
    let oms = start(&s, &clock);
    trade(&oms, dec!(99)).await;
    assert_eq!(oms.trading_state().mode, TradingMode::Active);
    trade(&oms, dec!(98)).await;
    let t = oms.trading_state();
    assert_eq!(t.mode, TradingMode::EntriesOff);
    assert!(t.set_by.starts_with("breaker consecutive_losses:"), "{t:?}");
    assert!(t.set_by.contains("MAX_CONSECUTIVE_LOSSES=2"), "{t:?}");
    let a = oms.handle_signal(&signal("s1"), None).await.unwrap();
    assert!(!a.risk_ok && !a.oms_enabled, "{a:?}");
    let m = oms.render_metrics();
    assert!(
        m.contains("loms_breaker_trips_total{breaker=\"consecutive_losses\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("loms_breaker_in_force{breaker=\"consecutive_losses\"} 1"),
        "{m}"
    );
    let h = oms.health().await;
    assert!(h.trading.set_by.contains("breaker"), "{:?}", h.trading);
    oms.shutdown().await;

    // Kept over a restart; the cooldown refuses an operator too.
    let oms = start(&s, &clock);
    assert_eq!(oms.trading_state().mode, TradingMode::EntriesOff);
    let err = oms
        .set_trading(TradingMode::Active, "ops")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("LOSS_COOLDOWN_MIN"), "{err}");
    // Stricter modes are always allowed, and do not end the cooldown.
    oms.set_trading(TradingMode::ReduceOnly, "ops")
        .await
        .unwrap();
    let err = oms
        .set_trading(TradingMode::Active, "ops")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("LOSS_COOLDOWN_MIN"), "{err}");
    clock.advance(chrono::Duration::minutes(61));
    let (t, _) = oms.set_trading(TradingMode::Active, "ops").await.unwrap();
    assert_eq!(t.mode, TradingMode::Active);
    // Re-armed: one more loss does not trip at once.
    trade(&oms, dec!(99)).await;
    assert_eq!(oms.trading_state().mode, TradingMode::Active);
    oms.shutdown().await;
}

#[tokio::test]
async fn the_daily_loss_trips_once_the_net_result_of_the_day_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = loms_config::Settings::for_tests(dir.path());
    s.max_daily_loss_usdt = Some(dec!(2.5));
    let clock = Arc::new(ManualClock::new("2026-12-05T10:00:00Z".parse().unwrap()));
    let oms = start(&s, &clock);
    trade(&oms, dec!(99)).await; // −1 and fees
    trade(&oms, dec!(101)).await; // +1 and fees
    assert_eq!(oms.trading_state().mode, TradingMode::Active);
    trade(&oms, dec!(98)).await; // −2: net about −2.1 with fees
    assert_eq!(oms.trading_state().mode, TradingMode::Active);
    trade(&oms, dec!(99.5)).await; // −0.5: net below −2.5
    let t = oms.trading_state();
    assert_eq!(t.mode, TradingMode::EntriesOff, "{t:?}");
    assert!(t.set_by.starts_with("breaker daily_loss:"), "{t:?}");
    oms.shutdown().await;
    let oms = start(&s, &clock);
    assert_eq!(oms.trading_state().mode, TradingMode::EntriesOff);
    // An operator may switch back at once; the count starts afresh.
    oms.set_trading(TradingMode::Active, "ops").await.unwrap();
    trade(&oms, dec!(99)).await;
    assert_eq!(oms.trading_state().mode, TradingMode::Active);
    oms.shutdown().await;
}
