//! Live start-up: before the first signal is taken, every order the last run left
//! unresolved is looked up at the venue by its client id and settled, and LOMS's open
//! positions are compared with the venue's — a stop that fired while LOMS was down
//! closes its position at the venue's fill with reason `exchange_stop`
//! ([`crate::venue_check`]). What the venue cannot answer now stays a doubt (entries
//! held, /health failing) and is retried by the executor.

use crate::executor::Job;
use crate::venue_check;
use crate::writer::{Cmd, Write, Writer};
use loms_broker::ExecutionClient;
use loms_config::Settings;
use loms_risk::RiskLimits;
use loms_storage::OrderRow;
use tokio::sync::oneshot;

/// The doubt of the start-up comparison with the venue, until it is done.
pub(crate) const START_CHECK: &str = "venue:start";

/// The risk limits in force. Live allows one open position per symbol, since the venue
/// nets a symbol's positions into one (one-way mode) with one stop, and no position
/// larger than LIVE_MAX_NOTIONAL_USDT, whatever MAX_SIZE_PER_POSITION_USDT says.
pub(crate) fn limits(s: &Settings, live: bool) -> RiskLimits {
    let mut limits = s.risk.clone();
    limits.max_size_per_position_usdt = s.max_position_notional_when(live);
    if live {
        limits.max_open_positions_per_symbol =
            Some(limits.max_open_positions_per_symbol.map_or(1, |n| n.min(1)));
    }
    limits
}

/// Settle what the last run left (`unresolved`) and compare positions with the venue,
/// through `writer` before it serves anyone. Returns the jobs to retry later.
pub(crate) fn settle(
    writer: &mut Writer,
    client: &dyn ExecutionClient,
    unresolved: Vec<OrderRow>,
) -> Vec<Job> {
    let mut later = Vec::new();
    let mut waiting = Vec::new();
    let mut batch = Vec::new();
    for o in unresolved {
        let report = match client.query(&o.symbol, &o.client_oid) {
            Ok(Some(r)) => r,
            // Not found once: looked up again after the retry interval before it counts
            // as never placed (entries stay held meanwhile).
            Ok(None) => {
                later.push(resolve(&o, 1));
                continue;
            }
            Err(e) => {
                log::warn!(
                    "order_lookup_failed client_oid={} error=\"{e}\"",
                    o.client_oid
                );
                later.push(resolve(&o, 0));
                continue;
            }
        };
        let (reply, rx) = oneshot::channel();
        batch.push(Cmd::Write(Write::Execution {
            report,
            not_found: false,
            reply,
        }));
        waiting.push((o, rx));
    }
    if !batch.is_empty() {
        writer.process(batch);
    }
    for (o, mut rx) in waiting {
        match rx.try_recv() {
            Ok(Ok(s)) if !s.status.unresolved() => {
                log::info!(
                    "order_resolved client_oid={} status={}",
                    o.client_oid,
                    s.status
                );
            }
            Ok(Ok(s)) => {
                log::warn!(
                    "order_unresolved client_oid={} status={}",
                    o.client_oid,
                    s.status
                );
                later.push(resolve(&o, 0));
            }
            Ok(Err(e)) => {
                log::error!(
                    "order_not_settled client_oid={} error=\"{e}\"",
                    o.client_oid
                );
                later.push(resolve(&o, 0));
            }
            Err(_) => later.push(resolve(&o, 0)),
        }
    }
    let (watched, busy) = writer.book.watched();
    writer.book.doubts.insert(
        START_CHECK.into(),
        "LOMS's open positions are being compared with the venue's".into(),
    );
    match venue_check::run(client, &watched, &busy, (START_CHECK.into(), true)) {
        Ok(found) => {
            let (reply, mut rx) = oneshot::channel();
            writer.process(vec![Cmd::Write(Write::VenueCheck { found, reply })]);
            if !matches!(rx.try_recv(), Ok(Ok(()))) {
                later.push(Job::CheckVenue {
                    watched,
                    busy,
                    key: START_CHECK.into(),
                    full: true,
                });
            }
        }
        Err(e) => {
            log::error!("venue_check_failed at start: {e}; entries held until it succeeds");
            later.push(Job::CheckVenue {
                watched,
                busy,
                key: START_CHECK.into(),
                full: true,
            });
        }
    }
    later
}

fn resolve(o: &OrderRow, misses: u32) -> Job {
    Job::Resolve {
        symbol: o.symbol.clone(),
        client_oid: o.client_oid.clone(),
        misses,
    }
}
