//! The equity curve: cumulative PnL of the closed trades, as a terminal sparkline.

use chrono::{DateTime, NaiveDateTime, Utc};
use loms_client::{Client, Method, show};
use serde_json::Value;
use std::collections::HashSet;

/// The sparkline's levels, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// At most this many characters in the sparkline.
pub(crate) const MAX_WIDTH: usize = 60;

/// A time as the server reads it: RFC 3339, or a naive ISO time taken as UTC.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
        .map(|t| t.and_utc())
}

/// The closed trades' cumulative PnL, oldest close first.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Cumulative PnL after each trade.
    pub points: Vec<f64>,
}

impl Curve {
    /// The curve of `(closed_at, pnl)` pairs closed in `[since, until)`, sorted by time.
    pub fn from_trades(
        mut trades: Vec<(DateTime<Utc>, f64)>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Self {
        trades.retain(|(t, _)| since.is_none_or(|s| *t >= s) && until.is_none_or(|u| *t < u));
        trades.sort_by_key(|(t, _)| *t);
        let points = trades
            .iter()
            .scan(0.0, |sum, (_, pnl)| {
                *sum += pnl;
                Some(*sum)
            })
            .collect();
        Self { points }
    }

    /// Lowest and highest point.
    pub fn range(&self) -> Option<(f64, f64)> {
        let min = self.points.iter().copied().reduce(f64::min)?;
        let max = self.points.iter().copied().reduce(f64::max)?;
        Some((min, max))
    }

    /// The snapshot row: sparkline, min, max, number of trades.
    pub fn row(&self) -> String {
        match self.range() {
            None => "- (no closed trades)".to_owned(),
            Some((min, max)) => format!(
                "{}  min {min:.4}  max {max:.4}  ({} trades)",
                sparkline(&self.points, MAX_WIDTH),
                self.points.len()
            ),
        }
    }
}

/// At most `width` points: the series split in `width` equal runs, each kept by its last
/// point (the equity at the end of the run); shorter series are kept whole.
pub(crate) fn resample(series: &[f64], width: usize) -> Vec<f64> {
    let n = series.len();
    if n <= width {
        return series.to_vec();
    }
    (1..=width).map(|i| series[i * n / width - 1]).collect()
}

/// The series as `▁▂▃▄▅▆▇█`, at most `width` characters, scaled between its own min and
/// max; a flat series is drawn at mid height.
pub fn sparkline(series: &[f64], width: usize) -> String {
    let points = resample(series, width);
    let min = points.iter().copied().fold(f64::INFINITY, f64::min);
    let max = points.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = max - min;
    points
        .iter()
        .map(|v| {
            if span > 0.0 && span.is_finite() {
                let level = ((v - min) / span * 7.0).round() as usize;
                BARS[level.min(7)]
            } else {
                BARS[3]
            }
        })
        .collect()
}

/// Positions asked per page: a page stays well under the HTTP client's 10 MB body limit.
pub(crate) const PAGE: usize = 5000;

/// At most this many pages (a million trades).
const MAX_PAGES: usize = 200;

/// GET `/positions/?status=closed` (with the symbol filter), page by page, and build the
/// curve of the trades closed in `[since, until)`; the error says why there is none.
pub(crate) fn fetch(
    client: &Client,
    symbol: Option<&str>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<Curve, String> {
    let endpoint = format!("{}/positions/", client.base());
    let limit = PAGE.to_string();
    let mut trades = Vec::new();
    // A trade closing while we page shifts the list: count each id once.
    let mut seen = HashSet::new();
    for page in 0..MAX_PAGES {
        let offset = (page * PAGE).to_string();
        let mut query = vec![("status", "closed")];
        query.extend(symbol.map(|s| ("symbol", s)));
        query.push(("limit", &limit));
        if page > 0 {
            query.push(("offset", &offset));
        }
        let answer = client
            .fetch(Method::Get, "/positions/", &query, None)
            .map_err(|e| format!("GET {endpoint} failed: {}", show::reason(&e)))?;
        if !(200..300).contains(&answer.status) {
            return Err(format!(
                "GET {endpoint} answered HTTP {}: {}",
                answer.status,
                show::snippet(&answer.body)
            ));
        }
        let list = show::parse_json(&endpoint, &answer)?;
        let list = list
            .as_array()
            .ok_or_else(|| format!("the answer of {endpoint} is not a list of positions"))?;
        for p in list {
            if p.get("id").is_some_and(|id| !seen.insert(id.to_string())) {
                continue;
            }
            let at = p
                .get("closed_at")
                .and_then(Value::as_str)
                .and_then(parse_time);
            let pnl = p.get("pnl").and_then(show::as_f64);
            if let (Some(at), Some(pnl)) = (at, pnl) {
                trades.push((at, pnl));
            }
        }
        if list.len() < PAGE {
            break;
        }
    }
    Ok(Curve::from_trades(trades, since, until))
}

/// A bound from the server's `filters` echo, else from the command line.
pub(crate) fn bound(stats: &Value, key: &str, asked: Option<&str>) -> Option<DateTime<Utc>> {
    let echoed = stats
        .get("filters")
        .and_then(|f| f.get(key))
        .and_then(Value::as_str);
    echoed.or(asked).and_then(parse_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_between_min_and_max() {
        // Cumulative 1, 3, -1, 2, 7, 6, 8: span 9, level = round((v + 1) / 9 · 7).
        let s = [1.0, 3.0, -1.0, 2.0, 7.0, 6.0, 8.0];
        assert_eq!(sparkline(&s, 60), "▃▄▁▃▇▆█");
        assert_eq!(sparkline(&[2.0, 2.0], 60), "▄▄");
        assert_eq!(sparkline(&[], 60), "");
    }

    #[test]
    fn long_series_are_resampled_to_the_width() {
        let s: Vec<f64> = (1..=120).map(f64::from).collect();
        let r = resample(&s, 60);
        assert_eq!(r.len(), 60);
        assert_eq!((r[0], r[59]), (2.0, 120.0));
        let line = sparkline(&s, 60);
        assert_eq!(line.chars().count(), 60);
        assert!(line.starts_with('▁') && line.ends_with('█'), "{line}");
        // 61 points: every run is one point except the last (two), so the end is kept.
        let s: Vec<f64> = (0..61).map(f64::from).collect();
        let r = resample(&s, 60);
        assert_eq!((r.len(), r[0], r[58], r[59]), (60, 0.0, 58.0, 60.0));
    }

    #[test]
    fn times_as_the_server_reads_them() {
        let t = parse_time("2025-12-01T02:00:00+02:00").unwrap();
        assert_eq!(t, parse_time("2025-12-01T00:00:00Z").unwrap());
        assert_eq!(t, parse_time("2025-12-01 00:00:00").unwrap());
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn curve_filters_sorts_and_accumulates() {
        let t = |s: &str| parse_time(s).unwrap();
        let trades = vec![
            (t("2025-12-01T12:00:00Z"), -4.0),
            (t("2025-12-01T10:00:00Z"), 1.0),
            (t("2025-12-02T00:00:00Z"), 100.0),
            (t("2025-12-01T11:00:00Z"), 2.0),
            (t("2025-11-30T23:59:59Z"), 50.0),
        ];
        let c = Curve::from_trades(
            trades,
            Some(t("2025-12-01T00:00:00Z")),
            Some(t("2025-12-02T00:00:00Z")),
        );
        assert_eq!(c.points, [1.0, 3.0, -1.0]);
        assert_eq!(c.range(), Some((-1.0, 3.0)));
        assert_eq!(c.row(), "▅█▁  min -1.0000  max 3.0000  (3 trades)");
        assert_eq!(
            Curve::from_trades(vec![], None, None).row(),
            "- (no closed trades)"
        );
    }
}
