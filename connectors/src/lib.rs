//! # connectors — getting data out of platforms and files, as Arrow
//!
//! Everything that reads from outside zhongtai yields Arrow `RecordBatch`es and knows nothing of
//! the warehouse; `pipelines` joins the two.
//!
//! Codemap:
//! - [`files`]: CSV / XLSX / Parquet imports, read strictly against a target schema.
//! - [`jushuitan`]: Jushuitan request bodies and response envelopes (pure functions).
//! - [`top`]: Taobao/Tmall TOP: signed requests, envelopes, a paced client, streams, simulator.
//! - [`tolerant`]: reading platform JSON whose ids and amounts come in several shapes.
//! - [`stream`]: the seam to the sync engine: windowed, paged streams of raw records.
//! - [`pace`]: call budgets per platform app, shared by every client, connector and process of the app.
//! - [`sign`]: Jushuitan and Taobao/Tmall TOP request signing, checked against the official vectors;
//!   DingTalk / Feishu robot and webhook signatures.
//! - [`notify`]: sending alerts to WeCom, DingTalk, Feishu/Lark, e-mail and webhooks, and local
//!   receivers (`notify::sim`) that verify them.

pub mod files;
pub mod jushuitan;
mod loopback;
pub mod manifest;
pub mod minishop_sim;
pub mod notify;
pub mod pace;
pub mod sign;
pub mod stream;
pub mod tolerant;
pub mod top;
mod transport;
