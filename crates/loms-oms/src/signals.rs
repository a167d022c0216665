//! A signal's way in: the body parsed and checked, its idempotency key, the audit of a
//! refusal, the writer's answer and — live — the venue's first word on its entry.

use crate::audit::{self, AuditLog};
use crate::writer::Write;
use crate::{Oms, OmsError, Settings, executor};
use loms_domain::{Signal, SignalAnswer, Timestamp};
use loms_exit_engine::PolicyRegistry;
use serde_json::Value;
use tokio::sync::oneshot;

/// Parse a signal (its time checked against `now`, the server clock) and check what
/// the domain cannot: the exit strategy exists, and a client key does not pose as a
/// derived one.
pub(crate) fn validate_signal(
    raw: &Value,
    settings: &Settings,
    policies: &PolicyRegistry,
    now: Timestamp,
) -> Result<Signal, OmsError> {
    let s = Signal::from_json(raw, &settings.signal_defaults, now)?;
    if let Some(name) = &s.exit_strategy
        && policies.get(name).is_none()
    {
        return Err(OmsError::Invalid(format!(
            "exit_strategy {name:?} is unknown; known: {}",
            policies.names()
        )));
    }
    if s.signal_id
        .as_deref()
        .is_some_and(|k| k.starts_with("derived:"))
    {
        return Err(OmsError::Invalid(
            "signal_id may not start with \"derived:\"".into(),
        ));
    }
    Ok(s)
}

/// The idempotency key: the body's `signal_id`, else the header, else derived.
pub(crate) fn idempotency_key(s: &Signal, header: Option<&str>) -> String {
    s.signal_id
        .clone()
        .or_else(|| header.map(str::to_string))
        .unwrap_or_else(|| s.derived_key())
}

impl Oms {
    /// Audit a signal refused before it reached the writer; `payload_json` is the body
    /// as JSON text ([`audit::body_text`], or a JSON string for a body that is not JSON).
    fn audit_rejected(&self, payload_json: &str, key: Option<&str>, e: &OmsError) {
        let outcome =
            serde_json::json!({"status": "rejected", "error": e.code(), "detail": e.to_string()});
        self.0.audit.append(&[AuditLog::record(
            self.0.deps.clock.now(),
            payload_json,
            key,
            &outcome,
        )]);
        self.0.metrics.signal("rejected");
        log::info!("signal_rejected error={} detail=\"{e}\"", e.code());
    }

    /// Handle a `POST /signals/bounce` body. `idempotency_key` is the header of that
    /// name; the body's `signal_id` wins over it, and without either the key is derived
    /// from strategy, exchange, symbol, side and timestamp.
    ///
    /// Every body is appended to the audit log with its outcome, rejected ones too.
    ///
    /// # Errors
    /// [`OmsError::Malformed`] (not JSON), [`OmsError::Invalid`] (bad field, unknown
    /// exit strategy): nothing is stored. [`OmsError::PriceUnavailable`]: on exchange
    /// prices, no usable quote to fill the entry at (it fills at the ask or bid):
    /// nothing is stored. [`OmsError::Storage`]: nothing was stored.
    pub async fn handle_signal(
        &self,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<SignalAnswer, OmsError> {
        let raw: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                let err = OmsError::Malformed(format!("request body is not valid JSON: {e}"));
                let text = Value::String(String::from_utf8_lossy(body).into_owned());
                self.audit_rejected(&text.to_string(), idempotency_key, &err);
                return Err(err);
            }
        };
        // The body as received (valid JSON, hence UTF-8), on one line: stored and audited
        // as sent, never serialised again from the parsed value (which would sort its keys
        // and rewrite its numbers).
        let payload_text = audit::body_text(body);
        let signal = match self.validate(&raw) {
            Ok(s) => s,
            Err(e) => {
                self.audit_rejected(&payload_text, idempotency_key, &e);
                return Err(e);
            }
        };
        let key = self::idempotency_key(&signal, idempotency_key);
        // Debug: the outcome line that follows (position_opened, risk_block,
        // signal_ignored, signal_duplicate) names the key too; one line per signal at info.
        log::debug!(
            "signal_received key={key} symbol={} side={} price={}",
            signal.symbol,
            signal.side,
            signal.price
        );
        let entry = self.entry_quote(&signal).await;
        let accepted = self
            .ask(|reply| Write::Signal {
                signal: Box::new(signal),
                key,
                payload_text,
                entry,
                reply,
            })
            .await?;
        let mut answer = accepted.answer;
        if let Some(settled) = self.settled(accepted.settled).await {
            answer.order_status = Some(settled.status);
            answer.order_reason = settled.reason;
            if let Some((price, qty)) = settled.entry {
                answer.entry_price = Some(price);
                answer.qty = Some(qty);
            }
        }
        Ok(answer)
    }

    /// What became of a live order, if the venue's first report comes within
    /// LIVE_ACK_TIMEOUT_MS (the order goes on anyway; its position shows the rest).
    pub(crate) async fn settled(
        &self,
        told: Option<oneshot::Receiver<executor::Settled>>,
    ) -> Option<executor::Settled> {
        let told = told?;
        match tokio::time::timeout(self.0.settings.live_ack_timeout, told).await {
            Ok(Ok(s)) => Some(s),
            _ => None,
        }
    }

    fn validate(&self, raw: &Value) -> Result<Signal, OmsError> {
        validate_signal(
            raw,
            &self.0.settings,
            &self.0.deps.policies,
            self.0.deps.clock.now(),
        )
    }
}
