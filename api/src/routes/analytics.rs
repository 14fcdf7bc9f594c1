//! Metrics and reconciliation over HTTP. Both read through the caller's scoped session (see
//! `auth::scope`), so a shop-scoped caller gets its shops' numbers only, whatever it asks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use chrono::NaiveDate;
use pipelines::metrics::{Catalog, MetricQuery, compile};
use pipelines::recon::{self, Action, Period, RunOptions};
use serde::Deserialize;
use serde_json::{Value, json};
use warehouse::sql_text;

use super::forms::parse_json;
use super::query::{OutFormat, encode, run_limited};
use crate::auth::roles::Perm;
use crate::auth::{Principal, require};
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// The metric definitions: built-ins plus `DATA_DIR/metrics/*.toml`.
pub(crate) fn catalog(st: &AppState) -> Result<Catalog, ApiError> {
    Catalog::load(&st.data_dir.join("metrics"))
        .map_err(|e| ApiError::internal("loading metric definitions", e))
}

fn fmt(headers: &HeaderMap) -> Result<OutFormat, ApiError> {
    OutFormat::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())).ok_or_else(
        || ApiError::NotAcceptable("Accept application/json, text/csv, Arrow or Parquet".into()),
    )
}

/// `GET /api/v1/metrics`: the named metrics.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "metrics", responses((status = 200, description = "Metric definitions")), security(("bearer" = [])))]
pub async fn list_metrics(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::Metrics)?;
    let cat = catalog(&st)?;
    let list: Vec<Value> = cat
        .all()
        .map(|m| json!({"name": m.name, "title": m.title, "unit": m.unit.name(), "description": m.description}))
        .collect();
    Ok(Json(json!({"metrics": list})))
}

/// Parameters of a metric request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MetricParams {
    /// Comma-separated dimensions and at most one grain (day, month, year), e.g. `shop,month`.
    pub by: Option<String>,
    /// First business day, YYYY-MM-DD.
    pub from: Option<NaiveDate>,
    /// Last business day, YYYY-MM-DD.
    pub to: Option<NaiveDate>,
    /// Comma-separated shops (intersected with the caller's shops).
    pub shops: Option<String>,
    /// Filters `dimension=value`, separated by `;`.
    pub filter: Option<String>,
}

/// `GET /api/v1/metrics/{name}`.
#[utoipa::path(get, path = "/api/v1/metrics/{name}", tag = "metrics", params(("name" = String, Path), MetricParams),
    responses((status = 200, description = "Rows of the metric"), (status = 404, description = "Unknown metric"), (status = 422, description = "Bad parameters")),
    security(("bearer" = [])))]
pub async fn metric(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    Query(q): Query<MetricParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require(&p, Perm::Metrics)?;
    let out = fmt(&headers)?;
    let cat = catalog(&st)?;
    if cat.get(&name).is_err() {
        return Err(ApiError::NotFound(format!(
            "no metric {name:?}; GET /api/v1/metrics lists them"
        )));
    }
    let by: Vec<String> =
        q.by.as_deref()
            .map(|b| {
                b.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
    let mut mq = MetricQuery::new(&name)
        .with_by(&by)
        .map_err(|e| ApiError::invalid("by", e.to_string()))?;
    mq.from = q.from;
    mq.to = q.to;
    let asked: Vec<String> = q
        .shops
        .as_deref()
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let by_shop = cat
        .get(&name)
        .and_then(|m| cat.dimensions(m))
        .is_ok_and(|d| d.iter().any(|x| x == "shop"));
    mq.shops = match (&p.shops, asked.is_empty()) {
        (None, _) => asked,
        // A company-wide metric (no shop dimension) runs in the scoped session unfiltered.
        (Some(_), true) if !by_shop => Vec::new(),
        (Some(mine), true) => mine.clone(),
        (Some(_), false) => {
            if let Some(bad) = asked.iter().find(|s| !p.sees_shop(s)) {
                return Err(ApiError::Forbidden(format!(
                    "shop {bad:?} is outside this caller's shops"
                )));
            }
            asked
        }
    };
    for f in q
        .filter
        .as_deref()
        .unwrap_or("")
        .split(';')
        .filter(|s| !s.trim().is_empty())
    {
        mq = mq
            .with_filter(f.trim())
            .map_err(|e| ApiError::invalid("filter", e.to_string()))?;
    }
    let sql = compile(&cat, &mq).map_err(|e| ApiError::invalid("(query)", e.to_string()))?;
    let batches = run_limited(&st, &p, &sql).await?;
    encode(out, &batches)
}

/// `GET /api/v1/recon/checks`.
#[utoipa::path(get, path = "/api/v1/recon/checks", tag = "reconciliation", responses((status = 200, description = "The checks")), security(("bearer" = [])))]
pub async fn checks(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::ReconRead)?;
    let specs = recon::load_checks(Some(&st.data_dir.join("checks")))
        .map_err(|e| ApiError::internal("loading reconciliation checks", e))?;
    let list: Vec<Value> = specs
        .iter()
        .map(|c| json!({"name": c.name, "title": c.title, "title_zh": c.title_zh, "description": c.description}))
        .collect();
    Ok(Json(json!({"checks": list})))
}

/// A run request.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Checks by name; omit for all.
    #[serde(default)]
    pub checks: Vec<String>,
    /// `YYYY-MM`, `YYYY` or `YYYY-MM-DD..YYYY-MM-DD`; omit for all time.
    pub period: Option<String>,
    /// Judge ages as of this day (default today, Asia/Shanghai).
    pub as_of: Option<NaiveDate>,
}

/// `POST /api/v1/recon/runs`: runs checks now and answers with the summary.
#[utoipa::path(post, path = "/api/v1/recon/runs", tag = "reconciliation", request_body = RunRequest,
    responses((status = 200, description = "Per check: found, new, reopened, closed, open"), (status = 403, description = "Not allowed, or shop-scoped")),
    security(("bearer" = [])))]
pub async fn run(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&p, Perm::ReconAct)?;
    if p.shops.is_some() {
        return Err(ApiError::Forbidden(
            "a reconciliation run covers every shop; shop-scoped callers cannot start one".into(),
        ));
    }
    let out = fmt(&headers)?;
    let r: RunRequest = parse_json(&headers, &body, 8192)?;
    let report = run_checks(&st, &r).await?;
    st.store
        .audit(
            &p.id,
            "run",
            &format!("recon/runs/{}", report.run_id),
            None,
            Some(&json!({"checks": r.checks, "period": r.period})),
        )
        .await?;
    let summary = report
        .summary()
        .map_err(|e| ApiError::internal("summarising a run", e))?;
    encode(out, &[summary])
}

/// Runs reconciliation checks (also used by the jobs endpoint).
pub async fn run_checks(st: &AppState, r: &RunRequest) -> Result<recon::RunReport, ApiError> {
    let specs = recon::load_checks(Some(&st.data_dir.join("checks")))
        .map_err(|e| ApiError::internal("loading reconciliation checks", e))?;
    let period = r
        .period
        .as_deref()
        .map(Period::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("period", e.to_string()))?;
    for (i, c) in r.checks.iter().enumerate() {
        if !specs.iter().any(|s| &s.name == c) {
            return Err(ApiError::invalid(
                &format!("checks[{i}]"),
                format!("unknown check {c:?}"),
            ));
        }
    }
    let today = chrono::Utc::now()
        .with_timezone(&vocab::BUSINESS_TZ)
        .date_naive();
    let opts = RunOptions {
        checks: r.checks.clone(),
        period,
        as_of: r.as_of.unwrap_or(today),
    };
    recon::run(&st.wh, &specs, &opts, &|_| {})
        .await
        .map_err(|e| ApiError::internal("running reconciliation", e))
}

/// Filters of the exception queue.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BreakFilter {
    /// open | resolved | ignored (default open).
    pub status: Option<String>,
    pub check: Option<String>,
    pub shop: Option<String>,
    /// At most this many (default 500, max 10000).
    pub limit: Option<u32>,
}

/// `GET /api/v1/recon/breaks`.
#[utoipa::path(get, path = "/api/v1/recon/breaks", tag = "reconciliation", params(BreakFilter), responses((status = 200, description = "Breaks, largest amount at stake first")), security(("bearer" = [])))]
pub async fn breaks(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(f): Query<BreakFilter>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require(&p, Perm::ReconRead)?;
    let out = fmt(&headers)?;
    let status = f.status.as_deref().unwrap_or("open");
    if !matches!(status, "open" | "resolved" | "ignored" | "all") {
        return Err(ApiError::invalid(
            "status",
            "must be open, resolved, ignored or all",
        ));
    }
    let mut cond = Vec::new();
    if status != "all" {
        cond.push(format!("status = {}", sql_text(status)));
    }
    if let Some(c) = &f.check {
        cond.push(format!("check_name = {}", sql_text(c)));
    }
    if let Some(s) = &f.shop {
        cond.push(format!("shop_id = {}", sql_text(s)));
    }
    let filter = if cond.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", cond.join(" AND "))
    };
    let limit = f.limit.unwrap_or(500).clamp(1, 10_000);
    let sql = format!(
        "SELECT break_id, check_name, kind, period, break_date, shop_id, key_values, unit, expected, actual, difference, amount_at_stake, detail, status, first_seen_at, last_seen_at, resolution, note, updated_by FROM recon_breaks {filter} ORDER BY amount_at_stake DESC, break_id LIMIT {limit}"
    );
    let batches = run_limited(&st, &p, &sql).await?;
    encode(out, &batches)
}

/// A person's action on a break.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakAction {
    /// resolve | ignore | reopen | note
    pub action: String,
    /// Required for resolve and ignore.
    pub note: Option<String>,
}

/// `POST /api/v1/recon/breaks/{id}/actions`.
#[utoipa::path(post, path = "/api/v1/recon/breaks/{id}/actions", tag = "reconciliation", params(("id" = String, Path)), request_body = BreakAction,
    responses((status = 200, description = "The break after the action"), (status = 404, description = "No such break in the caller's shops")),
    security(("bearer" = [])))]
pub async fn act(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::ReconAct)?;
    let a: BreakAction = parse_json(&headers, &body, 16 * 1024)?;
    let action = match a.action.as_str() {
        "resolve" => Action::Resolve,
        "ignore" => Action::Ignore,
        "reopen" => Action::Reopen,
        "note" => Action::Note,
        other => {
            return Err(ApiError::invalid(
                "action",
                format!("must be resolve, ignore, reopen or note, got {other:?}"),
            ));
        }
    };
    let note = a.note.unwrap_or_default();
    if note.chars().count() > 2000 {
        return Err(ApiError::invalid("note", "at most 2000 characters"));
    }
    if matches!(action, Action::Resolve | Action::Ignore | Action::Note) && note.trim().is_empty() {
        return Err(ApiError::invalid(
            "note",
            format!("is required to {}", a.action),
        ));
    }
    let visible = run_limited(
        &st,
        &p,
        &format!(
            "SELECT status FROM recon_breaks WHERE break_id = {}",
            sql_text(&id)
        ),
    )
    .await?;
    let before = visible
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(pipelines_status)
        .ok_or_else(|| ApiError::NotFound(format!("no break {id:?}")))?;
    let row = recon::act(&st.wh, &id, action, &note, &p.id)
        .await
        .map_err(|e| ApiError::invalid("action", e.to_string()))?;
    let after = json!({"status": row.status, "note": row.note, "resolution": row.resolution});
    st.store
        .audit(
            &p.id,
            &a.action,
            &format!("recon/breaks/{id}"),
            Some(&json!({"status": before})),
            Some(&after),
        )
        .await?;
    Ok(Json(
        json!({"break_id": id, "status": row.status, "note": row.note, "resolution": row.resolution, "updated_by": p.id}),
    ))
}

fn pipelines_status(b: &arrow::record_batch::RecordBatch) -> String {
    arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
        .ok()
        .and_then(|a| {
            use arrow::array::AsArray;
            a.as_string_opt::<i32>().map(|s| s.value(0).to_string())
        })
        .unwrap_or_default()
}
