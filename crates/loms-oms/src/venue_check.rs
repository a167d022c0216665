//! Comparing LOMS's open positions with the venue's (live): the venue is the truth.
//!
//! A LOMS position the venue no longer holds, with the venue's own trades that closed it
//! since it opened (its stop fired, possibly while LOMS was down), is closed at those
//! trades with reason `exchange_stop`. Any other difference — a size that differs, a
//! position gone with no trade to explain it, a venue position LOMS did not open — is
//! never guessed past: it becomes a doubt that holds entries, with the reason.

use loms_broker::{ExecError, ExecFill, ExecutionClient};
use loms_domain::{Decimal, Side, Timestamp};
use std::collections::BTreeMap;

/// A LOMS position to compare (open, its entry filled, no order working on it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Watched {
    pub(crate) id: i64,
    pub(crate) symbol: String,
    pub(crate) side: Side,
    pub(crate) qty: Decimal,
    /// When it opened: the venue's closing trades are looked for from then on.
    pub(crate) since: Timestamp,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// The doubt this check clears once applied.
    pub(crate) key: String,
    /// Positions the venue closed by itself, with the trades that did (and their
    /// venue order ids).
    pub(crate) closed: Vec<(i64, Vec<(String, ExecFill)>)>,
    /// Differences nobody explains.
    pub(crate) mismatches: Vec<Mismatch>,
    /// Every position was compared (start-up, reconciliation): every earlier doubt about
    /// a symbol that is not `busy` is cleared first.
    pub(crate) full: Option<Vec<String>>,
}

/// A difference nobody explains.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mismatch {
    /// Its doubt key.
    pub(crate) key: String,
    /// Why, and what to do.
    pub(crate) why: String,
    /// The symbol and its LOMS positions as compared: a difference on a symbol whose
    /// LOMS positions changed since is dropped (the venue was asked about a state that
    /// no longer holds).
    pub(crate) compared: Option<(String, Vec<i64>)>,
}

/// What every doubt key about the venue's positions starts with.
pub(crate) const VENUE_PREFIX: &str = "venue:";

/// The doubt key of a difference on `symbol`.
pub(crate) fn doubt_key(symbol: &str) -> String {
    format!("{VENUE_PREFIX}{symbol}")
}

/// Compare `watched` with the venue. With `full` (every LOMS position is in `watched`
/// or on a `busy` symbol, where an order works), venue positions on symbols no watched
/// position has are differences too.
///
/// # Errors
/// [`ExecError`] when the venue could not be asked.
pub(crate) fn run(
    client: &dyn ExecutionClient,
    watched: &[Watched],
    busy: &[String],
    (key, full): (String, bool),
) -> Result<Found, ExecError> {
    let venue = client.positions()?;
    let mut groups: BTreeMap<(&str, Side), Vec<&Watched>> = BTreeMap::new();
    for w in watched {
        groups.entry((&w.symbol, w.side)).or_default().push(w);
    }
    let mut found = Found {
        key,
        closed: Vec::new(),
        mismatches: Vec::new(),
        full: full.then(|| busy.to_vec()),
    };
    for ((symbol, side), ours) in &groups {
        let held: Decimal = venue
            .iter()
            .filter(|v| v.symbol == *symbol && v.side == *side)
            .map(|v| v.qty)
            .sum();
        let lomsqty: Decimal = ours.iter().map(|w| w.qty).sum();
        if held == lomsqty {
            continue;
        }
        let ids = ours.iter().map(|w| w.id).collect::<Vec<i64>>();
        let mismatch = |why: String| Mismatch {
            key: doubt_key(symbol),
            why,
            compared: Some((symbol.to_string(), ids.clone())),
        };
        match (held.is_zero(), &ours[..]) {
            (true, [one]) => {
                let trades = client.venue_closes(symbol, *side, one.since)?;
                let traded: Decimal = trades.iter().map(|(_, f)| f.qty).sum();
                if traded >= one.qty {
                    found.closed.push((one.id, trades));
                } else {
                    found.mismatches.push(mismatch(format!(
                        "the venue holds no {side} {symbol} position, and its trades since \
                         position {} opened close {traded} of its {}: check the venue",
                        one.id, one.qty
                    )));
                }
            }
            _ => found.mismatches.push(mismatch(format!(
                "the venue holds {held} {symbol} {side}, LOMS's open positions {lomsqty}: check the venue"
            ))),
        }
    }
    if full {
        working_orders(client, busy, &mut found)?;
    }
    for v in venue.iter().filter(|_| full) {
        let ours = groups.contains_key(&(v.symbol.as_str(), v.side));
        if !ours && !busy.contains(&v.symbol) {
            found.mismatches.push(Mismatch {
                key: doubt_key(&v.symbol),
                why: format!(
                    "the venue holds a {} {} position of {} that LOMS did not open: check the venue",
                    v.side, v.symbol, v.qty
                ),
                compared: Some((v.symbol.clone(), Vec::new())),
            });
        }
    }
    Ok(found)
}

/// Orders working at the venue that LOMS did not place: LOMS sends only market orders,
/// which never rest, so any other is someone else's (its own in flight are on a `busy`
/// symbol or carry a LOMS client id). A venue that cannot list them is not compared.
fn working_orders(
    client: &dyn ExecutionClient,
    busy: &[String],
    found: &mut Found,
) -> Result<(), ExecError> {
    let orders = match client.open_orders() {
        Err(ExecError::NotSupported(_)) => return Ok(()),
        other => other?,
    };
    for (symbol, client_oid, order_id) in orders {
        let ours = loms_domain::ClientOid::parse(&client_oid)
            .ok()
            .and_then(|c| c.leg())
            .is_some();
        if ours || busy.contains(&symbol) {
            continue;
        }
        found.mismatches.push(Mismatch {
            key: format!("{VENUE_PREFIX}order:{order_id}"),
            why: format!(
                "the venue holds a working order {order_id} ({client_oid}) on {symbol} that LOMS \
                 did not place: cancel it at the venue"
            ),
            compared: None,
        });
    }
    Ok(())
}
