//! Errors of the metrics layer, each naming the metric, file or key at fault.

/// What went wrong while loading, compiling or running a metric.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A definition file could not be read.
    #[error("reading metrics file {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A definition file is not valid TOML for a metric, or a key has a bad value.
    #[error("metrics file {file}: {message}")]
    Definition { file: String, message: String },
    /// A metric name that no file defines.
    #[error("unknown metric `{name}`; the metrics are: {known}")]
    UnknownMetric { name: String, known: String },
    /// A dimension the metric does not support.
    #[error(
        "metric `{metric}` has no dimension `{dimension}`; its dimensions are: {known} \
         (and the time grains day, month, year)"
    )]
    UnknownDimension {
        metric: String,
        dimension: String,
        known: String,
    },
    /// A time grain that does not exist.
    #[error("unknown time grain `{grain}`; the grains are: day, month, year, none")]
    UnknownGrain { grain: String },
    /// A request the metric cannot answer (e.g. `--by` on a table metric).
    #[error("metric `{metric}`: {message}")]
    Unsupported { metric: String, message: String },
    /// A parameter that cannot be used safely or makes no sense.
    #[error("invalid {what}: {message}")]
    Parameter { what: &'static str, message: String },
    /// A derived metric's formula.
    #[error("metric `{metric}`: formula `{formula}`: {message}")]
    Formula {
        metric: String,
        formula: String,
        message: String,
    },
}
