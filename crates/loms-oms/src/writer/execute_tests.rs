//! The writer executes through the `ExecutionClient` and stores what it reports: client
//! order ids, statuses and trade ids of entries, partial and full exits; a client that
//! is not immediate is never called inside the writer; the ids survive a restart.

use super::close::{close_one, partial_close};
use super::tests::{order, writer_on};
use super::*;
use loms_broker::{
    AccountSnapshot, CancelOutcome, ExecError, ExecutionReport, OrderIntent, VenuePosition,
};
use loms_domain::{OrderStatus, Side};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `(kind, order_id, trade_id)` of every fill, oldest first.
fn fills(path: &std::path::Path) -> Vec<(String, Option<i64>, Option<String>)> {
    rusqlite::Connection::open(path)
        .unwrap()
        .prepare("SELECT kind, order_id, trade_id FROM fills ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The market at `price`, now.
fn tick(w: &Writer, price: Decimal) -> Tick {
    Tick {
        price,
        quote: PriceQuote::flat("BTCUSDT", price, w.ctx.clock.now()),
        bar: None,
        bar_start: None,
    }
}

/// Close half of position `p` at `price`, then (`rest`) the rest, in one batch.
fn exit(w: &mut Writer, mut p: Position, price: Decimal, rest: bool) {
    let now = w.ctx.clock.now();
    let tick = tick(w, price);
    let tx = w.store.transaction();
    let half = Decimal::new(5, 1);
    let done = u32::try_from(p.closes.len()).unwrap();
    partial_close(
        &w.ctx,
        &tx,
        (&mut p, done),
        half,
        (&tick, None),
        CloseReason::Tp,
        now,
    )
    .unwrap();
    if rest {
        let c = close_one(
            &w.ctx,
            &tx,
            (p, done + 1),
            (&tick, None),
            CloseReason::Manual,
            now,
        )
        .unwrap();
        let super::close::Exit::Done(c) = c else {
            panic!("paper closes at once")
        };
        assert_eq!(c.close_price, Some(price));
    }
    tx.commit().unwrap();
}

#[test]
fn entries_partial_and_full_exits_store_client_ids_statuses_and_trade_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loms.db");
    let mut w = writer_on(Store::open(&path).unwrap());
    let tag = w.store.client_oid_tag().unwrap();
    let p = order(&mut w).unwrap();
    assert_eq!(p.id, 1);
    exit(&mut w, p, Decimal::new(101, 0), true);

    let orders = w.store.orders(None, None).unwrap();
    let seen: Vec<_> = orders
        .iter()
        .map(|o| {
            (
                o.client_oid.clone().unwrap(),
                o.status,
                o.side.as_str(),
                o.qty,
                o.position_id,
            )
        })
        .collect();
    let oid = |leg: &str| format!("L{tag}-1-{leg}");
    let half = Decimal::new(5, 1);
    assert_eq!(
        seen,
        [
            (oid("x2"), OrderStatus::Filled, "sell", half, Some(1)),
            (oid("x1"), OrderStatus::Filled, "sell", half, Some(1)),
            (oid("e"), OrderStatus::Filled, "buy", Decimal::ONE, Some(1)),
        ],
        "newest first: the close, the partial close, the entry"
    );
    assert!(
        orders.iter().all(|o| o.exchange_order_id.is_none()),
        "paper"
    );
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    assert_eq!(
        fills(&path),
        [
            (
                "entry".into(),
                Some(ids[2]),
                Some(format!("{}-1", oid("e")))
            ),
            (
                "partial".into(),
                Some(ids[1]),
                Some(format!("{}-1", oid("x1")))
            ),
            (
                "exit".into(),
                Some(ids[0]),
                Some(format!("{}-1", oid("x2")))
            ),
        ]
    );
}

#[test]
fn ids_and_the_tag_survive_a_restart_and_exits_go_on_counting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loms.db");
    let mut w = writer_on(Store::open(&path).unwrap());
    let tag = w.store.client_oid_tag().unwrap();
    let first = order(&mut w).unwrap();
    let second = order(&mut w).unwrap();
    // One partial close of the second before the restart.
    exit(&mut w, second, Decimal::ONE_HUNDRED, false);
    drop(w);

    let mut w = writer_on(Store::open(&path).unwrap());
    assert_eq!(w.store.client_oid_tag().unwrap(), tag, "the tag is kept");
    let third = order(&mut w).unwrap();
    assert_eq!((first.id, third.id), (1, 3));
    let p = w.store.position(2).unwrap().unwrap();
    let (tick, now) = (tick(&w, Decimal::ONE_HUNDRED), w.ctx.clock.now());
    let tx = w.store.transaction();
    let done = u32::try_from(p.closes.len()).unwrap();
    close_one(
        &w.ctx,
        &tx,
        (p, done),
        (&tick, None),
        CloseReason::Manual,
        now,
    )
    .unwrap();
    tx.commit().unwrap();
    let oids: Vec<String> = w
        .store
        .orders(None, None)
        .unwrap()
        .into_iter()
        .map(|o| o.client_oid.unwrap())
        .collect();
    assert_eq!(
        oids,
        ["2-x2", "3-e", "2-x1", "2-e", "1-e"].map(|s| format!("L{tag}-{s}")),
        "the exit after the restart is the second of its position"
    );
}

/// A client that would need the network: it must never be called by the writer.
#[derive(Debug, Default)]
struct Venue {
    submitted: AtomicUsize,
}

impl ExecutionClient for Venue {
    fn venue(&self) -> &'static str {
        "fake-venue"
    }
    fn submit(&self, order: &OrderIntent) -> ExecutionReport {
        self.submitted.fetch_add(1, Ordering::SeqCst);
        ExecutionReport {
            client_oid: order.client_oid.clone(),
            exchange_order_id: Some("1".into()),
            status: OrderStatus::Filled,
            fills: vec![loms_broker::ExecFill {
                trade_id: "t".into(),
                price: order.price,
                qty: order.qty,
                fee: Decimal::ZERO,
                ts: order.ts,
            }],
            reason: None,
        }
    }
    fn query(&self, _: &str, _: &str) -> Result<Option<ExecutionReport>, ExecError> {
        unreachable!()
    }
    fn cancel(&self, _: &str, _: &str) -> Result<CancelOutcome, ExecError> {
        unreachable!()
    }
    fn amend_stop(&self, _: &str, _: Side, _: Decimal) -> Result<(), ExecError> {
        unreachable!()
    }
    fn positions(&self) -> Result<Vec<VenuePosition>, ExecError> {
        unreachable!()
    }
    fn account(&self) -> Result<AccountSnapshot, ExecError> {
        unreachable!()
    }
}

#[test]
fn a_client_that_is_not_immediate_is_never_called_inside_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loms.db");
    let mut w = writer_on(Store::open(&path).unwrap());
    let p = order(&mut w).unwrap();
    let venue = Arc::new(Venue::default());
    w.ctx.execution = venue.clone();

    let err = order(&mut w).unwrap_err();
    assert!(
        matches!(&err, OmsError::Broker(m) if m.contains("fake-venue is not immediate")),
        "{err}"
    );
    let now = w.ctx.clock.now();
    let tick = tick(&w, Decimal::ONE_HUNDRED);
    let tx = w.store.transaction();
    let err = close_one(&w.ctx, &tx, (p, 0), (&tick, None), CloseReason::Manual, now).unwrap_err();
    assert!(matches!(err, OmsError::Broker(_)), "{err}");
    drop(tx);
    assert_eq!(venue.submitted.load(Ordering::SeqCst), 0, "nothing sent");
    assert_eq!(
        w.store.orders(None, None).unwrap().len(),
        1,
        "only the paper entry"
    );
    assert_eq!(w.store.count_open(None).unwrap(), 1);
    assert_eq!(fills(&path).len(), 1);
}
