//! Failures: an unreachable server (exit 2 and the fallback), usage errors (exit 2),
//! configuration errors (exit 1).

use crate::harness::{ctl_in, dead_addr};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[test]
fn unreachable_server_exits_2_with_the_fallback_advice() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dead_addr();
    let e = env(&[("LOMS_BIND", &dead.to_string())]);
    for args in [&["kill", "on"][..], &["panic"][..]] {
        let o = ctl_in(dir.path(), &e, args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.all());
        assert!(
            o.stderr
                .contains(&format!("cannot reach the LOMS server at http://{dead}")),
            "{args:?}: {}",
            o.all()
        );
        for advice in [
            "FALLBACK",
            "sudo systemctl stop loms",
            "remain OPEN",
            "close them by hand on the exchange",
        ] {
            assert!(
                o.stderr.contains(advice),
                "{args:?} missing {advice:?}: {}",
                o.all()
            );
        }
    }
    // Reads say what to check instead.
    let o = ctl_in(dir.path(), &e, &["kill", "status"]);
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(o.stderr.contains("Is loms-server running?"), "{}", o.all());
    // --url wins over LOMS_BIND.
    let other = dead_addr();
    let o = ctl_in(
        dir.path(),
        &e,
        &["kill", "status", "--url", &format!("http://{other}/")],
    );
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(
        o.stderr.contains(&format!("http://{other}:")),
        "{}",
        o.all()
    );
}

#[test]
fn usage_errors_exit_2_and_configuration_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let none = env(&[]);
    for args in [
        &[][..],
        &["kill"][..],
        &["kill", "sideways"][..],
        &["kill", "on", "--mode", "flatten"][..],
        &["--set", "RETENTION_DAYS", "prune"][..],
        &["--url", "localhost:8000", "kill", "status"][..],
        &["--timeout", "0", "panic"][..],
        &["export", "--since", "yesterday"][..],
        &["export", "--status", "maybe"][..],
    ] {
        let o = ctl_in(dir.path(), &none, args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.all());
        assert!(!o.stderr.is_empty(), "{args:?}");
    }
    let o = ctl_in(dir.path(), &none, &["--help"]);
    assert_eq!(o.code, 0, "{}", o.all());
    for cmd in ["kill", "panic", "backup", "prune", "export"] {
        assert!(o.stdout.contains(cmd), "{cmd}: {}", o.all());
    }

    let o = ctl_in(dir.path(), &none, &["--set", "RETENTION_DAYS=0", "prune"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("RETENTION_DAYS"), "{}", o.all());
    let o = ctl_in(dir.path(), &none, &["--profile", "nosuch", "prune"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("nosuch"), "{}", o.all());

    // A mistake in a setting loms-ctl does not use does not stop it.
    let e = env(&[("PRICE_MODE", "sideways"), ("BACKUP_DIR", "nowhere")]);
    let o = ctl_in(dir.path(), &e, &["prune"]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stderr.contains("warning") && o.stderr.contains("PRICE_MODE"),
        "{}",
        o.all()
    );
}
