//! Reconciliation (对账): finance checks as code, and the exception queue they feed.
//!
//! - `spec`: a check is a TOML document with SQL ([`CheckSpec`]); built-ins live in
//!   `pipelines/checks/`, users add theirs in `DATA_DIR/checks/`.
//! - `compile`: parameters and the period scope turned into one SQL statement.
//! - `found`: the query's rows read as breaks with stable identities.
//! - `queue`: the exception queue (`recon_breaks`, `recon_break_events`) and the pure merge
//!   of a run's findings into it.
//! - `run`: a run over the lake ([`run()`]) and people's actions on breaks ([`act`]).
//! - `inject`: anomalies of every kind planted into a demo lake, with the breaks they must
//!   cause, for tests and for showing the queue.

mod compile;
mod found;
pub mod inject;
mod queue;
mod run;
mod spec;

pub use compile::{Period, compile, end_of_day_unix};
pub use found::{Found, break_id};
pub use queue::{BreakRow, MergeCounts};
pub use run::{Action, CheckOutcome, RunOptions, RunReport, act, run};
pub use spec::{BUILT_IN_PARAMS, CheckSpec, REQUIRED_COLUMNS, Unit, load_checks};

#[cfg(test)]
mod tests;
