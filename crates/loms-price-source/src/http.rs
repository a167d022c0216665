//! The blocking HTTP layer of the exchange clients: one GET, its outcome classified.

use std::fmt;
use std::io::ErrorKind;
use std::time::Duration;

/// Largest response body read (all tickers of a category are well under 2 MB).
const MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;

/// A response of any status: `http_status_as_error(false)` lets us read error bodies.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// Why a GET got no response at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TransportError {
    /// The attempt's time limit ran out (connect, send or read).
    Timeout(Duration),
    /// Could not connect, or the connection broke (refused, reset, DNS...).
    Connection(String),
    /// Anything else (bad URL, TLS configuration, body too large...): not worth retrying.
    Other(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Timeout(d) => write!(f, "timed out after {} ms", d.as_millis()),
            TransportError::Connection(e) => write!(f, "connection failed: {e}"),
            TransportError::Other(e) => write!(f, "request failed: {e}"),
        }
    }
}

/// An agent that never turns a status into an error and bounds every call by `timeout`.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("loms/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// `GET url?query` with a time limit of `timeout` for the whole exchange (body included).
pub(crate) fn get(
    agent: &ureq::Agent,
    url: &str,
    query: &[(&str, &str)],
    timeout: Duration,
) -> Result<HttpResponse, TransportError> {
    let mut req = agent.get(url);
    for (k, v) in query {
        req = req.query(*k, *v);
    }
    let mut resp = req
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()
        .map_err(|e| classify(e, timeout))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_vec()
        .map_err(|e| classify(e, timeout))?;
    Ok(HttpResponse { status, body })
}

fn classify(e: ureq::Error, timeout: Duration) -> TransportError {
    match e {
        ureq::Error::Timeout(_) => TransportError::Timeout(timeout),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => TransportError::Timeout(timeout),
            _ => TransportError::Connection(io.to_string()),
        },
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Protocol(_) => {
            TransportError::Connection(e.to_string())
        }
        other => TransportError::Other(other.to_string()),
    }
}

/// The start of a body, for error messages (lossy UTF-8, one line, at most 200 characters).
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    let out = out.trim().to_string();
    if out.is_empty() {
        "<empty body>".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_short_and_single_line() {
        assert_eq!(snippet(b""), "<empty body>");
        assert_eq!(
            snippet(b"<html>\nBad gateway\n</html>"),
            "<html> Bad gateway </html>"
        );
        let long = vec![b'x'; 1000];
        assert_eq!(snippet(&long).chars().count(), 201);
        assert_eq!(snippet(&[0xff, 0xfe, b'a']), "\u{fffd}\u{fffd}a");
    }
}
