//! What start-up could not read of the stored data, logged once and reported by
//! /health (`checks.stored_data`): start-up never dies on one bad row.
//!
//! * An open position that cannot be read is not in the book: neither watched by the
//!   exit policies nor counted by the risk limits. Nothing may open (`reduce_only`,
//!   and no mode that opens can be set) until it is repaired and LOMS restarted; the
//!   check fails.
//! * A stored trading state that cannot be read becomes `reduce_only` (fail closed);
//!   the check fails until an operator sets a mode.
//! * A closed position that cannot be read is left out of /stats; the check warns.

use crate::health::Check;
use crate::trading::TradingState;
use loms_storage::BadRow;

/// Rows named in a check's detail; the rest are counted.
const SHOWN: usize = 5;

/// What start-up could not read.
#[derive(Debug, Default)]
pub(crate) struct StoredData {
    /// Open positions not loaded.
    pub(crate) unreadable_open: Vec<BadRow>,
    /// Why the stored trading state was not used, and the state put in its place.
    pub(crate) unreadable_trading: Option<(String, TradingState)>,
    /// Closed positions left out of /stats.
    pub(crate) skipped_closed: Vec<BadRow>,
}

fn list(rows: &[BadRow]) -> String {
    let mut s = rows
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if rows.len() > SHOWN {
        s.push_str(&format!("; and {} more (see the log)", rows.len() - SHOWN));
    }
    s
}

impl StoredData {
    /// Log each problem once (start-up).
    pub(crate) fn log(&self) {
        for b in &self.unreadable_open {
            log::error!(
                "stored_row_unreadable table={} id={} status=open error=\"{}\" action=\"not loaded; nothing may open until it is repaired and LOMS restarted\"",
                b.table,
                b.id,
                b.detail
            );
        }
        if let Some((why, state)) = &self.unreadable_trading {
            log::error!(
                "trading_state_unreadable error=\"{why}\" action=\"trading mode {} until an operator sets one\"",
                state.mode
            );
        }
        for b in &self.skipped_closed {
            log::warn!(
                "stored_row_unreadable table={} id={} status=closed error=\"{}\" action=\"left out of /stats\"",
                b.table,
                b.id,
                b.detail
            );
        }
    }

    /// The `stored_data` check, with `current` the trading state in force now.
    pub(crate) fn check(&self, current: &TradingState) -> Check {
        let mut failing = Vec::new();
        if !self.unreadable_open.is_empty() {
            failing.push(format!(
                "{} open position(s) cannot be read, so they are neither watched nor counted by the risk limits, and nothing may open until they are repaired and LOMS restarted: {}",
                self.unreadable_open.len(),
                list(&self.unreadable_open)
            ));
        }
        // Until an operator sets a mode (the book may have fallen back again since,
        // after a storage error: same mode and author, a later time).
        if let Some((why, state)) = &self.unreadable_trading
            && (state.mode, state.set_by.as_str()) == (current.mode, current.set_by.as_str())
        {
            failing.push(format!(
                "{why}: trading mode {} until an operator sets one",
                state.mode
            ));
        }
        let skipped = (!self.skipped_closed.is_empty()).then(|| {
            format!(
                "{} closed position(s) cannot be read and are left out of /stats: {}",
                self.skipped_closed.len(),
                list(&self.skipped_closed)
            )
        });
        if !failing.is_empty() {
            failing.extend(skipped);
            return Check::new(false, failing.join(". "));
        }
        match skipped {
            Some(s) => Check::warning(s),
            None => Check::new(true, "every stored row read"),
        }
    }
}
