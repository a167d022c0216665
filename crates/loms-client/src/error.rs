//! The one error of every call: the server was unreachable, it refused (an HTTP error
//! answer with its JSON `error` and `detail`), or its answer could not be used.

use std::fmt;
use std::time::Duration;

/// Why a call to LOMS failed.
///
/// ```
/// use loms_client::{Client, Error};
/// // Nothing listens on port 1: the call fails before any answer.
/// let client = Client::new("http://127.0.0.1:1");
/// match client.health() {
///     Err(Error::Unreachable { transport, .. }) => println!("down: {transport}"),
///     Err(Error::Refused(e)) => println!("HTTP {}: {} ({})", e.status, e.error, e.detail),
///     Err(Error::BadAnswer { problem, .. }) => println!("not LOMS? {problem}"),
///     Ok(h) => println!("{}", h.status),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer at all: connection refused, timed out, host not found, not HTTP.
    #[error("cannot reach LOMS at {url} ({transport})")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// What went wrong on the way.
        transport: Transport,
    },
    /// The server answered with an HTTP error status (4xx/5xx).
    #[error("LOMS refused {0}")]
    Refused(ApiError),
    /// The server answered, but the answer cannot be used: cut while read, not JSON,
    /// or not the JSON this endpoint answers.
    #[error("the answer of {method} {path} (HTTP {status}) {problem}")]
    BadAnswer {
        /// `GET`, `POST` or `DELETE`.
        method: &'static str,
        /// The path called, e.g. `/stats`.
        path: String,
        /// The HTTP status of the answer.
        status: u16,
        /// What is wrong with it.
        problem: Problem,
        /// The body as read (possibly empty or partial).
        body: String,
    },
}

impl Error {
    /// The API's error answer, when the server refused.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Refused(e) => Some(e),
            _ => None,
        }
    }

    /// True when no answer came at all (worth retrying later, or the URL is wrong).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}

/// An HTTP error answer of the API: `{"error": "<code>", "detail": "<sentence>", ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// The path called.
    pub path: String,
    /// HTTP status (400 to 599).
    pub status: u16,
    /// The body's `error` code (`invalid_query`, `not_found`...), empty when absent.
    pub error: String,
    /// The body's `detail`; the start of the body when it is not JSON.
    pub detail: String,
    /// The whole body, for the extra fields (`risk_scope`, `risk_reason`).
    pub body: String,
}

impl ApiError {
    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} (HTTP {})", self.method, self.path, self.status)?;
        if !self.error.is_empty() {
            write!(f, ": {}", self.error)?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A failure below HTTP: what it was, and the underlying message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// The kind of failure.
    pub kind: TransportKind,
    /// The transport's own message (e.g. `Connection reset by peer (os error 104)`).
    pub message: String,
}

/// Kinds of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Nothing listens there (the server is not running).
    ConnectionRefused,
    /// No (complete) answer within the time allowed.
    Timeout(Duration),
    /// The host name does not resolve.
    HostNotFound,
    /// Another socket error: reset, no route, connection failed.
    Connection,
    /// Anything else: not HTTP, TLS, an invalid URL, a body too large.
    Protocol,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TransportKind::ConnectionRefused => f.write_str("connection refused"),
            TransportKind::Timeout(d) => write!(f, "no answer within {}s", d.as_secs_f64()),
            TransportKind::HostNotFound => f.write_str("host not found"),
            TransportKind::Connection | TransportKind::Protocol => f.write_str(&self.message),
        }
    }
}

impl Transport {
    /// Classify a ureq error; `timeout` is the time the call had.
    pub(crate) fn from_ureq(e: &ureq::Error, timeout: Duration) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e {
            ureq::Error::Timeout(_) => TransportKind::Timeout(timeout),
            ureq::Error::Io(io) if matches!(io.kind(), K::TimedOut | K::WouldBlock) => {
                TransportKind::Timeout(timeout)
            }
            ureq::Error::Io(io) if io.kind() == K::ConnectionRefused => {
                TransportKind::ConnectionRefused
            }
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed => TransportKind::Connection,
            ureq::Error::HostNotFound => TransportKind::HostNotFound,
            _ => TransportKind::Protocol,
        };
        let message = match e {
            ureq::Error::Io(io) => io.to_string(),
            other => other.to_string(),
        };
        Self { kind, message }
    }
}

/// What is wrong with an answer that came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The body could not be read to its end.
    #[error("could not be read ({0})")]
    Unreadable(Transport),
    /// The body is not JSON.
    #[error("is not valid JSON ({0})")]
    NotJson(String),
    /// JSON, but not what this endpoint answers (another server, another version).
    #[error("is not the expected JSON ({0})")]
    Unexpected(String),
}
