//! Dashboards and reports over HTTP: the list, a dashboard's Vega-Lite specs with their data
//! (cached by the lake's table versions, so a warm dashboard costs a lookup), and exports of
//! dashboards and reports as HTML, PDF or Excel — all scoped to the caller's shops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::analytics::catalog;
use crate::auth::roles::Perm;
use crate::auth::{Principal, require};
use crate::dashboards::{
    Export, Filters, Library, Runner, dashboard_doc, dashboard_json, narrow, render, report_doc,
};
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// The version of every lake table.
type Versions = Vec<(&'static str, Option<u64>)>;

/// Dashboard responses by (dashboard, filters, caller's scope), valid while every lake table
/// is at the version they were computed from.
#[derive(Debug, Default)]
pub struct DashCache {
    entries: Mutex<HashMap<String, (Versions, Arc<Value>)>>,
}

/// Most cached responses; past it the cache starts over.
const CACHE_ENTRIES: usize = 512;

impl DashCache {
    fn get(&self, key: &str, versions: &[(&'static str, Option<u64>)]) -> Option<Arc<Value>> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(v, _)| v.as_slice() == versions)
            .map(|(_, body)| Arc::clone(body))
    }

    fn put(&self, key: String, versions: Versions, body: Arc<Value>) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHE_ENTRIES {
            map.clear();
        }
        map.insert(key, (versions, body));
    }
}

/// `from`, `to`, `shop` (repeated or comma-separated) and `status` from a query string.
fn filters(raw: Option<&str>) -> Result<Filters, ApiError> {
    let mut f = Filters::default();
    let date = |k: &str, v: &str| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(k, format!("{v:?} is not a date (YYYY-MM-DD)")))
    };
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let v = v.trim();
        match k.as_ref() {
            "from" if !v.is_empty() => f.from = Some(date("from", v)?),
            "to" if !v.is_empty() => f.to = Some(date("to", v)?),
            "shop" | "shops" => f.shops.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            ),
            "status" if !v.is_empty() => f.status = Some(v.to_string()),
            "platform" if !v.is_empty() => f.platform = Some(v.to_string()),
            "category" if !v.is_empty() => f.category = Some(v.to_string()),
            "from" | "to" | "status" | "platform" | "category" | "lang" => {}
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown parameter (use from, to, shop, platform, category, status)",
                ));
            }
        }
    }
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a > b
    {
        return Err(ApiError::invalid("from", format!("{a} is after to ({b})")));
    }
    f.shops.sort();
    f.shops.dedup();
    Ok(f)
}

fn library(st: &AppState) -> Result<Library, ApiError> {
    Library::load(&st.data_dir).map_err(|e| ApiError::internal("loading dashboards and reports", e))
}

/// The caller narrowed to the shops asked for, and the filters with the effective shops.
fn scope(p: &Principal, mut f: Filters) -> Result<(Principal, Filters), ApiError> {
    let q = narrow(p, &f.shops)?;
    if f.shops.is_empty()
        && let Some(mine) = &p.shops
    {
        f.shops.clone_from(mine);
    }
    Ok((q, f))
}

/// `GET /api/v1/dashboards`.
#[utoipa::path(get, path = "/api/v1/dashboards", tag = "dashboards",
    responses((status = 200, description = "The dashboards with their panels, and the shops the caller sees (for the shop filter)")),
    security(("bearer" = [])))]
pub async fn list_dashboards(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::Metrics)?;
    let lib = library(&st)?;
    let shops = crate::routes::query::run_limited(
        &st,
        &p,
        "SELECT shop_id, name AS shop_name, platform FROM shops ORDER BY shop_id",
    )
    .await?;
    let shops = dashboards::rows_json("shops", &shops)
        .map_err(|e| ApiError::internal("listing shops", e))?;
    let categories = crate::routes::query::run_limited(
        &st,
        &p,
        "SELECT category_id, path AS name FROM categories ORDER BY path",
    )
    .await?;
    let categories = dashboards::rows_json("categories", &categories)
        .map_err(|e| ApiError::internal("listing categories", e))?;
    let mut platforms: Vec<&str> = shops
        .iter()
        .filter_map(|s| s["platform"].as_str())
        .collect();
    platforms.sort_unstable();
    platforms.dedup();
    let list: Vec<Value> = lib
        .dashboards
        .iter()
        .map(|d| {
            json!({
                "id": d.id, "title": d.title, "title_zh": d.title_zh,
                "panels": d.panels.iter().map(|p| json!({"id": p.id, "title": p.title, "title_zh": p.title_zh})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(
        json!({"dashboards": list, "shops": shops, "platforms": platforms, "categories": categories}),
    ))
}

fn split_ext(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, ext)) => (stem, Some(ext)),
        None => (name, None),
    }
}

fn download(bytes: Vec<u8>, fmt: Export, stem: &str, f: &Filters) -> Response {
    let period = match (f.from, f.to) {
        (Some(a), Some(b)) => format!("-{a}-{b}"),
        (Some(a), None) => format!("-from-{a}"),
        (None, Some(b)) => format!("-to-{b}"),
        (None, None) => String::new(),
    };
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(fmt.mime()));
    let disposition = if fmt == Export::Html {
        "inline"
    } else {
        "attachment"
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{disposition}; filename=\"{stem}{period}.{}\"",
        fmt.ext()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /api/v1/dashboards/{id}`: specs with data; `{id}.xlsx|.pdf|.html` exports it.
#[utoipa::path(get, path = "/api/v1/dashboards/{id}", tag = "dashboards",
    params(("id" = String, Path, description = "A dashboard id, or id.xlsx / id.pdf / id.html for an export"),
        ("from" = Option<String>, Query, description = "First business day, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Last business day, YYYY-MM-DD"),
        ("shop" = Option<String>, Query, description = "Only these shops (repeat, or comma-separated); within the caller's"),
        ("platform" = Option<String>, Query, description = "Only this platform (metric panels with a platform dimension)"),
        ("category" = Option<String>, Query, description = "Only this category id (metric panels with a category dimension)")),
    responses((status = 200, description = "Every panel's Vega-Lite spec with its rows inline (or the export file)"),
        (status = 403, description = "A shop outside the caller's"), (status = 404, description = "No such dashboard"),
        (status = 422, description = "Bad parameters")),
    security(("bearer" = [])))]
pub async fn get_dashboard(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(&p, Perm::Metrics)?;
    let f = filters(raw.as_deref())?;
    if f.status.is_some() {
        return Err(ApiError::invalid(
            "status",
            "dashboards have no status filter",
        ));
    }
    let (stem, ext) = split_ext(&id);
    let export = match ext {
        None => None,
        Some(e) => Some(Export::parse(e).ok_or_else(|| {
            ApiError::NotFound(format!("no export .{e}; use .xlsx, .pdf or .html"))
        })?),
    };
    let lib = library(&st)?;
    let d = lib.dashboard(stem).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no dashboard {stem:?}; GET /api/v1/dashboards lists them"
        ))
    })?;
    let (q, f) = scope(&p, f)?;
    let cat = catalog(&st)?;
    let runner = Runner::Api {
        st: &st,
        p: q.clone(),
    };
    if let Some(fmt) = export {
        let doc = dashboard_doc(&runner, &cat, d, &f, &st.branding).await?;
        let bytes = render(doc, fmt).await?;
        return Ok(download(bytes, fmt, stem, &f));
    }
    let versions = st
        .tables
        .versions()
        .await
        .map_err(|e| ApiError::internal("reading table versions", e))?;
    // The key holds every panel's SQL, so an edited dashboard or metric file misses too.
    let sqls: Vec<Result<String, String>> = d
        .panels
        .iter()
        .map(|x| crate::dashboards::source_sql(&cat, &x.source, &f, &[]))
        .collect();
    // Today's date too: panels that age things (breaks by age) move with the calendar.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let key = format!("{d:?}|{sqls:?}|{:?}|{:?}|{today}", q.role, q.shops);
    if let Some(body) = st.dash_cache.get(&key, &versions) {
        return Ok(Json((*body).clone()).into_response());
    }
    let body = Arc::new(dashboard_json(&runner, &cat, d, &f).await);
    st.dash_cache.put(key, versions, Arc::clone(&body));
    Ok(Json((*body).clone()).into_response())
}

/// `GET /api/v1/reports`.
#[utoipa::path(get, path = "/api/v1/reports", tag = "dashboards",
    responses((status = 200, description = "The reports with their sections and status values")),
    security(("bearer" = [])))]
pub async fn list_reports(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::Metrics)?;
    let lib = library(&st)?;
    let list: Vec<Value> = lib
        .reports
        .iter()
        .map(|r| {
            json!({
                "name": r.id, "title": r.title, "title_zh": r.title_zh, "description": r.description,
                "statuses": r.statuses,
                "sections": r.sections.iter().map(|s| json!({"id": s.id, "title": s.title, "title_zh": s.title_zh})).collect::<Vec<_>>(),
                "formats": ["html", "pdf", "xlsx"],
            })
        })
        .collect();
    Ok(Json(json!({"reports": list})))
}

/// `GET /api/v1/reports/{file}`: `name.html`, `name.pdf` or `name.xlsx`.
#[utoipa::path(get, path = "/api/v1/reports/{file}", tag = "dashboards",
    params(("file" = String, Path, description = "A report name with .html, .pdf or .xlsx"),
        ("from" = Option<String>, Query, description = "First business day, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Last business day, YYYY-MM-DD"),
        ("shop" = Option<String>, Query, description = "Only these shops (repeat, or comma-separated); within the caller's"),
        ("status" = Option<String>, Query, description = "One of the report's statuses")),
    responses((status = 200, description = "The report file"), (status = 403, description = "A shop outside the caller's"),
        (status = 404, description = "No such report or format"), (status = 422, description = "Bad parameters, or a section failed")),
    security(("bearer" = [])))]
pub async fn get_report(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(&p, Perm::Metrics)?;
    let f = filters(raw.as_deref())?;
    let (stem, ext) = split_ext(&file);
    let fmt = ext.and_then(Export::parse).ok_or_else(|| {
        ApiError::NotFound(format!(
            "{file:?}: ask for a report as NAME.html, NAME.pdf or NAME.xlsx"
        ))
    })?;
    let lib = library(&st)?;
    let r = lib.report(stem).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no report {stem:?}; GET /api/v1/reports lists them"
        ))
    })?;
    let (q, f) = scope(&p, f)?;
    let cat = catalog(&st)?;
    let runner = Runner::Api { st: &st, p: q };
    let doc = report_doc(&runner, &cat, r, &f, &st.branding).await?;
    let bytes = render(doc, fmt).await?;
    Ok(download(bytes, fmt, stem, &f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_become_filters_or_named_errors() {
        let f = filters(Some(
            "from=2026-10-01&to=2026-10-31&shop=b&shop=a,c&lang=zh",
        ))
        .expect("ok");
        assert_eq!(f.from, NaiveDate::from_ymd_opt(2026, 10, 1));
        assert_eq!(f.shops, vec!["a", "b", "c"]);
        for (q, field) in [
            ("from=2026-13-01", "from"),
            ("from=2026-10-02&to=2026-10-01", "from"),
            ("bogus=1", "bogus"),
        ] {
            match filters(Some(q)) {
                Err(ApiError::Invalid(f)) => assert_eq!(f[0].field, field, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
        assert_eq!(filters(None).expect("empty"), Filters::default());
    }

    #[test]
    fn a_cached_dashboard_is_served_only_while_every_table_is_at_its_version() {
        let c = DashCache::default();
        let v1 = vec![("orders", Some(3)), ("shops", Some(1))];
        c.put("k".into(), v1.clone(), Arc::new(json!({"n": 1})));
        assert_eq!(c.get("k", &v1).as_deref(), Some(&json!({"n": 1})));
        assert!(
            c.get("k", &[("orders", Some(4)), ("shops", Some(1))])
                .is_none()
        );
        assert!(c.get("other", &v1).is_none());
    }
}
