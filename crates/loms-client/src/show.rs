//! Helpers for tools that show LOMS answers on a terminal and take a server address and
//! a time limit on their command line (loms-health, loms-stats and loms-ctl use them).

use crate::{Answer, Error, Problem, TransportKind};
use serde_json::Value;
use std::time::Duration;

/// Parse a `--url`: `http(s)://HOST[:PORT][/prefix]`, trailing `/` dropped.
///
/// ```
/// use loms_client::show::parse_url;
/// assert_eq!(parse_url("http://127.0.0.1:8000/").unwrap(), "http://127.0.0.1:8000");
/// assert!(parse_url("localhost:8000").is_err());
/// ```
///
/// # Errors
/// A message saying what a URL should look like.
pub fn parse_url(s: &str) -> Result<String, String> {
    let url = s.trim().trim_end_matches('/');
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("`{s}` is not a URL ({e})"))?;
    let http = matches!(uri.scheme_str(), Some("http" | "https"));
    if !http || uri.host().is_none() || uri.query().is_some() {
        return Err(format!("`{s}` should look like http://127.0.0.1:8000"));
    }
    Ok(url.to_owned())
}

/// Parse a `--timeout`: seconds (fractions allowed), above 0 and at most 3600.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| (0.0..=3600.0).contains(secs))
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}` is not a number of seconds above 0 and at most 3600"))
}

/// The start of a body (120 characters), on one line, for an error message.
///
/// ```
/// assert_eq!(loms_client::show::snippet("<html>\ngateway"), "<html> gateway");
/// assert_eq!(loms_client::show::snippet(""), "(empty body)");
/// ```
pub fn snippet(body: &str) -> String {
    let start = clean(&body.chars().take(120).collect::<String>());
    match (start.trim(), body.chars().nth(120).is_some()) {
        ("", _) => "(empty body)".to_owned(),
        (s, true) => format!("{s}..."),
        (s, false) => s.to_owned(),
    }
}

/// The start of a body (200 characters), on one line, trimmed.
pub fn excerpt(body: &str) -> String {
    clean(&body.chars().take(200).collect::<String>())
        .trim()
        .to_owned()
}

/// Server text made safe for one terminal line: control characters become spaces.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A JSON value for display: strings bare, null or missing as `-`.
pub fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => clean(s),
        Some(other) => clean(&other.to_string()),
    }
}

/// A number (or numeric string) with `dp` decimals; anything else as [`text`].
pub fn num(v: Option<&Value>, dp: usize) -> String {
    match v.and_then(as_f64) {
        Some(x) => format!("{x:.dp$}"),
        None => text(v),
    }
}

/// A JSON number, or a string holding one, as f64 (for display only: money stays
/// exact in the answers).
pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.trim().parse().ok().filter(|x: &f64| x.is_finite()),
        other => other.as_f64(),
    }
}

/// Pretty-printed JSON followed by a newline.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()) + "\n"
}

/// The answer's body as JSON, or a message saying it is not JSON (with the status and
/// the body's start). `endpoint` is the URL shown, e.g. `http://127.0.0.1:8000/health`.
///
/// # Errors
/// The message.
pub fn parse_json(endpoint: &str, answer: &Answer) -> Result<Value, String> {
    serde_json::from_str(&answer.body).map_err(|e| {
        format!(
            "the answer of {endpoint} (HTTP {}) is not valid JSON ({e}): {}",
            answer.status,
            snippet(&answer.body)
        )
    })
}

/// Why a call got no usable answer, in a few words (`connection refused`, `no answer
/// within 5s`...), on one line.
pub fn reason(e: &Error) -> String {
    match e {
        Error::Unreachable { transport, .. }
        | Error::BadAnswer {
            problem: Problem::Unreadable(transport),
            ..
        } => clean(&transport.to_string()),
        other => clean(&other.to_string()),
    }
}

/// The one-line message of a call that got no usable answer, prefixed with the tool's
/// name, with what to do about it.
///
/// ```
/// use loms_client::{Client, Error};
/// let e = Client::new("http://127.0.0.1:1").health().unwrap_err();
/// let msg = loms_client::show::failure("my-tool", "http://127.0.0.1:1", &e);
/// assert!(msg.starts_with("my-tool: cannot reach LOMS at http://127.0.0.1:1 (connection refused)."));
/// ```
pub fn failure(tool: &str, url: &str, e: &Error) -> String {
    let why = reason(e);
    match e {
        Error::Unreachable { transport, .. } => {
            let hint = match transport.kind {
                TransportKind::ConnectionRefused => START_HINT,
                TransportKind::Timeout(_) => {
                    "Is it stuck or overloaded? Check its log, or retry with a longer --timeout."
                }
                _ => "Check --url (or LOMS_URL) and that the server is running.",
            };
            format!("{tool}: cannot reach LOMS at {url} ({why}). {hint}")
        }
        Error::BadAnswer {
            problem: Problem::Unreadable(_),
            ..
        } => format!("{tool}: LOMS at {url} answered, but the answer could not be read ({why})"),
        _ => format!("{tool}: {why}"),
    }
}

/// The hint printed when nothing listens at the address.
const START_HINT: &str =
    "Is the server running? Start it with: cargo run --release --bin loms-server";
