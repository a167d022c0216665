//! Bitget error codes, by what the adapter must do about them
//! (../shared/spec/bitget-live.md §12). Decided on `code`, never on `msg` — except the
//! duplicate-clientOid family, whose codes vary and whose message is checked too.

/// What an error answer means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Key, passphrase, IP, permissions, environment or account family: stop trading.
    Auth,
    /// The request's timestamp is off the venue's clock: resync, retry once.
    Clock,
    /// Too many requests: back off (at least a second).
    RateLimited,
    /// The venue is busy or releasing: reads may be retried; a write's outcome must be
    /// looked up by clientOid first.
    Transient,
    /// An order with this clientOid exists: look it up and adopt it, never a rejection.
    DuplicateClientOid,
    /// Not enough balance for the order: reject the intent, no retry.
    InsufficientBalance,
    /// Size or price breaks the contract's rules: reject, fix the rounding.
    SizeOrPrice,
    /// Nothing to reduce: the position is already flat; reconcile.
    NoPosition,
    /// The order does not exist (lookup, cancel): final; reconcile.
    OrderNotFound,
    /// Account mode (one-way/hedge, margin mode) does not fit the request: configuration.
    Mode,
    /// The stop or take-profit is on the wrong side of the mark price, or cannot change.
    TpSl,
    /// Any other refusal: the order was not placed.
    Other,
}

impl ErrorClass {
    /// The class of an error `code` (with its `msg` for the duplicate family).
    pub fn of(code: &str, msg: &str) -> Self {
        let code = code.trim();
        match code {
            "40001" | "40002" | "40003" | "40005" | "40006" | "40009" | "40011" | "40012"
            | "40036" | "40037" | "40038" | "40018" | "40014" | "40025" | "40040" | "40099"
            | "40085" | "40084" => ErrorClass::Auth,
            "40008" => ErrorClass::Clock,
            "429" | "40010" | "40910" => ErrorClass::RateLimited,
            "40015" | "40200" | "40725" | "45001" | "40908" | "43059" => ErrorClass::Transient,
            "40786" | "43118" | "45034" | "50060" | "40708" => ErrorClass::DuplicateClientOid,
            "40762" | "43012" | "40754" | "40798" | "45002" | "40711" => {
                ErrorClass::InsufficientBalance
            }
            "40808" | "41103" | "45110" | "45111" | "43006" | "43027" | "22038" | "45115"
            | "45035" | "43028" | "45113" => ErrorClass::SizeOrPrice,
            "22002" | "40757" | "43043" | "45006" | "40939" => ErrorClass::NoPosition,
            "40109" | "40768" | "43001" | "45057" | "22001" | "43020" => ErrorClass::OrderNotFound,
            "40774" | "45021" | "400172" | "40920" | "45117" => ErrorClass::Mode,
            "40917" | "45122" | "40915" | "40829" | "40830" | "40831" | "40832" | "40833"
            | "40834" | "40835" | "40836" | "43023" | "43030" | "43031" | "40837" | "40890"
            | "40895" | "40896" | "43022" => ErrorClass::TpSl,
            _ => {
                let m = msg.to_ascii_lowercase();
                if m.contains("duplicate") && (m.contains("clientoid") || m.contains("client_oid"))
                {
                    ErrorClass::DuplicateClientOid
                } else {
                    ErrorClass::Other
                }
            }
        }
    }

    /// Whether the order the request asked for certainly does not exist on the venue
    /// because of this refusal (a clean rejection of the intent).
    pub fn rejects_the_order(self) -> bool {
        matches!(
            self,
            ErrorClass::InsufficientBalance
                | ErrorClass::SizeOrPrice
                | ErrorClass::NoPosition
                | ErrorClass::Mode
                | ErrorClass::TpSl
                | ErrorClass::Auth
                | ErrorClass::Other
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_what_the_adapter_does() {
        for (code, msg, want) in [
            ("40012", "apikey/password is incorrect", ErrorClass::Auth),
            (
                "40099",
                "exchange environment is incorrect",
                ErrorClass::Auth,
            ),
            ("40008", "Request timestamp expired", ErrorClass::Clock),
            ("429", "Too Many Requests", ErrorClass::RateLimited),
            ("45001", "system upgrading", ErrorClass::Transient),
            (
                "40786",
                "Duplicate clientOid",
                ErrorClass::DuplicateClientOid,
            ),
            (
                "43118",
                "clientOrderId duplicate",
                ErrorClass::DuplicateClientOid,
            ),
            (
                "99999",
                "Duplicate ClientOid, try again",
                ErrorClass::DuplicateClientOid,
            ),
            (
                "40762",
                "The order amount exceeds the balance",
                ErrorClass::InsufficientBalance,
            ),
            (
                "45110",
                "less than the minimum amount 5 USDT",
                ErrorClass::SizeOrPrice,
            ),
            ("22002", "No position to close", ErrorClass::NoPosition),
            (
                "40109",
                "The data of the order cannot be found",
                ErrorClass::OrderNotFound,
            ),
            ("40774", "unilateral position", ErrorClass::Mode),
            (
                "40917",
                "Stop price for long positions please < mark price",
                ErrorClass::TpSl,
            ),
            ("12345", "something else", ErrorClass::Other),
        ] {
            assert_eq!(ErrorClass::of(code, msg), want, "{code}");
        }
        assert!(!ErrorClass::DuplicateClientOid.rejects_the_order());
        assert!(!ErrorClass::Transient.rejects_the_order());
        assert!(ErrorClass::InsufficientBalance.rejects_the_order());
    }
}
