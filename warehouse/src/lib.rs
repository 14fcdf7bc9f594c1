//! # warehouse — the lakehouse under zhongtai
//!
//! Owns storage: the canonical e-commerce tables as Delta Lake tables on an object store
//! (a local folder by default, S3 when configured), and the DataFusion session that queries
//! them. It is the only crate that touches storage; others hand it Arrow `RecordBatch`es.
//!
//! Codemap:
//! - [`schema`]: the canonical tables as data ([`schema::CATALOG`]) and their conventions.
//! - `location`: where the lake lives ([`LakeConfig`], [`LakeLocation`]).
//! - `lake`: the [`Warehouse`] facade: open, create tables, load versions, table info.
//! - `write`: [`Warehouse::write`], the one typed write operation (append, insert_new, upsert,
//!   replace_children_of, delete) with the ownership rules; `write/commit.rs` makes every commit.
//! - `conform`: fits incoming batches to a table's schema or says why not.
//! - `session`: the DataFusion `SessionContext` with every table registered.
//! - [`guard`]: SQL from people made safe to run: depth limits before planning, capped
//!   allocating functions.
//! - `changes`: files and values changed between two versions (for incremental marts).
//! - `write_lock`: one writer per table in a process, and the epoch that counts its writes.
//! - `cache`: [`TableCache`], loaded tables kept between queries and refreshed incrementally.
//! - `assets`: files (brand logos) stored beside the tables.
//!
//! Invariants: every write is one Delta commit; money is `Decimal128(18,2)`; this crate never
//! depends on `connectors`.

mod assets;
mod cache;
mod changes;
mod conform;
mod error;
pub mod guard;
mod lake;
mod location;
pub mod schema;
mod session;
mod write;
mod write_lock;

pub use cache::TableCache;
pub use conform::{conform, conform_to};
pub use error::{Result, WarehouseError};
pub use lake::{TableInfo, Warehouse};
pub use location::{LakeConfig, LakeLocation};
pub use write::{Appender, ForeignRows, Owner, WriteOp, WriteReport, sql_text};

/// Re-exported so callers share this crate's DataFusion and Delta versions.
pub use datafusion;
pub use deltalake;
