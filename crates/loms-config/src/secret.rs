//! Secrets among the settings: the [`Secret`] type, and the `Debug` of [`Settings`]
//! and [`ConfigSources`] that never shows one (`--print-config` and errors redact by
//! key name, see [`crate::redact`]).

use crate::{ConfigSources, Settings};
use std::fmt;

/// A secret setting (a Bitget API key part). `Debug` shows `***`; it has no `Display`,
/// so the value only leaves through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself: only for the code that signs requests, never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `Some("***")` for a set secret, `None` when unset.
fn masked<T>(v: &Option<T>) -> Option<&'static str> {
    v.as_ref().map(|_| "***")
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured, so a new field cannot be forgotten here.
        let Settings {
            profile,
            environment,
            broker_mode,
            oms_enabled,
            database_url,
            database_path,
            audit_log_path,
            bind,
            api_token,
            risk,
            sizing,
            signal_defaults,
            price_source,
            price_mode,
            price_exchange,
            auto_close_interval,
            min_position_age,
            exit_strategy,
            sim_seed,
            sim_base_price,
            sim_volatility_pct,
            fee_taker_bps,
            slippage_bps,
            trailing,
            price_market,
            price_http_timeout,
            price_max_age,
            bybit_base_url,
            bitget_base_url,
            backup_dir,
            retention_days,
            idempotency_retention,
            disk_free_warn_mb,
            bitget_api_key,
            bitget_api_secret,
            bitget_api_passphrase,
            bitget_secrets_file,
            bitget_demo,
            live_leverage,
            live_ack_timeout,
            live_resolve_interval,
            live_exec_workers,
            live_confirm,
            live_account_uid,
            live_sub_account,
            live_max_equity_usdt,
            live_max_clock_skew,
            live_max_notional_usdt,
            reconcile_interval,
            max_daily_loss_usdt,
            max_consecutive_losses,
            loss_cooldown,
            entries,
            warnings,
            files_read,
        } = self;
        f.debug_struct("Settings")
            .field("profile", profile)
            .field("environment", environment)
            .field("broker_mode", broker_mode)
            .field("oms_enabled", oms_enabled)
            .field("database_url", &crate::redact("DATABASE_URL", database_url))
            .field("database_path", database_path)
            .field("audit_log_path", audit_log_path)
            .field("bind", bind)
            .field("api_token", &masked(api_token))
            .field("risk", risk)
            .field("sizing", sizing)
            .field("signal_defaults", signal_defaults)
            .field("price_source", price_source)
            .field("price_mode", price_mode)
            .field("price_exchange", price_exchange)
            .field("auto_close_interval", auto_close_interval)
            .field("min_position_age", min_position_age)
            .field("exit_strategy", exit_strategy)
            .field("sim_seed", sim_seed)
            .field("sim_base_price", sim_base_price)
            .field("sim_volatility_pct", sim_volatility_pct)
            .field("fee_taker_bps", fee_taker_bps)
            .field("slippage_bps", slippage_bps)
            .field("trailing", trailing)
            .field("price_market", price_market)
            .field("price_http_timeout", price_http_timeout)
            .field("price_max_age", price_max_age)
            .field("bybit_base_url", bybit_base_url)
            .field("bitget_base_url", bitget_base_url)
            .field("backup_dir", backup_dir)
            .field("retention_days", retention_days)
            .field("idempotency_retention", idempotency_retention)
            .field("disk_free_warn_mb", disk_free_warn_mb)
            .field("bitget_api_key", bitget_api_key)
            .field("bitget_api_secret", bitget_api_secret)
            .field("bitget_api_passphrase", bitget_api_passphrase)
            .field("bitget_secrets_file", bitget_secrets_file)
            .field("bitget_demo", bitget_demo)
            .field("live_leverage", live_leverage)
            .field("live_ack_timeout", live_ack_timeout)
            .field("live_resolve_interval", live_resolve_interval)
            .field("live_exec_workers", live_exec_workers)
            .field("live_confirm", live_confirm)
            .field("live_account_uid", live_account_uid)
            .field("live_sub_account", live_sub_account)
            .field("live_max_equity_usdt", live_max_equity_usdt)
            .field("live_max_clock_skew", live_max_clock_skew)
            .field("live_max_notional_usdt", live_max_notional_usdt)
            .field("reconcile_interval", reconcile_interval)
            .field("max_daily_loss_usdt", max_daily_loss_usdt)
            .field("max_consecutive_losses", max_consecutive_losses)
            .field("loss_cooldown", loss_cooldown)
            .field("entries", entries)
            .field("warnings", warnings)
            .field("files_read", files_read)
            .finish()
    }
}

/// `KEY=value` pairs with the values of secret keys redacted.
fn redacted_pairs(pairs: &[(String, String)]) -> Vec<(&str, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), crate::redact(k, v)))
        .collect()
}

impl fmt::Debug for ConfigSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ConfigSources {
            profile,
            profile_explicit,
            config_dir,
            env_file,
            process_env,
            cli,
        } = self;
        f.debug_struct("ConfigSources")
            .field("profile", profile)
            .field("profile_explicit", profile_explicit)
            .field("config_dir", config_dir)
            .field("env_file", env_file)
            // The whole process environment: any variable may hold a secret, show none.
            .field(
                "process_env",
                &format_args!("<{} variables>", process_env.len()),
            )
            .field("cli", &redacted_pairs(cli))
            .finish()
    }
}
