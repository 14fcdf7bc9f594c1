//! Connectors over HTTP, plus health, Prometheus metrics and the journal flush.
//!
//! Connector secrets are write-only: `PUT /connectors/{name}/secrets` stores values for the
//! env names a document references (in the API's SQLite file, mode 0600), bound to that
//! connector; no endpoint ever returns them, and listings show only whether each secret is
//! set. A document may reference only the variables the secret policy allows
//! (`pipelines::registry::SecretPolicy`), so no connector can read another's secret or any other
//! variable of the server.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pipelines::registry::{self, ConnectorDoc, Registry};
use serde::Deserialize;
use serde_json::{Value, json};

use super::forms::{json_body, parse_json};
use crate::auth::roles::Perm;
use crate::auth::{Principal, require};
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Connector `name`'s secrets: its stored values, else allowed variables.
fn resolver<'a>(st: &'a AppState, name: &'a str) -> impl Fn(&str) -> Option<String> + 'a {
    move |k: &str| st.secrets.get(name, k)
}

fn reg(st: &AppState) -> Registry {
    Registry::new(&st.data_dir)
}

/// `GET /api/v1/connectors`.
#[utoipa::path(get, path = "/api/v1/connectors", tag = "connectors", responses((status = 200, description = "Registered connectors; secrets only as set / not set")), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::ConnectorsRead)?;
    let docs = reg(&st)
        .list()
        .map_err(|e| ApiError::internal("listing connectors", e))?;
    let list: Vec<Value> = docs
        .iter()
        .map(|d| {
            let sec: HashMap<&String, bool> = d
                .secrets
                .iter()
                .map(|(k, r)| (k, st.secrets.get(&d.name, &r.env).is_some()))
                .collect();
            json!({
                "name": d.name, "kind": d.kind.as_str(), "description": d.description,
                "schedule": d.schedule, "streams": registry::enabled_streams(d).unwrap_or_default(),
                "secrets_set": sec,
            })
        })
        .collect();
    Ok(Json(json!({"connectors": list})))
}

/// A connector document to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// The connector document (TOML), as in docs/connectors.md.
    pub document: String,
    /// Replace an existing connector of the same name.
    #[serde(default)]
    pub replace: bool,
}

/// `POST /api/v1/connectors`.
#[utoipa::path(post, path = "/api/v1/connectors", tag = "connectors", request_body = Register, responses((status = 201, description = "Registered"), (status = 422, description = "Invalid document")), security(("bearer" = [])))]
pub async fn register(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&p, Perm::ConnectorsWrite)?;
    let r: Register = parse_json(&headers, &body, 64 * 1024)?;
    let doc = ConnectorDoc::parse(&r.document, "request")
        .map_err(|e| ApiError::invalid("document", e.to_string()))?;
    registry::validate(&doc).map_err(|e| ApiError::invalid("document", e.to_string()))?;
    st.secrets
        .policy()
        .check(&doc)
        .map_err(|e| ApiError::invalid("document", e))?;
    if doc.schedule.is_some() && p.shops.is_some() {
        // A schedule starts syncs, which act on every shop: the same rule as `POST /jobs`.
        return Err(ApiError::Forbidden(
            "a connector's `schedule` starts syncs, which act on every shop; a shop-scoped caller cannot set one".into(),
        ));
    }
    reg(&st)
        .add(&doc, r.replace)
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    st.store
        .audit(
            &p.id,
            "register",
            &format!("connectors/{}", doc.name),
            None,
            Some(&json!({"document": r.document})),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": doc.name, "kind": doc.kind.as_str()})),
    )
        .into_response())
}

/// `PUT /api/v1/connectors/{name}/secrets`: `{"ENV_NAME": "value", ...}` for the env names
/// the document references. Values are never returned.
#[utoipa::path(put, path = "/api/v1/connectors/{name}/secrets", tag = "connectors", params(("name" = String, Path)),
    request_body(content = Object, description = "env name -> secret value"),
    responses((status = 204, description = "Stored"), (status = 422, description = "A name the document does not reference")), security(("bearer" = [])))]
pub async fn put_secrets(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&p, Perm::ConnectorsWrite)?;
    let doc = reg(&st)
        .get(&name)
        .map_err(|e| ApiError::NotFound(e.to_string()))?;
    let v = json_body(&headers, &body, 64 * 1024)?;
    let Value::Object(m) = v else {
        return Err(ApiError::invalid(
            "(body)",
            "must be an object of env name to value",
        ));
    };
    for (k, val) in &m {
        if !doc.secrets.values().any(|r| &r.env == k) {
            return Err(ApiError::invalid(
                k,
                format!("connector {name} references no secret ${k}"),
            ));
        }
        if !st.secrets.policy().allows(k) {
            return Err(ApiError::invalid(
                k,
                format!("${k} is not an allowed secret variable"),
            ));
        }
        let Some(s) = val.as_str().filter(|s| !s.is_empty() && s.len() <= 4096) else {
            return Err(ApiError::invalid(k, "must be text of 1 to 4096 characters"));
        };
        st.store.put_connector_secret(&name, k, s, &p.id).await?;
    }
    // Syncs run by this process's workers see the new values at once.
    st.secrets
        .reload(&st.store)
        .await
        .map_err(|e| ApiError::internal("reloading connector secrets", e))?;
    let names: Vec<&String> = m.keys().collect();
    st.store
        .audit(
            &p.id,
            "set_secrets",
            &format!("connectors/{name}"),
            None,
            Some(&json!({"names": names})),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/connectors/{name}/test`: fetches the first page of the last hour of each stream.
#[utoipa::path(post, path = "/api/v1/connectors/{name}/test", tag = "connectors", params(("name" = String, Path)), responses((status = 200, description = "Per stream: ok or the error")), security(("bearer" = [])))]
pub async fn test(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::ConnectorsWrite)?;
    let r = reg(&st);
    let doc = r
        .get(&name)
        .map_err(|e| ApiError::NotFound(e.to_string()))?;
    st.secrets
        .policy()
        .check(&doc)
        .map_err(|e| ApiError::invalid("connector", e))?;
    let env = resolver(&st, &doc.name);
    let streams = registry::build(&doc, &env, r.tokens(&doc.name), &[])
        .map_err(|e| ApiError::invalid("connector", e.to_string()))?;
    let to = shanghai_now();
    let from = to - chrono::Duration::hours(1);
    let mut out = Vec::new();
    for s in streams {
        out.push(match s.page(from, to, None).await {
            Ok(pg) => json!({"stream": s.name(), "ok": true, "records": pg.rows.len()}),
            Err(e) => json!({"stream": s.name(), "ok": false, "error": e.to_string()}),
        });
    }
    Ok(Json(json!({"connector": name, "streams": out})))
}

fn shanghai_now() -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let t = chrono::Utc::now()
        .with_timezone(&vocab::BUSINESS_TZ)
        .naive_local();
    t.with_nanosecond(0).unwrap_or(t)
}

/// `GET /healthz`: liveness and the flush lag (public, no data).
pub async fn healthz(State(st): State<AppState>) -> Json<Value> {
    let head = crate::server::flush::journal_head(&st.store)
        .await
        .unwrap_or(-1);
    let (done, err) = st.flush.status();
    Json(
        json!({"status": if err.is_none() { "ok" } else { "degraded" }, "journal_head": head, "flushed_through": done, "flush_error": err.is_some()}),
    )
}

/// `GET /metrics`: Prometheus text (any authenticated caller).
pub async fn prometheus(
    State(st): State<AppState>,
    Extension(_p): Extension<Principal>,
) -> Response {
    let head = crate::server::flush::journal_head(&st.store)
        .await
        .unwrap_or(0) as f64;
    let done = st.flush.status().0 as f64;
    let text = st.telemetry.render(&[
        (
            "zhongtai_journal_head_seq",
            "Highest journal sequence number.",
            head,
        ),
        (
            "zhongtai_journal_flushed_seq",
            "Journal sequence number flushed into the lake.",
            done,
        ),
        (
            "zhongtai_journal_pending_rows",
            "Rows accepted and not yet in the lake.",
            st.pending.len() as f64,
        ),
    ]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// `POST /api/v1/flush`: flushes the journal into the lake now (admin).
#[utoipa::path(post, path = "/api/v1/flush", tag = "jobs", responses((status = 200, description = "What was flushed")), security(("bearer" = [])))]
pub async fn flush_now(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::Admin)?;
    let r = st
        .flush
        .flush()
        .await
        .map_err(|e| ApiError::internal("flushing the journal", e))?;
    Ok(Json(json!(r)))
}
