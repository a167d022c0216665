//! Shadow vs live drift: each live entry keeps the paper fill the same signal would
//! have had when it was sent, and /stats shows how far the venue's fill was from it.

use super::{execution, settings, signal, start_with, venue};
use loms_domain::{CloseReason, OrderStatus, PositionStatus, Side, math::shadow_drift_bps};
use loms_fake_bitget::FakeBitget;
use loms_oms::{Deps, Oms, OmsError};
use loms_price_source::{PriceSource, QuoteBatch};
use rust_decimal::Decimal;
use rust_decimal::dec;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The venue's ticker, after which the market moves once (when armed): the entry is
/// quoted at one price and fills at another.
#[derive(Debug)]
struct MovesAfterQuote {
    inner: Arc<dyn PriceSource>,
    venue: Arc<FakeBitget>,
    /// Where BTCUSDT's mark goes after the next quote.
    next_mark: Arc<Mutex<Option<Decimal>>>,
}

impl PriceSource for MovesAfterQuote {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn quotes(&self, symbols: &[String]) -> QuoteBatch {
        let q = self.inner.quotes(symbols);
        if let Some(mark) = self.next_mark.lock().unwrap().take() {
            self.venue.set_mark("BTCUSDT", mark);
        }
        q
    }

    fn quotes_entries(&self) -> bool {
        self.inner.quotes_entries()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_fill_is_measured_against_the_paper_fill_of_the_same_quote() {
    let dir = tempfile::tempdir().unwrap();
    let v = Arc::new(venue());
    let mut s = settings(dir.path(), &v);
    s.slippage_bps = dec!(2);
    let next_mark = Arc::new(Mutex::new(None));
    let mut deps = Deps::from_settings(&s);
    deps.prices = Arc::new(MovesAfterQuote {
        inner: deps.prices.clone(),
        venue: v.clone(),
        next_mark: next_mark.clone(),
    });
    deps.execution = Arc::new(execution(&v));
    let oms = Oms::start(s.clone(), deps).unwrap();

    // Quoted at 64,210 (bid 64,209.9, ask 64,210.1); the market is at 64,300 when the
    // order reaches the venue, which fills at its mark.
    *next_mark.lock().unwrap() = Some(dec!(64300));
    let a = oms
        .handle_signal(&signal("s1", "0.001"), None)
        .await
        .unwrap();
    assert_eq!(a.order_status, Some(OrderStatus::Filled), "{a:?}");
    assert_eq!(a.entry_price, Some(dec!(64300)));
    let p = oms.position(1).await.unwrap().unwrap();
    assert_eq!(p.entry_price, dec!(64300));
    // Paper would have bought at the quote's ask + 2 bps: 64,210.1 × 1.0002.
    assert_eq!(p.paper_entry_price, Some(dec!(64222.94202)));

    let c = oms.close_position(1, CloseReason::Manual).await.unwrap();
    assert_eq!(c.status, PositionStatus::Closed, "{c:?}");
    assert_eq!(c.paper_entry_price, Some(dec!(64222.94202)));
    // (64,300 − 64,222.94202) / 64,222.94202 × 10,000 = 11.9985 bps worse than paper.
    let drift = shadow_drift_bps(Side::Long, dec!(64222.94202), dec!(64300)).unwrap();
    assert!((drift - 11.9985).abs() < 1e-3, "{drift}");
    let stats = oms.stats(Default::default()).await.unwrap();
    let d = stats.shadow_drift_bps.expect("one live trade measured");
    assert_eq!((d.trades, d.avg, d.max), (1, 12.0, 12.0), "{stats:?}");
    // From the signal's own price the slippage is bigger: the spread and the move.
    assert_eq!(stats.entry_slippage_bps.map(|e| e.max), Some(14.02));
    oms.shutdown().await;

    // Read back from the database at the next start, the same figure.
    let oms = start_with(&s, Arc::new(execution(&v)));
    let again = oms.stats(Default::default()).await.unwrap();
    assert_eq!(again.shadow_drift_bps, stats.shadow_drift_bps);
    oms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_order_has_no_paper_price_and_is_not_measured() {
    let dir = tempfile::tempdir().unwrap();
    let v = venue();
    let s = settings(dir.path(), &v);
    let oms = start_with(&s, Arc::new(execution(&v)));
    let order = serde_json::json!({
        "symbol": "BTCUSDT", "side": "long", "qty": "0.001", "entry_price": "64210"
    });
    let p = oms.create_order(&order).await.unwrap();
    assert_eq!(p.paper_entry_price, None);
    // Its entry is answered before it fills: closed once it has.
    let mut closed = None;
    for _ in 0..100 {
        match oms.close_position(p.id, CloseReason::Manual).await {
            Ok(c) => {
                closed = Some(c);
                break;
            }
            Err(OmsError::Busy(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("{e}"),
        }
    }
    let c = closed.expect("the entry filled");
    assert_eq!(c.status, PositionStatus::Closed, "{c:?}");
    let stats = oms.stats(Default::default()).await.unwrap();
    assert_eq!((stats.closed_positions, stats.shadow_drift_bps), (1, None));
    oms.shutdown().await;
}
