//! Talking to loms-server: JSON over HTTP with a hard timeout per call, the bearer
//! token on writes, and errors that say what to fix.

use crate::Unreachable;
use loms_config::Settings;
use serde_json::Value;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Largest answer read (close-all of thousands of positions fits easily).
const MAX_BODY: u64 = 64 << 20;

/// A client of one server.
pub(crate) struct Api {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// No connection could be made.
    Unreachable(String),
    /// No (complete) answer in time.
    Timeout(Duration),
    /// The server answered with an error status.
    Status {
        /// HTTP status.
        status: u16,
        /// The `error` code of the body, or empty.
        code: String,
        /// The `detail` of the body, or the start of the body.
        detail: String,
    },
    /// Anything else: a body that is not JSON, a protocol error.
    Other(String),
}

impl Api {
    /// A client of `url`, else of `http://<LOMS_BIND>`, with the settings' token.
    pub(crate) fn new(settings: &Settings, url: Option<&str>, timeout: Duration) -> Self {
        let base = url.map_or_else(|| base_url(settings.bind), str::to_string);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            // Only ever the operator's own server: never through an HTTP(S)_PROXY.
            .proxy(None)
            .user_agent(concat!("loms-ctl/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: config.into(),
            base,
            token: settings.api_token.clone(),
            timeout,
        }
    }

    /// The server's base URL, e.g. `http://127.0.0.1:8000`.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The time allowed for one call.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether a token is configured (never its value).
    pub(crate) fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// `GET path` within `timeout`.
    pub(crate) fn get(&self, path: &str, timeout: Duration) -> Result<Value, CallError> {
        let req = self
            .agent
            .get(format!("{}{path}", self.base))
            .config()
            .timeout_global(Some(timeout))
            .build();
        finish(req.call(), timeout)
    }

    /// `POST path` with a JSON body (and the bearer token) within `timeout`.
    pub(crate) fn post(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .config()
            .timeout_global(Some(timeout))
            .build();
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        finish(req.send_json(body), timeout)
    }

    /// `call` failed: an error that says what happened and what to fix; an
    /// unreachable server becomes [`Unreachable`] (exit code 2).
    pub(crate) fn explain(&self, what: &str, e: CallError) -> anyhow::Error {
        match e {
            CallError::Unreachable(cause) => anyhow::Error::new(Unreachable {
                url: self.base.clone(),
                cause: format!("{what}: {cause}"),
            }),
            CallError::Timeout(d) => anyhow::Error::new(Unreachable {
                url: self.base.clone(),
                cause: format!("{what}: no answer within {} s", d.as_secs_f64()),
            }),
            e @ CallError::Status { .. } => {
                anyhow::anyhow!("{what}: {}", self.describe(&e))
            }
            CallError::Other(m) => anyhow::anyhow!("{what}: {m}"),
        }
    }

    /// One line about a failed call, with the fix when there is an obvious one.
    pub(crate) fn describe(&self, e: &CallError) -> String {
        match e {
            CallError::Unreachable(cause) => format!("server unreachable ({cause})"),
            CallError::Timeout(d) => format!("no answer within {} s", d.as_secs_f64()),
            CallError::Other(m) => m.clone(),
            CallError::Status {
                status,
                code,
                detail,
            } => {
                let mut s = format!("HTTP {status}");
                if !code.is_empty() {
                    s.push_str(&format!(" {code}"));
                }
                if !detail.is_empty() {
                    s.push_str(&format!(": {detail}"));
                }
                let hint = match status {
                    401 if self.has_token() => {
                        " -> the server refused the token: set LOMS_API_TOKEN to the token loms-server uses (.env, environment, or --set LOMS_API_TOKEN=...)"
                    }
                    401 => {
                        " -> the server requires a token and loms-ctl has none: set LOMS_API_TOKEN as for loms-server (same --profile/--env-file, or --set LOMS_API_TOKEN=...)"
                    }
                    404 | 405 => {
                        " -> this address does not look like a loms-server of this version: check --url / LOMS_BIND"
                    }
                    500..=599 => " -> the server failed: see its log (journalctl -u loms -n 50)",
                    _ => "",
                };
                s.push_str(hint);
                s
            }
        }
    }
}

/// `http://<bind>`, with a wildcard address (0.0.0.0, ::) replaced by loopback.
pub(crate) fn base_url(bind: SocketAddr) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, bind.port()))
}

fn finish(
    r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    timeout: Duration,
) -> Result<Value, CallError> {
    let mut resp = r.map_err(|e| classify(e, timeout))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| classify(e, timeout))?;
    let json = serde_json::from_str::<Value>(&text);
    if (200..300).contains(&status) {
        return json.map_err(|e| {
            CallError::Other(format!(
                "HTTP {status} but the answer is not JSON ({e}): {}",
                excerpt(&text)
            ))
        });
    }
    let (code, detail) = match &json {
        Ok(v) => (
            v.get("error")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            v.get("detail")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        Err(_) => (String::new(), excerpt(&text)),
    };
    Err(CallError::Status {
        status,
        code,
        detail,
    })
}

fn classify(e: ureq::Error, timeout: Duration) -> CallError {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::Timeout(_) => CallError::Timeout(timeout),
        ureq::Error::Io(io) if io.kind() == K::TimedOut || io.kind() == K::WouldBlock => {
            CallError::Timeout(timeout)
        }
        // Any other socket error (refused, reset, no route, name lookup...).
        ureq::Error::Io(io) => CallError::Unreachable(io.to_string()),
        ureq::Error::HostNotFound => CallError::Unreachable("host not found".into()),
        ureq::Error::ConnectionFailed => CallError::Unreachable("connection failed".into()),
        other => CallError::Other(other.to_string()),
    }
}

/// The start of a body, on one line, for an error message.
fn excerpt(text: &str) -> String {
    let one_line: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    one_line.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_reached_through_loopback() {
        assert_eq!(
            base_url("0.0.0.0:8000".parse().unwrap()),
            "http://127.0.0.1:8000"
        );
        assert_eq!(base_url("[::]:9000".parse().unwrap()), "http://[::1]:9000");
        assert_eq!(
            base_url("10.0.0.5:8000".parse().unwrap()),
            "http://10.0.0.5:8000"
        );
    }

    #[test]
    fn the_token_is_not_in_the_debug_output() {
        let mut s = loms_config::Settings::for_tests(std::path::Path::new("/tmp"));
        s.api_token = Some("secret-token-0123456789".into());
        let api = Api::new(&s, None, Duration::from_secs(1));
        let d = format!("{api:?}");
        assert!(!d.contains("secret-token") && d.contains("***"), "{d}");
    }

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt("a\nb"), "a b");
        assert_eq!(excerpt(&"x".repeat(500)).len(), 200);
    }
}
