//! The columns of `positions`, defined once. The reads select them in this order
//! ([`POSITION_COLUMNS`], decoded by index through [`Col`]), the JSON of a position
//! shows them in this order under their own names ([`COLUMNS`], the order of
//! `Position`'s fields), and a new position is inserted with every one of them
//! ([`INSERT_POSITION`], bound by [`param`], whose `match` names every column).
//! The updates of a close and of an open position, and the read of the references,
//! name their columns through [`Col`] too ([`CLOSE_SETS`], [`OPEN_SETS`],
//! [`REFERENCES`]), bound from the same [`value`]; tools read a position's columns by
//! name through [`PositionColumn`].

use crate::codec::{Text, dec, ts};
use crate::{Result, StorageError, closes};
use loms_domain::{Decimal, Position, Timestamp};
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::borrow::Cow;
use std::sync::LazyLock;

/// How a column is stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// INTEGER.
    Int,
    /// TEXT shown as a JSON string.
    Text,
    /// A decimal's exact text, shown as a JSON number.
    Decimal,
    /// A fixed-width UTC time ([`crate::codec::ts`]), shown as an RFC 3339 string.
    Time,
    /// JSON text, shown as it is.
    Json,
    /// The closed pieces ([`crate::closes`]), shown as a JSON array of objects.
    Closes,
}

/// Define [`Col`], [`COLUMNS`], [`POSITION_COLUMNS`] and [`INSERT_POSITION`] from one
/// list of `name: Kind`.
macro_rules! position_columns {
    ($first:ident : $first_kind:ident $(, $name:ident : $kind:ident)* $(,)?) => {
        /// A column of `positions`: its index in [`POSITION_COLUMNS`] and [`COLUMNS`].
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Col {
            $first,
            $($name,)*
        }

        impl Col {
            /// Every column, in order.
            pub(crate) const ALL: &[Col] = &[Col::$first $(, Col::$name)*];

            /// Index in the select list.
            pub(crate) const fn at(self) -> usize {
                self as usize
            }
        }

        /// `(name, kind)` of every column, in [`Col`] order.
        pub(crate) const COLUMNS: &[(&str, Kind)] =
            &[(stringify!($first), Kind::$first_kind) $(, (stringify!($name), Kind::$kind))*];

        /// The select list: every column, in [`Col`] order.
        pub(crate) const POSITION_COLUMNS: &str =
            concat!(stringify!($first) $(, ", ", stringify!($name))*);

        /// Insert a position: one unnumbered parameter per column, in [`Col`] order.
        pub(crate) const INSERT_POSITION: &str = concat!(
            "INSERT INTO positions (", stringify!($first) $(, ", ", stringify!($name))*,
            ") VALUES (?" $(, position_columns!(@param $name))*, ")"
        );
    };
    (@param $name:ident) => { ", ?" };
}

position_columns!(
    id: Int,
    order_id: Int,
    symbol: Text,
    side: Text,
    qty: Decimal,
    opened_qty: Decimal,
    entry_price: Decimal,
    tp_price: Decimal,
    sl_price: Decimal,
    status: Text,
    created_at: Time,
    closed_at: Time,
    close_price: Decimal,
    pnl: Decimal,
    auto_close_reason: Text,
    exchange: Text,
    market_type: Text,
    account_label: Text,
    external_order_id: Text,
    external_position_ref: Text,
    exit_strategy: Text,
    dynamic_tp_price: Decimal,
    dynamic_sl_price: Decimal,
    max_favorable_move: Decimal,
    exit_meta: Json,
    signal_id: Text,
    strategy: Text,
    timeframe_min: Int,
    fees: Decimal,
    realized_pnl: Decimal,
    signal_price: Decimal,
    signal_time: Time,
    paper_entry_price: Decimal,
    closes: Closes,
);

/// A value bound to a statement without an allocation of its own.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    /// NULL.
    Null,
    /// INTEGER.
    Int(i64),
    /// TEXT borrowed from the position.
    Str(&'a str),
    /// A decimal or a time as stored.
    Text(Text),
}

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Param::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Param::Str(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Text(t) => return t.to_sql(),
        })
    }
}

fn d(v: Decimal) -> Param<'static> {
    Param::Text(dec(v))
}

fn od(v: Option<Decimal>) -> Param<'static> {
    v.map_or(Param::Null, d)
}

fn ot(v: Option<Timestamp>) -> Param<'static> {
    v.map_or(Param::Null, |t| Param::Text(ts(t)))
}

fn os(v: Option<&str>) -> Param<'_> {
    v.map_or(Param::Null, Param::Str)
}

/// The value of column `c` of a new position `p`, whose `exit_meta` and `closes` are
/// given as stored (JSON text). The row id is left to SQLite.
pub(crate) fn param<'a>(p: &'a Position, exit_meta: &'a str, closes: &'a str, c: Col) -> Param<'a> {
    match c {
        Col::id => Param::Null,
        _ => value(p, exit_meta, closes, c),
    }
}

/// The value of column `c` of `p`, whose `exit_meta` and `closes` are given as stored
/// (JSON text).
pub(crate) fn value<'a>(p: &'a Position, exit_meta: &'a str, closes: &'a str, c: Col) -> Param<'a> {
    match c {
        Col::id => Param::Int(p.id),
        Col::order_id => p.order_id.map_or(Param::Null, Param::Int),
        Col::symbol => Param::Str(&p.symbol),
        Col::side => Param::Str(p.side.as_str()),
        Col::qty => d(p.qty),
        Col::opened_qty => d(p.opened_qty),
        Col::entry_price => d(p.entry_price),
        Col::tp_price => od(p.tp_price),
        Col::sl_price => od(p.sl_price),
        Col::status => Param::Str(p.status.as_str()),
        Col::created_at => Param::Text(ts(p.created_at)),
        Col::closed_at => ot(p.closed_at),
        Col::close_price => od(p.close_price),
        Col::pnl => od(p.pnl),
        Col::auto_close_reason => os(p.auto_close_reason.map(|r| r.as_str())),
        Col::exchange => Param::Str(&p.exchange),
        Col::market_type => Param::Str(&p.market_type),
        Col::account_label => os(p.account_label.as_deref()),
        Col::external_order_id => os(p.external_order_id.as_deref()),
        Col::external_position_ref => os(p.external_position_ref.as_deref()),
        Col::exit_strategy => Param::Str(&p.exit_strategy),
        Col::dynamic_tp_price => od(p.dynamic_tp_price),
        Col::dynamic_sl_price => od(p.dynamic_sl_price),
        Col::max_favorable_move => od(p.max_favorable_move),
        Col::exit_meta => Param::Str(exit_meta),
        Col::signal_id => os(p.signal_id.as_deref()),
        Col::strategy => os(p.strategy.as_deref()),
        Col::timeframe_min => p
            .timeframe_min
            .map_or(Param::Null, |m| Param::Int(m.into())),
        Col::fees => d(p.fees),
        Col::realized_pnl => d(p.realized_pnl),
        Col::signal_price => od(p.signal_price),
        Col::signal_time => ot(p.signal_time),
        Col::paper_entry_price => od(p.paper_entry_price),
        Col::closes => Param::Str(closes),
    }
}

/// The policy state of `p` as stored (`positions.exit_meta`).
pub(crate) fn exit_meta_json(p: &Position) -> Result<String> {
    serde_json::to_string(&p.exit_meta).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// The closed pieces of `p` as stored (`positions.closes`).
pub(crate) fn closes_json(p: &Position) -> Cow<'static, str> {
    if p.closes.is_empty() {
        Cow::Borrowed("[]")
    } else {
        let pieces: Vec<String> = p.closes.iter().map(closes::to_json).collect();
        Cow::Owned(format!("[{}]", pieces.join(",")))
    }
}

/// What storing a close writes besides `status = 'closed'` and the piece it appends
/// ([`crate::Tx::close_position`]), bound as `?2`, `?3`… in this order.
pub(crate) const CLOSE_SETS: &[Col] = &[
    Col::close_price,
    Col::pnl,
    Col::fees,
    Col::closed_at,
    Col::auto_close_reason,
    Col::qty,
    Col::dynamic_tp_price,
    Col::dynamic_sl_price,
    Col::max_favorable_move,
    Col::exit_meta,
    Col::realized_pnl,
];

/// What a policy or a partial close changes on an open position, besides the piece a
/// partial close appends ([`crate::Tx::update_open_position`]), bound as `?2`, `?3`…
/// in this order. The writer's in-memory copy of an open position takes the same
/// fields (`OpenPosition::update` in loms-oms).
pub(crate) const OPEN_SETS: &[Col] = &[
    Col::qty,
    Col::dynamic_tp_price,
    Col::dynamic_sl_price,
    Col::max_favorable_move,
    Col::exit_meta,
    Col::realized_pnl,
    Col::fees,
];

/// What an entry's fills set on a position opened before its order filled (live): the
/// real price, size, fees and time.
pub(crate) const ENTRY_SETS: &[Col] = &[
    Col::entry_price,
    Col::qty,
    Col::opened_qty,
    Col::fees,
    Col::created_at,
    Col::external_order_id,
];

/// What only a position's row holds (the writer does not keep it in memory), read back
/// for an answer that shows the position whole ([`crate::Tx::read_references`]).
pub(crate) const REFERENCES: &[Col] = &[
    Col::order_id,
    Col::exchange,
    Col::market_type,
    Col::account_label,
    Col::external_order_id,
    Col::external_position_ref,
    Col::signal_id,
    Col::strategy,
    Col::timeframe_min,
    Col::signal_price,
    Col::signal_time,
    Col::paper_entry_price,
    Col::opened_qty,
    Col::closes,
];

/// `a = ?2, b = ?3, …` for `cols` (parameter 1 is the row id).
fn assignments(cols: &[Col]) -> String {
    let set: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ?{}", c.name(), i + 2))
        .collect();
    set.join(", ")
}

/// Store a close: [`CLOSE_SETS`], then the piece as the last parameter.
pub(crate) static CLOSE_POSITION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE positions SET status = 'closed', {}, closes = json_insert(closes, '$[#]', json(?{piece}))
         WHERE id = ?1 AND status = 'open'",
        assignments(CLOSE_SETS),
        piece = CLOSE_SETS.len() + 2,
    )
});

/// Store what changed on an open position: [`OPEN_SETS`], then the piece of a partial
/// close (NULL: none) as the last parameter.
pub(crate) static UPDATE_OPEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE positions SET {},
           closes = CASE WHEN ?{piece} IS NULL THEN closes ELSE json_insert(closes, '$[#]', json(?{piece})) END
         WHERE id = ?1 AND status = 'open'",
        assignments(OPEN_SETS),
        piece = OPEN_SETS.len() + 2,
    )
});

/// Store an entry's fills: [`ENTRY_SETS`] of the open position `?1`.
pub(crate) static ENTRY_FILLED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE positions SET {} WHERE id = ?1 AND status = 'open'",
        assignments(ENTRY_SETS),
    )
});

/// Read the [`REFERENCES`] of the position `?1`, in that order.
pub(crate) static READ_REFERENCES: LazyLock<String> = LazyLock::new(|| {
    let names: Vec<&str> = REFERENCES.iter().map(|c| c.name()).collect();
    format!("SELECT {} FROM positions WHERE id = ?1", names.join(", "))
});

/// Where `c` is in `cols` (the columns of a select); past the end when it is not
/// there, which the read then refuses as an invalid column index.
pub(crate) fn index_in(cols: &[Col], c: Col) -> usize {
    cols.iter().position(|x| *x == c).unwrap_or(cols.len())
}

impl Col {
    /// The column's name.
    pub(crate) const fn name(self) -> &'static str {
        COLUMNS[self.at()].0
    }
}

/// A column of `positions`, found by its name: for tools that show chosen columns of a
/// position (`loms-ctl export`), with the values the database stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionColumn(Col);

impl PositionColumn {
    /// The column named `name`; `None` when `positions` has no such column.
    pub fn named(name: &str) -> Option<Self> {
        Col::ALL.iter().find(|c| c.name() == name).map(|c| Self(*c))
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The value `p` has in this column, as the database stores it: a decimal's exact
    /// digits, a time as RFC 3339 UTC with microseconds, JSON as text; `None` for NULL.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] when the policy state cannot be written as JSON.
    pub fn text(self, p: &Position) -> Result<Option<String>> {
        let meta = if self.0 == Col::exit_meta {
            exit_meta_json(p)?
        } else {
            String::new()
        };
        let closes = if self.0 == Col::closes {
            closes_json(p)
        } else {
            Cow::Borrowed("")
        };
        Ok(match value(p, &meta, &closes, self.0) {
            Param::Null => None,
            Param::Int(n) => Some(n.to_string()),
            Param::Str(s) => Some(s.to_string()),
            Param::Text(t) => Some(t.as_str().to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_agree() {
        assert_eq!(Col::ALL.len(), COLUMNS.len());
        for (i, c) in Col::ALL.iter().enumerate() {
            assert_eq!(c.at(), i);
            assert_eq!(format!("{c:?}"), COLUMNS[i].0);
        }
        let names: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
        assert_eq!(POSITION_COLUMNS, names.join(", "));
        assert_eq!(
            INSERT_POSITION.matches('?').count(),
            COLUMNS.len(),
            "{INSERT_POSITION}"
        );
    }

    #[test]
    fn the_updates_bind_one_parameter_per_column_then_the_piece() {
        for (sql, cols) in [(&*CLOSE_POSITION, CLOSE_SETS), (&*UPDATE_OPEN, OPEN_SETS)] {
            for (i, c) in cols.iter().enumerate() {
                assert!(
                    sql.contains(&format!(" {} = ?{},", c.name(), i + 2)),
                    "{sql}"
                );
            }
            assert!(
                sql.contains(&format!("json(?{}))", cols.len() + 2)),
                "{sql}"
            );
            assert!(!sql.contains(&format!("?{}", cols.len() + 3)), "{sql}");
        }
        assert!(!OPEN_SETS.contains(&Col::status) && !CLOSE_SETS.contains(&Col::status));
        assert_eq!(index_in(REFERENCES, Col::closes), REFERENCES.len() - 1);
        assert_eq!(index_in(REFERENCES, Col::pnl), REFERENCES.len());
    }

    #[test]
    fn a_column_by_name_shows_the_value_as_stored() {
        let t: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let mut p = Position::open(
            "BTCUSDT",
            loms_domain::Side::Long,
            Decimal::new(15, 1),
            Decimal::new(100, 0),
            t,
        );
        p.id = 7;
        let text = |name: &str| PositionColumn::named(name).unwrap().text(&p).unwrap();
        assert_eq!(text("id").as_deref(), Some("7"));
        assert_eq!(text("qty").as_deref(), Some("1.5"));
        assert_eq!(
            text("created_at").as_deref(),
            Some("2026-11-25T10:00:00.000000Z")
        );
        assert_eq!(text("tp_price"), None);
        assert_eq!(text("exit_meta").as_deref(), Some("{}"));
        assert_eq!(text("closes").as_deref(), Some("[]"));
        assert!(PositionColumn::named("no_such_column").is_none());
        assert_eq!(PositionColumn::named("pnl").unwrap().name(), "pnl");
    }
}
