//! The Bitget client against a fake venue on 127.0.0.1 that checks every signature as
//! Bitget does and answers with the real envelopes and error codes.

mod closes;
mod execution;
mod gates;
mod history;
mod prepare;
mod submit;

use loms_bitget::client::BitgetConfig;
use loms_bitget::order::{CancelOutcome, Leg, OrderState};
use loms_bitget::{
    BitgetClient, BitgetError, ClientOid, Credentials, ErrorClass, OrderSide, PlaceOrder,
};
use loms_fake_bitget::{FakeBitget, Fault, KEY, NOW_MS, PASSPHRASE, SECRET};
use rust_decimal::Decimal;
use rust_decimal::dec;
use std::sync::Arc;
use std::time::Duration;

const PLACE: &str = loms_fake_bitget::PLACE_ORDER_PATH;

fn client_at(venue: &FakeBitget, now_ms: i64, demo: bool) -> BitgetClient {
    let cfg = BitgetConfig {
        base_url: venue.base_url(),
        demo,
        timeout: Duration::from_secs(2),
    };
    let creds = Credentials::new(KEY, SECRET, PASSPHRASE).unwrap();
    BitgetClient::with_clock(cfg, creds, Arc::new(move || now_ms))
}

fn client(venue: &FakeBitget) -> BitgetClient {
    client_at(venue, NOW_MS, false)
}

fn entry(oid: &str, size: Decimal) -> PlaceOrder {
    PlaceOrder {
        symbol: "BTCUSDT".into(),
        side: OrderSide::Buy,
        size,
        client_oid: ClientOid::parse(oid).unwrap(),
        reduce_only: false,
        preset_stop_loss: Some(dec!(62500)),
        preset_take_profit: None,
    }
}

#[test]
fn an_entry_with_a_preset_stop_then_its_fill_then_a_reduce_only_exit() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    let spec = c.contract("BTCUSDT").unwrap();
    let size = spec.size_for_notional(dec!(100), dec!(64210)).unwrap();
    assert_eq!(size, dec!(0.0015));
    let oid = ClientOid::derive("t1", 7, Leg::Entry).unwrap();
    let ack = c
        .place_order(&PlaceOrder {
            client_oid: oid.clone(),
            ..entry("x", size)
        })
        .unwrap();
    assert!(ack.order_id.is_some());
    let sent = venue.place_requests();
    assert_eq!(sent.len(), 1, "exactly one place-order");
    assert!(
        sent[0].body.contains(r#""presetStopLossPrice":"62500""#),
        "{}",
        sent[0].body
    );
    assert!(
        !sent[0].body.contains("tradeSide"),
        "one-way mode: no tradeSide"
    );
    assert!(sent[0].headers.contains_key("access-sign"));
    assert!(
        !sent[0].headers.contains_key("paptrading"),
        "live, not demo"
    );

    let d = c.order_detail("BTCUSDT", &oid).unwrap().unwrap();
    assert_eq!(
        (d.state, d.filled, d.price_avg),
        (OrderState::Filled, size, Some(dec!(64210)))
    );
    assert_eq!(
        d.fee_paid,
        dec!(0.0577890),
        "0.06 % of 96.315, paid: positive"
    );
    let fills = c.fills("BTCUSDT", &d.order_id).unwrap();
    assert_eq!(fills.len(), 1);
    assert_eq!((fills[0].qty, fills[0].fee_paid), (size, d.fee_paid));

    let positions = c.positions().unwrap();
    assert_eq!(positions.len(), 1);
    let stop_id = positions[0].stop_loss_id.clone().unwrap();
    c.move_stop("BTCUSDT", &stop_id, dec!(64300)).unwrap();
    assert_eq!(
        venue.stop_loss("BTCUSDT"),
        Some(dec!(64300)),
        "the exchange stop moved"
    );

    let exit = PlaceOrder {
        side: OrderSide::Sell,
        reduce_only: true,
        preset_stop_loss: None,
        client_oid: ClientOid::derive("t1", 7, Leg::Exit(1)).unwrap(),
        ..entry("x", size)
    };
    c.place_order(&exit).unwrap();
    assert!(
        c.positions().unwrap().is_empty(),
        "flat after the reduce-only exit"
    );
    let again = c.place_order(&PlaceOrder {
        client_oid: ClientOid::derive("t1", 7, Leg::Exit(2)).unwrap(),
        ..exit
    });
    assert_eq!(
        again.unwrap_err().class(),
        Some(ErrorClass::NoPosition),
        "reduce-only never opens"
    );
}

#[test]
fn the_contract_is_fetched_once_and_refusals_are_clean_rejections() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    c.contract("BTCUSDT").unwrap();
    c.contract("BTCUSDT").unwrap();
    let fetched = venue
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/contracts"))
        .count();
    assert_eq!(fetched, 1, "cached");
    assert!(
        !venue.seen()[0].headers.contains_key("access-sign"),
        "public: unsigned"
    );

    // Below 5 USDT: the venue's own check (the client's contract check refuses earlier).
    venue.set_mark("BTCUSDT", dec!(40000));
    let e = c.place_order(&entry("min-1", dec!(0.0001))).unwrap_err();
    assert_eq!(e.class(), Some(ErrorClass::SizeOrPrice), "{e}");
    assert!(!e.outcome_unknown());
    assert_eq!(venue.order_count("min-1"), 0);
    venue.set_balance(dec!(10));
    let e = c.place_order(&entry("bal-1", dec!(0.01))).unwrap_err();
    assert_eq!(e.class(), Some(ErrorClass::InsufficientBalance), "{e}");
    assert!(e.class().unwrap().rejects_the_order());
    assert_eq!(venue.order_count("bal-1"), 0);
}

#[test]
fn a_lost_answer_is_looked_up_and_never_becomes_a_second_order() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    venue.fault_once(PLACE, Fault::DropAfterApply);
    let order = entry("lost-1", dec!(0.001));
    let e = c.place_order(&order).unwrap_err();
    assert!(e.outcome_unknown(), "{e}");
    // Look it up by clientOid: the venue has it.
    let d = c
        .order_detail("BTCUSDT", &order.client_oid)
        .unwrap()
        .unwrap();
    assert_eq!(d.state, OrderState::Filled);
    // A re-send under the same id is refused as a duplicate: "look it up", not a rejection.
    let e = c.place_order(&order).unwrap_err();
    assert_eq!(e.class(), Some(ErrorClass::DuplicateClientOid), "{e}");
    assert!(e.outcome_unknown() && !e.class().unwrap().rejects_the_order());
    assert_eq!(venue.order_count("lost-1"), 1, "one intent, one order");
    // An order the venue never saw is "not found", not an error.
    let none = ClientOid::parse("never-sent").unwrap();
    assert_eq!(c.order_detail("BTCUSDT", &none).unwrap(), None);
    assert_eq!(
        c.cancel_order("BTCUSDT", &none).unwrap(),
        CancelOutcome::NotFound
    );
}

#[test]
fn rate_limits_server_errors_and_timeouts_are_classified() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    venue.fault_once(
        PLACE,
        Fault::Reply(
            429,
            r#"{"code":"429","msg":"Too Many Requests","requestTime":0,"data":null}"#.into(),
        ),
    );
    let e = c.place_order(&entry("rl-1", dec!(0.001))).unwrap_err();
    assert_eq!(e.class(), Some(ErrorClass::RateLimited));
    assert!(
        e.retryable() && !e.outcome_unknown(),
        "refused before processing"
    );
    venue.fault_once(PLACE, Fault::Reply(429, String::new()));
    let e = c.place_order(&entry("rl-2", dec!(0.001))).unwrap_err();
    assert_eq!(
        e.class(),
        Some(ErrorClass::RateLimited),
        "429 without a body"
    );

    venue.fault_once(PLACE, Fault::Reply(502, "<html>Bad gateway</html>".into()));
    let e = c.place_order(&entry("5xx-1", dec!(0.001))).unwrap_err();
    assert!(
        matches!(e, BitgetError::NoAnswer(_)) && e.outcome_unknown(),
        "{e}"
    );

    venue.fault_once(PLACE, Fault::Delay(Duration::from_millis(700)));
    let slow = BitgetClient::with_clock(
        BitgetConfig {
            base_url: venue.base_url(),
            demo: false,
            timeout: Duration::from_millis(200),
        },
        Credentials::new(KEY, SECRET, PASSPHRASE).unwrap(),
        Arc::new(|| NOW_MS),
    );
    let e = slow.place_order(&entry("slow-1", dec!(0.001))).unwrap_err();
    assert!(e.outcome_unknown(), "timeout after sending: {e}");
    assert_eq!(venue.order_count("slow-1"), 1, "the venue did execute it");

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gone = BitgetClient::with_clock(
        BitgetConfig {
            base_url: format!("http://{closed}"),
            demo: false,
            timeout: Duration::from_secs(1),
        },
        Credentials::new(KEY, SECRET, PASSPHRASE).unwrap(),
        Arc::new(|| NOW_MS),
    );
    let e = gone.place_order(&entry("gone-1", dec!(0.001))).unwrap_err();
    assert!(
        matches!(e, BitgetError::Unreachable(_)) && !e.outcome_unknown(),
        "{e}"
    );
}

#[test]
fn the_venue_checks_key_signature_clock_and_environment() {
    let venue = FakeBitget::start();
    let wrong = BitgetClient::with_clock(
        BitgetConfig {
            base_url: venue.base_url(),
            demo: false,
            timeout: Duration::from_secs(2),
        },
        Credentials::new(KEY, "not-the-secret", PASSPHRASE).unwrap(),
        Arc::new(|| NOW_MS),
    );
    let e = wrong.positions().unwrap_err();
    assert_eq!(e.class(), Some(ErrorClass::Auth), "{e}");
    assert!(
        !format!("{e:?}{wrong:?}").contains("not-the-secret"),
        "no secret in errors"
    );

    // A clock a minute ahead: expired, until synchronised with the venue's time.
    let ahead = client_at(&venue, NOW_MS + 60_000, false);
    assert_eq!(
        ahead.positions().unwrap_err().class(),
        Some(ErrorClass::Clock)
    );
    assert_eq!(ahead.sync_time().unwrap(), -60_000);
    assert!(ahead.positions().unwrap().is_empty());

    // Demo trading: the same code with `paptrading: 1`; a live client on a demo venue is
    // refused (40099), as Bitget refuses a key of the wrong environment.
    venue.set_demo(true);
    assert_eq!(
        client(&venue).positions().unwrap_err().class(),
        Some(ErrorClass::Auth)
    );
    let demo = client_at(&venue, NOW_MS, true);
    demo.place_order(&entry("demo-1", dec!(0.001))).unwrap();
    assert_eq!(
        venue
            .place_requests()
            .last()
            .unwrap()
            .headers
            .get("paptrading")
            .map(String::as_str),
        Some("1")
    );
}

#[test]
fn key_info_and_account_modes_are_read() {
    let venue = FakeBitget::start();
    let c = client(&venue);
    let k = c.key_info().unwrap();
    assert_eq!(k.user_id, "5550000001");
    assert!(!k.is_main_account() && k.dangerous_permissions().is_empty());
    let a = c.account("BTCUSDT").unwrap();
    assert!(a.one_way());
    assert_eq!(a.equity, dec!(108));
    c.set_leverage("BTCUSDT", 3).unwrap();
    c.set_isolated("BTCUSDT").unwrap();
}
