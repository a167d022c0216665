//! Storage errors.

use std::path::PathBuf;

/// Anything that went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A folder or file could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// The WAL could not be flushed to disk (`fdatasync`): recent commits may not be
    /// durable.
    #[error("cannot make {path} durable: {source}")]
    Sync {
        /// The WAL file.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// SQLite rolled the write transaction back by itself after an error (a full disk,
    /// an I/O error, out of memory): nothing of it is stored, and nothing more may run
    /// in it.
    #[error("the transaction was rolled back after an earlier error")]
    RolledBack,
    /// A stored value could not be decoded (the file was edited by hand or is corrupt).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Another process holds the database's lock ([`crate::DatabaseLock`]): a second
    /// loms-server on the same file.
    #[error(
        "the database is in use by {holder} (lock file {path}): another loms-server runs on it; stop that one first, or give this one another DATABASE_URL"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as the lock file says (`pid N since T`).
        holder: String,
    },
    /// The database was written by a newer LOMS.
    #[error("database schema v{found} is newer than this LOMS (v{known}); upgrade LOMS")]
    TooNew {
        /// Version in the file.
        found: u32,
        /// Latest version this build knows.
        known: u32,
    },
}
