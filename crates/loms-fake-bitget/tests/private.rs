//! The signed routes spoken raw (as any client would): fill history by symbol and time,
//! the request log, and the `fake-bitget` binary.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use loms_fake_bitget::{FILL_HISTORY_PATH, FakeBitget, KEY, NOW_MS, PASSPHRASE, SECRET, Side};
use rust_decimal::dec;
use serde_json::{Value, json};
use sha2::Sha256;
use std::io::BufRead as _;

/// One request signed as Bitget specifies, at the venue's default clock.
fn signed(venue: &FakeBitget, method: &str, path: &str, query: &str, body: &str) -> Value {
    signed_as(venue, false, method, path, query, body)
}

/// [`signed`], with `paptrading: 1` when `demo`.
fn signed_as(
    venue: &FakeBitget,
    demo: bool,
    method: &str,
    path: &str,
    query: &str,
    body: &str,
) -> Value {
    let ts = NOW_MS.to_string();
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}{method}{path}{q}{body}").as_bytes());
    let sign = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let url = format!("{}{path}{q}", venue.base_url());
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let paptrading = if demo { "1" } else { "0" };
    let headers = [
        ("paptrading", paptrading),
        ("ACCESS-KEY", KEY),
        ("ACCESS-PASSPHRASE", PASSPHRASE),
        ("ACCESS-TIMESTAMP", ts.as_str()),
        ("ACCESS-SIGN", sign.as_str()),
        ("Content-Type", "application/json"),
    ];
    let mut resp = if method == "POST" {
        let mut r = agent.post(&url);
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.send(body.as_bytes()).unwrap()
    } else {
        let mut r = agent.get(&url);
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.call().unwrap()
    };
    resp.body_mut().read_json().unwrap()
}

fn place(venue: &FakeBitget, oid: &str, side: &str, size: &str, extra: Value) -> Value {
    let mut body = json!({"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated",
        "marginCoin":"USDT","size":size,"side":side,"orderType":"market","clientOid":oid});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    signed(
        venue,
        "POST",
        "/api/v2/mix/order/place-order",
        "",
        &body.to_string(),
    )
}

#[test]
fn fill_history_by_symbol_is_the_real_envelope_newest_first() {
    let venue = FakeBitget::start();
    place(
        &venue,
        "a-1",
        "buy",
        "0.001",
        json!({"presetStopLossPrice":"62000"}),
    );
    venue.set_mark("BTCUSDT", dec!(64500));
    let r = place(&venue, "a-2", "sell", "0.001", json!({"reduceOnly":"YES"}));
    assert_eq!(r["code"], "00000", "{r}");
    let h = signed(
        &venue,
        "GET",
        FILL_HISTORY_PATH,
        &format!(
            "endTime={NOW_MS}&productType=USDT-FUTURES&startTime={}&symbol=BTCUSDT",
            NOW_MS - 1
        ),
        "",
    );
    assert_eq!(
        (&h["code"], &h["msg"]),
        (&json!("00000"), &json!("success"))
    );
    let list = h["data"]["fillList"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let (close, open) = (&list[0], &list[1]);
    assert_eq!(
        (
            &close["side"],
            &close["price"],
            &close["profit"],
            &close["marginCoin"]
        ),
        (
            &json!("sell"),
            &json!("64500"),
            &json!("0.290"),
            &json!("USDT")
        ),
        "newest first, with the realized PnL"
    );
    assert_eq!(open["side"], "buy");
    assert_eq!(h["data"]["endId"], open["tradeId"]);
    assert_eq!(
        close["feeDetail"][0]["totalFee"], "-0.0387000",
        "paid: negative"
    );
    let ids: Vec<&Value> = list.iter().map(|f| &f["orderId"]).collect();
    let orders = venue.orders();
    assert_eq!(
        ids,
        [&json!(orders[1].order_id), &json!(orders[0].order_id)]
    );
    assert_eq!(orders[1].side, Side::Sell);

    // Outside the window, another symbol, a bad window.
    let none = |q: &str| signed(&venue, "GET", FILL_HISTORY_PATH, q, "");
    let r = none(&format!(
        "productType=USDT-FUTURES&startTime={}&endTime={}",
        NOW_MS + 1,
        NOW_MS + 9
    ));
    assert_eq!(r["data"]["fillList"], json!([]));
    assert_eq!(r["data"]["endId"], Value::Null);
    let r = none("productType=USDT-FUTURES&symbol=ETHUSDT");
    assert_eq!(r["data"]["fillList"], json!([]));
    let r = none(&format!(
        "productType=USDT-FUTURES&startTime={NOW_MS}&endTime={}",
        NOW_MS - 1
    ));
    assert_eq!(r["code"], "40017");
    venue.set_demo(true);
    let r = none("productType=USDT-FUTURES");
    assert_eq!(r["code"], "40099", "a live request on a demo venue");
    let r = signed_as(
        &venue,
        true,
        "GET",
        FILL_HISTORY_PATH,
        "productType=USDT-FUTURES",
        "",
    );
    assert_eq!(r["code"], "40110", "no fill history in demo: {r}");
    let q = "productType=USDT-FUTURES&symbol=BTCUSDT";
    let r = signed_as(&venue, true, "GET", loms_fake_bitget::FILLS_PATH, q, "");
    assert_eq!(
        r["data"]["fillList"].as_array().map(Vec::len),
        Some(2),
        "fills work in demo"
    );
}

#[test]
fn the_request_log_counts_place_orders_refused_ones_included() {
    let venue = FakeBitget::start();
    place(&venue, "ok-1", "buy", "0.001", json!({}));
    let r = place(&venue, "tiny", "buy", "0.00001", json!({}));
    assert_eq!(r["code"], "40808", "{r}");
    let bodies = venue.placed_orders();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["clientOid"], "tiny");
    assert_eq!(venue.orders().len(), 1, "only one accepted");
    let p = venue.open_position("BTCUSDT").unwrap();
    assert_eq!((p.long, p.size, p.entry), (true, dec!(0.001), dec!(64210)));
    assert_eq!(venue.positions(), vec![p]);
    assert!(venue.place_requests().iter().all(|s| s.signed()));
}

/// Bitget refuses to change a symbol's margin mode while it holds a position (45117);
/// other symbols, and the symbol once flat, may change.
#[test]
fn the_margin_mode_is_locked_while_a_position_is_open() {
    let venue = FakeBitget::start();
    let set = |symbol: &str| {
        let body = json!({"symbol":symbol,"productType":"USDT-FUTURES","marginCoin":"USDT",
            "marginMode":"isolated"});
        signed(
            &venue,
            "POST",
            "/api/v2/mix/account/set-margin-mode",
            "",
            &body.to_string(),
        )
    };
    assert_eq!(set("BTCUSDT")["code"], "00000");
    place(&venue, "m-1", "buy", "0.001", json!({}));
    let r = set("BTCUSDT");
    assert_eq!(r["code"], "45117", "{r}");
    assert_eq!(set("ETHUSDT")["code"], "00000", "another symbol is free");
    place(&venue, "m-2", "sell", "0.001", json!({"reduceOnly":"YES"}));
    assert_eq!(set("BTCUSDT")["code"], "00000", "flat again");
    venue.set_margin_mode("BTCUSDT", "crossed");
    let q = "marginCoin=USDT&productType=USDT-FUTURES&symbol=BTCUSDT";
    let a = signed(&venue, "GET", "/api/v2/mix/account/account", q, "");
    assert_eq!(a["data"]["marginMode"], "crossed", "{a}");
}

#[test]
fn the_binary_prints_its_url_then_serves() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-bitget"))
        .args([
            "--port",
            "0",
            "--latency-ms",
            "5",
            "--mark",
            "BTCUSDT=70000",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    let get = |path: &str| -> Value {
        ureq::get(&format!("{url}{path}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    let time = get("/api/v2/public/time");
    let server: i64 = time["data"]["serverTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        (server - now).abs() < 60_000,
        "the system clock: {server} vs {now}"
    );
    let t = get("/api/v2/mix/market/ticker?symbol=BTCUSDT&productType=USDT-FUTURES");
    assert_eq!(t["data"][0]["markPrice"], "70000");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The fake's own read-only routes show its orders and positions to another process,
/// unsigned, and stay out of the request log.
#[test]
fn the_debug_routes_list_orders_and_positions_without_changing_anything() {
    let venue = FakeBitget::start();
    place(
        &venue,
        "d-1",
        "buy",
        "0.002",
        json!({"presetStopLossPrice":"63000"}),
    );
    place(&venue, "d-2", "sell", "0.001", json!({"reduceOnly":"YES"}));
    let seen = venue.seen().len();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let get = |path: &str| -> (u16, Value) {
        let mut r = agent
            .get(&format!("{}{path}", venue.base_url()))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_json().unwrap())
    };
    let (st, orders) = get("/fake/orders");
    assert_eq!(st, 200, "{orders}");
    let list = orders["data"].as_array().unwrap();
    let oids: Vec<_> = list.iter().map(|o| o["clientOid"].clone()).collect();
    assert_eq!(oids, vec![json!("d-1"), json!("d-2")]);
    assert_eq!(list[0]["presetStopLossPrice"], "63000");
    assert_eq!(list[1]["reduceOnly"], "YES");
    assert_eq!(list[0]["orderId"], venue.orders()[0].order_id.as_str());
    let (st, positions) = get("/fake/positions");
    assert_eq!(st, 200, "{positions}");
    let rows = positions["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{positions}");
    assert_eq!(
        (&rows[0]["symbol"], &rows[0]["total"]),
        (&json!("BTCUSDT"), &json!("0.001"))
    );
    assert_eq!(get("/fake/nothing").0, 404);
    let (st, _) = {
        let mut r = agent
            .post(&format!("{}/fake/orders", venue.base_url()))
            .send("")
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_json::<Value>().unwrap(),
        )
    };
    assert_eq!(st, 405, "read-only");
    assert_eq!(venue.seen().len(), seen, "not in the request log");
    assert_eq!(venue.orders().len(), 2, "nothing changed");
}

/// `POST /fake/mark` moves a mark for a script in another process: the ticker shows it
/// and a market order fills at it. Bad input is a 400 naming what is expected, and
/// changes nothing; the route stays out of the request log.
#[test]
fn the_mark_route_moves_a_mark_and_refuses_bad_input() {
    let venue = FakeBitget::start();
    venue.set_mark("BTCUSDT", dec!(64000));
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let post = |query: &str| -> (u16, Value) {
        let mut r = agent
            .post(&format!("{}/fake/mark?{query}", venue.base_url()))
            .send("")
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_json().unwrap())
    };
    let seen = venue.seen().len();
    for bad in [
        "symbol=BTCUSDT",
        "price=63000",
        "symbol=BTCUSDT&price=0",
        "symbol=BTCUSDT&price=-5",
        "symbol=BTCUSDT&price=abc",
        "symbol=BTC/USDT&price=63000",
        "symbol=&price=63000",
    ] {
        let (st, body) = post(bad);
        assert_eq!(st, 400, "{bad}: {body}");
        assert!(body["msg"].as_str().unwrap().contains("expected"), "{body}");
        assert_eq!(
            venue.mark("BTCUSDT"),
            Some(dec!(64000)),
            "{bad} changed the mark"
        );
    }
    let (st, body) = post("symbol=btcusdt&price=63000.5");
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({"symbol": "BTCUSDT", "markPrice": "63000.5"})
    );
    assert_eq!(venue.mark("BTCUSDT"), Some(dec!(63000.5)));
    let mut r = agent
        .get(&format!("{}/fake/mark", venue.base_url()))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let _: Value = r.body_mut().read_json().unwrap();
    assert_eq!(venue.seen().len(), seen, "not in the request log");
    let ticker = agent
        .get(&format!(
            "{}/api/v2/mix/market/ticker?symbol=BTCUSDT&productType=USDT-FUTURES",
            venue.base_url()
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_json::<Value>()
        .unwrap();
    assert_eq!(ticker["data"][0]["markPrice"], "63000.5", "{ticker}");
    place(&venue, "m-1", "buy", "0.001", json!({}));
    assert_eq!(
        venue.orders()[0].price,
        dec!(63000.5),
        "fills at the new mark"
    );
}

/// `--symbols`: many plain contracts, listed, quoted and tradable like the others.
#[test]
fn bench_symbols_are_listed_quoted_and_tradable() {
    let venue = FakeBitget::start();
    venue.add_bench_symbols(1500, dec!(100));
    assert_eq!(loms_fake_bitget::bench_symbol(7), "SYM0007USDT");
    assert_eq!(loms_fake_bitget::bench_symbol(12345), "SYM12345USDT");
    let get = |path: &str| -> Value {
        ureq::get(&format!("{}{path}", venue.base_url()))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    let c = get("/api/v2/mix/market/contracts?productType=USDT-FUTURES&symbol=SYM1500USDT");
    let row = &c["data"][0];
    assert_eq!(
        (&row["baseCoin"], &row["volumePlace"], &row["minTradeNum"]),
        (&json!("SYM1500"), &json!("3"), &json!("0.001")),
        "{c}"
    );
    let t = get("/api/v2/mix/market/tickers?productType=USDT-FUTURES");
    assert_eq!(
        t["data"].as_array().unwrap().len(),
        1502,
        "BTCUSDT, ETHUSDT and 1500"
    );
    let body = json!({"symbol":"SYM0042USDT","productType":"USDT-FUTURES","marginMode":"isolated",
        "marginCoin":"USDT","size":"0.2","side":"sell","orderType":"market","clientOid":"s-42",
        "presetStopLossPrice":"101.5"});
    let r = signed(
        &venue,
        "POST",
        "/api/v2/mix/order/place-order",
        "",
        &body.to_string(),
    );
    assert_eq!(r["code"], "00000", "{r}");
    assert_eq!(venue.orders()[0].price, dec!(100));
    assert_eq!(venue.stop_loss("SYM0042USDT"), Some(dec!(101.5)));
    venue.add_bench_symbols(2, dec!(5));
    assert_eq!(
        venue.mark("SYM0001USDT"),
        Some(dec!(100)),
        "listed ones are kept"
    );
}

/// Every request keeps when it arrived and when it was answered (the venue's latency
/// in between), readable from another process at `GET /fake/requests`.
#[test]
fn the_request_log_has_arrival_and_answer_times() {
    let venue = FakeBitget::start();
    venue.set_latency(std::time::Duration::from_millis(40));
    let before = chrono::Utc::now().timestamp_micros();
    place(&venue, "t-1", "buy", "0.001", json!({}));
    let after = chrono::Utc::now().timestamp_micros();
    let seen = venue.place_requests();
    assert_eq!(seen.len(), 1);
    let (received, answered) = (seen[0].received_us, seen[0].answered_us.unwrap());
    assert!(
        before <= received && answered <= after,
        "{before} {received} {answered} {after}"
    );
    assert!(
        answered - received >= 40_000,
        "held for the latency: {received} {answered}"
    );
    let rows: Value = ureq::get(&format!(
        "{}/fake/requests?path=/api/v2/mix/order/place-order",
        venue.base_url()
    ))
    .call()
    .unwrap()
    .body_mut()
    .read_json()
    .unwrap();
    assert_eq!(
        rows["data"],
        json!([{"method":"POST","path":"/api/v2/mix/order/place-order","symbol":"BTCUSDT",
            "clientOid":"t-1","receivedUs":received,"answeredUs":answered}])
    );
    let all: Value = ureq::get(&format!("{}/fake/requests", venue.base_url()))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        1,
        "the debug routes are not logged"
    );
}
