//! Live trading against the fake Bitget venue on 127.0.0.1 (crates/loms-fake-bitget),
//! which checks every signature and answers with the venue's envelopes and error codes:
//! the whole OMS — writer, executor, start-up resolution — with the real Bitget client.

mod drift;
mod faults;
mod reconcile;
mod restart;

use loms_bitget::client::BitgetConfig;
use loms_bitget::{Backoff, BitgetClient, BitgetExecution, Credentials};
use loms_config::{PriceSourceKind, Settings};
use loms_domain::{OrderStatus, PositionStatus};
use loms_fake_bitget::{FakeBitget, KEY, PASSPHRASE, SECRET, VenueClock};
use loms_oms::{Deps, Oms};
use rust_decimal::Decimal;
use rust_decimal::dec;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A fake venue on the system clock (the OMS's clock), BTCUSDT at 64,210.
pub(crate) fn venue() -> FakeBitget {
    let v = FakeBitget::start();
    v.set_clock(VenueClock::System);
    v
}

/// Live settings on `venue`'s prices, quick retries, answers waited for up to 3 s.
pub(crate) fn settings(dir: &std::path::Path, venue: &FakeBitget) -> Settings {
    let mut s = Settings::for_tests(dir);
    s.price_source = PriceSourceKind::Exchange;
    s.price_exchange = "bitget".into();
    s.price_market = "perp".into();
    s.bitget_base_url = venue.base_url();
    s.min_position_age = Duration::ZERO;
    s.live_ack_timeout = Duration::from_secs(3);
    s.live_resolve_interval = Duration::from_millis(50);
    s.live_exec_workers = 2;
    // 0.001 BTC is 64 USDT.
    s.live_max_notional_usdt = dec!(100);
    s
}

/// The Bitget execution client on `venue`, retrying lost answers without sleeping long.
pub(crate) fn execution(venue: &FakeBitget) -> BitgetExecution {
    let cfg = BitgetConfig {
        base_url: venue.base_url(),
        demo: false,
        timeout: Duration::from_secs(2),
    };
    let client = BitgetClient::new(cfg, Credentials::new(KEY, SECRET, PASSPHRASE).unwrap());
    let backoff = Backoff {
        delays: vec![Duration::from_millis(5)],
        max_tries: 4,
    };
    BitgetExecution::with_sleep(client, backoff, Arc::new(|_| {}))
}

/// A live OMS on `venue`.
pub(crate) fn start(s: &Settings, venue: &FakeBitget) -> Oms {
    start_with(s, Arc::new(execution(venue)))
}

pub(crate) fn start_with(s: &Settings, x: Arc<dyn loms_broker::ExecutionClient>) -> Oms {
    let mut deps = Deps::from_settings(s);
    deps.execution = x;
    Oms::start(s.clone(), deps).unwrap()
}

/// A bot signal: long BTCUSDT, 0.001 BTC, stop 1 % under the price.
pub(crate) fn signal(key: &str, qty: &str) -> Vec<u8> {
    signal_on("BTCUSDT", key, qty)
}

/// A bot signal: long `symbol` at its fake venue price.
pub(crate) fn signal_on(symbol: &str, key: &str, qty: &str) -> Vec<u8> {
    let price = if symbol == "BTCUSDT" {
        "64210"
    } else {
        "3500.20"
    };
    json!({"signal_id": key, "symbol": symbol, "side": "long", "price": price,
        "timestamp": chrono::Utc::now().to_rfc3339(), "qty": qty, "sl_pct": 1, "tp_pct": 5,
        "exit_strategy": "trailing_v1"})
    .to_string()
    .into_bytes()
}

/// A live OMS on a fresh venue, with position 1 opened by signal `s1` (0.001 BTC).
pub(crate) async fn opened() -> (tempfile::TempDir, FakeBitget, Settings, Oms) {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let s = settings(dir.path(), &v);
    let oms = start(&s, &v);
    oms.handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    (dir, v, s, oms)
}

/// The one order row of `client_oid`: (status, exchange id, fills).
pub(crate) fn order_row(s: &Settings, client_oid: &str) -> (String, Option<String>, i64) {
    let db = rusqlite::Connection::open(&s.database_path).unwrap();
    db.query_row(
        "SELECT o.status, o.exchange_order_id,
                (SELECT COUNT(*) FROM fills f WHERE f.order_id = o.id)
         FROM orders o WHERE o.client_oid = ?1",
        [client_oid],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// The database's client id tag.
pub(crate) fn tag(s: &Settings) -> String {
    let db = rusqlite::Connection::open(&s.database_path).unwrap();
    db.query_row(
        "SELECT value FROM kv_state WHERE key = 'client_oid_tag'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_becomes_one_signed_market_order_with_a_preset_stop_and_fills_at_the_venue() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let s = settings(dir.path(), &v);
    let oms = start(&s, &v);
    let a = oms
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(a.order_status, Some(OrderStatus::Filled), "{a:?}");
    assert!(a.risk_ok);
    assert_eq!(
        (a.entry_price, a.qty),
        (Some(dec!(64210)), Some(dec!(0.001)))
    );
    let oid = format!("L{}-1-e", tag(&s));
    let sent = v.placed_orders();
    assert_eq!(sent.len(), 1, "exactly one place-order");
    assert_eq!(sent[0]["clientOid"], oid.as_str());
    assert_eq!(sent[0]["orderType"], "market");
    assert_eq!(sent[0]["side"], "buy");
    assert!(sent[0].get("tradeSide").is_none(), "one-way mode");
    // 64,210 − 1 % = 63,567.9, rounded toward the entry on the contract's 0.1 tick.
    assert_eq!(sent[0]["presetStopLossPrice"], "63567.9");
    assert!(
        sent[0].get("presetStopSurplusPrice").is_none(),
        "TP stays with LOMS"
    );
    let p = oms.position(1).await.unwrap().unwrap();
    assert_eq!(p.status, PositionStatus::Open);
    assert_eq!(
        (p.entry_price, p.qty, p.opened_qty),
        (dec!(64210), dec!(0.001), dec!(0.001))
    );
    assert_eq!(p.fees, dec!(0.038526), "0.001 × 64,210 × 0.06 %, paid");
    assert_eq!(p.sl_price, Some(dec!(63567.9)));
    let (status, venue_id, fills) = order_row(&s, &oid);
    assert_eq!((status.as_str(), fills), ("filled", 1));
    assert!(venue_id.is_some());
    // The same signal again: the stored answer, saying where the order stands now.
    let again = oms
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.order_status, Some(OrderStatus::Filled));
    assert_eq!(v.placed_orders().len(), 1);
    assert!(oms.health().await.checks.venue.unwrap().ok);
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exit_is_a_reduce_only_market_order_and_closes_at_its_fill() {
    let (_dir, v, s, oms) = opened().await;
    v.set_mark("BTCUSDT", dec!(64500));
    let c = oms
        .close_position(1, loms_domain::CloseReason::Manual)
        .await
        .unwrap();
    assert_eq!(c.status, PositionStatus::Closed, "{c:?}");
    assert_eq!(c.close_price, Some(dec!(64500)));
    let sent = v.placed_orders();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["reduceOnly"], "YES");
    assert_eq!(sent[1]["side"], "sell");
    assert_eq!(sent[1]["clientOid"], format!("L{}-1-x1", tag(&s)).as_str());
    assert!(sent[1].get("presetStopLossPrice").is_none());
    assert!(v.open_position("BTCUSDT").is_none(), "flat at the venue");
    // 0.29 gross − fees 0.038526 − 0.0387 = 0.212774
    assert_eq!(c.pnl, Some(dec!(0.212774)));
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_moved_by_the_policy_is_moved_at_the_venue() {
    let (_dir, v, _s, oms) = opened().await;
    assert_eq!(v.stop_loss("BTCUSDT"), Some(dec!(63567.9)));
    // +1.5 %: break-even (entry + round-trip fees) replaces the first stop.
    v.set_mark("BTCUSDT", dec!(65173));
    let r = oms.auto_close_pass().await.unwrap();
    assert_eq!(r.closed_count, 0);
    let p = oms.position(1).await.unwrap().unwrap();
    let be = p.dynamic_sl_price.expect("break-even stop");
    assert!(be > dec!(64210), "{be}");
    let mut moved = None;
    for _ in 0..100 {
        moved = v.stop_loss("BTCUSDT").filter(|s| *s != dec!(63567.9));
        if moved.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let moved = moved.expect("the venue's stop moved");
    assert!(moved >= be && moved - be < dec!(0.1), "{moved} vs {be}");
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_size_under_the_contract_minimum_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let s = settings(dir.path(), &v);
    let oms = start(&s, &v);
    let a = oms
        .handle_signal(&signal("tiny", "0.00001"), None)
        .await
        .unwrap();
    assert_eq!(a.order_status, Some(OrderStatus::Rejected), "{a:?}");
    assert!(
        a.order_reason.as_deref().unwrap().contains("not sent"),
        "{a:?}"
    );
    assert!(v.placed_orders().is_empty(), "nothing sent");
    let p = oms.position(1).await.unwrap().unwrap();
    assert_eq!((p.status, p.qty), (PositionStatus::Void, Decimal::ZERO));
    // Void is not a trade, and holds nothing open.
    assert_eq!(
        oms.stats(Default::default()).await.unwrap().total_positions,
        0
    );
    let next = oms
        .handle_signal(&signal("ok", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(next.order_status, Some(OrderStatus::Filled), "{next:?}");
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_venue_rejection_for_balance_voids_the_position_after_one_order() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    v.set_balance(dec!(1));
    let s = settings(dir.path(), &v);
    let oms = start(&s, &v);
    let a = oms
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(a.order_status, Some(OrderStatus::Rejected), "{a:?}");
    assert!(
        a.order_reason.as_deref().unwrap().contains("40762"),
        "{a:?}"
    );
    assert_eq!(v.placed_orders().len(), 1);
    let p = oms.position(1).await.unwrap().unwrap();
    assert_eq!(p.status, PositionStatus::Void);
    let (status, _, fills) = order_row(&s, &format!("L{}-1-e", tag(&s)));
    assert_eq!((status.as_str(), fills), ("rejected", 0));
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_notional_cap_holds_at_the_market_price_whatever_price_was_stated() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let s = settings(dir.path(), &v);
    let oms = start(&s, &v);
    // 0.002 BTC: 0.2 USDT at the stated 100, 128 USDT at the market (cap 100).
    let low = json!({"signal_id": "low", "symbol": "BTCUSDT", "side": "long", "price": 100,
        "timestamp": chrono::Utc::now().to_rfc3339(), "qty": "0.002"});
    let a = oms
        .handle_signal(low.to_string().as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(a.risk_scope.as_deref(), Some("size"), "{a:?}");
    let e = oms
        .create_order(&json!({"symbol": "BTCUSDT", "side": "buy", "qty": "0.002",
            "entry_price": "1"}))
        .await
        .unwrap_err();
    assert!(matches!(e, loms_oms::OmsError::RiskBlocked(_)), "{e}");
    assert!(v.placed_orders().is_empty(), "nothing sent");
    // An operator's order fills at the market, not at its stated price; its stop is
    // kept as stated.
    let p = oms
        .create_order(&json!({"symbol": "BTCUSDT", "side": "buy", "qty": "0.001",
            "entry_price": "64000", "sl_price": "60000"}))
        .await
        .unwrap();
    let mut filled = None;
    for _ in 0..100 {
        let q = oms.position(p.id).await.unwrap().unwrap();
        if q.external_order_id.is_some() {
            assert_eq!(q.entry_price, dec!(64210));
            filled = Some(q);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(filled.is_some(), "filled at the market");
    assert_eq!(v.placed_orders()[0]["presetStopLossPrice"], "60000");
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_exit_on_a_position_the_venue_still_holds_stays_a_doubt_and_is_not_resent() {
    let (_dir, v, _s, oms) = opened().await;
    let refusal = r#"{"code":"40762","msg":"The order amount exceeds the balance","requestTime":1,"data":null}"#;
    v.fault_once(
        loms_fake_bitget::PLACE_ORDER_PATH,
        loms_fake_bitget::Fault::Reply(400, refusal.into()),
    );
    let p = oms
        .close_position(1, loms_domain::CloseReason::Manual)
        .await
        .unwrap();
    assert_eq!(p.status, PositionStatus::Open);
    // The venue still holds it: the doubt stays, and passes send nothing more for it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let venue_check = oms.health().await.checks.venue.unwrap();
    assert!(!venue_check.ok, "{venue_check:?}");
    assert!(venue_check.detail.contains("40762"), "{venue_check:?}");
    let r = oms.auto_close_pass().await.unwrap();
    assert_eq!(r.working, 1, "{r:?}");
    assert_eq!(v.placed_orders().len(), 2, "entry and the one refused exit");
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_signal_says_where_its_entry_stands_now_and_what_filled() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let mut s = settings(dir.path(), &v);
    s.live_ack_timeout = Duration::ZERO;
    let oms = start(&s, &v);
    // 0.00123 BTC: the venue fills 0.0012 (its size step is 0.0001).
    let first = oms
        .handle_signal(&signal("s1", "0.00123"), None)
        .await
        .unwrap();
    assert_eq!(
        first.order_status,
        Some(OrderStatus::PendingSubmit),
        "{first:?}"
    );
    assert_eq!(first.qty, Some(dec!(0.00123)));
    for _ in 0..100 {
        if oms
            .position(1)
            .await
            .unwrap()
            .unwrap()
            .external_order_id
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = oms
        .handle_signal(&signal("s1", "0.00123"), None)
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.order_status, Some(OrderStatus::Filled), "{again:?}");
    assert_eq!(
        (again.entry_price, again.qty),
        (Some(dec!(64210)), Some(dec!(0.0012)))
    );
    assert_eq!(v.placed_orders().len(), 1);
    oms.shutdown().await;
}
