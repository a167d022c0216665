//! `prune`: delete dated backups older than RETENTION_DAYS.
//!
//! Only files of BACKUP_DIR whose name starts with a real date `YYYY-MM-DD_` are
//! considered; anything else (folders, `.partial` leftovers, notes) is left alone.
//! A file is deleted when its date is more than RETENTION_DAYS days before today
//! (UTC). The newest backup set (every file of the newest date) is always kept, even
//! when it is older, so pruning can never leave no backup at all.

use crate::backup::shown;
use crate::{EXIT_FAILED, EXIT_OK, fmt_size, say};
use anyhow::Context;
use chrono::{Days, NaiveDate};
use loms_config::Settings;
use std::fs;
use std::io::Write;
use std::path::PathBuf;

/// One dated file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dated {
    name: String,
    date: NaiveDate,
}

/// What to do with each file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// (name, why kept), by name.
    keep: Vec<(String, &'static str)>,
    /// Names to delete, by name.
    delete: Vec<String>,
    /// Names without a date prefix, by name.
    ignored: Vec<String>,
}

/// The date of a backup file name `YYYY-MM-DD_...`, or `None`.
fn dated(name: &str) -> Option<NaiveDate> {
    let b = name.as_bytes();
    let shape_ok = b.len() > 11
        && b[10] == b'_'
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(name.get(..10)?, "%Y-%m-%d").ok()
}

/// Decide, for files named `names`, what to keep and delete on `today`.
fn plan(names: Vec<String>, today: NaiveDate, retention_days: u32) -> Plan {
    let mut p = Plan::default();
    let mut files = Vec::new();
    for name in names {
        match dated(&name) {
            Some(date) => files.push(Dated { name, date }),
            None => p.ignored.push(name),
        }
    }
    let newest = files.iter().map(|f| f.date).max();
    // Kept: dated on or after the cutoff. `None` (retention reaching before the
    // calendar) keeps everything.
    let cutoff = today.checked_sub_days(Days::new(u64::from(retention_days)));
    for f in files {
        if Some(f.date) == newest {
            p.keep.push((f.name, "newest backup set"));
        } else if cutoff.is_none_or(|c| f.date >= c) {
            p.keep.push((f.name, "within retention"));
        } else {
            p.delete.push(f.name);
        }
    }
    p.keep.sort();
    p.delete.sort();
    p.ignored.sort();
    p
}

/// Run `prune` relative to `today` (UTC).
pub(crate) fn run(
    settings: &Settings,
    today: NaiveDate,
    dry_run: bool,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let dir = &settings.backup_dir;
    let days = settings.retention_days;
    if !dir.exists() {
        say!(
            out,
            "nothing to prune: BACKUP_DIR {} does not exist (no backup made yet?)",
            shown(dir)
        );
        return Ok(EXIT_OK);
    }
    let mut names = Vec::new();
    let mut folders = 0usize;
    let entries = fs::read_dir(dir).with_context(|| {
        format!(
            "cannot list BACKUP_DIR {}: check it is a readable folder",
            shown(dir)
        )
    })?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", shown(dir)))?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(true);
        match entry.file_name().into_string() {
            Ok(name) if !is_dir => names.push(name),
            _ => folders += 1,
        }
    }
    let cutoff = today
        .checked_sub_days(Days::new(u64::from(days)))
        .map_or_else(|| "-".to_string(), |d| d.to_string());
    say!(
        out,
        "prune {}: RETENTION_DAYS={days}, today {today} (UTC): deleting backups dated before {cutoff}{}",
        shown(dir),
        if dry_run {
            " (dry run: nothing is deleted)"
        } else {
            ""
        }
    );
    let p = plan(names, today, days);
    let size = |name: &str| -> u64 {
        fs::symlink_metadata(dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let mut freed = 0u64;
    let mut deleted = 0usize;
    let mut failures = Vec::new();
    for name in &p.delete {
        let path: PathBuf = dir.join(name);
        let n = size(name);
        if dry_run {
            say!(out, "would delete {name} ({})", fmt_size(n));
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => {
                say!(out, "deleted {name} ({})", fmt_size(n));
                freed += n;
                deleted += 1;
            }
            Err(e) => {
                say!(out, "FAIL   could not delete {name}: {e}");
                failures.push(name.clone());
            }
        }
    }
    for (name, why) in &p.keep {
        say!(out, "kept    {name} ({why})");
    }
    for name in &p.ignored {
        say!(out, "ignored {name} (no YYYY-MM-DD_ prefix)");
    }
    let ignored = p.ignored.len() + folders;
    if dry_run {
        say!(
            out,
            "prune (dry run): would delete {} files, keep {}, ignored {ignored}",
            p.delete.len(),
            p.keep.len()
        );
    } else {
        say!(
            out,
            "prune: deleted {deleted} files ({}), kept {}, ignored {ignored}",
            fmt_size(freed),
            p.keep.len()
        );
    }
    if failures.is_empty() {
        Ok(EXIT_OK)
    } else {
        say!(
            out,
            "FAIL {} files could not be deleted: check the permissions of {}",
            failures.len(),
            shown(dir)
        );
        Ok(EXIT_FAILED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn only_real_dates_with_an_underscore_count() {
        assert_eq!(dated("2026-11-25_loms.db"), Some(d("2026-11-25")));
        for bad in [
            "2026-11-25loms.db",
            "2026-11-25_",
            "2026-02-30_loms.db",
            "2026-1-25_loms.db",
            "26-11-25_loms.db",
            ".2026-11-25_loms.db.partial",
            "notes.txt",
            "",
            "2026-11-2é_x",
            "ééééééééééé",
        ] {
            assert_eq!(dated(bad), None, "{bad}");
        }
    }

    #[test]
    fn old_files_go_recent_and_newest_stay() {
        let p = plan(
            names(&[
                "2026-11-25_loms.db",
                "2026-11-25_audit.jsonl.gz",
                "2026-10-26_loms.db",
                "2026-10-25_loms.db",
                "2026-01-01_loms.db",
                "README",
            ]),
            d("2026-11-25"),
            30,
        );
        assert_eq!(
            p.delete,
            names(&["2026-01-01_loms.db", "2026-10-25_loms.db"])
        );
        assert_eq!(
            p.keep.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            [
                "2026-10-26_loms.db",
                "2026-11-25_audit.jsonl.gz",
                "2026-11-25_loms.db"
            ]
        );
        assert_eq!(p.ignored, names(&["README"]));
    }

    #[test]
    fn the_newest_set_is_kept_even_when_old() {
        let p = plan(
            names(&[
                "2025-01-01_loms.db",
                "2025-01-01_a.gz",
                "2024-12-31_loms.db",
            ]),
            d("2026-11-25"),
            30,
        );
        assert_eq!(p.delete, names(&["2024-12-31_loms.db"]));
        assert_eq!(p.keep.len(), 2);
        assert!(p.keep.iter().all(|(_, why)| *why == "newest backup set"));
    }

    #[test]
    fn future_dates_and_empty_folders_are_harmless() {
        let p = plan(names(&["2030-01-01_x.db"]), d("2026-11-25"), 1);
        assert!(p.delete.is_empty());
        assert_eq!(plan(vec![], d("2026-11-25"), 1), Plan::default());
    }
}
