//! Errors of the warehouse facade. Each names the operation and the table it failed on.

use deltalake::DeltaTableError;

/// Result alias for the warehouse.
pub type Result<T, E = WarehouseError> = std::result::Result<T, E>;

/// What went wrong in the warehouse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WarehouseError {
    #[error("unknown table `{0}`; `zhongtai tables` lists the canonical tables")]
    UnknownTable(String),
    #[error("invalid lake location `{url}`: {reason}")]
    Location { url: String, reason: String },
    #[error("{op} on table `{table}` failed: {source}")]
    Delta {
        op: &'static str,
        table: String,
        #[source]
        source: Box<DeltaTableError>,
    },
    #[error("rows for table `{table}` do not fit its schema: {reason}")]
    Schema { table: String, reason: String },
    #[error("ownership: rows for table `{table}`: {reason}")]
    Owner { table: String, reason: String },
    #[error("query failed: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    #[error("arrow error while {op}: {source}")]
    Arrow {
        op: &'static str,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("table `{table}` has no version {version} (latest is {latest})")]
    NoSuchVersion {
        table: String,
        version: u64,
        latest: u64,
    },
    #[error("i/o error while {op}: {source}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl WarehouseError {
    pub(crate) fn delta(op: &'static str, table: &str) -> impl FnOnce(DeltaTableError) -> Self {
        let table = table.to_string();
        move |source| WarehouseError::Delta {
            op,
            table,
            source: Box::new(source),
        }
    }
}
