//! One writer per database file: an exclusive advisory lock on `<database>.lock`,
//! held by the server for as long as it runs.
//!
//! The single writer keeps guarantees that live only in its memory (the idempotency
//! keys since schema v7, the open positions the risk limits count, the trading mode);
//! a second server on the same file would break every one of them. The lock is the
//! OS's (`flock`): it goes with the process, so a crash or `kill -9` never leaves a
//! stale lock behind. Readers (`loms-ctl backup`, `export`, the server's own read
//! connections) never take it.

use crate::StorageError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock of one database file, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DatabaseLock {
    file: File,
    path: PathBuf,
}

/// The lock file of the database at `db`: `<db>.lock`, next to it.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl DatabaseLock {
    /// Take the lock of the database at `db` (creating its folder), or fail at once
    /// when another process holds it. The lock file then names this process.
    ///
    /// # Errors
    /// [`StorageError::Locked`] naming the lock file and, when it says, the process
    /// that holds it; [`StorageError::Io`] when the lock file cannot be created.
    pub fn acquire(db: &Path) -> Result<Self, StorageError> {
        let path = lock_path(db);
        let io = |e: std::io::Error| StorageError::Io {
            path: path.clone(),
            source: e,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(StorageError::Locked {
                    path,
                    holder: if holder.is_empty() {
                        "another process".into()
                    } else {
                        holder.chars().take(200).collect()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let me = format!(
            "pid {} since {}",
            std::process::id(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        // Who holds it, for the message of the next one; the lock holds without it.
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()));
        Ok(Self { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DatabaseLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; say so explicitly.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_with_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/loms.db");
        let first = DatabaseLock::acquire(&db).unwrap();
        assert_eq!(first.path(), dir.path().join("data/loms.db.lock"));
        let err = DatabaseLock::acquire(&db).unwrap_err().to_string();
        assert!(
            err.contains("loms.db.lock") && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        // Another database is not affected.
        DatabaseLock::acquire(&dir.path().join("other.db")).unwrap();
        drop(first);
        DatabaseLock::acquire(&db).expect("released when dropped");
    }
}
