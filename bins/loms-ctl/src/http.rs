//! Talking to loms-server through loms-client: a hard timeout per call, the bearer
//! token on writes, never through a proxy, and errors that say what to fix.

use crate::Unreachable;
use loms_client::{Client, Error, Method, Problem, TransportKind};
use loms_config::Settings;
use serde_json::Value;
use std::time::Duration;

/// A client of one server.
#[derive(Debug)]
pub(crate) struct Api {
    client: Client,
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
        let client = match url {
            Some(u) => Client::new(u),
            None => Client::for_bind(settings.bind),
        };
        Self {
            client: client
                .with_token(settings.api_token.clone())
                .with_timeout(timeout)
                // Only ever the operator's own server: never through an HTTP(S)_PROXY.
                .without_proxy()
                .with_user_agent(concat!("loms-ctl/", env!("CARGO_PKG_VERSION"))),
        }
    }

    /// The server's base URL, e.g. `http://127.0.0.1:8000`.
    pub(crate) fn base(&self) -> &str {
        self.client.base()
    }

    /// The time allowed for one call.
    pub(crate) fn timeout(&self) -> Duration {
        self.client.timeout()
    }

    /// Whether a token is configured (never its value).
    pub(crate) fn has_token(&self) -> bool {
        self.client.has_token()
    }

    /// The typed client, with `timeout` for each call.
    pub(crate) fn client(&self, timeout: Duration) -> Client {
        self.client.clone().with_timeout(timeout)
    }

    /// `GET path` within `timeout`.
    pub(crate) fn get(&self, path: &str, timeout: Duration) -> Result<Value, CallError> {
        let client = self.client.clone().with_timeout(timeout);
        Ok(client.call(Method::Get, path, &[], None)?)
    }

    /// `POST path` with a JSON body (and the bearer token) within `timeout`.
    pub(crate) fn post(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let client = self.client.clone().with_timeout(timeout);
        Ok(client.call(Method::Post, path, &[], Some(body))?)
    }

    /// `call` failed: an error that says what happened and what to fix; an
    /// unreachable server becomes [`Unreachable`] (exit code 2).
    pub(crate) fn explain(&self, what: &str, e: CallError) -> anyhow::Error {
        match e {
            CallError::Unreachable(cause) => anyhow::Error::new(Unreachable {
                url: self.base().to_owned(),
                cause: format!("{what}: {cause}"),
            }),
            CallError::Timeout(d) => anyhow::Error::new(Unreachable {
                url: self.base().to_owned(),
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

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        match e {
            Error::Unreachable { transport, .. }
            | Error::BadAnswer {
                problem: Problem::Unreadable(transport),
                ..
            } => match transport.kind {
                TransportKind::Timeout(d) => Self::Timeout(d),
                TransportKind::ConnectionRefused | TransportKind::Connection => {
                    Self::Unreachable(transport.message)
                }
                TransportKind::HostNotFound => Self::Unreachable("host not found".into()),
                TransportKind::Protocol => Self::Other(transport.message),
            },
            Error::Refused(api) => Self::Status {
                status: api.status,
                code: api.error,
                detail: api.detail,
            },
            Error::BadAnswer {
                status,
                problem: Problem::NotJson(e) | Problem::Unexpected(e),
                body,
                ..
            } => Self::Other(format!(
                "HTTP {status} but the answer is not JSON ({e}): {}",
                loms_client::show::excerpt(&body)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_not_in_the_debug_output() {
        let mut s = loms_config::Settings::for_tests(std::path::Path::new("/tmp"));
        s.api_token = Some("secret-token-0123456789".into());
        let api = Api::new(&s, None, Duration::from_secs(1));
        let d = format!("{api:?}");
        assert!(!d.contains("secret-token") && d.contains("***"), "{d}");
    }
}
