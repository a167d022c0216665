//! `loms-health --live`: the read-only pre-open checklist against Bitget.
//!
//! Loads the settings the way loms-server does (`--profile`, `--config-dir`,
//! `--env-file`, `--set`, the environment), builds the same Bitget client
//! ([`BitgetClient::from_parts`]) and runs the venue gates of a live start
//! ([`loms_bitget::gates::run`]) without their one write: a hedge-mode account is
//! reported, never switched. Then the USDT balance, and the server's reconciliation
//! state (`checks.venue` of its `/health`: every order settled, positions matching the
//! venue, or the doubts holding entries, the last order error among them).
//!
//! Only GET requests reach the venue (its public time, the key's info, the futures
//! account): nothing is switched, placed or cancelled. No secret is ever printed.

use crate::{
    Args, Check, EXIT_DEGRADED, EXIT_OK, EXIT_UNREACHABLE, Mark, TOOL, as_json, check_lines,
    server_side, verdict,
};
use loms_bitget::gates::{self, GateCheck, GateSettings};
use loms_bitget::{BitgetClient, BitgetError};
use loms_client::{Client, Method, show};
use loms_config::{BrokerMode, ConfigSources, LIVE_CONFIRM_PHRASE, Settings};
use serde_json::Value;
use std::io::Write;

/// The symbol whose futures account the gates read (position mode, margin mode): any
/// listed USDT-M contract shows the same account, as at a live start.
const GATE_SYMBOL: &str = "BTCUSDT";

/// Shown for `LIVE_ACCOUNT_UID` when it is not set (the `key` check then fails).
const UNSET: &str = "(not set)";

/// Name of the line of the server's reconciliation state.
const RECONCILIATION: &str = "reconciliation";

/// Run the checklist; print it (or its JSON) to `out`, problems to `err`; the exit code.
pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let sources = ConfigSources::from_process(
        args.profile.clone(),
        args.config_dir.clone(),
        args.env_file.clone(),
        args.set.clone(),
    );
    let settings = match loms_config::load(&sources) {
        Ok(s) => s,
        Err(e) => {
            let problems: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
            let line = Check::new(
                "settings",
                Mark::Fail,
                format!(
                    "invalid configuration (loms-server refuses it too): {}; fix it in config/<profile>.toml, .env or the environment",
                    problems.join("; ")
                ),
            );
            return finish(args, None, &[line], &Value::Null, out);
        }
    };
    for w in &settings.warnings {
        let _ = writeln!(err, "{TOOL}: warning: {w}");
    }
    let server = match &args.url {
        Some(url) => Client::new(url),
        None => Client::for_bind(settings.bind),
    }
    .with_timeout(args.timeout);

    let mut checks = vec![settings_check(&settings)];
    let client = BitgetClient::from_parts(
        &settings.bitget_base_url,
        settings.bitget_demo,
        args.timeout,
        |name| settings.bitget_credential(name).map(str::to_owned),
        settings.bitget_secrets_file.as_deref(),
    );
    match client {
        Err(e) => checks.push(Check::new("credentials", Mark::Fail, e.to_string())),
        Ok(client) => {
            checks.push(Check::new(
                "credentials",
                Mark::Pass,
                credentials_source(&settings),
            ));
            if let Err(e) = client.sync_time()
                && let Some(why) = unreachable(&e)
            {
                let _ = writeln!(
                    err,
                    "{TOOL}: cannot reach Bitget at {} ({why}). Check BITGET_BASE_URL and this machine's network.",
                    settings.bitget_base_url
                );
                return EXIT_UNREACHABLE;
            }
            let gates = gates::run(&client, &gate_settings(&settings));
            checks.extend(gates.into_iter().map(from_gate));
            checks.push(balance(&client));
        }
    }
    let (line, health) = reconciliation(args, &server, &settings);
    checks.push(line);
    finish(
        args,
        Some((&settings, server.base())),
        &checks,
        &health,
        out,
    )
}

/// What the gates hold the venue to: the live settings, read-only.
fn gate_settings(s: &Settings) -> GateSettings {
    GateSettings {
        account_uid: s.live_account_uid.clone().unwrap_or_else(|| UNSET.into()),
        sub_account: s.live_sub_account,
        max_equity_usdt: s.live_max_equity_usdt,
        max_clock_skew: s.live_max_clock_skew,
        symbol: GATE_SYMBOL.into(),
        switch_to_one_way: false,
    }
}

/// A gate's line.
fn from_gate(g: GateCheck) -> Check {
    Check::new(g.name, Mark::from_ok(g.ok), g.detail)
}

/// Why the venue cannot be reached at all (the request never left, or no answer came);
/// `None` when it answered, even with a refusal (the gates then say what to fix).
fn unreachable(e: &BitgetError) -> Option<String> {
    match e {
        BitgetError::Unreachable(why) => Some(why.clone()),
        BitgetError::NoAnswer(why) => Some(format!("no answer: {why}")),
        _ => None,
    }
}

/// `settings`: what a live start needs besides the venue (the account UID, and with
/// `BROKER_MODE=live` the confirmation).
fn settings_check(s: &Settings) -> Check {
    let mut problems = Vec::new();
    if s.live_account_uid.is_none() {
        problems.push(
            "LIVE_ACCOUNT_UID is not set: set it to the UID of the trading sub-account (the key must belong to it)"
                .to_owned(),
        );
    }
    if s.broker_mode == BrokerMode::Live && !s.live_confirm {
        problems.push(format!(
            "BROKER_MODE=live without LIVE_CONFIRM={LIVE_CONFIRM_PHRASE}: loms-server refuses to start live"
        ));
    }
    if problems.is_empty() {
        let mode = match s.broker_mode {
            BrokerMode::Live => "BROKER_MODE=live, LIVE_CONFIRM set",
            BrokerMode::Paper => "BROKER_MODE=paper (the server sends nothing to Bitget)",
        };
        Check::new(
            "settings",
            Mark::Pass,
            format!("profile {}, {mode}", s.profile),
        )
    } else {
        Check::new("settings", Mark::Fail, problems.join("; "))
    }
}

/// Where the key was read from (never any part of it).
fn credentials_source(s: &Settings) -> String {
    let names = [
        "BITGET_API_KEY",
        "BITGET_API_SECRET",
        "BITGET_API_PASSPHRASE",
    ];
    match &s.bitget_secrets_file {
        Some(file) if !names.iter().all(|n| s.bitget_credential(n).is_some()) => format!(
            "key read from BITGET_SECRETS_FILE {} (only its owner may read it)",
            show::clean(&file.display().to_string())
        ),
        _ => "key set in the settings (BITGET_API_KEY, BITGET_API_SECRET, BITGET_API_PASSPHRASE)"
            .to_owned(),
    }
}

/// `balance`: the USDT futures account's equity and what a new position may still use.
fn balance(client: &BitgetClient) -> Check {
    match client.usdt_account() {
        Ok(a) => {
            let detail = format!(
                "equity {} USDT, available {} USDT",
                a.equity.normalize(),
                a.isolated_max_available.normalize()
            );
            if a.isolated_max_available.is_sign_positive() && !a.isolated_max_available.is_zero() {
                Check::new("balance", Mark::Pass, detail)
            } else {
                Check::new(
                    "balance",
                    Mark::Warn,
                    format!(
                        "{detail}: nothing left for a new position; transfer USDT to the sub-account's futures account"
                    ),
                )
            }
        }
        Err(e) => Check::new("balance", Mark::Fail, format!("cannot ask Bitget: {e}")),
    }
}

/// `reconciliation`: the server's `checks.venue` when it answers, with the raw
/// `/health` (`null` when there is none). A server that does not answer is a warning,
/// a failure with `--expect-running`.
fn reconciliation(args: &Args, server: &Client, s: &Settings) -> (Check, Value) {
    let url = server.base();
    let answer = match server.fetch(Method::Get, "/health", &[], None) {
        Ok(answer) => answer,
        Err(e) => {
            let (mark, then) = if args.expect_running {
                (
                    Mark::Fail,
                    "it must be running (--expect-running): start it, or check --url",
                )
            } else {
                (
                    Mark::Warn,
                    "not checked (fine before its first start; --expect-running makes this a failure)",
                )
            };
            let detail = format!(
                "LOMS at {url} does not answer ({}): {then}",
                show::reason(&e)
            );
            return (Check::new(RECONCILIATION, mark, detail), Value::Null);
        }
    };
    let endpoint = format!("{url}/health");
    let health = show::parse_json(&endpoint, &answer).ok();
    let Some((health, (label, _))) = health.and_then(|h| verdict(&h).ok().map(|v| (h, v))) else {
        let detail = format!(
            "the answer of {endpoint} (HTTP {}) is not a LOMS health report: check --url",
            answer.status
        );
        return (Check::new(RECONCILIATION, Mark::Fail, detail), Value::Null);
    };
    let theirs = health
        .get("broker_mode")
        .and_then(Value::as_str)
        .map_or_else(|| "-".to_owned(), show::clean);
    let ours = s.broker_mode.as_str();
    let mut line = if theirs != ours {
        Check::new(
            RECONCILIATION,
            Mark::Fail,
            format!(
                "the server at {url} trades BROKER_MODE={theirs}, these settings say {ours}: give loms-health the server's --profile / --env-file (or check --url)"
            ),
        )
    } else if s.broker_mode == BrokerMode::Paper {
        Check::new(
            RECONCILIATION,
            Mark::Warn,
            format!("the server at {url} trades paper: nothing to reconcile with the venue"),
        )
    } else {
        server_side(RECONCILIATION, health.pointer("/checks/venue"))
    };
    if label != "OK" {
        line.detail.push_str(&format!(
            " (the server is {label}: run loms-health without --live for its checklist)"
        ));
    }
    (line, health)
}

/// Print the report (or the JSON) and return the exit code. `settings` and the server's
/// URL make the header; `None` when the settings could not be loaded.
fn finish(
    args: &Args,
    settings: Option<(&Settings, &str)>,
    checks: &[Check],
    health: &Value,
    out: &mut dyn Write,
) -> u8 {
    let failing = checks.iter().any(|c| c.mark == Mark::Fail);
    let text = if args.json {
        show::pretty(&as_json(checks, health))
    } else {
        report(settings, failing, checks)
    };
    let _ = out.write_all(text.as_bytes());
    if failing { EXIT_DEGRADED } else { EXIT_OK }
}

/// The readable report: header, the live settings, the checklist, the summary.
fn report(settings: Option<(&Settings, &str)>, failing: bool, checks: &[Check]) -> String {
    let label = if failing { "NOT OK" } else { "OK" };
    let mut lines = Vec::new();
    match settings {
        None => lines.push(format!("{label}  loms-health --live")),
        Some((s, url)) => {
            let demo = if s.bitget_demo { " (demo trading)" } else { "" };
            lines.push(format!(
                "{label}  loms-health --live  Bitget {}{demo}  profile={}",
                show::clean(&s.bitget_base_url),
                show::clean(&s.profile)
            ));
            let shown = [
                ("url", url.to_owned()),
                ("broker_mode", s.broker_mode.as_str().to_owned()),
                (
                    "account_uid",
                    s.live_account_uid.clone().unwrap_or_else(|| UNSET.into()),
                ),
                ("sub_account", s.live_sub_account.to_string()),
                ("max_equity", format!("{} USDT", s.live_max_equity_usdt)),
                (
                    "max_clock_skew",
                    format!("{} ms", s.live_max_clock_skew.as_millis()),
                ),
            ];
            for (key, value) in shown {
                lines.push(format!("  {key:<15} {value}"));
            }
        }
    }
    lines.extend(check_lines(checks));
    lines.push(String::new());
    lines.join("\n")
}
