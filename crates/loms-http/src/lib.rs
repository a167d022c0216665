//! LOMS HTTP API (hyper 1.x) over [`loms_oms::Oms`]: the routes of `docs/api.md`, JSON
//! errors, a request body limit, and graceful shutdown (in-flight requests finish, the
//! auto-close loop stops, the database closes).
//!
//! [`run`] takes its listener and its shutdown signal from the caller, so tests bind
//! `127.0.0.1:0` and stop the server when they are done.

mod catch_panic;
mod early_errors;
mod query;
mod respond;
mod routes;

pub use respond::{Body, Pieces};
pub use routes::{handle, route_table};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use loms_oms::Oms;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// The OpenAPI 3.1 document of the whole API, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Most header fields a request may carry (431 above).
pub const MAX_HEADERS: usize = 100;

/// Largest request head (request line and headers) read (431 above); hyper's default.
pub const MAX_HEAD_BYTES: usize = 400 * 1024;

/// How long in-flight requests get to finish after the shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serve HTTP on `listener` until `shutdown` resolves, then let in-flight requests
/// finish (at most 10 s). Does not stop the OMS.
///
/// # Errors
/// Only when accepting connections fails for good.
pub async fn serve(
    listener: TcpListener,
    oms: Oms,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        log::warn!("accept_failed error={e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let oms = oms.clone();
                let svc = service_fn(move |req| {
                    let oms = oms.clone();
                    async move {
                        let answer = catch_panic::CatchPanic::new(async move { handle(req, &oms).await });
                        Ok::<_, std::convert::Infallible>(answer.await)
                    }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .max_headers(MAX_HEADERS)
                    .max_buf_size(MAX_HEAD_BYTES)
                    .serve_connection(early_errors::JsonErrors::new(TokioIo::new(stream)), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        log::debug!("connection_error peer={peer} error={e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    log::info!("Shutting down: waiting for in-flight requests");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        log::warn!("Some connections did not finish within {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// The whole service: the auto-close loop plus [`serve`]; on `shutdown`, stop taking
/// requests, finish the in-flight ones, stop the loop, and close the database.
///
/// # Errors
/// Only when accepting connections fails for good.
pub async fn run(
    oms: Oms,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let auto_close = tokio::spawn({
        let oms = oms.clone();
        async move {
            // Close first what was hit while LOMS was down, at the level touched.
            if let Err(e) = oms.catch_up_downtime().await {
                log::error!("downtime_gap_failed error=\"{e}\"");
            }
            oms.run_auto_close(async move {
                let _ = stop_rx.changed().await;
            })
            .await;
        }
    });
    let served = serve(listener, oms.clone(), shutdown).await;
    let _ = stop_tx.send(true);
    let _ = auto_close.await;
    oms.shutdown().await;
    log::info!("LOMS stopped cleanly");
    served
}
