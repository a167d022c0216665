//! `panic` against a live server (BROKER_MODE=live): entries off and flatten, then ask
//! the venue until it reports flat and LOMS has nothing open, or the deadline passes.
//!
//! 1. `POST /admin/oms` mode `flatten`: nothing may open any more, and every open
//!    position gets a reduce-only market exit at the venue. There is nothing to cancel:
//!    LOMS sends only market orders, which never rest on the venue's book.
//! 2. `GET /venue` every [`POLL`] until `flat` (the venue holds nothing and LOMS has
//!    nothing open), printing a line whenever what is open changes. Every [`RESEND`]
//!    the flatten step is asked again (the server's auto-close loop repeats it too), so
//!    an exit the venue refused is sent again.
//! 3. At the deadline (`--deadline`), exactly what is still open, on both sides, with
//!    the last exit error and the doubts, and the command that settles each difference.
//!
//! Exit 0 only when the venue reports flat and trading is off; 1 when something is
//! left; 2 when the server cannot be reached (with the fallback advice).

use crate::http::{Api, CallError};
use crate::venue_show::{self, loms_list, venue_text};
use crate::{EXIT_FAILED, EXIT_OK, say};
use loms_client::{TradingAnswer, TradingMode};
use loms_domain::VenueView;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// How often the venue is asked.
const POLL: Duration = Duration::from_millis(500);
/// How often the progress line is printed when nothing changes.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often the flatten step is asked again while something is open.
const RESEND: Duration = Duration::from_secs(5);
/// The time each look-up of the final report may take (it runs past the deadline).
const LOOKUP: Duration = Duration::from_secs(2);
/// Below this much time left, a call is not started.
const MIN_CALL: Duration = Duration::from_millis(200);

struct Run<'a> {
    api: &'a Api,
    started: Instant,
    deadline: Duration,
    /// Calls in a row without an answer.
    silent: u32,
    /// The last refusal of an exit in a flatten answer, by position id.
    exit_errors: BTreeMap<i64, String>,
    /// Every doubt seen while polling, its latest reason (a refused exit is a doubt
    /// only until the venue's position is compared).
    doubts_seen: BTreeMap<String, String>,
    /// The server refused the flatten (401, 403, 422...): asking again will not help.
    flatten_refused: bool,
}

impl Run<'_> {
    fn left(&self) -> Duration {
        self.deadline.saturating_sub(self.started.elapsed())
    }

    fn secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The time for one call, or `None` past the deadline.
    fn call_time(&self) -> Option<Duration> {
        let left = self.left();
        (left >= MIN_CALL).then(|| left.min(self.api.timeout()))
    }

    /// A failed call: `Err` to give up (unreachable, or silent twice in a row).
    fn failed(&mut self, what: &str, e: loms_client::Error) -> Result<String, String> {
        let e = CallError::from(e);
        let text = format!("{what}: {}", self.api.describe(&e));
        match e {
            CallError::Unreachable(_) => Err(text),
            CallError::Timeout(_) => {
                self.silent += 1;
                if self.silent >= 2 {
                    Err(format!("{text} (second call in a row without an answer)"))
                } else {
                    Ok(text)
                }
            }
            _ => {
                self.silent = 0;
                Ok(text)
            }
        }
    }

    /// `POST /admin/oms` flatten; `Ok(Some)` with the answer, `Ok(None)` when refused.
    fn flatten(
        &mut self,
        out: &mut dyn Write,
        step: &str,
    ) -> Result<Option<TradingAnswer>, String> {
        let Some(t) = self.call_time() else {
            return Ok(None);
        };
        match self.api.client(t).set_trading(TradingMode::Flatten, "cli") {
            Ok(a) => {
                self.silent = 0;
                self.report(&a, out, step);
                Ok(Some(a))
            }
            Err(e) => {
                self.flatten_refused = matches!(&e, loms_client::Error::Refused(api) if (400..500).contains(&api.status));
                let why = self.failed("POST /admin/oms mode=flatten", e)?;
                say!(out, "FAIL {step}: {why}");
                Ok(None)
            }
        }
    }

    /// What a flatten step did; keeps the refusals.
    fn report(&mut self, a: &TradingAnswer, out: &mut dyn Write, step: &str) {
        let Some(r) = &a.flatten else {
            say!(out, "FAIL {step}: the answer has no flatten report");
            return;
        };
        let mark = if r.failed.is_empty() { "OK  " } else { "FAIL" };
        say!(
            out,
            "{mark} {step}: mode {} (set by {} at {}); {} closed, {} exit(s) at the venue, {} refused",
            a.trading.mode.as_str(),
            a.trading.set_by,
            a.trading.since.to_rfc3339(),
            r.closed.len(),
            r.sent.len(),
            r.failed.len()
        );
        for p in &r.closed {
            say!(out, "       closed #{} {}", p.id, p.symbol);
        }
        for s in &r.sent {
            say!(
                out,
                "       exit sent #{} {}: {}",
                s.position_id,
                s.symbol,
                s.detail
            );
        }
        for f in &r.failed {
            say!(
                out,
                "       NOT closed #{} {}: {}",
                f.position_id,
                f.symbol,
                f.error
            );
            self.exit_errors
                .insert(f.position_id, format!("{}: {}", f.symbol, f.error));
        }
    }
}

/// One line of what is open, for the progress.
fn summary(view: &VenueView) -> String {
    let venue: Vec<String> = view
        .positions
        .iter()
        .map(|v| format!("{} {} {}", v.symbol, v.side, v.qty.normalize()))
        .collect();
    let loms: Vec<String> = view
        .loms
        .iter()
        .map(|p| {
            let w = p
                .working
                .as_deref()
                .map_or(String::new(), |w| format!(" [{w}]"));
            format!("#{} {}{w}", p.id, p.symbol)
        })
        .collect();
    let list = |v: &[String]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "venue: {} open ({}); LOMS: {} open ({}); doubts: {}",
        venue.len(),
        list(&venue),
        loms.len(),
        list(&loms),
        view.doubts.len()
    )
}

/// Run the live procedure; returns the exit code. The last line of `out` is
/// `PANIC COMPLETE: ...` (exit 0) or `PANIC INCOMPLETE: ...`.
pub(crate) fn run(api: &Api, deadline: Duration, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut r = Run {
        api,
        started: Instant::now(),
        deadline,
        silent: 0,
        exit_errors: BTreeMap::new(),
        doubts_seen: BTreeMap::new(),
        flatten_refused: false,
    };
    say!(
        out,
        "PANIC (LIVE) on {}: entries off and flatten (reduce-only exits), then ask the venue until flat (deadline {} s)",
        api.base(),
        deadline.as_secs_f64()
    );
    match steps(&mut r, out) {
        Ok(code) => code,
        Err(why) => crate::panic_close::gave_up(
            api,
            (out, err),
            "what is open at the venue is UNKNOWN: check the Bitget app",
            why,
        ),
    }
}

fn steps(r: &mut Run<'_>, out: &mut dyn Write) -> Result<u8, String> {
    let off = r.flatten(out, "step 1/3 entries off, flatten")?.is_some();
    say!(
        out,
        "     nothing to cancel: LOMS sends only market orders, which never rest at the venue"
    );
    let mut last_flatten = Instant::now();
    let mut trading_off = off;
    let mut last_seen: Option<(String, Instant)> = None;
    let mut view: Option<VenueView> = None;
    say!(out, "step 2/3 ask the venue until flat");
    while let Some(t) = r.call_time() {
        match r.api.client(t).venue() {
            Ok(v) => {
                r.silent = 0;
                for d in &v.doubts {
                    r.doubts_seen.insert(d.key.clone(), d.reason.clone());
                }
                let line = summary(&v);
                let stale = last_seen
                    .as_ref()
                    .is_none_or(|(l, at)| *l != line || at.elapsed() >= HEARTBEAT);
                if stale {
                    say!(out, "     [{:5.1} s] {line}", r.secs());
                    last_seen = Some((line, Instant::now()));
                }
                let flat = v.flat;
                view = Some(v);
                // Flat; or nothing will close: the server refuses to flatten.
                if flat || (r.flatten_refused && !trading_off) {
                    break;
                }
            }
            Err(e) => {
                let why = r.failed("GET /venue", e)?;
                say!(out, "     [{:5.1} s] FAIL {why}", r.secs());
            }
        }
        if last_flatten.elapsed() >= RESEND {
            last_flatten = Instant::now();
            trading_off |= r.flatten(out, "     flatten step again")?.is_some();
        }
        let nap = POLL.min(r.left());
        if nap < MIN_CALL {
            break;
        }
        std::thread::sleep(nap);
    }
    let took = format!("took {:.1} s", r.secs());
    Ok(match view {
        Some(v) if v.flat && trading_off => {
            say!(
                out,
                "OK   step 3/3 verify flat: the venue holds nothing, LOMS has nothing open"
            );
            say!(
                out,
                "PANIC COMPLETE: trading off (mode flatten), the venue reports flat and LOMS has nothing open ({took})"
            );
            EXIT_OK
        }
        Some(v) if v.flat => {
            say!(
                out,
                "OK   step 3/3 verify flat: the venue holds nothing, LOMS has nothing open"
            );
            say!(
                out,
                "PANIC INCOMPLETE: flat, but trading NOT confirmed off (the flatten mode could not be set) ({took}); run `loms-ctl kill on --mode reduce_only`"
            );
            EXIT_FAILED
        }
        Some(v) => {
            still_open(r, &v, out);
            let off = if trading_off {
                ""
            } else {
                "; trading NOT confirmed off (the flatten mode could not be set: see the FAIL line)"
            };
            say!(
                out,
                "PANIC INCOMPLETE: NOT flat after {:.1} s: {} venue position(s), {} LOMS position(s) still open (see above){off}",
                r.secs(),
                v.positions.len(),
                v.loms.len()
            );
            EXIT_FAILED
        }
        None => {
            say!(
                out,
                "FAIL step 3/3 verify flat: the venue's positions could not be read"
            );
            say!(
                out,
                "PANIC INCOMPLETE: could not verify that the venue is flat ({took}): check the Bitget app"
            );
            EXIT_FAILED
        }
    })
}

/// Exactly what is left, each symbol on both sides, with the last exit error, the
/// doubts and the commands.
fn still_open(r: &Run<'_>, v: &VenueView, out: &mut dyn Write) {
    say!(out, "FAIL step 3/3 verify flat: still open:");
    for row in venue_show::rows(v) {
        say!(out, "     {}", row.symbol);
        say!(out, "       venue: {}", venue_text(row.venue));
        say!(out, "       LOMS:  {}", loms_list(&row.loms));
        for p in &row.loms {
            if let Some(e) = r.exit_errors.get(&p.id) {
                say!(out, "       last exit error of #{}: {e}", p.id);
            }
            say!(out, "       last exit of #{}: {}", p.id, last_exit(r, p.id));
        }
        if let venue_show::Settle::Commands(what, commands) = venue_show::settle(&row) {
            say!(
                out,
                "       not LOMS's to close: {what}; settle: {}",
                commands[0].0
            );
        }
    }
    venue_show::print_doubts(v, out);
    let gone: Vec<_> = r
        .doubts_seen
        .iter()
        .filter(|(k, _)| !v.doubts.iter().any(|d| &d.key == *k))
        .collect();
    if !gone.is_empty() {
        say!(out, "doubts seen during the panic, gone now:");
        for (k, why) in gone {
            say!(out, "  - {k}: {why}");
        }
    }
    say!(
        out,
        "Next: run `loms-ctl panic` again; `loms-ctl reconcile` shows each difference with its command; \
         if the server cannot close them, close them in the Bitget app (reduce-only) and check that it shows no position"
    );
}

/// The last exit order of position `id` and where it stands (`GET
/// /positions/{id}/orders`), or why it could not be read.
fn last_exit(r: &Run<'_>, id: i64) -> String {
    let t = r.api.timeout().min(LOOKUP);
    match r.api.client(t).position_orders(id) {
        Ok(po) => po.orders.iter().skip(1).last().map_or_else(
            || "none sent yet".to_string(),
            |o| {
                format!(
                    "{} {} (qty {})",
                    o.order.client_oid.as_deref().unwrap_or("?"),
                    o.order.status,
                    o.order.qty.normalize()
                )
            },
        ),
        Err(e) => format!("could not be read: {}", r.api.describe(&CallError::from(e))),
    }
}
