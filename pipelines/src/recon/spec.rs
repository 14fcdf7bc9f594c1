//! Check specifications: what a reconciliation check is, as data.
//!
//! A check is a TOML document with a SQL query over the lake (see `pipelines/checks/` for the
//! built-in ones and `docs/reconciliation.md` for the format). The query returns one row per
//! break with the columns named in [`REQUIRED_COLUMNS`] plus the check's key columns; the engine
//! gives each break a stable identity from the check's name and its key values.
//!
//! Built-in checks are compiled into the binary; users add or override checks with TOML files
//! in `DATA_DIR/checks/`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{PipelineError, Result};

/// Columns every check's query must return (besides its keys). `amount_at_stake` is optional.
pub const REQUIRED_COLUMNS: &[&str] = &[
    "kind",
    "break_date",
    "shop_id",
    "expected",
    "actual",
    "detail",
];

/// The built-in checks, in the order they run.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "order_payment",
        include_str!("../../checks/order_payment.toml"),
    ),
    (
        "order_settlement",
        include_str!("../../checks/order_settlement.toml"),
    ),
    (
        "platform_fees",
        include_str!("../../checks/platform_fees.toml"),
    ),
    (
        "refund_settlement",
        include_str!("../../checks/refund_settlement.toml"),
    ),
    (
        "returns_received",
        include_str!("../../checks/returns_received.toml"),
    ),
    (
        "shipping_insurance",
        include_str!("../../checks/shipping_insurance.toml"),
    ),
    (
        "carrier_statement",
        include_str!("../../checks/carrier_statement.toml"),
    ),
    (
        "cod_remittance",
        include_str!("../../checks/cod_remittance.toml"),
    ),
    (
        "inventory_rollforward",
        include_str!("../../checks/inventory_rollforward.toml"),
    ),
    (
        "purchase_three_way",
        include_str!("../../checks/purchase_three_way.toml"),
    ),
    (
        "marketing_fees",
        include_str!("../../checks/marketing_fees.toml"),
    ),
];

/// What `expected` and `actual` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Yuan, two decimals.
    Money,
    /// Units of stock.
    Qty,
}

impl Unit {
    /// The name stored in `recon_breaks.unit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Money => "money",
            Unit::Qty => "qty",
        }
    }
}

/// One reconciliation check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Identifier: lowercase letters, digits and `_`.
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub title_zh: Option<String>,
    pub description: String,
    /// Output columns that identify a break within the check.
    pub keys: Vec<String>,
    pub unit: Unit,
    /// The query; `{{param}}` placeholders are replaced before it runs.
    pub sql: String,
    /// Default parameter values: decimal or integer literals, as strings.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Where the spec came from: `built-in` or a file path.
    #[serde(skip)]
    pub origin: String,
}

impl CheckSpec {
    /// Parses and validates one spec; errors name `origin` and the offending key.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let bad = |reason: String| PipelineError::Check {
            check: origin.to_string(),
            reason,
        };
        let mut spec: CheckSpec = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        spec.origin = origin.to_string();
        if spec.name.is_empty()
            || !spec
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(bad(format!(
                "name `{}` must be lowercase letters, digits and _",
                spec.name
            )));
        }
        if spec.keys.is_empty() {
            return Err(bad("keys: name at least one key column".into()));
        }
        for (k, v) in &spec.params {
            if !is_number(v) {
                return Err(bad(format!(
                    "params.{k} = {v:?}: a parameter must be a decimal or integer number"
                )));
            }
        }
        for p in placeholders(&spec.sql) {
            if !spec.params.contains_key(&p) && !BUILT_IN_PARAMS.contains(&p.as_str()) {
                return Err(bad(format!(
                    "sql uses {{{{{p}}}}} but params has no `{p}` (built-in: {})",
                    BUILT_IN_PARAMS.join(", ")
                )));
            }
        }
        Ok(spec)
    }
}

/// Parameters every check may use; the engine fills them from the run's options.
pub const BUILT_IN_PARAMS: &[&str] = &["as_of", "as_of_end_unix"];

fn is_number(v: &str) -> bool {
    let t = v.strip_prefix('-').unwrap_or(v);
    let (i, f) = t.split_once('.').unwrap_or((t, "0"));
    !i.is_empty()
        && !f.is_empty()
        && i.chars().all(|c| c.is_ascii_digit())
        && f.chars().all(|c| c.is_ascii_digit())
}

/// The `{{name}}` placeholders of a query.
pub(crate) fn placeholders(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else { break };
        out.push(after[..j].trim().to_string());
        rest = &after[j + 2..];
    }
    out
}

/// The built-in checks, then the user's from `dir` (a user check with a built-in's name
/// replaces it). A missing folder is no error.
pub fn load_checks(dir: Option<&Path>) -> Result<Vec<CheckSpec>> {
    let mut checks: Vec<CheckSpec> = BUILT_IN
        .iter()
        .map(|(name, text)| CheckSpec::parse(text, &format!("built-in {name}")))
        .collect::<Result<_>>()?;
    let Some(dir) = dir else { return Ok(checks) };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(checks),
        Err(e) => {
            return Err(PipelineError::Check {
                check: dir.display().to_string(),
                reason: format!("reading the folder: {e}"),
            });
        }
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in files {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::Check {
            check: origin.clone(),
            reason: format!("reading: {e}"),
        })?;
        let spec = CheckSpec::parse(&text, &origin)?;
        match checks.iter_mut().find(|c| c.name == spec.name) {
            Some(c) => *c = spec,
            None => checks.push(spec),
        }
    }
    Ok(checks)
}
