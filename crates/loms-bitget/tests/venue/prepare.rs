//! A symbol prepared for its first entry: isolated margin and the leverage, asked of the
//! venue once per symbol; an open position does not stop it; a failure is retried.

use crate::execution::{entry, execution};
use loms_broker::{ExecError, ExecutionClient};
use loms_fake_bitget::{FakeBitget, Fault, Seen};
use serde_json::Value;

const LEVERAGE: &str = "/api/v2/mix/account/set-leverage";
const MARGIN: &str = "/api/v2/mix/account/set-margin-mode";

/// The requests on `path` so far.
fn sent(venue: &FakeBitget, path: &str) -> Vec<Seen> {
    venue
        .seen()
        .into_iter()
        .filter(|s| s.path == path)
        .collect()
}

#[test]
fn a_symbol_is_set_to_isolated_and_its_leverage_once() {
    let venue = FakeBitget::start();
    let ex = execution(&venue).with_leverage(5);
    assert_eq!(ex.leverage(), 5);
    ex.prepare("BTCUSDT").unwrap();
    ex.prepare("BTCUSDT").unwrap();
    let lev = sent(&venue, LEVERAGE);
    assert_eq!(lev.len(), 1, "asked once per symbol");
    assert_eq!(
        (&lev[0].json()["symbol"], &lev[0].json()["leverage"]),
        (&Value::from("BTCUSDT"), &Value::from("5"))
    );
    let margin = sent(&venue, MARGIN);
    assert_eq!(margin.len(), 1);
    assert_eq!(margin[0].json()["marginMode"], "isolated");
    assert!(
        margin[0].signed() && lev[0].signed(),
        "account settings are signed"
    );
    ex.prepare("ETHUSDT").unwrap();
    assert_eq!(sent(&venue, LEVERAGE).len(), 2, "each symbol once");
    assert_eq!(sent(&venue, MARGIN).len(), 2);

    // Without with_leverage: the least risk.
    let plain = execution(&venue);
    assert_eq!(plain.leverage(), loms_bitget::execution::DEFAULT_LEVERAGE);
    plain.prepare("BTCUSDT").unwrap();
    assert_eq!(
        sent(&venue, LEVERAGE).last().unwrap().json()["leverage"],
        "1"
    );
}

#[test]
fn an_open_position_keeps_an_isolated_symbol_prepared_and_a_crossed_one_refused() {
    let venue = FakeBitget::start();
    let before = execution(&venue);
    before.prepare("BTCUSDT").unwrap();
    assert_eq!(
        before.submit(&entry("Lt1-1-e")).status,
        loms_domain::OrderStatus::Filled
    );

    // A restarted process: the venue refuses the margin mode (45117), the symbol is
    // isolated already, so it is prepared and the leverage still set.
    let ex = execution(&venue).with_leverage(2);
    ex.prepare("BTCUSDT").unwrap();
    assert_eq!(sent(&venue, MARGIN).len(), 2);
    assert_eq!(sent(&venue, LEVERAGE).len(), 2);
    assert_eq!(sent(&venue, LEVERAGE)[1].json()["leverage"], "2");
    ex.prepare("BTCUSDT").unwrap();
    assert_eq!(sent(&venue, MARGIN).len(), 2, "prepared: not asked again");

    // Held in crossed margin by the position: refused, nothing cached, no leverage sent.
    venue.set_margin_mode("BTCUSDT", "crossed");
    let crossed = execution(&venue);
    for tries in 1..=2 {
        match crossed.prepare("BTCUSDT") {
            Err(ExecError::Refused(why)) => {
                assert!(why.contains("crossed") && why.contains("45117"), "{why}");
            }
            other => panic!("crossed margin must be refused: {other:?}"),
        }
        assert_eq!(sent(&venue, MARGIN).len(), 2 + tries, "asked again");
    }
    assert_eq!(sent(&venue, LEVERAGE).len(), 2);
}

#[test]
fn a_failed_preparation_is_retried_by_the_next_entry() {
    let venue = FakeBitget::start();
    let ex = execution(&venue);
    let contracts = |v: &FakeBitget| {
        v.seen()
            .iter()
            .filter(|s| s.path.ends_with("/market/contracts"))
            .count()
    };
    for tries in 1..=2 {
        let e = ex.prepare("NOSUCHUSDT").unwrap_err();
        assert!(
            matches!(&e, ExecError::Refused(m) if m.contains("no contract NOSUCHUSDT")),
            "{e:?}"
        );
        assert_eq!(contracts(&venue), tries, "not cached as prepared");
    }
    assert!(
        sent(&venue, MARGIN).is_empty(),
        "nothing set on an unknown symbol"
    );

    // The venue fails the leverage once: unavailable, then the next entry redoes it all.
    venue.fault_once(
        LEVERAGE,
        Fault::Reply(502, "<html>Bad gateway</html>".into()),
    );
    assert!(matches!(
        ex.prepare("BTCUSDT"),
        Err(ExecError::Unavailable(_))
    ));
    ex.prepare("BTCUSDT").unwrap();
    ex.prepare("BTCUSDT").unwrap();
    assert_eq!(sent(&venue, MARGIN).len(), 2);
    assert_eq!(sent(&venue, LEVERAGE).len(), 2);
}

#[test]
fn a_leverage_outside_the_contract_is_refused_before_anything_is_sent() {
    let venue = FakeBitget::start();
    let ex = execution(&venue).with_leverage(126);
    let e = ex.prepare("BTCUSDT").unwrap_err();
    assert_eq!(
        e,
        ExecError::Refused("leverage 126 is outside BTCUSDT's range 1..=125".into())
    );
    assert!(sent(&venue, MARGIN).is_empty() && sent(&venue, LEVERAGE).is_empty());
    let zero = execution(&venue).with_leverage(0);
    assert!(matches!(
        zero.prepare("ETHUSDT"),
        Err(ExecError::Refused(_))
    ));
}
