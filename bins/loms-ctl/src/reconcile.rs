//! `reconcile`: the venue next to LOMS (`GET /venue`), and an operator's word on a
//! difference (`POST /venue/reconcile`): `--adopt SYMBOL` or `--close SYMBOL --qty Q`.
//!
//! Exit codes: the view exits 0 when nothing holds entries (no doubt), 1 when doubts
//! are left; an action exits 0 when done, 1 when the server refused it (its message
//! says what fits). A paper server has no venue: 1, saying so. 2: unreachable.

use crate::http::{Api, CallError};
use crate::venue_show::{self, print_doubts, print_row};
use crate::{EXIT_FAILED, EXIT_OK, say};
use loms_client::Error;
use loms_domain::{Decimal, ReconcileAction, ReconcileRequest, VenueView};
use std::io::Write;

/// What `reconcile` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ask {
    /// Show the venue next to LOMS.
    Show,
    /// Take the venue's word on `symbol`.
    Adopt(String),
    /// Close at the venue, reduce-only, `qty` of `symbol` LOMS does not own.
    Close(String, Decimal),
}

/// Run it; `by` is who says so (audited by the server).
pub(crate) fn run(
    api: &Api,
    ask: Ask,
    by: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let (symbol, action, qty) = match ask {
        Ask::Show => return show(api, out, err),
        Ask::Adopt(s) => (s, ReconcileAction::Adopt, None),
        Ask::Close(s, q) => (s, ReconcileAction::Close, Some(q)),
    };
    let req = ReconcileRequest {
        symbol: symbol.clone(),
        action,
        qty,
        by: Some(by.to_string()),
    };
    let what = format!("reconcile {} {symbol}", action.as_str());
    match api.client(api.timeout()).reconcile(&req) {
        Ok(done) => {
            say!(out, "OK   {what}: {}", done.done);
            if let Some(id) = done.position_id {
                say!(out, "     position: #{id}");
            }
            say!(out, "     by: {by} (audited)");
            // What is left, best effort: the action is done whatever this says.
            if let Ok(view) = api.client(api.timeout()).venue() {
                let left = venue_show::rows(&view)
                    .iter()
                    .filter(|r| venue_show::settle(r) != venue_show::Settle::Match)
                    .count();
                say!(
                    out,
                    "     now: {left} difference(s), {} doubt(s) (run `loms-ctl reconcile` to see them)",
                    view.doubts.len()
                );
            }
            Ok(EXIT_OK)
        }
        Err(e) => refused(api, &what, e, out, err),
    }
}

/// `GET /venue`, shown.
fn show(api: &Api, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    match api.client(api.timeout()).venue() {
        Ok(view) => Ok(print_view(&view, api.base(), out)),
        Err(e) => refused(api, "GET /venue", e, out, err),
    }
}

/// The whole view; returns the exit code (0: no doubt, 1: doubts).
fn print_view(view: &VenueView, base: &str, out: &mut dyn Write) -> u8 {
    say!(out, "venue {} next to LOMS at {base}", view.venue);
    let rows = venue_show::rows(view);
    if rows.is_empty() {
        say!(
            out,
            "OK   flat: neither the venue nor LOMS holds a position"
        );
    }
    let mut differ = 0usize;
    for row in &rows {
        if print_row(row, out) {
            differ += 1;
        }
    }
    print_doubts(view, out);
    let code = if view.doubts.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    let verdict = match (differ, view.doubts.len()) {
        (0, 0) => "RECONCILED: the venue and LOMS agree, nothing holds entries".to_string(),
        (0, n) => format!(
            "NOT RECONCILED: the positions agree but {n} doubt(s) hold entries (orders still settling? look again in a few seconds)"
        ),
        (d, 0) => format!(
            "NOT RECONCILED: {d} difference(s), not yet noticed by the server's comparison (settle with the commands above)"
        ),
        (d, n) => format!(
            "NOT RECONCILED: {d} difference(s), {n} doubt(s) holding entries: settle with the commands above"
        ),
    };
    say!(out, "{verdict}");
    code
}

/// A failed call: paper mode, a refusal with what fits, or the usual errors.
fn refused(
    api: &Api,
    what: &str,
    e: Error,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    match CallError::from(e) {
        CallError::Status {
            status: 409,
            code,
            detail,
        } if code == "wrong_mode" => {
            say!(
                out,
                "PAPER MODE: the server at {} runs BROKER_MODE=paper: there is no venue to reconcile ({detail})",
                api.base()
            );
            Ok(EXIT_FAILED)
        }
        CallError::Status {
            status: 422,
            detail,
            ..
        } => {
            say!(out, "REFUSED {what}: {detail}");
            say!(err, "loms-ctl: the server refused {what}; nothing was done");
            Ok(EXIT_FAILED)
        }
        CallError::Status {
            status: 502,
            detail,
            ..
        } => {
            say!(out, "FAILED {what}: {detail}");
            say!(
                err,
                "loms-ctl: {what}: the venue did not answer or refused; run `loms-ctl reconcile` again to see where it stands, and check the Bitget app"
            );
            Ok(EXIT_FAILED)
        }
        e => Err(api.explain(what, e)),
    }
}
