//! `kill on|off|status`: the runtime kill switch behind `/admin/oms`.

use crate::http::Api;
use crate::{EXIT_OK, say};
use anyhow::bail;
use serde_json::{Value, json};
use std::io::Write;

/// The kill switch as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TradingState {
    /// `active`, `entries_off`, `reduce_only` or `flatten`.
    pub(crate) mode: String,
    /// RFC 3339 time it was set.
    pub(crate) since: String,
    /// Who set it (`cli`, `api`, `config`...).
    pub(crate) set_by: String,
}

impl TradingState {
    /// From `{"mode", "since", "set_by"}`; `None` without a mode.
    pub(crate) fn from_json(v: &Value) -> Option<Self> {
        let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Self {
            mode: field("mode")?,
            since: field("since").unwrap_or_else(|| "?".into()),
            set_by: field("set_by").unwrap_or_else(|| "?".into()),
        })
    }

    /// Whether new entries are stopped.
    pub(crate) fn engaged(&self) -> bool {
        self.mode != "active"
    }

    /// `entries_off (set by cli at 2026-...)`.
    pub(crate) fn short(&self) -> String {
        format!("{} (set by {} at {})", self.mode, self.set_by, self.since)
    }
}

/// What a mode means, in one line.
pub(crate) fn meaning(mode: &str) -> &'static str {
    match mode {
        "active" => "kill switch OFF: signals may open positions",
        "entries_off" => "kill switch ON: signals open nothing; exits and manual orders go on",
        "reduce_only" => {
            "kill switch ON: nothing may open (neither signals nor manual orders); exits go on"
        }
        "flatten" => "kill switch ON: positions were closed; nothing may open",
        _ => "unknown mode",
    }
}

/// `POST /admin/oms {"mode", "set_by": "cli"}` within `timeout`; the state the server
/// answers, checked to be the one asked for.
pub(crate) fn post_mode(
    api: &Api,
    mode: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<TradingState> {
    let what = format!("POST /admin/oms mode={mode}");
    let v = api
        .post("/admin/oms", &mode_request(mode), timeout)
        .map_err(|e| api.explain(&what, e))?;
    read_answer(&v, mode).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

/// The body of `POST /admin/oms`.
pub(crate) fn mode_request(mode: &str) -> Value {
    json!({"mode": mode, "set_by": "cli"})
}

/// The state in the answer of `POST /admin/oms`, checked to be `mode`.
pub(crate) fn read_answer(v: &Value, mode: &str) -> Result<TradingState, String> {
    let Some(state) = v.get("trading").and_then(TradingState::from_json) else {
        return Err(format!("unexpected answer (no trading.mode): {v}"));
    };
    if state.mode != mode {
        return Err(format!(
            "the server reports mode {} instead of {mode}",
            state.mode
        ));
    }
    Ok(state)
}

/// `kill on` / `kill off`.
pub(crate) fn set(api: &Api, mode: &str, out: &mut dyn Write) -> anyhow::Result<u8> {
    let state = post_mode(api, mode, api.timeout())?;
    let verb = if state.engaged() { "ON" } else { "OFF" };
    say!(
        out,
        "OK   kill switch {verb}: trading mode is now {}",
        state.mode
    );
    print_state(&state, api, out);
    Ok(EXIT_OK)
}

/// `kill status`.
pub(crate) fn status(api: &Api, out: &mut dyn Write) -> anyhow::Result<u8> {
    let what = "GET /admin/oms";
    let v = api
        .get("/admin/oms", api.timeout())
        .map_err(|e| api.explain(what, e))?;
    let Some(state) = TradingState::from_json(&v) else {
        bail!("{what}: unexpected answer (no mode): {v}");
    };
    print_state(&state, api, out);
    Ok(EXIT_OK)
}

fn print_state(state: &TradingState, api: &Api, out: &mut dyn Write) {
    say!(out, "mode:    {}", state.mode);
    say!(out, "meaning: {}", meaning(&state.mode));
    say!(out, "since:   {}", state.since);
    say!(out, "set by:  {}", state.set_by);
    say!(out, "server:  {}", api.base());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_leniently() {
        let s = TradingState::from_json(&json!({"mode": "entries_off", "set_by": "cli"})).unwrap();
        assert_eq!((s.since.as_str(), s.engaged()), ("?", true));
        assert!(TradingState::from_json(&json!({"since": "x"})).is_none());
        assert!(
            !TradingState::from_json(&json!({"mode": "active"}))
                .unwrap()
                .engaged()
        );
    }
}
