//! The audit trail: every received signal, one JSON line each, with its outcome.

use crate::OmsError;
use serde_json::{Value, json};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

    /// One audit record: `{"type": "bounce_signal", "ts", "payload", "idempotency_key", "outcome"}`.
    /// A payload that is not JSON is kept as a string.
    pub fn record(
        ts: loms_domain::Timestamp,
        payload: Value,
        key: Option<&str>,
        outcome: Value,
    ) -> String {
        json!({
            "type": "bounce_signal",
            "ts": ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "payload": payload,
            "idempotency_key": key,
            "outcome": outcome,
        })
        .to_string()
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
