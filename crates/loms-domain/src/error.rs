//! Errors a caller can cause by handing the domain bad values.

/// A value that does not make sense for the domain (bad signal field, impossible price...).
///
/// The message is a complete sentence meant for the user who sent the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field of an input is missing or invalid.
    #[error("{0}")]
    Invalid(String),
    /// A requested price field is absent from the quote.
    #[error(
        "quote for {symbol} has no {field} price (PRICE_MODE={field}); choose another PRICE_MODE"
    )]
    MissingPriceField {
        /// Symbol of the quote.
        symbol: String,
        /// The field that was asked for.
        field: &'static str,
    },
    /// Arithmetic left the representable range.
    #[error("arithmetic overflow computing {0}")]
    Overflow(&'static str),
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }
}
