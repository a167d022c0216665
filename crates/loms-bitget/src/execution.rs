//! Bitget as an [`ExecutionClient`]: an [`OrderIntent`] becomes one market order under
//! its client id — size rounded down to the contract, the stop rounded toward the entry,
//! refused before anything is sent when it breaks a contract rule — and the venue's
//! answer becomes an [`ExecutionReport`] with the real fills (price, quantity, fee).
//! A symbol is [prepared](prepare) (isolated margin, the configured leverage) once per
//! process before its first entry; the venue's own closes (a fired stop) are read back
//! by [`closes`].

mod closes;
pub mod prepare;

use crate::client::{BitgetClient, lock};
use crate::error::BitgetError;
use crate::order::{ClientOid, Fill, OrderDetail, OrderSide, OrderState, PlaceOrder};
use crate::submit::{Backoff, Submitted, submit};
use loms_broker::{
    AccountSnapshot, CancelOutcome, ExecError, ExecFill, ExecutionClient, ExecutionReport,
    OrderIntent, VenuePosition,
};
use loms_domain::{Decimal, OrderStatus, Side, Timestamp};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How the client waits between tries (injected: tests do not sleep).
pub type Sleep = Arc<dyn Fn(Duration) + Send + Sync>;

/// The leverage set on a symbol unless [`BitgetExecution::with_leverage`] says otherwise
/// (the least risk; `LIVE_LEVERAGE`'s default too).
pub const DEFAULT_LEVERAGE: u32 = 1;

/// The Bitget execution client (one-way mode, isolated margin, market orders).
pub struct BitgetExecution {
    client: BitgetClient,
    backoff: Backoff,
    sleep: Sleep,
    /// Set on each symbol before its first entry.
    leverage: u32,
    /// Symbols already prepared by this process.
    prepared: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for BitgetExecution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitgetExecution")
            .field("client", &self.client)
            .field("backoff", &self.backoff)
            .field("leverage", &self.leverage)
            .finish_non_exhaustive()
    }
}

impl BitgetExecution {
    /// Execute through `client`, resolving lost answers with `backoff`; symbols are
    /// prepared with [`DEFAULT_LEVERAGE`] unless [`BitgetExecution::with_leverage`].
    pub fn new(client: BitgetClient, backoff: Backoff) -> Self {
        Self::with_sleep(client, backoff, Arc::new(std::thread::sleep))
    }

    /// [`BitgetExecution::new`] with an injected sleep.
    pub fn with_sleep(client: BitgetClient, backoff: Backoff, sleep: Sleep) -> Self {
        Self {
            client,
            backoff,
            sleep,
            leverage: DEFAULT_LEVERAGE,
            prepared: Mutex::new(HashSet::new()),
        }
    }

    /// Prepare each symbol with `leverage` (`LIVE_LEVERAGE`) instead of
    /// [`DEFAULT_LEVERAGE`]. A leverage outside a contract's `minLever..=maxLever` makes
    /// [`ExecutionClient::prepare`] refuse that symbol, nothing sent.
    #[must_use]
    pub fn with_leverage(mut self, leverage: u32) -> Self {
        self.leverage = leverage;
        self
    }

    /// The leverage set on each symbol.
    pub fn leverage(&self) -> u32 {
        self.leverage
    }

    fn prepared_symbols(&self) -> MutexGuard<'_, HashSet<String>> {
        lock(&self.prepared)
    }

    /// The REST client underneath (start-up checks: key, account, clock).
    pub fn client(&self) -> &BitgetClient {
        &self.client
    }

    /// The place-order request of `intent`, or why none may be sent.
    fn order_of(&self, intent: &OrderIntent) -> Result<PlaceOrder, String> {
        let client_oid = ClientOid::parse(&intent.client_oid)?;
        let spec = self.client.contract(&intent.symbol).map_err(|e| {
            format!(
                "not sent: the contract rules of {} are unavailable: {e}",
                intent.symbol
            )
        })?;
        let size = spec.round_size_down(intent.qty);
        let size = spec
            .check_size(size, intent.price)
            .map_err(|e| format!("not sent: {e}"))?;
        let long = intent.side == Side::Long;
        let (stop, tp) = if intent.reduce_only {
            (None, None)
        } else {
            (
                intent.stop_loss.map(|p| spec.round_stop(p, long)),
                intent.take_profit.map(|p| spec.round_take_profit(p, long)),
            )
        };
        Ok(PlaceOrder {
            symbol: intent.symbol.clone(),
            side: if intent.buys() {
                OrderSide::Buy
            } else {
                OrderSide::Sell
            },
            size,
            client_oid,
            reduce_only: intent.reduce_only,
            preset_stop_loss: stop,
            preset_take_profit: tp,
        })
    }

    /// The report of an order the venue holds: its state and, once anything filled,
    /// its fills.
    fn report_of(
        &self,
        symbol: &str,
        detail: &OrderDetail,
    ) -> Result<ExecutionReport, BitgetError> {
        let status = match detail.state {
            OrderState::Live | OrderState::PartiallyFilled => OrderStatus::Submitted,
            OrderState::Filled => OrderStatus::Filled,
            OrderState::Canceled => OrderStatus::Canceled,
        };
        let fills = if detail.filled > Decimal::ZERO {
            self.client
                .fills(symbol, &detail.order_id)?
                .iter()
                .map(exec_fill)
                .collect()
        } else {
            Vec::new()
        };
        Ok(ExecutionReport {
            client_oid: detail.client_oid.clone(),
            exchange_order_id: Some(detail.order_id.clone()).filter(|s| !s.is_empty()),
            status,
            fills,
            reason: None,
        })
    }

    /// After the venue took an order: its report, or `submitted` when the lookup fails
    /// (it exists; its fills come with a later query).
    fn after_ack(&self, intent: &OrderIntent, order_id: Option<String>) -> ExecutionReport {
        let oid = ClientOid::parse(&intent.client_oid);
        let found = oid
            .map_err(|e| e.to_string())
            .and_then(|oid| {
                self.client
                    .order_detail(&intent.symbol, &oid)
                    .map_err(|e| e.to_string())
            })
            .and_then(|d| d.ok_or_else(|| "acknowledged, not visible yet".to_string()))
            .and_then(|d| {
                self.report_of(&intent.symbol, &d)
                    .map_err(|e| e.to_string())
            });
        found.unwrap_or_else(|why| acknowledged(intent, order_id, why))
    }
}

/// An order the venue holds whose fills could not be read yet: `submitted`, resolved by
/// a later query.
fn acknowledged(
    intent: &OrderIntent,
    order_id: Option<String>,
    why: impl std::fmt::Display,
) -> ExecutionReport {
    ExecutionReport {
        client_oid: intent.client_oid.clone(),
        exchange_order_id: order_id,
        status: OrderStatus::Submitted,
        fills: Vec::new(),
        reason: Some(format!("fills to be read later: {why}")),
    }
}

fn exec_fill(f: &Fill) -> ExecFill {
    ExecFill {
        trade_id: f.trade_id.clone(),
        price: f.price,
        qty: f.qty,
        fee: f.fee_paid,
        ts: Timestamp::from_timestamp_millis(f.time_ms).unwrap_or_default(),
    }
}

fn unavailable(e: BitgetError) -> ExecError {
    if e.retryable() {
        ExecError::Unavailable(e.to_string())
    } else {
        ExecError::Refused(e.to_string())
    }
}

impl ExecutionClient for BitgetExecution {
    fn venue(&self) -> &'static str {
        "bitget"
    }

    fn submit(&self, intent: &OrderIntent) -> ExecutionReport {
        let report = |status, reason: String| ExecutionReport {
            client_oid: intent.client_oid.clone(),
            exchange_order_id: None,
            status,
            fills: Vec::new(),
            reason: Some(reason),
        };
        let order = match self.order_of(intent) {
            Ok(o) => o,
            Err(why) => return report(OrderStatus::Rejected, why),
        };
        match submit(&self.client, &order, &self.backoff, &*self.sleep) {
            Submitted::Acked(ack) => self.after_ack(intent, ack.order_id),
            Submitted::Found(detail) => self
                .report_of(&intent.symbol, &detail)
                .unwrap_or_else(|e| acknowledged(intent, Some(detail.order_id.clone()), e)),
            Submitted::Rejected(e) => report(OrderStatus::Rejected, e.to_string()),
            Submitted::Unknown(e) => report(OrderStatus::Unknown, e.to_string()),
        }
    }

    fn query(&self, symbol: &str, client_oid: &str) -> Result<Option<ExecutionReport>, ExecError> {
        let oid = ClientOid::parse(client_oid).map_err(ExecError::Refused)?;
        match self
            .client
            .order_detail(symbol, &oid)
            .map_err(unavailable)?
        {
            None => Ok(None),
            Some(d) => self.report_of(symbol, &d).map(Some).map_err(unavailable),
        }
    }

    fn cancel(&self, symbol: &str, client_oid: &str) -> Result<CancelOutcome, ExecError> {
        let oid = ClientOid::parse(client_oid).map_err(ExecError::Refused)?;
        match self
            .client
            .cancel_order(symbol, &oid)
            .map_err(unavailable)?
        {
            crate::order::CancelOutcome::Canceled => Ok(CancelOutcome::Canceled),
            crate::order::CancelOutcome::NotFound => Ok(CancelOutcome::NotFound),
        }
    }

    fn amend_stop(&self, symbol: &str, side: Side, stop: Decimal) -> Result<(), ExecError> {
        let long = side == Side::Long;
        let position = self
            .client
            .positions()
            .map_err(unavailable)?
            .into_iter()
            .find(|p| p.symbol == symbol && p.long == long)
            .ok_or_else(|| {
                ExecError::Refused(format!("no {side} position on {symbol} at Bitget"))
            })?;
        let id = position.stop_loss_id.ok_or_else(|| {
            ExecError::Refused(format!(
                "the {side} position on {symbol} has no exchange stop"
            ))
        })?;
        let spec = self.client.contract(symbol).map_err(unavailable)?;
        self.client
            .move_stop(symbol, &id, spec.round_stop(stop, long))
            .map_err(unavailable)
    }

    /// Once per symbol per process: the contract, isolated margin, the leverage
    /// ([`prepare`]).
    fn prepare(&self, symbol: &str) -> Result<(), ExecError> {
        self.prepare_once(symbol)
    }

    fn venue_closes(
        &self,
        symbol: &str,
        side: Side,
        since: Timestamp,
    ) -> Result<Vec<(String, ExecFill)>, ExecError> {
        self.closes_since(symbol, side, since)
    }

    fn open_orders(&self) -> Result<Vec<(String, String, String)>, ExecError> {
        Ok(self
            .client
            .open_orders()
            .map_err(unavailable)?
            .into_iter()
            .map(|o| (o.symbol, o.client_oid, o.order_id))
            .collect())
    }

    fn positions(&self) -> Result<Vec<VenuePosition>, ExecError> {
        Ok(self
            .client
            .positions()
            .map_err(unavailable)?
            .into_iter()
            .map(|p| VenuePosition {
                symbol: p.symbol,
                side: if p.long { Side::Long } else { Side::Short },
                qty: p.size,
                entry_price: p.entry_price,
                stop_loss: p.stop_loss,
            })
            .collect())
    }

    fn account(&self) -> Result<AccountSnapshot, ExecError> {
        let a = self.client.usdt_account().map_err(unavailable)?;
        Ok(AccountSnapshot {
            equity: a.equity,
            available: a.isolated_max_available,
        })
    }
}
