//! Klines from files, as the exchanges' APIs return them or as CSV, and a
//! [`ReplayPriceSource`] that answers with the bar in force at the clock's time.

use crate::{PriceError, PriceSource, QuoteBatch};
use loms_domain::{Clock, Decimal, PriceQuote, Timestamp};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// One bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kline {
    /// Start of the bar.
    pub start: Timestamp,
    /// First price.
    pub open: Decimal,
    /// Highest price.
    pub high: Decimal,
    /// Lowest price.
    pub low: Decimal,
    /// Last price.
    pub close: Decimal,
}

/// The bars of one symbol, oldest first, and their interval.
#[derive(Debug, Clone, PartialEq)]
pub struct KlineSeries {
    /// Instrument.
    pub symbol: String,
    /// Spacing of the bars (the smallest gap seen; one minute for a single bar).
    pub interval: chrono::Duration,
    /// Bars sorted by start, no duplicates.
    pub bars: Vec<Kline>,
}

/// A kline file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {detail}")]
pub struct KlineError {
    /// File.
    pub path: String,
    /// What is wrong (with the line or row when known).
    pub detail: String,
}

impl KlineSeries {
    /// Read a file: Bybit v5 kline JSON (`result.list`, newest first), Bitget v2 candle
    /// JSON (`data`, rows of 7 or 8 strings), or CSV `ts,open,high,low,close[,volume]`
    /// (ts in ms or s, or RFC 3339; a header line is skipped). The symbol is the
    /// Bybit `result.symbol`, else `symbol`, else the file name up to the first `_`,
    /// `-` or `.` (e.g. `BTCUSDT_1m.csv`).
    ///
    /// # Errors
    /// [`KlineError`] naming the file and the bad row.
    pub fn from_file(path: &Path, symbol: Option<&str>) -> Result<Self, KlineError> {
        let err = |detail: String| KlineError {
            path: path.display().to_string(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let stem = path
            .file_name()
            .and_then(|s| s.to_str())
            .and_then(|s| s.split(['_', '-', '.']).next())
            .unwrap_or_default()
            .to_ascii_uppercase();
        let (found, bars) = if text.trim_start().starts_with('{') {
            parse_json(&text).map_err(err)?
        } else {
            (None, parse_csv(&text).map_err(err)?)
        };
        let symbol = symbol
            .map(str::to_ascii_uppercase)
            .or(found)
            .unwrap_or(stem);
        if symbol.is_empty() {
            return Err(err(
                "cannot tell the symbol: name the file SYMBOL_... or pass it".into(),
            ));
        }
        Self::new(symbol, bars).map_err(err)
    }

    /// Sort, drop duplicate starts, check prices, infer the interval.
    ///
    /// # Errors
    /// A message when there is no bar or a bar is inconsistent (low > high, price ≤ 0).
    pub fn new(symbol: String, mut bars: Vec<Kline>) -> Result<Self, String> {
        if bars.is_empty() {
            return Err("no bars".into());
        }
        bars.sort_by_key(|b| b.start);
        bars.dedup_by_key(|b| b.start);
        for b in &bars {
            let ok = b.low > Decimal::ZERO
                && b.low <= b.high
                && (b.low..=b.high).contains(&b.open)
                && (b.low..=b.high).contains(&b.close);
            if !ok {
                return Err(format!(
                    "bar at {} is inconsistent (open/high/low/close)",
                    b.start
                ));
            }
        }
        let interval = bars
            .windows(2)
            .map(|w| w[1].start - w[0].start)
            .min()
            .unwrap_or_else(|| chrono::Duration::minutes(1));
        Ok(Self {
            symbol,
            interval,
            bars,
        })
    }

    /// The bar whose span contains `t`, if any.
    pub fn bar_at(&self, t: Timestamp) -> Option<&Kline> {
        let i = self.bars.partition_point(|b| b.start <= t);
        let b = self.bars.get(i.checked_sub(1)?)?;
        (t < b.start + self.interval).then_some(b)
    }
}

fn dec(v: &Value) -> Result<Decimal, String> {
    match v {
        Value::String(s) => Decimal::from_str(s.trim()).map_err(|_| format!("not a number: {s:?}")),
        Value::Number(n) => {
            Decimal::from_str(&n.to_string()).map_err(|_| format!("not a number: {n}"))
        }
        _ => Err(format!("not a number: {v}")),
    }
}

fn millis(v: &Value) -> Result<Timestamp, String> {
    let ms = match v {
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("bad time {s:?}"))?,
        Value::Number(n) => n.as_i64().ok_or_else(|| format!("bad time {n}"))?,
        _ => return Err(format!("bad time {v}")),
    };
    chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| format!("bad time {ms}"))
}

fn row(r: &Value, i: usize) -> Result<Kline, String> {
    let a = r
        .as_array()
        .filter(|a| a.len() >= 5)
        .ok_or_else(|| format!("row {i}: expected [ts, open, high, low, close, ...]"))?;
    let at = |e: String| format!("row {i}: {e}");
    Ok(Kline {
        start: millis(&a[0]).map_err(at)?,
        open: dec(&a[1]).map_err(at)?,
        high: dec(&a[2]).map_err(at)?,
        low: dec(&a[3]).map_err(at)?,
        close: dec(&a[4]).map_err(at)?,
    })
}

pub(crate) fn parse_json(text: &str) -> Result<(Option<String>, Vec<Kline>), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    // Bybit: {"retCode":0,"result":{"symbol":..,"list":[[...]]}}; Bitget: {"code":"00000","data":[[...]]}
    if let Some(code) = v.get("retCode").and_then(Value::as_i64).filter(|c| *c != 0) {
        return Err(format!("Bybit error envelope (retCode {code})"));
    }
    if let Some(code) = v
        .get("code")
        .and_then(Value::as_str)
        .filter(|c| *c != "00000")
    {
        return Err(format!("Bitget error envelope (code {code})"));
    }
    let (symbol, list) = match (v.get("result"), v.get("data")) {
        (Some(r), _) => (r.get("symbol").and_then(Value::as_str), r.get("list")),
        (None, Some(d)) => (v.get("symbol").and_then(Value::as_str), Some(d)),
        _ => return Err("neither a Bybit (result.list) nor a Bitget (data) kline answer".into()),
    };
    let rows = list
        .and_then(Value::as_array)
        .ok_or("the kline list is missing")?;
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, r)| row(r, i))
        .collect::<Result<_, _>>()?;
    Ok((symbol.map(str::to_ascii_uppercase), bars))
}

fn parse_csv(text: &str) -> Result<Vec<Kline>, String> {
    let mut bars = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("bad CSV: {e}"))?;
        let f: Vec<&str> = record.iter().collect();
        if i == 0
            && f.first().is_some_and(|x| {
                x.chars().any(|c| c.is_ascii_alphabetic())
                    && x.parse::<i64>().is_err()
                    && chrono::DateTime::parse_from_rfc3339(x).is_err()
            })
        {
            continue; // header
        }
        let n = record.position().map_or(0, csv::Position::line);
        let at = |e: String| format!("line {n}: {e}");
        if f.len() < 5 {
            return Err(at("expected ts,open,high,low,close[,volume]".into()));
        }
        let start = match f[0].parse::<i64>() {
            Ok(x) if x.abs() > 100_000_000_000 => chrono::DateTime::from_timestamp_millis(x),
            Ok(x) => chrono::DateTime::from_timestamp(x, 0),
            Err(_) => chrono::DateTime::parse_from_rfc3339(f[0])
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc)),
        }
        .ok_or_else(|| at(format!("bad time {:?}", f[0])))?;
        let d = |s: &str| Decimal::from_str(s).map_err(|_| at(format!("not a number: {s:?}")));
        bars.push(Kline {
            start,
            open: d(f[1])?,
            high: d(f[2])?,
            low: d(f[3])?,
            close: d(f[4])?,
        });
    }
    Ok(bars)
}

/// Prices from klines at the clock's time: the close of the bar in force, as a flat
/// quote. Used to replay the pipeline offline (PRICE_SOURCE=replay).
#[derive(Debug)]
pub struct ReplayPriceSource {
    series: BTreeMap<String, KlineSeries>,
    clock: Arc<dyn Clock>,
}

impl ReplayPriceSource {
    /// Serve `series` at the time `clock` says.
    pub fn new(series: impl IntoIterator<Item = KlineSeries>, clock: Arc<dyn Clock>) -> Self {
        Self {
            series: series.into_iter().map(|s| (s.symbol.clone(), s)).collect(),
            clock,
        }
    }
}

impl PriceSource for ReplayPriceSource {
    fn name(&self) -> &'static str {
        "replay"
    }

    fn quotes_entries(&self) -> bool {
        false
    }

    fn quotes(&self, symbols: &[String]) -> QuoteBatch {
        let now = self.clock.now();
        symbols
            .iter()
            .map(|s| {
                let q = match self.series.get(s) {
                    None => Err(PriceError::UnknownSymbol {
                        source_name: "replay",
                        symbol: s.clone(),
                    }),
                    Some(series) => series
                        .bar_at(now)
                        .map(|b| PriceQuote::flat(s.clone(), b.close, now))
                        .ok_or_else(|| PriceError::Unavailable {
                            source_name: "replay",
                            detail: format!("no {s} bar at {now}"),
                        }),
                };
                (s.clone(), q)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loms_domain::ManualClock;
    use rust_decimal::dec;

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_bybit_bitget_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let bybit = file(
            &dir,
            "x.json",
            r#"{"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSDT","category":"linear","list":[
 ["1718341200000","64210.5","64250.0","64190.1","64233.7","123.456","7929541.88"],
 ["1718340900000","64180.0","64215.2","64170.3","64210.5","98.102","6298934.10"]]},"retExtInfo":{},"time":1718341234567}"#,
        );
        let s = KlineSeries::from_file(&bybit, None).unwrap();
        assert_eq!(s.symbol, "BTCUSDT");
        assert_eq!(s.interval, chrono::Duration::minutes(5));
        assert_eq!(s.bars[0].open, dec!(64180.0), "sorted oldest first");
        let bitget = file(
            &dir,
            "ETHUSDT_5m.json",
            r#"{"code":"00000","msg":"success","requestTime":1718341234000,"data":[
 ["1718340900000","3180.0","3215.2","3170.3","3210.5","98.102","6298934.10","6298934.10"]]}"#,
        );
        let s = KlineSeries::from_file(&bitget, None).unwrap();
        assert_eq!(
            (s.symbol.as_str(), s.bars[0].close),
            ("ETHUSDT", dec!(3210.5))
        );
        let csv = file(
            &dir,
            "SOLUSDT_1m.csv",
            "ts,open,high,low,close,volume\n1718340000000,100,101,99,100.5,5\n1718340060000,100.5,102,100,101,7\n",
        );
        let s = KlineSeries::from_file(&csv, None).unwrap();
        assert_eq!(
            (s.bars.len(), s.interval),
            (2, chrono::Duration::minutes(1))
        );
        let quoted = file(
            &dir,
            "SOLUSDT_1m_quoted.csv",
            "# exported\n\"ts\",\"open\",\"high\",\"low\",\"close\"\n\"1718340000000\",\"100\",\"101\",\"99\",\"100.5\"\n",
        );
        let q = KlineSeries::from_file(&quoted, Some("SOLUSDT")).unwrap();
        assert_eq!((q.bars.len(), q.bars[0].close), (1, dec!(100.5)));
        let t = s.bars[0].start + chrono::Duration::seconds(30);
        assert_eq!(s.bar_at(t).unwrap().close, dec!(100.5));
        assert!(
            s.bar_at(s.bars[1].start + chrono::Duration::minutes(1))
                .is_none()
        );
    }

    #[test]
    fn bad_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text, want) in [
            ("A_1.csv", "1718340000000,100,101,99\n", "line 1"),
            ("B_1.csv", "1718340000000,100,99,101,100\n", "inconsistent"),
            ("C_1.csv", "", "no bars"),
            (
                "D.json",
                r#"{"retCode":10001,"retMsg":"params error","result":{}}"#,
                "retCode 10001",
            ),
            (
                "E.json",
                r#"{"code":"00000","data":[["x","1","1","1","1"]]}"#,
                "row 0",
            ),
        ] {
            let e = KlineSeries::from_file(&file(&dir, name, text), None)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{name}: {e}");
        }
    }

    #[test]
    fn replay_source_answers_the_bar_in_force() {
        let s = KlineSeries::new(
            "BTCUSDT".into(),
            vec![Kline {
                start: chrono::DateTime::UNIX_EPOCH,
                open: dec!(1),
                high: dec!(3),
                low: dec!(1),
                close: dec!(2),
            }],
        )
        .unwrap();
        let clock = Arc::new(ManualClock::new(
            chrono::DateTime::UNIX_EPOCH + chrono::Duration::seconds(59),
        ));
        let src = ReplayPriceSource::new([s], clock.clone());
        let q = src.quotes(&["BTCUSDT".into(), "ETHUSDT".into()]);
        assert_eq!(q["BTCUSDT"].as_ref().unwrap().last, Some(dec!(2)));
        assert!(q["ETHUSDT"].is_err());
        clock.advance(chrono::Duration::seconds(1));
        assert!(src.quotes(&["BTCUSDT".into()])["BTCUSDT"].is_err());
    }
}
