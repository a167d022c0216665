//! The server's settings, loaded the server's way, tolerant of mistakes in keys
//! loms-ctl does not use: an emergency stop must not be blocked by a typo in
//! PRICE_MODE. Those problems are printed as warnings; problems in the keys loms-ctl
//! needs, or in the files themselves, stop it.

use crate::cli::ConfigArgs;
use crate::say;
use anyhow::anyhow;
use loms_config::{ConfigSources, PROFILE_DEFAULT, Problem, Settings, key_spec};
use std::io::Write;

/// The keys loms-ctl uses.
pub(crate) const USED: [&str; 6] = [
    "DATABASE_URL",
    "AUDIT_LOG_PATH",
    "LOMS_BIND",
    "LOMS_API_TOKEN",
    "BACKUP_DIR",
    "RETENTION_DAYS",
];

/// Load the settings from the flags and `env`; print the loader's warnings on `err`.
///
/// # Errors
/// The configuration's problems in the keys loms-ctl uses, or in the files, with
/// what to fix.
pub(crate) fn load(
    args: &ConfigArgs,
    env: &[(String, String)],
    err: &mut dyn Write,
) -> anyhow::Result<Settings> {
    let mut sources = ConfigSources::with_env(
        args.profile.clone(),
        args.config_dir.clone(),
        args.env_file.clone(),
        args.set.clone(),
        env.to_vec(),
    );
    let first = match loms_config::load(&sources) {
        Ok(s) => return Ok(warned(s, err)),
        Err(e) => e,
    };
    let (tolerated, blocking): (Vec<&Problem>, Vec<&Problem>) = first
        .problems()
        .iter()
        .partition(|p| fallback(p, &sources.profile).is_some());
    if !blocking.is_empty() {
        return Err(invalid(&blocking));
    }
    for p in &tolerated {
        sources
            .cli
            .extend(fallback(p, &sources.profile).unwrap_or_default());
    }
    let s = loms_config::load(&sources).map_err(|e| {
        let problems: Vec<&Problem> = e.problems().iter().collect();
        invalid(&problems)
    })?;
    for p in tolerated {
        say!(
            err,
            "loms-ctl: warning: {p}\n  (loms-ctl does not use this setting and goes on with its default; loms-server will refuse to start until it is fixed)"
        );
    }
    Ok(warned(s, err))
}

fn warned(s: Settings, err: &mut dyn Write) -> Settings {
    for w in &s.warnings {
        say!(err, "loms-ctl: warning: {w}");
    }
    s
}

fn invalid(problems: &[&Problem]) -> anyhow::Error {
    let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    anyhow!(
        "invalid configuration:\n{}\nFix the value named above (in config/<profile>.toml, .env or the environment), or override it with --set KEY=VALUE",
        lines.join("\n")
    )
}

/// Defaults standing in for the value(s) a problem is about, when it is only about
/// keys loms-ctl does not use; `None` when it cannot be worked around (a key
/// loms-ctl uses, a broken file, an unknown key, a wrong profile).
fn fallback(p: &Problem, profile: &str) -> Option<Vec<(String, String)>> {
    let keys: Vec<&str> = match p {
        Problem::InvalidValue { key, .. } | Problem::Unavailable { key, .. } => vec![*key],
        Problem::Conflict { keys, .. } => keys.clone(),
        _ => return None,
    };
    keys.into_iter()
        .map(|key| {
            if USED.contains(&key) {
                return None;
            }
            let spec = key_spec(key)?;
            let value = if spec.default == PROFILE_DEFAULT {
                profile.to_string()
            } else {
                spec.default.to_string()
            };
            Some((spec.name.to_string(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(set: &[(&str, &str)]) -> ConfigArgs {
        ConfigArgs {
            profile: None,
            config_dir: Some("".into()),
            env_file: Some("/nonexistent/loms-ctl-test.env".into()),
            set: set
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn a_bad_key_loms_ctl_does_not_use_is_only_a_warning() {
        let mut err = Vec::new();
        let s = load(
            &args(&[]),
            &env(&[("PRICE_MODE", "sideways"), ("RETENTION_DAYS", "9")]),
            &mut err,
        )
        .unwrap();
        assert_eq!(s.retention_days, 9);
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains("PRICE_MODE") && err.contains("loms-server will refuse"));
    }

    #[test]
    fn a_bad_key_loms_ctl_uses_stops_it_and_names_the_key() {
        let mut err = Vec::new();
        let e = load(
            &args(&[("RETENTION_DAYS", "0")]),
            &env(&[("PRICE_MODE", "sideways")]),
            &mut err,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("RETENTION_DAYS") && e.contains("--set"), "{e}");
        assert!(!e.contains("PRICE_MODE"), "only what stops loms-ctl: {e}");
    }

    #[test]
    fn the_token_is_never_shown_in_a_problem() {
        let mut err = Vec::new();
        let e = load(
            &args(&[("LOMS_API_TOKEN", "short secret")]),
            &env(&[]),
            &mut err,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("LOMS_API_TOKEN") && !e.contains("short secret"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_key_on_the_command_line_is_an_error() {
        let mut err = Vec::new();
        let e = load(&args(&[("RETENTON_DAYS", "3")]), &env(&[]), &mut err)
            .unwrap_err()
            .to_string();
        assert!(e.contains("RETENTON_DAYS"), "{e}");
    }
}
