//! The venue next to LOMS (`GET /venue`), for people: one block per symbol with what the
//! venue holds, what LOMS holds, the difference and the exact command that settles it.
//! Shared by `reconcile` and the live `panic`.

use crate::say;
use loms_domain::{Decimal, LomsHolding, VenueHolding, VenueView};
use std::collections::BTreeSet;
use std::io::Write;

/// One symbol as the venue and LOMS hold it.
pub(crate) struct Row<'a> {
    /// Instrument.
    pub(crate) symbol: &'a str,
    /// The venue's position on it, if any.
    pub(crate) venue: Option<&'a VenueHolding>,
    /// LOMS's open positions on it.
    pub(crate) loms: Vec<&'a LomsHolding>,
}

/// What settles a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settle {
    /// The venue and LOMS agree.
    Match,
    /// A difference, what it is, and the commands that settle it (command, what it does).
    Commands(String, Vec<(String, String)>),
    /// A difference no `reconcile` command settles, and what to do instead.
    Other(String),
}

/// Every symbol either side holds, sorted.
pub(crate) fn rows(view: &VenueView) -> Vec<Row<'_>> {
    let symbols: BTreeSet<&str> = view
        .positions
        .iter()
        .map(|v| v.symbol.as_str())
        .chain(view.loms.iter().map(|p| p.symbol.as_str()))
        .collect();
    symbols
        .into_iter()
        .map(|symbol| Row {
            symbol,
            venue: view.positions.iter().find(|v| v.symbol == symbol),
            loms: view.loms.iter().filter(|p| p.symbol == symbol).collect(),
        })
        .collect()
}

/// The size of the venue's position LOMS does not own (what `--close` takes), as the
/// server computes it.
pub(crate) fn unowned(v: &VenueHolding, loms: &[&LomsHolding]) -> Decimal {
    let owned: Decimal = loms
        .iter()
        .filter(|p| p.side == v.side)
        .map(|p| p.qty)
        .sum();
    (v.qty - owned).normalize()
}

/// `loms-ctl reconcile --adopt SYMBOL`.
pub(crate) fn adopt_command(symbol: &str) -> String {
    format!("loms-ctl reconcile --adopt {symbol}")
}

/// `loms-ctl reconcile --close SYMBOL --qty Q`.
pub(crate) fn close_command(symbol: &str, qty: Decimal) -> String {
    format!(
        "loms-ctl reconcile --close {symbol} --qty {}",
        qty.normalize()
    )
}

/// What settles `row`.
pub(crate) fn settle(row: &Row<'_>) -> Settle {
    let s = row.symbol;
    match (row.venue, &row.loms[..]) {
        (None, []) => Settle::Match,
        (Some(v), []) => Settle::Commands(
            format!(
                "the venue holds {} {} {} that LOMS does not know",
                v.side,
                v.qty.normalize(),
                s
            ),
            vec![
                (
                    adopt_command(s),
                    "take it into LOMS as a position (LOMS then manages and closes it)".into(),
                ),
                (
                    close_command(s, v.qty),
                    "close it at the venue, reduce-only market order".into(),
                ),
            ],
        ),
        (None, [one]) => Settle::Commands(
            format!(
                "LOMS holds position #{} ({} {}) that the venue does not hold",
                one.id,
                one.side,
                one.qty.normalize()
            ),
            vec![(
                adopt_command(s),
                format!(
                    "take the venue's word: close #{} in LOMS at the market price, no order sent",
                    one.id
                ),
            )],
        ),
        (None, many) => Settle::Other(format!(
            "LOMS holds {} positions the venue does not hold: no reconcile command fits; \
             close them with POST /positions/{{id}}/close or see docs/live.md",
            many.len()
        )),
        (Some(v), loms) => {
            let extra = unowned(v, loms);
            let owned_total: Decimal = loms.iter().map(|p| p.qty).sum();
            if extra > Decimal::ZERO {
                Settle::Commands(
                    format!(
                        "the venue holds {} {} {}, LOMS owns {} of it",
                        v.side,
                        v.qty.normalize(),
                        s,
                        (v.qty - extra).normalize()
                    ),
                    vec![(
                        close_command(s, extra),
                        format!("close at the venue, reduce-only, the {extra} LOMS does not own"),
                    )],
                )
            } else if extra == Decimal::ZERO && loms.iter().all(|p| p.side == v.side) {
                Settle::Match
            } else {
                Settle::Other(format!(
                    "the venue holds {} {} {}, LOMS {} (more than the venue): no reconcile \
                     command fits; bring the venue to LOMS's size in the Bitget app, or close \
                     the LOMS position with POST /positions/{{id}}/close, then look again",
                    v.side,
                    v.qty.normalize(),
                    s,
                    owned_total.normalize()
                ))
            }
        }
    }
}

/// `long 0.002 entry 64210 stop 63000`, or `nothing`.
pub(crate) fn venue_text(v: Option<&VenueHolding>) -> String {
    match v {
        None => "nothing".into(),
        Some(v) => format!(
            "{} {} entry {} stop {}",
            v.side,
            v.qty.normalize(),
            v.entry_price.normalize(),
            v.stop_loss
                .map_or_else(|| "none".into(), |p| p.normalize().to_string())
        ),
    }
}

/// `#7 long 0.001 (order L1-7-x1 submitted at the venue)`.
pub(crate) fn loms_text(p: &LomsHolding) -> String {
    let mut s = format!("#{} {} {}", p.id, p.side, p.qty.normalize());
    if let Some(w) = &p.working {
        s.push_str(&format!(" (order {w} at the venue)"));
    }
    s
}

/// The LOMS side of a row, `nothing` when empty.
pub(crate) fn loms_list(loms: &[&LomsHolding]) -> String {
    if loms.is_empty() {
        return "nothing".into();
    }
    loms.iter()
        .map(|p| loms_text(p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Print one symbol's block; returns whether it differs.
pub(crate) fn print_row(row: &Row<'_>, out: &mut dyn Write) -> bool {
    let settle = settle(row);
    let mark = if settle == Settle::Match {
        "OK  "
    } else {
        "DIFF"
    };
    say!(out, "{mark} {}", row.symbol);
    say!(out, "       venue: {}", venue_text(row.venue));
    say!(out, "       LOMS:  {}", loms_list(&row.loms));
    let working = row.loms.iter().any(|p| p.working.is_some());
    match settle {
        Settle::Match => false,
        Settle::Commands(what, commands) => {
            say!(out, "       difference: {what}");
            if working {
                say!(
                    out,
                    "       an order is working on it: the difference may settle by itself; look again in a few seconds first"
                );
            }
            for (i, (cmd, does)) in commands.iter().enumerate() {
                let lead = if i == 0 { "settle:" } else { "    or:" };
                say!(out, "       {lead} {cmd}");
                say!(out, "               ({does})");
            }
            true
        }
        Settle::Other(what) => {
            say!(out, "       difference: {what}");
            true
        }
    }
}

/// The doubts, one line each (`none` when there is none).
pub(crate) fn print_doubts(view: &VenueView, out: &mut dyn Write) {
    if view.doubts.is_empty() {
        say!(
            out,
            "doubts: none (entries are not held by the venue check)"
        );
        return;
    }
    say!(
        out,
        "doubts: {} (entries are HELD while any is left)",
        view.doubts.len()
    );
    for d in &view.doubts {
        say!(out, "  - {}: {}", d.key, d.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loms_domain::Side;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn venue(qty: Decimal) -> VenueHolding {
        VenueHolding {
            symbol: "BTCUSDT".into(),
            side: Side::Long,
            qty,
            entry_price: dec("64210.0"),
            stop_loss: Some(dec("63000")),
        }
    }

    fn ours(id: i64, qty: Decimal) -> LomsHolding {
        LomsHolding {
            id,
            symbol: "BTCUSDT".into(),
            side: Side::Long,
            qty,
            working: None,
        }
    }

    fn settled(v: Option<VenueHolding>, l: Vec<LomsHolding>) -> Settle {
        let row = Row {
            symbol: "BTCUSDT",
            venue: v.as_ref(),
            loms: l.iter().collect(),
        };
        settle(&row)
    }

    #[test]
    fn each_difference_gets_the_command_that_settles_it() {
        assert_eq!(
            settled(Some(venue(dec("0.001"))), vec![ours(1, dec("0.001"))]),
            Settle::Match
        );
        let Settle::Commands(_, c) = settled(Some(venue(dec("0.0020"))), vec![]) else {
            panic!()
        };
        assert_eq!(c[0].0, "loms-ctl reconcile --adopt BTCUSDT");
        assert_eq!(c[1].0, "loms-ctl reconcile --close BTCUSDT --qty 0.002");
        let Settle::Commands(_, c) = settled(None, vec![ours(7, dec("0.001"))]) else {
            panic!()
        };
        assert_eq!(c, vec![(adopt_command("BTCUSDT"), c[0].1.clone())]);
        assert!(c[0].1.contains("#7"));
        let Settle::Commands(what, c) =
            settled(Some(venue(dec("0.003"))), vec![ours(7, dec("0.001"))])
        else {
            panic!()
        };
        assert!(what.contains("LOMS owns 0.001"), "{what}");
        assert_eq!(c[0].0, "loms-ctl reconcile --close BTCUSDT --qty 0.002");
        assert!(matches!(
            settled(Some(venue(dec("0.001"))), vec![ours(7, dec("0.002"))]),
            Settle::Other(_)
        ));
        assert!(matches!(
            settled(None, vec![ours(7, dec("0.002")), ours(8, dec("0.001"))]),
            Settle::Other(_)
        ));
    }

    #[test]
    fn holdings_read_at_a_glance() {
        assert_eq!(
            venue_text(Some(&venue(dec("0.0010")))),
            "long 0.001 entry 64210 stop 63000"
        );
        let mut p = ours(7, dec("0.001"));
        p.working = Some("L1-7-x1 submitted".into());
        assert_eq!(
            loms_text(&p),
            "#7 long 0.001 (order L1-7-x1 submitted at the venue)"
        );
    }
}
