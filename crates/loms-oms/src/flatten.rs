//! The `flatten` trading mode means "drive to flat", not "close once": storing the mode
//! and closing are two steps (the prices are fetched outside the writer in between), so
//! a crash or a price failure after the first would leave positions open under
//! `flatten`. Instead, every auto-close pass and every start under `flatten` close
//! every open position with reason `panic` (at the current quote, as a close-all does)
//! until nothing is open, in place of the exit policies. What a pass could not close
//! is reported until flat: an error line in the log (`flatten_incomplete`), the
//! `loms_flatten_left_positions` gauge, and /health's auto-close check failing.

use crate::writer::{CloseAllReport, Write};
use crate::{Oms, OmsError, PassReport, TradingMode};
use loms_domain::CloseReason;

impl Oms {
    /// One step towards flat: close every open position at its symbol's current price
    /// with reason `panic`, if the trading mode is still `flatten` when the writer gets
    /// to it. Positions left open (no usable price, a refused close) are reported.
    ///
    /// # Errors
    /// [`OmsError::WrongMode`] when the mode changed meanwhile (nothing was closed),
    /// [`OmsError::Storage`] or [`OmsError::Stopped`].
    pub(crate) async fn drive_flat(&self) -> Result<CloseAllReport, OmsError> {
        let symbols = self.open_symbols().await?;
        let mut report = if symbols.is_empty() {
            CloseAllReport::default()
        } else {
            let (market, errors) = self.market(symbols).await?;
            let mut report = self
                .ask(|reply| Write::CloseAll {
                    market,
                    reason: CloseReason::Panic,
                    reply,
                    only_in_flatten: true,
                })
                .await?;
            // Say why a symbol had no price, not only that it had none.
            for f in &mut report.failed {
                if let Some((_, e)) = errors.iter().find(|(s, _)| *s == f.symbol) {
                    f.error = format!("no price: {e}");
                }
            }
            report
        };
        report.failed.sort_by_key(|f| f.position_id);
        self.flatten_outcome(&report);
        Ok(report)
    }

    /// Log, count and keep for /health what a step towards flat left open.
    fn flatten_outcome(&self, report: &CloseAllReport) {
        // Live: an exit at the venue leaves its position open until it fills.
        let left = report.failed.len() + report.sent.len();
        self.0.metrics.flatten_left(left as u64);
        if left == 0 {
            if !report.closed.is_empty() {
                log::warn!("flatten_done closed={}", report.closed.len());
            }
            self.0.health.flatten_left(None);
            return;
        }
        let (id, symbol, why) = match (report.failed.first(), report.sent.first()) {
            (Some(f), _) => (f.position_id, &f.symbol, &f.error),
            (None, Some(s)) => (s.position_id, &s.symbol, &s.detail),
            (None, None) => return,
        };
        let detail = format!("{left} position(s) still open (position {id} {symbol}: {why})");
        log::error!(
            "flatten_incomplete closed={} left={left} first_error=\"{why}\"",
            report.closed.len(),
        );
        self.0.health.flatten_left(Some(detail));
    }

    /// The auto-close pass under `flatten`: a step towards flat instead of the exit
    /// policies, as a pass report (`no_price`: left for want of a price;
    /// `policy_errors`: left because the close failed).
    pub(crate) async fn flatten_pass(&self, keep_closed: bool) -> Result<PassReport, OmsError> {
        let r = self.drive_flat().await?;
        let no_price = r
            .failed
            .iter()
            .filter(|f| f.error.starts_with("no price"))
            .count();
        let checked = r.closed.len() + r.failed.len();
        Ok(PassReport {
            open: checked,
            checked,
            no_price,
            policy_errors: r.failed.len() - no_price,
            closed_count: r.closed.len(),
            closed: if keep_closed { r.closed } else { Vec::new() },
            ..PassReport::default()
        })
    }

    /// Whether the trading mode in force is `flatten`.
    pub(crate) fn flattening(&self) -> bool {
        self.trading_state().mode == TradingMode::Flatten
    }
}
