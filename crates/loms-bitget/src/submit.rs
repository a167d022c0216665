//! Placing an order when answers can be lost: the unknown-outcome recipe of
//! ../shared/spec/bitget-live.md §3.
//!
//! - a clean refusal (balance, size, mode...) is final: the intent is rejected;
//! - a refusal before processing (429, unreachable, venue busy) is retried after a
//!   back-off, under the **same** clientOid;
//! - a lost answer (timeout, reset, 5xx) or "duplicate clientOid" means the order may
//!   exist: it is looked up by clientOid until the venue says. Found → adopted. Not found
//!   on two lookups a back-off apart → it was not placed; sent again under the same id
//!   (so a late arrival of the first send is refused as a duplicate, never doubled).
//!
//! One intent is never two orders: no path sends another clientOid.

use crate::client::BitgetClient;
use crate::error::BitgetError;
use crate::order::{OrderAck, OrderDetail, PlaceOrder};
use std::time::Duration;

/// How long to wait between tries; the last delay repeats until `max_tries`.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Delays between tries, in order.
    pub delays: Vec<Duration>,
    /// Requests at most (sends and lookups together) before giving up as unknown.
    pub max_tries: u32,
}

impl Default for Backoff {
    /// 0.25, 0.5, 1, 2, then 4 s; 20 requests (about a minute).
    fn default() -> Self {
        Self {
            delays: [250, 500, 1000, 2000, 4000]
                .into_iter()
                .map(Duration::from_millis)
                .collect(),
            max_tries: 20,
        }
    }
}

impl Backoff {
    fn delay(&self, n: usize) -> Duration {
        self.delays
            .get(n)
            .or(self.delays.last())
            .copied()
            .unwrap_or_default()
    }
}

/// What became of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// The venue took it (acknowledged by the place-order answer).
    Acked(OrderAck),
    /// The answer was lost, and the lookup found it: its state on the venue.
    Found(OrderDetail),
    /// The venue refused it; no order exists.
    Rejected(BitgetError),
    /// Still unknown after every try: the order may exist. The caller must keep it
    /// unknown (entries stop) and resolve it by clientOid later, never re-send it
    /// under another id.
    Unknown(BitgetError),
}

/// Place `order`, resolving a lost answer by clientOid; `sleep` waits between tries
/// (injected: tests do not sleep).
pub fn submit(
    client: &BitgetClient,
    order: &PlaceOrder,
    backoff: &Backoff,
    sleep: &dyn Fn(Duration),
) -> Submitted {
    let mut tries = 0u32;
    let mut waits = 0usize;
    let wait = |waits: &mut usize| {
        sleep(backoff.delay(*waits));
        *waits += 1;
    };
    let mut last;
    'send: loop {
        tries += 1;
        match client.place_order(order) {
            Ok(ack) => return Submitted::Acked(ack),
            Err(e) if e.outcome_unknown() => last = e,
            Err(e) if e.retryable() => {
                log::warn!(
                    "order_send_retry client_oid={} error=\"{e}\"",
                    order.client_oid
                );
                last = e;
                if tries >= backoff.max_tries {
                    // Refused before processing every time: nothing was placed.
                    return Submitted::Rejected(last);
                }
                wait(&mut waits);
                continue 'send;
            }
            Err(e) => return Submitted::Rejected(e),
        }
        // The order may exist: ask until the venue says.
        log::warn!(
            "order_outcome_unknown client_oid={} error=\"{last}\"",
            order.client_oid
        );
        let mut not_found = 0;
        loop {
            if tries >= backoff.max_tries {
                return Submitted::Unknown(last);
            }
            wait(&mut waits);
            tries += 1;
            match client.order_detail(&order.symbol, &order.client_oid) {
                Ok(Some(detail)) => return Submitted::Found(detail),
                Ok(None) => {
                    not_found += 1;
                    if not_found >= 2 {
                        // Not placed: send again, under the same id.
                        continue 'send;
                    }
                }
                Err(e) => last = e,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_delay_repeats() {
        let b = Backoff {
            delays: vec![Duration::from_millis(1), Duration::from_millis(5)],
            max_tries: 3,
        };
        assert_eq!(b.delay(0), Duration::from_millis(1));
        assert_eq!(b.delay(7), Duration::from_millis(5));
        let none = Backoff {
            delays: vec![],
            max_tries: 1,
        };
        assert_eq!(none.delay(3), Duration::ZERO);
    }
}
