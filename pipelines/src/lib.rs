//! # pipelines — where connectors meet the warehouse
//!
//! The only crate that depends on both `connectors` and `warehouse`. It owns the jobs that move
//! data: imports of files into canonical tables ([`import`]), incremental platform syncs
//! ([`sync`]), the demo world ([`demo`]), named metrics compiled to SQL ([`metrics`]),
//! reconciliation checks and their exception queue ([`recon`]), incrementally maintained
//! aggregate tables ([`marts`]) and the purchase forecast ([`forecast`]); the job runtime that
//! runs them on schedules with retries ([`jobs`]), alert rules with notifications
//! ([`alerts`]), and entry forms: their definitions, validation, the rows each writes and
//! their flush into the lake ([`forms`]).
//!
//! Invariants: a failed import commits nothing; the demo's ledger is computed independently of
//! the lake so that tests can compare the two.

pub mod alerts;
pub mod demo;
mod error;
pub mod forecast;
pub mod forms;
pub mod import;
pub mod jobs;
pub mod marts;
pub mod metrics;
pub mod recon;
pub mod registry;
mod rows;
pub mod sync;

pub use error::{PipelineError, Result};
