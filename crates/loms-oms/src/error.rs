//! Errors of the OMS, each one a thing a caller can act on.

use loms_risk::RiskBlock;
use loms_storage::StorageError;

/// What went wrong handling a request.
#[derive(Debug, thiserror::Error)]
pub enum OmsError {
    /// The request body is not JSON.
    #[error("{0}")]
    Malformed(String),
    /// A field is missing or invalid.
    #[error("{0}")]
    Invalid(String),
    /// No such position.
    #[error("position {0} not found")]
    NotFound(i64),
    /// A risk limit refused a manual order.
    #[error("{0}")]
    RiskBlocked(RiskBlock),
    /// Not possible in the current mode (e.g. pinning a price without the simulator).
    #[error("{0}")]
    WrongMode(String),
    /// An order is working on the position at the venue (live): nothing more is sent
    /// for it until that one settles.
    #[error("{0}")]
    Busy(String),
    /// No usable price for the symbol.
    #[error("no price for {symbol}: {detail}")]
    PriceUnavailable {
        /// Symbol.
        symbol: String,
        /// Why.
        detail: String,
    },
    /// The order was not filled (rejected, or not executable inside the writer).
    #[error("broker: {0}")]
    Broker(String),
    /// The database failed: nothing of the request was stored, or (after a failed
    /// flush of the WAL) it may not be on disk, in which case every later write is
    /// refused until a restart lets SQLite's recovery decide.
    #[error("storage unavailable: {0}")]
    Storage(String),
    /// The OMS is shutting down.
    #[error("the OMS is shutting down")]
    Stopped,
}

impl From<StorageError> for OmsError {
    fn from(e: StorageError) -> Self {
        OmsError::Storage(e.to_string())
    }
}

impl From<loms_domain::DomainError> for OmsError {
    fn from(e: loms_domain::DomainError) -> Self {
        OmsError::Invalid(e.to_string())
    }
}

impl OmsError {
    /// Stable machine-readable code for the HTTP `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            OmsError::Malformed(_) => "malformed_json",
            OmsError::Invalid(_) => "invalid_signal",
            OmsError::NotFound(_) => "not_found",
            OmsError::RiskBlocked(_) => "risk_blocked",
            OmsError::WrongMode(_) => "wrong_mode",
            OmsError::Busy(_) => "order_working",
            OmsError::PriceUnavailable { .. } => "price_unavailable",
            OmsError::Broker(_) => "broker_error",
            OmsError::Storage(_) => "storage_unavailable",
            OmsError::Stopped => "shutting_down",
        }
    }
}
