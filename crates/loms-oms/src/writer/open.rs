//! Opening a position: from a signal (idempotency, trading mode, risk, then the fill)
//! or from an operator's order; the order, the position and its entry fill are stored
//! together.

use super::execute;
use super::{Accepted, Ctx, Tick};
use crate::OmsError;
use crate::book::Book;
use crate::book::Working;
use crate::entry::EntryQuote;
use crate::executor::{Job, Settled};
use crate::order::ManualOrder;
use crate::publish::Event;
use loms_domain::SignalAnswer;
use loms_domain::{Decimal, Leg, OrderStatus, Position, Signal, Timestamp, size_qty, tp_sl_prices};
use loms_risk::{Intent, RiskLimits, check, check_signal_age};
use loms_storage::{SignalRecord, Tx};

#[allow(clippy::too_many_arguments)]
pub(super) fn on_signal(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    (s, entry): (&Signal, &EntryQuote),
    key: &str,
    payload: &str,
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<Accepted, OmsError> {
    if let Some(prev) = book.seen.response(tx, key, now)? {
        let mut a: SignalAnswer = serde_json::from_str(&prev)
            .map_err(|e| OmsError::Storage(format!("stored answer of {key} unreadable: {e}")))?;
        a.duplicate = true;
        // A live entry moves on after its first answer: say where it stands now, and
        // once filled, at what price and size.
        if let (Some(id), Some(_)) = (a.order_id, a.order_status)
            && let Some((status, price, qty)) = tx.order_state(id)?
        {
            a.order_status = Some(status);
            if status == OrderStatus::Filled {
                a.entry_price = Some(price);
                a.qty = Some(qty);
            }
        }
        events.push(Event::Log(format!(
            "signal_duplicate key={key} symbol={}",
            s.symbol
        )));
        events.push(Event::Signal("duplicate"));
        return Ok(Accepted {
            answer: a,
            settled: None,
        });
    }
    let enabled = book.trading.mode.signals_may_open();
    let mut a = SignalAnswer::base(enabled, key);
    let mut settled = None;
    if !enabled {
        a.reason = Some(book.trading.refusal());
        events.push(Event::Log(format!(
            "signal_ignored reason=trading_mode_{} key={key} symbol={}",
            book.trading.mode, s.symbol
        )));
    } else {
        let qty = match s.qty {
            Some(q) => q,
            None => size_qty(ctx.sizing, s.price)?,
        };
        let snap = book.snapshot(&s.symbol, now);
        let intent = Intent {
            symbol: &s.symbol,
            price: notional_price(ctx, s.price, entry.tick(&s.symbol).ok().flatten()),
            qty,
        };
        let verdict = check_signal_age(&ctx.limits, s.timestamp, now)
            .and_then(|()| held(ctx, book))
            .and_then(|()| check(&ctx.limits, &snap, &intent));
        match verdict {
            Err(b) => {
                events.push(Event::Log(format!(
                    "risk_block scope={} reason=\"{}\" symbol={} key={key}",
                    b.scope, b.reason, s.symbol
                )));
                events.push(Event::RiskBlock(b.scope.as_str()));
                a.risk_scope = Some(b.scope.as_str().into());
                a.risk_reason = Some(b.reason);
            }
            Ok(()) => {
                // Nothing is written before this: no quote, nothing stored (503).
                let tick = entry.tick(&s.symbol)?;
                let mut p = Position::open(s.symbol.clone(), s.side, qty, s.price, now);
                p.exchange = s.exchange.clone();
                p.exit_strategy = s
                    .exit_strategy
                    .clone()
                    .unwrap_or_else(|| ctx.default_exit.clone());
                p.signal_id = Some(key.to_string());
                p.strategy = Some(s.strategy.clone());
                p.timeframe_min = Some(s.timeframe_min);
                p.signal_price = Some(s.price);
                p.signal_time = Some(s.timestamp);
                let levels = Levels::Pct(s.tp_pct, s.sl_pct);
                let (tell, told) = match ctx.executor {
                    Some(_) => {
                        let (tx, rx) = tokio::sync::oneshot::channel();
                        (Some(tx), Some(rx))
                    }
                    None => (None, None),
                };
                let (p, status) =
                    open_position(ctx, tx, (p, tick), levels, "market", now, (events, tell))?;
                settled = told;
                a.risk_ok = true;
                a.order_status = Some(status);
                a.order_id = p.order_id;
                a.position_id = Some(p.id);
                a.entry_price = Some(p.entry_price);
                a.qty = Some(p.qty);
                a.tp_price = p.tp_price;
                a.sl_price = p.sl_price;
                a.exit_strategy = Some(p.exit_strategy.clone());
                events.push(Event::Log(opened_event(&p)));
                book.count_signal_open(&p.symbol, now);
                add_open(ctx, book, p, status);
            }
        }
    }
    let response = serde_json::to_string(&a).map_err(|e| OmsError::Storage(e.to_string()))?;
    let row = tx.insert_signal(&SignalRecord {
        idem_key: key,
        received_at: now,
        symbol: &s.symbol,
        outcome: a.outcome(),
        position_id: a.position_id,
        payload,
        response: &response,
    })?;
    book.seen.insert(key, row);
    events.push(Event::Signal(a.outcome()));
    Ok(Accepted { answer: a, settled })
}

/// The price a new position's notional is checked at: the one stated (paper fills
/// there); live, the higher of it and the market's, since the venue fills at the market
/// whatever was stated (LIVE_MAX_NOTIONAL_USDT must hold for what is really bought).
fn notional_price(ctx: &Ctx, stated: Decimal, market: Option<&Tick>) -> Decimal {
    match (&ctx.executor, market) {
        (Some(_), Some(t)) => t.price.max(stated),
        _ => stated,
    }
}

/// A live signal meets doubts about the venue: entries are held, with the reason.
fn held(ctx: &Ctx, book: &Book) -> Result<(), loms_risk::RiskBlock> {
    if ctx.executor.is_none() {
        return Ok(());
    }
    match book.entries_held() {
        None => Ok(()),
        Some(reason) => Err(loms_risk::RiskBlock {
            scope: loms_risk::RiskScope::Venue,
            reason,
        }),
    }
}

/// Track the position just stored; an entry still at the venue is working on it.
fn add_open(ctx: &Ctx, book: &mut Book, p: Position, status: OrderStatus) {
    let id = p.id;
    book.add_open(p);
    if status == OrderStatus::Filled {
        return;
    }
    let client_oid = loms_domain::ClientOid::derive(&ctx.oid_tag, id, Leg::Entry)
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    if let Some(o) = book.open.get_mut(&id) {
        o.working = Some(Box::new(Working {
            client_oid,
            leg: Leg::Entry,
            status,
        }));
    }
}

pub(super) fn on_order(
    ctx: &Ctx,
    book: &mut Book,
    tx: &Tx<'_>,
    (o, tick): (&ManualOrder, Option<&Tick>),
    now: Timestamp,
    events: &mut Vec<Event>,
) -> Result<Position, OmsError> {
    if !book.trading.mode.orders_may_open() {
        return Err(OmsError::WrongMode(format!(
            "trading mode is {}: no position may be opened",
            book.trading.mode
        )));
    }
    let snap = book.snapshot(&o.symbol, now);
    // Rate and staleness limits are about signals; position limits hold for everyone.
    let limits = RiskLimits {
        max_signals_per_day: None,
        max_signals_per_symbol_per_day: None,
        max_signal_age_sec: None,
        ..ctx.limits.clone()
    };
    let intent = Intent {
        symbol: &o.symbol,
        price: notional_price(ctx, o.entry_price, tick),
        qty: o.qty,
    };
    held(ctx, book)
        .and_then(|()| check(&limits, &snap, &intent))
        .map_err(OmsError::RiskBlocked)?;
    let mut p = Position::open(o.symbol.clone(), o.side, o.qty, o.entry_price, now);
    p.exit_strategy = ctx.default_exit.clone();
    // Paper: an operator's order states its price (no quote). Live: the venue fills it
    // at the market, which is its reference price.
    let (p, status) = open_position(
        ctx,
        tx,
        (p, tick),
        Levels::Abs(o.tp_price, o.sl_price),
        &o.order_type,
        now,
        (events, None),
    )?;
    events.push(Event::Log(opened_event(&p)));
    add_open(ctx, book, p.clone(), status);
    Ok(p)
}

enum Levels {
    Pct(Decimal, Decimal),
    Abs(Option<Decimal>, Option<Decimal>),
}

/// Open `p`: paper executes the entry at once ([`open_paper`]); live stores it as
/// `pending_submit` and sends it once the batch is durable ([`open_live`]). Returns the
/// position as stored and its entry order's status.
#[allow(clippy::too_many_arguments)]
fn open_position(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (p, tick): (Position, Option<&Tick>),
    levels: Levels,
    order_type: &str,
    now: Timestamp,
    (events, settled): (
        &mut Vec<Event>,
        Option<tokio::sync::oneshot::Sender<Settled>>,
    ),
) -> Result<(Position, OrderStatus), OmsError> {
    match ctx.executor {
        None => open_paper(ctx, tx, (p, tick), levels, order_type, now)
            .map(|p| (p, OrderStatus::Filled)),
        Some(_) => {
            let (p, order) = open_live(ctx, tx, (p, tick), levels, order_type, now)?;
            events.push(Event::Venue(Job::Submit { order, settled }));
            Ok((p, OrderStatus::PendingSubmit))
        }
    }
}

/// The stop-loss and take-profit of `p` from its entry price.
fn set_levels(p: &mut Position, levels: Levels) -> Result<(), OmsError> {
    (p.tp_price, p.sl_price) = match levels {
        Levels::Pct(tp, sl) => {
            let (t, s) = tp_sl_prices(p.side, p.entry_price, tp, sl)?;
            (Some(t), Some(s))
        }
        Levels::Abs(t, s) => (t, s),
    };
    Ok(())
}

/// Store the position `p` under `id` with its entry order `order_id`, checking the id.
fn insert_position(tx: &Tx<'_>, p: &mut Position, id: i64, order_id: i64) -> Result<(), OmsError> {
    p.order_id = Some(order_id);
    p.id = tx.insert_position(p)?;
    if p.id != id {
        return Err(OmsError::Storage(format!(
            "position stored as {} where its client order id says {id}",
            p.id
        )));
    }
    Ok(())
}

/// The id the position `p` will be stored under, and its entry order: at the tick's
/// price and quote when there is one, else at the position's price.
fn entry_intent(
    ctx: &Ctx,
    tx: &Tx<'_>,
    p: &Position,
    tick: Option<&Tick>,
    now: Timestamp,
) -> Result<(i64, loms_broker::OrderIntent), OmsError> {
    let id = tx.next_position_id()?;
    let price = tick.map_or(p.entry_price, |t| t.price);
    let quote = tick.map(|t| &t.quote);
    let order = execute::intent(ctx, (id, Leg::Entry), p, p.qty, price, quote, now)?;
    Ok((id, order))
}

/// Execute the entry ([`execute::execute_inline`]) — at the tick's quote when there is
/// one (paper buys at its ask and sells at its bid), else at the position's price —
/// and store the order (with its client order id), the position and its fills.
fn open_paper(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (mut p, tick): (Position, Option<&Tick>),
    levels: Levels,
    order_type: &str,
    now: Timestamp,
) -> Result<Position, OmsError> {
    let (id, order) = entry_intent(ctx, tx, &p, tick, now)?;
    let fill = execute::execute_inline(ctx, &order)?;
    p.entry_price = fill.price;
    p.qty = fill.qty;
    p.opened_qty = fill.qty;
    p.created_at = fill.ts;
    p.fees = fill.fee;
    p.external_order_id = fill.report.exchange_order_id.clone();
    set_levels(&mut p, levels)?;
    let order_id = execute::store_order(tx, (&p, id), &fill, order_type, None)?;
    insert_position(tx, &mut p, id, order_id)?;
    execute::store_fills(tx, (p.id, order_id), &p, &fill, ("entry", None))?;
    ctx.prices.observe(&p.symbol, p.entry_price);
    Ok(p)
}

/// Store a live entry before anything is sent: the order as `pending_submit` under its
/// client order id and the position at the reference price (the tick's, else its
/// own), with the stop computed from that price and sent with the order (the venue
/// holds it from the first fill). The take-profit stays with LOMS's exit policy.
/// The fills set the real price, size and fees when they come ([`super::report`]).
/// A signal's entry also keeps what the paper broker would have filled it at now (its
/// shadow price: the same quote and SLIPPAGE_BPS), which the fill is measured against.
fn open_live(
    ctx: &Ctx,
    tx: &Tx<'_>,
    (mut p, tick): (Position, Option<&Tick>),
    levels: Levels,
    order_type: &str,
    now: Timestamp,
) -> Result<(Position, loms_broker::OrderIntent), OmsError> {
    p.entry_price = tick.map_or(p.entry_price, |t| t.price);
    set_levels(&mut p, levels)?;
    let (id, mut order) = entry_intent(ctx, tx, &p, tick, now)?;
    order.take_profit = None;
    if p.signal_price.is_some() {
        // Where paper would not fill (a price that is not positive), nothing to compare.
        p.paper_entry_price = ctx.paper.fill_price(&order).ok();
    }
    let order_id = execute::store_pending(tx, (&p, id), &order, order_type, None)?;
    insert_position(tx, &mut p, id, order_id)?;
    Ok((p, order))
}

fn opened_event(p: &Position) -> String {
    format!(
        "position_opened id={} symbol={} side={} qty={} entry={} tp={} sl={} exit={} key={}",
        p.id,
        p.symbol,
        p.side,
        p.qty,
        p.entry_price,
        p.tp_price.map_or("-".into(), |d| d.to_string()),
        p.sl_price.map_or("-".into(), |d| d.to_string()),
        p.exit_strategy,
        p.signal_id.as_deref().unwrap_or("-")
    )
}
