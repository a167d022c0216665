//! What can go wrong with one request, told apart by what the caller may assume.

use crate::codes::ErrorClass;

/// The failure of one Bitget request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitgetError {
    /// The request never left (connection refused, DNS, bad URL): nothing happened on
    /// the venue, a retry is safe.
    #[error("Bitget unreachable: {0}")]
    Unreachable(String),
    /// The request may have reached the venue but no usable answer came back (timeout,
    /// reset, a 5xx without Bitget's envelope). For an order: its outcome is **unknown**
    /// until it is looked up by clientOid.
    #[error("no answer from Bitget ({0}): the outcome is unknown")]
    NoAnswer(String),
    /// Bitget answered with an error code.
    #[error("Bitget refused: code {code} ({class:?}): {msg}")]
    Venue {
        /// HTTP status.
        status: u16,
        /// Bitget's `code`.
        code: String,
        /// Bitget's `msg`.
        msg: String,
        /// What the code means for the caller.
        class: ErrorClass,
    },
    /// A success envelope whose `data` is not what the endpoint returns.
    #[error("unexpected answer from Bitget (HTTP {status}): {detail}")]
    BadAnswer {
        /// HTTP status.
        status: u16,
        /// What was wrong, with the start of the body.
        detail: String,
    },
    /// A request LOMS refused to build (a value that would need URL encoding...).
    #[error("request not sent: {0}")]
    Request(String),
}

impl BitgetError {
    /// The venue's error class, when Bitget answered with a code.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            BitgetError::Venue { class, .. } => Some(*class),
            _ => None,
        }
    }

    /// Whether an order request that failed this way may exist on the venue anyway,
    /// so it must be looked up by clientOid before anything else.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            BitgetError::NoAnswer(_) => true,
            BitgetError::Venue { class, .. } => matches!(
                class,
                ErrorClass::Transient | ErrorClass::DuplicateClientOid
            ),
            // A 2xx we could not read: the order may well have been accepted.
            BitgetError::BadAnswer { status, .. } => (200..300).contains(status),
            BitgetError::Unreachable(_) | BitgetError::Request(_) => false,
        }
    }

    /// Whether the same request may be sent again later (after a back-off): the venue did
    /// not act on it, or a read. A 429 is refused before it is processed.
    pub fn retryable(&self) -> bool {
        match self {
            BitgetError::Unreachable(_) | BitgetError::NoAnswer(_) => true,
            BitgetError::Venue { class, .. } => matches!(
                class,
                ErrorClass::RateLimited | ErrorClass::Transient | ErrorClass::Clock
            ),
            BitgetError::BadAnswer { status, .. } => *status >= 500,
            BitgetError::Request(_) => false,
        }
    }
}
