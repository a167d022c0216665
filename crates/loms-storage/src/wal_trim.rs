//! Cutting a big WAL file back a few MiB at a time, between the writer's transactions.
//!
//! SQLite cuts the WAL back to `journal_size_limit` inside the commit of the
//! transaction that starts the WAL over. After a long burst of writes the file is
//! hundreds of MB long, and that one `ftruncate` held the writer 39–175 ms. With the
//! limit off, the writer's connection reports the frames in the WAL after each of its
//! commits (its WAL hook), and [`crate::Store::trim_wal`] cuts what lies past them in
//! steps of [`STEP_BYTES`], each while holding the write lock, so no other connection
//! can be appending meanwhile.

use crate::{Result, StorageError};
use rusqlite::{Connection, TransactionBehavior};
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// Bytes cut in one step (about 1 ms of `ftruncate` on the benchmark machine).
pub(crate) const STEP_BYTES: u64 = 4 * 1024 * 1024;

/// Bytes of the WAL header before the first frame.
const WAL_HEADER_BYTES: u64 = 32;

/// Bytes of a frame's header before its page.
const FRAME_HEADER_BYTES: u64 = 24;

/// The state of the cut, owned by the writer's [`crate::Store`].
#[derive(Debug)]
pub(crate) struct WalTrim {
    /// The WAL file, writable.
    file: File,
    path: PathBuf,
    /// The file is never cut below this.
    keep_bytes: u64,
    /// Bytes cut in one step.
    step_bytes: u64,
    frame_bytes: u64,
    /// Frames in the WAL after this connection's last commit (set by its WAL hook).
    frames: Arc<AtomicI64>,
    /// Set by the WAL hook: `frames` counts every frame, also those of a commit of
    /// another connection made before it.
    counted: Arc<AtomicBool>,
    /// `PRAGMA data_version` when the cut last looked: it changes when another
    /// connection commits, whose frames `frames` does not count until this one commits.
    version: std::cell::Cell<i64>,
    /// Length of the file as far as this connection knows.
    len: std::cell::Cell<u64>,
}

impl WalTrim {
    /// Take over cutting the WAL of `conn` (whose file is `path`) back to `keep_bytes`.
    pub(crate) fn install(
        conn: &mut Connection,
        path: PathBuf,
        keep_bytes: u64,
        step_bytes: u64,
    ) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::Io {
                path: path.clone(),
                source: e,
            })?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::Io {
                path: path.clone(),
                source: e,
            })?
            .len();
        let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let version: i64 = conn.pragma_query_value(None, "data_version", |r| r.get(0))?;
        conn.pragma_update(None, "journal_size_limit", -1)?;
        let frames = Arc::new(AtomicI64::new(0));
        let counted = Arc::new(AtomicBool::new(false));
        let (f, c) = (frames.clone(), counted.clone());
        // Replaces SQLite's automatic checkpoints, which this connection must not run.
        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
            f.store(i64::from(pages), Ordering::Release);
            c.store(true, Ordering::Release);
            Ok(())
        }))?;
        Ok(Self {
            file,
            path,
            keep_bytes,
            step_bytes,
            frame_bytes: u64::try_from(page).unwrap_or(4096) + FRAME_HEADER_BYTES,
            frames,
            counted,
            version: std::cell::Cell::new(version),
            len: std::cell::Cell::new(len),
        })
    }

    /// Cut one step off the WAL file if it is longer than its frames and the size kept;
    /// true when it did. Call between transactions of `conn`.
    pub(crate) fn step(&self, conn: &Connection) -> Result<bool> {
        let frames = u64::try_from(self.frames.load(Ordering::Acquire)).unwrap_or(0);
        let live = WAL_HEADER_BYTES + frames * self.frame_bytes;
        if live > self.len.get() {
            // Grown by this connection's appends.
            self.len.set(live);
        }
        let keep = live.max(self.keep_bytes);
        if self.len.get() <= keep || !self.counted.load(Ordering::Acquire) {
            return Ok(false);
        }
        // The write lock: nobody appends while the file is cut.
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "data_version", |r| r.get(0))?;
        if version != self.version.get() {
            // Another connection committed: wait until a commit of this one counts its
            // frames too.
            self.version.set(version);
            self.counted.store(false, Ordering::Release);
            return Ok(false);
        }
        // The file's own length: another program may have cut it (a TRUNCATE
        // checkpoint), or a rolled-back transaction lengthened it.
        let len = self.file.metadata().map_err(|e| self.io_error(e))?.len();
        let to = keep.max(len.saturating_sub(self.step_bytes));
        if to >= len {
            self.len.set(len);
            return Ok(false);
        }
        self.file.set_len(to).map_err(|e| self.io_error(e))?;
        self.len.set(to);
        tx.commit()?;
        Ok(true)
    }

    fn io_error(&self, source: std::io::Error) -> StorageError {
        StorageError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{SignalRecord, Store};
    use std::path::Path;

    fn wal_len(db: &Path) -> u64 {
        std::fs::metadata(db.with_extension("db-wal"))
            .unwrap()
            .len()
    }

    fn add_signal(store: &mut Store, key: &str) {
        let payload = "x".repeat(4000);
        let tx = store.transaction();
        tx.insert_signal(&SignalRecord {
            idem_key: key,
            received_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            symbol: "BTCUSDT",
            outcome: "opened",
            position_id: None,
            payload: &payload,
            response: "{}",
        })
        .unwrap();
        tx.commit().unwrap();
    }

    /// A writer store on a fresh file whose WAL is cut in 64 KiB steps down to 128 KiB,
    /// grown to about 2.4 MB and then started over (one row in it).
    fn grown_and_started_over() -> (tempfile::TempDir, std::path::PathBuf, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loms.db");
        let mut store = Store::open(&path).unwrap();
        store.disable_auto_checkpoint().unwrap();
        let _sync = store.defer_wal_sync().unwrap();
        let wal = store.wal_path().unwrap();
        store.trim =
            Some(super::WalTrim::install(&mut store.conn, wal, 128 * 1024, 64 * 1024).unwrap());
        for i in 0..300 {
            add_signal(&mut store, &format!("k{i}"));
        }
        let grown = wal_len(&path);
        assert!(grown > 2_000_000, "{grown}");
        assert!(
            !store.trim_wal().unwrap(),
            "nothing to cut while every frame is live"
        );
        assert_eq!(wal_len(&path), grown);
        let c = Store::open(&path).unwrap().checkpoint().unwrap();
        assert_eq!(c.left, 0);
        add_signal(&mut store, "after");
        assert_eq!(wal_len(&path), grown, "SQLite itself cuts nothing");
        (dir, path, store)
    }

    #[test]
    fn a_wal_started_over_is_cut_back_in_steps_and_keeps_every_row() {
        let (_dir, path, store) = grown_and_started_over();
        let before = wal_len(&path);
        assert!(store.trim_wal().unwrap());
        assert_eq!(wal_len(&path), before - 64 * 1024, "one step");
        let mut steps = 1;
        while store.trim_wal().unwrap() {
            steps += 1;
        }
        assert_eq!(wal_len(&path), 128 * 1024);
        assert!(steps > 30, "{steps}");
        drop(store);
        let s = Store::open(&path).unwrap();
        let check: String = s
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let rows: i64 = s
            .conn
            .query_row("SELECT count(*) FROM signals", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 301);
    }

    #[test]
    fn a_wal_cut_short_by_another_program_is_never_lengthened() {
        let (_dir, path, store) = grown_and_started_over();
        let wal = path.with_extension("db-wal");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&wal)
            .unwrap()
            .set_len(96 * 1024)
            .unwrap();
        assert!(!store.trim_wal().unwrap());
        assert_eq!(wal_len(&path), 96 * 1024);
    }

    #[test]
    fn a_commit_of_another_connection_holds_the_cut_until_this_one_commits() {
        let (_dir, path, mut store) = grown_and_started_over();
        let mut other = Store::open(&path).unwrap();
        add_signal(&mut other, "other");
        let before = wal_len(&path);
        assert!(!store.trim_wal().unwrap(), "its frames are not counted");
        assert!(!store.trim_wal().unwrap());
        assert_eq!(wal_len(&path), before);
        add_signal(&mut store, "mine");
        assert!(store.trim_wal().unwrap());
        while store.trim_wal().unwrap() {}
        drop((store, other));
        let rows: i64 = Store::open(&path)
            .unwrap()
            .conn
            .query_row("SELECT count(*) FROM signals", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 303);
    }
}
