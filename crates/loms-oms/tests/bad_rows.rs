//! Start-up never dies on a stored row it cannot read: it names the row in the log and
//! in /health, keeps serving, and fails closed where money is at stake (issue 11, 1b
//! and 4).

use loms_oms::{Deps, Oms, OmsError, TradingMode};
use std::path::Path;
use std::time::Duration;

fn settings(dir: &Path) -> loms_config::Settings {
    let mut s = loms_config::Settings::for_tests(dir);
    s.min_position_age = Duration::ZERO;
    s
}

/// Open `n` positions through manual orders; their ids.
async fn open(oms: &Oms, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = serde_json::json!({"symbol": format!("S{i}USDT"), "side": "buy",
            "qty": "0.1", "entry_price": "100", "tp_price": "110", "sl_price": "90"});
        ids.push(oms.create_order(&body).await.unwrap().id);
    }
    ids
}

/// A database with `n` open positions, then `sql` run on it with the server stopped.
async fn database_with(dir: &Path, n: usize, sql: impl FnOnce(&[i64]) -> String) -> Vec<i64> {
    let s = settings(dir);
    let oms = Oms::start(s.clone(), Deps::from_settings(&s)).unwrap();
    let ids = open(&oms, n).await;
    oms.shutdown().await;
    drop(oms);
    let db = rusqlite::Connection::open(&s.database_path).unwrap();
    db.execute_batch(&sql(&ids)).unwrap();
    ids
}

fn signal(symbol: &str) -> Vec<u8> {
    let ts = chrono::Utc::now().to_rfc3339();
    format!(r#"{{"symbol":"{symbol}","side":"long","price":100,"timestamp":"{ts}"}}"#).into_bytes()
}

#[tokio::test]
async fn a_closed_row_that_cannot_be_read_is_skipped_and_reported_and_trading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let ids = database_with(dir.path(), 2, |ids| {
        format!(
            "UPDATE positions SET status = 'closed', close_price = '100', pnl = '0',
               closed_at = '10000-01-01T00:00:00.000000Z' WHERE id = {}",
            ids[0]
        )
    })
    .await;
    let s = settings(dir.path());
    let oms = Oms::start(s.clone(), Deps::from_settings(&s)).expect("starts despite the row");
    let h = oms.health().await;
    let c = &h.checks.stored_data;
    assert!(c.ok && c.warning, "{c:?}");
    assert!(
        c.detail.contains(&format!("positions row {}", ids[0])) && c.detail.contains("10000-01-01"),
        "{}",
        c.detail
    );
    assert_eq!(oms.trading_state().mode, TradingMode::Active);
    let a = oms.handle_signal(&signal("NEWUSDT"), None).await.unwrap();
    assert!(a.position_id.is_some(), "still opens: {a:?}");
    assert_eq!(
        oms.stats(Default::default()).await.unwrap().open_positions,
        2
    );
    oms.shutdown().await;
}

#[tokio::test]
async fn an_open_row_that_cannot_be_read_fails_closed_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let ids = database_with(dir.path(), 2, |ids| {
        format!(
            "UPDATE positions SET created_at = '10000-01-01T00:00:00.000000Z' WHERE id = {};
             INSERT INTO kv_state (key, value, updated_at) VALUES ('trading_state',
               '{{\"mode\":\"active\",\"since\":\"2025-12-01T10:00:00Z\",\"set_by\":\"cli\"}}', 'x')",
            ids[1]
        )
    })
    .await;
    let s = settings(dir.path());
    let oms = Oms::start(s.clone(), Deps::from_settings(&s)).expect("starts despite the row");
    let h = oms.health().await;
    assert!(!h.ok, "{h:?}");
    let c = &h.checks.stored_data;
    assert!(!c.ok, "{c:?}");
    assert!(
        c.detail.contains(&format!("positions row {}", ids[1])),
        "{}",
        c.detail
    );
    // Nothing opens: not a signal, not an order, and no mode that opens can be set.
    assert_eq!(oms.trading_state().mode, TradingMode::ReduceOnly);
    let a = oms.handle_signal(&signal("NEWUSDT"), None).await.unwrap();
    assert!(a.position_id.is_none() && !a.oms_enabled, "{a:?}");
    let err = oms
        .set_trading(TradingMode::Active, "cli")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OmsError::WrongMode(m) if m.contains(&format!("positions row {}", ids[1]))),
        "{err}"
    );
    // The readable position is still watched: it closes at its TP.
    oms.simulator()
        .unwrap()
        .pin(None, loms_domain::Decimal::from(111));
    let r = oms.auto_close_pass().await.unwrap();
    assert_eq!(r.closed.iter().map(|p| p.id).collect::<Vec<_>>(), [ids[0]]);
    oms.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_trading_state_fails_closed_until_an_operator_sets_one() {
    let dir = tempfile::tempdir().unwrap();
    database_with(dir.path(), 0, |_| {
        "INSERT INTO kv_state (key, value, updated_at) VALUES ('trading_state', '{\"mode\":', 'x')"
            .into()
    })
    .await;
    let s = settings(dir.path());
    assert!(s.oms_enabled);
    let oms = Oms::start(s.clone(), Deps::from_settings(&s)).unwrap();
    assert_eq!(oms.trading_state().mode, TradingMode::ReduceOnly);
    assert!(!oms.enabled());
    let h = oms.health().await;
    assert!(!h.ok && !h.checks.stored_data.ok, "{h:?}");
    assert!(
        h.checks.stored_data.detail.contains("trading state"),
        "{}",
        h.checks.stored_data.detail
    );
    let a = oms.handle_signal(&signal("NEWUSDT"), None).await.unwrap();
    assert!(a.position_id.is_none(), "{a:?}");
    // An operator's decision replaces it.
    oms.set_trading(TradingMode::Active, "cli").await.unwrap();
    let h = oms.health().await;
    assert!(
        h.checks.stored_data.ok && !h.checks.stored_data.warning,
        "{h:?}"
    );
    oms.shutdown().await;
}
