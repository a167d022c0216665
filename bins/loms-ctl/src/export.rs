//! `export`: positions as CSV, read straight from the database with a read-only
//! connection (works with the server down, and while it runs).
//!
//! RFC 4180, written by the `csv` crate: comma-separated, `\n` line ends, a field with
//! a comma, a double quote, a CR or an LF is quoted and its quotes doubled. Empty field = no
//! value. Numbers are the exact stored decimals; times RFC 3339 UTC. Oldest first.

use crate::backup::shown;
use crate::cli::StatusArg;
use crate::say;
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use loms_config::Settings;
use loms_domain::{Position, PositionStatus};
use loms_storage::{PositionColumn, PositionFilter, Store};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The columns, in order: columns of `positions` by name, each field the value the
/// database stores ([`PositionColumn::text`]).
pub(crate) const HEADER: [&str; 20] = [
    "id",
    "symbol",
    "side",
    "qty",
    "entry_price",
    "tp_price",
    "sl_price",
    "status",
    "created_at",
    "closed_at",
    "close_price",
    "pnl",
    "fees",
    "auto_close_reason",
    "exit_strategy",
    "signal_id",
    "strategy",
    "signal_price",
    "signal_time",
    "opened_qty",
];

/// Run `export`: CSV to `file`, else to `out`; the summary goes to `err` when the CSV
/// is on `out`.
pub(crate) fn run(
    settings: &Settings,
    file: Option<&Path>,
    status: Option<StatusArg>,
    since: Option<DateTime<Utc>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let db = &settings.database_path;
    if !db.is_file() {
        bail!(
            "database {} not found or not a file (DATABASE_URL={}). Run loms-ctl from loms-server's folder with the same --profile/--env-file, or --set DATABASE_URL=<path of the database or of a backup>",
            shown(db),
            settings.database_url
        );
    }
    let store = Store::open_reader(db).with_context(|| format!("cannot open {}", shown(db)))?;
    let filter = PositionFilter {
        status: status.map(|s| match s {
            StatusArg::Open => PositionStatus::Open,
            StatusArg::Closed => PositionStatus::Closed,
        }),
        ..PositionFilter::default()
    };
    let mut positions = store.positions(&filter).with_context(|| {
        format!(
            "cannot read the positions of {} (is it a LOMS database of this version? starting loms-server once migrates it)",
            shown(db)
        )
    })?;
    positions.retain(|p| since.is_none_or(|t| p.created_at >= t));
    positions.sort_by_key(|p| p.id);

    match file {
        Some(path) => {
            let f = File::create(path).with_context(|| {
                format!(
                    "cannot create {}: check the folder exists and is writable",
                    shown(path)
                )
            })?;
            let mut w = BufWriter::new(f);
            write_csv(&mut w, &positions)
                .and_then(|()| w.flush())
                .with_context(|| format!("writing {}", shown(path)))?;
            w.get_ref()
                .sync_all()
                .with_context(|| format!("writing {}", shown(path)))?;
            say!(
                out,
                "exported {} positions from {} to {}",
                positions.len(),
                shown(db),
                shown(path)
            );
        }
        None => {
            let mut w = BufWriter::new(&mut *out);
            write_csv(&mut w, &positions)
                .and_then(|()| w.flush())
                .context("writing the CSV to standard output")?;
            drop(w);
            say!(
                err,
                "exported {} positions from {}",
                positions.len(),
                shown(db)
            );
        }
    }
    Ok(crate::EXIT_OK)
}

/// Header and one line per position (the `csv` crate quotes what needs it).
pub(crate) fn write_csv(w: &mut dyn Write, positions: &[Position]) -> std::io::Result<()> {
    let columns = HEADER
        .iter()
        .map(|name| {
            PositionColumn::named(name)
                .ok_or_else(|| std::io::Error::other(format!("positions has no column {name:?}")))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(HEADER)?;
    for p in positions {
        csv.write_record(row(&columns, p)?)?;
    }
    csv.flush()
}

/// The fields of one position in `columns`: the stored value, empty for none.
fn row(columns: &[PositionColumn], p: &Position) -> std::io::Result<Vec<String>> {
    columns
        .iter()
        .map(|c| {
            c.text(p)
                .map(Option::unwrap_or_default)
                .map_err(std::io::Error::other)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use loms_domain::{Decimal, Side};

    #[test]
    fn one_line_per_position_in_header_order() {
        let mut p = Position::open(
            "BTCUSDT",
            Side::Long,
            Decimal::new(15, 1),
            Decimal::new(100, 0),
            "2026-11-25T10:00:00Z".parse().unwrap(),
        );
        p.id = 7;
        p.strategy = Some("a,\"b\"".into());
        let mut buf = Vec::new();
        write_csv(&mut buf, &[p]).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(
            lines[1],
            "7,BTCUSDT,long,1.5,100,,,open,2026-11-25T10:00:00.000000Z,,,,0,,tp_sl_static,,\"a,\"\"b\"\"\",,,1.5"
        );
    }
    #[test]
    fn every_column_of_the_header_is_a_column_of_positions() {
        for name in HEADER {
            assert_eq!(PositionColumn::named(name).map(|c| c.name()), Some(name));
        }
    }
}
