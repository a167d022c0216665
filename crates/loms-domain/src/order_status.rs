//! Where an order stands in its lifecycle (write-ahead intent → venue → outcome).
//!
//! ```text
//! pending_submit ──send──▶ submitted ──fills──▶ filled
//!       │                     │  └──────────────▶ canceled (what filled, filled)
//!       │                     └─refused─────────▶ rejected
//!       └──no answer──▶ unknown ──lookup by client id──▶ submitted / filled / rejected
//! ```
//!
//! An order is written as `pending_submit` with its client order id **before** it is
//! sent, so a crash between the two is resolved by looking the id up, never by sending
//! a second order.

use crate::DomainError;
use std::fmt;
use std::str::FromStr;

/// The state of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Written durably, not yet sent (or sent and the process died before it knew).
    PendingSubmit,
    /// The venue acknowledged it; fills may still come.
    Submitted,
    /// Completely filled.
    Filled,
    /// The venue refused it: no order exists.
    Rejected,
    /// Cancelled by the venue or by LOMS, possibly after partial fills.
    Canceled,
    /// Sent, and no answer said what became of it: must be looked up by client order id
    /// before anything else is decided (entries stay off meanwhile).
    Unknown,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::PendingSubmit,
        OrderStatus::Submitted,
        OrderStatus::Filled,
        OrderStatus::Rejected,
        OrderStatus::Canceled,
        OrderStatus::Unknown,
    ];

    /// Lower-case name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingSubmit => "pending_submit",
            OrderStatus::Submitted => "submitted",
            OrderStatus::Filled => "filled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Unknown => "unknown",
        }
    }

    /// Nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled | OrderStatus::Rejected | OrderStatus::Canceled
        )
    }

    /// Its outcome is not known yet: the risk limits count it as open exposure, and it
    /// must be resolved (by client order id) before a restart takes new signals.
    pub fn unresolved(self) -> bool {
        matches!(
            self,
            OrderStatus::PendingSubmit | OrderStatus::Submitted | OrderStatus::Unknown
        )
    }

    /// Whether a report saying `next` may move an order from this status: a final status
    /// never changes, and an acknowledged order never becomes unknown again (reports may
    /// arrive late or twice).
    pub fn may_become(self, next: OrderStatus) -> bool {
        if self.is_final() {
            return self == next;
        }
        match next {
            OrderStatus::PendingSubmit => self == OrderStatus::PendingSubmit,
            // Once the venue acknowledged it, it exists: never back to "unknown".
            OrderStatus::Unknown => self != OrderStatus::Submitted,
            OrderStatus::Submitted => true,
            OrderStatus::Filled | OrderStatus::Rejected | OrderStatus::Canceled => true,
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| DomainError::invalid(format!("unknown order status {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("filled ".parse::<OrderStatus>().is_err());
    }

    #[test]
    fn final_states_never_change_and_fills_are_never_undone() {
        use OrderStatus::*;
        for s in [Filled, Rejected, Canceled] {
            assert!(s.is_final() && !s.unresolved());
            for next in OrderStatus::ALL {
                assert_eq!(s.may_become(next), s == next, "{s} -> {next}");
            }
        }
        assert!(PendingSubmit.may_become(Submitted));
        assert!(PendingSubmit.may_become(Unknown));
        assert!(Unknown.may_become(Filled));
        assert!(!Submitted.may_become(PendingSubmit));
        assert!(
            !Submitted.may_become(Unknown),
            "an acknowledged order exists"
        );
        assert!(PendingSubmit.unresolved() && Unknown.unresolved() && Submitted.unresolved());
    }
}
