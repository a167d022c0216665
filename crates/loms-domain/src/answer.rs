//! The JSON answer to `POST /signals/bounce`, as the bot knows it: made by the OMS, read
//! by loms-client (one definition).

use crate::{Decimal, OrderStatus};
use serde::{Deserialize, Serialize};

/// Answer to a signal. Fields not relevant to the outcome are omitted from the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalAnswer {
    /// Always true: the signal was received and recorded.
    pub received: bool,
    /// The kill switch state when the signal was handled.
    pub oms_enabled: bool,
    /// True when a position was opened.
    pub risk_ok: bool,
    /// Why nothing was opened because of the kill switch.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Why a risk limit refused the signal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub risk_reason: Option<String>,
    /// Which limit refused it: total, symbol, size, rate, stale.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub risk_scope: Option<String>,
    /// Entry order id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_id: Option<i64>,
    /// Opened position id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub position_id: Option<i64>,
    /// Entry fill price.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub entry_price: Option<Decimal>,
    /// Quantity opened.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub qty: Option<Decimal>,
    /// Take-profit level.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tp_price: Option<Decimal>,
    /// Stop-loss level.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sl_price: Option<Decimal>,
    /// Exit policy managing the position.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exit_strategy: Option<String>,
    /// Where the entry order stands: `filled` (paper: always), or live `pending_submit`
    /// (no answer from the venue within LIVE_ACK_TIMEOUT_MS yet), `submitted`,
    /// `rejected` (the position is void), `canceled`, `unknown`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_status: Option<OrderStatus>,
    /// Why a live entry was rejected, or what is unknown about it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_reason: Option<String>,
    /// The idempotency key the signal was recorded under.
    pub signal_id: String,
    /// True when this key was seen before: this is the first answer, replayed.
    #[serde(default)]
    pub duplicate: bool,
}

impl SignalAnswer {
    /// An answer that opened nothing (yet), for the key `key`.
    pub fn base(oms_enabled: bool, key: &str) -> Self {
        Self {
            received: true,
            oms_enabled,
            risk_ok: false,
            reason: None,
            risk_reason: None,
            risk_scope: None,
            order_id: None,
            position_id: None,
            entry_price: None,
            qty: None,
            tp_price: None,
            sl_price: None,
            exit_strategy: None,
            order_status: None,
            order_reason: None,
            signal_id: key.to_string(),
            duplicate: false,
        }
    }

    /// Short outcome name for logs, the audit file and the `signals` table.
    pub fn outcome(&self) -> &'static str {
        match (self.duplicate, self.oms_enabled, self.risk_ok) {
            (true, ..) => "duplicate",
            (false, false, _) => "disabled",
            (false, true, false) => "risk_blocked",
            (false, true, true) => "opened",
        }
    }
}
