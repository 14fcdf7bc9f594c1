//! Errors of the pipelines crate, each naming what was being done.

use warehouse::WarehouseError;

/// Result alias for pipelines.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

/// What went wrong in a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    File(#[from] connectors::files::FileError),
    #[error(
        "the lake already holds data (tables: {tables}); run with --reset to replace it, \
         or choose another --data-dir"
    )]
    LakeNotEmpty { tables: String },
    #[error("{file}: {count} row(s) have errors, nothing was imported:\n{details}")]
    Rejected {
        file: String,
        count: usize,
        details: String,
    },
    #[error("writing the rejects file {path}: {source}")]
    RejectsFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Stream(#[from] connectors::stream::StreamError),
    #[error("connector {name}: {message}")]
    Connector { name: String, message: String },
    #[error("reading the source failed: {0}")]
    Source(String),
    #[error("check {check}: {reason}")]
    Check { check: String, reason: String },
    #[error("reconciliation: {0}")]
    Recon(String),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl PipelineError {
    /// Whether running the same work again later may succeed: the platform was unreachable or
    /// kept failing, the lake's storage failed, another sync held the connector. Bad settings,
    /// refused credentials and bad records need a person.
    pub fn is_retryable(&self) -> bool {
        use connectors::stream::StreamError;
        match self {
            PipelineError::Stream(StreamError::Unavailable { .. }) => true,
            PipelineError::Warehouse(_) => true,
            PipelineError::Connector { message, .. } => message.contains("is busy"),
            _ => false,
        }
    }
}
