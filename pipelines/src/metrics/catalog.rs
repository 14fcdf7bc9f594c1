//! The catalog: built-in metric files embedded in the binary, plus the user's files in
//! `DATA_DIR/metrics/*.toml`. A user metric with the name of a built-in replaces it.
//!
//! Loading validates everything a query could trip on later: every file and key, every
//! formula's references (no unknown metric, no cycle), so a bad file fails at once and by name.

use std::collections::BTreeMap;
use std::path::Path;

use super::MetricsError;
use super::def::{Kind, MetricDef, parse_file};
use super::formula::Formula;

/// The built-in definition files, embedded at compile time.
const BUILTIN: &[(&str, &str)] = &[
    ("sales.toml", include_str!("../../metrics/sales.toml")),
    ("costs.toml", include_str!("../../metrics/costs.toml")),
    ("traffic.toml", include_str!("../../metrics/traffic.toml")),
    ("products.toml", include_str!("../../metrics/products.toml")),
    ("stock.toml", include_str!("../../metrics/stock.toml")),
    (
        "logistics.toml",
        include_str!("../../metrics/logistics.toml"),
    ),
    (
        "purchasing.toml",
        include_str!("../../metrics/purchasing.toml"),
    ),
];

/// Every metric known, by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    metrics: BTreeMap<String, MetricDef>,
}

impl Catalog {
    /// The built-in metrics only.
    pub fn builtin() -> Result<Catalog, MetricsError> {
        Catalog::from_files(
            BUILTIN
                .iter()
                .map(|(n, t)| (format!("builtin:{n}"), (*t).to_string())),
        )
    }

    /// The built-ins, overridden and extended by `dir/*.toml` when the folder exists.
    pub fn load(dir: &Path) -> Result<Catalog, MetricsError> {
        let mut files: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|(n, t)| (format!("builtin:{n}"), (*t).to_string()))
            .collect();
        if dir.is_dir() {
            let read = |e: std::io::Error| MetricsError::Read {
                file: dir.display().to_string(),
                source: e,
            };
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .map_err(read)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(read)?;
            paths.retain(|p| p.extension().is_some_and(|e| e == "toml"));
            paths.sort();
            for p in paths {
                let text = std::fs::read_to_string(&p).map_err(|source| MetricsError::Read {
                    file: p.display().to_string(),
                    source,
                })?;
                files.push((p.display().to_string(), text));
            }
        }
        Catalog::from_files(files)
    }

    /// Builds a catalog from `(origin, text)` files. A file whose origin does not start with
    /// `builtin:` (a user file) may replace a built-in metric by name; any other name defined
    /// twice (in one file, two built-in files or two user files) is an error naming both files.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Catalog, MetricsError> {
        let mut metrics: BTreeMap<String, MetricDef> = BTreeMap::new();
        for (origin, text) in files {
            for m in parse_file(&origin, &text)? {
                if let Some(old) = metrics.get(&m.name)
                    && (origin.starts_with("builtin:") || !old.origin.starts_with("builtin:"))
                {
                    return Err(MetricsError::Definition {
                        file: origin,
                        message: format!(
                            "metric `{}`: key `name`: already defined in {}",
                            m.name, old.origin
                        ),
                    });
                }
                metrics.insert(m.name.clone(), m);
            }
        }
        let cat = Catalog { metrics };
        for m in cat.metrics.values() {
            if m.kind == Kind::Derived {
                cat.expand(m, &mut Vec::new())?;
            }
        }
        Ok(cat)
    }

    /// Every metric, by name.
    pub fn all(&self) -> impl Iterator<Item = &MetricDef> {
        self.metrics.values()
    }

    /// One metric, or an error listing the metrics that exist.
    pub fn get(&self, name: &str) -> Result<&MetricDef, MetricsError> {
        self.metrics
            .get(name)
            .ok_or_else(|| MetricsError::UnknownMetric {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    fn names(&self) -> Vec<&str> {
        self.metrics.keys().map(String::as_str).collect()
    }

    /// A derived metric's formula with derived components replaced by their own formulas, so
    /// that only base metrics remain. Errors name the file and the `formula` key.
    pub fn expand(&self, m: &MetricDef, stack: &mut Vec<String>) -> Result<Formula, MetricsError> {
        let text = m.formula.as_deref().unwrap_or_default();
        let err = |message: String| MetricsError::Definition {
            file: m.origin.clone(),
            message: format!("metric `{}`: key `formula`: `{text}`: {message}", m.name),
        };
        let f = Formula::parse(text).map_err(&err)?;
        stack.push(m.name.clone());
        let mut parts: BTreeMap<String, Formula> = BTreeMap::new();
        for name in f.metrics() {
            if stack.contains(&name) {
                return Err(err(format!("`{name}` refers back to itself")));
            }
            let Some(c) = self.metrics.get(&name) else {
                return Err(err(format!(
                    "unknown metric `{name}`; the metrics are: {}",
                    self.names().join(", ")
                )));
            };
            match c.kind {
                Kind::Derived => {
                    let sub = self.expand(c, stack)?;
                    parts.insert(name, sub);
                }
                Kind::Table => return Err(err(format!("`{name}` is a table metric"))),
                Kind::Base => {}
            }
        }
        stack.pop();
        Ok(f.substitute(&|n| parts.get(n).cloned()))
    }

    /// The dimensions a metric supports: its own, or for a derived metric those all its
    /// components support.
    pub fn dimensions(&self, m: &MetricDef) -> Result<Vec<String>, MetricsError> {
        if m.kind != Kind::Derived {
            return Ok(m.dimensions.clone());
        }
        let mut out: Option<Vec<String>> = None;
        for name in self.expand(m, &mut Vec::new())?.metrics() {
            let d = &self.get(&name)?.dimensions;
            out = Some(match out {
                None => d.clone(),
                Some(o) => o.into_iter().filter(|x| d.contains(x)).collect(),
            });
        }
        Ok(out.unwrap_or_default())
    }

    /// Whether every component of a metric has a `date` column.
    pub fn dated(&self, m: &MetricDef) -> Result<bool, MetricsError> {
        if m.kind != Kind::Derived {
            return Ok(m.dated);
        }
        for name in self.expand(m, &mut Vec::new())?.metrics() {
            if !self.get(&name)?.dated {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
