//! Fuzzing the real server in-process: signal-shaped bodies built from edge values
//! (numbers f64 cannot hold, out-of-range and leap-second times, limits ± 1 character,
//! control characters), arbitrary JSON, and edge query parameters. For every run:
//!
//! - no answer is a 5xx (none is possible here: paper broker, simulator prices, a
//!   working disk), and every answer is JSON;
//! - a signal answered 200 is one `Signal::from_json` accepts, and its stored row
//!   carries the validated values (`signal_price`, `signal_time`, names) exactly;
//! - after a restart on the same files the server starts, every position reads back
//!   byte for byte as before, and every accepted signal's retry replays its first
//!   answer byte for byte.
//!
//! The seed corpus (`fuzz_corpus.txt`, one raw body per line) holds the cases the
//! issue reported, and runs first as a plain test.

use crate::harness::{TestServer, raw_exchange, t0};
use loms_domain::{Signal, Timestamp};
use proptest::prelude::*;
use serde_json::Value;

/// One request of a run.
#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: String,
    body: Option<String>,
    idempotency_key: Option<String>,
}

impl Req {
    /// Status, response head, body.
    async fn send(&self, srv: &TestServer) -> (u16, String, String) {
        let headers: Vec<(&str, &str)> = self
            .idempotency_key
            .as_deref()
            .map(|k| ("Idempotency-Key", k))
            .into_iter()
            .collect();
        raw_exchange(
            srv.addr,
            self.method,
            &self.path,
            self.body.as_deref(),
            &headers,
        )
        .await
    }

    fn signal(body: String, idempotency_key: Option<String>) -> Self {
        Self {
            method: "POST",
            path: "/signals/bounce".into(),
            body: Some(body),
            idempotency_key,
        }
    }
}

/// A signal answered 200: what was sent and the answer's text.
struct Accepted {
    req: Req,
    answer: String,
}

/// Send every request to a fresh server, check each answer, restart, check read-back.
async fn exercise(reqs: Vec<Req>) {
    let srv = TestServer::start(|_| {}).await;
    let defaults = srv.oms.settings().signal_defaults.clone();
    let mut accepted = Vec::new();
    let mut positions = Vec::new();
    for req in reqs {
        let (st, head, text) = req.send(&srv).await;
        assert!(
            st < 500,
            "{} {} {:?}: {st} {text}",
            req.method,
            req.path,
            req.body
        );
        assert!(
            head.to_ascii_lowercase().contains("application/json"),
            "{head}"
        );
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} {}: not JSON ({e}): {text}", req.method, req.path));
        if req.path != "/signals/bounce" {
            if req.path == "/orders/" && st == 200 {
                positions.push(v["id"].as_i64().expect("an order answers its position"));
            }
            continue;
        }
        let body = req.body.as_deref().unwrap_or_default();
        let domain = serde_json::from_str::<Value>(body)
            .ok()
            .map(|b| Signal::from_json(&b, &defaults, t0()));
        if st != 200 {
            assert!(
                (400..500).contains(&st) && v["error"].is_string(),
                "{body}: {st} {text}"
            );
            continue;
        }
        let signal = match domain {
            Some(Ok(s)) => s,
            other => panic!("answered 200 but validation says {other:?}: {body}"),
        };
        if let Some(id) = v["position_id"].as_i64()
            && !v["duplicate"].as_bool().unwrap_or(false)
        {
            let (_, row) = srv.get(&format!("/positions/{id}")).await;
            check_row(&row, &signal, body);
            positions.push(id);
        }
        accepted.push(Accepted { req, answer: text });
    }
    let mut rows = Vec::new();
    for id in positions {
        let (st, _, text) =
            raw_exchange(srv.addr, "GET", &format!("/positions/{id}"), None, &[]).await;
        assert_eq!(st, 200, "{text}");
        rows.push((id, text));
    }

    let srv = srv.restart().await;
    for (id, before) in rows {
        let (_, _, after) =
            raw_exchange(srv.addr, "GET", &format!("/positions/{id}"), None, &[]).await;
        assert_eq!(after, before, "position {id} after a restart");
    }
    for a in accepted {
        let (st, _, again) = a.req.send(&srv).await;
        assert_eq!(st, 200, "{again}");
        assert_eq!(
            again.replace("\"duplicate\":true", "\"duplicate\":false"),
            a.answer
                .replace("\"duplicate\":true", "\"duplicate\":false"),
            "the retry of {:?} after a restart",
            a.req.body
        );
    }
    for path in ["/positions/", "/stats", "/orders/", "/health"] {
        let (st, v) = srv.get(path).await;
        assert_eq!(st, 200, "{path}: {v}");
    }
}

/// The stored row carries exactly what validation produced.
fn check_row(row: &Value, s: &Signal, body: &str) {
    let time = |t: Timestamp| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    assert_eq!(
        row["signal_price"].to_string(),
        s.price.to_string(),
        "{body}"
    );
    assert_eq!(row["signal_time"], time(s.timestamp), "{body}");
    assert_eq!(row["symbol"], s.symbol.as_str(), "{body}");
    assert_eq!(row["exchange"], s.exchange.as_str(), "{body}");
    assert_eq!(row["strategy"], s.strategy.as_str(), "{body}");
    assert_eq!(row["timeframe_min"], s.timeframe_min, "{body}");
    if let Some(q) = s.qty {
        assert_eq!(row["qty"].to_string(), q.to_string(), "{body}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_seed_corpus_never_bricks_the_server() {
    let reqs: Vec<Req> = include_str!("fuzz_corpus.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| Req::signal(l.to_string(), None))
        .collect();
    assert!(reqs.len() > 20);
    runtime().block_on(exercise(reqs));
}

// ---- strategies ----

/// JSON number texts at the edges of what validation accepts.
fn edge_number() -> impl Strategy<Value = String> {
    let fixed: Vec<&'static str> = vec![
        "0",
        "-0",
        "1",
        "-1",
        "0.1",
        "1e-28",
        "1e-29",
        "1E+2",
        "1e12",
        "1000000000000.0000001",
        "1e309",
        "-1e309",
        "97250.123456789012345",
        "0.1000000000000000000000000001",
        "79228162514264337593543950335",
        "79228162514264337593543950336",
        "18446744073709551616",
        "-9223372036854775809",
        "4.5000000000000000001",
        "99.99999999999999999999999999",
        "1230768000",
        "1230767999",
        "1764583500000",
        "253402300800000",
        "8000000000000000",
        "-62198755200000",
        "9223372036854775807",
        "100000000000",
        "100000000001",
        "10080",
        "10081",
        "4294967296",
        "2.5",
        "5.0",
    ];
    prop_oneof![
        3 => proptest::sample::select(fixed).prop_map(str::to_string),
        1 => (any::<i64>(), 0u32..=30).prop_map(|(m, scale)| {
            let digits = m.unsigned_abs().to_string();
            let sign = if m < 0 { "-" } else { "" };
            let scale = scale as usize;
            if scale == 0 {
                format!("{sign}{digits}")
            } else if digits.len() > scale {
                let (a, b) = digits.split_at(digits.len() - scale);
                format!("{sign}{a}.{b}")
            } else {
                format!("{sign}0.{digits:0>scale$}")
            }
        }),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::to_string(&f).unwrap()),
        1 => "[1-9][0-9]{0,35}(\\.[0-9]{1,35})?(e-?[0-9]{1,3})?",
    ]
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// String values: usual ones, unicode, control characters, lengths around the limits.
fn edge_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "BTCUSDT", " ethusdt ", "bitget", "bybit", "trailing_v1", "tp_sl_static", "moonshot",
            "derived:x", "", "  ", "a\nb", "tab\there", "nul\u{0}", "ÄBC", "BTC USDT", "1.5",
            "NaN", "inf", "1e309", "1_000", "+100", " 100 ", "0x10",
        ])
        .prop_map(str::to_string),
        1 => (0usize..=130, proptest::sample::select(vec!["é", "a", "日", "\u{1F600}"]))
            .prop_map(|(n, c)| c.repeat(n)),
        1 => "\\PC{0,12}",
        1 => ".{0,8}",
    ]
    .prop_map(|s| json_string(&s))
}

/// Times: RFC 3339 over years 0 to 10000 with nanoseconds and leap seconds, near the
/// test clock's now (the 300 s lead edge), naive ISO, Unix seconds and milliseconds.
fn edge_time() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => edge_number(),
        1 => (0i32..=10_000, 1u32..=12, 1u32..=28, 0u32..=23, 0u32..=59, 0u32..=60, 0u32..1_000_000_000)
            .prop_map(|(y, mo, d, h, mi, s, ns)| json_string(&format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ns:09}Z"))),
        2 => near_now(-400..=400),
        1 => proptest::sample::select(vec![
            "\"+10000-01-01T00:00:00\"", "\"-0001-01-01T00:00:00\"", "\"2016-12-31T23:59:60.5Z\"",
            "\"2009-01-01T00:00:00Z\"", "\"2008-12-31T23:59:59.999999Z\"", "\"yesterday\"",
            "\"2025-12-01T10:05:00+14:00\"", "1764583500.5", "\"1764583500\"", "null",
        ])
        .prop_map(str::to_string),
    ]
}

/// A time `offset_s` seconds from the test clock's now, with nanoseconds, written as
/// RFC 3339, naive ISO, Unix milliseconds or Unix seconds.
fn near_now(offset_s: std::ops::RangeInclusive<i64>) -> impl Strategy<Value = String> {
    let now = t0().timestamp();
    (offset_s, 0u32..1_000_000_000, 0u8..4).prop_map(move |(dt, ns, form)| {
        let t = chrono::DateTime::from_timestamp(now + dt, ns).unwrap();
        match form {
            0 => json_string(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            1 => json_string(&t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
            2 => t.timestamp_millis().to_string(),
            _ => t.timestamp().to_string(),
        }
    })
}

/// Arbitrary JSON text, a few levels deep.
fn arbitrary_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        edge_number(),
        edge_text(),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6)
                .prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec(("\\PC{0,6}|symbol|side|price|qty|timestamp", inner), 0..6)
                .prop_map(|kv| {
                    let fields: Vec<String> = kv
                        .iter()
                        .map(|(k, v)| format!("{}:{v}", json_string(k)))
                        .collect();
                    format!("{{{}}}", fields.join(","))
                }),
        ]
    })
}

/// A positive decimal text in the accepted range, often with more digits than f64 holds.
fn valid_amount() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => proptest::sample::select(vec![
            "1e12", "1000000000000", "97250.123456789012345", "0.1000000000000000000000000001",
            "1e-28", "1E+2", "\"3500.25\"", "0.00010282", "100",
        ])
        .prop_map(str::to_string),
        3 => (1u64..1_000_000_000_000_000, 0u32..=20).prop_map(|(m, scale)| {
            rust_decimal::Decimal::from_i128_with_scale(i128::from(m), scale).to_string()
        }),
    ]
}

/// A signal the validation accepts: bot-like values and valid edges, optional fields
/// sometimes left out.
fn valid_signal() -> impl Strategy<Value = Vec<(&'static str, Option<String>)>> {
    let sometimes = |s: BoxedStrategy<String>| prop_oneof![Just(None), s.prop_map(Some)];
    let pct = prop_oneof![
        proptest::sample::select(vec![
            "4.5",
            "\"1.5\"",
            "99.99999999999999999999999999",
            "1e-28",
            "0.123456789012345678901"
        ])
        .prop_map(str::to_string),
        (1u64..100_000_000, 0u32..=6).prop_map(|(m, s)| {
            let d = rust_decimal::Decimal::from_i128_with_scale(i128::from(m), s);
            if d < rust_decimal::Decimal::ONE_HUNDRED {
                d.to_string()
            } else {
                "50".into()
            }
        }),
    ]
    .boxed();
    let text = |max: usize| {
        prop_oneof![
            proptest::sample::select(vec!["bitget", "bounce_ema10_strict", "x"])
                .prop_map(str::to_string),
            (
                1..=max,
                proptest::sample::select(vec!["é", "a", "日", "\u{1F600}"])
            )
                .prop_map(|(n, c)| c.repeat(n)),
        ]
        .prop_map(|s| json_string(&s))
        .boxed()
    };
    (
        proptest::sample::select(vec![
            "\"BTCUSDT\"",
            "\"ETHUSDT\"",
            "\" sol-usdt \"",
            "\"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\"",
        ]),
        proptest::sample::select(vec!["\"long\"", "\"short\"", "\"BUY\"", "\"sell\""]),
        valid_amount(),
        near_now(-400..=300),
        (
            sometimes(pct.clone()),
            sometimes(pct),
            sometimes(valid_amount().boxed()),
            sometimes((1u32..=10_080).prop_map(|n| n.to_string()).boxed()),
        ),
        (
            sometimes(text(32)),
            sometimes(text(64)),
            sometimes(
                proptest::sample::select(vec!["\"tp_sl_static\"", "\"trailing_v1\""])
                    .prop_map(str::to_string)
                    .boxed(),
            ),
            sometimes(
                prop_oneof![
                    text(128),
                    (0u64..u64::MAX).prop_map(|n| n.to_string()).boxed()
                ]
                .boxed(),
            ),
        ),
    )
        .prop_map(
            |(symbol, side, price, ts, (tp, sl, qty, tf), (exchange, strategy, exit, id))| {
                vec![
                    ("symbol", Some(symbol.to_string())),
                    ("side", Some(side.to_string())),
                    ("price", Some(price)),
                    ("timestamp", Some(ts)),
                    ("tp_pct", tp),
                    ("sl_pct", sl),
                    ("qty", qty),
                    ("timeframe_min", tf),
                    ("exchange", exchange),
                    ("strategy", strategy),
                    ("exit_strategy", exit),
                    ("signal_id", id),
                ]
            },
        )
}

/// Any value at all for a field: an edge number, time or text, arbitrary JSON, or absent.
fn any_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => edge_number().prop_map(Some),
        2 => edge_time().prop_map(Some),
        2 => edge_text().prop_map(Some),
        1 => arbitrary_json().prop_map(Some),
        1 => Just(None),
    ]
}

/// A valid signal with none, one or two of its fields replaced by anything.
fn signal_body() -> impl Strategy<Value = String> {
    (
        valid_signal(),
        proptest::collection::vec((0usize..12, any_value()), 0..=2),
        0u8..2,
    )
        .prop_map(|(mut fields, mutations, keep)| {
            // Half the bodies stay valid.
            if keep == 0 {
                for (i, v) in mutations {
                    fields[i].1 = v;
                }
            }
            let fields: Vec<String> = fields
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| format!("\"{k}\":{v}")))
                .collect();
            format!("{{{}}}", fields.join(","))
        })
}

fn idempotency_key() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        12 => Just(None),
        1 => "[!-~]{0,130}".prop_map(Some),
        1 => Just(Some("derived:x".to_string())),
        1 => "\\PC{1,4}".prop_map(Some),
    ]
}

/// Percent-encode everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads with edge query parameters, a manual order, a price pin.
fn other_request() -> impl Strategy<Value = Req> {
    let unquoted = |s: String| serde_json::from_str::<String>(&s).unwrap_or(s);
    prop_oneof![
        (edge_time(), edge_time(), edge_text()).prop_map(move |(a, b, s)| Req {
            method: "GET",
            path: format!(
                "/stats?since={}&until={}&symbol={}",
                encode(&unquoted(a)),
                encode(&unquoted(b)),
                encode(&unquoted(s))
            ),
            body: None,
            idempotency_key: None,
        }),
        (edge_number(), edge_number(), edge_text()).prop_map(move |(l, o, s)| Req {
            method: "GET",
            path: format!(
                "/positions/?limit={}&offset={}&status={}&symbol={}",
                encode(&l),
                encode(&o),
                encode(&unquoted(s.clone())),
                encode(&unquoted(s))
            ),
            body: None,
            idempotency_key: None,
        }),
        edge_number().prop_map(|p| Req {
            method: "POST",
            path: format!("/market/price/{}?symbol=BTCUSDT", encode(&p)),
            body: None,
            idempotency_key: None,
        }),
        (edge_number(), edge_number(), edge_number(), edge_number()).prop_map(|(q, e, tp, sl)| Req {
            method: "POST",
            path: "/orders/".into(),
            body: Some(format!(
                r#"{{"symbol":"BTCUSDT","side":"buy","qty":{q},"entry_price":{e},"tp_price":{tp},"sl_price":{sl}}}"#
            )),
            idempotency_key: None,
        }),
    ]
}

fn request() -> impl Strategy<Value = Req> {
    prop_oneof![
        6 => (signal_body(), idempotency_key()).prop_map(|(b, k)| Req::signal(b, k)),
        1 => arbitrary_json().prop_map(|b| Req::signal(b, None)),
        2 => other_request(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn whatever_is_sent_the_server_answers_json_and_restarts_with_it_intact(
        reqs in proptest::collection::vec(request(), 1..24)
    ) {
        runtime().block_on(exercise(reqs));
    }
}
