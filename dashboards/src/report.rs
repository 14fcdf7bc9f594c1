//! The report file: a TOML document of sections (key figures, tables, charts) run for a
//! period, optionally a set of shops and a status.
//!
//! ```toml
//! id = "monthly-finance"
//! title = "Monthly finance"
//! title_zh = "月度财务报告"
//! statuses = ["open", "resolved", "ignored"]    # what --status may name
//!
//! [[section]]
//! id = "profit"
//! title = "Gross profit per shop"
//! source = { metric = "gross_profit", by = ["shop"] }
//! chart = { mark = "bar", x = { field = "shop_id", type = "nominal" }, y = { field = "gross_profit", type = "quantitative" } }
//!
//! [[section]]
//! id = "breaks"
//! title = "Reconciliation breaks"
//! source = { sql = "SELECT check_name, COUNT(*) AS breaks FROM recon_breaks WHERE break_date BETWEEN {{from}} AND {{to}} AND status IN {{status}} GROUP BY 1" }
//! ```
//!
//! SQL (in reports and dashboard panels) may use `{{from}}` and `{{to}}` (DATE literals of the
//! period; open ends become 1900-01-01 and 9999-12-31) and `{{status}}` (a parenthesised list of
//! quoted statuses: the one asked for, else all of `statuses`). Shops are not a placeholder:
//! every query runs in a session that only holds the selected shops' rows.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::DashError;
use crate::def::{Chart, Source, chart_problem, ident};

/// A report: a title and its sections, in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub title_zh: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The values `--status` may take; `{{status}}` is all of them when none is asked for.
    #[serde(default)]
    pub statuses: Vec<String>,
    #[serde(rename = "section", default)]
    pub sections: Vec<ReportSection>,
}

/// One block of a report: rows, and a chart of them when `chart` is set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub title_zh: Option<String>,
    pub source: Source,
    #[serde(default)]
    pub chart: Option<Chart>,
}

impl Report {
    /// Parses and checks a report file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, DashError> {
        let bad = |reason: String| DashError::Invalid {
            origin: origin.to_string(),
            reason,
        };
        let r: Report = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if !ident(&r.id) {
            return Err(bad(format!(
                "id {:?}: use letters, digits, '-' and '_'",
                r.id
            )));
        }
        if r.sections.is_empty() {
            return Err(bad("no [[section]]".into()));
        }
        for s in &r.statuses {
            if !ident(s) {
                return Err(bad(format!(
                    "status {s:?}: use letters, digits, '-' and '_'"
                )));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &r.sections {
            if !ident(&s.id) || !seen.insert(s.id.as_str()) {
                return Err(bad(format!("section id {:?} is invalid or repeated", s.id)));
            }
            if let Some(c) = &s.chart
                && let Some(problem) = chart_problem(c)
            {
                return Err(bad(format!("section {}: {problem}", s.id)));
            }
            if let Some(problem) = s.source.problem() {
                return Err(bad(format!("section {}: {problem}", s.id)));
            }
            if let Source::Sql { sql } = &s.source
                && sql.contains("{{status}}")
                && r.statuses.is_empty()
            {
                return Err(bad(format!(
                    "section {} uses {{{{status}}}} but the report lists no `statuses`",
                    s.id
                )));
            }
        }
        Ok(r)
    }

    /// Checks a status asked for against `statuses`.
    pub fn check_status(&self, status: Option<&str>) -> Result<(), String> {
        match status {
            Some(s) if !self.statuses.iter().any(|x| x == s) => Err(if self.statuses.is_empty() {
                format!("report {} has no status filter", self.id)
            } else {
                format!("status {s:?} is not one of {}", self.statuses.join(", "))
            }),
            _ => Ok(()),
        }
    }
}

/// The values the placeholders of a query are bound to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The statuses `{{status}}` stands for (checked identifiers).
    pub statuses: Vec<String>,
}

/// `sql` with `{{from}}`, `{{to}}` and `{{status}}` replaced by SQL literals. The values are
/// dates and checked identifiers, so nothing a caller types reaches the SQL text.
pub fn bind(sql: &str, p: &Params) -> Result<String, String> {
    let date = |d: Option<NaiveDate>, open: &str| {
        format!(
            "DATE '{}'",
            d.map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| open.to_string())
        )
    };
    let mut out = sql
        .replace("{{from}}", &date(p.from, "1900-01-01"))
        .replace("{{to}}", &date(p.to, "9999-12-31"));
    if out.contains("{{status}}") {
        if p.statuses.is_empty() || !p.statuses.iter().all(|s| ident(s)) {
            return Err("the query filters by status but no valid status was given".into());
        }
        let list = p
            .statuses
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        out = out.replace("{{status}}", &format!("({list})"));
    }
    if let Some(i) = out.find("{{") {
        let end = out[i..].find("}}").map(|j| i + j + 2).unwrap_or(out.len());
        return Err(format!("unknown placeholder {}", &out[i..end]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_literals_and_unknown_ones_are_refused() {
        let p = Params {
            from: NaiveDate::from_ymd_opt(2026, 10, 1),
            to: None,
            statuses: vec!["open".into(), "resolved".into()],
        };
        assert_eq!(
            bind(
                "SELECT 1 WHERE d BETWEEN {{from}} AND {{to}} AND s IN {{status}}",
                &p
            )
            .expect("bind"),
            "SELECT 1 WHERE d BETWEEN DATE '2026-10-01' AND DATE '9999-12-31' AND s IN ('open', 'resolved')"
        );
        assert!(
            bind("SELECT {{shop}}", &p)
                .unwrap_err()
                .contains("{{shop}}")
        );
        let bad = Params {
            statuses: vec!["x' OR '1'='1".into()],
            ..Default::default()
        };
        assert!(bind("SELECT 1 WHERE s IN {{status}}", &bad).is_err());
    }

    #[test]
    fn a_report_file_is_checked() {
        let ok = r#"
id = "r"
title = "R"
statuses = ["open"]
[[section]]
id = "a"
title = "A"
source = { sql = "SELECT 1 AS x WHERE 'open' IN {{status}}" }
"#;
        let r = Report::parse(ok, "t").expect("parse");
        assert!(r.check_status(Some("open")).is_ok());
        assert!(r.check_status(Some("gone")).unwrap_err().contains("open"));
        let no_statuses = ok.replace("statuses = [\"open\"]\n", "");
        assert!(Report::parse(&no_statuses, "t").is_err());
        let dup = format!(
            "{ok}\n[[section]]\nid = \"a\"\ntitle = \"B\"\nsource = {{ sql = \"SELECT 2\" }}\n"
        );
        assert!(
            Report::parse(&dup, "t")
                .unwrap_err()
                .to_string()
                .contains("repeated")
        );
    }
}
