//! JSON responses and the mapping of errors to HTTP statuses.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use loms_oms::OmsError;
use serde::Serialize;
use serde_json::json;

pub(crate) type Resp = Response<Full<Bytes>>;

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Resp {
    match serde_json::to_vec(body) {
        Ok(b) => raw(status, b),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("cannot encode the answer: {e}"),
        ),
    }
}

fn raw(status: StatusCode, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// `{"error": code, "detail": detail}`.
pub(crate) fn error(status: StatusCode, code: &str, detail: &str) -> Resp {
    json(status, &json!({"error": code, "detail": detail}))
}

/// The status that fits an OMS error.
pub(crate) fn oms_error(e: &OmsError) -> Resp {
    let status = match e {
        OmsError::Malformed(_) => StatusCode::BAD_REQUEST,
        OmsError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        OmsError::NotFound(_) => StatusCode::NOT_FOUND,
        OmsError::RiskBlocked(b) => {
            return json(
                StatusCode::CONFLICT,
                &json!({"error": e.code(), "detail": b.reason, "risk_scope": b.scope.as_str(), "risk_reason": b.reason}),
            );
        }
        OmsError::WrongMode(_) => StatusCode::CONFLICT,
        OmsError::Broker(_) => StatusCode::BAD_GATEWAY,
        OmsError::PriceUnavailable { .. } | OmsError::Storage(_) | OmsError::Stopped => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    if status.is_server_error() {
        log::error!("request_failed error={} detail=\"{e}\"", e.code());
    }
    error(status, e.code(), &e.to_string())
}
