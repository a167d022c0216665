//! Reconciliation every RECONCILE_INTERVAL_SEC, the venue being the truth: a stop that
//! fired is applied, every other difference holds entries with its reason.

use super::{execution, settings, signal, signal_on, start, venue};
use loms_broker::ExecutionClient;
use loms_domain::{CloseReason, PositionStatus, ReconcileAction, ReconcileRequest};
use loms_fake_bitget::FakeBitget;
use loms_oms::Oms;
use rust_decimal::dec;
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

/// The venue check fails naming `words`, and a signal is held for it.
async fn doubted_and_held(oms: &Oms, words: &[&str]) {
    until("the difference is seen", async || {
        !venue_detail(oms).await.0
    })
    .await;
    let (_, why) = venue_detail(oms).await;
    assert!(words.iter().all(|w| why.contains(w)), "{why}");
    let a = oms
        .handle_signal(&signal("held", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(a.risk_scope.as_deref(), Some("venue"), "{a:?}");
}

/// Place an order at the venue as someone else would (the Bitget app): a long, or
/// (`reduce_only`) an exit of one.
fn by_hand(v: &FakeBitget, symbol: &str, qty: &str) {
    by_hand_order(v, symbol, qty, false);
}

fn by_hand_order(v: &FakeBitget, symbol: &str, qty: &str, reduce_only: bool) {
    let x = execution(v);
    let r = x.submit(&loms_broker::OrderIntent {
        client_oid: format!("hand{}", v.orders().len()),
        symbol: symbol.into(),
        side: loms_domain::Side::Long,
        reduce_only,
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
    doubted_and_held(&oms, &["ETHUSDT", "did not open"]).await;
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

fn request(symbol: &str, action: ReconcileAction, qty: Option<&str>) -> ReconcileRequest {
    ReconcileRequest {
        symbol: symbol.into(),
        action,
        qty: qty.map(|q| q.parse().unwrap()),
        by: Some("alice".into()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_adopts_a_venue_position_and_the_doubt_goes() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let oms = quick(dir.path(), &v);
    by_hand(&v, "ETHUSDT", "0.01");
    until("seen", async || !venue_detail(&oms).await.0).await;
    let view = oms.venue_view().await.unwrap();
    assert_eq!(
        (view.positions.len(), view.loms.len(), view.flat),
        (1, 0, false)
    );
    assert_eq!(view.doubts.len(), 1, "{view:?}");
    // Close needs the size LOMS does not own, as the view shows it.
    let e = oms
        .reconcile(request("ETHUSDT", ReconcileAction::Adopt, None))
        .await
        .unwrap();
    assert_eq!(e.position_id, Some(1), "{e:?}");
    let p = oms.position(1).await.unwrap().unwrap();
    assert_eq!(
        (p.status, p.qty, p.entry_price),
        (PositionStatus::Open, dec!(0.01), dec!(3500.20))
    );
    until("the doubt is gone", async || venue_detail(&oms).await.0).await;
    // Adopting again is refused: LOMS holds it now.
    let again = oms
        .reconcile(request("ETHUSDT", ReconcileAction::Adopt, None))
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("LOMS 1 open position"),
        "{again}"
    );
    let audit = std::fs::read_to_string(&oms.settings().audit_log_path).unwrap();
    assert!(
        audit.contains("\"reconcile\"") && audit.contains("alice"),
        "{audit}"
    );
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_closes_what_loms_does_not_own_with_the_size_the_view_showed() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let oms = quick(dir.path(), &v);
    by_hand(&v, "ETHUSDT", "0.01");
    until("seen", async || !venue_detail(&oms).await.0).await;
    let wrong = oms
        .reconcile(request("ETHUSDT", ReconcileAction::Close, Some("0.02")))
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("qty=0.01"), "{wrong}");
    assert!(v.open_position("ETHUSDT").is_some(), "nothing sent");
    let done = oms
        .reconcile(request("ETHUSDT", ReconcileAction::Close, Some("0.01")))
        .await
        .unwrap();
    assert!(done.done.contains("reduce-only"), "{done:?}");
    assert!(v.open_position("ETHUSDT").is_none());
    let last = v.placed_orders().pop().unwrap();
    assert_eq!(last["reduceOnly"], "YES");
    // The same command again closes nothing more.
    let twice = oms
        .reconcile(request("ETHUSDT", ReconcileAction::Close, Some("0.01")))
        .await
        .unwrap_err();
    assert!(twice.to_string().contains("holds nothing"), "{twice}");
    until("the doubt is gone", async || venue_detail(&oms).await.0).await;
    assert!(oms.venue_view().await.unwrap().flat);
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_position_closed_by_hand_at_the_venue_is_closed_in_loms_on_the_operators_word() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let oms = quick(dir.path(), &v);
    oms.handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    // Someone closes it in the app: an ordinary order, not the venue's stop.
    by_hand_order(&v, "BTCUSDT", "0.001", true);
    until("the mismatch is seen", async || !venue_detail(&oms).await.0).await;
    let done = oms
        .reconcile(request("BTCUSDT", ReconcileAction::Adopt, None))
        .await
        .unwrap();
    assert!(done.done.contains("no order was sent"), "{done:?}");
    let p = oms.position(1).await.unwrap().unwrap();
    assert_eq!(
        (p.status, p.auto_close_reason),
        (PositionStatus::Closed, Some(CloseReason::Manual))
    );
    until("the doubt is gone", async || venue_detail(&oms).await.0).await;
    assert_eq!(v.placed_orders().len(), 2, "LOMS sent the entry only");
    oms.shutdown().await;
}

#[tokio::test]
async fn paper_mode_has_no_venue_to_show_or_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let s = loms_config::Settings::for_tests(dir.path());
    let oms = Oms::start(s.clone(), loms_oms::Deps::from_settings(&s)).unwrap();
    let e = oms.venue_view().await.unwrap_err();
    assert!(matches!(e, loms_oms::OmsError::WrongMode(_)), "{e}");
    let e = oms
        .reconcile(request("BTCUSDT", ReconcileAction::Adopt, None))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("paper"), "{e}");
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_working_at_the_venue_that_loms_did_not_place_holds_entries() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let oms = quick(dir.path(), &v);
    v.add_resting_order("ETHUSDT", "app-1", "buy", "0.02");
    doubted_and_held(&oms, &["working order", "app-1"]).await;
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn who_decides_is_one_line_of_text() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let oms = quick(dir.path(), &v);
    let mut r = request("ETHUSDT", ReconcileAction::Adopt, None);
    r.by = Some("eve\nposition_adopted id=9".into());
    let e = oms.reconcile(r).await.unwrap_err();
    assert!(e.to_string().contains("control characters"), "{e}");
    oms.shutdown().await;
}
