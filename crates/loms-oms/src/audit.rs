//! The audit trail: every received signal, one JSON line each, with its outcome.
//!
//! A line is never left cut: an append that fails (a full disk) is cut back to where
//! the file ended before it, and when even that fails the next append starts on a new
//! line. The records of a failed append are kept (up to [`MAX_BACKLOG_BYTES`]) and
//! written first by the next append that succeeds, so a full disk delays the trail
//! instead of tearing it; /health fails its `audit_log` check meanwhile.

use crate::OmsError;
use serde_json::Value;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Records of failed appends kept to be written later, at most (bytes); beyond, new
/// records are dropped, counted and logged.
pub const MAX_BACKLOG_BYTES: usize = 16 * 1024 * 1024;

/// Where the audit lines go: the file, or a stand-in that fails on demand (tests).
pub(crate) trait Sink: Write + Send + std::fmt::Debug {
    /// Length of what is written so far.
    fn len(&mut self) -> io::Result<u64>;
    /// Cut back to `len` bytes.
    fn cut(&mut self, len: u64) -> io::Result<()>;
}

impl Sink for File {
    fn len(&mut self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
    fn cut(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// The file and what the last appends left behind.
#[derive(Debug)]
struct State {
    sink: Box<dyn Sink>,
    /// The file may end inside a line (a failed append that could not be cut back, or
    /// a crash): the next append starts with a line break.
    torn: bool,
    /// Complete lines (each ending in `\n`) of failed appends, oldest first.
    backlog: String,
    /// Records dropped because the backlog was full.
    dropped: u64,
    /// Why the last append failed, while no append has succeeded since.
    last_error: Option<String>,
}

impl State {
    fn new(sink: Box<dyn Sink>, torn: bool) -> Self {
        Self {
            sink,
            torn,
            backlog: String::new(),
            dropped: 0,
            last_error: None,
        }
    }

    /// Append `lines` after the backlog, in one write.
    fn append(&mut self, path: &Path, lines: &[String]) {
        let new_len: usize = lines.iter().map(|l| l.len() + 1).sum();
        let mut buf = String::with_capacity(1 + self.backlog.len() + new_len);
        if self.torn {
            buf.push('\n');
        }
        buf.push_str(&self.backlog);
        for l in lines {
            buf.push_str(l);
            buf.push('\n');
        }
        let before = self.sink.len();
        let Err(e) = self
            .sink
            .write_all(buf.as_bytes())
            .and_then(|()| self.sink.flush())
        else {
            if self.last_error.take().is_some() {
                log::warn!(
                    "audit_write_recovered path={} written_late={} bytes",
                    path.display(),
                    self.backlog.len()
                );
            }
            self.torn = false;
            self.backlog.clear();
            return;
        };
        // Cut what reached the file back off; if that fails too, the next append
        // starts on a fresh line.
        let cut = before.and_then(|len| self.sink.cut(len));
        if let Err(c) = &cut {
            log::error!(
                "audit_cut_failed path={} error={c}: the next record starts on a new line",
                path.display()
            );
            self.torn = true;
        }
        if self.backlog.len() + new_len <= MAX_BACKLOG_BYTES {
            for l in lines {
                self.backlog.push_str(l);
                self.backlog.push('\n');
            }
        } else {
            self.dropped += lines.len() as u64;
        }
        log::error!(
            "audit_write_failed path={} error={e} waiting={} bytes dropped={}",
            path.display(),
            self.backlog.len(),
            self.dropped
        );
        self.last_error = Some(e.to_string());
    }
}

/// What /health says of the audit file ([`AuditLog::status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditStatus {
    /// Appends succeed.
    Ok,
    /// Appends succeed, but records were lost earlier (the text says how many).
    Warning(String),
    /// The last append failed, or the file cannot be opened (the text says why).
    Failing(String),
}

/// Append-only JSONL file (`AUDIT_LOG_PATH`).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    /// `None`: records are dropped (offline replay).
    state: Option<Mutex<State>>,
}

/// Whether the file at `path` ends inside a line (a crash cut its last record).
fn ends_inside_a_line(path: &Path) -> io::Result<bool> {
    let mut f = File::open(path)?;
    if f.metadata()?.len() == 0 {
        return Ok(false);
    }
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    f.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
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
        let torn = ends_inside_a_line(path).map_err(fail)?;
        if torn {
            log::warn!(
                "audit_log_torn path={}: the last record was cut (crash or full disk); the next starts on a new line",
                path.display()
            );
        }
        Ok(Self::on(path, Box::new(file), torn))
    }

    /// A log writing to `sink` (tests inject failures through it).
    pub(crate) fn on(path: &Path, sink: Box<dyn Sink>, torn: bool) -> Self {
        Self {
            path: path.to_path_buf(),
            state: Some(Mutex::new(State::new(sink, torn))),
        }
    }

    /// A log that drops every record (offline replay writes no audit trail).
    pub fn discard() -> Self {
        Self {
            path: PathBuf::new(),
            state: None,
        }
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One audit record: `{"idempotency_key", "outcome", "payload", "ts", "type":
    /// "bounce_signal"}`, keys in that order. `payload_json` is the body as JSON text
    /// on one line ([`body_text`]; a body that is not JSON comes as a JSON string); it
    /// is written as it is, not parsed and written again.
    pub fn record(
        ts: loms_domain::Timestamp,
        payload_json: &str,
        key: Option<&str>,
        outcome: &Value,
    ) -> String {
        Self::record_of("bounce_signal", ts, payload_json, key, outcome)
    }

    /// [`AuditLog::record`] of another kind of request (`type` is `kind`: replay reads
    /// only `bounce_signal` records as signals).
    pub fn record_of(
        kind: &str,
        ts: loms_domain::Timestamp,
        payload_json: &str,
        key: Option<&str>,
        outcome: &Value,
    ) -> String {
        let key = key.map_or(Value::Null, Value::from);
        let kind = Value::from(kind);
        let ts = ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut line = String::with_capacity(payload_json.len() + 256);
        // Writing to a String cannot fail.
        let _ = write!(
            line,
            "{{\"idempotency_key\":{key},\"outcome\":{outcome},\"payload\":{payload_json},\
             \"ts\":\"{ts}\",\"type\":{kind}}}"
        );
        line
    }

    /// Append lines in one write, after the records of earlier appends that failed.
    /// Failures are logged and reported by [`AuditLog::status`], never fatal: the
    /// database is the record of truth, the audit file its human-readable trail.
    pub fn append(&self, lines: &[String]) {
        let Some(state) = &self.state else { return };
        if lines.is_empty() {
            return;
        }
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.append(&self.path, lines);
    }

    /// The `audit_log` check of /health: failing while the last append failed or when
    /// the file can no longer be opened for appending.
    pub fn status(&self) -> AuditStatus {
        let Some(state) = &self.state else {
            return AuditStatus::Ok;
        };
        let (last_error, waiting, dropped) = {
            let st = state.lock().unwrap_or_else(|e| e.into_inner());
            (
                st.last_error.clone(),
                st.backlog.lines().count(),
                st.dropped,
            )
        };
        let lost = (dropped > 0).then(|| {
            format!("{dropped} records were dropped while appends failed (see audit_write_failed in the log)")
        });
        if let Some(e) = last_error {
            let mut why = format!(
                "{}: the last append failed ({e}); {waiting} records wait to be written",
                self.path.display()
            );
            if let Some(l) = lost {
                why.push_str("; ");
                why.push_str(&l);
            }
            return AuditStatus::Failing(why);
        }
        if let Err(e) = OpenOptions::new().append(true).open(&self.path) {
            return AuditStatus::Failing(format!("{}: {e}", self.path.display()));
        }
        match lost {
            Some(l) => AuditStatus::Warning(l),
            None => AuditStatus::Ok,
        }
    }
}

/// The text of a body that parsed as JSON, as received but on one line: line breaks
/// (which valid JSON has only as whitespace between tokens: inside a string they must
/// be escaped) become spaces, and the whitespace around the value goes. Every other
/// byte is kept: key order, number spelling (`1.10`, `1e2`), spaces.
pub fn body_text(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .trim_matches([' ', '\t', '\n', '\r'])
        .replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

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

    /// A disk that fills up: writes take what still fits, then fail with ENOSPC.
    #[derive(Debug, Clone, Default)]
    struct Disk(Arc<Mutex<DiskState>>);

    #[derive(Debug, Default)]
    struct DiskState {
        bytes: Vec<u8>,
        /// Bytes that still fit (`None`: no limit).
        room: Option<usize>,
        /// Cutting the file back fails too.
        cut_fails: bool,
    }

    impl Disk {
        fn set(&self, room: Option<usize>, cut_fails: bool) {
            let mut d = self.0.lock().unwrap();
            (d.room, d.cut_fails) = (room, cut_fails);
        }
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().bytes.clone()).unwrap()
        }
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut d = self.0.lock().unwrap();
            let n = d.room.map_or(buf.len(), |r| r.min(buf.len()));
            if n == 0 && !buf.is_empty() {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            d.bytes.extend_from_slice(&buf[..n]);
            if let Some(r) = &mut d.room {
                *r -= n;
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink for Disk {
        fn len(&mut self) -> io::Result<u64> {
            Ok(self.0.lock().unwrap().bytes.len() as u64)
        }
        fn cut(&mut self, len: u64) -> io::Result<()> {
            let mut d = self.0.lock().unwrap();
            if d.cut_fails {
                return Err(io::Error::from_raw_os_error(5)); // EIO
            }
            d.bytes.truncate(usize::try_from(len).unwrap());
            Ok(())
        }
    }

    fn line(n: u32) -> String {
        AuditLog::record(
            chrono::DateTime::UNIX_EPOCH,
            &format!("{{\"symbol\":\"S{n}USDT\",\"price\":100}}"),
            Some(&format!("k{n}")),
            &json!({"status": "opened", "position_id": n}),
        )
    }

    /// A log writing to `disk`, named after a file that exists (its health check opens
    /// it).
    fn log_on(disk: &Disk) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "").unwrap();
        let log = AuditLog::on(&path, Box::new(disk.clone()), false);
        (dir, log)
    }

    #[test]
    fn a_failed_append_is_cut_back_and_written_once_there_is_room() {
        let disk = Disk::default();
        let (_dir, log) = log_on(&disk);
        log.append(&[line(1)]);
        assert_eq!(log.status(), AuditStatus::Ok);
        disk.set(Some(40), false);
        log.append(&[line(2), line(3)]);
        assert_eq!(disk.text(), format!("{}\n", line(1)), "cut back, not torn");
        let AuditStatus::Failing(why) = log.status() else {
            panic!("{:?}", log.status())
        };
        assert!(
            why.contains("No space left") && why.contains("2 records wait"),
            "{why}"
        );
        disk.set(None, false);
        log.append(&[line(4)]);
        assert_eq!(log.status(), AuditStatus::Ok);
        let want: Vec<String> = [1, 2, 3, 4].map(line).to_vec();
        assert_eq!(disk.text(), format!("{}\n", want.join("\n")));
    }

    #[test]
    fn when_the_cut_fails_too_the_next_record_starts_on_a_new_line() {
        let disk = Disk::default();
        let (_dir, log) = log_on(&disk);
        log.append(&[line(1)]);
        disk.set(Some(40), true);
        log.append(&[line(2)]);
        disk.set(None, false);
        log.append(&[line(3)]);
        let text = disk.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(
            lines[1],
            &line(2)[..40],
            "the cut record, alone on its line"
        );
        assert_eq!(
            [lines[0], lines[2], lines[3]],
            [line(1), line(2), line(3)].each_ref().map(String::as_str)
        );
        for l in [lines[0], lines[2], lines[3]] {
            serde_json::from_str::<Value>(l).unwrap();
        }
    }

    #[test]
    fn records_past_the_backlog_limit_are_dropped_and_reported() {
        let disk = Disk::default();
        let (_dir, log) = log_on(&disk);
        disk.set(Some(0), false);
        log.append(&["x".repeat(MAX_BACKLOG_BYTES)]);
        log.append(&[line(1)]);
        disk.set(None, false);
        log.append(&[line(2)]);
        assert_eq!(disk.text(), format!("{}\n{}\n", line(1), line(2)));
        let AuditStatus::Warning(why) = log.status() else {
            panic!("{:?}", log.status())
        };
        assert!(why.contains("1 records were dropped"), "{why}");
    }

    #[test]
    fn a_file_left_inside_a_line_by_a_crash_gets_the_next_record_on_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, format!("{}\n{{\"idem", line(1))).unwrap();
        let log = AuditLog::open(&path).unwrap();
        log.append(&[line(2)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n{{\"idem\n{}\n", line(1), line(2)));
        assert_eq!(log.status(), AuditStatus::Ok);
    }
}
