//! The client the operator's settings describe, built from plain values (this crate
//! reads no settings): the one builder of loms-server's live trading and of
//! `loms-health --live`'s read-only checklist.

use crate::client::{BitgetClient, BitgetConfig};
use crate::sign::{Credentials, CredentialsError};
use std::path::Path;
use std::time::Duration;

impl BitgetClient {
    /// A client of `base_url` (demo trading with `demo`, each request within `timeout`)
    /// signing with the key that `credential` finds (`BITGET_API_KEY`,
    /// `BITGET_API_SECRET`, `BITGET_API_PASSPHRASE`), or else `secrets_file` holds
    /// (see [`Credentials::load`]). Nothing is sent.
    ///
    /// # Errors
    /// [`CredentialsError`] saying what to fix, never showing a secret.
    pub fn from_parts(
        base_url: &str,
        demo: bool,
        timeout: Duration,
        credential: impl Fn(&str) -> Option<String>,
        secrets_file: Option<&Path>,
    ) -> Result<Self, CredentialsError> {
        let creds = Credentials::load(credential, secrets_file)?;
        let cfg = BitgetConfig {
            base_url: base_url.to_owned(),
            demo,
            timeout,
        };
        Ok(Self::new(cfg, creds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_from_the_settings_values_or_what_is_missing() {
        let all = |name: &str| Some(format!("value-of-{name}"));
        let c = BitgetClient::from_parts(
            "https://api.bitget.com",
            true,
            Duration::from_secs(3),
            all,
            None,
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("https://api.bitget.com") && shown.contains("demo: true"));
        assert!(!shown.contains("value-of-BITGET_API_SECRET"), "{shown}");
        assert!(!shown.contains("value-of-BITGET_API_PASSPHRASE"), "{shown}");

        let no_secret = |name: &str| (name != "BITGET_API_SECRET").then(|| "x".to_owned());
        let e =
            BitgetClient::from_parts("http://x", false, Duration::from_secs(1), no_secret, None)
                .unwrap_err();
        assert_eq!(
            e,
            CredentialsError::Missing("BITGET_API_SECRET".into()),
            "{e}"
        );
    }
}
