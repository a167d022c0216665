//! Ordered schema migrations on `PRAGMA user_version`. Never edit a past entry: append.

use crate::{Result, StorageError};
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // v1: signals (idempotency + outcome), orders, positions.
    "CREATE TABLE signals (
        id INTEGER PRIMARY KEY,
        idem_key TEXT NOT NULL UNIQUE,
        received_at TEXT NOT NULL,
        symbol TEXT NOT NULL,
        outcome TEXT NOT NULL,
        position_id INTEGER,
        payload TEXT NOT NULL,
        response TEXT NOT NULL
    );
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty TEXT NOT NULL,
        order_type TEXT NOT NULL,
        status TEXT NOT NULL,
        price TEXT NOT NULL,
        created_at TEXT NOT NULL,
        signal_id TEXT
    );
    CREATE TABLE positions (
        id INTEGER PRIMARY KEY,
        order_id INTEGER REFERENCES orders(id),
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty TEXT NOT NULL,
        entry_price TEXT NOT NULL,
        tp_price TEXT,
        sl_price TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        closed_at TEXT,
        close_price TEXT,
        pnl TEXT,
        auto_close_reason TEXT,
        exchange TEXT NOT NULL,
        market_type TEXT NOT NULL,
        account_label TEXT,
        external_order_id TEXT,
        external_position_ref TEXT,
        exit_strategy TEXT NOT NULL,
        dynamic_tp_price TEXT,
        dynamic_sl_price TEXT,
        max_favorable_move TEXT,
        exit_meta TEXT NOT NULL DEFAULT '{}',
        signal_id TEXT,
        strategy TEXT,
        timeframe_min INTEGER,
        fees TEXT NOT NULL DEFAULT '0',
        signal_price TEXT,
        signal_time TEXT
    );
    CREATE INDEX positions_status ON positions(status, id);
    CREATE INDEX positions_symbol ON positions(symbol, id);
    CREATE INDEX positions_closed_at ON positions(closed_at) WHERE status = 'closed';
    CREATE INDEX positions_created_at ON positions(created_at);",
    // v2: persistent operator state (trading mode of the kill switch).
    "CREATE TABLE kv_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );",
    // v3: partial closes (realised part of the PnL) and every fill of a position.
    "ALTER TABLE positions ADD COLUMN realized_pnl TEXT NOT NULL DEFAULT '0';
    CREATE TABLE fills (
        id INTEGER PRIMARY KEY,
        position_id INTEGER NOT NULL REFERENCES positions(id),
        kind TEXT NOT NULL,
        side TEXT NOT NULL,
        qty TEXT NOT NULL,
        price TEXT NOT NULL,
        fee TEXT NOT NULL,
        ts TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX fills_position ON fills(position_id);",
    // v4: fewer pages written per signal. These two indexes served only start-up scans
    // (closed trades and today's opens), which read the table once.
    "DROP INDEX positions_closed_at;
    DROP INDEX positions_created_at;",
    // v5: one page fewer per signal and per close. Nothing reads fills by position at
    // run time (they are the record of every fill, for reconciliation offline), and no
    // position row is ever deleted, so the foreign key never needs to search them.
    "DROP INDEX fills_position;",
    // v6: index the open positions only. A close then removes one index entry instead
    // of moving it, and the index stays as small as the book.
    "DROP INDEX positions_status;
    CREATE INDEX positions_open ON positions(id) WHERE status = 'open';",
    // v7: no index whose new entries land at random places. Each signal put one entry
    // into the idempotency keys' UNIQUE index and one into positions(symbol, id), both
    // at a spot set by the symbol, so nearly every signal dirtied two more pages: a
    // third of the bytes written per signal. The writer now finds a key through the
    // ids it keeps in memory (`SeenSignals` of loms-oms); a list filtered by symbol
    // reads the table newest first.
    "CREATE TABLE signals_v7 (
        id INTEGER PRIMARY KEY,
        idem_key TEXT NOT NULL,
        received_at TEXT NOT NULL,
        symbol TEXT NOT NULL,
        outcome TEXT NOT NULL,
        position_id INTEGER,
        payload TEXT NOT NULL,
        response TEXT NOT NULL
    );
    INSERT INTO signals_v7 (id, idem_key, received_at, symbol, outcome, position_id, payload, response)
        SELECT id, idem_key, received_at, symbol, outcome, position_id, payload, response FROM signals;
    DROP TABLE signals;
    ALTER TABLE signals_v7 RENAME TO signals;
    DROP INDEX positions_symbol;",
    // v8: a partial close no longer hides the size opened and the pieces closed. Each
    // row keeps its opened quantity and, in `closes`, every piece closed (see
    // `closes.rs`). An older row gets the quantity of its entry fill (else of its
    // entry order, else its own qty), and the partial and exit fills recorded since v3,
    // oldest first; a row closed before v3 (no fills) keeps an empty list. The index
    // on fills serves this backfill only: nothing reads fills by position at run time.
    "ALTER TABLE positions ADD COLUMN opened_qty TEXT;
    ALTER TABLE positions ADD COLUMN closes TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX fills_position_v8 ON fills(position_id, id);
    UPDATE positions SET opened_qty = COALESCE(
        (SELECT f.qty FROM fills f WHERE f.position_id = positions.id AND f.kind = 'entry'
         ORDER BY f.id LIMIT 1),
        (SELECT o.qty FROM orders o WHERE o.id = positions.order_id),
        positions.qty);
    UPDATE positions SET closes = (
        SELECT json_group_array(json_object('qty', f.qty, 'price', f.price, 'fee', f.fee,
            'reason', f.reason, 'closed_at', f.ts) ORDER BY f.id)
        FROM fills f WHERE f.position_id = positions.id AND f.kind IN ('partial', 'exit'))
    WHERE id IN (SELECT position_id FROM fills WHERE kind IN ('partial', 'exit'));
    DROP INDEX fills_position_v8;",
    // v9: the order lifecycle (issue 12). An order keeps its deterministic client order
    // id, its typed status (`OrderStatus`'s names; every older row says 'filled', which
    // is `OrderStatus::Filled`), the venue's order id and, for an exit, its position (an
    // entry's position points at it instead). A fill names its order and the venue's
    // trade id; an entry fill of an older row gets its position's order, an older exit
    // fill had no order row and keeps NULL, and no older fill has a trade id (NULL: they
    // were paper fills, made once, never looked up). The unique index keeps a fill from
    // being applied twice; it is keyed by the order id first, which only grows, so new
    // entries append at its end (v7's rule). The database's client id tag (8 random hex
    // digits) is made here, once: for a new database and for an existing one alike.
    "ALTER TABLE orders ADD COLUMN client_oid TEXT;
    ALTER TABLE orders ADD COLUMN exchange_order_id TEXT;
    ALTER TABLE orders ADD COLUMN position_id INTEGER;
    ALTER TABLE fills ADD COLUMN order_id INTEGER REFERENCES orders(id);
    ALTER TABLE fills ADD COLUMN trade_id TEXT;
    UPDATE fills SET order_id = (SELECT p.order_id FROM positions p WHERE p.id = fills.position_id)
    WHERE kind = 'entry';
    CREATE UNIQUE INDEX fills_trade ON fills(order_id, trade_id);
    INSERT OR IGNORE INTO kv_state (key, value, updated_at)
    VALUES ('client_oid_tag', hex(randomblob(4)), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));",
    // v10: live orders (issue 12). A client order id names one order only (the unique
    // index is also how a report finds its order); the orders whose outcome is not known
    // yet are found at start without reading every order; an exit keeps why it was sent
    // (its close reason), since its fill may come back after a restart.
    "CREATE UNIQUE INDEX orders_client_oid ON orders(client_oid) WHERE client_oid IS NOT NULL;
    CREATE INDEX orders_unresolved ON orders(id)
        WHERE status IN ('pending_submit', 'submitted', 'unknown');
    ALTER TABLE orders ADD COLUMN reason TEXT;",
    // v11: a position's orders and fills (`GET /positions/{id}/orders`) without reading
    // every order. Since v9 every order names its position; the index is keyed by the
    // position id, which grows with the order id for an entry (new entries append at
    // its end, v7's rule) and is a recent position's for an exit. The fills of an order
    // are found through `fills_trade` (order id first). Fills naming no order (exits
    // stored before v9) are found through a partial index that only rows older than v9
    // are in: a fill written now always names its order, so it costs no write.
    "CREATE INDEX orders_position ON orders(position_id) WHERE position_id IS NOT NULL;
    CREATE INDEX fills_unlinked ON fills(position_id) WHERE order_id IS NULL;",
    // v12: shadow vs live drift (issue 13). A live signal's position keeps the price the
    // paper broker would have filled its entry at when it was sent, so /stats can
    // compare the venue's fill with it. NULL for paper entries, operator orders and
    // every older row: they are not measured (no guess is backfilled).
    "ALTER TABLE positions ADD COLUMN paper_entry_price TEXT;",
];

/// Latest schema version this build knows.
pub(crate) const LATEST: u32 = MIGRATIONS.len() as u32;

/// Apply every migration the database has not seen yet, in one transaction.
pub(crate) fn apply(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > LATEST {
        return Err(StorageError::TooNew {
            found: current,
            known: LATEST,
        });
    }
    if current == LATEST {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        log::info!("Applying database migration v{}", i + 1);
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", LATEST)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at `version`, built by the migrations before it.
    fn at_version(version: usize) -> Connection {
        built(Connection::open_in_memory().unwrap(), version)
    }

    /// A database file at `path` at `version`, for a [`crate::Store`] to open after.
    fn file_at_version(path: &std::path::Path, version: usize) -> Connection {
        built(Connection::open(path).unwrap(), version)
    }

    fn built(conn: Connection, version: usize) -> Connection {
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn
    }

    /// A v8 database (orders and fills as every version before wrote them) becomes v9:
    /// every order reads back as filled with no client id, entry fills name their
    /// order, older fills have no trade id, and the client id tag is made once.
    #[test]
    fn v9_keeps_old_orders_and_fills_readable_and_makes_the_tag_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v8.db");
        let mut conn = file_at_version(&path, 8);
        conn.execute_batch(
            "INSERT INTO orders (id, symbol, side, qty, order_type, status, price, created_at, signal_id)
               VALUES (1, 'BTCUSDT', 'buy', '2', 'market', 'filled', '100', '2025-12-01T10:00:00.000000Z', 'k1');
             INSERT INTO positions (id, order_id, symbol, side, qty, entry_price, status,
                 created_at, exchange, market_type, exit_strategy, opened_qty)
               VALUES (1, 1, 'BTCUSDT', 'long', '0', '100', 'closed', '2025-12-01T10:00:00.000000Z', 'e', 'm', 's', '2');
             INSERT INTO fills (id, position_id, kind, side, qty, price, fee, ts, reason)
               VALUES (10, 1, 'entry', 'buy', '2', '100', '0.12', '2025-12-01T10:00:00.000000Z', NULL),
                      (11, 1, 'exit', 'sell', '2', '101', '0.12', '2025-12-01T10:01:00.000000Z', 'tp');",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let fills: Vec<(i64, Option<i64>, Option<String>)> = conn
            .prepare("SELECT id, order_id, trade_id FROM fills ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(fills, [(10, Some(1), None), (11, None, None)]);
        drop(conn);

        let store = crate::Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST);
        let orders = store.orders(None, None).unwrap();
        assert_eq!(orders.len(), 1);
        let o = &orders[0];
        assert_eq!(o.status, loms_domain::OrderStatus::Filled);
        assert_eq!(
            (o.client_oid.as_deref(), o.exchange_order_id.as_deref()),
            (None, None)
        );
        assert_eq!(
            (o.position_id, o.signal_id.as_deref()),
            (Some(1), Some("k1"))
        );
        let tag = store.client_oid_tag().unwrap();
        assert_eq!(tag.len(), 8, "{tag}");
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()), "{tag}");
        drop(store);
        let store = crate::Store::open(&path).unwrap();
        assert_eq!(store.client_oid_tag().unwrap(), tag, "made once, kept");
        let other = crate::Store::open_in_memory().unwrap();
        assert_ne!(
            other.client_oid_tag().unwrap(),
            tag,
            "each database has its own"
        );
    }

    /// A closed trade stored before v12 has no paper price: it reads back, and carries
    /// no shadow drift (nothing is guessed for it).
    #[test]
    fn v12_leaves_older_trades_without_a_paper_price() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.db");
        let mut conn = file_at_version(&path, 11);
        conn.execute_batch(
            "INSERT INTO positions (id, symbol, side, qty, entry_price, status, created_at,
                 closed_at, close_price, pnl, exchange, market_type, exit_strategy, opened_qty,
                 signal_price)
               VALUES (1, 'BTCUSDT', 'long', '1', '101', 'closed', '2025-12-01T10:00:00.000000Z',
                 '2025-12-01T11:00:00.000000Z', '102', '1', 'e', 'm', 's', '1', '100');",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        drop(conn);
        let store = crate::Store::open(&path).unwrap();
        let trades = store.closed_trades(&Default::default()).unwrap();
        assert_eq!(trades.len(), 1);
        assert_eq!(trades[0].entry_slippage_bps, Some(100.0));
        assert_eq!(trades[0].shadow_drift_bps, None);
        let p = store.position(1).unwrap().unwrap();
        assert_eq!(p.paper_entry_price, None);
    }

    #[test]
    fn v8_backfills_the_opened_qty_and_the_closed_pieces_of_older_rows() {
        let mut conn = at_version(7);
        conn.execute_batch(
            "INSERT INTO orders (id, symbol, side, qty, order_type, status, price, created_at)
               VALUES (1, 'BTCUSDT', 'buy', '2', 'market', 'filled', '100', 't'),
                      (2, 'BTCUSDT', 'buy', '1.5', 'market', 'filled', '100', 't');
             INSERT INTO positions (id, order_id, symbol, side, qty, entry_price, status,
                 created_at, exchange, market_type, exit_strategy)
               VALUES (1, 1, 'BTCUSDT', 'long', '0.5', '100', 'closed', 't', 'e', 'm', 's'),
                      (2, 2, 'BTCUSDT', 'long', '1.5', '100', 'closed', 't', 'e', 'm', 's'),
                      (3, NULL, 'BTCUSDT', 'long', '3', '100', 'open', 't', 'e', 'm', 's');
             INSERT INTO fills (id, position_id, kind, side, qty, price, fee, ts, reason)
               VALUES (10, 1, 'entry', 'buy', '2', '100', '0.12', '2025-12-01T10:00:00.000000Z', NULL),
                      (11, 3, 'entry', 'buy', '3', '100', '0', '2025-12-01T10:00:00.000000Z', NULL),
                      (12, 1, 'partial', 'sell', '1.5', '101.5', '0.09135', '2025-12-01T10:01:00.000000Z', 'tp'),
                      (13, 1, 'exit', 'sell', '0.5', '100', '0.03', '2025-12-01T10:02:00.000000Z', 'break_even');",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let rows: Vec<(i64, String, String)> = conn
            .prepare("SELECT id, opened_qty, closes FROM positions ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let pieces = crate::closes::parse(rows[0].2.as_bytes()).unwrap();
        assert_eq!(rows[0].1, "2", "the entry fill's quantity");
        assert_eq!(
            pieces
                .iter()
                .map(|p| format!("{}@{} {} {}", p.qty, p.price, p.fee, p.reason))
                .collect::<Vec<_>>(),
            ["1.5@101.5 0.09135 tp", "0.5@100 0.03 break_even"],
            "every piece, oldest first"
        );
        assert_eq!(
            pieces[1].closed_at.to_rfc3339(),
            "2025-12-01T10:02:00+00:00"
        );
        assert_eq!(
            (&rows[1].1[..], &rows[1].2[..]),
            ("1.5", "[]"),
            "no fills (before v3): the order's quantity, no pieces"
        );
        assert_eq!((&rows[2].1[..], &rows[2].2[..]), ("3", "[]"), "open");
        let indexes: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'fills_position_v8'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0, "the backfill's index is gone");
    }

    #[test]
    fn v7_keeps_every_signal_and_leaves_no_index_on_keys_or_symbols() {
        let mut conn = at_version(6);
        conn.execute(
            "INSERT INTO signals (id, idem_key, received_at, symbol, outcome, payload, response)
             VALUES (41, 'k', 't', 'BTCUSDT', 'opened', '{}', '{\"ok\":1}')",
            [],
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let v: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, LATEST);
        let row: (i64, String) = conn
            .query_row(
                "SELECT id, response FROM signals WHERE idem_key = 'k'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(row, (41, "{\"ok\":1}".to_string()));
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('signals', 'positions') ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(indexes, ["positions_open"]);
    }
}
