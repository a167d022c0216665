//! The bot's signal, parsed once into proven-valid types ("parse, don't validate").

use crate::clock::to_micros;
use crate::{Decimal, DomainError, Side, Timestamp};
use chrono::{DateTime, Datelike, NaiveDateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Map, Value};
use std::str::FromStr;

/// Largest price or quantity accepted from input; keeps every product far from overflow.
const MAX_AMOUNT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0); // 1e12

/// Earliest signal `timestamp` accepted: 2009-01-01T00:00:00Z (Unix seconds).
pub const EARLIEST_SIGNAL_UNIX_SEC: i64 = 1_230_768_000;

/// How far ahead of the server clock a signal `timestamp` may be and still be accepted
/// (and stored, then refused by MAX_SIGNAL_AGE_SEC's 5 s skew when that limit is set).
pub const MAX_SIGNAL_LEAD_SEC: i64 = 300;

/// Longest `symbol`, in characters.
pub const MAX_SYMBOL_CHARS: usize = 40;
/// Longest `exchange`, in characters.
pub const MAX_EXCHANGE_CHARS: usize = 32;
/// Longest `strategy` and `exit_strategy`, in characters.
pub const MAX_STRATEGY_CHARS: usize = 64;
/// Longest `signal_id` (and `Idempotency-Key` header), in characters.
pub const MAX_SIGNAL_ID_CHARS: usize = 128;

/// Values used when the signal omits optional fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalDefaults {
    /// Default `exchange` ("bitget").
    pub exchange: String,
    /// Default `timeframe_min` (5).
    pub timeframe_min: u32,
    /// Default `strategy` ("bounce_ema10_strict").
    pub strategy: String,
    /// Default take-profit percent (setting TP_PCT).
    pub tp_pct: Decimal,
    /// Default stop-loss percent (setting SL_PCT).
    pub sl_pct: Decimal,
}

impl Default for SignalDefaults {
    fn default() -> Self {
        Self {
            exchange: "bitget".into(),
            timeframe_min: 5,
            strategy: "bounce_ema10_strict".into(),
            tp_pct: Decimal::new(45, 1),
            sl_pct: Decimal::new(15, 1),
        }
    }
}

/// A validated signal. Only [`Signal::from_json`] builds one.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Instrument, trimmed and upper-cased.
    pub symbol: String,
    /// Long or short.
    pub side: Side,
    /// Price the signal fired at (> 0).
    pub price: Decimal,
    /// Time the signal fired at.
    pub timestamp: Timestamp,
    /// Exchange, lower case.
    pub exchange: String,
    /// Candle timeframe, minutes.
    pub timeframe_min: u32,
    /// Strategy name.
    pub strategy: String,
    /// Take-profit distance, percent (0 < tp_pct < 100).
    pub tp_pct: Decimal,
    /// Stop-loss distance, percent (0 < sl_pct < 100).
    pub sl_pct: Decimal,
    /// Idempotency key sent by the client, if any.
    pub signal_id: Option<String>,
    /// Quantity asked for; the OMS sizes the position when absent.
    pub qty: Option<Decimal>,
    /// Exit policy asked for; the OMS default when absent.
    pub exit_strategy: Option<String>,
}

impl Signal {
    /// Parse and validate the bot's JSON object. Unknown fields are ignored. `now` is
    /// the server clock: `timestamp` may be at most [`MAX_SIGNAL_LEAD_SEC`] after it.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the first bad or missing field.
    pub fn from_json(
        v: &Value,
        defaults: &SignalDefaults,
        now: Timestamp,
    ) -> Result<Signal, DomainError> {
        let obj = v
            .as_object()
            .ok_or_else(|| DomainError::invalid("signal must be a JSON object"))?;
        let symbol = parse_symbol(required_str(obj, "symbol")?)?;
        let side = Side::from_str(required_str(obj, "side")?)?;
        let price = positive_amount("price", required(obj, "price")?)?;
        let timestamp = signal_time("timestamp", required(obj, "timestamp")?, now)?;
        let exchange = optional_str(obj, "exchange", MAX_EXCHANGE_CHARS)?
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| defaults.exchange.clone());
        let strategy = optional_str(obj, "strategy", MAX_STRATEGY_CHARS)?
            .unwrap_or_else(|| defaults.strategy.clone());
        let timeframe_min = match present(obj, "timeframe_min") {
            None => defaults.timeframe_min,
            Some(v) => parse_timeframe(v)?,
        };
        let tp_pct = match present(obj, "tp_pct") {
            None => defaults.tp_pct,
            Some(v) => percent("tp_pct", v)?,
        };
        let sl_pct = match present(obj, "sl_pct") {
            None => defaults.sl_pct,
            Some(v) => percent("sl_pct", v)?,
        };
        let signal_id = match present(obj, "signal_id") {
            Some(Value::Number(n)) => Some(identifier(
                "signal_id",
                &n.to_string(),
                MAX_SIGNAL_ID_CHARS,
            )?),
            _ => optional_str(obj, "signal_id", MAX_SIGNAL_ID_CHARS)?,
        };
        let qty = present(obj, "qty")
            .map(|v| positive_amount("qty", v))
            .transpose()?;
        let exit_strategy = optional_str(obj, "exit_strategy", MAX_STRATEGY_CHARS)?;
        Ok(Signal {
            symbol,
            side,
            price,
            timestamp,
            exchange,
            timeframe_min,
            strategy,
            tp_pct,
            sl_pct,
            signal_id,
            qty,
            exit_strategy,
        })
    }

    /// Idempotency key for a signal that carries neither `signal_id` nor an
    /// `Idempotency-Key` header: a retried alert repeats exactly these fields.
    pub fn derived_key(&self) -> String {
        format!(
            "derived:{}|{}|{}|{}|{}",
            self.strategy,
            self.exchange,
            self.symbol,
            self.side,
            self.timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )
    }
}

/// Field present and not JSON null.
fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn required<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a Value, DomainError> {
    present(obj, key).ok_or_else(|| DomainError::invalid(format!("field {key} is required")))
}

fn required_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, DomainError> {
    required(obj, key)?
        .as_str()
        .ok_or_else(|| DomainError::invalid(format!("{key} must be a string")))
}

fn optional_str(
    obj: &Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => identifier(key, s, max).map(Some),
        Some(_) => Err(DomainError::invalid(format!("{key} must be a string"))),
    }
}

/// A name or key: trimmed, 1 to `max` characters (not bytes), no control characters
/// (they would end up in log lines).
///
/// # Errors
/// [`DomainError::Invalid`] naming `key` and the limit.
pub fn identifier(key: &str, s: &str, max: usize) -> Result<String, DomainError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max {
        return Err(DomainError::invalid(format!(
            "{key} must be 1 to {max} characters when given"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::invalid(format!(
            "{key} may not contain control characters"
        )));
    }
    Ok(s.to_string())
}

/// A decimal from a JSON number or numeric string; finite, any sign.
///
/// # Errors
/// [`DomainError::Invalid`] for anything else (`"abc"`, `"NaN"`, `"inf"`, out of range).
pub fn parse_decimal(key: &str, v: &Value) -> Result<Decimal, DomainError> {
    let bad = || DomainError::invalid(format!("{key} must be a finite number, got {v}"));
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return Err(bad()),
    };
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text).map_err(|_| bad())
    } else {
        Decimal::from_str(&text).map_err(|_| bad())
    }
}

/// A symbol: trimmed, upper-cased, 1 to 40 of letters, digits and `- _ / .`.
///
/// # Errors
/// [`DomainError::Invalid`] saying what is allowed.
pub fn parse_symbol(s: &str) -> Result<String, DomainError> {
    let symbol = s.trim().to_ascii_uppercase();
    if symbol.is_empty() || symbol.chars().count() > MAX_SYMBOL_CHARS {
        return Err(DomainError::invalid(
            "symbol must be 1 to 40 characters, e.g. \"BTCUSDT\"",
        ));
    }
    if !symbol
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
    {
        return Err(DomainError::invalid(format!(
            "symbol may only contain letters, digits and - _ / ., got {symbol:?}"
        )));
    }
    Ok(symbol)
}

/// A price or quantity: a decimal greater than 0 and at most 10^12.
///
/// # Errors
/// [`DomainError::Invalid`] naming `key`.
pub fn positive_amount(key: &str, v: &Value) -> Result<Decimal, DomainError> {
    let d = parse_decimal(key, v)?;
    if d <= Decimal::ZERO || d > MAX_AMOUNT {
        return Err(DomainError::invalid(format!(
            "{key} must be greater than 0 and at most 1e12, got {v}"
        )));
    }
    Ok(d.normalize())
}

fn percent(key: &str, v: &Value) -> Result<Decimal, DomainError> {
    let d = parse_decimal(key, v)?;
    if d <= Decimal::ZERO || d >= Decimal::ONE_HUNDRED {
        return Err(DomainError::invalid(format!(
            "{key} must be a percentage greater than 0 and less than 100, got {v}"
        )));
    }
    Ok(d.normalize())
}

fn parse_timeframe(v: &Value) -> Result<u32, DomainError> {
    let d = parse_decimal("timeframe_min", v)?;
    if d.fract().is_zero() && d >= Decimal::ONE && d <= Decimal::from(10_080) {
        return Ok(u32::try_from(d.mantissa() / 10i128.pow(d.scale())).unwrap_or(5));
    }
    Err(DomainError::invalid(format!(
        "timeframe_min must be a whole number of minutes from 1 to 10080, got {v}"
    )))
}

/// A time from RFC 3339 (`2025-12-01T10:05:00Z`), a naive ISO time taken as UTC,
/// or Unix seconds / milliseconds; cut to whole microseconds (what storage keeps), in
/// the years 0000 to 9999 (what storage and every reader of RFC 3339 round-trip).
///
/// # Errors
/// [`DomainError::Invalid`] for anything else.
pub fn parse_time(key: &str, v: &Value) -> Result<Timestamp, DomainError> {
    let bad = || {
        DomainError::invalid(format!(
            "{key} must be an RFC 3339 time like \"2025-12-01T10:05:00Z\" or Unix seconds/milliseconds, got {v}"
        ))
    };
    let t = match v {
        Value::String(s) => {
            let s = s.trim();
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                        .into_iter()
                        .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
                        .map(|t| Utc.from_utc_datetime(&t))
                })
                .ok_or_else(bad)?
        }
        Value::Number(n) => {
            let x = n.as_i64().ok_or_else(bad)?;
            let ms = if x.unsigned_abs() > 100_000_000_000 {
                x
            } else {
                x.checked_mul(1000).ok_or_else(bad)?
            };
            DateTime::from_timestamp_millis(ms).ok_or_else(bad)?
        }
        _ => return Err(bad()),
    };
    if !(0..=9999).contains(&t.year()) {
        return Err(DomainError::invalid(format!(
            "{key} must be in the years 0000 to 9999, got {v}"
        )));
    }
    Ok(to_micros(t))
}

/// A signal's time: [`parse_time`], then not before 2009-01-01T00:00:00Z
/// ([`EARLIEST_SIGNAL_UNIX_SEC`]) and at most [`MAX_SIGNAL_LEAD_SEC`] after `now`.
///
/// # Errors
/// [`DomainError::Invalid`] naming `key` and the accepted range.
pub fn signal_time(key: &str, v: &Value, now: Timestamp) -> Result<Timestamp, DomainError> {
    let t = parse_time(key, v)?;
    let earliest = DateTime::from_timestamp(EARLIEST_SIGNAL_UNIX_SEC, 0).unwrap_or_default();
    let latest = now + TimeDelta::seconds(MAX_SIGNAL_LEAD_SEC);
    if t < earliest || t > latest {
        return Err(DomainError::invalid(format!(
            "{key} must be from 2009-01-01T00:00:00Z to {MAX_SIGNAL_LEAD_SEC} s after the server's time ({}), got {v}",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;
    use serde_json::json;

    fn bot_payload() -> Value {
        json!({"symbol": "BTCUSDT", "side": "long", "price": 97250.5,
               "timestamp": "2025-12-01T10:05:00Z", "exchange": "bitget",
               "timeframe_min": 5, "strategy": "bounce_ema10_strict",
               "tp_pct": 4.5, "sl_pct": 1.5})
    }

    /// The server's time in these tests: 30 s after the bot payload's timestamp.
    fn now() -> Timestamp {
        Utc.with_ymd_and_hms(2025, 12, 1, 10, 5, 30).unwrap()
    }

    fn parse(v: Value) -> Result<Signal, DomainError> {
        Signal::from_json(&v, &SignalDefaults::default(), now())
    }

    #[test]
    fn timestamps_outside_the_documented_range_are_refused() {
        // The cases: year 10000 and 255479 as Unix ms, year -1, and the edges.
        for (ts, want) in [
            (json!(253_402_300_800_000_i64), "years 0000 to 9999"),
            (json!(8_000_000_000_000_000_i64), "years 0000 to 9999"),
            (json!(-62_198_755_200_000_i64), "years 0000 to 9999"),
            (json!("+10000-01-01T00:00:00"), "years 0000 to 9999"),
            (json!("-0001-01-01T00:00:00"), "years 0000 to 9999"),
            (json!(i64::MAX), "RFC 3339"),
            (json!(i64::MIN), "RFC 3339"),
            (json!("2008-12-31T23:59:59.999999Z"), "from 2009-01-01"),
            (json!(1_230_767_999), "from 2009-01-01"),
            (json!(0), "from 2009-01-01"),
            (json!("2025-12-01T10:10:30.000001Z"), "300 s after"),
            (json!("9999-12-31T23:59:59Z"), "300 s after"),
        ] {
            let mut p = bot_payload();
            p["timestamp"] = ts.clone();
            let e = parse(p).unwrap_err().to_string();
            assert!(e.contains(want), "{ts}: {e}");
        }
        for ts in [
            json!("2009-01-01T00:00:00Z"),
            json!(EARLIEST_SIGNAL_UNIX_SEC),
            json!(EARLIEST_SIGNAL_UNIX_SEC * 1000),
            json!("2025-12-01T10:10:30Z"),
        ] {
            let mut p = bot_payload();
            p["timestamp"] = ts.clone();
            assert!(parse(p).is_ok(), "{ts}");
        }
    }

    #[test]
    fn times_are_cut_to_microseconds_like_storage() {
        let mut p = bot_payload();
        p["timestamp"] = json!("2025-12-01T10:05:00.226094347Z");
        let t = parse(p).unwrap().timestamp;
        assert_eq!(
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "2025-12-01T10:05:00.226094Z"
        );
        let t = parse_time("until", &json!("2016-12-31T23:59:60.5Z")).unwrap();
        assert_eq!(t.to_rfc3339(), "2016-12-31T23:59:59.500+00:00");
    }

    #[test]
    fn text_limits_count_characters_and_refuse_control_characters() {
        for (key, max) in [
            ("exchange", MAX_EXCHANGE_CHARS),
            ("strategy", MAX_STRATEGY_CHARS),
            ("exit_strategy", MAX_STRATEGY_CHARS),
            ("signal_id", MAX_SIGNAL_ID_CHARS),
        ] {
            let mut p = bot_payload();
            p[key] = json!("é".repeat(max));
            assert!(parse(p.clone()).is_ok(), "{key}: {max} two-byte characters");
            p[key] = json!("é".repeat(max + 1));
            let e = parse(p.clone()).unwrap_err().to_string();
            assert!(e.contains(&format!("1 to {max} characters")), "{key}: {e}");
            p[key] = json!("a\nb");
            let e = parse(p).unwrap_err().to_string();
            assert!(e.contains("control characters"), "{key}: {e}");
        }
        let mut p = bot_payload();
        p["signal_id"] = serde_json::from_str(&"9".repeat(129)).unwrap();
        let e = parse(p).unwrap_err().to_string();
        assert!(e.contains("signal_id must be 1 to 128"), "{e}");
    }

    #[test]
    fn parses_the_bot_payload() {
        let s = parse(bot_payload()).unwrap();
        assert_eq!(s.symbol, "BTCUSDT");
        assert_eq!(s.side, Side::Long);
        assert_eq!(s.price, dec!(97250.5));
        assert_eq!(s.tp_pct, dec!(4.5));
        assert_eq!(s.timestamp.to_rfc3339(), "2025-12-01T10:05:00+00:00");
        assert_eq!(s.signal_id, None);
    }

    #[test]
    fn applies_defaults_and_accepts_strings_and_extra_fields() {
        let s = parse(
            json!({"symbol": " ethusdt ", "side": "SELL", "price": "3500.25",
            "timestamp": 1764583500, "unknown": [1, 2]}),
        )
        .unwrap();
        assert_eq!(s.symbol, "ETHUSDT");
        assert_eq!(s.side, Side::Short);
        assert_eq!(s.price, dec!(3500.25));
        assert_eq!(s.exchange, "bitget");
        assert_eq!(s.strategy, "bounce_ema10_strict");
        assert_eq!(s.timeframe_min, 5);
        assert_eq!((s.tp_pct, s.sl_pct), (dec!(4.5), dec!(1.5)));
        assert_eq!(s.timestamp.timestamp(), 1764583500);
    }

    #[test]
    fn rejects_each_bad_field_with_a_message_naming_it() {
        struct Case(&'static str, Value, &'static str);
        let cases = [
            Case(
                "side",
                json!("sideways"),
                "side must be long/short/buy/sell",
            ),
            Case("price", json!("abc"), "price must be a finite number"),
            Case("price", json!(-5), "price must be greater than 0"),
            Case("price", json!(0), "price must be greater than 0"),
            Case("price", json!("NaN"), "price must be a finite number"),
            Case("price", json!("inf"), "price must be a finite number"),
            Case("price", json!("1e309"), "price must be a finite number"),
            Case("price", json!(true), "price must be a finite number"),
            Case("tp_pct", json!(-50), "tp_pct must be a percentage"),
            Case("sl_pct", json!(500), "sl_pct must be a percentage"),
            Case("symbol", json!(""), "symbol must be 1 to 40"),
            Case("symbol", json!("BTC USDT"), "symbol may only contain"),
            Case(
                "timestamp",
                json!("yesterday"),
                "timestamp must be an RFC 3339",
            ),
            Case(
                "timeframe_min",
                json!(2.5),
                "timeframe_min must be a whole number",
            ),
            Case("qty", json!(0), "qty must be greater than 0"),
        ];
        for (i, Case(key, val, want)) in cases.into_iter().enumerate() {
            let mut p = bot_payload();
            p[key] = val;
            let e = parse(p).unwrap_err().to_string();
            assert!(e.contains(want), "TC{i} ({key}) failed: {e}");
        }
    }

    #[test]
    fn missing_required_fields_are_named() {
        for key in ["symbol", "side", "price", "timestamp"] {
            let mut p = bot_payload();
            p.as_object_mut().unwrap().remove(key);
            let e = parse(p).unwrap_err().to_string();
            assert_eq!(e, format!("field {key} is required"));
        }
        assert!(parse(json!([1])).is_err());
    }

    #[test]
    fn derived_key_ignores_price_and_pcts_but_not_side() {
        let a = parse(bot_payload()).unwrap();
        let mut p = bot_payload();
        p["price"] = json!(1.0);
        let b = parse(p).unwrap();
        assert_eq!(a.derived_key(), b.derived_key());
        let mut p = bot_payload();
        p["side"] = json!("short");
        assert_ne!(a.derived_key(), parse(p).unwrap().derived_key());
    }
}
