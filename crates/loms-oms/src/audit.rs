//! The audit trail: every received signal, one JSON line each, with its outcome.

use crate::OmsError;
use serde_json::Value;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The text of a body that parsed as JSON, as received but on one line: line breaks
/// (which valid JSON has only as whitespace between tokens: inside a string they must
/// be escaped) become spaces, and the whitespace around the value goes. Every other
/// byte is kept: key order, number spelling (`1.10`, `1e2`), spaces.
pub fn body_text(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .trim_matches([' ', '\t', '\n', '\r'])
        .replace(['\n', '\r'], " ")
}

/// Append-only JSONL file (`AUDIT_LOG_PATH`).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    /// `None`: records are dropped (offline replay).
    file: Option<Mutex<File>>,
}

impl AuditLog {
    /// Open `path` for appending, creating it and its folder.
    ///
    /// # Errors
    /// [`OmsError::Storage`] naming the path when it cannot be created.
    pub fn open(path: &Path) -> Result<Self, OmsError> {
        let fail =
            |e: std::io::Error| OmsError::Storage(format!("audit log {}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Some(Mutex::new(file)),
        })
    }

    /// A log that drops every record (offline replay writes no audit trail).
    pub fn discard() -> Self {
        Self {
            path: PathBuf::new(),
            file: None,
        }
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One audit record: `{"idempotency_key", "outcome", "payload", "ts", "type":
    /// "bounce_signal"}`, keys in that order. `payload_json` is the body as compact
    /// JSON text (a body that is not JSON comes as a JSON string); it is written as it
    /// is, not parsed and written again.
    pub fn record(
        ts: loms_domain::Timestamp,
        payload_json: &str,
        key: Option<&str>,
        outcome: &Value,
    ) -> String {
        let key = key.map_or(Value::Null, Value::from);
        let ts = ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut line = String::with_capacity(payload_json.len() + 256);
        // Writing to a String cannot fail.
        let _ = write!(
            line,
            "{{\"idempotency_key\":{key},\"outcome\":{outcome},\"payload\":{payload_json},\
             \"ts\":\"{ts}\",\"type\":\"bounce_signal\"}}"
        );
        line
    }

    /// Append lines in one write. Failures are logged, never fatal: the database is the
    /// record of truth, the audit file its human-readable trail.
    pub fn append(&self, lines: &[String]) {
        let Some(file) = &self.file else { return };
        if lines.is_empty() {
            return;
        }
        let mut buf = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            buf.push_str(l);
            buf.push('\n');
        }
        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = f.write_all(buf.as_bytes()).and_then(|()| f.flush()) {
            log::error!("audit_write_failed path={} error={e}", self.path.display());
        }
    }

    /// True when the file can still be opened for appending (health check).
    pub fn writable(&self) -> Result<(), String> {
        if self.file.is_none() {
            return Ok(());
        }
        OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_is_one_json_object_with_the_payload_as_sent() {
        let ts = chrono::DateTime::from_timestamp(1_700_000_000, 5_000_000).unwrap();
        let payload = json!({"symbol": "BTC\"USDT", "price": 97250.5, "n": [1, null]});
        let outcome = json!({"status": "opened", "position_id": 7});
        let line = AuditLog::record(ts, &payload.to_string(), Some("k\n1"), &outcome);
        assert!(!line.contains('\n'), "one line: {line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            json!({"type": "bounce_signal", "ts": "2023-11-14T22:13:20.005Z",
                   "payload": payload, "idempotency_key": "k\n1", "outcome": outcome})
        );
        // A body that is not JSON, and no key.
        let raw = Value::String("{\"symbol\": \"BT".into()).to_string();
        let v: Value = serde_json::from_str(&AuditLog::record(ts, &raw, None, &outcome)).unwrap();
        assert_eq!(v["payload"], "{\"symbol\": \"BT");
        assert_eq!(v["idempotency_key"], Value::Null);
    }
}
