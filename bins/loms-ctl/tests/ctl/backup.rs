//! `backup` while the server writes, and with no database.

use crate::harness::{Server, agent, ctl_in, signal};
use flate2::read::GzDecoder;
use serde_json::json;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < give_up, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Open a backup and check it is sound; returns its number of positions.
fn check_copy(copy: &std::path::Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(copy, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "the copy is one self-contained file");
    assert_eq!(
        one("SELECT COUNT(*) FROM positions p WHERE p.order_id IS NULL
             OR NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = p.order_id)"),
        0,
        "every position has its order"
    );
    assert_eq!(
        one(
            "SELECT COUNT(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM positions p
             WHERE p.order_id = o.id OR p.id = o.position_id)"
        ),
        0,
        "every order (entry or exit, schema v9) has its position"
    );
    assert_eq!(
        one(
            "SELECT COUNT(*) FROM signals s WHERE s.position_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM positions p WHERE p.id = s.position_id)"
        ),
        0,
        "every recorded signal's position is there"
    );
    one("SELECT COUNT(*) FROM positions")
}

#[test]
fn backup_taken_while_signals_are_written_is_consistent() {
    let srv = Server::start(|_| {});
    let mut first = Vec::new();
    for i in 0..60 {
        first.push(srv.open(&format!("S{}USDT", i % 6), json!({})));
    }
    for id in first.iter().step_by(3) {
        let (st, p) = srv.post(&format!("/positions/{id}/close"), &json!({}));
        assert_eq!(st, 200, "{p}");
    }

    // A bot posting signals in a loop for the whole backup.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU32::new(0));
    let writer = {
        let (stop, written, addr) = (stop.clone(), written.clone(), srv.addr);
        std::thread::spawn(move || {
            let agent = agent();
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let body = signal(
                    &format!("W{}USDT", i % 7),
                    json!({"strategy": format!("writer {i}")}),
                );
                let r = agent
                    .post(format!("http://{addr}/signals/bounce"))
                    .send_json(&body)
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                written.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    wait_until("the writer to start", || {
        written.load(Ordering::Relaxed) >= 5
    });
    // Three backups in the stream of writes, each checked on its own.
    let mut outputs = Vec::new();
    for day in ["2026-11-23", "2026-11-24", "2026-11-25"] {
        let before = written.load(Ordering::Relaxed);
        let o = srv.ctl_lib(&["backup"], &format!("{day}T23:59:59Z"), &[]);
        let during = written.load(Ordering::Relaxed);
        wait_until("more writes after the backup", || {
            written.load(Ordering::Relaxed) >= during + 3
        });
        outputs.push((day, before, o));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let live: i64 = rusqlite::Connection::open(srv.db())
        .unwrap()
        .query_row("SELECT COUNT(*) FROM positions", [], |r| r.get(0))
        .unwrap();

    let mut previous = 0;
    for (day, before, o) in &outputs {
        assert_eq!(o.code, 0, "{}", o.all());
        let copy = srv.backups().join(format!("{day}_loms_test.db"));
        let gz = srv.backups().join(format!("{day}_signals_audit.jsonl.gz"));
        assert!(
            o.stdout
                .contains(&format!("OK   database: {}", copy.display())),
            "{}",
            o.all()
        );
        assert!(o.stdout.contains("integrity_check ok; "), "{}", o.all());
        assert!(
            o.stdout
                .contains(&format!("OK   audit log: {}", gz.display())),
            "{}",
            o.all()
        );
        let copied = check_copy(&copy);
        assert!(
            copied >= 60 + i64::from(*before) && copied > previous && copied < live,
            "a snapshot taken mid-stream: copy {copied}, previous {previous}, live {live}, written before {before}"
        );
        assert!(
            o.stdout.contains(&format!("; {copied} positions (")),
            "{}",
            o.all()
        );
        previous = copied;
    }

    let gz = srv.backups().join("2026-11-25_signals_audit.jsonl.gz");
    let mut text = Vec::new();
    GzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_end(&mut text)
        .unwrap();
    let audit = std::fs::read(srv.audit()).unwrap();
    assert!(!text.is_empty() && text.len() < audit.len());
    assert!(
        audit.starts_with(&text),
        "the gzip copy is a prefix of the audit file"
    );

    // Again the same day: the latest wins, nothing else is left behind.
    let o = srv.ctl_lib(&["backup"], "2026-11-25T23:59:59Z", &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    let mut names: Vec<String> = std::fs::read_dir(srv.backups())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "2026-11-23_loms_test.db",
            "2026-11-23_signals_audit.jsonl.gz",
            "2026-11-24_loms_test.db",
            "2026-11-24_signals_audit.jsonl.gz",
            "2026-11-25_loms_test.db",
            "2026-11-25_signals_audit.jsonl.gz",
        ]
    );
    assert_eq!(
        check_copy(&srv.backups().join("2026-11-25_loms_test.db")),
        live,
        "replaced by the later backup, taken after the writes stopped"
    );
}

#[test]
fn backup_of_a_missing_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("loms_live.db");
    let backups = dir.path().join("backups");
    let env = vec![
        ("DATABASE_URL".to_string(), db.display().to_string()),
        ("BACKUP_DIR".to_string(), backups.display().to_string()),
    ];
    let o = ctl_in(dir.path(), &env, &["backup"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(
        o.stderr
            .contains(&format!("database {} not found", db.display())),
        "{}",
        o.all()
    );
    assert!(o.stderr.contains("--set DATABASE_URL="), "{}", o.all());
    assert!(!backups.exists(), "nothing created");
}

#[test]
fn backup_with_the_server_stopped_and_no_audit_file_still_backs_up_the_database() {
    let mut srv = Server::start(|_| {});
    srv.open("BTCUSDT", json!({}));
    srv.stop();
    std::fs::remove_file(srv.audit()).unwrap();
    let o = srv.ctl(&["backup"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout.contains("; 1 positions (1 open), 1 orders"),
        "{}",
        o.all()
    );
    assert!(o.stdout.contains("WARN audit log:"), "{}", o.all());
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let found = [today, yesterday]
        .iter()
        .any(|d| srv.backups().join(format!("{d}_loms_test.db")).is_file());
    assert!(found, "{}", o.all());
}
