//! Text made from the settings: the `--print-config` table, the key reference of
//! `docs/configuration.md` and `.env.sample` (both generated from [`KEYS`]).

use crate::Settings;
use crate::keys::{KEYS, PROFILE_DEFAULT, is_secret_key};
use loms_domain::Sizing;
use std::fmt::Write;

/// A value fit for display: `***` for a set secret (see [`is_secret_key`]), and a
/// password inside a URL (`scheme://user:pass@host`) masked for any key.
///
/// ```
/// assert_eq!(loms_config::redact("LOMS_API_TOKEN", "hunter2"), "***");
/// assert_eq!(loms_config::redact("LOMS_API_TOKEN", ""), "");
/// assert_eq!(loms_config::redact("DATABASE_URL", "postgres://u:pw@db/x"), "postgres://u:***@db/x");
/// assert_eq!(loms_config::redact("PRICE_MODE", "mid"), "mid");
/// ```
pub fn redact(key: &str, value: &str) -> String {
    if is_secret_key(key) {
        // "none" and friends say the secret is unset: nothing to hide.
        return if crate::values::is_none_word(value) {
            value.to_string()
        } else {
            "***".into()
        };
    }
    mask_url_password(value)
}

fn mask_url_password(v: &str) -> String {
    masked_url(v).unwrap_or_else(|| v.to_string())
}

/// `scheme://user:***@rest` when `v` is a URL with a password.
fn masked_url(v: &str) -> Option<String> {
    let sep = v.find("://")?;
    let rest = &v[sep + 3..];
    let at = rest.find('@')?;
    let userinfo = &rest[..at];
    let colon = userinfo.find(':').filter(|_| !userinfo.contains('/'))?;
    Some(format!(
        "{}{}:***{}",
        &v[..sep + 3],
        &userinfo[..colon],
        &rest[at..]
    ))
}

/// See [`Settings::render_table`].
pub(crate) fn table(s: &Settings) -> String {
    let shown: Vec<String> = s
        .entries
        .iter()
        .map(|e| {
            if e.value.is_empty() {
                "\"\"".to_string()
            } else {
                e.value.replace('\n', "\\n")
            }
        })
        .collect();
    let kw = s.entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
    let vw = shown.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    let files = if s.files_read.is_empty() {
        "none".to_string()
    } else {
        s.files_read
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "# profile: {}; files read: {files}", s.profile);
    for (e, v) in s.entries.iter().zip(&shown) {
        let _ = writeln!(out, "{:<kw$} = {:<vw$}  ({})", e.key, v, e.layer);
    }
    let sizing = match s.sizing {
        Sizing::FixedNotional(n) => format!("{n} USDT notional per position (POSITION_SIZE_USDT)"),
        Sizing::FixedQty(q) => format!("quantity {q} per position (DEFAULT_QTY)"),
    };
    let _ = writeln!(out, "# sizing: {sizing}");
    let _ = writeln!(out, "# database file: {}", s.database_path.display());
    for w in &s.warnings {
        let _ = writeln!(out, "# warning: {w}");
    }
    out
}

fn groups() -> Vec<&'static str> {
    let mut g: Vec<&'static str> = Vec::new();
    for k in KEYS {
        if !g.contains(&k.group) {
            g.push(k.group);
        }
    }
    g
}

fn md(text: &str) -> String {
    text.replace('|', "\\|")
}

fn default_text(default: &str) -> String {
    if default == PROFILE_DEFAULT {
        "the profile name".into()
    } else {
        format!("`{default}`")
    }
}

/// The key reference of `docs/configuration.md`: one Markdown table per group, every
/// key with its default, accepted values and meaning.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for group in groups() {
        let _ = writeln!(out, "### {group}\n");
        out.push_str("| Key | Default | Accepted values | Meaning |\n");
        out.push_str("|---|---|---|---|\n");
        for k in KEYS.iter().filter(|k| k.group == group) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                k.name,
                default_text(k.default),
                md(k.accepted),
                md(k.doc)
            );
        }
        out.push('\n');
    }
    out
}

/// The whole `.env.sample`: every key commented out with its default and meaning.
pub fn env_sample() -> String {
    let mut out = String::from(
        "# LOMS settings. Copy to .env and uncomment what you want to change.\n\
         #\n\
         # Layers, lowest first: built-in defaults < config/<profile>.toml < .env\n\
         #   < process environment < command line (--bind, --set KEY=VALUE).\n\
         # The process environment overrides this file; loms-server warns when it does.\n\
         # See the effective values and where each came from: loms-server --print-config\n\
         # Reference: docs/configuration.md\n\
         #\n\
         # Syntax: KEY=VALUE, optional `export ` prefix, optional 'single' or \"double\" quotes,\n\
         # `#` comments. Unknown keys are ignored with a warning. The profile is chosen\n\
         # before this file is read: use --profile or LOMS_PROFILE in the environment.\n\
         # Limits accept none/null/off/empty for \"no limit\".\n",
    );
    for group in groups() {
        let _ = writeln!(out, "\n# ==== {group} ====");
        for k in KEYS.iter().filter(|k| k.group == group) {
            let (default, sample) = if k.default == PROFILE_DEFAULT {
                ("the profile name", "dev")
            } else {
                (k.default, k.default)
            };
            let _ = writeln!(out, "\n# {}", k.doc);
            let _ = writeln!(out, "# Accepted: {}. Default: {default}.", k.accepted);
            let _ = writeln!(out, "# {}={sample}", k.name);
        }
    }
    out
}
