//! Bitget as LOMS's execution client, against the fake venue.

use crate::{PLACE, client};
use loms_bitget::{Backoff, BitgetClient, BitgetExecution};
use loms_broker::{ExecError, ExecutionClient, OrderIntent};
use loms_domain::{OrderStatus, Side};
use loms_fake_bitget::{FakeBitget, Fault};
use rust_decimal::dec;
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn execution(venue: &FakeBitget) -> BitgetExecution {
    execution_with(client(venue))
}

/// Bitget's execution client through `client`, never sleeping.
pub(crate) fn execution_with(client: BitgetClient) -> BitgetExecution {
    let backoff = Backoff {
        delays: vec![Duration::from_millis(10)],
        max_tries: 6,
    };
    BitgetExecution::with_sleep(client, backoff, Arc::new(|_| {}))
}

pub(crate) fn entry(oid: &str) -> OrderIntent {
    OrderIntent {
        client_oid: oid.into(),
        symbol: "BTCUSDT".into(),
        side: Side::Long,
        reduce_only: false,
        qty: dec!(0.00155),
        price: dec!(64210),
        quote: None,
        stop_loss: Some(dec!(62500.04)),
        take_profit: None,
        ts: loms_domain::Timestamp::UNIX_EPOCH,
    }
}

#[test]
fn an_entry_is_one_market_order_with_a_rounded_preset_stop_and_real_fills() {
    let venue = FakeBitget::start();
    let ex = execution(&venue);
    ex.prepare("BTCUSDT").unwrap();
    let r = ex.submit(&entry("Lt1-1-e"));
    assert_eq!(r.status, OrderStatus::Filled, "{r:?}");
    assert_eq!(
        r.filled_qty(),
        dec!(0.0015),
        "size rounded down to the step"
    );
    assert_eq!(r.avg_price(), Some(dec!(64210)));
    assert_eq!(r.fees(), dec!(0.0577890), "the venue's fee, paid: positive");
    assert!(r.exchange_order_id.is_some());
    let sent = venue.place_requests();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].body.contains(r#""presetStopLossPrice":"62500.1""#),
        "the stop rounded toward the entry: {}",
        sent[0].body
    );
    assert!(
        sent[0].body.contains(r#""size":"0.0015""#),
        "{}",
        sent[0].body
    );

    // A trailing move amends the exchange stop; the exit is reduce-only and flattens.
    ex.amend_stop("BTCUSDT", Side::Long, dec!(64000.01))
        .unwrap();
    assert_eq!(venue.stop_loss("BTCUSDT"), Some(dec!(64000.1)));
    let exit = OrderIntent {
        client_oid: "Lt1-1-x1".into(),
        reduce_only: true,
        qty: dec!(0.0015),
        ..entry("x")
    };
    let r = ex.submit(&exit);
    assert_eq!(r.status, OrderStatus::Filled, "{r:?}");
    let last = venue.place_requests().pop().unwrap();
    assert!(last.body.contains(r#""side":"sell""#) && last.body.contains(r#""reduceOnly":"YES""#));
    assert!(
        !last.body.contains("preset"),
        "no stop on an exit: {}",
        last.body
    );
    assert!(ex.positions().unwrap().is_empty());
    assert_eq!(
        ex.amend_stop("BTCUSDT", Side::Long, dec!(1)),
        Err(ExecError::Refused(
            "no long position on BTCUSDT at Bitget".into()
        ))
    );
}

#[test]
fn an_order_below_the_contract_minimum_is_refused_before_anything_is_sent() {
    let venue = FakeBitget::start();
    let ex = execution(&venue);
    let r = ex.submit(&OrderIntent {
        qty: dec!(0.00005),
        ..entry("Lt1-2-e")
    });
    assert_eq!(r.status, OrderStatus::Rejected);
    assert!(
        r.reason
            .as_deref()
            .unwrap_or("")
            .starts_with("not sent: BTCUSDT: size 0 is below the minimum 0.0001"),
        "{r:?}"
    );
    assert!(venue.place_requests().is_empty(), "nothing sent");
    let r = ex.submit(&OrderIntent {
        client_oid: "bad#id".into(),
        ..entry("x")
    });
    assert_eq!(r.status, OrderStatus::Rejected, "{r:?}");
    assert!(venue.place_requests().is_empty());
}

#[test]
fn a_lost_answer_ends_as_one_filled_order() {
    let venue = FakeBitget::start();
    let ex = execution(&venue);
    venue.fault_once(PLACE, Fault::DropAfterApply);
    let r = ex.submit(&entry("Lt1-3-e"));
    assert_eq!(r.status, OrderStatus::Filled, "{r:?}");
    assert_eq!(r.fills.len(), 1);
    assert_eq!(venue.order_count("Lt1-3-e"), 1);
    // After a restart the same intent is looked up, not placed again.
    let q = ex.query("BTCUSDT", "Lt1-3-e").unwrap().unwrap();
    assert_eq!((q.status, q.fills), (OrderStatus::Filled, r.fills));
    assert_eq!(ex.query("BTCUSDT", "Lt1-9-e").unwrap(), None);
    let again = ex.submit(&entry("Lt1-3-e"));
    assert_eq!(
        again.status,
        OrderStatus::Filled,
        "a duplicate is adopted: {again:?}"
    );
    assert_eq!(
        venue.order_count("Lt1-3-e"),
        1,
        "never two orders for one intent"
    );
}

#[test]
fn a_balance_refusal_is_a_rejection_and_the_account_is_read() {
    let venue = FakeBitget::start();
    let ex = execution(&venue);
    venue.set_balance(dec!(5));
    let r = ex.submit(&OrderIntent {
        qty: dec!(0.01),
        ..entry("Lt1-4-e")
    });
    assert_eq!(r.status, OrderStatus::Rejected, "{r:?}");
    assert!(r.reason.as_deref().unwrap_or("").contains("40762"), "{r:?}");
    let a = ex.account().unwrap();
    assert_eq!((a.equity, a.available), (dec!(5), dec!(5)));
}
