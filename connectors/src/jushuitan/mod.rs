//! Jushuitan (聚水潭) open platform, "openweb" version 2: the wire protocol as pure functions.
//!
//! - `request.rs`: credentials and the signed, form-encoded POST body of a business call.
//! - `envelope.rs`: the `{code, msg, data}` response, its pages, and what each error code
//!   means for a client (refresh the token, back off, or give up).
//!
//! - `client.rs`: [`JstClient`], paced and recovering HTTP calls.
//! - `mapping.rs`: order documents → canonical `orders`, `order_items`, `payments` batches.
//! - `streams.rs`: settings, the builder, and the orders [`crate::stream::Stream`].
//! - `endpoint_streams.rs`: the other streams (refunds, shipments, logistics, inventory,
//!   purchases, skus, shops, warehouses); `maps/` their mappings to canonical rows, over
//!   `record.rs` (reading a record, errors naming record and field); batches are built with
//!   `vocab::rows`, cells addressed by column name.
//! - `sim/`: a faithful gateway simulator on loopback.

mod client;
mod endpoint_streams;
mod envelope;
mod mapping;
mod maps;
mod paging;
mod record;
mod request;
pub mod sim;
mod streams;

pub use client::{ClientConfig, ClientError, ClientStats, JstClient};
pub use endpoint_streams::{JstInventory, JstStream};
pub use envelope::{JstError, Page, parse_data, parse_page};
pub use mapping::{MappedOrders, MappingError, SOURCE, map_orders};
pub use record::RecordError;
pub use request::{Credentials, biz_body, token_body};
pub use streams::{JstOrders, JstSettings, STREAMS, build_streams};
