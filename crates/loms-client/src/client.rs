//! The connection to one server: base URL, token, time limit, and the raw calls the
//! typed endpoints are made of.

use crate::error::{ApiError, Error, Problem, Transport};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Largest answer read (a close-all of thousands of positions fits easily).
const MAX_BODY: u64 = 64 << 20;

/// The time a call gets unless [`Client::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The server address used when none is given.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8000";

/// HTTP methods of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Reads.
    Get,
    /// Writes (need the token when the server has one).
    Post,
    /// Releases a price pin.
    Delete,
}

impl Method {
    /// `GET`, `POST` or `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

/// An answer of any status, as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A blocking client of one LOMS server. Cheap to clone; every call has a time limit,
/// and writes carry `Authorization: Bearer <token>` when a token is set.
///
/// A loopback server (`localhost`, `127.0.0.1`, `::1`) is never reached through a proxy
/// from the environment (`HTTP_PROXY`...); [`Client::without_proxy`] extends that to any
/// host.
///
/// ```no_run
/// use loms_client::{Client, PositionQuery};
/// use loms_client::domain::PositionStatus;
/// use std::time::Duration;
///
/// let client = Client::new("http://127.0.0.1:8000")
///     .with_token(std::env::var("LOMS_API_TOKEN").ok())
///     .with_timeout(Duration::from_secs(5));
/// let open = client.positions(&PositionQuery { status: Some(PositionStatus::Open), ..Default::default() })?;
/// println!("{} open positions", open.len());
/// # Ok::<(), loms_client::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    timeout: Duration,
    user_agent: String,
    no_proxy: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8000`; a trailing
    /// `/` is dropped), without a token, with [`DEFAULT_TIMEOUT`].
    pub fn new(base_url: &str) -> Self {
        let mut c = Self {
            agent: ureq::Agent::new_with_defaults(),
            base: base_url.trim().trim_end_matches('/').to_owned(),
            token: None,
            timeout: DEFAULT_TIMEOUT,
            user_agent: concat!("loms-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            no_proxy: false,
        };
        c.rebuild();
        c
    }

    /// The client of `http://<bind>`, a wildcard address (0.0.0.0, ::) replaced by
    /// loopback: the server of a `LOMS_BIND` setting, seen from its own host.
    ///
    /// ```
    /// let c = loms_client::Client::for_bind("0.0.0.0:8000".parse().unwrap());
    /// assert_eq!(c.base(), "http://127.0.0.1:8000");
    /// ```
    pub fn for_bind(bind: SocketAddr) -> Self {
        Self::new(&base_url(bind))
    }

    /// Send `Authorization: Bearer <token>` on writes (`None`: no token).
    #[must_use]
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    /// The time allowed for one whole call (connect, send, read the answer).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.rebuild();
        self
    }

    /// The `User-Agent` sent (default `loms-client/<version>`).
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: &str) -> Self {
        user_agent.clone_into(&mut self.user_agent);
        self.rebuild();
        self
    }

    /// Never go through a proxy from the environment, whatever the host.
    #[must_use]
    pub fn without_proxy(mut self) -> Self {
        self.no_proxy = true;
        self.rebuild();
        self
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The time allowed for one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether a token is set (never its value).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn rebuild(&mut self) {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .user_agent(self.user_agent.as_str());
        if self.no_proxy || is_loopback(&self.base) {
            config = config.proxy(None);
        }
        self.agent = config.build().new_agent();
    }

    /// One call, whatever the status of its answer: only a transport failure (or an
    /// unreadable body) is an error. For tools that show any answer as it came.
    ///
    /// # Errors
    /// [`Error::Unreachable`], or [`Error::BadAnswer`] with [`Problem::Unreadable`].
    pub fn fetch(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, Error> {
        self.send(method, path, query, body, None)
    }

    /// [`Client::fetch`] with one more header on a POST (`Idempotency-Key`).
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        header: Option<(&str, &str)>,
    ) -> Result<Answer, Error> {
        let url = format!("{}{path}", self.base);
        let transport = |e: &ureq::Error| Transport::from_ureq(e, self.timeout);
        let unreachable = |e: ureq::Error| Error::Unreachable {
            url: self.base.clone(),
            transport: transport(&e),
        };
        // Writes carry the token; GETs are open.
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let auth = bearer.as_deref().filter(|_| method != Method::Get);
        let sent = match method {
            Method::Get => prepared(self.agent.get(&url), query, auth, header).call(),
            Method::Delete => prepared(self.agent.delete(&url), query, auth, header).call(),
            Method::Post => {
                let req = prepared(self.agent.post(&url), query, auth, header);
                match body {
                    Some(b) => req.send_json(b),
                    None => req.send_empty(),
                }
            }
        };
        let mut resp = sent.map_err(unreachable)?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| Error::BadAnswer {
                method: method.as_str(),
                path: path.to_owned(),
                status,
                problem: Problem::Unreadable(transport(&e)),
                body: String::new(),
            })?;
        Ok(Answer { status, body: text })
    }

    /// One call whose 2xx answer is JSON of type `T`; an error status is
    /// [`Error::Refused`].
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<T, Error> {
        Self::json(method, path, self.success(method, path, query, body)?)
    }

    /// A 2xx answer as `T`, or an error answer as [`Error::Refused`].
    pub(crate) fn json<T: DeserializeOwned>(
        method: Method,
        path: &str,
        answer: Answer,
    ) -> Result<T, Error> {
        if !answer.is_success() {
            return Err(Error::Refused(refusal(method, path, answer)));
        }
        let bad = |problem| Error::BadAnswer {
            method: method.as_str(),
            path: path.to_owned(),
            status: answer.status,
            problem,
            body: answer.body.clone(),
        };
        let value: Value =
            serde_json::from_str(&answer.body).map_err(|e| bad(Problem::NotJson(e.to_string())))?;
        serde_json::from_value(value).map_err(|e| bad(Problem::Unexpected(e.to_string())))
    }

    /// [`Client::fetch`], with an error status turned into [`Error::Refused`].
    pub(crate) fn success(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, Error> {
        let answer = self.fetch(method, path, query, body)?;
        if answer.is_success() {
            return Ok(answer);
        }
        Err(Error::Refused(refusal(method, path, answer)))
    }
}

/// The API error in an error answer.
fn refusal(method: Method, path: &str, answer: Answer) -> ApiError {
    let json = serde_json::from_str::<Value>(&answer.body);
    let field = |k: &str| -> String {
        json.as_ref()
            .ok()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let detail = match &json {
        Ok(_) => field("detail"),
        Err(_) => crate::show::excerpt(&answer.body),
    };
    ApiError {
        method: method.as_str(),
        path: path.to_owned(),
        status: answer.status,
        error: field("error"),
        detail,
        body: answer.body,
    }
}

/// `http://<bind>`, with a wildcard address (0.0.0.0, ::) replaced by loopback.
pub fn base_url(bind: SocketAddr) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, bind.port()))
}

/// Whether the URL's host is `localhost` or a loopback address.
pub fn is_loopback(url: &str) -> bool {
    let uri: Option<ureq::http::Uri> = url.parse().ok();
    uri.as_ref().and_then(|u| u.host()).is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// A request with its query parameters, the token (`auth`, writes only) and one more
/// header when asked.
fn prepared<B>(
    mut req: ureq::RequestBuilder<B>,
    query: &[(&str, &str)],
    auth: Option<&str>,
    header: Option<(&str, &str)>,
) -> ureq::RequestBuilder<B> {
    for (k, v) in query {
        req = req.query(k, v);
    }
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_reached_through_loopback() {
        let b = |s: &str| base_url(s.parse().unwrap());
        assert_eq!(b("0.0.0.0:8000"), "http://127.0.0.1:8000");
        assert_eq!(b("[::]:9000"), "http://[::1]:9000");
        assert_eq!(b("10.0.0.5:8000"), "http://10.0.0.5:8000");
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:8000",
            "http://LOCALHOST",
            "http://[::1]:8000/x",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in ["http://10.0.0.1:8000", "https://loms.example", "not a url"] {
            assert!(!is_loopback(url), "{url}");
        }
    }

    #[test]
    fn the_token_is_not_in_the_debug_output() {
        let c = Client::new("http://h:1/").with_token(Some("secret-token-0123".into()));
        let d = format!("{c:?}");
        assert!(!d.contains("secret-token") && d.contains("***"), "{d}");
        assert_eq!(c.base(), "http://h:1");
    }

    #[test]
    fn refusals_carry_code_and_detail_or_the_body_start() {
        let r = |body: &str| {
            refusal(
                Method::Get,
                "/x",
                Answer {
                    status: 422,
                    body: body.into(),
                },
            )
        };
        let e = r(r#"{"error":"invalid_query","detail":"limit must be..."}"#);
        assert_eq!(
            (e.error.as_str(), e.detail.as_str()),
            ("invalid_query", "limit must be...")
        );
        assert_eq!(
            e.to_string(),
            "GET /x (HTTP 422): invalid_query: limit must be..."
        );
        let e = r("<html>\nbad gateway</html>");
        assert_eq!(
            (e.error.as_str(), e.detail.as_str()),
            ("", "<html> bad gateway</html>")
        );
        assert_eq!(crate::show::excerpt(&"x".repeat(500)).len(), 200);
    }
}
