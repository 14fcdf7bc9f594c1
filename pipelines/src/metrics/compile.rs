//! The compiler: a [`MetricQuery`] against the [`Catalog`] → one SQL statement.
//!
//! - A base metric is one CTE `m_NAME`: its relation as `r`, filtered by period, shops and
//!   dimension filters (all before aggregation), grouped by the requested dimensions and the
//!   grain's bucket of `r.date`.
//! - A derived metric is one CTE per base component (same grouping and filters), the union of
//!   their keys, and left joins on those keys (`IS NOT DISTINCT FROM`), each component read as
//!   `COALESCE(value, 0)`. Division is decimal and NULL when the divisor is 0; ratios are
//!   `decimal(18,6)`, money `decimal(38,2)`.
//! - A table metric is its filtered relation as the CTE `filtered` followed by its query.
//!
//! Every piece of user text reaches SQL as a quoted literal; names are checked identifiers.

use std::fmt::Write as _;

use super::def::{Kind, MetricDef, Unit};
use super::query::{date_literal, literal};
use super::{Catalog, Grain, MetricQuery, MetricsError, dims};

/// Compiles `q` into one SQL statement.
pub fn compile(cat: &Catalog, q: &MetricQuery) -> Result<String, MetricsError> {
    let m = cat.get(&q.metric)?;
    check(cat, m, q)?;
    match m.kind {
        Kind::Base => {
            let keys = keys(q);
            let mut sql = format!("WITH {}\nSELECT ", base_cte(m, q)?);
            for k in &keys {
                let _ = write!(sql, "{k}, ");
            }
            let _ = write!(sql, "{0}\nFROM m_{0}", m.name);
            Ok(sql + &order_by(keys.len()))
        }
        Kind::Derived => derived(cat, m, q),
        Kind::Table => table(m, q),
    }
}

/// Rejects dimensions, filters and periods the metric cannot honour, naming what exists.
fn check(cat: &Catalog, m: &MetricDef, q: &MetricQuery) -> Result<(), MetricsError> {
    let supported = cat.dimensions(m)?;
    let unknown = |d: &str| MetricsError::UnknownDimension {
        metric: m.name.clone(),
        dimension: d.to_string(),
        known: if supported.is_empty() {
            "(none)".into()
        } else {
            supported.join(", ")
        },
    };
    for d in q.by.iter().chain(q.filters.iter().map(|(d, _)| d)) {
        if !supported.contains(d) {
            return Err(unknown(d));
        }
    }
    if !q.shops.is_empty() && !supported.iter().any(|d| d == dims::SHOP) {
        return Err(MetricsError::Unsupported {
            metric: m.name.clone(),
            message: "it has no shop dimension, so it cannot be limited to shops".into(),
        });
    }
    let unsupported = |message: &str| MetricsError::Unsupported {
        metric: m.name.clone(),
        message: message.into(),
    };
    if !cat.dated(m)? && (q.from.is_some() || q.to.is_some() || q.grain != Grain::None) {
        return Err(unsupported(
            "it has no business date, so it takes no period or time grain",
        ));
    }
    if m.kind == Kind::Table && (!q.by.is_empty() || q.grain != Grain::None) {
        return Err(unsupported(
            "it is a table metric (rows, not one number per group): it takes filters, not --by",
        ));
    }
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f > t
    {
        return Err(MetricsError::Parameter {
            what: "period",
            message: format!("--from {f} is after --to {t}"),
        });
    }
    Ok(())
}

/// The result's key columns: the dimensions' columns, then the grain's.
fn keys(q: &MetricQuery) -> Vec<String> {
    let mut k: Vec<String> = q.by.iter().map(|d| dims::column(d).to_string()).collect();
    k.extend(q.grain.column().map(str::to_string));
    k
}

fn order_by(n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let cols: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    format!("\nORDER BY {}", cols.join(", "))
}

/// The conditions on relation alias `a`: period, shops, dimension filters.
fn conditions(q: &MetricQuery, a: &str, dated: bool) -> Result<Vec<String>, MetricsError> {
    let mut out = Vec::new();
    if dated {
        if let Some(f) = q.from {
            out.push(format!("{a}.date >= {}", date_literal(f)));
        }
        if let Some(t) = q.to {
            out.push(format!("{a}.date <= {}", date_literal(t)));
        }
    }
    if !q.shops.is_empty() {
        let list = q
            .shops
            .iter()
            .map(|s| literal("--shop", s))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(format!(
            "{a}.{} IN ({})",
            dims::column(dims::SHOP),
            list.join(", ")
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (d, _) in &q.filters {
        if seen.contains(&d.as_str()) {
            continue;
        }
        seen.push(d);
        let list = q
            .filters
            .iter()
            .filter(|(x, _)| x == d)
            .map(|(_, v)| literal("--filter", v))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(format!("{a}.{} IN ({})", dims::column(d), list.join(", ")));
    }
    Ok(out)
}

fn where_clause(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!("\n  WHERE {}", conds.join("\n    AND "))
    }
}

/// `m_NAME AS (...)` for a base metric.
fn base_cte(m: &MetricDef, q: &MetricQuery) -> Result<String, MetricsError> {
    let rel = m.relation_sql();
    let mut select: Vec<String> =
        q.by.iter()
            .map(|d| {
                let c = dims::column(d);
                format!("r.{c} AS {c}")
            })
            .collect();
    if let (Some(e), Some(c)) = (q.grain.expr("r.date"), q.grain.column()) {
        select.push(format!("{e} AS {c}"));
    }
    let n_keys = select.len();
    select.push(format!(
        "{} AS {}",
        m.expr.as_deref().unwrap_or_default().trim(),
        m.name
    ));
    let mut conds = conditions(q, "r", m.dated)?;
    if m.snapshot && q.grain != Grain::Day {
        let inner = conditions(
            &MetricQuery {
                from: q.from,
                to: q.to,
                ..MetricQuery::default()
            },
            "s",
            true,
        )?;
        let group = q
            .grain
            .expr("s.date")
            .map(|g| format!(" GROUP BY {g}"))
            .unwrap_or_default();
        let inner_where = if inner.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", inner.join(" AND "))
        };
        conds.push(format!(
            "r.date IN (SELECT max(s.date) FROM {rel} AS s{inner_where}{group})"
        ));
    }
    let group = if n_keys == 0 {
        String::new()
    } else {
        let cols: Vec<String> = (1..=n_keys).map(|i| i.to_string()).collect();
        format!("\n  GROUP BY {}", cols.join(", "))
    };
    Ok(format!(
        "m_{} AS (\n  SELECT {}\n  FROM {rel} AS r{}{group}\n)",
        m.name,
        select.join(", "),
        where_clause(&conds)
    ))
}

fn derived(cat: &Catalog, m: &MetricDef, q: &MetricQuery) -> Result<String, MetricsError> {
    let formula = cat.expand(m, &mut Vec::new())?;
    let parts = formula.metrics();
    let mut ctes = Vec::with_capacity(parts.len() + 1);
    for p in &parts {
        ctes.push(base_cte(cat.get(p)?, q)?);
    }
    let keys = keys(q);
    let partition = q
        .grain
        .column()
        .map(|g| format!("PARTITION BY keys.{g}"))
        .unwrap_or_default();
    let value = |name: &str| format!("COALESCE(m_{name}.{name}, 0)");
    let expr = formula.sql(&value, &partition);
    let expr = match (m.unit, formula.divides()) {
        (Unit::Ratio, _) => format!("CAST({expr} AS DECIMAL(18,6))"),
        (Unit::Money, _) | (_, true) => format!("CAST({expr} AS DECIMAL(38,2))"),
        _ => expr,
    };
    let mut sql = String::from("WITH ");
    sql.push_str(&ctes.join(",\n"));
    if keys.is_empty() {
        let from: Vec<String> = parts.iter().map(|p| format!("m_{p}")).collect();
        let _ = write!(
            sql,
            "\nSELECT {expr} AS {}\nFROM {}",
            m.name,
            from.join(" CROSS JOIN ")
        );
        return Ok(sql);
    }
    let cols = keys.join(", ");
    let unions: Vec<String> = parts
        .iter()
        .map(|p| format!("SELECT {cols} FROM m_{p}"))
        .collect();
    let _ = write!(sql, ",\nkeys AS (\n  {}\n)", unions.join("\n  UNION\n  "));
    let sel: Vec<String> = keys.iter().map(|k| format!("keys.{k}")).collect();
    let _ = write!(
        sql,
        "\nSELECT {}, {expr} AS {}\nFROM keys",
        sel.join(", "),
        m.name
    );
    for p in &parts {
        let on: Vec<String> = keys
            .iter()
            .map(|k| format!("(m_{p}.{k} IS NOT DISTINCT FROM keys.{k})"))
            .collect();
        let _ = write!(sql, "\nLEFT JOIN m_{p} ON {}", on.join(" AND "));
    }
    Ok(sql + &order_by(keys.len()))
}

fn table(m: &MetricDef, q: &MetricQuery) -> Result<String, MetricsError> {
    let conds = conditions(q, "r", m.dated)?;
    let filtered = format!(
        "filtered AS (\n  SELECT r.*\n  FROM {} AS r{}\n)",
        m.relation_sql(),
        where_clause(&conds)
    );
    let body = m.query.as_deref().unwrap_or_default().trim();
    // A query that has its own WITH continues the list after `filtered`.
    let starts_with_with = body
        .get(..5)
        .is_some_and(|h| h.eq_ignore_ascii_case("with ") || h.eq_ignore_ascii_case("with\n"));
    Ok(match body.get(5..) {
        Some(rest) if starts_with_with => format!("WITH {filtered},\n{}", rest.trim_start()),
        _ => format!("WITH {filtered}\n{body}"),
    })
}
