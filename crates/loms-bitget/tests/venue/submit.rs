//! `submit`: one intent, one order, whatever answers are lost.

use crate::{PLACE, client, entry};
use loms_bitget::order::OrderState;
use loms_bitget::{Backoff, ErrorClass, Submitted, submit};
use loms_fake_bitget::{FakeBitget, Fault};
use rust_decimal::dec;
use std::cell::RefCell;
use std::time::Duration;

const DETAIL: &str = "/api/v2/mix/order/detail";

fn backoff(max_tries: u32) -> Backoff {
    Backoff {
        delays: vec![Duration::from_millis(250), Duration::from_secs(1)],
        max_tries,
    }
}

/// `submit` with a recording sleep; returns the outcome and the waits asked for.
fn run(venue: &FakeBitget, oid: &str, max_tries: u32) -> (Submitted, Vec<Duration>) {
    let slept = RefCell::new(Vec::new());
    let out = submit(
        &client(venue),
        &entry(oid, dec!(0.001)),
        &backoff(max_tries),
        &|d| slept.borrow_mut().push(d),
    );
    (out, slept.into_inner())
}

fn paths(venue: &FakeBitget) -> Vec<String> {
    venue
        .seen()
        .into_iter()
        .filter(|s| s.path == PLACE || s.path == DETAIL)
        .map(|s| s.path.rsplit('/').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_lost_answer_is_found_by_client_id() {
    let venue = FakeBitget::start();
    venue.fault_once(PLACE, Fault::DropAfterApply);
    let (out, slept) = run(&venue, "lost-1", 10);
    let Submitted::Found(d) = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        (d.state, d.client_oid.as_str()),
        (OrderState::Filled, "lost-1")
    );
    assert_eq!(paths(&venue), ["place-order", "detail"]);
    assert_eq!(slept, [Duration::from_millis(250)]);
    assert_eq!(venue.order_count("lost-1"), 1);
}

#[test]
fn an_order_not_placed_is_sent_again_under_the_same_id() {
    let venue = FakeBitget::start();
    venue.fault_once(PLACE, Fault::Reply(502, "<html>Bad gateway</html>".into()));
    let (out, _) = run(&venue, "5xx-1", 10);
    assert!(matches!(out, Submitted::Acked(_)), "{out:?}");
    assert_eq!(
        paths(&venue),
        ["place-order", "detail", "detail", "place-order"]
    );
    let bodies: Vec<String> = venue
        .seen()
        .into_iter()
        .filter(|s| s.path == PLACE)
        .map(|s| s.body)
        .collect();
    assert_eq!(bodies[0], bodies[1], "the same clientOid, the same order");
    assert_eq!(venue.order_count("5xx-1"), 1);
}

#[test]
fn an_order_of_a_previous_run_is_adopted_not_doubled() {
    let venue = FakeBitget::start();
    client(&venue)
        .place_order(&entry("again-1", dec!(0.001)))
        .unwrap();
    let (out, _) = run(&venue, "again-1", 10);
    assert!(
        matches!(out, Submitted::Found(_)),
        "duplicate clientOid = look it up: {out:?}"
    );
    assert_eq!(venue.order_count("again-1"), 1);
}

#[test]
fn rate_limits_are_waited_out_and_refusals_are_final() {
    let venue = FakeBitget::start();
    for _ in 0..2 {
        venue.fault_once(PLACE, Fault::Reply(429, String::new()));
    }
    let (out, slept) = run(&venue, "rl-1", 10);
    assert!(matches!(out, Submitted::Acked(_)), "{out:?}");
    assert_eq!(slept, [Duration::from_millis(250), Duration::from_secs(1)]);
    assert_eq!(
        paths(&venue).len(),
        3,
        "no lookup: a 429 is refused before processing"
    );

    let venue = FakeBitget::start();
    venue.set_balance(dec!(1));
    let (out, slept) = run(&venue, "bal-1", 10);
    let Submitted::Rejected(e) = out else {
        panic!("{out:?}")
    };
    assert_eq!(e.class(), Some(ErrorClass::InsufficientBalance));
    assert!(
        slept.is_empty() && paths(&venue).len() == 1,
        "no retry of a clean refusal"
    );
}

#[test]
fn an_outcome_that_stays_unknown_is_reported_as_unknown() {
    let venue = FakeBitget::start();
    venue.fault_once(PLACE, Fault::DropAfterApply);
    for _ in 0..10 {
        venue.fault_once(DETAIL, Fault::Reply(503, String::new()));
    }
    let (out, slept) = run(&venue, "dark-1", 4);
    assert!(matches!(out, Submitted::Unknown(_)), "{out:?}");
    assert_eq!(paths(&venue), ["place-order", "detail", "detail", "detail"]);
    assert_eq!(slept.len(), 3);
    assert_eq!(
        venue.order_count("dark-1"),
        1,
        "never re-sent while unknown"
    );
}
