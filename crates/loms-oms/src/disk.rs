//! Free space in the folders LOMS writes to: the `disk_space` check of /health.
//!
//! A full disk makes every write fail (signals are answered 503, the audit trail waits);
//! this check says so before it happens: it warns below DISK_FREE_WARN_MB and fails
//! below [`FAIL_BELOW_BYTES`] (or the warning level, if lower).

use crate::health::Check;
use std::path::{Path, PathBuf};

/// Free space below which the check fails: SQLite needs room to grow the WAL and
/// copy it into the database.
pub(crate) const FAIL_BELOW_BYTES: u64 = 64 * 1024 * 1024;

const MIB: u64 = 1024 * 1024;

/// Free bytes for an unprivileged writer, and the id, of the file system holding `dir`.
fn free_bytes(dir: &Path) -> std::io::Result<(u64, u64)> {
    let s = rustix::fs::statvfs(dir)?;
    Ok((s.f_bavail.saturating_mul(s.f_frsize), s.f_fsid))
}

/// The folder holding `file` (`.` for a bare file name).
pub(crate) fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn shown(bytes: u64) -> String {
    if bytes >= 10 * 1024 * MIB {
        format!("{:.1} GiB", bytes as f64 / (1024 * MIB) as f64)
    } else {
        format!("{} MiB", bytes / MIB)
    }
}

/// The check over `folders` (name, path), warning below `warn_below_mb` MiB free
/// (0: not checked).
pub(crate) fn check(folders: &[(&str, PathBuf)], warn_below_mb: u64) -> Check {
    if warn_below_mb == 0 {
        return Check::new(true, "not checked (DISK_FREE_WARN_MB=0)");
    }
    let warn_below = warn_below_mb.saturating_mul(MIB);
    let fail_below = FAIL_BELOW_BYTES.min(warn_below);
    let mut seen = Vec::new();
    let (mut fail, mut warn) = (false, false);
    let mut parts = Vec::new();
    for (name, dir) in folders {
        match free_bytes(dir) {
            Ok((free, fs)) => {
                if seen.contains(&fs) {
                    continue;
                }
                seen.push(fs);
                fail |= free < fail_below;
                warn |= free < warn_below;
                parts.push(format!("{name} {}: {} free", dir.display(), shown(free)));
            }
            Err(e) => {
                fail = true;
                parts.push(format!(
                    "{name} {}: free space unknown ({e})",
                    dir.display()
                ));
            }
        }
    }
    let detail = parts.join("; ");
    if fail {
        Check::new(
            false,
            format!(
                "{detail} (fails below {}: writes will fail)",
                shown(fail_below)
            ),
        )
    } else if warn {
        Check::warning(format!("{detail} (warning below {warn_below_mb} MiB)"))
    } else {
        Check::new(true, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_judged_against_the_levels() {
        let dir = tempfile::tempdir().unwrap();
        let folders = [("data", dir.path().to_path_buf())];
        let (free, _) = free_bytes(dir.path()).unwrap();
        assert!(free > 0);
        let ok = check(&folders, 1);
        assert!(ok.ok && !ok.warning, "{ok:?}");
        assert!(ok.detail.contains("free"), "{}", ok.detail);
        // A warning level above what is free: a warning, or a failure when what is free
        // is also under the failure level.
        let c = check(&folders, free / MIB + 1);
        assert!(c.warning || !c.ok, "{c:?}");
        assert!(check(&folders, 0).ok);
        let gone = check(&[("data", dir.path().join("missing"))], 1);
        assert!(!gone.ok, "{gone:?}");
        // Two folders on one file system are shown once.
        let twice = [
            ("data", dir.path().to_path_buf()),
            ("audit", dir.path().to_path_buf()),
        ];
        assert_eq!(check(&twice, 1).detail.matches("free").count(), 1);
        assert_eq!(folder_of(Path::new("loms.db")), PathBuf::from("."));
    }
}
