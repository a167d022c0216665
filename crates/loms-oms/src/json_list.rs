//! JSON lists sent in pieces ([`Oms::positions_json_pieces`]): a long list is never
//! held whole, and its answer starts at once.

use crate::{Oms, OmsError};
use loms_storage::PositionFilter;

/// Size of the pieces of a JSON list ([`Oms::positions_json_pieces`]).
pub const JSON_PIECE_BYTES: usize = 256 * 1024;

/// A JSON list ([`Oms::positions_json_pieces`]).
#[derive(Debug)]
pub enum JsonList {
    /// It fit in one piece.
    Whole(Vec<u8>),
    /// The first piece, and the rest as they are read.
    Pieces(JsonPieces),
}

/// How long the reader waits for a client to take the next piece of a list before it
/// gives up (the answer is then cut): a client that stops reading must not keep a read
/// transaction open, which would stop the WAL from starting over.
const JSON_PIECE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A JSON list arriving in pieces.
#[derive(Debug)]
pub struct JsonPieces {
    first: Option<Vec<u8>>,
    rest: tokio::sync::mpsc::Receiver<Result<(Vec<u8>, bool), OmsError>>,
    /// The last piece has arrived.
    done: bool,
}

impl JsonPieces {
    /// The next piece; `None` once the list is complete, an error if the list stops
    /// before its last piece.
    pub fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Vec<u8>, OmsError>>> {
        use std::task::Poll;
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if self.done {
            return Poll::Ready(None);
        }
        self.rest.poll_recv(cx).map(|next| match next {
            Some(Ok((piece, last))) => {
                self.done = last;
                Some(Ok(piece))
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            None => {
                self.done = true;
                Some(Err(OmsError::Storage(
                    "the list stopped before its end".into(),
                )))
            }
        })
    }
}

impl Oms {
    /// [`Oms::positions_json`] for `GET /positions/`: whole when it fits in one piece
    /// of [`JSON_PIECE_BYTES`], else in pieces sent while the rows are read, so that a
    /// long list is never held whole and its answer starts at once. An error before
    /// the first piece is returned here; one after it ends the pieces.
    ///
    /// # Errors
    /// [`OmsError::Storage`].
    pub async fn positions_json_pieces(
        &self,
        filter: PositionFilter,
    ) -> Result<JsonList, OmsError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let inner = self.0.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let sent = tx.clone();
            let r = inner.readers.with(move |s| {
                s.positions_json_chunks(&filter, JSON_PIECE_BYTES, |piece, last| {
                    let send = sent.send_timeout(Ok((piece, last)), JSON_PIECE_WAIT);
                    match runtime.block_on(send) {
                        Ok(()) => true,
                        Err(e) => {
                            if matches!(e, tokio::sync::mpsc::error::SendTimeoutError::Timeout(_)) {
                                log::warn!("list_client_too_slow: the answer was cut");
                            }
                            false
                        }
                    }
                })
            });
            if let Err(e) = r {
                // Never wait here: a full channel means the client is gone or stuck,
                // and the list then ends without its last piece anyway.
                let _ = tx.try_send(Err(e));
            }
        });
        match rx.recv().await {
            Some(Ok((whole, true))) => Ok(JsonList::Whole(whole)),
            Some(Ok((first, false))) => Ok(JsonList::Pieces(JsonPieces {
                first: Some(first),
                rest: rx,
                done: false,
            })),
            Some(Err(e)) => Err(e),
            None => Err(OmsError::Storage("read task failed".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(p: &mut JsonPieces) -> Option<Result<Vec<u8>, OmsError>> {
        let waker = std::task::Waker::noop();
        match p.poll_next(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => panic!("a piece was ready"),
        }
    }

    type PieceSender = tokio::sync::mpsc::Sender<Result<(Vec<u8>, bool), OmsError>>;

    /// A list whose first piece is `[1`, and where its next pieces come from.
    fn list() -> (PieceSender, JsonPieces) {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let p = JsonPieces {
            first: Some(b"[1".to_vec()),
            rest: rx,
            done: false,
        };
        (tx, p)
    }

    #[test]
    fn a_list_that_stops_before_its_last_piece_ends_with_an_error() {
        let (tx, mut p) = list();
        tx.try_send(Ok((b",2".to_vec(), false))).unwrap();
        drop(tx); // the reader died
        assert_eq!(next(&mut p).unwrap().unwrap(), b"[1");
        assert_eq!(next(&mut p).unwrap().unwrap(), b",2");
        assert!(next(&mut p).unwrap().is_err(), "not a clean end");
        assert!(next(&mut p).is_none());

        let (tx, mut p) = list();
        tx.try_send(Ok((b"]".to_vec(), true))).unwrap();
        drop(tx);
        assert_eq!(next(&mut p).unwrap().unwrap(), b"[1");
        assert_eq!(next(&mut p).unwrap().unwrap(), b"]");
        assert!(next(&mut p).is_none(), "a clean end after the last piece");
    }
}
