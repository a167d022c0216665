//! The read side's tests: positions, orders, stats rows, JSON, bad rows.
use super::*;
use crate::{NewOrder, SignalRecord};
use chrono::{Duration, TimeZone, Utc};
use loms_domain::{ClientOid, DB_TAG_KEY};
use rust_decimal::dec;
use serde_json::json;

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 12, 1, 10, 5, 0).unwrap()
}

fn open_one(store: &mut Store, symbol: &str, signal: Option<&str>) -> i64 {
    let tx = store.transaction();
    let order_id = tx
        .insert_order(&NewOrder {
            symbol,
            side: "buy",
            qty: dec!(0.001),
            order_type: "market",
            status: loms_domain::OrderStatus::Filled,
            price: dec!(97250.5),
            created_at: t0(),
            signal_id: signal,
            client_oid: &crate::tx::tests::unique_client_oid(),
            exchange_order_id: None,
            position_id: None,
            reason: None,
        })
        .unwrap();
    let mut p = Position::open(symbol, Side::Long, dec!(0.001), dec!(97250.5), t0());
    p.order_id = Some(order_id);
    p.tp_price = Some(dec!(101626.7725));
    p.signal_id = signal.map(str::to_string);
    p.exit_meta.insert("k".into(), serde_json::json!(1));
    let id = tx.insert_position(&p).unwrap();
    tx.commit().unwrap();
    id
}

fn closed(
    p: &Position,
    price: Decimal,
    pnl: Decimal,
    at: Timestamp,
    reason: CloseReason,
) -> Position {
    let mut c = p.clone();
    c.status = PositionStatus::Closed;
    c.close_price = Some(price);
    c.pnl = Some(pnl);
    c.closed_at = Some(at);
    c.auto_close_reason = Some(reason);
    c
}

/// The piece the close of `c` (see [`closed`]) took: all that was left.
fn last_piece(c: &Position) -> ClosedPiece {
    ClosedPiece {
        qty: c.qty,
        price: c.close_price.unwrap(),
        fee: c.fees,
        reason: c.auto_close_reason.unwrap(),
        closed_at: c.closed_at.unwrap(),
    }
}

#[test]
fn position_round_trips_exactly() {
    let mut s = Store::open_in_memory().unwrap();
    let id = open_one(&mut s, "BTCUSDT", Some("sig-1"));
    let p = s.position(id).unwrap().unwrap();
    assert_eq!(p.entry_price, dec!(97250.5));
    assert_eq!(p.tp_price, Some(dec!(101626.7725)));
    assert_eq!(p.created_at, t0());
    assert_eq!(p.exit_meta["k"], 1);
    assert_eq!(p.status, PositionStatus::Open);
    let orders = s.orders(None, None).unwrap();
    assert_eq!(orders[0].position_id, Some(id));
    assert!(s.position(999).unwrap().is_none());
}

#[test]
fn close_filters_and_trades() {
    let mut s = Store::open_in_memory().unwrap();
    let a = open_one(&mut s, "BTCUSDT", Some("a"));
    let _b = open_one(&mut s, "ETHUSDT", None);
    let pa = s.position(a).unwrap().unwrap();
    let tx = s.transaction();
    let mut patch = closed(
        &pa,
        dec!(100000),
        dec!(2.7495),
        t0() + Duration::minutes(5),
        CloseReason::Tp,
    );
    // The writer closes from what it keeps in memory: no signal or order references.
    (patch.signal_id, patch.order_id, patch.exchange) = (None, None, String::new());
    (patch.opened_qty, patch.closes) = (Decimal::ZERO, Vec::new());
    let piece = last_piece(&patch);
    assert!(tx.close_position(&patch, &piece).unwrap());
    tx.read_references(&mut patch).unwrap();
    assert_eq!(
        (
            patch.signal_id.as_deref(),
            patch.order_id,
            patch.exchange.as_str(),
            patch.opened_qty,
            &patch.closes[..],
        ),
        (
            Some("a"),
            pa.order_id,
            "bitget",
            dec!(0.001),
            &[piece.clone()][..]
        ),
        "completed from the row"
    );
    assert!(
        !tx.close_position(&patch, &piece).unwrap(),
        "closing twice is a no-op"
    );
    tx.commit().unwrap();
    assert_eq!(s.open_positions().unwrap().len(), 1);
    let closed = s
        .positions(&PositionFilter {
            status: Some(PositionStatus::Closed),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].auto_close_reason, Some(CloseReason::Tp));
    let eth = s
        .positions(&PositionFilter {
            symbol: Some("ETHUSDT".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(eth.len(), 1);
    let page = s
        .positions(&PositionFilter {
            limit: Some(1),
            offset: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        page[0].id, a,
        "newest first, so the second row is the first position"
    );
    let trades = s.closed_trades(&TradeFilter::default()).unwrap();
    assert_eq!(trades[0].pnl, dec!(2.7495));
    let later = TradeFilter {
        since: Some(t0() + Duration::hours(1)),
        ..Default::default()
    };
    assert!(s.closed_trades(&later).unwrap().is_empty());
    assert_eq!(s.count_open(None).unwrap(), 1);
    assert_eq!(s.count_open(Some("BTCUSDT")).unwrap(), 0);
    let opens = s.signal_opens_since(t0()).unwrap();
    assert_eq!(opens.get("BTCUSDT"), Some(&1));
    assert_eq!(opens.get("ETHUSDT"), None, "manual orders do not count");
}

#[test]
fn policy_changes_and_fills_are_stored() {
    let mut s = Store::open_in_memory().unwrap();
    let id = open_one(&mut s, "BTCUSDT", None);
    let mut p = s.position(id).unwrap().unwrap();
    p.qty = dec!(0.0005);
    p.dynamic_sl_price = Some(dec!(97250.5));
    p.max_favorable_move = Some(dec!(1.25));
    p.realized_pnl = dec!(0.6);
    p.fees = dec!(0.05);
    p.exit_meta
        .insert("stop_kind".into(), serde_json::json!("break_even"));
    let piece = ClosedPiece {
        qty: dec!(0.0005),
        price: dec!(98466),
        fee: dec!(0.03),
        reason: CloseReason::Tp,
        closed_at: t0(),
    };
    let tx = s.transaction();
    tx.update_open_position(&p, Some(&piece)).unwrap();
    p.closes.push(piece);
    p.max_favorable_move = Some(dec!(1.5));
    tx.update_open_position(&p, None).unwrap();
    tx.insert_fill(&crate::FillRecord {
        position_id: id,
        kind: "partial",
        side: "sell",
        qty: dec!(0.0005),
        price: dec!(98466),
        fee: dec!(0.03),
        ts: t0(),
        reason: Some(CloseReason::Tp),
        order_id: 1,
        trade_id: "t1",
    })
    .unwrap();
    tx.commit().unwrap();
    assert_eq!(s.position(id).unwrap().unwrap(), p);
    let n: i64 = s
        .conn
        .query_row(
            "SELECT COUNT(*) FROM fills WHERE position_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn json_rows_match_serde_of_positions() {
    let mut s = Store::open_in_memory().unwrap();
    let a = open_one(&mut s, "BTCUSDT", Some("sig \"quoted\""));
    open_one(&mut s, "ETHUSDT", None);
    let pa = s.position(a).unwrap().unwrap();
    let tx = s.transaction();
    // Digits f64 cannot hold, and a whole number: written as stored, byte for byte.
    let mut c = closed(
        &pa,
        dec!(97250.123456789012345),
        dec!(-0.00125),
        t0() + Duration::milliseconds(450),
        CloseReason::Sl,
    );
    c.fees = dec!(0.0001);
    c.qty = dec!(0.0004);
    let partial = ClosedPiece {
        qty: dec!(0.0006),
        price: dec!(101.25),
        fee: dec!(0.00006),
        reason: CloseReason::Tp,
        closed_at: t0() + Duration::microseconds(1),
    };
    tx.update_open_position(&c, Some(&partial)).unwrap();
    tx.close_position(&c, &last_piece(&c)).unwrap();
    tx.commit().unwrap();
    for f in [
        PositionFilter::default(),
        PositionFilter {
            limit: Some(1),
            ..Default::default()
        },
    ] {
        let fast = String::from_utf8(s.positions_json(&f).unwrap()).unwrap();
        let slow = serde_json::to_string(&s.positions(&f).unwrap()).unwrap();
        assert_eq!(fast, slow);
    }
    let text = String::from_utf8(s.position_json(a).unwrap().unwrap()).unwrap();
    assert_eq!(
        text,
        serde_json::to_string(&s.position(a).unwrap().unwrap()).unwrap()
    );
    assert!(
        text.contains(r#""close_price":97250.123456789012345,"#),
        "{text}"
    );
    let one: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(one["closed_at"], "2025-12-01T10:05:00.450Z");
    assert_eq!(one["opened_qty"], json!(0.001));
    assert_eq!(one["qty"], json!(0.0004));
    assert!(
        text.ends_with(concat!(
            r#""closes":[{"qty":0.0006,"price":101.25,"fee":0.00006,"reason":"tp","#,
            r#""closed_at":"2025-12-01T10:05:00.000001Z"},{"qty":0.0004,"#,
            r#""price":97250.123456789012345,"fee":0.0001,"reason":"sl","#,
            r#""closed_at":"2025-12-01T10:05:00.450Z"}]}"#
        )),
        "{text}"
    );
    assert!(s.position_json(999).unwrap().is_none());
}

/// A row edited by hand never turns the fast list into invalid JSON: it is refused,
/// named, and the other rows read as before.
#[test]
fn a_row_edited_by_hand_is_refused_by_the_json_list_never_served_as_invalid_json() {
    let mut s = Store::open_in_memory().unwrap();
    let good = open_one(&mut s, "BTCUSDT", None);
    for (column, value) in [
        ("qty", "abc"),
        ("entry_price", "1e5"),
        ("entry_price", "12,5"),
        ("created_at", "2025-12-01 \"x\""),
        ("exit_meta", "{not json"),
    ] {
        let bad = open_one(&mut s, "ETHUSDT", None);
        s.conn
            .execute(
                &format!("UPDATE positions SET {column} = ?1 WHERE id = ?2"),
                rusqlite::params![value, bad],
            )
            .unwrap();
        let e = s.positions_json(&PositionFilter::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("positions row {bad}: {column} holds")),
            "{column}={value}: {e}"
        );
        assert!(s.position_json(bad).is_err());
        let one = s.position_json(good).unwrap().unwrap();
        serde_json::from_slice::<serde_json::Value>(&one).unwrap();
        s.conn
            .execute("DELETE FROM positions WHERE id = ?1", [bad])
            .unwrap();
    }
}

#[test]
fn the_json_list_in_pieces_joins_up_to_the_whole_and_stops_when_asked() {
    let mut s = Store::open_in_memory().unwrap();
    for i in 0..5 {
        open_one(&mut s, &format!("S{i}USDT"), None);
    }
    let f = PositionFilter::default();
    let whole = s.positions_json(&f).unwrap();
    let mut pieces = Vec::new();
    s.positions_json_chunks(&f, 100, |p, last| {
        assert_eq!(last, p == b"]");
        pieces.push(p);
        true
    })
    .unwrap();
    assert_eq!(
        pieces.len(),
        6,
        "one row (> 100 bytes) per piece, then the ]"
    );
    assert!(pieces[..5].iter().all(|p| p.len() >= 100));
    assert_eq!(pieces[5], b"]");
    assert_eq!(pieces.concat(), whole);
    let mut asked = 0;
    s.positions_json_chunks(&f, 100, |_, _| {
        asked += 1;
        false
    })
    .unwrap();
    assert_eq!(asked, 1, "nothing more once the reader went away");
}

#[test]
fn a_transaction_dropped_without_commit_writes_nothing() {
    let mut s = Store::open_in_memory().unwrap();
    {
        let tx = s.transaction();
        tx.insert_order(&NewOrder {
            symbol: "BTCUSDT",
            side: "buy",
            qty: dec!(1),
            order_type: "market",
            status: loms_domain::OrderStatus::Filled,
            price: dec!(1),
            created_at: t0(),
            signal_id: None,
            client_oid: &crate::tx::tests::unique_client_oid(),
            exchange_order_id: None,
            position_id: None,
            reason: None,
        })
        .unwrap();
    }
    assert!(s.orders(None, None).unwrap().is_empty());
    // And the connection is usable again.
    open_one(&mut s, "BTCUSDT", None);
    assert_eq!(s.orders(None, None).unwrap().len(), 1);
}

#[test]
fn savepoint_undoes_only_the_failed_part() {
    let mut s = Store::open_in_memory().unwrap();
    let rec = SignalRecord {
        idem_key: "k1",
        received_at: t0(),
        symbol: "BTCUSDT",
        outcome: "opened",
        position_id: None,
        payload: "{}",
        response: "{\"ok\":1}",
    };
    let tx = s.transaction();
    tx.atomic(|tx| tx.insert_signal(&rec)).unwrap();
    let failed: Result<i64> = tx.atomic(|tx| {
        tx.insert_signal(&SignalRecord {
            idem_key: "k2",
            ..rec.clone()
        })?;
        // No such row to stand for: the foreign key refuses it.
        tx.conn()?.execute("INSERT INTO positions (order_id, symbol, side, qty, entry_price, status, created_at, exchange, market_type, exit_strategy) VALUES (999, 'X', 'long', '1', '1', 'open', 't', 'e', 'm', 's')", [])?;
        Ok(0)
    });
    assert!(failed.is_err());
    assert_eq!(
        tx.signal_by_key("k1", 1)
            .unwrap()
            .map(|(_, r)| r)
            .as_deref(),
        Some("{\"ok\":1}")
    );
    assert_eq!(
        tx.signal_by_key("k2", 1).unwrap(),
        None,
        "rolled back with its savepoint"
    );
    tx.set_state("mode", "entries_off", t0()).unwrap();
    tx.set_state("mode", "active", t0()).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.state("mode").unwrap().as_deref(), Some("active"));
    assert_eq!(s.state("other").unwrap(), None);
}

/// The tag is read back as `ClientOid::derive` would check it: a row edited by
/// hand is refused clearly instead of producing ids the venue would refuse.
#[test]
fn a_missing_or_malformed_client_id_tag_is_refused() {
    let s = Store::open_in_memory().unwrap();
    assert!(ClientOid::check_tag(&s.client_oid_tag().unwrap()).is_ok());
    for bad in ["a-b", "", "123456789"] {
        s.conn
            .execute(
                "UPDATE kv_state SET value = ?1 WHERE key = ?2",
                [bad, DB_TAG_KEY],
            )
            .unwrap();
        let err = s.client_oid_tag().unwrap_err().to_string();
        assert!(err.contains("1 to 8 letters or digits"), "{bad:?}: {err}");
    }
    s.conn
        .execute("DELETE FROM kv_state WHERE key = ?1", [DB_TAG_KEY])
        .unwrap();
    assert!(
        s.client_oid_tag()
            .unwrap_err()
            .to_string()
            .contains("client_oid_tag")
    );
}

#[test]
fn file_database_is_created_with_its_folder_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/loms.db");
    let mut s = Store::open(&path).unwrap();
    let id = open_one(&mut s, "BTCUSDT", None);
    drop(s);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 12);
    let r = Store::open_reader(&path).unwrap();
    assert_eq!(r.position(id).unwrap().unwrap().symbol, "BTCUSDT");
    let mode: String = s
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn open_positions_are_found_through_their_partial_index() {
    let s = Store::open_in_memory().unwrap();
    let plan = |sql: &str, args: Vec<SqlValue>| -> String {
        let mut stmt = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = stmt
            .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    let (sql, args) = position_query(&PositionFilter {
        status: Some(PositionStatus::Open),
        limit: Some(100),
        ..Default::default()
    });
    assert!(
        plan(&sql, args).contains("positions_open"),
        "GET /positions/?status=open"
    );
    let count =
        "SELECT COUNT(*) FROM positions WHERE status = 'open' AND (?1 IS NULL OR symbol = ?1)";
    assert!(
        plan(count, vec![SqlValue::Null]).contains("positions_open"),
        "count_open"
    );
}

#[test]
fn deferred_sync_needs_a_wal_and_syncs_it() {
    let err = Store::open_in_memory()
        .unwrap()
        .defer_wal_sync()
        .unwrap_err();
    assert!(err.to_string().contains("not wal"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loms.db");
    let mut s = Store::open(&path).unwrap();
    let wal = s.defer_wal_sync().unwrap();
    let sync: i64 = s
        .conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 1, "NORMAL: commits no longer sync by themselves");
    let id = open_one(&mut s, "BTCUSDT", None);
    wal.sync().unwrap();
    assert!(
        std::fs::metadata(dir.path().join("loms.db-wal"))
            .unwrap()
            .len()
            > 0
    );
    let r = Store::open_reader(&path).unwrap();
    assert!(r.position(id).unwrap().is_some());
}

#[test]
fn the_deferred_sync_flushes_the_wal_sqlite_writes_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("data");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("loms.db");
    std::os::unix::fs::symlink(real.join("loms.db"), &link).unwrap();
    let s = Store::open(&link).unwrap();
    let wal = s.defer_wal_sync().unwrap();
    assert_eq!(
        wal.path.canonicalize().unwrap(),
        real.join("loms.db-wal").canonicalize().unwrap(),
        "the WAL sits next to the file the link points to"
    );
}

#[test]
fn a_full_checkpoint_lets_the_next_transaction_start_the_wal_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loms.db");
    let mut s = Store::open(&path).unwrap();
    s.disable_auto_checkpoint().unwrap();
    for _ in 0..20 {
        open_one(&mut s, "BTCUSDT", None);
    }
    let before = s.checkpoint().unwrap();
    assert!(before.wal_frames >= 20, "{before:?}");
    assert_eq!(before.left, 0, "no reader holds a frame back");
    let wal_len = std::fs::metadata(dir.path().join("loms.db-wal"))
        .unwrap()
        .len();
    open_one(&mut s, "ETHUSDT", None);
    let after = s.checkpoint().unwrap();
    assert!(after.wal_frames < 10, "the WAL started over: {after:?}");
    let len = std::fs::metadata(dir.path().join("loms.db-wal"))
        .unwrap()
        .len();
    assert_eq!(len, wal_len, "the file is overwritten in place, not grown");
}
