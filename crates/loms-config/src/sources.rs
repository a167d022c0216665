//! Reading the layers that live in files: the profile TOML (through the `config`
//! crate) and the `.env` file (by hand: it is not TOML and people keep other tools'
//! settings in it).

use config::{FileFormat, Source, ValueKind};
use std::path::Path;

/// Longest key considered for "did you mean" suggestions.
const MAX_SUGGEST_LEN: usize = 100;

/// A TOML value that is not a plain string, number or boolean: what it is, and why
/// it is refused.
pub(crate) type NotPlain = (&'static str, &'static str);

/// Top-level `key = value` pairs of a TOML file, values in their string form, sorted
/// by key.
pub(crate) type TomlPairs = Vec<(String, Result<String, NotPlain>)>;

/// Read a TOML settings file.
///
/// # Errors
/// A message when the file cannot be read or is not valid TOML.
pub(crate) fn read_toml(path: &Path) -> Result<TomlPairs, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())?;
    let map = config::File::from_str(&text, FileFormat::Toml)
        .collect()
        .map_err(|e| format!("not valid TOML: {e}"))?;
    let mut pairs: TomlPairs = map
        .into_iter()
        .map(|(k, v)| {
            let value = match v.kind {
                ValueKind::String(s) => Ok(s),
                ValueKind::Boolean(b) => Ok(b.to_string()),
                ValueKind::I64(n) => Ok(n.to_string()),
                ValueKind::I128(n) => Ok(n.to_string()),
                ValueKind::U64(n) => Ok(n.to_string()),
                ValueKind::U128(n) => Ok(n.to_string()),
                ValueKind::Float(x) => Ok(x.to_string()),
                ValueKind::Table(_) => Err((
                    "[table]",
                    "sections and tables are not allowed; write KEY = value at the top level",
                )),
                ValueKind::Array(_) => Err(("[array]", "arrays are not allowed; use one value")),
                ValueKind::Nil => Err(("nil", "an empty value is not allowed")),
            };
            (k, value)
        })
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(pairs)
}

/// One `KEY=VALUE` assignment of a `.env` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DotEnvVar {
    /// 1-based line number.
    pub(crate) line: usize,
    /// Key as written.
    pub(crate) key: String,
    /// Value with quotes and trailing comment removed.
    pub(crate) value: String,
}

/// Parse a `.env` file: `KEY=VALUE` lines, `#` comments, blank lines, an optional
/// `export ` prefix and optional single or double quotes around the value. Inside
/// double quotes `\"`, `\\` and `\n` are escapes; single quotes are literal. Without
/// quotes, ` #` starts a comment.
///
/// A line of a `.env` file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadLine {
    /// 1-based line number.
    pub(crate) line: usize,
    /// The key, when the line has one.
    pub(crate) key: Option<String>,
    /// What is wrong (never quotes the value, which may be a secret).
    pub(crate) reason: &'static str,
}

/// Returns the assignments in file order and the lines that could not be parsed.
pub(crate) fn parse_dotenv(text: &str) -> (Vec<DotEnvVar>, Vec<BadLine>) {
    let mut vars = Vec::new();
    let mut bad = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export")
            .filter(|r| r.starts_with([' ', '\t']))
            .map_or(line, str::trim_start);
        let Some((key, rest)) = line.split_once('=') else {
            bad.push(BadLine {
                line: line_no,
                key: None,
                reason: "expected KEY=VALUE",
            });
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        {
            bad.push(BadLine {
                line: line_no,
                key: None,
                reason: "the key may only contain letters, digits, '_' and '.'",
            });
            continue;
        }
        match unquote(rest) {
            Ok(value) => vars.push(DotEnvVar {
                line: line_no,
                key: key.to_string(),
                value,
            }),
            Err(reason) => bad.push(BadLine {
                line: line_no,
                key: Some(key.to_string()),
                reason,
            }),
        }
    }
    (vars, bad)
}

/// The value after `=`, untrimmed.
fn unquote(raw: &str) -> Result<String, &'static str> {
    let v = raw.trim();
    let mut chars = v.char_indices();
    match chars.next() {
        Some((_, '"')) => {
            let mut out = String::new();
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    match c {
                        'n' => out.push('\n'),
                        '"' | '\\' => out.push(c),
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    return after_quote(&v[i + 1..]).map(|()| out);
                } else {
                    out.push(c);
                }
            }
            Err("unterminated double quote (values cannot span lines)")
        }
        Some((_, '\'')) => {
            let body = &v[1..];
            match body.find('\'') {
                Some(end) => after_quote(&body[end + 1..]).map(|()| body[..end].to_string()),
                None => Err("unterminated single quote (values cannot span lines)"),
            }
        }
        _ => {
            let cut = raw
                .char_indices()
                .find(|&(i, c)| c == '#' && raw[..i].ends_with([' ', '\t']))
                .map_or(raw.len(), |(i, _)| i);
            Ok(raw[..cut].trim().to_string())
        }
    }
}

/// After a closing quote only blanks and a comment may follow.
fn after_quote(rest: &str) -> Result<(), &'static str> {
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(())
    } else {
        Err("unexpected text after the closing quote")
    }
}

/// The known key closest to `key`, if it is close enough to be a likely typo.
pub(crate) fn suggest(
    key: &str,
    known: impl Iterator<Item = &'static str>,
) -> Option<&'static str> {
    if key.len() > MAX_SUGGEST_LEN {
        return None;
    }
    let key = key.to_ascii_uppercase();
    known
        .map(|k| (edit_distance(&key, k), k))
        .filter(|&(d, k)| d > 0 && d <= (key.len().max(k.len()) * 2 / 5).max(2))
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
