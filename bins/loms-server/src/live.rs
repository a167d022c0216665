//! BROKER_MODE=live: the Bitget execution client the settings describe. Built only in
//! live mode — in paper mode nothing that can sign a request is ever constructed.

use anyhow::Context;
use loms_bitget::{Backoff, BitgetClient, BitgetConfig, BitgetExecution, Credentials};
use loms_broker::ExecutionClient;
use loms_config::Settings;
use std::sync::Arc;
use std::time::Duration;

/// Time limit of one request to Bitget, answer included (a lost answer is looked up by
/// client id, never sent twice).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The Bitget client for `settings`, its clock set against the venue's. Nothing is sent
/// but the public time request.
///
/// # Errors
/// Missing or unreadable credentials (never shown), or the venue unreachable.
pub(crate) fn execution(settings: &Settings) -> anyhow::Result<Arc<dyn ExecutionClient>> {
    let creds = Credentials::load(
        |name| settings.bitget_credential(name).map(str::to_owned),
        settings.bitget_secrets_file.as_deref(),
    )
    .context("BROKER_MODE=live needs the Bitget API key")?;
    let cfg = BitgetConfig {
        base_url: settings.bitget_base_url.clone(),
        demo: settings.bitget_demo,
        timeout: REQUEST_TIMEOUT,
    };
    let client = BitgetClient::new(cfg, creds);
    let offset = client.sync_time().with_context(|| {
        format!(
            "BROKER_MODE=live: Bitget at {} does not answer its time; nothing was sent",
            settings.bitget_base_url
        )
    })?;
    log::warn!(
        "LIVE trading on Bitget{} at {}: real orders, leverage {} (clock offset {offset} ms)",
        if settings.bitget_demo { " DEMO" } else { "" },
        settings.bitget_base_url,
        settings.live_leverage
    );
    Ok(Arc::new(
        BitgetExecution::new(client, Backoff::default()).with_leverage(settings.live_leverage),
    ))
}
