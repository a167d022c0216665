//! Query strings: `a=1&b=x%20y`.

use std::collections::HashMap;

/// Decode a query string into a map (last value wins). Invalid escapes are kept as is.
pub(crate) fn parse(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding with `+` as space.
pub(crate) fn decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                i += 1;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_and_escapes() {
        let m = parse(Some(
            "since=2025-12-01T00%3A00%3A00Z&symbol=BTCUSDT&x=a+b&bad=%zz&end=%&u=%C3%A9%E2",
        ));
        assert_eq!(m["since"], "2025-12-01T00:00:00Z");
        assert_eq!(m["symbol"], "BTCUSDT");
        assert_eq!(m["x"], "a b");
        assert_eq!(m["bad"], "%zz");
        assert_eq!(m["end"], "%");
        assert_eq!(m["u"], "é\u{FFFD}");
        assert!(parse(None).is_empty());
    }
}
