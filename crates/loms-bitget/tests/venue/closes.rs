//! The venue's own closes read back: a stop that fired on Bitget, never LOMS's own entry
//! or reduce-only exits.

use crate::client_at;
use crate::execution::{entry, execution_with};
use loms_broker::{ExecutionClient, OrderIntent};
use loms_domain::{OrderStatus, Side, Timestamp};
use loms_fake_bitget::{FakeBitget, NOW_MS, VenueClock};
use rust_decimal::dec;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_timestamp_millis(ms).unwrap()
}

#[test]
fn a_fired_stop_is_a_venue_close_and_loms_own_fills_are_not() {
    let venue = FakeBitget::start();
    let later = NOW_MS + 20_000;
    // LOMS's clock is 20 s ahead of the venue's at first (within the venue's window).
    let ex = execution_with(client_at(&venue, later, false));
    let r = ex.submit(&entry("Lt1-1-e"));
    assert_eq!(r.status, OrderStatus::Filled, "{r:?}");
    let exit = OrderIntent {
        client_oid: "Lt1-1-x1".into(),
        reduce_only: true,
        qty: dec!(0.0005),
        ..entry("x")
    };
    assert_eq!(ex.submit(&exit).status, OrderStatus::Filled);
    assert!(
        ex.venue_closes("BTCUSDT", Side::Long, at(NOW_MS))
            .unwrap()
            .is_empty(),
        "the entry and LOMS's reduce-only exit are not venue closes"
    );

    venue.set_clock(VenueClock::Fixed(later));
    let stop = venue.fire_stop("BTCUSDT").unwrap();
    let closes = ex.venue_closes("BTCUSDT", Side::Long, at(NOW_MS)).unwrap();
    assert_eq!(closes.len(), 1, "{closes:?}");
    let (order_id, fill) = &closes[0];
    assert_eq!(order_id, &stop.order_id);
    assert_eq!(fill.trade_id, stop.trade_id);
    assert_eq!(
        (fill.price, fill.qty, fill.ts),
        (dec!(62500.1), dec!(0.001), at(later)),
        "the rest of the long, at the stop"
    );
    assert_eq!(
        fill.fee,
        dec!(0.03750006),
        "0.06 % of 62.5001, paid: positive"
    );

    // Another side, a later start, another symbol, a start after the venue's now: nothing.
    for (symbol, side, since) in [
        ("BTCUSDT", Side::Short, NOW_MS),
        ("BTCUSDT", Side::Long, later + 1),
        ("ETHUSDT", Side::Long, NOW_MS),
        ("BTCUSDT", Side::Long, later + 60_000),
    ] {
        let none = ex.venue_closes(symbol, side, at(since)).unwrap();
        assert!(none.is_empty(), "{symbol} {side} since {since}: {none:?}");
    }
}

#[test]
fn a_short_is_closed_by_buys_and_each_order_is_looked_up_once() {
    let venue = FakeBitget::start();
    let ex = execution_with(crate::client(&venue));
    let short = OrderIntent {
        side: Side::Short,
        stop_loss: Some(dec!(66000)),
        ..entry("Lt1-2-e")
    };
    assert_eq!(ex.submit(&short).status, OrderStatus::Filled);
    let stop = venue.fire_stop("BTCUSDT").unwrap();
    let details = |v: &FakeBitget| {
        v.seen()
            .iter()
            .filter(|s| s.path == "/api/v2/mix/order/detail" && s.query.contains("orderId="))
            .count()
    };
    let before = details(&venue);
    let closes = ex.venue_closes("BTCUSDT", Side::Short, at(NOW_MS)).unwrap();
    assert_eq!(
        closes
            .iter()
            .map(|(o, f)| (o.as_str(), f.price))
            .collect::<Vec<_>>(),
        [(stop.order_id.as_str(), dec!(66000))]
    );
    assert_eq!(
        details(&venue) - before,
        1,
        "only the buy's order is looked up"
    );
    assert!(
        ex.venue_closes("BTCUSDT", Side::Long, at(NOW_MS))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_start_beyond_the_venue_window_is_an_error_not_an_empty_answer() {
    let venue = FakeBitget::start();
    let ex = execution_with(crate::client(&venue));
    let e = ex
        .venue_closes("BTCUSDT", Side::Long, at(NOW_MS - 91 * 24 * 3_600_000))
        .unwrap_err();
    assert!(matches!(e, loms_broker::ExecError::Refused(_)), "{e:?}");
}
