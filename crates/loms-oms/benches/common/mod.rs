//! Set-up shared by the LOMS benches: an OMS on a temporary database, seeded through
//! its public API (open positions) or straight into SQLite (closed history).
#![allow(dead_code)] // each bench uses a part of this module

use loms_config::Settings;
use loms_domain::{CloseReason, Decimal, Position, PositionStatus, Side, Timestamp};
use loms_oms::{Deps, Oms};
use loms_storage::{NewOrder, Store};
use std::path::Path;
use std::time::Duration;

/// Symbols `S000USDT` ... of the benches.
pub(crate) fn symbol(i: usize) -> String {
    format!("S{i:03}USDT")
}

/// The runtime `loms-server` uses: multi-threaded, one worker per core.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Test settings on `dir` with no minimum position age and a fixed simulator seed.
pub(crate) fn settings(dir: &Path) -> Settings {
    let mut s = Settings::for_tests(dir);
    s.min_position_age = Duration::ZERO;
    s.sim_seed = Some(7);
    s
}

/// Start an OMS on the database of `settings(dir)` (created or reopened).
pub(crate) fn start(dir: &Path) -> Oms {
    let s = settings(dir);
    let deps = Deps::from_settings(&s);
    Oms::start(s, deps).expect("Oms::start")
}

/// Open `per_symbol` long positions (entry 100, TP 110, SL 90) on each of `symbols`
/// through `Oms::create_order` (what `POST /orders/` does), all concurrently so the
/// writer groups them.
pub(crate) async fn open_positions(oms: &Oms, symbols: &[String], per_symbol: usize) {
    let mut set = tokio::task::JoinSet::new();
    for sym in symbols {
        for _ in 0..per_symbol {
            let oms = oms.clone();
            let body = serde_json::json!({"symbol": sym, "side": "buy", "qty": "0.1",
                "entry_price": "100", "tp_price": "110", "sl_price": "90"});
            set.spawn(async move { oms.create_order(&body).await });
        }
    }
    while let Some(r) = set.join_next().await {
        r.expect("order task").expect("create_order");
    }
}

/// Write `n` closed positions (with their orders) over `symbols` straight into the
/// database at `path`, in one transaction, before any OMS opens it. Close times are
/// spread over the 100 days before `now`; PnL alternates wins and losses.
pub(crate) fn seed_closed(path: &Path, n: usize, symbols: usize, now: Timestamp) {
    let mut store = Store::open(path).expect("Store::open");
    let tx = store.transaction();
    let minutes = 100 * 24 * 60;
    for i in 0..n {
        let sym = symbol(i % symbols);
        let closed_at = now - chrono::Duration::minutes((minutes * (n - i) / n) as i64);
        let opened_at = closed_at - chrono::Duration::minutes(37);
        let entry = Decimal::new(10_000 + (i % 500) as i64, 2);
        let side = if i % 3 == 0 { Side::Short } else { Side::Long };
        let win = i % 5 < 3;
        let order_id = tx
            .insert_order(&NewOrder {
                symbol: &sym,
                side: if side == Side::Long { "buy" } else { "sell" },
                qty: Decimal::new(1, 1),
                order_type: "market",
                status: loms_domain::OrderStatus::Filled,
                price: entry,
                created_at: opened_at,
                signal_id: None,
                client_oid: &format!("Lbench-{i}-e"),
                exchange_order_id: None,
                position_id: None,
                reason: None,
            })
            .expect("insert_order");
        let mut p = Position::open(sym, side, Decimal::new(1, 1), entry, opened_at);
        p.order_id = Some(order_id);
        p.tp_price = Some(entry * Decimal::new(1045, 3));
        p.sl_price = Some(entry * Decimal::new(985, 3));
        p.status = PositionStatus::Closed;
        p.closed_at = Some(closed_at);
        p.close_price = Some(if win {
            entry + Decimal::ONE
        } else {
            entry - Decimal::ONE
        });
        p.pnl = Some(if win {
            Decimal::new(45, 2)
        } else {
            Decimal::new(-15, 2)
        });
        p.auto_close_reason = Some(if win {
            CloseReason::Tp
        } else {
            CloseReason::Sl
        });
        p.fees = Decimal::new(12, 3);
        p.strategy = Some("bounce_ema10_strict".into());
        p.timeframe_min = Some(5);
        tx.insert_position(&p).expect("insert_position");
    }
    tx.commit().expect("commit");
}
