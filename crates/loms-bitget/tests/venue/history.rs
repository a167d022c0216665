//! Reading back the venue: the fills of a symbol since a time (an exchange stop that
//! fired while LOMS was away), the order behind a fill, and a slow venue.

use crate::{client, client_at, entry};
use loms_bitget::order::OrderSource;
use loms_bitget::{BitgetError, ClientOid, OrderSide, PlaceOrder};
use loms_fake_bitget::{FILLS_PATH, FakeBitget, NOW_MS, VenueClock};
use rust_decimal::dec;
use std::time::{Duration, Instant};

#[test]
fn a_fired_stop_is_read_back_as_a_closing_fill_of_a_stop_order() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    c.place_order(&entry("h-entry", dec!(0.0015))).unwrap();
    let eth = PlaceOrder {
        symbol: "ETHUSDT".into(),
        preset_stop_loss: Some(dec!(3400)),
        ..entry("h-eth", dec!(0.03))
    };
    c.place_order(&eth).unwrap();

    // 20 s later the BTC stop fires on the venue.
    let later = NOW_MS + 20_000;
    venue.set_clock(VenueClock::Fixed(later));
    let stop = venue.fire_stop("BTCUSDT").unwrap();
    assert!(
        venue.open_position("BTCUSDT").is_none(),
        "closed on the venue"
    );
    assert!(
        venue.open_position("ETHUSDT").is_some(),
        "the other symbol stays"
    );
    assert_eq!(
        venue.fire_stop("BTCUSDT").unwrap_err().to_string(),
        "no open position on BTCUSDT"
    );

    let c = client_at(&venue, later, false);
    let all = c.fills_since("BTCUSDT", NOW_MS).unwrap();
    assert_eq!(
        all.len(),
        2,
        "the entry and the stop, BTCUSDT only: {all:?}"
    );
    assert_eq!(all[0].side, OrderSide::Buy, "oldest first");
    let close = &all[1];
    assert_eq!(close.order_id, stop.order_id);
    assert_eq!(
        (close.side, close.price, close.qty, close.time_ms),
        (OrderSide::Sell, dec!(62500), dec!(0.0015), later),
        "the side opposite to the long, at the stop price"
    );
    assert_eq!(close.fee_paid, dec!(0.05625), "0.06 % of 93.75");
    assert_eq!(close.profit, dec!(-2.5650), "(62500 - 64210) × 0.0015");
    assert_ne!(close.trade_id, all[0].trade_id);

    let only_new = c.fills_since("BTCUSDT", NOW_MS + 1).unwrap();
    assert_eq!(only_new, vec![close.clone()], "startTime filters");

    let order = c
        .order_detail_by_id("BTCUSDT", &close.order_id)
        .unwrap()
        .unwrap();
    assert_eq!(order.source, OrderSource::StopLoss);
    assert!(order.reduce_only);
    assert_ne!(order.client_oid, "h-entry");
    let placed = c
        .order_detail("BTCUSDT", &ClientOid::parse("h-entry").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(placed.source, OrderSource::Placed);
    assert_eq!(c.order_detail_by_id("BTCUSDT", "424242").unwrap(), None);
}

#[test]
fn many_fills_are_read_page_by_page_each_once() {
    let venue = FakeBitget::start();
    venue.set_balance(dec!(1000000));
    let c = client(&venue);
    for i in 0..130 {
        c.place_order(&PlaceOrder {
            preset_stop_loss: None,
            ..entry(&format!("p-{i}"), dec!(0.0001))
        })
        .unwrap();
    }
    let fills = c.fills_since("BTCUSDT", NOW_MS - 1_000).unwrap();
    assert_eq!(fills.len(), 130);
    let mut ids: Vec<&str> = fills.iter().map(|f| f.trade_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 130, "each trade once");
    let pages: Vec<String> = venue
        .seen()
        .into_iter()
        .filter(|s| s.path == FILLS_PATH)
        .map(|s| s.query)
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[1].contains("idLessThan="), "{}", pages[1]);
}

#[test]
fn fills_since_refuses_a_window_the_venue_would_refuse() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    for since in [NOW_MS - 91 * 86_400_000, NOW_MS + 1] {
        let e = c.fills_since("BTCUSDT", since).unwrap_err();
        assert!(matches!(e, BitgetError::Request(_)), "{e}");
    }
    assert!(venue.seen().is_empty(), "nothing sent");
}

#[test]
fn a_slow_venue_applies_then_answers_late_and_serves_many_at_once() {
    let venue = FakeBitget::start();
    venue.set_balance(dec!(1000000));
    venue.set_latency(Duration::from_millis(150));
    let c = client(&venue);
    let t = Instant::now();
    c.contract("BTCUSDT").unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "public: no latency"
    );
    let t = Instant::now();
    std::thread::scope(|s| {
        for i in 0..16 {
            let c = &c;
            s.spawn(move || {
                c.place_order(&entry(&format!("slow-{i}"), dec!(0.0001)))
                    .unwrap()
            });
        }
    });
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(150), "{took:?}");
    assert!(
        took < Duration::from_millis(1500),
        "concurrent, not queued: {took:?}"
    );
    assert_eq!(venue.placed_orders().len(), 16);
    assert_eq!(venue.orders().len(), 16);
}

#[test]
fn the_working_orders_are_listed_and_none_is_an_empty_list() {
    let venue = FakeBitget::start();
    let c = super::client(&venue);
    assert_eq!(c.open_orders().unwrap(), Vec::new(), "entrustedList null");
    venue.add_resting_order("ETHUSDT", "app-123", "buy", "0.02");
    let orders = c.open_orders().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(
        (
            orders[0].symbol.as_str(),
            orders[0].client_oid.as_str(),
            orders[0].side.as_str()
        ),
        ("ETHUSDT", "app-123", "buy")
    );
    assert_eq!(orders[0].size, rust_decimal::dec!(0.02));
    let seen = venue.seen();
    let last = seen.last().unwrap();
    assert_eq!(last.path, "/api/v2/mix/order/orders-pending");
    assert!(last.signed());
}
