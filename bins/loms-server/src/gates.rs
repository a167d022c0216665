//! The start-up gates (issue 13): what must hold before the server takes its database
//! and, with `BROKER_MODE=live`, before it may send a real order. Each refusal is one
//! line saying what to fix; nothing is written (neither the database's broker-mode
//! record nor any order) until every gate has passed.

use anyhow::{Context, bail};
use loms_bitget::BitgetClient;
use loms_bitget::gates::{GateCheck, GateSettings};
use loms_config::{BrokerMode, LIVE_CONFIRM_PHRASE, Settings};
use loms_storage::{DatabaseLock, DbBrokerMode, Store};

/// The symbol whose futures account the venue gates read (position mode, equity): any
/// listed USDT-M contract shows the same account.
const GATE_SYMBOL: &str = "BTCUSDT";

/// The live settings that need no venue: the confirmation and the account UID.
///
/// # Errors
/// One line naming the setting to set.
pub(crate) fn live_settings(settings: &Settings) -> anyhow::Result<&str> {
    if !settings.live_confirm {
        bail!(
            "BROKER_MODE=live sends real orders with real money: set LIVE_CONFIRM={LIVE_CONFIRM_PHRASE} to confirm"
        );
    }
    match settings.live_account_uid.as_deref() {
        Some(uid) => Ok(uid),
        None => bail!(
            "BROKER_MODE=live needs LIVE_ACCOUNT_UID: set it to the UID of the trading sub-account, the API key must belong to it"
        ),
    }
}

/// The pre-live checklist against the venue ([`loms_bitget::gates::run`]); a hedge-mode
/// account with nothing open is switched to one-way mode.
///
/// # Errors
/// One line: what the first failed check says to fix, and the names of the others.
pub(crate) fn venue(client: &BitgetClient, settings: &Settings, uid: &str) -> anyhow::Result<()> {
    let gates = GateSettings {
        account_uid: uid.to_string(),
        sub_account: settings.live_sub_account,
        max_equity_usdt: settings.live_max_equity_usdt,
        max_clock_skew: settings.live_max_clock_skew,
        symbol: GATE_SYMBOL.into(),
        switch_to_one_way: true,
    };
    let checks = loms_bitget::gates::run(client, &gates);
    for c in &checks {
        log::info!(
            "live gate {}: {} ({})",
            c.name,
            if c.ok { "ok" } else { "FAILED" },
            c.detail
        );
    }
    match refusal(&checks) {
        // Only because Bitget could not be asked: a later start may pass (exit 3).
        Some(line) if checks.iter().all(|c| c.ok || c.unreachable) => {
            Err(anyhow::Error::new(VenueUnreachable(line)))
        }
        Some(line) => bail!("{line}"),
        None => Ok(()),
    }
}

/// A start refused only because the venue could not be reached (not a gate that
/// failed): loms-server exits 3 instead of 2, so a supervisor may retry it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct VenueUnreachable(pub(crate) String);

/// One line for the failed checks, `None` when all passed.
fn refusal(checks: &[GateCheck]) -> Option<String> {
    let mut failed = checks.iter().filter(|c| !c.ok);
    let first = failed.next()?;
    let others: Vec<&str> = failed.map(|c| c.name).collect();
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(" (also failing: {})", others.join(", "))
    };
    Some(format!(
        "refusing to start live trading: {}: {}{also}",
        first.name, first.detail
    ))
}

/// The database, held (its lock taken) while the other gates run; [`Database::record`]
/// then writes the broker mode it is for and lets it go for the OMS to open.
pub(crate) struct Database {
    store: Store,
    mode: DbBrokerMode,
    _lock: DatabaseLock,
}

/// The record of a broker mode.
fn db_mode(mode: BrokerMode) -> DbBrokerMode {
    match mode {
        BrokerMode::Paper => DbBrokerMode::Paper,
        BrokerMode::Live => DbBrokerMode::Live,
    }
}

/// One line refusing a database made for the other broker mode.
fn mismatch(settings: &Settings, found: DbBrokerMode) -> String {
    let want = settings.broker_mode;
    format!(
        "the database {} is for {found} trading and BROKER_MODE is {want}: paper and live never share a database; set DATABASE_URL to another file for {want}",
        settings.database_path.display()
    )
}

impl Database {
    /// Take the database's lock, open it and check it is not for the other broker mode.
    ///
    /// # Errors
    /// Another process holds it, it cannot be opened, or it is for the other mode.
    pub(crate) fn open(settings: &Settings) -> anyhow::Result<Self> {
        let path = &settings.database_path;
        let opening = || format!("opening database {}", path.display());
        let lock = DatabaseLock::acquire(path).with_context(opening)?;
        let store = Store::open(path).with_context(opening)?;
        let mode = db_mode(settings.broker_mode);
        match store.broker_mode().with_context(opening)? {
            Some(found) if found != mode => bail!("{}", mismatch(settings, found)),
            _ => Ok(Self {
                store,
                mode,
                _lock: lock,
            }),
        }
    }

    /// Record the broker mode (once; a later start finds it), then close the database.
    ///
    /// # Errors
    /// A database failure, or the other mode recorded meanwhile.
    pub(crate) fn record(mut self, settings: &Settings) -> anyhow::Result<()> {
        let found = self
            .store
            .record_broker_mode(self.mode, chrono::Utc::now())
            .with_context(|| format!("opening database {}", settings.database_path.display()))?;
        if found != self.mode {
            bail!("{}", mismatch(settings, found));
        }
        Ok(())
    }
}
