//! LOMS's Bitget v2 USDT-M futures execution client (the semi-live test's venue).
//!
//! - [`BitgetClient::from_parts`]: the client the settings describe (base URL, demo,
//!   credentials or secrets file), shared by loms-server and `loms-health --live`.
//! - [`sign`]: the private REST signature, equal to the spec's vectors, and the
//!   credentials (never shown by `Debug`).
//! - [`contract`]: contract rules and the rounding of sizes (down) and stops (toward the
//!   entry); an order that breaks a rule is refused before anything is sent.
//! - [`client`]: the blocking REST client (place, detail by clientOid or order id,
//!   cancel, fills of an order or of a symbol since a time,
//!   positions, account, key info, leverage, margin mode, stop amend, server time).
//! - [`submit`]: placing an order when answers can be lost: look it up by clientOid,
//!   re-send only under the same id, back off on 429.
//! - [`execution`]: Bitget as LOMS's `ExecutionClient` (an order intent in, a report
//!   with the real fills out; each symbol prepared once; the venue's own closes, such
//!   as a fired stop, read back).
//! - [`gates`]: the read-only pre-live checklist (clock, key UID and permissions,
//!   account family, one-way mode, equity ceiling).
//! - [`codes`] and [`error`]: every failure classified by what the caller may assume,
//!   above all whether an order's outcome is unknown (look it up by clientOid, never
//!   send it under another id).
//!
//! Only `BROKER_MODE=live` may construct a [`client::BitgetClient`]: it is the one type
//! in LOMS that can sign a request.

pub mod client;
pub mod codes;
mod connect;
pub mod contract;
pub mod error;
pub mod execution;
pub mod gates;
pub mod order;
pub mod sign;
pub mod submit;

pub use client::{BitgetClient, BitgetConfig};
pub use codes::ErrorClass;
pub use contract::{ContractSpec, SizeRefusal};
pub use error::BitgetError;
pub use execution::BitgetExecution;
pub use order::{ClientOid, Fill, Leg, OrderSide, OrderSource, PlaceOrder};
pub use sign::Credentials;
pub use submit::{Backoff, Submitted, submit};
