//! A crash between storing an order and hearing from the venue, and a venue stop that
//! fired while LOMS was down: the restart settles both before the first signal.

use super::{execution, settings, signal, start, start_with, tag, venue};
use loms_bitget::BitgetExecution;
use loms_broker::{
    AccountSnapshot, CancelOutcome, ExecError, ExecFill, ExecutionClient, ExecutionReport,
    OrderIntent, VenuePosition,
};
use loms_domain::{CloseReason, Decimal, OrderStatus, PositionStatus, Side, Timestamp};
use rust_decimal::dec;
use std::sync::Arc;
use std::time::Duration;

/// The process "dies" inside a submit: after the request left (`sent`), or before. The
/// worker never comes back, and the OMS is stopped as a kill would leave it.
#[derive(Debug)]
struct DiesInSubmit {
    inner: BitgetExecution,
    sent: bool,
}

impl ExecutionClient for DiesInSubmit {
    fn venue(&self) -> &'static str {
        "bitget"
    }
    fn submit(&self, order: &OrderIntent) -> ExecutionReport {
        if self.sent {
            let _ = self.inner.submit(order);
        }
        loop {
            std::thread::park();
        }
    }
    fn query(&self, s: &str, c: &str) -> Result<Option<ExecutionReport>, ExecError> {
        self.inner.query(s, c)
    }
    fn cancel(&self, s: &str, c: &str) -> Result<CancelOutcome, ExecError> {
        self.inner.cancel(s, c)
    }
    fn amend_stop(&self, s: &str, side: Side, stop: Decimal) -> Result<(), ExecError> {
        self.inner.amend_stop(s, side, stop)
    }
    fn positions(&self) -> Result<Vec<VenuePosition>, ExecError> {
        self.inner.positions()
    }
    fn venue_closes(
        &self,
        s: &str,
        side: Side,
        since: Timestamp,
    ) -> Result<Vec<(String, ExecFill)>, ExecError> {
        self.inner.venue_closes(s, side, since)
    }
    fn account(&self) -> Result<AccountSnapshot, ExecError> {
        self.inner.account()
    }
}

async fn killed_in_submit(sent: bool) {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let mut s = settings(dir.path(), &v);
    s.live_ack_timeout = Duration::from_millis(200);
    let dying = Arc::new(DiesInSubmit {
        inner: execution(&v),
        sent,
    });
    let first = start_with(&s, dying);
    let a = first
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(a.order_status, Some(OrderStatus::PendingSubmit), "{a:?}");
    // Give the stuck worker time to have sent its request.
    for _ in 0..100 {
        if !sent || !v.orders().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.shutdown().await;

    let again = start(&s, &v);
    let oid = format!("L{}-1-e", tag(&s));
    // Found at once; or not found twice, one retry interval apart: never placed.
    for _ in 0..100 {
        let p = again.position(1).await.unwrap().unwrap();
        if p.status == PositionStatus::Void || p.entry_price == dec!(64210) && sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let p = again.position(1).await.unwrap().unwrap();
    if sent {
        assert_eq!(p.status, PositionStatus::Open, "{p:?}");
        assert_eq!((p.entry_price, p.qty), (dec!(64210), dec!(0.001)));
        assert_eq!(v.order_count(&oid), 1, "no second order");
    } else {
        assert_eq!(p.status, PositionStatus::Void, "{p:?}");
        assert!(v.orders().is_empty(), "never sent, and not sent now");
    }
    let h = again.health().await;
    assert!(h.checks.venue.as_ref().unwrap().ok, "{:?}", h.checks.venue);
    // Entries are taken again (another symbol: live holds one position per symbol),
    // and the next order is the only new one.
    let next = again
        .handle_signal(&super::signal_on("ETHUSDT", "s2", "0.01"), None)
        .await
        .unwrap();
    assert_eq!(
        (next.position_id, next.order_status),
        (Some(2), Some(OrderStatus::Filled)),
        "{next:?}"
    );
    assert_eq!(v.orders().len(), if sent { 2 } else { 1 });
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_the_order_left_is_resolved_by_client_id_at_restart() {
    killed_in_submit(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_before_the_order_left_voids_its_position_at_restart() {
    killed_in_submit(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_venue_stop_that_fired_while_down_closes_the_position_as_exchange_stop() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let s = settings(dir.path(), &v);
    let first = start(&s, &v);
    first
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    first.shutdown().await;
    let stop = v.fire_stop("BTCUSDT").unwrap();
    assert!(v.open_position("BTCUSDT").is_none());

    let again = start(&s, &v);
    let p = again.position(1).await.unwrap().unwrap();
    assert_eq!(p.status, PositionStatus::Closed, "{p:?}");
    assert_eq!(p.auto_close_reason, Some(CloseReason::ExchangeStop));
    assert_eq!(p.close_price, Some(stop.price));
    assert_eq!(p.close_price, Some(dec!(63567.9)));
    assert!(again.health().await.checks.venue.unwrap().ok);
    assert_eq!(
        again
            .stats(Default::default())
            .await
            .unwrap()
            .closed_positions,
        1
    );
    // LOMS sent one order (the entry); the stop was the venue's own.
    assert_eq!(v.placed_orders().len(), 1);
    again.shutdown().await;
}
