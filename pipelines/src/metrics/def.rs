//! A metric definition as written in TOML, and its validation.
//!
//! A file holds one or more `[[metric]]` tables. Every metric has a `name`, English and Chinese
//! titles, a `description` and a `unit`; its `kind` says how it is computed:
//!
//! - `base` (default): `relation` is a table name or a SQL query exposing a business `date`
//!   column (Date32), the columns of its `dimensions`, and whatever `expr` aggregates
//!   (e.g. `sum(pay_amount)`). `snapshot = true` marks a semi-additive metric (stock): each
//!   period takes the rows of its last date only.
//! - `derived`: `formula` combines other metrics (`+ - * /`, parentheses, numbers, and
//!   `share(m)`, a group's part of the period's total); its dimensions are those every component
//!   supports.
//! - `table`: rows rather than one number per group. `relation` exposes `date` and dimension
//!   columns and is filtered like a base relation; `query` reads the filtered rows as
//!   `filtered` and returns whatever columns it likes.
//!
//! `dated = false` marks a relation without a `date` column (e.g. storage locations).

use serde::Deserialize;

use super::{MetricsError, dims};

/// Units of a metric's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Yuan, `decimal(…,2)`.
    Money,
    /// A number of things (orders, cases, visitors).
    Count,
    /// An exact decimal fraction (6 places), NULL when the denominator is 0.
    Ratio,
    /// Units of goods.
    Qty,
}

impl Unit {
    /// The unit's name in files and listings.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Money => "money",
            Unit::Count => "count",
            Unit::Ratio => "ratio",
            Unit::Qty => "qty",
        }
    }
}

/// How a metric is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    #[default]
    Base,
    Derived,
    Table,
}

impl Kind {
    /// The kind's name in files and listings.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Base => "base",
            Kind::Derived => "derived",
            Kind::Table => "table",
        }
    }
}

/// One named metric.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDef {
    pub name: String,
    pub title: String,
    pub title_zh: String,
    pub description: String,
    pub unit: Unit,
    #[serde(default)]
    pub kind: Kind,
    /// Base and table metrics: a table name or a SQL query.
    pub relation: Option<String>,
    /// Base metrics: the aggregate over the relation's rows.
    pub expr: Option<String>,
    /// Derived metrics: the formula over other metrics.
    pub formula: Option<String>,
    /// Table metrics: SQL over the filtered relation, named `filtered`.
    pub query: Option<String>,
    /// Base and table metrics: the dimensions the relation exposes.
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// Whether the relation has a `date` column.
    #[serde(default = "yes")]
    pub dated: bool,
    /// Base metrics: take each period's last date only (stock levels).
    #[serde(default)]
    pub snapshot: bool,
    /// The file the definition came from (`builtin:NAME.toml` or a path).
    #[serde(skip)]
    pub origin: String,
}

fn yes() -> bool {
    true
}

/// The shape of a definition file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefFile {
    #[serde(default)]
    metric: Vec<MetricDef>,
}

/// Names that cannot be metrics because the CLI uses them.
const RESERVED: &[&str] = &["list", "filtered", "keys"];

/// Parses and validates one file's metrics; `origin` names the file in errors.
pub fn parse_file(origin: &str, text: &str) -> Result<Vec<MetricDef>, MetricsError> {
    let file: DefFile = toml::from_str(text).map_err(|e| MetricsError::Definition {
        file: origin.to_string(),
        message: e.to_string().trim_end().to_string(),
    })?;
    if file.metric.is_empty() {
        return Err(bad(origin, "no [[metric]] table"));
    }
    let mut out = Vec::with_capacity(file.metric.len());
    for mut m in file.metric {
        m.origin = origin.to_string();
        m.validate()?;
        out.push(m);
    }
    Ok(out)
}

fn bad(origin: &str, message: impl Into<String>) -> MetricsError {
    MetricsError::Definition {
        file: origin.to_string(),
        message: message.into(),
    }
}

impl MetricDef {
    fn err(&self, key: &str, message: impl std::fmt::Display) -> MetricsError {
        bad(
            &self.origin,
            format!("metric `{}`: key `{key}`: {message}", self.name),
        )
    }

    fn validate(&self) -> Result<(), MetricsError> {
        if !dims::is_ident(&self.name) || RESERVED.contains(&self.name.as_str()) {
            return Err(self.err(
                "name",
                "must be lower-case letters, digits and `_`, and not list/filtered/keys",
            ));
        }
        for (key, v) in [
            ("title", &self.title),
            ("title_zh", &self.title_zh),
            ("description", &self.description),
        ] {
            if v.trim().is_empty() {
                return Err(self.err(key, "must not be empty"));
            }
        }
        let need = |key: &str, v: &Option<String>, wanted: bool| -> Result<(), MetricsError> {
            match (v.as_deref().map(str::trim), wanted) {
                (None | Some(""), true) => {
                    Err(self.err(key, format!("required for a {} metric", self.kind.name())))
                }
                (Some(_), false) => {
                    Err(self.err(key, format!("not used by a {} metric", self.kind.name())))
                }
                _ => Ok(()),
            }
        };
        let k = self.kind;
        need("relation", &self.relation, k != Kind::Derived)?;
        need("expr", &self.expr, k == Kind::Base)?;
        need("formula", &self.formula, k == Kind::Derived)?;
        need("query", &self.query, k == Kind::Table)?;
        if k == Kind::Derived && (!self.dimensions.is_empty() || !self.dated) {
            return Err(self.err(
                "dimensions",
                "a derived metric takes its dimensions and dates from its components",
            ));
        }
        if self.snapshot && (k != Kind::Base || !self.dated) {
            return Err(self.err("snapshot", "only a dated base metric can be a snapshot"));
        }
        for (i, d) in self.dimensions.iter().enumerate() {
            if !dims::is_ident(d) || crate::metrics::Grain::NAMES.contains(&d.as_str()) {
                return Err(self.err(
                    "dimensions",
                    format!("`{d}` is not a plain lower-case name (or is a time grain)"),
                ));
            }
            if self.dimensions[..i].contains(d) {
                return Err(self.err("dimensions", format!("`{d}` is listed twice")));
            }
        }
        Ok(())
    }

    /// The relation as a FROM item: a bare table name as is, a query in parentheses.
    pub fn relation_sql(&self) -> String {
        let r = self.relation.as_deref().unwrap_or_default().trim();
        if dims::is_ident(r) {
            r.to_string()
        } else {
            format!("(\n{r}\n)")
        }
    }
}
