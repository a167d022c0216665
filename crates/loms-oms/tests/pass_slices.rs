//! A pass over more positions than one slice holds (256 written per slice) runs in
//! several writer batches and still reports and stores every position once.

use loms_domain::{Decimal, PositionStatus};
use loms_oms::{Deps, Oms};
use loms_storage::PositionFilter;
use std::time::Duration;

async fn open(oms: &Oms, n: usize) {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let oms = oms.clone();
        let body = serde_json::json!({"symbol": format!("S{:02}USDT", i % 7), "side": "buy",
            "qty": "0.1", "entry_price": "100", "tp_price": "110", "sl_price": "90"});
        set.spawn(async move { oms.create_order(&body).await });
    }
    while let Some(r) = set.join_next().await {
        r.expect("order task").expect("create_order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_in_slices_closes_every_position_once_and_signals_go_on_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = loms_config::Settings::for_tests(dir.path());
    s.min_position_age = Duration::ZERO;
    let oms = Oms::start(s.clone(), Deps::from_settings(&s)).unwrap();
    open(&oms, 1_300).await;
    let sim = oms.simulator().unwrap();

    // Nothing moves: every position is looked at, none written.
    sim.pin(None, Decimal::from(100));
    let r = oms.auto_close_pass().await.unwrap();
    assert_eq!((r.open, r.checked, r.closed.len()), (1_300, 1_300, 0));

    // Every TP is hit: 1,300 closes in three slices, while a signal comes in.
    sim.pin(None, Decimal::from(111));
    let pass = tokio::spawn({
        let oms = oms.clone();
        async move { oms.auto_close_pass().await }
    });
    let body = br#"{"symbol": "NEWUSDT", "side": "long", "price": 111,
        "timestamp": "2025-12-01T10:05:00Z", "exchange": "bitget", "timeframe_min": 5,
        "strategy": "bounce_ema10_strict", "tp_pct": 4.5, "sl_pct": 1.5}"#;
    let answer = oms.handle_signal(body, None).await.unwrap();
    assert!(answer.risk_ok, "{answer:?}");
    let r = pass.await.unwrap().unwrap();
    let mut ids: Vec<i64> = r.closed.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1_300, "each position closed once");
    assert_eq!(r.closed_count, 1_300);
    assert!(
        r.closed
            .iter()
            .all(|p| p.close_price == Some(Decimal::from(111)))
    );
    let first = r.closed[0].closed_at;
    assert!(
        r.closed.iter().all(|p| p.closed_at == first),
        "every slice judges the prices at the time of the pass"
    );

    let closed = oms
        .positions(PositionFilter {
            status: Some(PositionStatus::Closed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(closed.len(), 1_300);
    let open_now = oms
        .positions(PositionFilter {
            status: Some(PositionStatus::Open),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        open_now.len(),
        1,
        "the signal's position: its TP and SL are away from 111"
    );
    oms.shutdown().await;
}
