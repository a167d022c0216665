//! What the venue holds next to what LOMS holds (live), and an operator's word on a
//! difference (`GET /venue`, `POST /venue/reconcile`, `loms-ctl reconcile`).

use crate::{Decimal, Side};
use serde::{Deserialize, Serialize};

/// A position as the venue holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VenueHolding {
    /// Instrument.
    pub symbol: String,
    /// Long or short.
    pub side: Side,
    /// Size, base coin.
    pub qty: Decimal,
    /// Average entry.
    pub entry_price: Decimal,
    /// The venue-side stop, if any.
    pub stop_loss: Option<Decimal>,
}

/// An open LOMS position, as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LomsHolding {
    /// Position id.
    pub id: i64,
    /// Instrument.
    pub symbol: String,
    /// Long or short.
    pub side: Side,
    /// Size, base coin.
    pub qty: Decimal,
    /// The order working on it at the venue, if one is (`<client id> <status>`).
    pub working: Option<String>,
}

/// One thing LOMS doubts about the venue (entries are held while any is left).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doubt {
    /// What it is about (`venue:<symbol>`, a client order id, `stop:<position id>`...).
    pub key: String,
    /// Why, and what to do.
    pub reason: String,
}

/// `GET /venue`: the venue's positions next to LOMS's open ones, and the doubts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VenueView {
    /// The venue's name.
    pub venue: String,
    /// The venue's open positions.
    pub positions: Vec<VenueHolding>,
    /// LOMS's open positions.
    pub loms: Vec<LomsHolding>,
    /// What holds entries now.
    pub doubts: Vec<Doubt>,
    /// Neither the venue nor LOMS holds anything.
    pub flat: bool,
}

/// What an operator says about a difference on a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileAction {
    /// Take the venue's word: a venue position LOMS does not hold becomes a LOMS
    /// position; a LOMS position the venue does not hold is closed in LOMS (no order).
    Adopt,
    /// Close at the venue, reduce-only, the part of the venue's position LOMS does not
    /// own.
    Close,
}

impl ReconcileAction {
    /// Wire name (`adopt`, `close`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileAction::Adopt => "adopt",
            ReconcileAction::Close => "close",
        }
    }
}

/// `POST /venue/reconcile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileRequest {
    /// The symbol the difference is on.
    pub symbol: String,
    /// What to do.
    pub action: ReconcileAction,
    /// `close`: the size to close, as `GET /venue` showed it (a repeated command, or a
    /// venue that moved since, is refused instead of closing twice).
    #[serde(default)]
    pub qty: Option<Decimal>,
    /// Who says so (audited).
    #[serde(default)]
    pub by: Option<String>,
}

/// What a reconcile action did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcileOutcome {
    /// The symbol.
    pub symbol: String,
    /// The action.
    pub action: ReconcileAction,
    /// What was done, in words.
    pub done: String,
    /// The LOMS position adopted or closed, if any.
    pub position_id: Option<i64>,
}
