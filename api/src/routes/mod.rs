//! HTTP routes: one file per area. `router` assembles them behind authentication; `openapi`
//! builds the OpenAPI 3.1 document from the handlers' annotations plus one path per form.

pub mod admin;
pub mod analytics;
pub mod dashboards;
pub mod forms;
pub mod jobs;
pub mod ops;
pub mod query;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::server::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "zhongtai API", description = "E-commerce data hub: entry forms, read-only SQL, metrics, reconciliation, connectors, jobs, schedules and alerts. Every route needs `Authorization: Bearer <token>` (or a session cookie) except /healthz and POST /api/v1/login."),
    paths(
        query::query, admin::me, admin::login, admin::logout, admin::list_tokens, admin::create_token,
        admin::revoke_token, admin::put_user, admin::audit, analytics::list_metrics, analytics::metric,
        analytics::checks, analytics::run, analytics::breaks, analytics::act, ops::list, ops::register,
        ops::put_secrets, ops::test, ops::flush_now, jobs::list_jobs, jobs::get_job, jobs::start_job,
        jobs::cancel_job, jobs::list_schedules, jobs::put_schedule, jobs::delete_schedule,
        jobs::list_alerts, jobs::deliveries, jobs::list_rules, jobs::put_rule, jobs::snooze,
        dashboards::list_dashboards, dashboards::get_dashboard, dashboards::list_reports, dashboards::get_report,
    ),
    components(schemas(query::QueryRequest, admin::Login, admin::NewToken, admin::NewUser, analytics::RunRequest, analytics::BreakAction, ops::Register, jobs::NewJob, jobs::NewSchedule, jobs::Snooze, jobs::RuleBody)),
    modifiers(&Bearer)
)]
struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn error_responses() -> Value {
    let e = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({
        "400": e("The body is not valid JSON"), "401": e("No or bad credentials"),
        "403": e("The role may not do this"), "404": e("No such form or record"),
        "409": e("Exists already, or the Idempotency-Key was used for another request"),
        "413": e("Body too large"), "415": e("Wrong content type"),
        "422": e("Validation failed; `fields` names each field"),
    })
}

/// The OpenAPI document: annotated handlers plus one POST/PUT/GET per entry form.
pub fn openapi() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|_| json!({}));
    let idem = json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"}, "description": "Retries with the same key and body write once and get the first answer."});
    let sec = json!([{"bearer": []}]);
    let accepted = json!({"description": "Journaled durably; in the lake after the next flush", "content": {"application/json": {"schema": {"type": "object"}}}});
    doc["components"]["schemas"]["Error"] = json!({"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "properties": {"status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}}}});
    let paths = &mut doc["paths"];
    paths["/api/v1/forms"] = json!({"get": {"tags": ["forms"], "summary": "Every entry form with its JSON schema", "security": sec, "responses": {"200": {"description": "Forms"}, "401": {"description": "No credentials"}}}});
    for f in pipelines::forms::defs::FORMS {
        let schema_name = format!("form_{}", f.name);
        doc["components"]["schemas"][&schema_name] = pipelines::forms::schema::form_schema(f);
        let body = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema_name}")}}}});
        let mut created = error_responses();
        created["201"] = accepted.clone();
        let mut corrected = error_responses();
        corrected["200"] = accepted.clone();
        let id_param =
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
        doc["paths"][format!("/api/v1/forms/{}", f.name)] = json!({
            "get": {"tags": ["forms"], "summary": format!("{} — schema", f.title), "security": sec, "responses": {"200": {"description": "The form"}, "401": {"description": "No credentials"}, "403": {"description": "Not allowed"}}},
            "post": {"tags": ["forms"], "summary": format!("{} ({}): submit", f.title, f.title_zh), "description": f.doc, "security": sec, "parameters": [idem], "requestBody": body, "responses": created},
        });
        doc["paths"][format!("/api/v1/forms/{}/{{id}}", f.name)] = json!({
            "get": {"tags": ["forms"], "summary": format!("{}: versions of a record", f.title), "security": sec, "parameters": [id_param], "responses": {"200": {"description": "Versions"}, "401": {"description": "No credentials"}, "403": {"description": "Not allowed"}, "404": {"description": "No such record"}}},
            "put": {"tags": ["forms"], "summary": format!("{}: correct (new version)", f.title), "security": sec, "parameters": [id_param, idem], "requestBody": body, "responses": corrected},
        });
    }
    let logo_param =
        json!({"name": "brand_id", "in": "path", "required": true, "schema": {"type": "string"}});
    let mut logo_resp = error_responses();
    logo_resp["200"] = json!({"description": "Stored"});
    doc["paths"]["/api/v1/brands/{brand_id}/logo"] = json!({
        "put": {"tags": ["forms"], "summary": "Upload a brand logo (PNG, JPEG or WebP, at most 512 KiB)", "security": sec, "parameters": [logo_param],
                "requestBody": {"required": true, "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}, "image/jpeg": {"schema": {"type": "string", "format": "binary"}}, "image/webp": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": logo_resp},
        "get": {"tags": ["forms"], "summary": "The brand's logo", "security": sec, "parameters": [logo_param], "responses": {"200": {"description": "The image"}, "401": {"description": "No credentials"}, "404": {"description": "No logo"}}},
    });
    doc
}

/// Every route, authentication, limits and telemetry.
pub fn router(st: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/me", get(admin::me))
        .route("/api/v1/logout", post(admin::logout))
        .route(
            "/api/v1/tokens",
            get(admin::list_tokens).post(admin::create_token),
        )
        .route(
            "/api/v1/tokens/{id}",
            axum::routing::delete(admin::revoke_token),
        )
        .route("/api/v1/users", post(admin::put_user))
        .route("/api/v1/audit", get(admin::audit))
        .route("/api/v1/forms", get(forms::list))
        .route(
            "/api/v1/forms/{form}",
            get(forms::get_form).post(forms::create),
        )
        .route(
            "/api/v1/forms/{form}/{id}",
            get(forms::versions).put(forms::correct),
        )
        .route(
            "/api/v1/brands/{brand_id}/logo",
            put(forms::upload_logo).get(forms::download_logo),
        )
        .route("/api/v1/query", post(query::query))
        .route("/api/v1/metrics", get(analytics::list_metrics))
        .route("/api/v1/metrics/{name}", get(analytics::metric))
        .route("/api/v1/recon/checks", get(analytics::checks))
        .route("/api/v1/recon/runs", post(analytics::run))
        .route("/api/v1/recon/breaks", get(analytics::breaks))
        .route("/api/v1/recon/breaks/{id}/actions", post(analytics::act))
        .route("/api/v1/connectors", get(ops::list).post(ops::register))
        .route("/api/v1/connectors/{name}/secrets", put(ops::put_secrets))
        .route("/api/v1/connectors/{name}/test", post(ops::test))
        .route("/api/v1/jobs", get(jobs::list_jobs).post(jobs::start_job))
        .route("/api/v1/jobs/{id}", get(jobs::get_job))
        .route("/api/v1/jobs/{id}/cancel", post(jobs::cancel_job))
        .route("/api/v1/schedules", get(jobs::list_schedules))
        .route(
            "/api/v1/schedules/{name}",
            put(jobs::put_schedule).delete(jobs::delete_schedule),
        )
        .route("/api/v1/alerts", get(jobs::list_alerts))
        .route("/api/v1/alerts/deliveries", get(jobs::deliveries))
        .route("/api/v1/alerts/rules", get(jobs::list_rules))
        .route("/api/v1/alerts/rules/{name}", put(jobs::put_rule))
        .route("/api/v1/alerts/{name}/snooze", post(jobs::snooze))
        .route("/api/v1/flush", post(ops::flush_now))
        .route("/api/v1/dashboards", get(dashboards::list_dashboards))
        .route("/api/v1/dashboards/{id}", get(dashboards::get_dashboard))
        .route("/api/v1/reports", get(dashboards::list_reports))
        .route("/api/v1/reports/{file}", get(dashboards::get_report))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/metrics", get(ops::prometheus))
        .merge(docs_page())
        .layer(from_fn_with_state(st.clone(), crate::auth::authenticate));
    let public = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/api/v1/login", post(admin::login))
        .route("/", get(ui::index))
        .route("/ui/logo", get(ui::logo))
        .route("/ui/{*path}", get(ui::file));
    Router::new()
        .merge(api)
        .merge(public)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(1 << 20))
        .layer(axum::middleware::map_response(no_sniff))
        .layer(from_fn_with_state(
            st.clone(),
            crate::server::telemetry::record,
        ))
        .with_state(st)
}

/// Every answer is what its `Content-Type` says: browsers never guess (an uploaded logo is an
/// image, never HTML).
async fn no_sniff(mut r: axum::response::Response) -> axum::response::Response {
    r.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    r
}

async fn not_found() -> crate::server::error::ApiError {
    crate::server::error::ApiError::NotFound("no such route; see /api/v1/openapi.json".into())
}

async fn openapi_json(
    axum::extract::State(st): axum::extract::State<AppState>,
) -> axum::Json<Value> {
    axum::Json((*st.openapi).clone())
}

/// Swagger UI, served from the binary (no CDN), reading our document.
fn docs_page() -> Router<AppState> {
    let ui = utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
        .config(utoipa_swagger_ui::Config::from("/api/v1/openapi.json"));
    Router::from(ui)
}
