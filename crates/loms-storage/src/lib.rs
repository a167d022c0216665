//! LOMS storage: SQLite through rusqlite (bundled, no system library needed).
//!
//! * Versioned migrations on `PRAGMA user_version`; a past migration is never edited.
//! * WAL with `synchronous=FULL`: a committed transaction survives a crash or power loss.
//!   The OMS writer instead commits with `synchronous=NORMAL` and makes its commits
//!   durable itself with a [`WalSync`] on another thread, before it answers anyone
//!   (group commit whose `fdatasync` overlaps the next batch).
//! * One writer: the OMS owns the only [`Store`] that writes and groups the work of many
//!   requests into one [`Tx`]; readers open their own connections with [`Store::open_reader`].
//! * Decimals are stored as exact TEXT and times as fixed-width RFC 3339 UTC TEXT, which
//!   sorts like time.

mod broker_mode;
mod closed_pnl;
mod closes;
mod codec;
mod columns;
mod error;
mod json;
mod lock;
mod migrations;
mod order_rows;
mod position_orders;
mod queries;
mod rows;
mod signals;
mod tx;
mod wal_trim;

pub use broker_mode::{BROKER_MODE_KEY, DbBrokerMode};
pub use columns::PositionColumn;
pub use error::StorageError;
pub use lock::{DatabaseLock, lock_path};
pub use order_rows::OrderRow;
pub use queries::{ClosedTrade, PositionFilter, TradeFilter};
pub use rows::BadRow;
pub use tx::{FillRecord, NewOrder, SignalRecord, Tx};

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Result alias of this crate.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Makes the commits of a [`Store`] in `synchronous=NORMAL` durable
/// ([`Store::defer_wal_sync`]): an `fdatasync` of its WAL file. SQLite never replaces
/// the WAL file while a connection is open, and `fdatasync` flushes the file whichever
/// descriptor wrote it.
#[derive(Debug)]
pub struct WalSync {
    file: std::fs::File,
    path: PathBuf,
}

impl WalSync {
    /// A sync handle on the file at `path` (a WAL; [`Store::defer_wal_sync`] is the
    /// usual way to get one).
    ///
    /// # Errors
    /// [`StorageError::Io`] when the file cannot be opened.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| StorageError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Flush every WAL frame written so far to the disk.
    ///
    /// # Errors
    /// [`StorageError::Sync`] when the OS reports a failure: the commits since the last
    /// successful sync may not be durable.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| StorageError::Sync {
            path: self.path.clone(),
            source: e,
        })
    }
}

/// Page cache of the writer's connection (`PRAGMA cache_size`, negative: KiB).
const WRITER_CACHE_KIB: i64 = -8192;

/// Size the WAL file is cut back to once it has started over: by SQLite in that commit
/// (`PRAGMA journal_size_limit`), or in steps by [`Store::trim_wal`].
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// What a [`Store::checkpoint`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Frames (pages) in the WAL. Once every one is in the database, the next write
    /// transaction starts the WAL file over instead of growing it.
    pub wal_frames: i64,
    /// Frames not copied yet: still read by a reader, or written during the checkpoint.
    pub left: i64,
}

/// A connection to the LOMS database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Cuts the WAL back in steps ([`Store::cut_wal_in_steps`]).
    trim: Option<wal_trim::WalTrim>,
}

impl Store {
    /// Open (creating the file and its folder if needed) and migrate the database at
    /// `path`, for writing.
    ///
    /// # Errors
    /// [`StorageError`] when the folder cannot be created, the file is not a database,
    /// or a migration fails.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StorageError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        let conn = Connection::open(path)?;
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
            trim: None,
        };
        store.configure()?;
        migrations::apply(&mut store.conn)?;
        Ok(store)
    }

    /// A read-only connection to a database another [`Store`] has opened and migrated.
    ///
    /// # Errors
    /// [`StorageError`] when the file cannot be opened.
    pub fn open_reader(path: &Path) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            trim: None,
        })
    }

    /// A private in-memory database (tests).
    ///
    /// # Errors
    /// [`StorageError`] on a migration failure.
    pub fn open_in_memory() -> Result<Self> {
        let mut store = Self {
            conn: Connection::open_in_memory()?,
            path: PathBuf::from(":memory:"),
            trim: None,
        };
        store.configure()?;
        migrations::apply(&mut store.conn)?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(5))?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    /// Stop checkpointing from this connection's commits, for a writer whose WAL is
    /// checkpointed by another connection ([`Store::checkpoint`] on another thread), so
    /// that it never stops to copy the WAL into the database.
    ///
    /// # Errors
    /// [`StorageError`] when the pragma fails.
    pub fn disable_auto_checkpoint(&self) -> Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    /// Let this connection's commits return before they are durable
    /// (`PRAGMA synchronous=NORMAL`) and hand back what makes them durable: a commit is
    /// on disk once a [`WalSync::sync`] that began after it returned has succeeded.
    ///
    /// In WAL mode this cannot corrupt the database; without the sync, a power loss
    /// could only lose the last commits. The WAL itself is still synced before each
    /// checkpoint, and the database file after it, as with `synchronous=FULL`.
    ///
    /// # Errors
    /// [`StorageError`] when the database is not in WAL mode (in memory) or the WAL
    /// file cannot be opened.
    pub fn defer_wal_sync(&self) -> Result<WalSync> {
        let mode: String = self
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Corrupt(format!(
                "journal_mode is {mode}, not wal: commits cannot be synced separately"
            )));
        }
        let wal = WalSync::open(&self.wal_path()?)?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The writer's working set (the last page of every table and index, and the
        // pages of the positions it closes) outgrows the default 2 MiB cache with
        // the first tens of thousands of rows; every miss is a read from the WAL.
        self.conn
            .pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        // A burst of writes that never pauses grows the WAL (a checkpoint on another
        // thread cannot catch up with its end); give the disk back once it has.
        self.conn
            .pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
        Ok(wal)
    }

    /// The WAL file of this database.
    fn wal_path(&self) -> Result<PathBuf> {
        // The WAL file exists from the first read in WAL mode; read to be sure.
        self.schema_version()?;
        // SQLite names the WAL after the database file as it resolved it (following
        // symbolic links), so ask it rather than the path this store was opened with.
        let db = self
            .conn
            .path()
            .filter(|p| !p.is_empty())
            .map_or_else(|| self.path.clone(), PathBuf::from);
        let mut name = db.into_os_string();
        name.push("-wal");
        Ok(PathBuf::from(name))
    }

    /// Cut the WAL file back to 64 MiB a few MiB at a time, with [`Store::trim_wal`]
    /// between transactions, instead of SQLite cutting it whole inside the commit that
    /// starts it over (hundreds of ms after a long burst of writes). Replaces SQLite's
    /// automatic checkpoints on this connection: the WAL must be checkpointed by another
    /// ([`Store::checkpoint`]).
    ///
    /// # Errors
    /// [`StorageError`] when the WAL file cannot be opened for writing or a pragma fails.
    pub fn cut_wal_in_steps(&mut self) -> Result<()> {
        let path = self.wal_path()?;
        self.trim = Some(wal_trim::WalTrim::install(
            &mut self.conn,
            path,
            WAL_SIZE_LIMIT_BYTES.unsigned_abs(),
            wal_trim::STEP_BYTES,
        )?);
        Ok(())
    }

    /// One step of cutting the WAL back ([`Store::cut_wal_in_steps`]), if one is due:
    /// true when the file was cut. Call between transactions.
    ///
    /// # Errors
    /// [`StorageError`] on a database or file system failure.
    pub fn trim_wal(&self) -> Result<bool> {
        match &self.trim {
            Some(t) => t.step(&self.conn),
            None => Ok(false),
        }
    }

    /// Copy the WAL into the database without blocking the writer or readers
    /// (`PRAGMA wal_checkpoint(PASSIVE)`).
    ///
    /// # Errors
    /// [`StorageError`] when the checkpoint fails.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        let (_busy, wal_frames, done): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        Ok(Checkpoint {
            wal_frames: wal_frames.max(0),
            left: (wal_frames - done).max(0),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Schema version (number of migrations applied).
    ///
    /// # Errors
    /// [`StorageError`] when the database cannot be read.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// A write transaction (`BEGIN IMMEDIATE` at its first statement).
    pub fn transaction(&mut self) -> Tx<'_> {
        Tx::new(&self.conn)
    }
}
