//! Reconciliation every RECONCILE_INTERVAL_SEC, the venue being the truth: a stop that
//! fired is applied, every other difference holds entries with its reason.

use super::{execution, settings, signal, signal_on, start, venue};
use loms_broker::ExecutionClient;
use loms_domain::{CloseReason, PositionStatus};
use loms_fake_bitget::FakeBitget;
use loms_oms::Oms;
use std::time::Duration;

/// Wait until `ok` holds (the reconciliation runs every 100 ms here).
async fn until(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    for _ in 0..150 {
        if ok().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never: {what}");
}

fn quick(dir: &std::path::Path, v: &FakeBitget) -> Oms {
    let mut s = settings(dir, v);
    s.reconcile_interval = Duration::from_millis(100);
    start(&s, v)
}

async fn venue_detail(oms: &Oms) -> (bool, String) {
    let c = oms.health().await.checks.venue.unwrap();
    (c.ok, c.detail)
}

/// Place an order at the venue as someone else would (the Bitget app).
fn by_hand(v: &FakeBitget, symbol: &str, qty: &str) {
    let x = execution(v);
    let r = x.submit(&loms_broker::OrderIntent {
        client_oid: format!("hand{}", v.orders().len()),
        symbol: symbol.into(),
        side: loms_domain::Side::Long,
        reduce_only: false,
        qty: qty.parse().unwrap(),
        price: v.mark(symbol).unwrap(),
        quote: None,
        stop_loss: None,
        take_profit: None,
        ts: chrono::Utc::now(),
    });
    assert_eq!(r.status, loms_domain::OrderStatus::Filled, "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_match_stays_healthy_and_a_stop_that_fired_closes_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let oms = quick(dir.path(), &v);
    oms.handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(venue_detail(&oms).await.0);
    v.fire_stop("BTCUSDT").unwrap();
    until("closed as exchange_stop", async || {
        let p = oms.position(1).await.unwrap().unwrap();
        p.status == PositionStatus::Closed
    })
    .await;
    let p = oms.position(1).await.unwrap().unwrap();
    assert_eq!(p.auto_close_reason, Some(CloseReason::ExchangeStop));
    assert!(venue_detail(&oms).await.0);
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_position_loms_did_not_open_holds_entries_until_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let oms = quick(dir.path(), &v);
    by_hand(&v, "ETHUSDT", "0.01");
    until("the venue's extra position is seen", async || {
        !venue_detail(&oms).await.0
    })
    .await;
    let (_, why) = venue_detail(&oms).await;
    assert!(
        why.contains("ETHUSDT") && why.contains("did not open"),
        "{why}"
    );
    let a = oms
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(a.risk_scope.as_deref(), Some("venue"), "{a:?}");
    assert!(
        v.placed_orders().len() == 1,
        "nothing sent for the held signal"
    );
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_size_that_differs_from_the_venue_holds_entries() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let oms = quick(dir.path(), &v);
    oms.handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    by_hand(&v, "BTCUSDT", "0.0005");
    until("the size mismatch is seen", async || {
        !venue_detail(&oms).await.0
    })
    .await;
    let (_, why) = venue_detail(&oms).await;
    assert!(why.contains("0.0015") && why.contains("0.001"), "{why}");
    let a = oms
        .handle_signal(&signal_on("ETHUSDT", "s2", "0.01"), None)
        .await
        .unwrap();
    assert_eq!(a.risk_scope.as_deref(), Some("venue"), "{a:?}");
    oms.shutdown().await;
}
