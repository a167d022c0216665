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

    #[test]
    fn v7_keeps_every_signal_and_leaves_no_index_on_keys_or_symbols() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
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
