//! The start-up gates of `BROKER_MODE=live` (issue 13): the real `loms-server` binary
//! against the fake Bitget venue (crates/loms-fake-bitget). Each gate refuses with exit
//! code 2 and one line saying what to fix, before any order or record is written; a
//! good sub-account starts; secrets never reach the output.

mod common;

use loms_bitget::{BitgetClient, BitgetConfig, ClientOid, Credentials, OrderSide, PlaceOrder};
use loms_fake_bitget::{FakeBitget, Fault, KEY, PASSPHRASE, SECRET, VenueClock};
use loms_storage::{BROKER_MODE_KEY, DbBrokerMode, Store};
use rust_decimal::Decimal;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The sub-account the fake venue's key belongs to by default.
const UID: &str = "5550000001";
const ACCOUNT_PATH: &str = "/api/v2/mix/account/account";

/// A venue on the system clock, as a real one.
fn venue() -> FakeBitget {
    let v = FakeBitget::start();
    v.set_clock(VenueClock::System);
    v
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join("db/loms.db")
}

/// A paper server isolated from the developer's environment and files.
fn paper(dir: &Path) -> Command {
    common::server(dir)
}

/// A live server on `venue` that passes every gate.
fn live(dir: &Path, venue: &FakeBitget) -> Command {
    let mut c = paper(dir);
    c.env("BROKER_MODE", "live")
        .env("PRICE_SOURCE", "exchange")
        .env("PRICE_EXCHANGE", "bitget")
        .env("PRICE_MARKET", "perp")
        .env("BITGET_BASE_URL", venue.base_url())
        .env("BITGET_API_KEY", KEY)
        .env("BITGET_API_SECRET", SECRET)
        .env("BITGET_API_PASSPHRASE", PASSPHRASE)
        .env("LIVE_CONFIRM", "I_UNDERSTAND_REAL_ORDERS")
        .env("LIVE_ACCOUNT_UID", UID);
    c
}

/// Run a start that must be refused: its exit code and whole stderr.
#[allow(clippy::zombie_processes)]
fn refused(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let Ok(text) = rx.recv_timeout(Duration::from_secs(30)) else {
        child.kill().unwrap();
        child.wait().unwrap();
        panic!("the server started instead of refusing");
    };
    let status = child.wait().unwrap();
    (status.code(), text)
}

/// The one refusal line: exit code 2, exactly one `loms-server:` line, which is returned.
fn refusal(cmd: Command) -> String {
    let (code, stderr) = refused(cmd);
    assert_eq!(code, Some(2), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("loms-server: "))
        .collect();
    assert_eq!(lines.len(), 1, "one line saying what to fix: {stderr}");
    assert!(!stderr.contains("LOMS listening"), "{stderr}");
    lines[0].to_string()
}

/// Start and wait for the "listening" line: the child, its address and its log so far.
fn started(cmd: Command) -> (Child, SocketAddr, Vec<String>) {
    let (child, addr, _, log) = common::start_logged(cmd);
    (child, addr, log)
}

/// Start, check it listens, stop it.
fn starts(cmd: Command) {
    let (mut child, _, _) = started(cmd);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A live start on `venue` refused with a line ending in `ending`, nothing written.
fn refused_ending(venue: &FakeBitget, dir: &Path, ending: &str) {
    let line = refusal(live(dir, venue));
    assert!(line.ends_with(ending), "{line}");
    nothing_written(venue, dir);
}

fn get(addr: SocketAddr, path: &str) -> String {
    use std::io::Write;
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The broker mode recorded in the database at `dir`, if any.
fn recorded(dir: &Path) -> Option<String> {
    Store::open(&db_path(dir))
        .unwrap()
        .state(BROKER_MODE_KEY)
        .unwrap()
}

/// Nothing was sent to the venue but reads, nothing recorded in the database.
fn nothing_written(venue: &FakeBitget, dir: &Path) {
    assert!(venue.place_requests().is_empty());
    assert!(
        venue.seen().iter().all(|s| s.method == "GET"),
        "{:?}",
        venue.seen().iter().map(|s| &s.path).collect::<Vec<_>>()
    );
    if db_path(dir).exists() {
        assert_eq!(recorded(dir), None);
    }
}

#[test]
fn a_good_sub_account_starts_live_and_the_database_becomes_live() {
    let venue = venue();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = live(dir.path(), &venue);
    cmd.env("RUST_LOG", "trace");
    let (mut child, addr, log) = started(cmd);
    let health = get(addr, "/health");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(health.starts_with("HTTP/1.1 "), "{health}");
    assert!(
        log.iter()
            .any(|l| l.contains("LIVE trading on Bitget") && l.contains(UID)),
        "{log:#?}"
    );
    for secret in [KEY, SECRET, PASSPHRASE] {
        assert!(!health.contains(secret), "{health}");
        assert!(log.iter().all(|l| !l.contains(secret)), "{log:#?}");
    }
    assert!(venue.place_requests().is_empty(), "no order at start");
    assert_eq!(recorded(dir.path()).as_deref(), Some("live"));

    // The same database refuses paper; a new one is fine for paper.
    let line = refusal(paper(dir.path()));
    assert!(
        line.contains("is for live trading and BROKER_MODE is paper: paper and live never share a database; set DATABASE_URL to another file for paper"),
        "{line}"
    );
    assert_eq!(recorded(dir.path()).as_deref(), Some("live"));
}

#[test]
fn a_paper_database_refuses_live() {
    let venue = venue();
    // Recorded as paper by a paper start.
    let dir = tempfile::tempdir().unwrap();
    starts(paper(dir.path()));
    assert_eq!(recorded(dir.path()).as_deref(), Some("paper"));
    let line = refusal(live(dir.path(), &venue));
    assert!(
        line.contains("is for paper trading and BROKER_MODE is live: paper and live never share a database; set DATABASE_URL to another file for live"),
        "{line}"
    );
    assert!(venue.seen().is_empty(), "refused before asking the venue");

    // A database used before the record existed (signals, no record) is paper too.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db_path(dir.path())).unwrap();
    assert_eq!(store.broker_mode().unwrap(), None);
    drop(store);
    let conn = rusqlite::Connection::open(db_path(dir.path())).unwrap();
    conn.execute(
        "INSERT INTO signals (idem_key, received_at, symbol, outcome, payload, response)
         VALUES ('k', '2025-01-01T00:00:00.000000Z', 'BTCUSDT', 'rejected', '{}', '{}')",
        [],
    )
    .unwrap();
    drop(conn);
    let line = refusal(live(dir.path(), &venue));
    assert!(line.contains("is for paper trading"), "{line}");
    assert_eq!(recorded(dir.path()), None, "nothing written");
    assert_eq!(
        Store::open(&db_path(dir.path()))
            .unwrap()
            .broker_mode()
            .unwrap(),
        Some(DbBrokerMode::Paper)
    );
}

#[test]
fn live_without_the_confirmation_is_refused_before_anything() {
    let venue = venue();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = live(dir.path(), &venue);
    cmd.env_remove("LIVE_CONFIRM");
    assert_eq!(
        refusal(cmd),
        "loms-server: BROKER_MODE=live sends real orders with real money: set LIVE_CONFIRM=I_UNDERSTAND_REAL_ORDERS to confirm"
    );
    assert!(venue.seen().is_empty());
    assert!(!db_path(dir.path()).exists(), "no database made");

    // A confirmation that is not the phrase is refused by the settings, naming it.
    let mut cmd = live(dir.path(), &venue);
    cmd.env("LIVE_CONFIRM", "yes");
    let (code, stderr) = refused(cmd);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("set exactly LIVE_CONFIRM=I_UNDERSTAND_REAL_ORDERS"),
        "{stderr}"
    );
}

#[test]
fn live_without_the_account_uid_is_refused() {
    let venue = venue();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = live(dir.path(), &venue);
    cmd.env_remove("LIVE_ACCOUNT_UID");
    assert_eq!(
        refusal(cmd),
        "loms-server: BROKER_MODE=live needs LIVE_ACCOUNT_UID: set it to the UID of the trading sub-account, the API key must belong to it"
    );
    assert!(venue.seen().is_empty());
}

#[test]
fn a_key_of_another_account_is_refused() {
    let venue = venue();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = live(dir.path(), &venue);
    cmd.env("LIVE_ACCOUNT_UID", "5559999999");
    let line = refusal(cmd);
    assert_eq!(
        line,
        "loms-server: refusing to start live trading: key: the key belongs to account 5550000001, LIVE_ACCOUNT_UID is 5559999999: use the sub-account's key or fix the setting"
    );
    nothing_written(&venue, dir.path());
}

#[test]
fn a_main_account_key_is_refused_when_a_sub_account_is_required() {
    let venue = venue();
    venue.set_key(UID, 0, &["coow", "cpow", "stor"]);
    let dir = tempfile::tempdir().unwrap();
    refused_ending(
        &venue,
        dir.path(),
        "key: the key is a main-account key (account 5550000001): create the key on the dedicated sub-account",
    );
    // LIVE_SUB_ACCOUNT=false accepts it (the demo rehearsal runs on the main account).
    let mut cmd = live(dir.path(), &venue);
    cmd.env("LIVE_SUB_ACCOUNT", "false");
    starts(cmd);
}

#[test]
fn a_key_that_can_withdraw_transfer_or_manage_sub_accounts_is_refused() {
    for code in ["wwow", "wtow", "chow", "withdraw", "Transfer"] {
        let venue = venue();
        venue.set_key(UID, 5_550_000_000, &["coow", "cpow", "stor", code]);
        let dir = tempfile::tempdir().unwrap();
        let line = refusal(live(dir.path(), &venue));
        assert!(
            line.ends_with(&format!(
                "permissions: the key may withdraw, transfer or manage sub-accounts ({code}): create a key with futures trading only"
            )),
            "{code}: {line}"
        );
        nothing_written(&venue, dir.path());
    }
    // Reading transfers and sub-accounts is harmless.
    let venue = venue();
    venue.set_key(
        UID,
        5_550_000_000,
        &["coow", "cpow", "stor", "wtor", "chor"],
    );
    let dir = tempfile::tempdir().unwrap();
    starts(live(dir.path(), &venue));
}

#[test]
fn a_unified_account_is_refused() {
    let venue = venue();
    venue.fault_once(
        ACCOUNT_PATH,
        Fault::Reply(
            400,
            r#"{"code":"40085","msg":"You are in Unified Account mode, and the Classic Account API is not supported at this time","requestTime":0,"data":null}"#.into(),
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    refused_ending(
        &venue,
        dir.path(),
        "account: the account is a Unified Trading Account: LOMS speaks the Classic API; use a Classic sub-account",
    );
}

/// An open BTCUSDT position on `venue`, placed as another client would.
fn open_position(venue: &FakeBitget) {
    let cfg = BitgetConfig {
        base_url: venue.base_url(),
        demo: false,
        timeout: Duration::from_secs(2),
    };
    let c = BitgetClient::new(cfg, Credentials::new(KEY, SECRET, PASSPHRASE).unwrap());
    c.sync_time().unwrap();
    c.place_order(&PlaceOrder {
        symbol: "BTCUSDT".into(),
        side: OrderSide::Buy,
        size: Decimal::new(1, 3),
        client_oid: ClientOid::parse("manual-1").unwrap(),
        reduce_only: false,
        preset_stop_loss: None,
        preset_take_profit: None,
    })
    .unwrap();
}

#[test]
fn hedge_mode_is_switched_when_flat_and_refused_when_not() {
    let venue = venue();
    open_position(&venue);
    venue.set_pos_mode("hedge_mode");
    let dir = tempfile::tempdir().unwrap();
    let line = refusal(live(dir.path(), &venue));
    assert!(
        line.ends_with("position_mode: hedge mode with 1 open position(s): close them, then start again (LOMS trades in one-way mode only)"),
        "{line}"
    );
    assert_eq!(venue.pos_mode(), "hedge_mode");
    assert_eq!(recorded(dir.path()), None);

    let venue = self::venue();
    venue.set_pos_mode("hedge_mode");
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _, log) = started(live(dir.path(), &venue));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(venue.pos_mode(), "one_way_mode");
    assert!(
        log.iter()
            .any(|l| l.contains("switched from hedge to one-way mode")),
        "{log:#?}"
    );
}

#[test]
fn equity_above_the_limit_is_refused() {
    let venue = venue();
    venue.set_balance(Decimal::from(500));
    let dir = tempfile::tempdir().unwrap();
    refused_ending(
        &venue,
        dir.path(),
        "equity: equity 500 USDT is above LIVE_MAX_EQUITY_USDT 200: is this the main account? Use the dedicated sub-account",
    );
    // The limit is the setting's.
    let mut cmd = live(dir.path(), &venue);
    cmd.env("LIVE_MAX_EQUITY_USDT", "500");
    starts(cmd);
}

#[test]
fn a_clock_off_the_venues_is_refused() {
    let venue = venue();
    let ahead = VenueClock::System.now_ms() + 10_000;
    venue.set_clock(VenueClock::Fixed(ahead));
    let dir = tempfile::tempdir().unwrap();
    let line = refusal(live(dir.path(), &venue));
    assert!(
        line.starts_with("loms-server: refusing to start live trading: clock: the local clock is ")
            && line.ends_with(
                " ms off Bitget's (at most 2000 ms): fix the time sync (timedatectl, chrony)"
            ),
        "{line}"
    );
    nothing_written(&venue, dir.path());
}

#[test]
fn a_secrets_file_others_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let venue = venue();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bitget.env");
    std::fs::write(
        &file,
        format!(
            "BITGET_API_KEY={KEY}\nBITGET_API_SECRET={SECRET}\nBITGET_API_PASSPHRASE={PASSPHRASE}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = live(dir.path(), &venue);
    cmd.env_remove("BITGET_API_KEY")
        .env_remove("BITGET_API_SECRET")
        .env_remove("BITGET_API_PASSPHRASE")
        .env("BITGET_SECRETS_FILE", &file);
    let (code, stderr) = refused(cmd);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!(
            "readable or writable by others (mode 644): chmod 600 {}",
            file.display()
        )),
        "{stderr}"
    );
    for secret in [KEY, SECRET, PASSPHRASE] {
        assert!(!stderr.contains(secret), "{stderr}");
    }
    assert!(venue.seen().is_empty());
    // chmod 600: it starts.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = live(dir.path(), &venue);
    cmd.env_remove("BITGET_API_KEY")
        .env_remove("BITGET_API_SECRET")
        .env_remove("BITGET_API_PASSPHRASE")
        .env("BITGET_SECRETS_FILE", &file);
    starts(cmd);
}

#[test]
fn a_wrong_secret_or_passphrase_is_refused_without_showing_any_secret() {
    let venue = venue();
    let dir = tempfile::tempdir().unwrap();
    let secret = "wrong-secret-hunter2-XYZ";
    let pass = "wrong-pass-hunter3-XYZ";
    for (key, value, venue_says) in [
        (
            "BITGET_API_SECRET",
            secret,
            "code 40009 (Auth): sign signature error",
        ),
        (
            "BITGET_API_PASSPHRASE",
            pass,
            "code 40036 (Auth): passphrase is error",
        ),
    ] {
        let mut cmd = live(dir.path(), &venue);
        cmd.env(key, value).env("RUST_LOG", "trace");
        let (code, stderr) = refused(cmd);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("loms-server: refusing to start live trading: key: cannot ask Bitget: Bitget refused: {venue_says}: check BITGET_API_KEY, BITGET_API_SECRET and BITGET_API_PASSPHRASE")),
            "{key}: {stderr}"
        );
        for shown in [secret, pass, "hunter", KEY, SECRET, PASSPHRASE] {
            assert!(!stderr.contains(shown), "{key}: {shown} in {stderr}");
        }
        nothing_written(&venue, dir.path());
    }
    // --print-config shows none of them either.
    let mut cmd = live(dir.path(), &venue);
    cmd.env("BITGET_API_SECRET", secret)
        .env("BITGET_API_PASSPHRASE", pass)
        .arg("--print-config");
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("BITGET_API_SECRET"), "{text}");
    for shown in [secret, pass, KEY] {
        assert!(!text.contains(shown), "{shown} in {text}");
    }
}

/// Bitget not answering at all is not a failed gate: exit 3 (a supervisor may retry),
/// one line saying so, nothing written.
#[test]
fn an_unreachable_venue_refuses_with_exit_3_not_2() {
    let dir = tempfile::tempdir().unwrap();
    let venue = FakeBitget::start();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut cmd = live(dir.path(), &venue);
    cmd.env("BITGET_BASE_URL", &dead);
    let (code, stderr) = refused(cmd);
    assert_eq!(code, Some(3), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("loms-server: "))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("cannot ask Bitget"), "{}", lines[0]);
    if db_path(dir.path()).exists() {
        assert_eq!(recorded(dir.path()), None);
    }
}
