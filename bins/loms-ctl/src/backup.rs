//! `backup`: an online SQLite backup of the database, verified, and a gzip copy of
//! the audit log, into BACKUP_DIR, named by the UTC date.
//!
//! * The database is copied with SQLite's online backup API in one step: one read
//!   transaction, so the copy is one consistent snapshot even while loms-server
//!   writes (in WAL mode the writer is never blocked). The source is opened
//!   read-only.
//! * The copy is written to `.<name>.partial`, switched to `journal_mode=DELETE` (one
//!   self-contained file), checked with `PRAGMA integrity_check` (must be `ok`) and
//!   `PRAGMA foreign_key_check`, synced to disk, and only then renamed to
//!   `YYYY-MM-DD_<db file name>`: a failed backup never replaces a good one. Another
//!   backup the same day replaces that day's file (one per day, the latest wins).
//! * The audit log is append-only: the bytes present when the copy starts are
//!   gzipped (a prefix of the file, so a line being written may be cut), the result
//!   is decompressed again to check it, then renamed to `YYYY-MM-DD_<audit name>.gz`.

use crate::{EXIT_FAILED, EXIT_OK, fmt_bytes, say};
use anyhow::{Context, bail};
use chrono::NaiveDate;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use loms_config::Settings;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the backup waits for a lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// What the copy of the database holds.
#[derive(Debug)]
struct DbReport {
    size: u64,
    positions: i64,
    open: i64,
    orders: i64,
    fk_violations: usize,
}

/// Run `backup`; the dated file names use `today` (UTC).
pub(crate) fn run(
    settings: &Settings,
    today: NaiveDate,
    out: &mut dyn std::io::Write,
    _err: &mut dyn std::io::Write,
) -> anyhow::Result<u8> {
    let db = &settings.database_path;
    let dir = &settings.backup_dir;
    if !db.is_file() {
        bail!(
            "database {} not found or not a file (DATABASE_URL={}): nothing to back up. Run loms-ctl from loms-server's folder with the same --profile/--env-file, or --set DATABASE_URL=<path of the database>",
            shown(db),
            settings.database_url
        );
    }
    fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create BACKUP_DIR {}: create it, or set BACKUP_DIR to a writable folder",
            shown(dir)
        )
    })?;
    let target = dir.join(format!("{today}_{}", file_name(db)?));
    say!(out, "backup of {} into {}", shown(db), shown(dir));

    let started = Instant::now();
    let r = backup_db(db, &target)?;
    say!(out, "OK   database: {}", shown(&target));
    say!(
        out,
        "     {} in {:.2} s; integrity_check ok; {} positions ({} open), {} orders",
        fmt_bytes(r.size),
        started.elapsed().as_secs_f64(),
        r.positions,
        r.open,
        r.orders
    );
    let mut code = EXIT_OK;
    if r.fk_violations > 0 {
        say!(
            out,
            "FAIL foreign keys: {} rows point to rows that do not exist (PRAGMA foreign_key_check); the copy is exact, so the live database has them too: investigate before relying on it",
            r.fk_violations
        );
        code = EXIT_FAILED;
    }

    let audit = &settings.audit_log_path;
    if audit.is_file() {
        let gz = dir.join(format!("{today}_{}.gz", file_name(audit)?));
        let (copied, size) = gzip_copy(audit, &gz)?;
        say!(out, "OK   audit log: {}", shown(&gz));
        say!(
            out,
            "     {}: the first {copied} bytes of {}, gzipped and checked",
            fmt_bytes(size),
            shown(audit)
        );
    } else {
        say!(
            out,
            "WARN audit log: {} not found, not copied (no signal received yet? else check AUDIT_LOG_PATH)",
            shown(audit)
        );
    }
    Ok(code)
}

/// Copy `db` to `target` through a verified `.partial` file.
fn backup_db(db: &Path, target: &Path) -> anyhow::Result<DbReport> {
    let tmp = partial(target);
    remove_stale(&tmp)?;
    match copy_and_check(db, &tmp) {
        Ok(Ok(mut r)) => {
            publish(&tmp, target)?;
            r.size = fs::metadata(target).map(|m| m.len()).unwrap_or(0);
            Ok(r)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
        Ok(Err(rows)) => bail!(
            "the copy failed PRAGMA integrity_check: {}. The live database may be damaged: stop loms-server, keep the file, investigate. The copy is kept for inspection as {}; no dated backup was written",
            rows.join("; "),
            shown(&tmp)
        ),
    }
}

/// Make the copy and check it: `Err` when it could not be made, `Ok(Err(rows))` when
/// it was made but `integrity_check` answered `rows` instead of `ok`.
fn copy_and_check(db: &Path, tmp: &Path) -> anyhow::Result<Result<DbReport, Vec<String>>> {
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {} read-only", shown(db)))?;
    src.busy_timeout(Duration::from_secs(5))?;
    let mut dst = Connection::open(tmp).with_context(|| format!("cannot create {}", shown(tmp)))?;
    {
        let b = Backup::new(&src, &mut dst).context("cannot start the backup")?;
        let give_up = Instant::now() + LOCK_WAIT;
        loop {
            // -1: every page in one step, inside one read transaction: a consistent
            // snapshot that concurrent writes cannot restart.
            let step = b.step(-1).with_context(|| {
                format!(
                    "copying {} failed (is it a SQLite database? check DATABASE_URL)",
                    shown(db)
                )
            })?;
            match step {
                StepResult::Done => break,
                StepResult::More => {}
                _ if Instant::now() >= give_up => bail!(
                    "the database stayed locked for {} s; try again",
                    LOCK_WAIT.as_secs()
                ),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    drop(src);
    let mode: String = dst.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        bail!("the copy stayed in journal_mode {mode}");
    }
    let rows: Vec<String> = {
        let mut stmt = dst.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if rows != ["ok"] {
        return Ok(Err(rows));
    }
    let fk_violations = {
        let mut stmt = dst.prepare("PRAGMA foreign_key_check")?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while rows.next()?.is_some() {
            n += 1;
        }
        n
    };
    let (positions, open): (i64, i64) = dst
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(status = 'open'), 0) FROM positions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .context("the copy has no readable positions table: is DATABASE_URL the LOMS database?")?;
    let orders: i64 = dst
        .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
        .context("the copy has no readable orders table: is DATABASE_URL the LOMS database?")?;
    dst.close()
        .map_err(|(_, e)| anyhow::Error::new(e).context("closing the copy"))?;
    Ok(Ok(DbReport {
        size: 0,
        positions,
        open,
        orders,
        fk_violations,
    }))
}

/// Gzip the bytes `src` has now into `target` (through a `.partial` file), check the
/// result decompresses to as many bytes; returns (bytes copied, size of the .gz).
fn gzip_copy(src: &Path, target: &Path) -> anyhow::Result<(u64, u64)> {
    let tmp = partial(target);
    remove_stale(&tmp)?;
    let result = (|| -> anyhow::Result<u64> {
        let f = File::open(src).with_context(|| format!("cannot read {}", shown(src)))?;
        let len = f.metadata()?.len();
        let w = File::create(&tmp).with_context(|| format!("cannot create {}", shown(&tmp)))?;
        let mut enc = GzEncoder::new(BufWriter::new(w), Compression::default());
        let copied = io::copy(&mut BufReader::new(f).take(len), &mut enc)
            .with_context(|| format!("writing {}", shown(&tmp)))?;
        let file = enc
            .finish()?
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        let back = io::copy(
            &mut GzDecoder::new(BufReader::new(File::open(&tmp)?)),
            &mut io::sink(),
        )
        .with_context(|| format!("the gzip copy {} does not decompress", shown(&tmp)))?;
        if back != copied {
            bail!("the gzip copy decompresses to {back} bytes instead of {copied}");
        }
        Ok(copied)
    })();
    match result {
        Ok(copied) => {
            publish(&tmp, target)?;
            Ok((copied, fs::metadata(target).map(|m| m.len()).unwrap_or(0)))
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Sync `tmp` and rename it over `target` (replacing that day's earlier backup).
fn publish(tmp: &Path, target: &Path) -> anyhow::Result<()> {
    File::open(tmp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", shown(tmp)))?;
    fs::rename(tmp, target)
        .with_context(|| format!("cannot rename {} to {}", shown(tmp), shown(target)))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename durable; not possible everywhere, harmless when not.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn remove_stale(tmp: &Path) -> anyhow::Result<()> {
    match fs::remove_file(tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove the leftover {}", shown(tmp)))
        }
        _ => Ok(()),
    }
}

/// `.<name>.partial` beside `target` (hidden, and ignored by prune).
fn partial(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.partial"))
}

fn file_name(p: &Path) -> anyhow::Result<String> {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{} has no file name", shown(p)))
}

/// A path as the operator should see it: absolute.
pub(crate) fn shown(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn partial_files_are_hidden_beside_the_target() {
        assert_eq!(
            partial(Path::new("b/2026-11-25_loms.db")),
            PathBuf::from("b/.2026-11-25_loms.db.partial")
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("junk.db");
        fs::write(
            &db,
            b"this is not a database, just text that is long enough ".repeat(100),
        )
        .unwrap();
        let target = dir.path().join("2026-11-25_junk.db");
        let e = backup_db(&db, &target).unwrap_err();
        assert!(format!("{e:#}").contains("DATABASE_URL"), "{e:#}");
        assert!(!target.exists() && !partial(&target).exists());
    }

    #[test]
    fn gzip_copies_decompress_to_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.jsonl");
        let mut f = File::create(&src).unwrap();
        for i in 0..1000 {
            writeln!(f, "{{\"n\": {i}}}").unwrap();
        }
        drop(f);
        let gz = dir.path().join("2026-11-25_a.jsonl.gz");
        let (copied, _) = gzip_copy(&src, &gz).unwrap();
        let mut back = Vec::new();
        GzDecoder::new(File::open(&gz).unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, fs::read(&src).unwrap());
        assert_eq!(copied as usize, back.len());
    }
}
