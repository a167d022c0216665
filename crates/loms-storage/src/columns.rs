//! The columns of `positions`, defined once. The reads select them in this order
//! ([`POSITION_COLUMNS`], decoded by index through [`Col`]), the JSON of a position
//! shows them in this order under their own names ([`COLUMNS`], the order of
//! `Position`'s fields), and a new position is inserted with every one of them
//! ([`INSERT_POSITION`], bound by [`param`], whose `match` names every column).

use crate::codec::{Text, dec, ts};
use loms_domain::{Decimal, Position, Timestamp};
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};

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
        Col::closes => Param::Str(closes),
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
}
