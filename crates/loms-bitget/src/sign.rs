//! Bitget's private REST signature and the credentials it needs.
//!
//! `ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + path + ["?" + query] + body))`
//! (../shared/spec/exchanges.md §6). The query is built here, sorted by key, from values
//! that need no percent-encoding, so the bytes signed are the bytes sent.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The three secrets of an API key. `Debug` and `Display` never show them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    key: String,
    secret: String,
    passphrase: String,
}

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// A part is empty or has characters a header cannot carry.
    #[error("{0} is empty or not printable ASCII: check the key as Bitget showed it")]
    Malformed(&'static str),
    /// Neither the environment nor a secrets file holds them.
    #[error(
        "{0} not set: set them in the environment or in the secrets file (BITGET_SECRETS_FILE)"
    )]
    Missing(String),
    /// The secrets file cannot be used.
    #[error("secrets file {0}: {1}")]
    File(String, String),
}

/// Refuse a secrets file that anyone but its owner may read or write.
#[cfg(unix)]
fn check_owner_only(path: &std::path::Path, shown: &str) -> Result<(), CredentialsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| CredentialsError::File(shown.to_string(), e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CredentialsError::File(
            shown.to_string(),
            format!(
                "readable or writable by others (mode {:o}): chmod 600 {shown}",
                mode & 0o777
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_: &std::path::Path, _: &str) -> Result<(), CredentialsError> {
    Ok(())
}

impl Credentials {
    /// Key, secret and passphrase as Bitget issued them (surrounding blanks trimmed).
    ///
    /// # Errors
    /// [`CredentialsError::Malformed`] naming the part (never its value).
    pub fn new(key: &str, secret: &str, passphrase: &str) -> Result<Self, CredentialsError> {
        let check = |name: &'static str, v: &str| {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
                return Err(CredentialsError::Malformed(name));
            }
            Ok(v.to_string())
        };
        Ok(Self {
            key: check("BITGET_API_KEY", key)?,
            secret: check("BITGET_API_SECRET", secret)?,
            passphrase: check("BITGET_API_PASSPHRASE", passphrase)?,
        })
    }

    /// The three parts from the environment (`BITGET_API_KEY`, `BITGET_API_SECRET`,
    /// `BITGET_API_PASSPHRASE`, read through `env`), or else from `file`: lines
    /// `NAME=value` with the same names (blank lines and `#` comments allowed), a file
    /// that only its owner may read or write.
    ///
    /// # Errors
    /// [`CredentialsError`] saying what to fix, never showing a secret.
    pub fn load(
        env: impl Fn(&str) -> Option<String>,
        file: Option<&std::path::Path>,
    ) -> Result<Self, CredentialsError> {
        const NAMES: [&str; 3] = [
            "BITGET_API_KEY",
            "BITGET_API_SECRET",
            "BITGET_API_PASSPHRASE",
        ];
        let from_env: Vec<Option<String>> = NAMES.iter().map(|n| env(n)).collect();
        if from_env.iter().all(Option::is_some) {
            let v: Vec<String> = from_env.into_iter().flatten().collect();
            return Self::new(&v[0], &v[1], &v[2]);
        }
        let Some(path) = file else {
            let missing: Vec<&str> = NAMES
                .iter()
                .zip(&from_env)
                .filter(|(_, v)| v.is_none())
                .map(|(n, _)| *n)
                .collect();
            return Err(CredentialsError::Missing(missing.join(", ")));
        };
        let shown = path.display().to_string();
        check_owner_only(path, &shown)?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| CredentialsError::File(shown.clone(), e.to_string()))?;
        let mut found: [Option<String>; 3] = Default::default();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                return Err(CredentialsError::File(
                    shown,
                    "a line is not NAME=value".into(),
                ));
            };
            if let Some(i) = NAMES.iter().position(|n| *n == name.trim()) {
                found[i] = Some(value.trim().trim_matches('"').to_string());
            }
        }
        match found {
            [Some(k), Some(s), Some(p)] => Self::new(&k, &s, &p),
            _ => Err(CredentialsError::File(
                shown,
                format!("it must hold {}", NAMES.join(", ")),
            )),
        }
    }

    /// The API key (the `ACCESS-KEY` header; not a secret by itself, but not logged either).
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The passphrase (the `ACCESS-PASSPHRASE` header).
    pub(crate) fn passphrase(&self) -> &str {
        &self.passphrase
    }

    /// `ACCESS-SIGN` of one request.
    pub fn sign(
        &self,
        timestamp_ms: &str,
        method: &str,
        path: &str,
        query: &str,
        body: &str,
    ) -> String {
        signature(
            &self.secret,
            &prehash(timestamp_ms, method, path, query, body),
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// `timestamp + METHOD + path + ("?" + query when not empty) + body`.
pub fn prehash(timestamp_ms: &str, method: &str, path: &str, query: &str, body: &str) -> String {
    let mut s = String::with_capacity(
        timestamp_ms.len() + method.len() + path.len() + query.len() + body.len() + 1,
    );
    s.push_str(timestamp_ms);
    s.push_str(&method.to_ascii_uppercase());
    s.push_str(path);
    if !query.is_empty() {
        s.push('?');
        s.push_str(query);
    }
    s.push_str(body);
    s
}

/// base64(HMAC-SHA256(secret, prehash)).
pub fn signature(secret: &str, prehash: &str) -> String {
    // HMAC accepts a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(prehash.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A query string sorted by key, as Bitget's SDK and ccxt sign it.
///
/// # Errors
/// [`QueryError`] when a key or value holds a character that would need
/// percent-encoding (the signed text would then differ from the text sent).
pub fn sorted_query(params: &[(&str, &str)]) -> Result<String, QueryError> {
    let mut sorted: Vec<&(&str, &str)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (k, v) in sorted {
        for part in [k, v] {
            if !part.bytes().all(is_unreserved) {
                return Err(QueryError((*part).to_string()));
            }
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Ok(out)
}

/// A query part that would need percent-encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "query value {0:?} holds characters that need URL encoding; only A-Z a-z 0-9 - _ . ~ are sent"
)]
pub struct QueryError(pub String);

/// RFC 3986 unreserved characters: sent as they are.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_key() -> Credentials {
        Credentials::new("bg_vector_key", "bg_vector_secret", "bg_vector_pass").unwrap()
    }

    /// ../shared/spec/bitget-live.md §13, checked there against ccxt, Python and openssl.
    #[test]
    fn signatures_equal_the_spec_vectors() {
        let c = vector_key();
        let ts = "1700000000000";
        assert_eq!(
            c.sign(
                ts,
                "GET",
                "/api/v2/mix/account/accounts",
                "productType=USDT-FUTURES",
                ""
            ),
            "HLzX5pcyi6hqdLFfjZZMHqXTBgQv3mDCZ3b69JTo2HQ="
        );
        let body = r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"0.001","side":"buy","orderType":"market","clientOid":"loms-0001","presetStopLossPrice":"59000"}"#;
        assert_eq!(
            c.sign(ts, "POST", "/api/v2/mix/order/place-order", "", body),
            "yhI/cvvgnklDcJPFoLB/BMXbLVsS7XHa0b4AAOo7LPY="
        );
        let query = sorted_query(&[
            ("symbol", "BTCUSDT"),
            ("productType", "USDT-FUTURES"),
            ("clientOid", "loms-0001"),
        ])
        .unwrap();
        assert_eq!(
            query,
            "clientOid=loms-0001&productType=USDT-FUTURES&symbol=BTCUSDT"
        );
        assert_eq!(
            c.sign(ts, "GET", "/api/v2/mix/order/detail", &query, ""),
            "Qv5GC90HqW0IsyE9+GphqgkiI04x+yvaj0JSScHmzvA="
        );
        assert_eq!(
            c.sign(ts, "GET", "/api/v2/spot/account/info", "", ""),
            "Wbao+J5NsK6W85jf5hkPpjj7JFJGhEBz5ULONjB0RJo="
        );
    }

    /// exchanges.md §6 vectors 1 and 2 (secret `testsecret`).
    #[test]
    fn signatures_equal_the_doc_vectors() {
        let ts = "1659927630000";
        assert_eq!(
            signature(
                "testsecret",
                &prehash(
                    ts,
                    "GET",
                    "/api/mix/v2/market/depth",
                    "limit=20&symbol=BTCUSDT",
                    ""
                )
            ),
            "BUbassOUwHdAjeOFu8D5FZfp4i2JGYCsS9yBvRLaC0U="
        );
        let body = r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"0.001","side":"buy","tradeSide":"open","orderType":"market","clientOid":"oms-0001"}"#;
        assert_eq!(
            signature(
                "testsecret",
                &prehash(ts, "post", "/api/v2/mix/order/place-order", "", body)
            ),
            "78ChYPw5CMPxuUBbQGqgp7iFW6R13Qs92MRrgSZDBa0="
        );
    }

    #[test]
    fn a_query_that_would_be_encoded_is_refused() {
        let e = sorted_query(&[("clientOid", "loms#1")]).unwrap_err();
        assert_eq!(e, QueryError("loms#1".into()));
        assert_eq!(sorted_query(&[]).unwrap(), "");
    }

    #[cfg(unix)]
    #[test]
    fn credentials_come_from_the_environment_or_an_owner_only_file() {
        use std::os::unix::fs::PermissionsExt;
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        static ALL: [(&str, &str); 3] = [
            ("BITGET_API_KEY", "k"),
            ("BITGET_API_SECRET", "s3cr3t"),
            ("BITGET_API_PASSPHRASE", "p4ss"),
        ];
        let all = &ALL;
        let c = Credentials::load(env(all), None).unwrap();
        assert_eq!((c.key(), c.passphrase()), ("k", "p4ss"));
        let e = Credentials::load(env(&all[..1]), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "BITGET_API_SECRET, BITGET_API_PASSPHRASE not set: set them in the environment or in the secrets file (BITGET_SECRETS_FILE)"
        );

        let dir = std::env::temp_dir().join(format!("loms-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bitget.env");
        std::fs::write(
            &file,
            "# sub-account key\nBITGET_API_KEY=k\nBITGET_API_SECRET=\"s3cr3t\"\nBITGET_API_PASSPHRASE=p4ss\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Credentials::load(|_| None, Some(&file))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("readable or writable by others (mode 644): chmod 600"),
            "{e}"
        );
        assert!(!e.contains("s3cr3t"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = Credentials::load(|_| None, Some(&file)).unwrap();
        assert_eq!(
            c.sign("1", "GET", "/x", "", ""),
            signature("s3cr3t", "1GET/x")
        );
        std::fs::write(&file, "BITGET_API_KEY=k\n").unwrap();
        let e = Credentials::load(|_| None, Some(&file))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("it must hold BITGET_API_KEY, BITGET_API_SECRET, BITGET_API_PASSPHRASE"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let c = Credentials::new(" k3y ", "s3cr3t-value", "pa55").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("pa55") && !shown.contains("k3y"));
        assert_eq!(c.key(), "k3y");
        let e = Credentials::new("k", "", "p").unwrap_err().to_string();
        assert!(e.starts_with("BITGET_API_SECRET is empty"), "{e}");
        let e = Credentials::new("k", "s\u{7}x", "p")
            .unwrap_err()
            .to_string();
        assert!(!e.contains('x'), "{e}");
    }
}
