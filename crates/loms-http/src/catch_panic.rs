//! A bug that panics while a request is answered must not cut the connection without
//! an answer: [`CatchPanic`] turns the panic into the API's JSON error, 500 `internal`.
//! Input never panics by design (the fuzz test checks it); this is the net below.

use crate::respond::{ApiError, Resp};
use hyper::StatusCode;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// `inner`, with a panic in any of its polls answered as a JSON 500.
pub(crate) struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl<F> std::fmt::Debug for CatchPanic<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatchPanic")
    }
}

impl<F: Future<Output = Resp>> Future for CatchPanic<F> {
    type Output = Resp;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Resp> {
        let inner = self.inner.as_mut();
        // The future is dropped unpolled after a panic: nothing observes a broken state.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                log::error!("request_panicked detail=\"{what}\"");
                Poll::Ready(
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "the server failed while answering; nothing more is known (see its log)",
                    )
                    .into_response(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_panic_becomes_a_json_500() {
        let resp = CatchPanic::new(async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            crate::respond::json(StatusCode::OK, &1)
        })
        .await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"], "internal");
    }
}
