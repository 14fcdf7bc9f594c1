//! Jushuitan (聚水潭) open platform, "openweb" version 2: the wire protocol as pure functions.
//!
//! - `request.rs`: credentials and the signed, form-encoded POST body of a business call.
//! - `envelope.rs`: the `{code, msg, data}` response, its pages, and what each error code
//!   means for a client (refresh the token, back off, or give up).
//!
//! The HTTP client, the simulator and the sync on top of these come with the rest of the
//! connectors issue.

mod envelope;
mod request;

pub use envelope::{JstError, Page, parse_page};
pub use request::{Credentials, biz_body, token_body};
