//! A request for a metric: grouping, time grain, period, shops and other filters.
//!
//! Values (shop ids, filter values) are user text: they only ever reach SQL through
//! [`literal`], which refuses control characters and doubles single quotes.

use chrono::NaiveDate;

use super::{Grain, MetricsError};

/// What to compute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricQuery {
    /// The metric's name.
    pub metric: String,
    /// Dimensions to group by, in result order.
    pub by: Vec<String>,
    pub grain: Grain,
    /// First business day included.
    pub from: Option<NaiveDate>,
    /// Last business day included.
    pub to: Option<NaiveDate>,
    /// Only these shops (empty: every shop). Applied inside every base relation, before
    /// aggregation: what a shop-scoped caller must pass.
    pub shops: Vec<String>,
    /// `(dimension, value)` filters; several values of one dimension are alternatives.
    pub filters: Vec<(String, String)>,
}

impl MetricQuery {
    /// A query of `metric` with no grouping, period or filter.
    pub fn new(metric: impl Into<String>) -> MetricQuery {
        MetricQuery {
            metric: metric.into(),
            ..MetricQuery::default()
        }
    }

    /// Sets the grouping from a `--by` list mixing dimensions and at most one grain, e.g.
    /// `["shop", "month"]`.
    pub fn with_by<S: AsRef<str>>(mut self, items: &[S]) -> Result<MetricQuery, MetricsError> {
        let mut grain = None;
        self.by.clear();
        for item in items {
            let item = item.as_ref().trim();
            if Grain::NAMES.contains(&item) {
                if grain.is_some() {
                    return Err(MetricsError::Parameter {
                        what: "--by",
                        message: "more than one time grain".into(),
                    });
                }
                grain = Some(Grain::parse(item)?);
            } else if !item.is_empty() {
                if self.by.iter().any(|b| b == item) {
                    return Err(MetricsError::Parameter {
                        what: "--by",
                        message: format!("`{item}` is listed twice"),
                    });
                }
                self.by.push(item.to_string());
            }
        }
        self.grain = grain.unwrap_or_default();
        Ok(self)
    }

    /// Adds a `dimension=value` filter.
    pub fn with_filter(mut self, spec: &str) -> Result<MetricQuery, MetricsError> {
        let Some((d, v)) = spec.split_once('=') else {
            return Err(MetricsError::Parameter {
                what: "--filter",
                message: format!("takes DIMENSION=VALUE, got `{spec}`"),
            });
        };
        self.filters.push((d.trim().to_string(), v.to_string()));
        Ok(self)
    }
}

/// A SQL string literal for user text: single quotes doubled; control characters (which no id
/// or name needs) refused.
pub fn literal(what: &'static str, value: &str) -> Result<String, MetricsError> {
    if value.chars().any(char::is_control) {
        return Err(MetricsError::Parameter {
            what,
            message: format!("{value:?} contains a control character"),
        });
    }
    Ok(format!("'{}'", value.replace('\'', "''")))
}

/// A SQL date literal (the date is already parsed, so no text of the user's reaches SQL).
pub fn date_literal(d: NaiveDate) -> String {
    format!("DATE '{}'", d.format("%Y-%m-%d"))
}
