//! # vocab — the words every crate spells the same way
//!
//! `connectors` reads platform and file values, `warehouse` stores them, `pipelines` and `api`
//! write and show them; none may disagree on what `"1,234.50"` is, which day an instant belongs
//! to, or how a writer is named. This crate holds those conventions and nothing else (no I/O,
//! Arrow only to build rows), so both `connectors` and `warehouse` depend on it without depending on each other.
//!
//! - [`canon`]: schema codes for platforms and payment channels, from their many spellings.
//! - [`money`]: the one decimal parser (file cells, platform JSON, entry forms) and fen text.
//! - [`time`]: the business time zone (Asia/Shanghai) and business dates.
//! - [`ids`]: what an id may contain, and the names of the lake's writers (owners) and of the
//!   Delta app transactions they stamp.
//! - [`rows`]: canonical rows built cell by named cell into an Arrow batch.

pub mod canon;
pub mod ids;
pub mod money;
pub mod rows;
pub mod time;

pub use time::BUSINESS_TZ;
