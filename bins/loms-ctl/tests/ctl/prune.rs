//! `prune`, with an injected "today".

use crate::harness::lib_run;
use std::collections::BTreeSet;
use std::path::Path;

fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

fn env(backups: &Path, days: &str) -> Vec<(String, String)> {
    vec![
        ("BACKUP_DIR".into(), backups.display().to_string()),
        ("RETENTION_DAYS".into(), days.into()),
    ]
}

#[test]
fn prune_keeps_the_newest_and_deletes_only_old_dated_files() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let files = [
        "2026-11-25_loms_paper.db",
        "2026-11-25_signals_audit.jsonl.gz",
        "2026-11-18_loms_paper.db",
        "2026-11-17_loms_paper.db",
        "2026-11-17_signals_audit.jsonl.gz",
        "2025-01-01_loms_paper.db",
        "notes.txt",
        ".2026-01-01_loms_paper.db.partial",
        "2026-02-30_loms_paper.db",
        "20261101_loms_paper.db",
    ];
    for f in files {
        std::fs::write(backups.join(f), f).unwrap();
    }
    std::fs::create_dir(backups.join("2026-01-01_folder")).unwrap();
    let e = env(&backups, "7");
    let today = "2026-11-25T23:30:00Z";

    let o = lib_run(dir.path(), &e, &["prune", "--dry-run"], today);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout.contains("would delete 2026-11-17_loms_paper.db"),
        "{}",
        o.all()
    );
    assert!(o.stdout.contains("would delete 3 files"), "{}", o.all());
    assert_eq!(
        listing(&backups).len(),
        files.len() + 1,
        "a dry run deletes nothing"
    );

    let o = lib_run(dir.path(), &e, &["prune"], today);
    assert_eq!(o.code, 0, "{}", o.all());
    for line in [
        "deleting backups dated before 2026-11-18",
        "deleted 2025-01-01_loms_paper.db",
        "deleted 2026-11-17_loms_paper.db",
        "deleted 2026-11-17_signals_audit.jsonl.gz",
        "kept    2026-11-18_loms_paper.db (within retention)",
        "kept    2026-11-25_loms_paper.db (newest backup set)",
        "ignored notes.txt",
        "prune: deleted 3 files",
    ] {
        assert!(o.stdout.contains(line), "missing {line:?} in {}", o.all());
    }
    assert_eq!(
        listing(&backups),
        set(&[
            "2026-11-25_loms_paper.db",
            "2026-11-25_signals_audit.jsonl.gz",
            "2026-11-18_loms_paper.db",
            "notes.txt",
            ".2026-01-01_loms_paper.db.partial",
            "2026-02-30_loms_paper.db",
            "20261101_loms_paper.db",
            "2026-01-01_folder",
        ])
    );
}

#[test]
fn prune_keeps_the_newest_set_even_when_it_is_older_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    for f in [
        "2026-01-02_loms.db",
        "2026-01-02_audit.jsonl.gz",
        "2026-01-01_loms.db",
    ] {
        std::fs::write(backups.join(f), "x").unwrap();
    }
    let o = lib_run(
        dir.path(),
        &env(&backups, "30"),
        &["prune"],
        "2026-11-25T00:00:00Z",
    );
    assert_eq!(o.code, 0, "{}", o.all());
    assert_eq!(
        listing(&backups),
        set(&["2026-01-02_loms.db", "2026-01-02_audit.jsonl.gz"])
    );
    // Nothing to prune is fine too.
    let o = lib_run(
        dir.path(),
        &env(&dir.path().join("none"), "30"),
        &["prune"],
        "2026-11-25T00:00:00Z",
    );
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("nothing to prune"), "{}", o.all());
}
