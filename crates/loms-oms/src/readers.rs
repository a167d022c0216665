//! The read pool: read-only connections of their own, so reads never queue behind the
//! writer.

use crate::{Oms, OmsError};
use loms_storage::{StorageError, Store};
use std::sync::Mutex;

/// Read connections kept open between reads.
const MAX_IDLE_READERS: usize = 4;

/// Pool of read-only connections, so reads never queue behind the writer.
#[derive(Debug)]
pub(crate) struct Readers {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Store>>,
}

impl Readers {
    /// A pool of readers of the database at `path`, none open yet.
    pub(crate) fn new(path: std::path::PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Run `f` on a pooled reader (a new one when none is idle).
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StorageError>,
    ) -> Result<T, OmsError> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let store = match pooled {
            Some(s) => s,
            None => Store::open_reader(&self.path)?,
        };
        let r = f(&store);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // Keep a few connections for the next reads; close the rest (a burst of
        // concurrent reads must not leave dozens of page caches behind).
        if idle.len() < MAX_IDLE_READERS {
            idle.push(store);
        }
        Ok(r?)
    }
}

impl Oms {
    /// Run `f` on a reader, off the async runtime.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, OmsError> {
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || inner.readers.with(f))
            .await
            .map_err(|e| OmsError::Storage(format!("read task failed: {e}")))?
    }
}
