//! Bitget's envelope and error answers, and query strings.

use serde_json::{Value, json};
use std::collections::HashMap;

/// A `code: "00000"` answer carrying `data`.
pub(crate) fn envelope(now_ms: i64, data: Value) -> (u16, String) {
    (
        200,
        json!({"code":"00000","msg":"success","requestTime":now_ms,"data":data}).to_string(),
    )
}

/// [`envelope`] around `data`, already JSON text (large lists are written as text).
pub(crate) fn envelope_text(now_ms: i64, data: &str) -> (u16, String) {
    (
        200,
        format!(r#"{{"code":"00000","msg":"success","requestTime":{now_ms},"data":{data}}}"#),
    )
}

/// A refusal: Bitget's code and message with HTTP `status` (400 for most).
pub(crate) fn error(now_ms: i64, status: u16, code: &str, msg: &str) -> (u16, String) {
    (
        status,
        json!({"code":code,"msg":msg,"requestTime":now_ms,"data":null}).to_string(),
    )
}

/// `a=1&b=2` as a map (values are not percent-decoded: LOMS sends none that need it).
pub(crate) fn query_map(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
