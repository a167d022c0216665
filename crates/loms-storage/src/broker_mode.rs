//! The broker mode a database is for (`kv_state` key [`BROKER_MODE_KEY`]): paper and
//! live never share a database, so a paper history can never be mistaken for the
//! account's, nor a live one be continued on paper.

use crate::codec::ts;
use crate::{Result, StorageError, Store};
use loms_domain::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::fmt;

/// The `kv_state` key of the broker mode a database is for.
pub const BROKER_MODE_KEY: &str = "broker_mode";

/// Where the orders of a database went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbBrokerMode {
    /// The paper broker (simulated fills).
    Paper,
    /// A real venue.
    Live,
}

impl DbBrokerMode {
    /// `paper` or `live`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DbBrokerMode::Paper => "paper",
            DbBrokerMode::Live => "live",
        }
    }

    fn parse(v: &str) -> Result<Self> {
        match v {
            "paper" => Ok(DbBrokerMode::Paper),
            "live" => Ok(DbBrokerMode::Live),
            other => Err(StorageError::Corrupt(format!(
                "kv_state {BROKER_MODE_KEY} is {other:?}, not paper or live"
            ))),
        }
    }
}

impl fmt::Display for DbBrokerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mode of the database behind `conn`: the recorded one; paper when none is
/// recorded but it holds positions or signals (made before the record existed, when
/// only paper trading was possible); `None` for a database nothing was written to.
fn read(conn: &rusqlite::Connection) -> Result<Option<DbBrokerMode>> {
    let recorded: Option<String> = conn
        .prepare_cached("SELECT value FROM kv_state WHERE key = ?1")?
        .query_row([BROKER_MODE_KEY], |r| r.get(0))
        .optional()?;
    if let Some(v) = recorded {
        return DbBrokerMode::parse(&v).map(Some);
    }
    let used: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM positions) OR EXISTS (SELECT 1 FROM signals)",
        [],
        |r| r.get(0),
    )?;
    Ok(used.then_some(DbBrokerMode::Paper))
}

impl Store {
    /// The broker mode this database is for: the recorded one, paper for a database
    /// that holds positions or signals but no record (older than the record), `None`
    /// for a database never used.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or an unknown recorded value.
    pub fn broker_mode(&self) -> Result<Option<DbBrokerMode>> {
        read(&self.conn)
    }

    /// Record `mode` as this database's broker mode, in one transaction, unless it is
    /// for the other mode. Returns the mode the database is for after the call: `mode`,
    /// or the other one (nothing written) — the caller refuses to start then.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or an unknown recorded value.
    pub fn record_broker_mode(
        &mut self,
        mode: DbBrokerMode,
        now: Timestamp,
    ) -> Result<DbBrokerMode> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = read(&tx)?;
        if let Some(other) = current.filter(|m| *m != mode) {
            return Ok(other);
        }
        tx.execute(
            "INSERT OR IGNORE INTO kv_state (key, value, updated_at) VALUES (?1, ?2, ?3)",
            params![BROKER_MODE_KEY, mode.as_str(), ts(now)],
        )?;
        tx.commit()?;
        Ok(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_new_database_takes_the_first_mode_and_keeps_it() {
        for (first, other) in [
            (DbBrokerMode::Paper, DbBrokerMode::Live),
            (DbBrokerMode::Live, DbBrokerMode::Paper),
        ] {
            let mut s = Store::open_in_memory().unwrap();
            assert_eq!(s.broker_mode().unwrap(), None);
            assert_eq!(s.record_broker_mode(first, Utc::now()).unwrap(), first);
            assert_eq!(s.broker_mode().unwrap(), Some(first));
            assert_eq!(
                s.state(BROKER_MODE_KEY).unwrap().as_deref(),
                Some(first.as_str())
            );
            // Again: nothing changes; the other mode is answered with the recorded one.
            assert_eq!(s.record_broker_mode(first, Utc::now()).unwrap(), first);
            assert_eq!(s.record_broker_mode(other, Utc::now()).unwrap(), first);
            assert_eq!(s.broker_mode().unwrap(), Some(first));
        }
    }

    #[test]
    fn a_used_database_without_a_record_is_paper() {
        let mut s = Store::open_in_memory().unwrap();
        s.conn
            .execute(
                "INSERT INTO signals (idem_key, received_at, symbol, outcome, payload, response)
                 VALUES ('k', '2025-01-01T00:00:00.000000Z', 'BTCUSDT', 'rejected', '{}', '{}')",
                [],
            )
            .unwrap();
        assert_eq!(s.broker_mode().unwrap(), Some(DbBrokerMode::Paper));
        assert_eq!(
            s.record_broker_mode(DbBrokerMode::Live, Utc::now())
                .unwrap(),
            DbBrokerMode::Paper
        );
        assert_eq!(s.state(BROKER_MODE_KEY).unwrap(), None, "nothing written");
        assert_eq!(
            s.record_broker_mode(DbBrokerMode::Paper, Utc::now())
                .unwrap(),
            DbBrokerMode::Paper
        );
        assert_eq!(s.state(BROKER_MODE_KEY).unwrap().as_deref(), Some("paper"));
    }

    #[test]
    fn an_unknown_record_is_an_error_not_a_guess() {
        let mut s = Store::open_in_memory().unwrap();
        s.conn
            .execute(
                "INSERT INTO kv_state (key, value, updated_at) VALUES ('broker_mode', 'demo', 'x')",
                [],
            )
            .unwrap();
        assert!(matches!(s.broker_mode(), Err(StorageError::Corrupt(_))));
        assert!(
            s.record_broker_mode(DbBrokerMode::Live, Utc::now())
                .is_err()
        );
    }
}
