//! The small HTTP, argument and display helpers of the operator CLIs.
//!
//! `loms-stats` compiles this same file (`#[path]` in its `lib.rs`), so both tools parse
//! their flags, reach the server and word their errors alike without a shared crate.
//! Keep it short and free of anything specific to one tool.

use serde_json::Value;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::time::Duration;

/// The hint printed when nothing answers at all.
const START_HINT: &str =
    "Is the server running? Start it with: cargo run --release --bin loms-server";

/// Clap parser for `--url`: `http(s)://HOST[:PORT][/prefix]`, trailing `/` dropped.
pub(crate) fn parse_url(s: &str) -> Result<String, String> {
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

/// Clap parser for `--timeout`: seconds (fractions allowed), above 0 and at most 3600.
pub(crate) fn parse_timeout(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| (0.0..=3600.0).contains(secs))
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}` is not a number of seconds above 0 and at most 3600"))
}

/// An HTTP answer, whatever its status.
#[derive(Debug)]
pub(crate) struct Answer {
    /// HTTP status code.
    pub(crate) status: u16,
    /// The body as text.
    pub(crate) body: String,
}

/// Why no answer could be used.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Nothing answered (refused, timed out, DNS, TLS, not HTTP): the reason and a hint.
    Unreachable(String, &'static str),
    /// Something answered but its body could not be read.
    Unreadable(String),
}

impl Failure {
    /// The one-line message for stderr, prefixed with the tool's name.
    pub(crate) fn message(&self, tool: &str, url: &str) -> String {
        match self {
            Self::Unreachable(why, hint) => {
                format!("{tool}: cannot reach LOMS at {url} ({why}). {hint}")
            }
            Self::Unreadable(why) => {
                format!("{tool}: LOMS at {url} answered, but the answer could not be read ({why})")
            }
        }
    }
}

/// GET `{base}{path}` with the query pairs percent-encoded; 4xx/5xx are answers too.
pub(crate) fn get(
    base: &str,
    path: &str,
    query: &[(&str, &str)],
    timeout: Duration,
) -> Result<Answer, Failure> {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false);
    if is_loopback(base) {
        // A proxy from the environment (set for the internet) must not swallow localhost.
        config = config.proxy(None);
    }
    let agent = config.build().new_agent();
    let mut request = agent.get(format!("{base}{path}"));
    for (key, value) in query {
        request = request.query(key, value);
    }
    let mut response = request.call().map_err(|e| {
        let hint = match &e {
            ureq::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => START_HINT,
            ureq::Error::Timeout(_) => {
                "Is it stuck or overloaded? Check its log, or retry with a longer --timeout."
            }
            _ => "Check --url (or LOMS_URL) and that the server is running.",
        };
        Failure::Unreachable(reason(&e, timeout), hint)
    })?;
    let body = response.body_mut().read_to_string();
    let body = body.map_err(|e| Failure::Unreadable(reason(&e, timeout)))?;
    let status = response.status().as_u16();
    Ok(Answer { status, body })
}

/// Whether the URL's host is `localhost` or a loopback address.
pub(crate) fn is_loopback(url: &str) -> bool {
    let uri: Option<ureq::http::Uri> = url.parse().ok();
    uri.as_ref().and_then(|u| u.host()).is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// A short, operator-friendly reason for a ureq error.
fn reason(e: &ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        ureq::Error::Timeout(_) => format!("no answer within {}s", timeout.as_secs_f64()),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::Io(io) => clean(&io.to_string()),
        other => clean(&other.to_string()),
    }
}

/// The body as JSON, or a message saying it is not JSON (with the status and its start).
pub(crate) fn parse_json(endpoint: &str, answer: &Answer) -> Result<Value, String> {
    serde_json::from_str(&answer.body).map_err(|e| {
        format!(
            "the answer of {endpoint} (HTTP {}) is not valid JSON ({e}): {}",
            answer.status,
            snippet(&answer.body)
        )
    })
}

/// The start of a body, on one line, for an error message.
pub(crate) fn snippet(body: &str) -> String {
    let start = clean(&body.chars().take(120).collect::<String>());
    match (start.trim(), body.chars().nth(120).is_some()) {
        ("", _) => "(empty body)".to_owned(),
        (s, true) => format!("{s}..."),
        (s, false) => s.to_owned(),
    }
}

/// Server text made safe for one terminal line: control characters become spaces.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A JSON value for display: strings bare, null or missing as `-`.
pub(crate) fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => clean(s),
        Some(other) => clean(&other.to_string()),
    }
}

/// A number (or numeric string) with `dp` decimals; anything else as [`text`].
pub(crate) fn num(v: Option<&Value>, dp: usize) -> String {
    match v.and_then(as_f64) {
        Some(x) => format!("{x:.dp$}"),
        None => text(v),
    }
}

/// A JSON number, or a string holding one, as f64.
pub(crate) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.trim().parse().ok().filter(|x: &f64| x.is_finite()),
        other => other.as_f64(),
    }
}

/// Pretty-printed JSON followed by a newline.
pub(crate) fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()) + "\n"
}
