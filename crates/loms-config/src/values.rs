//! The value parsers of the settings table ([`crate::keys`]): each turns a trimmed
//! text into a typed value or a [`Reject`] saying why not.

use crate::keys::Reject;
use loms_domain::Decimal;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Largest amount accepted for prices and sizes (10^12), as in the domain crate.
pub(crate) const MAX_AMOUNT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// `true` for the words that mean "not set": empty, none, null, off (any case).
pub(crate) fn is_none_word(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v.eq_ignore_ascii_case("none")
        || v.eq_ignore_ascii_case("null")
        || v.eq_ignore_ascii_case("off")
}

pub(crate) fn optional<T>(
    v: &str,
    parse: impl Fn(&str) -> Result<T, Reject>,
) -> Result<Option<T>, Reject> {
    if is_none_word(v) {
        Ok(None)
    } else {
        parse(v).map(Some)
    }
}

/// true/false, 1/0, yes/no, on/off in any case.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A finite decimal, plain (`12.5`) or scientific (`1.25e1`).
pub(crate) fn parse_decimal(v: &str) -> Option<Decimal> {
    let v = v.trim();
    let d = if v.contains(['e', 'E']) {
        Decimal::from_scientific(v).ok()?
    } else {
        Decimal::from_str(v).ok()?
    };
    Some(d.normalize())
}

pub(crate) fn decimal(v: &str) -> Result<Decimal, Reject> {
    parse_decimal(v).ok_or(Reject::Invalid)
}

pub(crate) fn whole_u32(v: &str) -> Result<u32, Reject> {
    u32::from_str(v).map_err(|_| {
        if v.starts_with('-') {
            Reject::Because("negative".into())
        } else {
            Reject::Invalid
        }
    })
}

/// A whole number from `min` to `max` (no sign, no fraction).
pub(crate) fn whole_between(v: &str, min: u64, max: u64) -> Result<u64, Reject> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or(Reject::Invalid)
}

pub(crate) fn positive_amount(v: &str) -> Result<Decimal, Reject> {
    let d = decimal(v)?;
    if d <= Decimal::ZERO || d > MAX_AMOUNT {
        return Err(Reject::Invalid);
    }
    Ok(d)
}

pub(crate) fn base_url(v: &str) -> Result<String, Reject> {
    let v = v.trim().trim_end_matches('/');
    if (v.starts_with("http://") || v.starts_with("https://"))
        && !v.contains(char::is_whitespace)
        && v.len() > 8
    {
        Ok(v.to_string())
    } else {
        Err(Reject::Invalid)
    }
}

pub(crate) fn bps(v: &str) -> Result<Decimal, Reject> {
    let d = decimal(v)?;
    if d < Decimal::ZERO || d > Decimal::from(1000) {
        return Err(Reject::Invalid);
    }
    Ok(d)
}

pub(crate) fn percent(v: &str) -> Result<Decimal, Reject> {
    let d = decimal(v)?;
    if d <= Decimal::ZERO || d >= Decimal::ONE_HUNDRED {
        return Err(Reject::Invalid);
    }
    Ok(d)
}

/// Seconds as a decimal, `min <= x <= max`, to a [`Duration`] (nanosecond precision).
pub(crate) fn seconds(v: &str, min: Decimal, max_secs: u64) -> Result<Duration, Reject> {
    let d = decimal(v)?;
    if d < min || d > Decimal::from(max_secs) {
        return Err(Reject::Invalid);
    }
    let whole = d.trunc();
    let secs = u64::try_from(whole).map_err(|_| Reject::Invalid)?;
    let nanos = ((d - whole) * Decimal::from(1_000_000_000u32)).trunc();
    let nanos = u32::try_from(nanos).map_err(|_| Reject::Invalid)?;
    Ok(Duration::new(secs, nanos))
}

pub(crate) fn plain_path(v: &str) -> Result<PathBuf, Reject> {
    if v.is_empty() || v.contains('\0') {
        return Err(Reject::Invalid);
    }
    Ok(PathBuf::from(v))
}

/// The file of a SQLite URL: `sqlite:///./x.db` → `./x.db`, `sqlite:////abs/x.db` →
/// `/abs/x.db`; a value without `://` is a plain path.
pub(crate) fn sqlite_path(v: &str) -> Result<PathBuf, Reject> {
    let Some(sep) = v.find("://") else {
        return plain_path(v);
    };
    let scheme = &v[..sep];
    if !scheme.eq_ignore_ascii_case("sqlite") {
        return Err(Reject::Because(format!(
            "only SQLite is supported, not {scheme}://"
        )));
    }
    let rest = &v[sep + 3..];
    let Some(path) = rest.strip_prefix('/') else {
        return Err(Reject::Because(
            "a SQLite URL needs three slashes before a relative path, four before an absolute one"
                .into(),
        ));
    };
    if path.contains('?') {
        return Err(Reject::Because("query parameters are not supported".into()));
    }
    plain_path(path)
}
