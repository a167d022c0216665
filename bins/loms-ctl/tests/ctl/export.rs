//! `export`: CSV straight from the database.

use crate::harness::{Server, ctl_in};
use serde_json::json;

const HEADER: &str = "id,symbol,side,qty,entry_price,tp_price,sl_price,status,created_at,closed_at,close_price,pnl,fees,auto_close_reason,exit_strategy,signal_id,strategy,signal_price,signal_time,opened_qty";

/// RFC 4180 records, header included, read by the `csv` crate.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn export_has_the_header_and_one_escaped_row_per_position_with_the_server_down() {
    let mut srv = Server::start(|_| {});
    let tricky = "bounce, \"v2\"";
    let a = srv.open("BTCUSDT", json!({"strategy": tricky}));
    let b = srv.open("ETHUSDT", json!({"side": "short", "price": 2000}));
    let c = srv.open("SOLUSDT", json!({"signal_id": "id,with\"quote"}));
    let (st, closed) = srv.post(&format!("/positions/{b}/close"), &json!({}));
    assert_eq!(st, 200, "{closed}");
    srv.stop();

    let file = srv.dir.path().join("export.csv");
    let o = srv.ctl(&["export", "--out", &file.display().to_string()], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("exported 3 positions"), "{}", o.all());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(&format!("{HEADER}\n")), "{text}");
    assert!(text.contains(",\"bounce, \"\"v2\"\"\","), "{text}");
    assert!(text.contains(",\"id,with\"\"quote\","), "{text}");
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows.iter().all(|r| r.len() == 20), "{rows:?}");
    let ids: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [a, b, c].map(|i| i.to_string()));
    assert_eq!(rows[1][16], tricky);
    assert_eq!(rows[3][15], "id,with\"quote");
    let row_b = &rows[2];
    assert_eq!(
        (row_b[1].as_str(), row_b[2].as_str(), row_b[7].as_str()),
        ("ETHUSDT", "short", "closed")
    );
    assert_eq!(row_b[13], "manual");
    let close: f64 = row_b[10].parse().unwrap();
    assert!(
        (close - closed["close_price"].as_f64().unwrap()).abs() < 1e-9,
        "{row_b:?} {closed}"
    );
    assert!(!row_b[9].is_empty() && !row_b[11].is_empty());
    assert_eq!(rows[1][4], "100");
    assert_eq!(rows[1][7], "open");
    assert!(
        rows[1][9].is_empty() && rows[1][10].is_empty(),
        "no close yet"
    );

    // loms-replay reads the export: one signal per signal-opened position, the quoted
    // fields intact.
    let signals = loms_oms::replay::ReplaySignal::from_csv(&text).unwrap();
    assert_eq!(signals.len(), 3, "{signals:?}");
    assert_eq!(signals[0].payload["strategy"], json!(tricky));
    assert_eq!(signals[0].payload["symbol"], json!("BTCUSDT"));
    assert_eq!(signals[1].payload["side"], json!("short"));
    assert_eq!(signals[1].payload["price"], json!("2000"));
    assert_eq!(signals[2].payload["signal_id"], json!("id,with\"quote"));
    assert!(
        signals[0].payload.get("entry_price").is_none(),
        "only the signal's own fields"
    );

    // To standard output, filtered; the summary goes to stderr.
    let o = srv.ctl(&["export", "--status", "open"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    let rows = parse_csv(&o.stdout);
    assert_eq!(rows.len(), 3, "{}", o.all());
    assert!(rows[1..].iter().all(|r| r[7] == "open"));
    assert!(o.stderr.contains("exported 2 positions"), "{}", o.all());
    let o = srv.ctl(&["export", "--since", "2999-01-01T00:00:00Z"], &[]);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, format!("{HEADER}\n").as_str()),
        "{}",
        o.all()
    );
}

#[test]
fn export_without_a_database_says_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![(
        "DATABASE_URL".to_string(),
        dir.path().join("gone.db").display().to_string(),
    )];
    let o = ctl_in(dir.path(), &env, &["export"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("gone.db not found"), "{}", o.all());
    assert!(o.stdout.is_empty(), "no half CSV: {}", o.all());
}
