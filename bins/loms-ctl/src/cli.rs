//! The command line.

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use loms_domain::Decimal;
use std::path::PathBuf;
use std::time::Duration;

/// LOMS operators' control: kill switch, panic close, live reconcile, backup, prune, CSV export.
///
/// Reads the same settings as loms-server: pass the same --profile / --env-file
/// (or run it from the service's folder). Exit codes: 0 done, 1 failed (the message
/// says what to fix), 2 server unreachable or not answering, or a wrong command line.
#[derive(Debug, Parser)]
#[command(name = "loms-ctl", version, about, long_about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    /// Server address; default http://<LOMS_BIND> of the settings.
    #[arg(long, global = true, value_name = "URL", value_parser = parse_url)]
    pub(crate) url: Option<String>,
    /// Seconds to wait for each answer of the server (1 to 30).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=30))]
    timeout: u64,
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// Time allowed for one call to the server.
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }
}

/// Where the settings come from (the same flags as loms-server).
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfigArgs {
    /// Profile: reads config/<PROFILE>.toml (dev, paper, live). Env: LOMS_PROFILE.
    #[arg(long, global = true)]
    pub(crate) profile: Option<String>,
    /// Folder of the profile files (default: config).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) config_dir: Option<PathBuf>,
    /// The .env file to read (default: .env).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) env_file: Option<PathBuf>,
    /// Override a setting, e.g. --set DATABASE_URL=backups/2026-11-25_loms.db (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE", value_parser = loms_config::parse_override)]
    pub(crate) set: Vec<(String, String)>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The kill switch: `on` stops new entries, `off` allows them again, `status` shows it.
    Kill {
        #[command(subcommand)]
        action: KillAction,
    },
    /// Stop trading and close everything. Paper: kill switch on, close every open
    /// position, verify none is left (retries once). Live: entries off and flatten
    /// (reduce-only exits), then ask the venue until it reports flat, or say exactly
    /// what is still open at the deadline.
    Panic {
        /// Live: seconds to wait for the venue to report flat (1 to 600).
        #[arg(long, value_name = "SECONDS", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(1..=600))]
        deadline: u64,
    },
    /// Live: the venue's positions next to LOMS's, the doubts holding entries, and the
    /// command that settles each difference (exit 0: no doubt, 1: doubts). With
    /// --adopt or --close: settle one difference on the operator's word (audited).
    Reconcile(ReconcileArgs),
    /// Online backup of the database (verified) and a gzip copy of the audit log into BACKUP_DIR.
    Backup,
    /// Delete dated backups older than RETENTION_DAYS (the newest set is always kept).
    Prune {
        /// Only show what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Positions as CSV, read straight from the database (works with the server down).
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Only open or only closed positions.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only positions opened at or after this time (RFC 3339, or YYYY-MM-DD = 00:00 UTC).
        #[arg(long, value_name = "TIME", value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
    },
}

/// `reconcile`: show, or settle one symbol.
#[derive(Debug, Args)]
pub(crate) struct ReconcileArgs {
    /// Take the venue's word on SYMBOL: a venue position LOMS does not hold becomes a
    /// LOMS position; a LOMS position the venue does not hold is closed in LOMS (no order).
    #[arg(long, value_name = "SYMBOL", conflicts_with = "close")]
    pub(crate) adopt: Option<String>,
    /// Close at the venue, reduce-only, the part of SYMBOL's position LOMS does not own
    /// (needs --qty, exactly as `loms-ctl reconcile` shows it).
    #[arg(long, value_name = "SYMBOL", requires = "qty")]
    pub(crate) close: Option<String>,
    /// With --close: the size to close, as shown (a repeated command is refused).
    #[arg(long, value_name = "QTY", requires = "close", value_parser = parse_qty)]
    pub(crate) qty: Option<Decimal>,
    /// Who says so, recorded in the audit log (default: $USER).
    #[arg(long, value_name = "NAME", value_parser = parse_by)]
    pub(crate) by: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KillAction {
    /// Engage the kill switch: signals open nothing (exits go on).
    On {
        /// entries_off: signals open nothing, manual orders allowed; reduce_only: nothing opens.
        #[arg(long, value_enum, default_value_t = KillMode::EntriesOff)]
        mode: KillMode,
    },
    /// Release the kill switch: trading mode active again.
    Off,
    /// Show the trading mode, since when and who set it.
    Status,
}

/// Modes `kill on` can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KillMode {
    /// Signals open nothing; exits and manual orders go on.
    #[value(name = "entries_off", alias = "entries-off")]
    EntriesOff,
    /// Nothing may open, neither signals nor manual orders; exits go on.
    #[value(name = "reduce_only", alias = "reduce-only")]
    ReduceOnly,
}

impl KillMode {
    /// Wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::EntriesOff => "entries_off",
            Self::ReduceOnly => "reduce_only",
        }
    }
}

/// `--status` of export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusArg {
    /// Open positions.
    Open,
    /// Closed positions.
    Closed,
}

fn parse_url(s: &str) -> Result<String, String> {
    let whitespace = s.trim().contains(char::is_whitespace);
    loms_client::show::parse_url(s)
        .ok()
        .filter(|_| !whitespace)
        .ok_or_else(|| format!("expected http://HOST:PORT (e.g. http://127.0.0.1:8000), got {s:?}"))
}

fn parse_qty(s: &str) -> Result<Decimal, String> {
    s.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|q| *q > Decimal::ZERO)
        .ok_or_else(|| format!("expected a size above 0 like 0.002, got {s:?}"))
}

fn parse_by(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_control) {
        return Err(format!("expected a name of 1 to 64 characters, got {s:?}"));
    }
    Ok(t.to_string())
}

fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| {
            format!("expected an RFC 3339 time like 2026-11-25T00:00:00Z or a date like 2026-11-25, got {s:?}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_a_scheme_and_lose_the_trailing_slash() {
        assert_eq!(
            parse_url("http://127.0.0.1:8000/").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert!(parse_url("https://loms.example:443").is_ok());
        for bad in [
            "127.0.0.1:8000",
            "http://",
            "ftp://x",
            "http://a b",
            "",
            "http://[",
            "http://%%%",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_needs_key_equals_value() {
        assert_eq!(
            loms_config::parse_override("retention_days=7").unwrap(),
            ("RETENTION_DAYS".into(), "7".into())
        );
        assert_eq!(
            loms_config::parse_override("LOMS_API_TOKEN=a=b").unwrap().1,
            "a=b".to_string()
        );
        assert!(loms_config::parse_override("RETENTION_DAYS").is_err());
        assert!(loms_config::parse_override("=7").is_err());
    }

    #[test]
    fn reconcile_takes_one_action() {
        let p = |a: &[&str]| Cli::try_parse_from(a.iter().copied());
        assert!(p(&["loms-ctl", "reconcile"]).is_ok());
        assert!(p(&["loms-ctl", "reconcile", "--adopt", "BTCUSDT"]).is_ok());
        assert!(
            p(&[
                "loms-ctl",
                "reconcile",
                "--close",
                "BTCUSDT",
                "--qty",
                "0.002"
            ])
            .is_ok()
        );
        for bad in [
            &["loms-ctl", "reconcile", "--close", "BTCUSDT"][..],
            &["loms-ctl", "reconcile", "--qty", "1"],
            &[
                "loms-ctl",
                "reconcile",
                "--adopt",
                "A",
                "--close",
                "A",
                "--qty",
                "1",
            ],
            &["loms-ctl", "reconcile", "--close", "A", "--qty", "0"],
            &["loms-ctl", "reconcile", "--close", "A", "--qty", "x"],
            &["loms-ctl", "reconcile", "--adopt", "A", "--by", ""],
            &["loms-ctl", "panic", "--deadline", "0"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn since_takes_rfc3339_or_a_date() {
        assert_eq!(
            parse_since("2026-11-25T10:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-11-25T09:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-11-25").unwrap().to_rfc3339(),
            "2026-11-25T00:00:00+00:00"
        );
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2026-13-01").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
