//! JSON responses and the mapping of errors to HTTP statuses.

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Frame;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use loms_oms::{JsonPieces, OmsError};
use serde::Serialize;
use serde_json::{Value, json};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A response body: whole, or a JSON list sent in pieces as it is read.
pub type Body = Either<Full<Bytes>, Pieces>;

pub(crate) type Resp = Response<Body>;

/// The pieces of a JSON list as a response body. A read error after the first piece
/// ends the body with an error, so the connection is cut and the client sees a
/// truncated answer rather than a short list.
#[derive(Debug)]
pub struct Pieces(JsonPieces);

impl hyper::body::Body for Pieces {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.get_mut().0.poll_next(cx).map(|piece| {
            piece.map(|r| match r {
                Ok(bytes) => Ok(Frame::data(Bytes::from(bytes))),
                Err(e) => {
                    log::error!("list_read_failed error={e}");
                    Err(std::io::Error::other(e.to_string()))
                }
            })
        })
    }
}

/// 200 with a JSON list arriving in pieces.
pub(crate) fn json_pieces(pieces: JsonPieces) -> Resp {
    let mut r = Response::new(Either::Right(Pieces(pieces)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Resp {
    let body = serde_json::to_vec(body).unwrap_or_else(|e| {
        log::error!("encode_failed error={e}");
        br#"{"error":"internal","detail":"cannot encode the answer"}"#.to_vec()
    });
    let mut r = with_type(Bytes::from(body), "application/json");
    *r.status_mut() = status;
    r
}

/// 200 with `body` of `content_type`.
fn with_type(body: Bytes, content_type: &'static str) -> Resp {
    let mut r = Response::new(Either::Left(Full::new(body)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// 200 with Prometheus text.
pub(crate) fn text(body: String) -> Resp {
    with_type(
        Bytes::from(body),
        "text/plain; version=0.0.4; charset=utf-8",
    )
}

/// 200 with an HTML page.
pub(crate) fn html(page: &'static str) -> Resp {
    with_type(
        Bytes::from_static(page.as_bytes()),
        "text/html; charset=utf-8",
    )
}

/// 200 with JSON already encoded.
pub(crate) fn raw_json(body: Vec<u8>) -> Resp {
    with_type(Bytes::from(body), "application/json")
}

/// 200 with `body`.
pub(crate) fn ok<T: Serialize>(body: &T) -> Result<Resp, ApiError> {
    Ok(json(StatusCode::OK, body))
}

/// An error answer: `{"error": code, "detail": detail, ...extra}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    extra: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            extra: None,
        }
    }

    /// 422 `invalid_query`.
    pub(crate) fn query(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", detail)
    }

    pub(crate) fn into_response(self) -> Resp {
        let mut body = json!({"error": self.code, "detail": self.detail});
        if let (Some(Value::Object(extra)), Some(obj)) = (self.extra, body.as_object_mut()) {
            obj.extend(extra);
        }
        json(self.status, &body)
    }
}

impl From<OmsError> for ApiError {
    fn from(e: OmsError) -> Self {
        let status = match &e {
            OmsError::Malformed(_) => StatusCode::BAD_REQUEST,
            OmsError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            OmsError::NotFound(_) => StatusCode::NOT_FOUND,
            OmsError::RiskBlocked(_) | OmsError::WrongMode(_) | OmsError::Busy(_) => {
                StatusCode::CONFLICT
            }
            OmsError::Broker(_) => StatusCode::BAD_GATEWAY,
            OmsError::PriceUnavailable { .. } | OmsError::Storage(_) | OmsError::Stopped => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        if status.is_server_error() {
            log::error!("request_failed error={} detail=\"{e}\"", e.code());
        }
        let extra = match &e {
            OmsError::RiskBlocked(b) => {
                Some(json!({"risk_scope": b.scope.as_str(), "risk_reason": b.reason}))
            }
            _ => None,
        };
        Self {
            status,
            code: e.code(),
            detail: e.to_string(),
            extra,
        }
    }
}
