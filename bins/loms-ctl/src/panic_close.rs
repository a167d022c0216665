//! `panic`: kill switch on, close every open position, verify none is left.
//!
//! Steps, each printed with OK or FAIL:
//!
//! 1. kill switch on (`entries_off`, set by `cli`; a stricter `reduce_only` or
//!    `flatten` already in force is left as it is),
//! 2. `POST /admin/close-all`,
//! 3. `GET /positions/?status=open`: none may be left; otherwise close-all once more
//!    and verify again.
//!
//! A step that fails does not stop the next ones (closing positions matters even if
//! the kill switch could not be set), except when the server cannot be reached at all
//! or stops answering (two calls in a row without an answer). Every call has its own
//! timeout and the whole procedure a budget of [`BUDGET`], so it ends well within a
//! minute however slow the server is.

use crate::http::{Api, CallError};
use crate::kill::{self, TradingState};
use crate::{EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, fallback_advice, say};
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};

/// The most the whole procedure may take.
pub(crate) const BUDGET: Duration = Duration::from_secs(40);
/// The most the first look at the current mode may take (it is only a courtesy).
pub(crate) const PEEK_TIMEOUT: Duration = Duration::from_secs(5);
/// Below this much time left, a call is not started.
const MIN_CALL: Duration = Duration::from_millis(500);

/// How the procedure is going.
struct Run<'a> {
    api: &'a Api,
    started: Instant,
    /// Whether the server answered anything at all.
    answered: bool,
    /// Calls in a row that got no answer in time.
    silent_in_a_row: u32,
}

/// Why a step's call failed.
enum Fail {
    /// Give up: the server is unreachable or not answering.
    Abort(String),
    /// This call failed; the next step may still work.
    Step(String),
}

impl Run<'_> {
    /// Time for the next call, or `None` when the budget is spent.
    fn time_for_call(&self, cap: Duration) -> Option<Duration> {
        let left = BUDGET.saturating_sub(self.started.elapsed());
        (left >= MIN_CALL).then(|| left.min(cap))
    }

    fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        cap: Duration,
    ) -> Result<Value, Fail> {
        let Some(timeout) = self.time_for_call(cap) else {
            return Err(Fail::Step(format!(
                "not tried: the {} s budget of the panic procedure is spent",
                BUDGET.as_secs()
            )));
        };
        let r = match body {
            Some(b) => self.api.post(path, b, timeout),
            None => self.api.get(path, timeout),
        };
        match r {
            Ok(v) => {
                self.answered = true;
                self.silent_in_a_row = 0;
                Ok(v)
            }
            Err(e) => {
                let text = format!("{method} {path}: {}", self.api.describe(&e));
                match e {
                    CallError::Unreachable(_) => Err(Fail::Abort(text)),
                    CallError::Timeout(_) => {
                        self.silent_in_a_row += 1;
                        if self.silent_in_a_row >= 2 {
                            Err(Fail::Abort(format!(
                                "{text} (second call in a row without an answer)"
                            )))
                        } else {
                            Err(Fail::Step(text))
                        }
                    }
                    CallError::Status { .. } | CallError::Other(_) => {
                        self.answered = true;
                        self.silent_in_a_row = 0;
                        Err(Fail::Step(text))
                    }
                }
            }
        }
    }
}

/// Run the procedure; returns the exit code. The last line of `out` is
/// `PANIC COMPLETE: ...` (exit 0) or `PANIC INCOMPLETE: ...`. `silent` counts the
/// calls just before that got no answer (the look at `/health` that chose this
/// procedure), so a silent server is given up on as quickly as without that look.
pub(crate) fn run(api: &Api, silent: u32, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut r = Run {
        api,
        started: Instant::now(),
        answered: false,
        silent_in_a_row: silent,
    };
    say!(
        out,
        "PANIC on {}: kill switch on, close every position, verify none is open",
        api.base()
    );
    match steps(&mut r, out) {
        Ok(code) => code,
        Err(why) => gave_up(
            api,
            (out, err),
            "trading state and open positions UNKNOWN",
            why,
        ),
    }
}

/// A panic that lost the server: the last line says what is `unknown`, stderr says
/// why and what to do instead; the exit code of an unreachable server.
pub(crate) fn gave_up(
    api: &Api,
    (out, err): (&mut dyn Write, &mut dyn Write),
    unknown: &str,
    why: String,
) -> u8 {
    say!(
        out,
        "PANIC INCOMPLETE: server unreachable or not answering; {unknown}"
    );
    let u = crate::Unreachable {
        url: api.base().to_string(),
        cause: why,
    };
    say!(err, "loms-ctl: {u}");
    say!(err, "{}", fallback_advice(api.base()));
    EXIT_UNREACHABLE
}

/// The steps; `Err` when the server is unreachable.
fn steps(r: &mut Run<'_>, out: &mut dyn Write) -> Result<u8, String> {
    let kill_ok = kill_switch(r, out)?;
    close_all(r, out, "step 2/3 close all positions")?;
    let mut open = verify(r, out, "step 3/3 verify none open")?;
    if open.as_ref().is_none_or(|o| !o.is_empty()) {
        say!(out, "     retrying close-all once");
        close_all(r, out, "step 2/3 close all positions (retry)")?;
        open = verify(r, out, "step 3/3 verify none open (retry)")?;
    }
    let took = format!("took {:.1} s", r.started.elapsed().as_secs_f64());
    let off = if kill_ok {
        ""
    } else {
        "; trading NOT confirmed off (kill switch failed)"
    };
    Ok(match open {
        Some(o) if o.is_empty() && kill_ok => {
            say!(
                out,
                "PANIC COMPLETE: trading off, 0 positions open ({took})"
            );
            EXIT_OK
        }
        Some(o) if o.is_empty() => {
            say!(out, "PANIC INCOMPLETE: 0 positions open{off} ({took})");
            next_steps(r, out);
            EXIT_FAILED
        }
        Some(o) => {
            let ids: Vec<String> = o.iter().map(|(id, _)| id.to_string()).collect();
            say!(
                out,
                "PANIC INCOMPLETE: {} positions still open: ids {}{off} ({took})",
                o.len(),
                ids.join(", ")
            );
            next_steps(r, out);
            EXIT_FAILED
        }
        None => {
            say!(
                out,
                "PANIC INCOMPLETE: could not verify that no position is open{off} ({took})"
            );
            next_steps(r, out);
            if r.answered {
                EXIT_FAILED
            } else {
                EXIT_UNREACHABLE
            }
        }
    })
}

fn next_steps(r: &Run<'_>, out: &mut dyn Write) {
    say!(
        out,
        "Next: read the FAIL lines above, fix and run `loms-ctl panic` again. If it keeps failing:"
    );
    say!(out, "{}", fallback_advice(r.api.base()));
}

/// Step 1; `Ok(true)` when new entries are confirmed stopped.
fn kill_switch(r: &mut Run<'_>, out: &mut dyn Write) -> Result<bool, String> {
    const STEP: &str = "step 1/3 kill switch on";
    // A stricter mode already in force stays: entries_off would allow manual orders.
    match r.call("GET", "/admin/oms", None, PEEK_TIMEOUT.min(r.api.timeout())) {
        Ok(v) => {
            let stricter = TradingState::from_json(&v)
                .filter(|s| matches!(s.mode.as_str(), "reduce_only" | "flatten"));
            if let Some(s) = stricter {
                say!(out, "OK   {STEP}: already {}, left as it is", s.short());
                return Ok(true);
            }
        }
        Err(Fail::Abort(why)) => {
            say!(out, "FAIL {STEP}: {why}");
            return Err(why);
        }
        // Could not look: set the mode anyway.
        Err(Fail::Step(_)) => {}
    }
    let mode = "entries_off";
    let cap = r.api.timeout();
    match r.call("POST", "/admin/oms", Some(&kill::mode_request(mode)), cap) {
        Ok(v) => match kill::read_answer(&v, mode) {
            Ok(s) => {
                say!(out, "OK   {STEP}: mode {}", s.short());
                Ok(true)
            }
            Err(e) => {
                say!(out, "FAIL {STEP}: POST /admin/oms: {e}");
                Ok(false)
            }
        },
        Err(Fail::Step(why)) => {
            say!(out, "FAIL {STEP}: {why}");
            Ok(false)
        }
        Err(Fail::Abort(why)) => {
            say!(out, "FAIL {STEP}: {why}");
            Err(why)
        }
    }
}

/// Step 2: close-all, printing each position closed or not.
fn close_all(r: &mut Run<'_>, out: &mut dyn Write, step: &str) -> Result<(), String> {
    let cap = r.api.timeout();
    let v = match r.call("POST", "/admin/close-all", Some(&json!({})), cap) {
        Ok(v) => v,
        Err(Fail::Step(why)) => {
            say!(out, "FAIL {step}: {why}");
            return Ok(());
        }
        Err(Fail::Abort(why)) => {
            say!(out, "FAIL {step}: {why}");
            return Err(why);
        }
    };
    let closed = list(&v, "closed");
    let failed = list(&v, "failed");
    let mark = if failed.is_empty() { "OK  " } else { "FAIL" };
    say!(
        out,
        "{mark} {step}: {} closed, {} failed",
        closed.len(),
        failed.len()
    );
    for p in closed {
        say!(
            out,
            "       closed #{} {} close_price {} pnl {}",
            text(p, "id"),
            text(p, "symbol"),
            text(p, "close_price"),
            text(p, "pnl")
        );
    }
    for f in failed {
        say!(
            out,
            "       NOT closed #{} {}: {}",
            text(f, "position_id"),
            text(f, "symbol"),
            text(f, "error")
        );
    }
    Ok(())
}

/// Step 3: the open positions (id, symbol), or `None` when they could not be read.
fn verify(
    r: &mut Run<'_>,
    out: &mut dyn Write,
    step: &str,
) -> Result<Option<Vec<(String, String)>>, String> {
    let cap = r.api.timeout();
    let v = match r.call("GET", "/positions/?status=open", None, cap) {
        Ok(v) => v,
        Err(Fail::Step(why)) => {
            say!(out, "FAIL {step}: {why}");
            return Ok(None);
        }
        Err(Fail::Abort(why)) => {
            say!(out, "FAIL {step}: {why}");
            return Err(why);
        }
    };
    let Some(items) = v.as_array() else {
        say!(
            out,
            "FAIL {step}: GET /positions/?status=open: unexpected answer (not a list)"
        );
        return Ok(None);
    };
    let open: Vec<(String, String)> = items
        .iter()
        .map(|p| (text(p, "id"), text(p, "symbol")))
        .collect();
    if open.is_empty() {
        say!(out, "OK   {step}: 0 positions open");
    } else {
        say!(out, "FAIL {step}: {} positions still open", open.len());
        for (id, symbol) in &open {
            say!(out, "       open #{id} {symbol}");
        }
    }
    Ok(Some(open))
}

fn list<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A field for display: strings bare, numbers as given, absent as `?`.
fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "?".into(),
        Some(other) => other.to_string(),
    }
}
