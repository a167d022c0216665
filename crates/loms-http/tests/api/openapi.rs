//! The OpenAPI document (`crates/loms-http/openapi.json`) against the server: the same
//! routes as the router's table, served at `/openapi.json`, and every answer of these
//! tests checked against its schema (the harness calls [`check_answer`] on each one).
//!
//! The checker is a small JSON Schema validator for the keywords the document uses
//! (`$ref`, `type`, `enum`, `const`, `properties`, `required`, `additionalProperties`,
//! `items`, `anyOf`, `oneOf`, `allOf`, `minimum`, `maximum`, `minLength`, `maxLength`,
//! `format: date-time`); any other keyword in the document is an error, so a schema can
//! never pass by using a keyword the checker would ignore.

use crate::harness::{TestServer, raw_exchange};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Keywords that only describe: they never make a value fail.
const ANNOTATIONS: &[&str] = &[
    "description",
    "example",
    "examples",
    "title",
    "default",
    "deprecated",
];

/// The parsed document.
fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(loms_http::OPENAPI).expect("openapi.json is JSON"))
}

/// What a `$ref` points to (`#/components/...` only).
fn resolve<'a>(root: &'a Value, reference: &str) -> Result<&'a Value, String> {
    let pointer = reference
        .strip_prefix('#')
        .ok_or_else(|| format!("only local $refs are supported, got {reference}"))?;
    root.pointer(pointer)
        .ok_or_else(|| format!("$ref {reference} points nowhere"))
}

fn type_matches(t: &str, v: &Value) -> Result<bool, String> {
    Ok(match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_number().is_some_and(|n| n.is_i64() || n.is_u64()),
        other => return Err(format!("unknown type {other:?}")),
    })
}

/// Check `v` against `schema` (`at` names the place, for messages).
pub(crate) fn validate(root: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let Some(s) = schema.as_object() else {
        return match schema {
            Value::Bool(true) => Ok(()),
            Value::Bool(false) => Err(format!("{at}: no value is allowed here")),
            _ => Err(format!("{at}: a schema must be an object or a boolean")),
        };
    };
    let fail = |why: String| Err(format!("{at}: {why}; value: {}", short(v)));
    for (key, arg) in s {
        match key.as_str() {
            "$ref" => {
                let reference = arg.as_str().ok_or("$ref must be a string")?;
                validate(root, resolve(root, reference)?, v, at)?;
            }
            "type" => {
                let types: Vec<&str> = match arg {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("{at}: bad type keyword")),
                };
                let mut any = false;
                for t in &types {
                    any |= type_matches(t, v)?;
                }
                if !any {
                    return fail(format!("not of type {}", types.join(" or ")));
                }
            }
            "enum" => {
                let options = arg.as_array().ok_or("enum must be an array")?;
                if !options.contains(v) {
                    return fail(format!("not one of {arg}"));
                }
            }
            "const" => {
                if arg != v {
                    return fail(format!("not {arg}"));
                }
            }
            "properties" => {
                let props = arg.as_object().ok_or("properties must be an object")?;
                if let Some(obj) = v.as_object() {
                    for (name, sub) in props {
                        if let Some(field) = obj.get(name) {
                            validate(root, sub, field, &format!("{at}.{name}"))?;
                        }
                    }
                }
            }
            "required" => {
                let names = arg.as_array().ok_or("required must be an array")?;
                if let Some(obj) = v.as_object() {
                    for name in names.iter().filter_map(Value::as_str) {
                        if !obj.contains_key(name) {
                            return fail(format!("lacks the required field {name:?}"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(obj) = v.as_object() {
                    let known = s.get("properties").and_then(Value::as_object);
                    for (name, field) in obj {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        match arg {
                            Value::Bool(false) => {
                                return fail(format!("has the undocumented field {name:?}"));
                            }
                            Value::Bool(true) => {}
                            sub => validate(root, sub, field, &format!("{at}.{name}"))?,
                        }
                    }
                }
            }
            "items" => {
                if let Some(items) = v.as_array() {
                    for (i, item) in items.iter().enumerate() {
                        validate(root, arg, item, &format!("{at}[{i}]"))?;
                    }
                }
            }
            "anyOf" | "oneOf" | "allOf" => {
                let subs = arg.as_array().ok_or("anyOf/oneOf/allOf must be an array")?;
                let results: Vec<Result<(), String>> =
                    subs.iter().map(|sub| validate(root, sub, v, at)).collect();
                let passed = results.iter().filter(|r| r.is_ok()).count();
                let ok = match key.as_str() {
                    "anyOf" => passed >= 1,
                    "oneOf" => passed == 1,
                    _ => passed == subs.len(),
                };
                if !ok {
                    let why: Vec<String> = results.into_iter().filter_map(Result::err).collect();
                    return fail(format!(
                        "fails {key} ({passed} passed): {}",
                        why.join(" | ")
                    ));
                }
            }
            "minimum" | "maximum" => {
                let bound = arg.as_f64().ok_or("minimum/maximum must be a number")?;
                if let Some(x) = v.as_f64() {
                    let out = if key == "minimum" {
                        x < bound
                    } else {
                        x > bound
                    };
                    if out {
                        return fail(format!("beyond {key} {bound}"));
                    }
                }
            }
            "minLength" | "maxLength" => {
                let bound = arg.as_u64().ok_or("minLength/maxLength must be a number")?;
                if let Some(text) = v.as_str() {
                    let n = text.chars().count() as u64;
                    if (key == "minLength" && n < bound) || (key == "maxLength" && n > bound) {
                        return fail(format!("length {n} beyond {key} {bound}"));
                    }
                }
            }
            "format" => match (arg.as_str(), v.as_str()) {
                (Some("date-time"), Some(text)) => {
                    if chrono::DateTime::parse_from_rfc3339(text).is_err() {
                        return fail("not an RFC 3339 date-time".into());
                    }
                }
                (Some("date-time"), None) => {}
                _ => return Err(format!("{at}: unsupported format {arg}")),
            },
            k if ANNOTATIONS.contains(&k) => {}
            other => return Err(format!("{at}: the checker does not support {other:?}")),
        }
    }
    Ok(())
}

/// The start of a value, for messages.
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

/// The path template of the document matching `path` (a trailing `/` is optional).
fn find_path<'a>(paths: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a Value> {
    let segs = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let wanted = segs(path);
    paths.iter().find_map(|(template, item)| {
        let parts = segs(template);
        let same = parts.len() == wanted.len()
            && parts
                .iter()
                .zip(&wanted)
                .all(|(p, w)| p.starts_with('{') || p == w);
        same.then_some(item)
    })
}

/// Check one answer of the server against the document: its status must be documented
/// for the operation, its content type too, and a JSON body must match the schema. An
/// answer to a request the document does not name must be an error answer.
pub(crate) fn check_answer(
    method: &str,
    target: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), String> {
    let root = doc();
    let path = target.split('?').next().unwrap_or_default();
    let what = format!("{method} {target} -> {status}");
    let paths = root["paths"]
        .as_object()
        .ok_or("the document has no paths")?;
    let operation = find_path(paths, path).and_then(|item| item.get(method.to_ascii_lowercase()));
    let media = content_type.map(|c| c.split(';').next().unwrap_or_default().trim());
    let Some(operation) = operation else {
        // Not an operation of the API (unknown path, other method): an error answer.
        if status < 400 || media != Some("application/json") {
            return Err(format!(
                "{what}: an answer to a request the document does not name"
            ));
        }
        let v: Value = serde_json::from_str(body).map_err(|e| format!("{what}: not JSON ({e})"))?;
        let schema = json!({"$ref": "#/components/schemas/Error"});
        return validate(root, &schema, &v, &what);
    };
    let mut response = operation["responses"]
        .get(status.to_string())
        .ok_or_else(|| format!("{what}: status {status} is not documented"))?;
    if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
        response = resolve(root, reference)?;
    }
    let media = media.ok_or_else(|| format!("{what}: no Content-Type"))?;
    let content = response["content"]
        .get(media)
        .ok_or_else(|| format!("{what}: Content-Type {media} is not documented"))?;
    if media != "application/json" {
        return Ok(());
    }
    let v: Value = serde_json::from_str(body).map_err(|e| format!("{what}: not JSON ({e})"))?;
    validate(root, &content["schema"], &v, &what)
}

#[test]
fn the_document_names_exactly_the_routes_the_router_serves() {
    let methods = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let documented: BTreeSet<(String, String)> = doc()["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            methods
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = loms_http::route_table()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not documented: {missing:?}; documented but not served: {extra:?}"
    );
}

#[test]
fn every_example_of_the_document_matches_its_schema() {
    let root = doc();
    let mut checked = 0;
    for (path, item) in root["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut media: Vec<(String, &Value)> = Vec::new();
            if let Some(body) = op.get("requestBody") {
                for (m, c) in body["content"].as_object().unwrap() {
                    media.push((format!("{method} {path} request {m}"), c));
                }
            }
            for (status, mut resp) in op["responses"].as_object().unwrap() {
                if let Some(r) = resp.get("$ref").and_then(Value::as_str) {
                    resp = resolve(root, r).unwrap();
                }
                for (m, c) in resp["content"].as_object().unwrap() {
                    media.push((format!("{method} {path} {status} {m}"), c));
                }
            }
            for (at, c) in media {
                let example = c
                    .get("example")
                    .unwrap_or_else(|| panic!("{at}: no example"));
                validate(root, &c["schema"], example, &at).unwrap();
                checked += 1;
            }
            for p in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                assert!(p["description"].is_string(), "{method} {path}: {p}");
            }
        }
    }
    assert!(checked > 100, "only {checked} examples");
}

#[test]
fn the_checker_refuses_what_the_schemas_forbid() {
    let root = doc();
    let position = json!({"$ref": "#/components/schemas/Position"});
    let example =
        root["paths"]["/positions/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["example"]
            .clone();
    validate(root, &position, &example, "ok").unwrap();
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut v = example.clone();
        edit(&mut v);
        validate(root, &position, &v, "p").unwrap_err()
    };
    assert!(broken(&|v| v["id"] = json!("1")).contains("not of type integer"));
    assert!(broken(&|v| v["id"] = json!(1.5)).contains("not of type integer"));
    assert!(broken(&|v| v["id"] = json!(0)).contains("beyond minimum"));
    assert!(broken(&|v| v["side"] = json!("up")).contains("not one of"));
    assert!(broken(&|v| v["created_at"] = json!("yesterday")).contains("RFC 3339"));
    assert!(broken(&|v| v["pnl"] = json!("1.5")).contains("fails anyOf"));
    assert!(broken(&|v| v["closes"][0]["fee"] = json!(null)).contains("p.closes[0].fee"));
    assert!(
        broken(&|v| {
            v.as_object_mut().unwrap().remove("opened_qty");
        })
        .contains("lacks the required field \"opened_qty\"")
    );
    assert!(broken(&|v| v["surprise"] = json!(1)).contains("undocumented field \"surprise\""));
    let one_of = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
    assert!(validate(root, &one_of, &json!(2), "x").is_err());
    assert!(validate(root, &one_of, &json!(2.5), "x").is_ok());
    let unknown = json!({"type": "string", "pattern": "^a"});
    assert!(
        validate(root, &unknown, &json!("a"), "x")
            .unwrap_err()
            .contains("does not support")
    );
    let error = json!({"error": "not_found", "detail": "no route /x"});
    assert!(
        check_answer(
            "GET",
            "/nope",
            404,
            Some("application/json"),
            &error.to_string()
        )
        .is_ok()
    );
    assert!(check_answer("GET", "/nope", 200, Some("application/json"), "{}").is_err());
    assert!(
        check_answer("GET", "/stats", 418, Some("application/json"), "{}")
            .unwrap_err()
            .contains("not documented")
    );
    assert!(
        check_answer(
            "GET",
            "/stats?symbol=X",
            200,
            Some("application/json"),
            "{}"
        )
        .unwrap_err()
        .contains("lacks the required field")
    );
    assert!(
        check_answer("GET", "/metrics", 200, Some("application/json"), "{}")
            .unwrap_err()
            .contains("Content-Type application/json is not documented")
    );
}

#[tokio::test]
async fn the_document_is_served_at_openapi_json() {
    let srv = TestServer::start(|_| {}).await;
    let (status, head, body) = raw_exchange(srv.addr, "GET", "/openapi.json", None, &[]).await;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(&served, doc());
    assert_eq!(served["openapi"], "3.1.0");
}
