//! The dashboard file: a TOML document of panels, each with a source and a chart.
//!
//! ```toml
//! id = "sales"
//! title = "Sales"
//! title_zh = "销售"
//!
//! [[panel]]
//! id = "gmv-by-day"
//! title = "GMV per day"
//! source = { metric = "gmv", by = ["day"] }
//! chart = { mark = "line", x = { field = "date", type = "temporal" }, y = { field = "gmv", type = "quantitative" } }
//! ```

use serde::Deserialize;

use crate::DashError;

/// A dashboard: a title and its panels, in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub title_zh: Option<String>,
    #[serde(rename = "panel", default)]
    pub panels: Vec<Panel>,
}

/// One chart on a dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub title_zh: Option<String>,
    pub source: Source,
    pub chart: Chart,
}

/// Where a panel's rows come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Source {
    /// A named metric (`zhongtai metrics list`), grouped by dimensions and a grain.
    Metric {
        metric: String,
        #[serde(default)]
        by: Vec<String>,
    },
    /// Read-only SQL over the lake.
    Sql { sql: String },
    /// The purchase forecast's suggestions (`forecast = "suggestions"`), the most urgent
    /// `limit` (default 30), as of the period's last day.
    Forecast {
        forecast: String,
        #[serde(default)]
        limit: Option<usize>,
    },
}

/// How rows are drawn.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    pub mark: Mark,
    #[serde(default)]
    pub x: Option<Field>,
    #[serde(default)]
    pub y: Option<Field>,
    /// Series (bar, line) or slices (arc).
    #[serde(default)]
    pub color: Option<Field>,
    /// The slice size of an arc.
    #[serde(default)]
    pub theta: Option<Field>,
}

/// Vega-Lite marks zhongtai draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    Bar,
    Line,
    Area,
    Point,
    Arc,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Bar => "bar",
            Mark::Line => "line",
            Mark::Area => "area",
            Mark::Point => "point",
            Mark::Arc => "arc",
        }
    }
}

/// One encoded column.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub field: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub title: Option<String>,
    /// A d3 number or time format, e.g. `,.2f` for money.
    #[serde(default)]
    pub format: Option<String>,
}

/// Vega-Lite measurement types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Quantitative,
    Nominal,
    Ordinal,
    Temporal,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Quantitative => "quantitative",
            FieldType::Nominal => "nominal",
            FieldType::Ordinal => "ordinal",
            FieldType::Temporal => "temporal",
        }
    }
}

pub(crate) fn ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Dashboard {
    /// Parses and checks a dashboard file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, DashError> {
        let bad = |reason: String| DashError::Invalid {
            origin: origin.to_string(),
            reason,
        };
        let d: Dashboard = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if !ident(&d.id) {
            return Err(bad(format!(
                "id {:?}: use letters, digits, '-' and '_'",
                d.id
            )));
        }
        if d.panels.is_empty() {
            return Err(bad("no [[panel]]".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &d.panels {
            if !ident(&p.id) || !seen.insert(p.id.as_str()) {
                return Err(bad(format!("panel id {:?} is invalid or repeated", p.id)));
            }
            if let Some(problem) = chart_problem(&p.chart) {
                return Err(bad(format!("panel {}: {problem}", p.id)));
            }
            if let Some(problem) = p.source.problem() {
                return Err(bad(format!("panel {}: {problem}", p.id)));
            }
        }
        Ok(d)
    }

    /// The panel with this id.
    pub fn panel(&self, id: &str) -> Option<&Panel> {
        self.panels.iter().find(|p| p.id == id)
    }
}

impl Source {
    /// What is wrong with the source, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        match self {
            Source::Sql { sql } if sql.trim().is_empty() => Some("empty sql".into()),
            Source::Forecast { forecast, .. } if forecast != "suggestions" => Some(format!(
                "forecast {forecast:?}: the only forecast source is \"suggestions\""
            )),
            _ => None,
        }
    }
}

/// What a chart lacks to be drawn, if anything.
pub(crate) fn chart_problem(c: &Chart) -> Option<String> {
    let needs = match c.mark {
        Mark::Arc => c.theta.is_some() && c.color.is_some(),
        _ => c.x.is_some() && c.y.is_some(),
    };
    (!needs).then(|| {
        format!(
            "a {} chart needs {}",
            c.mark.as_str(),
            if c.mark == Mark::Arc {
                "theta and color"
            } else {
                "x and y"
            }
        )
    })
}

impl Chart {
    /// Every encoded field, in encoding order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        [&self.x, &self.y, &self.color, &self.theta]
            .into_iter()
            .flatten()
    }
}
