//! Getting a symbol ready for its first entry: its contract rules, isolated margin and
//! the configured leverage, asked of the venue once per symbol per process.

use super::{BitgetExecution, unavailable};
use crate::error::BitgetError;
use loms_broker::ExecError;

/// Bitget's "currently holding positions or orders, the margin mode cannot be adjusted":
/// the symbol keeps the mode it has.
pub const MARGIN_MODE_LOCKED: &str = "45117";

impl BitgetExecution {
    /// [`loms_broker::ExecutionClient::prepare`]: the venue is asked once per symbol; a
    /// failure leaves the symbol unprepared, so the next entry asks again. The cache is
    /// not held across the requests: two entries racing on a new symbol may both ask
    /// (the requests are idempotent).
    pub(super) fn prepare_once(&self, symbol: &str) -> Result<(), ExecError> {
        if self.prepared_symbols().contains(symbol) {
            return Ok(());
        }
        self.set_up(symbol)?;
        self.prepared_symbols().insert(symbol.to_string());
        Ok(())
    }

    /// The contract (cached by the client), isolated margin, then the leverage.
    ///
    /// A margin-mode change refused because a position or order exists
    /// ([`MARGIN_MODE_LOCKED`]) is accepted only when the symbol already is isolated
    /// (read back from the account): LOMS never trades a symbol in crossed margin.
    fn set_up(&self, symbol: &str) -> Result<(), ExecError> {
        let spec = self.client.contract(symbol).map_err(unavailable)?;
        let lev = self.leverage;
        if !(spec.min_lever..=spec.max_lever).contains(&lev) {
            return Err(ExecError::Refused(format!(
                "leverage {lev} is outside {symbol}'s range {}..={}",
                spec.min_lever, spec.max_lever
            )));
        }
        match self.client.set_isolated(symbol) {
            Ok(()) => {}
            Err(e) if is_code(&e, MARGIN_MODE_LOCKED) => {
                let mode = self
                    .client
                    .account(symbol)
                    .map_err(unavailable)?
                    .margin_mode;
                if mode != "isolated" {
                    return Err(ExecError::Refused(format!(
                        "{symbol} is in {mode:?} margin and a position or order holds it there \
                         ({e}); LOMS trades isolated margin only"
                    )));
                }
                log::info!("{symbol}: margin mode already isolated, locked by an open position");
            }
            Err(e) => return Err(unavailable(e)),
        }
        self.client.set_leverage(symbol, lev).map_err(unavailable)
    }
}

/// Whether the venue answered with this error `code`.
fn is_code(e: &BitgetError, want: &str) -> bool {
    matches!(e, BitgetError::Venue { code, .. } if code == want)
}
