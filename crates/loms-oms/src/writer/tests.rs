use super::batch::CALM_BATCHES;
use super::*;
use loms_domain::{ManualClock, Side};
use std::sync::atomic::{AtomicBool, Ordering};

fn writer() -> Writer {
    writer_on(Store::open_in_memory().unwrap())
}

pub(super) fn writer_on(store: Store) -> Writer {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let book = Book::load(&store, clock.now(), true, chrono::Duration::days(7)).unwrap();
    let ctx = crate::replay::offline_ctx(
        &crate::Settings::for_tests(std::path::Path::new("/nonexistent")),
        clock,
        &book,
        store.client_oid_tag().unwrap(),
    );
    Writer::new(store, book, ctx)
}

/// An order command for `symbol`, and where its answer arrives.
fn order_cmd(symbol: &str) -> (Cmd, oneshot::Receiver<Result<Position, OmsError>>) {
    let (reply, rx) = oneshot::channel();
    let order = ManualOrder {
        symbol: symbol.into(),
        side: Side::Long,
        qty: Decimal::ONE,
        entry_price: Decimal::ONE_HUNDRED,
        tp_price: None,
        sl_price: None,
        order_type: "market".into(),
    };
    (
        Cmd::Write(Write::Order {
            order,
            tick: None,
            reply,
        }),
        rx,
    )
}

pub(super) fn order(w: &mut Writer) -> Result<Position, OmsError> {
    let (cmd, mut rx) = order_cmd("BTCUSDT");
    w.process(vec![cmd]);
    rx.try_recv().expect("answered")
}

/// A writer on a file where inserting a `table` row for symbol FAILUSDT fails, as a
/// failing disk would; the directory and the file's path come along.
fn writer_failing_on(table: &str) -> (tempfile::TempDir, std::path::PathBuf, Writer) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loms.db");
    let w = writer_on(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TRIGGER fail BEFORE INSERT ON {table} WHEN NEW.symbol = 'FAILUSDT'
             BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;"
        ))
        .unwrap();
    (dir, path, w)
}

#[test]
fn a_command_that_fails_before_writing_anything_fails_alone() {
    // The first write of the order fails: nothing of it was stored.
    let (_dir, _, mut w) = writer_failing_on("orders");
    let cmds = ["BTCUSDT", "FAILUSDT", "ETHUSDT"].map(order_cmd);
    let (cmds, mut answers): (Vec<_>, Vec<_>) = cmds.into_iter().unzip();
    w.process(cmds);
    let answers: Vec<_> = answers
        .iter_mut()
        .map(|rx| rx.try_recv().expect("answered"))
        .collect();
    assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
    assert!(matches!(&answers[1], Err(OmsError::Storage(m)) if m.contains("disk trouble")));
    assert_eq!(w.store.count_open(None).unwrap(), 2);
    assert_eq!(w.book.open.len(), 2);
}

#[test]
fn a_storage_error_inside_a_command_rolls_the_whole_batch_back() {
    // The disk "fails" on the position row of one order: after its order row was
    // written, so only rolling back keeps a half-written order out of the database.
    let (_dir, path, mut w) = writer_failing_on("positions");
    let cmds = ["BTCUSDT", "FAILUSDT", "ETHUSDT", "SOLUSDT"].map(order_cmd);
    let (cmds, mut answers): (Vec<_>, Vec<_>) = cmds.into_iter().unzip();
    w.process(cmds);
    for (i, rx) in answers.iter_mut().enumerate() {
        let err = rx.try_recv().expect("answered").unwrap_err();
        assert!(
            matches!(&err, OmsError::Storage(m) if m.contains("disk trouble")),
            "order {i}: {err}"
        );
    }
    assert_eq!(w.store.count_open(None).unwrap(), 0, "no position stored");
    assert!(w.book.open.is_empty(), "the book follows the database");
    let orders: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orders, 0, "no order row without its position");
    // The next batch is not affected.
    let (cmd, mut rx) = order_cmd("BTCUSDT");
    w.process(vec![cmd]);
    assert_eq!(rx.try_recv().unwrap().unwrap().symbol, "BTCUSDT");
    assert_eq!(w.book.open.len(), 1);
}

/// A signal command for BTCUSDT under idempotency key `key`.
fn signal_cmd(key: &str) -> (Cmd, oneshot::Receiver<Result<super::Accepted, OmsError>>) {
    let (reply, rx) = oneshot::channel();
    let signal = Signal {
        symbol: "BTCUSDT".into(),
        side: Side::Long,
        price: Decimal::ONE_HUNDRED,
        timestamp: chrono::Utc::now(),
        exchange: "bitget".into(),
        timeframe_min: 5,
        strategy: "bounce_ema10".into(),
        tp_pct: Decimal::ONE,
        sl_pct: Decimal::ONE,
        signal_id: Some(key.into()),
        qty: Some(Decimal::ONE),
        exit_strategy: None,
    };
    let w = Write::Signal {
        signal: Box::new(signal),
        key: key.into(),
        payload_text: "{}".into(),
        entry: EntryQuote::SignalPrice,
        reply,
    };
    (Cmd::Write(w), rx)
}

#[test]
fn a_signal_of_a_rolled_back_batch_is_new_when_it_comes_again() {
    let (_dir, _, mut w) = writer_failing_on("positions");
    let (signal, mut first) = signal_cmd("k1");
    let (fail, _) = order_cmd("FAILUSDT");
    w.process(vec![signal, fail]);
    assert!(
        first.try_recv().unwrap().is_err(),
        "rolled back with its batch"
    );
    let (signal, mut again) = signal_cmd("k1");
    w.process(vec![signal]);
    let a = again.try_recv().unwrap().unwrap();
    assert!(a.answer.risk_ok && !a.answer.duplicate, "{a:?}");
    let (signal, mut third) = signal_cmd("k1");
    w.process(vec![signal]);
    assert!(third.try_recv().unwrap().unwrap().answer.duplicate);
}

/// Frames in the WAL of a file database after `orders` orders sent one at a time
/// to a running writer whose checkpoint thread has (`asked`) or has not asked it to
/// start the WAL over.
fn wal_frames_after(orders: usize, asked: bool) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loms.db");
    let store = Store::open(&path).unwrap();
    store.disable_auto_checkpoint().unwrap();
    let wal = store.defer_wal_sync().unwrap();
    let w = writer_on(store);
    let restart = Arc::new(AtomicBool::new(asked));
    let (tx, rx) = std::sync::mpsc::channel();
    let flag = restart.clone();
    let thread = std::thread::spawn(move || w.run(rx, Some(wal), Some(flag)));
    for _ in 0..orders {
        let (cmd, answer) = order_cmd("BTCUSDT");
        tx.send(cmd).unwrap();
        answer.blocking_recv().unwrap().unwrap();
    }
    assert!(!restart.load(Ordering::Acquire), "the writer did it");
    let frames = Store::open(&path).unwrap().checkpoint().unwrap().wal_frames;
    tx.send(Cmd::Stop).unwrap();
    thread.join().unwrap();
    frames
}

#[test]
fn a_calm_writer_asked_to_start_the_wal_over_does() {
    let orders = CALM_BATCHES as usize + 4;
    let grown = wal_frames_after(orders, false);
    let restarted = wal_frames_after(orders, true);
    // Started over after CALM_BATCHES orders: only the last few are in the WAL.
    assert!(
        restarted * 4 < grown,
        "restarted {restarted}, grown {grown}"
    );
}

#[test]
fn a_storage_error_in_a_pass_fails_it_and_undoes_its_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loms.db");
    let mut w = writer_on(Store::open(&path).unwrap());
    let mut market = Market::new();
    for symbol in ["BTCUSDT", "FAILUSDT"] {
        let (reply, mut rx) = oneshot::channel();
        let order = ManualOrder {
            symbol: symbol.into(),
            side: Side::Long,
            qty: Decimal::ONE,
            entry_price: Decimal::ONE_HUNDRED,
            tp_price: Some(Decimal::from(110)),
            sl_price: None,
            order_type: "market".into(),
        };
        w.process(vec![Cmd::Write(Write::Order {
            order,
            tick: None,
            reply,
        })]);
        rx.try_recv().unwrap().unwrap();
        let price = Decimal::from(120);
        let quote = PriceQuote::flat(symbol, price, w.ctx.clock.now());
        let tick = Tick {
            price,
            quote,
            bar: None,
            bar_start: None,
        };
        market.insert(symbol.into(), tick);
    }
    let pass = |w: &mut Writer| {
        let (reply, mut rx) = oneshot::channel();
        w.process(vec![Cmd::Write(Write::Pass {
            market: market.clone(),
            at: Some(w.ctx.clock.now() + chrono::Duration::hours(1)),
            reply,
            progress: None,
            keep_closed: false,
        })]);
        rx.try_recv().expect("answered")
    };
    // The close of the second position fails, after the first one was written.
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TRIGGER fail BEFORE UPDATE ON positions WHEN NEW.symbol = 'FAILUSDT'
         BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;",
    )
    .unwrap();
    let err = pass(&mut w).unwrap_err();
    assert!(
        matches!(&err, OmsError::Storage(m) if m.contains("disk trouble")),
        "{err}"
    );
    assert_eq!(
        w.store.count_open(None).unwrap(),
        2,
        "the first close is undone"
    );
    assert_eq!(w.book.open.len(), 2, "the book follows the database");
    db.execute_batch("DROP TRIGGER fail").unwrap();
    let report = pass(&mut w).unwrap();
    assert_eq!(report.closed_count, 2, "the next pass closes both");
    assert_eq!(w.store.count_open(None).unwrap(), 0);
}

#[test]
fn a_flatten_step_after_the_mode_changed_closes_nothing() {
    let mut w = writer();
    order(&mut w).unwrap();
    let price = Decimal::ONE_HUNDRED;
    let tick = Tick {
        price,
        quote: PriceQuote::flat("BTCUSDT", price, w.ctx.clock.now()),
        bar: None,
        bar_start: None,
    };
    let (reply, mut rx) = oneshot::channel();
    w.process(vec![Cmd::Write(Write::CloseAll {
        market: Market::from([("BTCUSDT".to_string(), tick)]),
        reason: CloseReason::Panic,
        reply,
        only_in_flatten: true,
    })]);
    let r = rx.try_recv().unwrap();
    assert!(matches!(r, Err(OmsError::WrongMode(_))), "{r:?}");
    assert_eq!(w.store.count_open(None).unwrap(), 1);
}

#[test]
fn after_a_failed_flush_every_write_is_refused_and_nothing_changes() {
    let mut w = writer();
    assert!(order(&mut w).is_ok(), "a healthy writer opens the position");
    w.ctx.failure.set("Input/output error (os error 5)".into());
    let err = order(&mut w).unwrap_err();
    assert!(
        matches!(&err, OmsError::Storage(m) if m.contains("restarted")),
        "{err}"
    );
    let (reply, mut rx) = oneshot::channel();
    w.process(vec![Cmd::Write(Write::SetTrading {
        mode: TradingMode::ReduceOnly,
        set_by: "test".into(),
        reply,
    })]);
    assert!(rx.try_recv().unwrap().is_err());
    assert_eq!(w.book.open.len(), 1);
    assert_eq!(w.store.count_open(None).unwrap(), 1, "nothing more stored");
    assert_eq!(w.book.trading.mode, TradingMode::Active);
}

/// A venue comparison made before LOMS opened (or sent) something on the symbol no
/// longer describes it: its difference there is dropped; one that still does is kept.
#[test]
fn a_venue_difference_about_a_state_that_changed_since_is_dropped() {
    let mut w = writer();
    let p = order(&mut w).unwrap();
    let check = |ids: Vec<i64>| {
        let (reply, rx) = oneshot::channel();
        let found = crate::venue_check::Found {
            key: "venue:test".into(),
            closed: Vec::new(),
            mismatches: vec![crate::venue_check::Mismatch {
                key: "venue:BTCUSDT".into(),
                why: "sizes differ".into(),
                compared: Some(("BTCUSDT".into(), ids)),
            }],
            full: None,
        };
        (Cmd::Write(Write::VenueCheck { found, reply }), rx)
    };
    let (stale, mut rx) = check(Vec::new());
    w.process(vec![stale]);
    rx.try_recv().unwrap().unwrap();
    assert!(w.book.doubts.is_empty(), "{:?}", w.book.doubts);
    let (current, mut rx) = check(vec![p.id]);
    w.process(vec![current]);
    rx.try_recv().unwrap().unwrap();
    assert_eq!(
        w.book.doubts.get("venue:BTCUSDT").map(String::as_str),
        Some("sizes differ")
    );
}
