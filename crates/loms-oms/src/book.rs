//! The writer's in-memory view of what is open and what was taken today, so that risk
//! checks and auto-close passes never re-read the database.

use crate::seen::SeenSignals;
use crate::trading::{STATE_KEY, TradingState};
use loms_domain::{Decimal, ExitMeta, Position, PositionStatus, Side, Timestamp};
use loms_risk::RiskSnapshot;
use loms_storage::{BadRow, StorageError, Store};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// An open position as the book keeps it: what the exit policies, the pass and the risk
/// check read, with the names shared between positions. The rest of the row (order,
/// exchange and signal references: a third of a `Position`, and most of its heap) is
/// needed only once the position closes, and comes back from the database then
/// ([`loms_storage::Tx::close_position`]). About 240 bytes instead of about 800.
#[derive(Debug, Clone)]
pub(crate) struct OpenPosition {
    pub(crate) id: i64,
    pub(crate) symbol: Arc<str>,
    pub(crate) exit_strategy: Arc<str>,
    pub(crate) side: Side,
    pub(crate) qty: Decimal,
    pub(crate) entry_price: Decimal,
    pub(crate) tp_price: Option<Decimal>,
    pub(crate) sl_price: Option<Decimal>,
    pub(crate) dynamic_tp_price: Option<Decimal>,
    pub(crate) dynamic_sl_price: Option<Decimal>,
    pub(crate) max_favorable_move: Option<Decimal>,
    pub(crate) fees: Decimal,
    pub(crate) realized_pnl: Decimal,
    pub(crate) created_at: Timestamp,
    /// Policy state, when a policy keeps any (boxed: most positions have none).
    pub(crate) exit_meta: Option<Box<ExitMeta>>,
    /// Exits done so far (partial closes): the next exit is leg `exits + 1` of the
    /// position's client order ids.
    pub(crate) exits: u32,
    /// The order working on this position at a venue (live: its entry not filled yet,
    /// or an exit sent): no other order is sent for it, and no policy judges it, until
    /// the venue's report settles it.
    pub(crate) working: Option<Box<Working>>,
}

/// An order sent to a venue whose outcome is not settled yet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Working {
    /// Its client order id.
    pub(crate) client_oid: String,
    /// The position's entry, or one of its exits.
    pub(crate) leg: loms_domain::Leg,
    /// Where it stands.
    pub(crate) status: loms_domain::OrderStatus,
}

impl OpenPosition {
    /// Write this position into `p`, a `Position` whose order, exchange and signal
    /// fields are left as they are (empty in the writer's scratch): what a policy
    /// decides on and what the writer stores come from the fields written here.
    pub(crate) fn fill(&self, p: &mut Position) {
        p.id = self.id;
        p.symbol.clear();
        p.symbol.push_str(&self.symbol);
        p.exit_strategy.clear();
        p.exit_strategy.push_str(&self.exit_strategy);
        p.side = self.side;
        p.qty = self.qty;
        p.entry_price = self.entry_price;
        p.tp_price = self.tp_price;
        p.sl_price = self.sl_price;
        p.status = PositionStatus::Open;
        p.created_at = self.created_at;
        p.dynamic_tp_price = self.dynamic_tp_price;
        p.dynamic_sl_price = self.dynamic_sl_price;
        p.max_favorable_move = self.max_favorable_move;
        match &self.exit_meta {
            Some(m) => p.exit_meta.clone_from(m),
            None => p.exit_meta.clear(),
        }
        p.fees = self.fees;
        p.realized_pnl = self.realized_pnl;
    }

    /// A `Position` with this position's fields and empty order, exchange and signal
    /// fields (see [`OpenPosition::fill`]).
    pub(crate) fn to_position(&self) -> Position {
        let mut p = scratch_position();
        self.fill(&mut p);
        p
    }

    /// Take what the writer may change on an open position from `p`: the columns
    /// `Tx::update_open_position` stores (`OPEN_SETS` in loms-storage's columns.rs).
    fn update(&mut self, p: &Position) {
        // Only an exit makes an open position smaller (a partial close).
        self.exits += u32::from(p.qty < self.qty);
        self.qty = p.qty;
        self.dynamic_tp_price = p.dynamic_tp_price;
        self.dynamic_sl_price = p.dynamic_sl_price;
        self.max_favorable_move = p.max_favorable_move;
        self.exit_meta = (!p.exit_meta.is_empty()).then(|| Box::new(p.exit_meta.clone()));
        self.fees = p.fees;
        self.realized_pnl = p.realized_pnl;
    }
}

/// A `Position` to [`OpenPosition::fill`], with empty order, exchange and signal fields.
fn scratch_position() -> Position {
    let mut p = Position::open(
        String::new(),
        Side::Long,
        Decimal::ZERO,
        Decimal::ZERO,
        Timestamp::default(),
    );
    p.exchange = String::new();
    p.market_type = String::new();
    p
}

/// Open positions, today's signal counts and the trading mode. Owned by the writer
/// thread only.
#[derive(Debug)]
pub(crate) struct Book {
    /// What may be opened now (kill switch).
    pub(crate) trading: TradingState,
    /// Last time the watched-until mark was stored.
    pub(crate) last_check_saved: Option<Timestamp>,
    /// Open positions by id (oldest first), boxed: a B-tree node keeps room for 11
    /// values and is often half full.
    pub(crate) open: BTreeMap<i64, Box<OpenPosition>>,
    /// Symbols and exit strategies, one copy each.
    names: HashSet<Arc<str>>,
    /// What the exit policies look at, refilled from each open position in turn
    /// ([`OpenPosition::fill`]) and kept across passes, so a pass allocates nothing for
    /// the positions that do not change (save a copy of the policy state of those that
    /// have one).
    pub(crate) scratch: Position,
    open_by_symbol: HashMap<Arc<str>, u32>,
    day: Option<chrono::NaiveDate>,
    opened_today: u32,
    opened_today_by_symbol: HashMap<String, u32>,
    /// Idempotency keys of the stored signals.
    pub(crate) seen: SeenSignals,
    /// Why nothing may open whatever the trading mode says, if something stored could
    /// not be read: open positions this book does not hold (neither watched nor counted
    /// by the risk limits).
    pub(crate) unreadable_open: Vec<BadRow>,
    /// What LOMS does not know about the venue (live): orders whose outcome is unknown,
    /// orders left unresolved by the last run, positions that do not match. Entries are
    /// held while anything is here; each entry says why (keyed by order id or check).
    pub(crate) doubts: BTreeMap<String, String>,
    /// What the circuit breakers have counted since they were armed.
    pub(crate) breakers: crate::breakers::Breakers,
    /// Why the stored trading state was not used, if it could not be read.
    pub(crate) unreadable_trading: Option<String>,
}

impl Book {
    /// Build from the database (start-up), with the idempotency keys of the signals
    /// received within `retention` before `now`.
    pub(crate) fn load(
        store: &Store,
        now: Timestamp,
        oms_enabled: bool,
        retention: chrono::Duration,
    ) -> Result<Self, StorageError> {
        let seen = SeenSignals::load(store, now, retention)?;
        Self::load_with(store, now, oms_enabled, seen)
    }

    /// Rebuild from the database after a storage error (a batch rolled back, or a
    /// command that failed alone), keeping the idempotency keys, whose rows are only
    /// ever added: only those of a rolled-back batch go. Reading every key again would
    /// stall the writer for seconds once millions of signals are stored. Left as it
    /// was when the database cannot be read.
    pub(crate) fn reload(
        &mut self,
        store: &Store,
        now: Timestamp,
        oms_enabled: bool,
    ) -> Result<(), StorageError> {
        let last = store.last_signal_id()?;
        let empty = || SeenSignals::empty(now, chrono::Duration::zero());
        let mut book = Self::load_with(store, now, oms_enabled, empty())?;
        book.seen = std::mem::replace(&mut self.seen, empty());
        book.seen.forget_after(last);
        book.mark_working(&store.unresolved_orders()?);
        book.doubts = std::mem::take(&mut self.doubts);
        *self = book;
        Ok(())
    }

    fn load_with(
        store: &Store,
        now: Timestamp,
        oms_enabled: bool,
        seen: SeenSignals,
    ) -> Result<Self, StorageError> {
        let stored = store.state(STATE_KEY).map_err(|e| e.to_string());
        let (trading, unreadable_trading) = TradingState::at_start(
            stored.as_ref().map(Option::as_deref).map_err(Clone::clone),
            oms_enabled,
            now,
        );
        let mut book = Book {
            trading,
            unreadable_trading,
            unreadable_open: Vec::new(),
            doubts: BTreeMap::new(),
            breakers: crate::breakers::Breakers::load(store, now)?,
            last_check_saved: None,
            open: BTreeMap::new(),
            names: HashSet::new(),
            scratch: scratch_position(),
            open_by_symbol: HashMap::new(),
            day: None,
            opened_today: 0,
            opened_today_by_symbol: HashMap::new(),
            seen,
        };
        store.each_open_position(|p| match p {
            Ok(p) => book.add_open(p),
            Err(bad) => book.unreadable_open.push(bad),
        })?;
        // An open position the book cannot hold is neither watched nor counted by the
        // risk limits: nothing may open until it is repaired (and LOMS restarted).
        if !book.unreadable_open.is_empty() && book.trading.mode.orders_may_open() {
            book.trading = TradingState::fail_closed(now);
        }
        let day = now.date_naive();
        let since = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        book.day = Some(day);
        book.opened_today_by_symbol = store.signal_opens_since(since)?;
        book.opened_today = book.opened_today_by_symbol.values().sum();
        Ok(book)
    }

    /// Why no mode that opens positions may be set now, if an open position could not
    /// be read.
    pub(crate) fn opening_blocked(&self) -> Option<String> {
        let first = self.unreadable_open.first()?;
        Some(format!(
            "{} open position(s) cannot be read ({first}{}): nothing may open until they are repaired and LOMS restarted",
            self.unreadable_open.len(),
            if self.unreadable_open.len() > 1 {
                ", ..."
            } else {
                ""
            }
        ))
    }

    /// Why entries are held now (live): the first doubt about the venue, and how many.
    pub(crate) fn entries_held(&self) -> Option<String> {
        let (_, why) = self.doubts.iter().next()?;
        Some(match self.doubts.len() {
            1 => format!("entries held until the venue answers: {why}"),
            n => format!(
                "entries held until the venue answers: {why} (and {} more)",
                n - 1
            ),
        })
    }

    /// The open positions to compare with the venue (no order working on them), and the
    /// symbols where an order still works.
    pub(crate) fn watched(&self) -> (Vec<crate::venue_check::Watched>, Vec<String>) {
        let mut watched = Vec::new();
        let mut busy = Vec::new();
        for o in self.open.values() {
            if o.working.is_some() {
                busy.push(o.symbol.to_string());
            } else {
                watched.push(crate::venue_check::Watched {
                    id: o.id,
                    symbol: o.symbol.to_string(),
                    side: o.side,
                    qty: o.qty,
                    since: o.created_at,
                });
            }
        }
        (watched, busy)
    }

    /// Whether the open positions on `symbol` are exactly `ids`, none with an order
    /// working (a venue comparison made from `ids` still describes them).
    pub(crate) fn same_on(&self, symbol: &str, ids: &[i64]) -> bool {
        let mut now: Vec<i64> = Vec::new();
        for o in self.open.values().filter(|o| *o.symbol == *symbol) {
            if o.working.is_some() {
                return false;
            }
            now.push(o.id);
        }
        let mut then = ids.to_vec();
        then.sort_unstable();
        now == then
    }

    /// Mark the orders of `orders` (unresolved, as stored) that work on an open position.
    pub(crate) fn mark_working(&mut self, orders: &[loms_storage::OrderRow]) {
        for o in orders {
            let leg = loms_domain::ClientOid::parse(&o.client_oid)
                .ok()
                .and_then(|c| c.leg());
            let open = o.position_id.and_then(|id| self.open.get_mut(&id));
            if let (Some(leg), Some(p)) = (leg, open) {
                p.working = Some(Box::new(Working {
                    client_oid: o.client_oid.clone(),
                    leg,
                    status: o.status,
                }));
            }
        }
    }

    /// Doubt each order of `orders`, left unresolved by the last run, until the venue
    /// is asked about it.
    pub(crate) fn doubt_unresolved(&mut self, orders: &[loms_storage::OrderRow]) {
        for o in orders {
            self.doubts.insert(
                o.client_oid.clone(),
                format!(
                    "order {} was {} when LOMS stopped and is looked up at the venue",
                    o.client_oid, o.status
                ),
            );
        }
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

    /// The shared copy of `name`.
    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(name);
        self.names.insert(n.clone());
        n
    }

    /// Track a newly stored open position.
    pub(crate) fn add_open(&mut self, p: Position) {
        let symbol = self.intern(&p.symbol);
        let exit_strategy = self.intern(&p.exit_strategy);
        *self.open_by_symbol.entry(symbol.clone()).or_default() += 1;
        let exit_meta = (!p.exit_meta.is_empty()).then(|| Box::new(p.exit_meta));
        let exits = u32::try_from(p.closes.len()).unwrap_or(u32::MAX);
        let o = OpenPosition {
            id: p.id,
            symbol,
            exit_strategy,
            side: p.side,
            qty: p.qty,
            entry_price: p.entry_price,
            tp_price: p.tp_price,
            sl_price: p.sl_price,
            dynamic_tp_price: p.dynamic_tp_price,
            dynamic_sl_price: p.dynamic_sl_price,
            max_favorable_move: p.max_favorable_move,
            fees: p.fees,
            realized_pnl: p.realized_pnl,
            created_at: p.created_at,
            exit_meta,
            exits,
            working: None,
        };
        self.open.insert(p.id, Box::new(o));
    }

    /// Take what changed on the open position `p` (levels, best move, policy state,
    /// what a partial close left).
    pub(crate) fn update(&mut self, p: &Position) {
        if let Some(o) = self.open.get_mut(&p.id) {
            o.update(p);
        }
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

    /// Forget a position that was closed (and a doubt about its venue stop).
    pub(crate) fn remove(&mut self, id: i64) {
        let Some(p) = self.open.remove(&id) else {
            return;
        };
        if !self.doubts.is_empty() {
            self.doubts.remove(&stop_doubt_key(id));
        }
        if let Some(n) = self.open_by_symbol.get_mut(&p.symbol) {
            *n -= 1;
            if *n == 0 {
                self.open_by_symbol.remove(&p.symbol);
            }
        }
    }

    /// Is a position open on `symbol`?
    pub(crate) fn symbols_contains(&self, symbol: &str) -> bool {
        self.open_by_symbol.contains_key(symbol)
    }

    /// Distinct symbols with an open position.
    pub(crate) fn symbols(&self) -> Vec<String> {
        self.open_by_symbol.keys().map(|s| s.to_string()).collect()
    }
}

/// The doubt key of a venue stop that could not be moved for position `id`.
pub(crate) fn stop_doubt_key(id: i64) -> String {
    format!("stop:{id}")
}
