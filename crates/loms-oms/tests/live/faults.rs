//! Lost answers, rate limits, server errors, unknown outcomes: exactly one venue order
//! per intent, and entries held while an outcome is unknown.

use super::{order_row, settings, signal, start, tag, venue};
use loms_domain::{OrderStatus, PositionStatus};
use loms_fake_bitget::{Fault, PLACE_ORDER_PATH};
use rust_decimal::dec;
use std::time::Duration;

const DETAIL: &str = "/api/v2/mix/order/detail";

async fn one_order_filled_despite(fault: Fault) {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let s = settings(dir.path(), &v);
    let oms = start(&s, &v);
    v.fault_once(PLACE_ORDER_PATH, fault.clone());
    let a = oms
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(
        a.order_status,
        Some(OrderStatus::Filled),
        "{fault:?}: {a:?}"
    );
    let oid = format!("L{}-1-e", tag(&s));
    assert_eq!(v.order_count(&oid), 1, "{fault:?}: exactly one venue order");
    let p = oms.position(1).await.unwrap().unwrap();
    assert_eq!(
        (p.status, p.entry_price),
        (PositionStatus::Open, dec!(64210))
    );
    assert_eq!(order_row(&s, &oid).0, "filled");
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_lost_after_the_venue_recorded_the_order_opens_from_the_lookup() {
    one_order_filled_despite(Fault::DropAfterApply).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_retried_under_the_same_client_id() {
    let body =
        r#"{"code":"429","msg":"Too Many Requests","requestTime":1718340000000,"data":null}"#;
    one_order_filled_despite(Fault::Reply(429, body.into())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_is_looked_up_then_sent_again_under_the_same_client_id() {
    one_order_filled_despite(Fault::Reply(502, "<html>Bad Gateway</html>".into())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_outcome_holds_entries_until_the_lookup_settles_it() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let mut s = settings(dir.path(), &v);
    s.live_resolve_interval = Duration::from_millis(300);
    let oms = start(&s, &v);
    // The send and its three lookups (four tries) fail: the outcome stays unknown.
    v.fault_once(PLACE_ORDER_PATH, Fault::Reply(500, "oops".into()));
    for _ in 0..3 {
        v.fault_once(DETAIL, Fault::Reply(500, "oops".into()));
    }
    let a = oms
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(a.order_status, Some(OrderStatus::Unknown), "{a:?}");
    let h = oms.health().await;
    let venue_check = h.checks.venue.clone().unwrap();
    assert!(!h.ok && !venue_check.ok, "{venue_check:?}");
    assert!(venue_check.detail.contains("-1-e"), "{venue_check:?}");
    let held = oms
        .handle_signal(&signal("s2", "0.001"), None)
        .await
        .unwrap();
    assert!(!held.risk_ok, "{held:?}");
    assert_eq!(held.risk_scope.as_deref(), Some("venue"));
    // The lookup by client id finds no order: it was never placed; the position is void.
    let mut settled = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if oms.position(1).await.unwrap().unwrap().status == PositionStatus::Void {
            settled = true;
            break;
        }
    }
    assert!(settled, "resolved by the lookup");
    assert!(v.orders().is_empty(), "the venue never took it");
    assert!(oms.health().await.checks.venue.unwrap().ok);
    let next = oms
        .handle_signal(&signal("s3", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(next.order_status, Some(OrderStatus::Filled), "{next:?}");
    assert_eq!(v.orders().len(), 1);
    oms.shutdown().await;
}
