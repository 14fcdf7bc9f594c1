//! Jobs, schedules and alerts over HTTP: queue a run, watch it, cancel it; list and change
//! schedules; read alert state and the delivery log, add rules, snooze.
//!
//! Jobs act on every shop, so shop-scoped callers may not start, cancel or schedule them, nor
//! read alerts (their keys name SKUs and shops across the company).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pipelines::alerts::Rule;
use pipelines::alerts::store::AlertStore;
use pipelines::jobs::{JobArgs, JobSpec, ScheduleDef, Trigger, new_run_id, submit};
use serde::Deserialize;
use serde_json::{Value, json};

use super::forms::parse_json;
use crate::auth::roles::Perm;
use crate::auth::{Principal, require};
use crate::server::error::ApiError;
use crate::server::state::AppState;

fn unscoped(p: &Principal) -> Result<(), ApiError> {
    if p.shops.is_some() {
        return Err(ApiError::Forbidden(
            "jobs and alerts act on every shop; shop-scoped callers cannot use them".into(),
        ));
    }
    Ok(())
}

fn backend(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal("using the job backend", e)
}

/// A job to start.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// sync | marts | reconcile | alerts
    pub kind: String,
    /// sync: {"connector": NAME, "days": N}; reconcile: {"checks": [...], "period": "2026-11"};
    /// alerts: {"rules": [...]}.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub args: Value,
}

/// Filters of the run list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RunFilter {
    /// queued | running | retrying | succeeded | failed | skipped | cancelled
    pub status: Option<String>,
    /// sync | marts | reconcile | alerts
    pub kind: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// `GET /api/v1/jobs`.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(RunFilter), responses((status = 200, description = "Runs, newest first, with status, attempts, worker, duration, rows and error")), security(("bearer" = [])))]
pub async fn list_jobs(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(f): Query<RunFilter>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRead)?;
    let runs = st
        .jobs
        .state
        .list(
            f.status.as_deref(),
            f.kind.as_deref(),
            f.limit.unwrap_or(100),
        )
        .await
        .map_err(backend)?;
    Ok(Json(json!({"jobs": runs})))
}

/// `GET /api/v1/jobs/{id}`.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path)), responses((status = 200, description = "One run"), (status = 404, description = "No such run")), security(("bearer" = [])))]
pub async fn get_job(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRead)?;
    match st.jobs.state.get(&id).await.map_err(backend)? {
        Some(r) => Ok(Json(json!(r))),
        None => Err(ApiError::NotFound(format!("no job run {id:?}"))),
    }
}

/// Reads `{kind, args}` into a job spec, naming the bad field.
fn spec_of(j: &NewJob) -> Result<JobSpec, ApiError> {
    let mut obj = match &j.args {
        Value::Null => serde_json::Map::new(),
        Value::Object(m) => m.clone(),
        _ => return Err(ApiError::invalid("args", "must be an object")),
    };
    obj.insert("kind".into(), Value::from(j.kind.clone()));
    let spec: JobSpec = serde_json::from_value(Value::Object(obj)).map_err(|e| {
        let field = if e.to_string().contains("unknown variant") {
            "kind"
        } else {
            "args"
        };
        ApiError::invalid(field, e.to_string())
    })?;
    spec.validate().map_err(|e| ApiError::invalid("args", e))?;
    Ok(spec)
}

/// `POST /api/v1/jobs`: queues a run; answers 202 with its id at once.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", request_body = NewJob, responses((status = 202, description = "Queued: the run"), (status = 422, description = "Unknown kind or bad arguments")), security(("bearer" = [])))]
pub async fn start_job(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let j: NewJob = parse_json(&headers, &body, 16 * 1024)?;
    let spec = spec_of(&j)?;
    match spec {
        JobSpec::Reconcile { .. } => require(&p, Perm::ReconAct)?,
        _ => require(&p, Perm::JobsRun)?,
    }
    unscoped(&p)?;
    if let JobSpec::Sync { connector, .. } = &spec {
        pipelines::registry::Registry::new(&st.data_dir)
            .get(connector)
            .map_err(|e| ApiError::invalid("args.connector", e.to_string()))?;
    }
    let args = JobArgs {
        run_id: new_run_id(),
        spec,
        trigger: Trigger::Manual,
        requested_by: p.id.clone(),
        attempt: 1,
    };
    submit(&st.jobs.queue, &st.jobs.state, &args)
        .await
        .map_err(backend)?;
    st.store
        .audit(
            &p.id,
            "start",
            &format!("jobs/{}", args.run_id),
            None,
            Some(&json!({"job": args.spec})),
        )
        .await?;
    let run = st.jobs.state.get(&args.run_id).await.map_err(backend)?;
    Ok((StatusCode::ACCEPTED, Json(json!(run))).into_response())
}

/// `POST /api/v1/jobs/{id}/cancel`: a queued run will not start; a running one stops at its
/// next lease renewal (work already committed stays, syncs resume from their cursor).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path)), responses((status = 200, description = "Cancel requested"), (status = 404, description = "No such run"), (status = 409, description = "The run is already over")), security(("bearer" = [])))]
pub async fn cancel_job(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRun)?;
    unscoped(&p)?;
    let Some(run) = st.jobs.state.get(&id).await.map_err(backend)? else {
        return Err(ApiError::NotFound(format!("no job run {id:?}")));
    };
    if !st.jobs.state.request_cancel(&id).await.map_err(backend)? {
        return Err(ApiError::Conflict(format!(
            "run {id} is already {}",
            run.status
        )));
    }
    st.store
        .audit(&p.id, "cancel", &format!("jobs/{id}"), None, None)
        .await?;
    Ok(Json(json!({"run_id": id, "cancel_requested": true})))
}

/// `GET /api/v1/schedules`: every schedule in force (config, connectors, stored).
#[utoipa::path(get, path = "/api/v1/schedules", tag = "jobs", responses((status = 200, description = "Schedules")), security(("bearer" = [])))]
pub async fn list_schedules(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRead)?;
    let all = pipelines::jobs::Scheduler::new(st.jobs.clone(), st.jobs_setup.schedules.clone())
        .all()
        .await;
    Ok(Json(json!({"schedules": all})))
}

/// A schedule to store.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// Cron, Asia/Shanghai: 5 fields (min hour day month weekday) or 6-7 with seconds.
    pub cron: String,
    /// The job, e.g. {"kind": "sync", "connector": "jst-main"}.
    #[schema(value_type = Object)]
    pub job: Value,
}

/// `PUT /api/v1/schedules/{name}`.
#[utoipa::path(put, path = "/api/v1/schedules/{name}", tag = "jobs", params(("name" = String, Path)), request_body = NewSchedule, responses((status = 200, description = "Stored"), (status = 422, description = "Bad cron or job")), security(("bearer" = [])))]
pub async fn put_schedule(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRun)?;
    unscoped(&p)?;
    let n: NewSchedule = parse_json(&headers, &body, 16 * 1024)?;
    let job: JobSpec =
        serde_json::from_value(n.job).map_err(|e| ApiError::invalid("job", e.to_string()))?;
    let def = ScheduleDef {
        name: name.clone(),
        cron: n.cron,
        job,
    };
    def.validate()
        .map_err(|e| ApiError::invalid("schedule", e.to_string()))?;
    st.jobs
        .state
        .put_schedule(&def.name, &def.cron, &def.job, &p.id)
        .await
        .map_err(backend)?;
    st.store
        .audit(
            &p.id,
            "put",
            &format!("schedules/{name}"),
            None,
            Some(&json!(def)),
        )
        .await?;
    Ok(Json(json!(def)))
}

/// `DELETE /api/v1/schedules/{name}` (stored schedules only).
#[utoipa::path(delete, path = "/api/v1/schedules/{name}", tag = "jobs", params(("name" = String, Path)), responses((status = 204, description = "Deleted"), (status = 404, description = "No stored schedule of that name")), security(("bearer" = [])))]
pub async fn delete_schedule(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    require(&p, Perm::JobsRun)?;
    unscoped(&p)?;
    if !st
        .jobs
        .state
        .delete_schedule(&name)
        .await
        .map_err(backend)?
    {
        return Err(ApiError::NotFound(format!(
            "no stored schedule {name:?} (config and connector schedules change in their files)"
        )));
    }
    st.store
        .audit(&p.id, "delete", &format!("schedules/{name}"), None, None)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn alert_store(st: &AppState) -> AlertStore {
    AlertStore::of(st.jobs.state.pool())
}

/// `GET /api/v1/alerts`: every rule's keys with their state.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", responses((status = 200, description = "Alert state per rule and key")), security(("bearer" = [])))]
pub async fn list_alerts(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRead)?;
    unscoped(&p)?;
    let s = alert_store(&st);
    let mut states = s.states("").await.map_err(backend)?;
    let hidden = unreadable_rules(&st, &p, &s).await?;
    states.retain(|k| !hidden.contains(&k.rule));
    Ok(Json(json!({"alerts": states})))
}

/// Rules whose keys and values `p` may not read: those whose SQL does not plan in `p`'s
/// session (it names a table `p`'s role cannot read, such as `salaries`). A rule's state is
/// what its query returned, so it is shown only to those who could run that query.
async fn unreadable_rules(
    st: &AppState,
    p: &Principal,
    s: &AlertStore,
) -> Result<std::collections::HashSet<String>, ApiError> {
    let mut hidden = std::collections::HashSet::new();
    let Some(rt) = &st.jobs.alerts else {
        return Ok(hidden);
    };
    let ctx = crate::routes::query::session_for(st, p).await?;
    for r in rt.rules(s).await.map_err(backend)? {
        if let Some(sql) = &r.sql
            && ctx.state().create_logical_plan(sql).await.is_err()
        {
            hidden.insert(r.name);
        }
    }
    Ok(hidden)
}

/// `GET /api/v1/alerts/deliveries`: the delivery log with each platform's answer.
#[utoipa::path(get, path = "/api/v1/alerts/deliveries", tag = "alerts", responses((status = 200, description = "Deliveries, newest first")), security(("bearer" = [])))]
pub async fn deliveries(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRead)?;
    unscoped(&p)?;
    let s = alert_store(&st);
    Ok(Json(
        json!({"deliveries": s.deliveries(200).await.map_err(backend)?}),
    ))
}

/// `GET /api/v1/alerts/rules`: config and stored rules.
#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts", responses((status = 200, description = "Rules and channel names")), security(("bearer" = [])))]
pub async fn list_rules(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRead)?;
    unscoped(&p)?;
    let Some(rt) = &st.jobs.alerts else {
        return Ok(Json(json!({"rules": [], "channels": []})));
    };
    let s = alert_store(&st);
    let rules = rt.rules(&s).await.map_err(backend)?;
    Ok(Json(
        json!({"rules": rules, "channels": rt.channel_names()}),
    ))
}

/// An alert rule as stored through the API (the shape of `[[alerts.rules]]`; see docs/jobs.md).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RuleBody {
    pub title: Option<String>,
    /// low_stock | high_stock | stale_shipment | recon_breaks | quarantined_records | sales_drop | failing_sync | stuck_job
    pub builtin: Option<String>,
    /// Or lake SQL returning `key`, `value` [, `threshold`, `clear`, `label`].
    pub sql: Option<String>,
    /// < | <= | > | >=
    pub op: Option<String>,
    /// A number (text or JSON number).
    #[schema(value_type = Option<String>)]
    pub threshold: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub clear: Option<Value>,
    /// Channel names from the config file.
    pub channels: Vec<String>,
    pub repeat_minutes: Option<u32>,
}

/// `PUT /api/v1/alerts/rules/{name}`: adds or replaces a stored rule (channels come from the
/// config file, where their keys are).
#[utoipa::path(put, path = "/api/v1/alerts/rules/{name}", tag = "alerts", params(("name" = String, Path)), request_body = RuleBody, responses((status = 200, description = "Stored"), (status = 409, description = "No channels configured"), (status = 422, description = "Bad rule")), security(("bearer" = [])))]
pub async fn put_rule(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRun)?;
    unscoped(&p)?;
    let Some(rt) = &st.jobs.alerts else {
        return Err(ApiError::Conflict(
            "no alert channels are configured; add [alerts.channels] to the config file".into(),
        ));
    };
    let mut v: Value = super::forms::json_body(&headers, &body, 16 * 1024)?;
    if let Value::Object(m) = &mut v {
        m.insert("name".into(), Value::from(name.clone()));
    }
    let rule: Rule =
        serde_json::from_value(v).map_err(|e| ApiError::invalid("(body)", e.to_string()))?;
    let names = rt.channel_names();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    rule.validate(&refs)
        .map_err(|e| ApiError::invalid("rule", e))?;
    // The rule will run as its author: it must run as its author now.
    let sql = match (&rule.builtin, &rule.sql) {
        (Some(b), _) => pipelines::alerts::rules::builtin_sql(*b, rule.threshold.as_deref()),
        (None, s) => s.clone(),
    };
    if let Some(sql) = sql {
        require(&p, Perm::Query).map_err(|_| {
            ApiError::Forbidden("a rule's query runs as its author, who may not run SQL".into())
        })?;
        super::query::run_limited(&st, &p, &sql)
            .await
            .map_err(|e| {
                ApiError::invalid(
                    "sql",
                    format!("the rule's query fails as its author: {}", e.message()),
                )
            })?;
    }
    let s = alert_store(&st);
    let text = serde_json::to_string(&rule).unwrap_or_default();
    s.put_rule(&name, &text, &p.id).await.map_err(backend)?;
    st.store
        .audit(
            &p.id,
            "put",
            &format!("alerts/rules/{name}"),
            None,
            Some(&json!(rule)),
        )
        .await?;
    Ok(Json(json!(rule)))
}

/// A snooze.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Snooze {
    /// One key of the rule; all keys when absent.
    #[serde(default)]
    pub key: Option<String>,
    /// Minutes from now (1 to 10080).
    pub minutes: i64,
}

/// `POST /api/v1/alerts/{name}/snooze`: silences a rule (or one of its keys) for a while.
#[utoipa::path(post, path = "/api/v1/alerts/{name}/snooze", tag = "alerts", params(("name" = String, Path, description = "The rule")), request_body = Snooze, responses((status = 200, description = "Snoozed keys"), (status = 422, description = "Bad minutes")), security(("bearer" = [])))]
pub async fn snooze(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(rule): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::JobsRun)?;
    unscoped(&p)?;
    let z: Snooze = parse_json(&headers, &body, 4096)?;
    if !(1..=10_080).contains(&z.minutes) {
        return Err(ApiError::invalid("minutes", "between 1 and 10080 (a week)"));
    }
    let until = pipelines::jobs::now_ms() + z.minutes * 60_000;
    let s = alert_store(&st);
    let n = s
        .snooze(&rule, z.key.as_deref().unwrap_or(""), until)
        .await
        .map_err(backend)?;
    st.store
        .audit(
            &p.id,
            "snooze",
            &format!("alerts/{rule}"),
            None,
            Some(&json!({"key": z.key, "minutes": z.minutes})),
        )
        .await?;
    Ok(Json(json!({"rule": rule, "snoozed": n, "until_ms": until})))
}
