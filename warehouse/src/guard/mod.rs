//! SQL written by people, made safe to run: limits checked before planning, and caps on the
//! functions that allocate far more than their input.
//!
//! DataFusion bounds operators (joins, sorts, aggregates) with the session's memory pool, but
//! not two other ways a single statement can take a server down:
//! - **Depth.** `1 + 1 + … + 1` with 2,000 terms parses into a 2,000-deep expression tree whose
//!   planning overflows a thread's stack (aborting the process) or takes seconds. [`check_sql`]
//!   refuses such text from its tokens alone, before anything deep is built.
//! - **Scalar functions.** `repeat('x', 2147483647)` or `range(1, 1e8)` allocate gigabytes in
//!   one call, outside the pool. [`cap_functions`] replaces those functions in a session with
//!   wrappers that compute the size of what the call would build from its arguments and refuse
//!   it with a "Resources exhausted" error above [`MAX_CALL_BYTES`]. A call on constants folds
//!   into one value that a projection copies to every row of a batch, so it counts
//!   [`BROADCAST_ROWS`] times; for the same reason [`check_sql`] refuses literals over 8 KiB.
//!
//! Every session that runs SQL from a user, a dashboard, an alert rule or a check goes through
//! both; the depth limit is generous for hand-written SQL (see the constants).

mod capped;
#[cfg(test)]
mod tests;
mod text;

pub use capped::{BROADCAST_ROWS, MAX_CALL_BYTES, cap_functions};
pub use text::{MAX_LITERAL, MAX_NESTING, MAX_OPERATORS, SqlLimitError, check_sql};
