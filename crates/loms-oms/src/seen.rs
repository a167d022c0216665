//! Which idempotency keys the database already holds, kept by the writer in memory.
//!
//! The database has no index on the keys (schema v7): a key-ordered index took each new
//! key at a spot set by its symbol, one more page written per signal. Instead the
//! writer keeps, for every stored signal, a 64-bit hash of its key and its row id
//! (about 20 bytes a signal), finds a repeated key's row by id, and checks the key
//! stored there. Two keys with the same hash — less than one chance in 10⁹ among 100,000
//! signals — are told apart by reading the signals table.

use loms_storage::{StorageError, Store, Tx};
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Row ids of the stored signals by hash of their idempotency key.
#[derive(Debug)]
pub(crate) struct SeenSignals {
    hasher: RandomState,
    /// Tests: every key hashes alike.
    #[cfg(test)]
    one_hash: bool,
    /// Hash of a key → row of the first signal stored with a key of that hash.
    rows: HashMap<u64, i64>,
}

impl SeenSignals {
    /// Every key stored in `store`.
    pub(crate) fn load(store: &Store) -> Result<Self, StorageError> {
        let mut seen = Self::empty();
        store.each_signal_key(|id, key| seen.insert(key, id))?;
        Ok(seen)
    }

    /// No key.
    pub(crate) fn empty() -> Self {
        Self {
            hasher: RandomState::new(),
            #[cfg(test)]
            one_hash: false,
            rows: HashMap::new(),
        }
    }

    fn hash(&self, key: &str) -> u64 {
        #[cfg(test)]
        if self.one_hash {
            return 7;
        }
        self.hasher.hash_one(key)
    }

    /// The stored answer of the signal received under `key`, if any.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub(crate) fn response(
        &mut self,
        tx: &Tx<'_>,
        key: &str,
    ) -> Result<Option<String>, StorageError> {
        let hash = self.hash(key);
        let Some(&id) = self.rows.get(&hash) else {
            return Ok(None);
        };
        match tx.signal_at(id)? {
            Some((k, response)) if k == key => Ok(Some(response)),
            // Another key of the same hash holds the slot.
            Some(_) => Ok(tx.signal_by_key(key)?.map(|(_, r)| r)),
            // The slot's row is gone (its batch was rolled back and the Book could not
            // be reloaded): the slot goes to this key's row, if there is one.
            None => {
                self.rows.remove(&hash);
                let found = tx.signal_by_key(key)?;
                if let Some((id, _)) = &found {
                    self.rows.insert(hash, *id);
                }
                Ok(found.map(|(_, r)| r))
            }
        }
    }

    /// Forget the rows after `last` (rolled back with their batch: SQLite gives their
    /// ids to the next rows).
    pub(crate) fn forget_after(&mut self, last: Option<i64>) {
        let last = last.unwrap_or(0);
        self.rows.retain(|_, id| *id <= last);
    }

    /// Remember that row `id` holds the signal of `key` (kept only if no key of the
    /// same hash is known: [`SeenSignals::response`] then reads the table for it).
    pub(crate) fn insert(&mut self, key: &str, id: i64) {
        self.rows.entry(self.hash(key)).or_insert(id);
    }

    /// Number of keys known by their own slot.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loms_storage::SignalRecord;

    fn store_signal(store: &mut Store, key: &str, response: &str) -> i64 {
        let tx = store.transaction();
        let id = tx
            .insert_signal(&SignalRecord {
                idem_key: key,
                received_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                symbol: "BTCUSDT",
                outcome: "opened",
                position_id: None,
                payload: "{}",
                response,
            })
            .unwrap();
        tx.commit().unwrap();
        id
    }

    /// An empty database, and its keys with every key hashing alike.
    fn one_hash() -> (Store, SeenSignals) {
        let store = Store::open_in_memory().unwrap();
        let mut seen = SeenSignals::load(&store).unwrap();
        seen.one_hash = true;
        (store, seen)
    }

    #[test]
    fn a_stored_key_is_found_after_a_restart_and_an_unknown_one_is_not() {
        let mut store = Store::open_in_memory().unwrap();
        store_signal(&mut store, "k1", "r1");
        store_signal(&mut store, "k2", "r2");
        let mut seen = SeenSignals::load(&store).unwrap();
        assert_eq!(seen.len(), 2);
        let tx = store.transaction();
        assert_eq!(seen.response(&tx, "k2").unwrap().as_deref(), Some("r2"));
        assert_eq!(seen.response(&tx, "k3").unwrap(), None);
    }

    #[test]
    fn keys_of_the_same_hash_are_told_apart() {
        // Every key hashes alike: only the first has its own slot.
        let (mut store, mut seen) = one_hash();
        let a = store_signal(&mut store, "a", "ra");
        seen.insert("a", a);
        let tx = store.transaction();
        assert_eq!(seen.response(&tx, "b").unwrap(), None, "b is new");
        drop(tx);
        let b = store_signal(&mut store, "b", "rb");
        seen.insert("b", b);
        assert_eq!(seen.len(), 1);
        let tx = store.transaction();
        assert_eq!(seen.response(&tx, "a").unwrap().as_deref(), Some("ra"));
        assert_eq!(seen.response(&tx, "b").unwrap().as_deref(), Some("rb"));
        assert_eq!(seen.response(&tx, "c").unwrap(), None);
    }

    #[test]
    fn a_slot_whose_row_is_gone_goes_to_the_key_that_has_a_row() {
        let (mut store, mut seen) = one_hash();
        // A row of a rolled-back batch, still remembered.
        seen.insert("gone", 99);
        let b = store_signal(&mut store, "b", "rb");
        let tx = store.transaction();
        assert_eq!(seen.response(&tx, "b").unwrap().as_deref(), Some("rb"));
        assert_eq!(seen.rows.get(&7), Some(&b), "b has the slot now");
        assert_eq!(seen.response(&tx, "gone").unwrap(), None);
    }

    #[test]
    fn rows_after_the_last_stored_one_are_forgotten() {
        let mut store = Store::open_in_memory().unwrap();
        let a = store_signal(&mut store, "a", "ra");
        let mut seen = SeenSignals::load(&store).unwrap();
        seen.insert("rolled back", a + 1);
        seen.forget_after(store.last_signal_id().unwrap());
        assert_eq!(seen.len(), 1);
        let tx = store.transaction();
        assert_eq!(seen.response(&tx, "a").unwrap().as_deref(), Some("ra"));
        assert_eq!(seen.response(&tx, "rolled back").unwrap(), None);
    }
}
