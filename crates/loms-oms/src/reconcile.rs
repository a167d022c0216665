//! The venue seen next to LOMS (`GET /venue`) and an operator's word on a difference
//! (`POST /venue/reconcile`, `loms-ctl reconcile`): adopt into LOMS, or close at the
//! venue reduce-only. Live only; every action is audited, and a reconciliation runs
//! right after it so the doubts say what is left.

use crate::OmsError;
use crate::audit::AuditLog;
use crate::executor::Job;
use crate::writer::Write;
use crate::{Oms, PositionFilter};
use loms_broker::OrderIntent;
use loms_domain::{
    Doubt, LomsHolding, OrderStatus, PositionStatus, ReconcileAction, ReconcileOutcome,
    ReconcileRequest, VenueHolding, VenueView,
};

impl Oms {
    fn require_venue(&self) -> Result<&crate::executor::Executor, OmsError> {
        self.0.executor.as_ref().ok_or_else(|| {
            OmsError::WrongMode("paper mode has no venue: BROKER_MODE=live only".into())
        })
    }

    /// The venue's positions next to LOMS's open ones, and what holds entries.
    ///
    /// # Errors
    /// [`OmsError::WrongMode`] in paper mode; [`OmsError::Broker`] when the venue cannot
    /// be asked; [`OmsError::Storage`].
    pub async fn venue_view(&self) -> Result<VenueView, OmsError> {
        self.require_venue()?;
        let x = self.0.deps.execution.clone();
        let venue = tokio::task::spawn_blocking(move || x.positions())
            .await
            .map_err(|e| OmsError::Broker(format!("venue task failed: {e}")))?
            .map_err(|e| OmsError::Broker(format!("the venue's positions: {e}")))?;
        let filter = PositionFilter {
            status: Some(PositionStatus::Open),
            ..PositionFilter::default()
        };
        let (open, working) = self
            .read(move |s| Ok((s.positions(&filter)?, s.unresolved_orders()?)))
            .await?;
        let loms: Vec<LomsHolding> = open
            .into_iter()
            .map(|p| LomsHolding {
                working: working
                    .iter()
                    .find(|o| o.position_id == Some(p.id))
                    .map(|o| format!("{} {}", o.client_oid, o.status)),
                id: p.id,
                symbol: p.symbol,
                side: p.side,
                qty: p.qty,
            })
            .collect();
        let positions: Vec<VenueHolding> = venue
            .into_iter()
            .map(|v| VenueHolding {
                symbol: v.symbol,
                side: v.side,
                qty: v.qty,
                entry_price: v.entry_price,
                stop_loss: v.stop_loss,
            })
            .collect();
        let doubts = self
            .0
            .doubts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(key, reason)| Doubt {
                key: key.clone(),
                reason: reason.clone(),
            })
            .collect();
        Ok(VenueView {
            venue: self.0.deps.execution.venue().to_string(),
            flat: positions.is_empty() && loms.is_empty(),
            positions,
            loms,
            doubts,
        })
    }

    /// Settle a difference on `req.symbol` on the operator's word (see
    /// [`ReconcileAction`]); audited, then the venue is compared again.
    ///
    /// # Errors
    /// [`OmsError::Invalid`] when the action does not fit what the venue and LOMS hold
    /// now (the message says what does); [`OmsError::WrongMode`] in paper mode;
    /// [`OmsError::Broker`], [`OmsError::Storage`].
    pub async fn reconcile(&self, req: ReconcileRequest) -> Result<ReconcileOutcome, OmsError> {
        let executor = self.require_venue()?.clone();
        let by = match &req.by {
            None => "operator".to_string(),
            Some(b) => loms_domain::signal::identifier("by", b, 64)?,
        };
        let view = self.venue_view().await?;
        let venue = view.positions.iter().find(|v| v.symbol == req.symbol);
        let ours: Vec<&LomsHolding> = view
            .loms
            .iter()
            .filter(|p| p.symbol == req.symbol)
            .collect();
        let done = |text: String, position_id| ReconcileOutcome {
            symbol: req.symbol.clone(),
            action: req.action,
            done: text,
            position_id,
        };
        let r = match (req.action, venue, &ours[..]) {
            (ReconcileAction::Adopt, Some(v), []) => {
                let holding = Box::new(v.clone());
                let by = by.clone();
                self.ask(|reply| Write::Adopt { holding, by, reply })
                    .await
                    .map(|p| {
                        let text = format!(
                            "adopted the venue's {} {} {} at {} as position {}",
                            v.side, v.qty, v.symbol, v.entry_price, p.id
                        );
                        done(text, Some(p.id))
                    })
            }
            (ReconcileAction::Adopt, None, [one]) => {
                let id = one.id;
                match self.price(&req.symbol).await {
                    Err(e) => Err(e),
                    Ok(price) => {
                        let by = by.clone();
                        self.ask(|reply| Write::Forget {
                            id,
                            price,
                            by,
                            reply,
                        })
                        .await
                        .map(|c| {
                            let text = format!(
                                "closed position {id} in LOMS at the market price {price} \
                                     (pnl {}): the venue holds nothing of it; no order was sent",
                                c.pnl.unwrap_or_default()
                            );
                            done(text, Some(id))
                        })
                    }
                }
            }
            (ReconcileAction::Close, Some(v), _) => self.close_unowned(v, &ours, &req).await,
            _ => Err(OmsError::Invalid(format!(
                "{} on {}: the venue holds {}, LOMS {}; adopt takes a venue position LOMS does \
                 not hold, or drops a LOMS position the venue does not hold; close closes \
                 the part of a venue position LOMS does not own",
                req.action.as_str(),
                req.symbol,
                venue.map_or("nothing".into(), |v| format!("{} {}", v.side, v.qty)),
                match ours.len() {
                    0 => "nothing".to_string(),
                    n => format!("{n} open position(s)"),
                }
            ))),
        };
        let outcome = match &r {
            Ok(o) => serde_json::json!({"status": "done", "done": o.done, "by": by}),
            Err(e) => serde_json::json!({"status": "refused", "error": e.to_string(), "by": by}),
        };
        let payload = serde_json::to_string(&req).unwrap_or_default();
        self.0.audit.append(&[AuditLog::record_of(
            "venue_reconcile",
            self.0.deps.clock.now(),
            &payload,
            Some("reconcile"),
            &outcome,
        )]);
        log::warn!(
            "venue_reconcile symbol={} action={} by={by} outcome={outcome}",
            req.symbol,
            req.action.as_str()
        );
        if r.is_ok() {
            executor.send(Job::Reconcile { again: false });
        }
        r
    }

    /// Close at the venue, reduce-only, what of `v` LOMS does not own (`ours`), when the
    /// operator named that size.
    async fn close_unowned(
        &self,
        v: &VenueHolding,
        ours: &[&LomsHolding],
        req: &ReconcileRequest,
    ) -> Result<ReconcileOutcome, OmsError> {
        let owned: loms_domain::Decimal = ours
            .iter()
            .filter(|p| p.side == v.side)
            .map(|p| p.qty)
            .sum();
        let unowned = v.qty - owned;
        if unowned <= loms_domain::Decimal::ZERO {
            return Err(OmsError::Invalid(format!(
                "LOMS owns all of the venue's {} {} {}: close it with POST /positions/{{id}}/close",
                v.side, v.qty, v.symbol
            )));
        }
        if req.qty != Some(unowned) {
            return Err(OmsError::Invalid(format!(
                "the venue's {} position holds {unowned} that LOMS does not own: repeat with qty={unowned} \
                 to close exactly that",
                v.symbol
            )));
        }
        let tag = self.read(|s| s.client_oid_tag()).await?;
        let ms = self.0.deps.clock.now().timestamp_millis();
        let order = OrderIntent {
            client_oid: format!("LR{tag}-{ms}"),
            symbol: v.symbol.clone(),
            side: v.side,
            reduce_only: true,
            qty: unowned,
            price: v.entry_price,
            quote: None,
            stop_loss: None,
            take_profit: None,
            ts: self.0.deps.clock.now(),
        };
        let x = self.0.deps.execution.clone();
        let sent = order.clone();
        let report = tokio::task::spawn_blocking(move || x.submit(&sent))
            .await
            .map_err(|e| OmsError::Broker(format!("venue task failed: {e}")))?;
        match report.status {
            OrderStatus::Filled => Ok(ReconcileOutcome {
                symbol: v.symbol.clone(),
                action: ReconcileAction::Close,
                done: format!(
                    "closed {unowned} of the venue's {} {} reduce-only (order {}, avg {})",
                    v.side,
                    v.symbol,
                    order.client_oid,
                    report.avg_price().map_or("-".into(), |p| p.to_string())
                ),
                position_id: None,
            }),
            status => Err(OmsError::Broker(format!(
                "the reduce-only close {} of {unowned} {} is {status}: {}; check GET /venue \
                 before trying again",
                order.client_oid,
                v.symbol,
                report.reason.unwrap_or_default()
            ))),
        }
    }
}
