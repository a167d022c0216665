//! Which idempotency keys the database already holds, kept by the writer in memory.
//!
//! The database has no index on the keys (schema v7): a key-ordered index took each new
//! key at a spot set by its symbol, one more page written per signal. Instead the
//! writer keeps, for every stored signal, a 64-bit hash of its key and its row id
//! (about 20 bytes a signal), finds a repeated key's row by id, and checks the key
//! stored there. Two keys with the same hash — less than one chance in 10⁹ among 100,000
//! signals — are told apart by reading the signals table.
//!
//! Only the signals of the retention window (IDEMPOTENCY_RETENTION_HOURS) are kept:
//! start-up reads the keys of the signals received within it (a range of row ids; the
//! older rows are not read), and the keys that leave it are dropped as time passes
//! (every [`evict_every`], so a key is remembered for at least the window and up to an
//! hour more). A key repeated after that is a new signal.

use loms_domain::Timestamp;
use loms_storage::{StorageError, Store, Tx};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

/// How often the keys that left the window are dropped: a 24th of the window, between
/// one minute and one hour.
fn evict_every(retention: chrono::Duration) -> chrono::Duration {
    (retention / 24).clamp(chrono::Duration::minutes(1), chrono::Duration::hours(1))
}

/// Row ids of the stored signals by hash of their idempotency key.
#[derive(Debug)]
pub(crate) struct SeenSignals {
    hasher: RandomState,
    /// Tests: every key hashes alike.
    #[cfg(test)]
    one_hash: bool,
    /// Hash of a key → row of the first signal stored with a key of that hash.
    rows: HashMap<u64, i64>,
    /// Hashes shared by two keys or more (the slot holds the first one's row).
    shared: HashSet<u64>,
    /// How long a key is remembered, at least.
    retention: chrono::Duration,
    /// First row of the window: the rows before it are not looked at.
    from_id: i64,
    /// When the keys that left the window are next dropped.
    next_evict: Timestamp,
}

impl SeenSignals {
    /// The keys of the signals of `store` received within `retention` before `now`.
    pub(crate) fn load(
        store: &Store,
        now: Timestamp,
        retention: chrono::Duration,
    ) -> Result<Self, StorageError> {
        let mut seen = Self::empty(now, retention);
        seen.from_id = store.first_signal_id_since(now - retention)?;
        store.each_signal_key(seen.from_id, |id, key| seen.insert(key, id))?;
        Ok(seen)
    }

    /// No key; the window ends at `now`.
    pub(crate) fn empty(now: Timestamp, retention: chrono::Duration) -> Self {
        Self {
            hasher: RandomState::new(),
            #[cfg(test)]
            one_hash: false,
            rows: HashMap::new(),
            shared: HashSet::new(),
            retention,
            from_id: 1,
            next_evict: now + evict_every(retention),
        }
    }

    fn hash(&self, key: &str) -> u64 {
        #[cfg(test)]
        if self.one_hash {
            return 7;
        }
        self.hasher.hash_one(key)
    }

    /// The stored answer of the signal received under `key`, if any within the window
    /// at `now`.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub(crate) fn response(
        &mut self,
        tx: &Tx<'_>,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StorageError> {
        if now >= self.next_evict {
            self.evict(tx, now)?;
        }
        let hash = self.hash(key);
        let Some(&id) = self.rows.get(&hash) else {
            return Ok(None);
        };
        match tx.signal_at(id)? {
            Some((k, response)) if k == key => Ok(Some(response)),
            // Another key of the same hash holds the slot.
            Some(_) => Ok(tx.signal_by_key(key, self.from_id)?.map(|(_, r)| r)),
            // The slot's row is gone (its batch was rolled back and the Book could not
            // be reloaded): the slot goes to this key's row, if there is one.
            None => {
                self.rows.remove(&hash);
                let found = tx.signal_by_key(key, self.from_id)?;
                if let Some((id, _)) = &found {
                    self.rows.insert(hash, *id);
                }
                Ok(found.map(|(_, r)| r))
            }
        }
    }

    /// Drop the keys of the signals received before the window at `now`. A slot whose
    /// hash other keys share goes to the next of them still in the window.
    fn evict(&mut self, tx: &Tx<'_>, now: Timestamp) -> Result<(), StorageError> {
        self.next_evict = now + evict_every(self.retention);
        let from = tx.first_signal_id_since(now - self.retention)?;
        if from <= self.from_id {
            return Ok(());
        }
        self.from_id = from;
        let shared = &self.shared;
        let mut orphaned = HashSet::new();
        self.rows.retain(|hash, id| {
            let keep = *id >= from;
            if !keep && shared.contains(hash) {
                orphaned.insert(*hash);
            }
            keep
        });
        if !orphaned.is_empty() {
            // Rare (two keys of one hash): read the window for the next row of each.
            let mut found = Vec::new();
            tx.each_signal_key(from, |id, key| {
                let h = self.hash(key);
                if orphaned.contains(&h) {
                    found.push((h, id));
                }
            })?;
            for (h, id) in found {
                self.rows.entry(h).or_insert(id);
            }
        }
        let rows = &self.rows;
        self.shared.retain(|h| rows.contains_key(h));
        Ok(())
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
        let hash = self.hash(key);
        match self.rows.entry(hash) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.shared.insert(hash);
            }
        }
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
    use chrono::Duration;
    use loms_storage::SignalRecord;

    fn t0() -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn week() -> Duration {
        Duration::days(7)
    }

    fn store_signal_at(store: &mut Store, key: &str, response: &str, at: Timestamp) -> i64 {
        let tx = store.transaction();
        let id = tx
            .insert_signal(&SignalRecord {
                idem_key: key,
                received_at: at,
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

    fn store_signal(store: &mut Store, key: &str, response: &str) -> i64 {
        store_signal_at(store, key, response, t0())
    }

    /// An empty database, and its keys with every key hashing alike.
    fn one_hash() -> (Store, SeenSignals) {
        let store = Store::open_in_memory().unwrap();
        let mut seen = SeenSignals::load(&store, t0(), week()).unwrap();
        seen.one_hash = true;
        (store, seen)
    }

    #[test]
    fn a_stored_key_is_found_after_a_restart_and_an_unknown_one_is_not() {
        let mut store = Store::open_in_memory().unwrap();
        store_signal(&mut store, "k1", "r1");
        store_signal(&mut store, "k2", "r2");
        let mut seen = SeenSignals::load(&store, t0(), week()).unwrap();
        assert_eq!(seen.len(), 2);
        let tx = store.transaction();
        let r = seen.response(&tx, "k2", t0()).unwrap();
        assert_eq!(r.as_deref(), Some("r2"));
        assert_eq!(seen.response(&tx, "k3", t0()).unwrap(), None);
    }

    #[test]
    fn keys_of_the_same_hash_are_told_apart() {
        // Every key hashes alike: only the first has its own slot.
        let (mut store, mut seen) = one_hash();
        let a = store_signal(&mut store, "a", "ra");
        seen.insert("a", a);
        let tx = store.transaction();
        assert_eq!(seen.response(&tx, "b", t0()).unwrap(), None, "b is new");
        drop(tx);
        let b = store_signal(&mut store, "b", "rb");
        seen.insert("b", b);
        assert_eq!(seen.len(), 1);
        let tx = store.transaction();
        let r = |seen: &mut SeenSignals, k| seen.response(&tx, k, t0()).unwrap();
        assert_eq!(r(&mut seen, "a").as_deref(), Some("ra"));
        assert_eq!(r(&mut seen, "b").as_deref(), Some("rb"));
        assert_eq!(r(&mut seen, "c"), None);
    }

    #[test]
    fn a_slot_whose_row_is_gone_goes_to_the_key_that_has_a_row() {
        let (mut store, mut seen) = one_hash();
        // A row of a rolled-back batch, still remembered.
        seen.insert("gone", 99);
        let b = store_signal(&mut store, "b", "rb");
        let tx = store.transaction();
        let r = seen.response(&tx, "b", t0()).unwrap();
        assert_eq!(r.as_deref(), Some("rb"));
        assert_eq!(seen.rows.get(&7), Some(&b), "b has the slot now");
        assert_eq!(seen.response(&tx, "gone", t0()).unwrap(), None);
    }

    #[test]
    fn rows_after_the_last_stored_one_are_forgotten() {
        let mut store = Store::open_in_memory().unwrap();
        let a = store_signal(&mut store, "a", "ra");
        let mut seen = SeenSignals::load(&store, t0(), week()).unwrap();
        seen.insert("rolled back", a + 1);
        seen.forget_after(store.last_signal_id().unwrap());
        assert_eq!(seen.len(), 1);
        let tx = store.transaction();
        let r = seen.response(&tx, "a", t0()).unwrap();
        assert_eq!(r.as_deref(), Some("ra"));
        assert_eq!(seen.response(&tx, "rolled back", t0()).unwrap(), None);
    }

    #[test]
    fn start_up_reads_only_the_keys_of_the_window() {
        let mut store = Store::open_in_memory().unwrap();
        for h in 0..5 {
            store_signal_at(&mut store, &format!("k{h}"), "r", t0() + Duration::hours(h));
        }
        // At 4h30 with a 2 h window: the signals of 3h and 4h.
        let now = t0() + Duration::minutes(270);
        let mut seen = SeenSignals::load(&store, now, Duration::hours(2)).unwrap();
        assert_eq!(seen.len(), 2);
        let tx = store.transaction();
        assert_eq!(seen.response(&tx, "k2", now).unwrap(), None, "a new signal");
        assert!(seen.response(&tx, "k3", now).unwrap().is_some());
    }

    #[test]
    fn keys_that_leave_the_window_are_dropped_as_time_passes() {
        let (mut store, mut seen) = {
            let store = Store::open_in_memory().unwrap();
            let seen = SeenSignals::load(&store, t0(), Duration::hours(2)).unwrap();
            (store, seen)
        };
        let a = store_signal_at(&mut store, "a", "ra", t0());
        seen.insert("a", a);
        let b = store_signal_at(&mut store, "b", "rb", t0() + Duration::hours(1));
        seen.insert("b", b);
        let tx = store.transaction();
        let at = |h: i64| t0() + Duration::minutes(h);
        assert!(seen.response(&tx, "a", at(119)).unwrap().is_some());
        assert_eq!(seen.len(), 2);
        // Past the window of a (and the next eviction): a is gone, b stays.
        assert_eq!(seen.response(&tx, "a", at(126)).unwrap(), None);
        assert_eq!(seen.len(), 1);
        assert!(seen.response(&tx, "b", at(126)).unwrap().is_some());
    }

    #[test]
    fn a_slot_dropped_with_its_window_goes_to_a_later_key_of_the_same_hash() {
        let (mut store, mut seen) = one_hash();
        seen.retention = Duration::hours(2);
        let a = store_signal_at(&mut store, "a", "ra", t0());
        seen.insert("a", a);
        let b = store_signal_at(&mut store, "b", "rb", t0() + Duration::hours(1));
        seen.insert("b", b);
        assert_eq!(seen.rows.get(&7), Some(&a));
        let tx = store.transaction();
        let later = t0() + Duration::minutes(150);
        assert_eq!(seen.response(&tx, "a", later).unwrap(), None);
        assert_eq!(seen.rows.get(&7), Some(&b), "b has the slot now");
        let r = seen.response(&tx, "b", later).unwrap();
        assert_eq!(r.as_deref(), Some("rb"));
    }
}
