//! The checkpoint thread: it copies the WAL into the database once a second, so that
//! the writer never stops to do it.

use crate::OmsError;
use loms_storage::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;

/// How often the WAL is copied into the database, off the writer. Under a stream of
/// concurrent writes, a checkpoint every 50 ms put a database `fsync` in the way of the
/// WAL flushes twenty times a second (intake p99 5.3–6.8 ms at concurrency 16); once a
/// second, 3.9–4.0 ms, and pages rewritten in between are copied once.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// WAL frames (4 KiB pages, 16 MiB) from which the checkpoint thread asks the writer to
/// copy the last frames itself so that the WAL starts over.
const WAL_RESTART_FRAMES: i64 = 4096;

/// The thread that checkpoints the WAL, so the writer never stops to do it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Sender<()>,
    handle: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    /// Stop after a last checkpoint, and wait.
    pub(crate) fn stop(self) {
        drop(self.stop);
        let _ = self.handle.join();
    }
}

/// Start the checkpoint thread. Once the WAL holds [`WAL_RESTART_FRAMES`] or more, each
/// checkpoint also sets `restart`: the writer, once requests come one at a time, copies
/// the frames added since into the database itself ([`crate::writer::Writer::run`]), so that
/// its next transaction starts the WAL file over.
pub(crate) fn spawn_checkpointer(
    path: &std::path::Path,
    restart: Arc<AtomicBool>,
) -> Result<Checkpointer, OmsError> {
    let store = Store::open(path)?;
    let (stop, rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("loms-checkpoint".into())
        .spawn(move || {
            loop {
                let stopping = !matches!(
                    rx.recv_timeout(CHECKPOINT_EVERY),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                );
                match store.checkpoint() {
                    // Only the writer can start the WAL over: SQLite does it at a write
                    // transaction that begins with every frame copied.
                    Ok(c) if c.wal_frames >= WAL_RESTART_FRAMES => {
                        restart.store(true, Ordering::Release);
                    }
                    Ok(_) => {}
                    Err(e) => log::warn!("checkpoint_failed error={e}"),
                }
                if stopping {
                    break;
                }
            }
        })
        .map_err(|e| OmsError::Storage(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(Checkpointer { stop, handle })
}
