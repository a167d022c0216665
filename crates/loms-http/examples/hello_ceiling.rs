//! Ceiling (a) of `scripts/bench/intake.sh`: the least an HTTP/1.1 server on hyper 1.x
//! can do per request on this machine. It reads the request body (limited to 64 KiB,
//! as LOMS does) and answers a fixed JSON body the size of a LOMS signal answer, with
//! the connection settings of `loms_http::serve` (one task per connection, TCP_NODELAY,
//! a header read timeout) on the same multi-threaded tokio runtime as `loms-server`.
//!
//! No LOMS code runs here: LOMS's intake as a percentage of this server's is what the
//! HTTP stack leaves to the OMS.
//!
//! ```sh
//! cargo run --release -p loms-http --example hello_ceiling -- --bind 127.0.0.1:0
//! ```
//!
//! Prints `hello_ceiling listening on http://ADDR` once it accepts connections, and
//! serves until killed.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// About the size of an "opened" answer of `POST /signals/bounce`.
const ANSWER: &[u8] = br#"{"received":true,"oms_enabled":true,"risk_ok":true,"order_id":12,"position_id":12,"entry_price":97250.5,"qty":0.00010282,"tp_price":101626.7725,"sl_price":95791.7425,"exit_strategy":"tp_sl_static","signal_id":"derived:bounce_ema10_strict|bitget|BTCUSDT|long|2025-12-01T10:05:00.000Z","duplicate":false}"#;

async fn answer(req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let read = Limited::new(req.into_body(), loms_http::MAX_BODY_BYTES)
        .collect()
        .await;
    let (status, body) = match read {
        Ok(_) => (StatusCode::OK, Bytes::from_static(ANSWER)),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            Bytes::from_static(br#"{"error":"bad_body"}"#),
        ),
    };
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn bind_arg() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut bind = "127.0.0.1:0".to_string();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bind" => bind = args.next().ok_or("--bind needs ADDR")?,
            other => return Err(format!("unknown argument {other:?}; usage: --bind ADDR")),
        }
    }
    bind.parse().map_err(|e| format!("--bind {bind:?}: {e}"))
}

fn main() -> std::process::ExitCode {
    let addr = match bind_arg() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hello_ceiling: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hello_ceiling: cannot start tokio: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(addr)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hello_ceiling: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "hello_ceiling listening on http://{}",
        listener.local_addr()?
    );
    std::io::stdout().flush()?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(a) => a,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(30))
            .serve_connection(
                TokioIo::new(stream),
                service_fn(
                    |req| async move { Ok::<_, std::convert::Infallible>(answer(req).await) },
                ),
            );
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
