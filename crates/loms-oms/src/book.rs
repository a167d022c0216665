//! The writer's in-memory view of what is open and what was taken today, so that risk
//! checks and auto-close passes never re-read the database.

use crate::trading::{STATE_KEY, TradingState};
use loms_domain::{Position, Timestamp};
use loms_risk::RiskSnapshot;
use loms_storage::{StorageError, Store};
use std::collections::{BTreeMap, HashMap};

/// Open positions, today's signal counts and the trading mode. Owned by the writer
/// thread only.
#[derive(Debug)]
pub(crate) struct Book {
    /// What may be opened now (kill switch).
    pub(crate) trading: TradingState,
    /// Last time the watched-until mark was stored.
    pub(crate) last_check_saved: Option<Timestamp>,
    /// Open positions by id (oldest first), boxed: a B-tree node keeps room for 11
    /// values and is often half full, so unboxed ~600-byte positions would waste as
    /// much memory as they use.
    pub(crate) open: BTreeMap<i64, Box<Position>>,
    open_by_symbol: HashMap<String, u32>,
    day: Option<chrono::NaiveDate>,
    opened_today: u32,
    opened_today_by_symbol: HashMap<String, u32>,
}

impl Book {
    /// Rebuild from the database (start-up, or after a failed commit).
    pub(crate) fn load(
        store: &Store,
        now: Timestamp,
        oms_enabled: bool,
    ) -> Result<Self, StorageError> {
        let stored = store.state(STATE_KEY)?;
        let mut book = Book {
            trading: TradingState::at_start(stored.as_deref(), oms_enabled, now),
            last_check_saved: None,
            open: BTreeMap::new(),
            open_by_symbol: HashMap::new(),
            day: None,
            opened_today: 0,
            opened_today_by_symbol: HashMap::new(),
        };
        for p in store.open_positions()? {
            book.add_open(p);
        }
        let day = now.date_naive();
        let since = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        book.day = Some(day);
        book.opened_today_by_symbol = store.signal_opens_since(since)?;
        book.opened_today = book.opened_today_by_symbol.values().sum();
        Ok(book)
    }

    fn roll_day(&mut self, now: Timestamp) {
        let today = now.date_naive();
        if self.day != Some(today) {
            self.day = Some(today);
            self.opened_today = 0;
            self.opened_today_by_symbol.clear();
        }
    }

    /// What the risk check sees for a new position on `symbol`.
    pub(crate) fn snapshot(&mut self, symbol: &str, now: Timestamp) -> RiskSnapshot {
        self.roll_day(now);
        RiskSnapshot {
            open_total: u32::try_from(self.open.len()).unwrap_or(u32::MAX),
            open_symbol: self.open_by_symbol.get(symbol).copied().unwrap_or(0),
            opened_today: self.opened_today,
            opened_today_symbol: self
                .opened_today_by_symbol
                .get(symbol)
                .copied()
                .unwrap_or(0),
        }
    }

    /// Track a newly stored open position.
    pub(crate) fn add_open(&mut self, p: Position) {
        *self.open_by_symbol.entry(p.symbol.clone()).or_default() += 1;
        self.open.insert(p.id, Box::new(p));
    }

    /// Count a position opened by a signal today.
    pub(crate) fn count_signal_open(&mut self, symbol: &str, now: Timestamp) {
        self.roll_day(now);
        self.opened_today += 1;
        *self
            .opened_today_by_symbol
            .entry(symbol.to_string())
            .or_default() += 1;
    }

    /// Forget a position that was closed.
    pub(crate) fn remove(&mut self, id: i64) -> Option<Position> {
        let p = self.open.remove(&id)?;
        if let Some(n) = self.open_by_symbol.get_mut(&p.symbol) {
            *n -= 1;
            if *n == 0 {
                self.open_by_symbol.remove(&p.symbol);
            }
        }
        Some(*p)
    }

    /// Is a position open on `symbol`?
    pub(crate) fn symbols_contains(&self, symbol: &str) -> bool {
        self.open_by_symbol.contains_key(symbol)
    }

    /// Distinct symbols with an open position.
    pub(crate) fn symbols(&self) -> Vec<String> {
        self.open_by_symbol.keys().cloned().collect()
    }
}
