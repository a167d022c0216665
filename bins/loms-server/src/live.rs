//! BROKER_MODE=live: the Bitget execution client the settings describe. Built only in
//! live mode — in paper mode nothing that can sign a request is ever constructed.

use anyhow::Context;
use loms_bitget::{Backoff, BitgetClient, BitgetExecution};
use loms_broker::ExecutionClient;
use loms_config::Settings;
use std::sync::Arc;
use std::time::Duration;

/// Time limit of one request to Bitget, answer included (a lost answer is looked up by
/// client id, never sent twice).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The Bitget client for `settings`, its clock set against the venue's, once the venue
/// gates have passed ([`crate::gates::venue`]: account UID, sub-account, permissions,
/// Classic one-way account, equity, clock). Nothing is sent but read requests, and the
/// switch of a flat hedge-mode account to one-way mode.
///
/// # Errors
/// Missing or unreadable credentials, a secrets file others may read (never shown), or
/// a failed gate: one line saying what to fix.
pub(crate) fn execution(
    settings: &Settings,
    account_uid: &str,
) -> anyhow::Result<Arc<dyn ExecutionClient>> {
    let client = BitgetClient::from_parts(
        &settings.bitget_base_url,
        settings.bitget_demo,
        REQUEST_TIMEOUT,
        |name| settings.bitget_credential(name).map(str::to_owned),
        settings.bitget_secrets_file.as_deref(),
    )
    .context("BROKER_MODE=live needs the Bitget API key")?;
    crate::gates::venue(&client, settings, account_uid)?;
    log::warn!(
        "LIVE trading on Bitget{} at {} as account {account_uid}: real orders, leverage {}, at most {} USDT per position",
        if settings.bitget_demo { " DEMO" } else { "" },
        settings.bitget_base_url,
        settings.live_leverage,
        settings.live_max_notional_usdt
    );
    Ok(Arc::new(
        BitgetExecution::new(client, Backoff::default()).with_leverage(settings.live_leverage),
    ))
}
