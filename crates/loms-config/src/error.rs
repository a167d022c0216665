//! Configuration problems. Loading collects every problem before failing, so one
//! start-up attempt shows all of them.

use crate::Layer;
use std::fmt;
use std::path::PathBuf;

/// Loading the configuration failed; [`Display`](fmt::Display) lists every problem,
/// one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// One or more problems, in the order they were found (never empty).
    #[error("{}", lines(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// Every problem found.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(p) => p,
        }
    }
}

fn lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One thing wrong with the configuration. Values are shown redacted for secret keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A value that is not accepted for its key.
    InvalidValue {
        /// The key.
        key: &'static str,
        /// The value as given (redacted when secret).
        value: String,
        /// Why, when there is more to say than "not valid".
        reason: Option<String>,
        /// What would have been accepted.
        accepted: &'static str,
        /// Where the value came from.
        layer: Layer,
    },
    /// A value naming a feature this version does not have (e.g. `PRICE_SOURCE=replay`).
    Unavailable {
        /// The key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// What is missing.
        reason: &'static str,
        /// What would have been accepted.
        accepted: &'static str,
        /// Where the value came from.
        layer: Layer,
    },
    /// A key that is not a setting (in a TOML file or a command-line override).
    UnknownKey {
        /// The key as written.
        key: String,
        /// Where it was found.
        layer: Layer,
        /// A known key with a similar name.
        suggestion: Option<&'static str>,
    },
    /// The same key twice in one TOML file (keys are case-insensitive).
    DuplicateKey {
        /// The key, upper case.
        key: &'static str,
        /// The file.
        layer: Layer,
    },
    /// Settings that contradict each other, e.g. both `DEFAULT_QTY` and `POSITION_SIZE_USDT`.
    Conflict {
        /// The keys involved.
        keys: Vec<&'static str>,
        /// Full explanation.
        message: String,
    },
    /// The profile name cannot name a file.
    BadProfile {
        /// The name as given.
        profile: String,
    },
    /// A profile other than `dev` was asked for but has no file.
    MissingProfileFile {
        /// The profile.
        profile: String,
        /// Where its file was looked for.
        path: PathBuf,
    },
    /// A configuration file exists but cannot be read or parsed.
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl Problem {
    /// The setting this problem is about, if it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            Problem::InvalidValue { key, .. }
            | Problem::Unavailable { key, .. }
            | Problem::DuplicateKey { key, .. } => Some(key),
            Problem::UnknownKey { key, .. } => Some(key),
            _ => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::InvalidValue {
                key,
                value,
                reason,
                accepted,
                layer,
            } => {
                write!(f, "{key}: {value:?} is not valid")?;
                if let Some(r) = reason {
                    write!(f, " ({r})")?;
                }
                write!(f, "; accepted: {accepted} (from {layer})")
            }
            Problem::Unavailable {
                key,
                value,
                reason,
                accepted,
                layer,
            } => write!(
                f,
                "{key}={value} is not available in this version ({reason}); accepted: {accepted} (from {layer})"
            ),
            Problem::UnknownKey {
                key,
                layer,
                suggestion,
            } => {
                write!(f, "{key}: unknown setting (from {layer})")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean {s}?"),
                    None => write!(f, "; see docs/configuration.md for the list"),
                }
            }
            Problem::DuplicateKey { key, layer } => {
                write!(f, "{key}: set more than once in {layer} (keys ignore case)")
            }
            Problem::Conflict { message, .. } => f.write_str(message),
            Problem::BadProfile { profile } => write!(
                f,
                "profile {profile:?} is not valid; accepted: 1 to 64 letters, digits, '-' or '_' (e.g. dev, paper, live)"
            ),
            Problem::MissingProfileFile { profile, path } => write!(
                f,
                "profile {profile:?} was asked for but {} does not exist (use --config-dir to point at the config directory)",
                path.display()
            ),
            Problem::File { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}
