//! Taobao / Tmall through the Taobao Open Platform (TOP) gateway (spec sheet §2).
//!
//! - `request.rs`: credentials and the signed, form-encoded body of a call.
//! - `envelope.rs`: `<method>_response` vs `error_response`, and [`TopError`]'s classes.
//! - `client.rs`: [`TopClient`], paced and recovering calls.
//! - `mapping.rs`: trades → `orders`, `order_items`, `payments`; refunds → `refunds`.
//! - `streams.rs`: [`TopSettings`], [`build_streams`] and the [`crate::stream::Stream`]s.
//! - `sim/`: a faithful gateway simulator on loopback.

mod client;
mod envelope;
mod mapping;
mod request;
pub mod sim;
mod streams;

pub use client::{ClientError, ClientStats, TopClient, TopClientConfig};
pub use envelope::{ErrorBody, TopError, ban_seconds, list, parse_response, response_key};
pub use mapping::{MappedRefunds, MappedTrades, SOURCE, TopMappingError, map_refunds, map_trades};
pub use request::{Credentials, TIMESTAMP_FORMAT, form_body, timestamp_text};
pub use streams::{STREAMS, TopOrders, TopRefunds, TopSettings, build_streams};
