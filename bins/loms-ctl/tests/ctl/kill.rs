//! `kill on|off|status`, and the bearer token.

use crate::harness::{Server, TOKEN, signal};
use serde_json::json;

#[test]
fn kill_on_off_and_status_change_and_show_the_mode() {
    let srv = Server::start(|_| {});
    let o = srv.ctl(&["kill", "status"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("mode:    active"), "{}", o.all());
    assert!(o.stdout.contains("kill switch OFF"), "{}", o.all());

    let o = srv.ctl(&["kill", "on"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout
            .contains("OK   kill switch ON: trading mode is now entries_off"),
        "{}",
        o.all()
    );
    assert!(o.stdout.contains("set by:  cli"), "{}", o.all());
    let (_, state) = srv.get("/admin/oms");
    assert_eq!(
        (state["mode"].as_str(), state["set_by"].as_str()),
        (Some("entries_off"), Some("cli"))
    );
    let (_, refused) = srv.post("/signals/bounce", &signal("BTCUSDT", json!({})));
    assert_eq!(refused["risk_ok"], false, "{refused}");

    let o = srv.ctl(&["kill", "status"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("mode:    entries_off"), "{}", o.all());
    assert!(o.stdout.contains("kill switch ON"), "{}", o.all());

    let o = srv.ctl(&["kill", "on", "--mode", "reduce_only"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert_eq!(srv.get("/admin/oms").1["mode"], "reduce_only");

    let o = srv.ctl(&["kill", "off"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout
            .contains("OK   kill switch OFF: trading mode is now active"),
        "{}",
        o.all()
    );
    assert_eq!(srv.get("/admin/oms").1["mode"], "active");
    let (_, opened) = srv.post("/signals/bounce", &signal("BTCUSDT", json!({})));
    assert_eq!(opened["risk_ok"], true, "{opened}");
}

#[test]
fn the_token_is_sent_and_a_wrong_or_missing_one_is_a_clear_401() {
    let srv = Server::start(|s| s.api_token = Some(TOKEN.into()));
    let o = srv.ctl(&["kill", "on"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert_eq!(srv.get("/admin/oms").1["mode"], "entries_off");

    let wrong = "wrong-token-9876543210";
    let o = srv.ctl(&["kill", "off"], &[("LOMS_API_TOKEN", wrong)]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("HTTP 401 unauthorized"), "{}", o.all());
    assert!(
        o.stderr.contains("refused the token: set LOMS_API_TOKEN"),
        "{}",
        o.all()
    );
    assert!(
        !o.all().contains(wrong) && !o.all().contains(TOKEN),
        "{}",
        o.all()
    );
    assert_eq!(
        srv.get("/admin/oms").1["mode"],
        "entries_off",
        "nothing changed"
    );

    let o = srv.ctl(&["kill", "off"], &[("LOMS_API_TOKEN", "none")]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("loms-ctl has none"), "{}", o.all());

    // Reads need no token.
    let o = srv.ctl(&["kill", "status"], &[("LOMS_API_TOKEN", "none")]);
    assert_eq!(o.code, 0, "{}", o.all());
    // And the token never shows.
    let o = srv.ctl(&["kill", "off"], &[]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(!o.all().contains(TOKEN), "{}", o.all());
}
