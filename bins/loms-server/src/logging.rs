//! The server's logger: `env_logger` (`RUST_LOG`, default `info`), except that the HTTP
//! client's own debug and trace records are dropped whatever `RUST_LOG` says: they dump
//! each request byte by byte, the signed headers of the Bitget API key (its key and
//! passphrase) included.

use log::{Level, Log, Metadata, Record};

/// Whether a record may carry a request as sent: debug or trace from `ureq` or
/// `ureq_proto` (any of their modules).
fn may_carry_secrets(meta: &Metadata<'_>) -> bool {
    meta.level() > Level::Info && meta.target().starts_with("ureq")
}

struct Logger(env_logger::Logger);

impl Log for Logger {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        !may_carry_secrets(meta) && self.0.enabled(meta)
    }

    fn log(&self, record: &Record<'_>) {
        if !may_carry_secrets(record.metadata()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// Install the logger (once; a second call changes nothing).
pub(crate) fn init() {
    let inner =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).build();
    let max = inner.filter();
    if log::set_boxed_logger(Box::new(Logger(inner))).is_ok() {
        log::set_max_level(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(level: Level, target: &str) -> Metadata<'_> {
        Metadata::builder().level(level).target(target).build()
    }

    #[test]
    fn the_http_clients_request_dumps_are_never_logged() {
        for target in ["ureq", "ureq_proto::util", "ureq::unversioned::transport"] {
            assert!(may_carry_secrets(&meta(Level::Trace, target)), "{target}");
            assert!(may_carry_secrets(&meta(Level::Debug, target)), "{target}");
            assert!(!may_carry_secrets(&meta(Level::Info, target)), "{target}");
            assert!(!may_carry_secrets(&meta(Level::Warn, target)), "{target}");
        }
        assert!(!may_carry_secrets(&meta(Level::Trace, "loms_server")));
        assert!(!may_carry_secrets(&meta(
            Level::Debug,
            "loms_bitget::client"
        )));
    }
}
