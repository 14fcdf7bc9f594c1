//! Who-am-I, login/logout (session cookie for the web UI), tokens, users and the audit log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::roles::{Perm, Role};
use crate::auth::{Principal, SESSION_COOKIE, cookie, require};
use crate::server::conn::Peer;
use crate::server::error::ApiError;
use crate::server::state::AppState;

use super::forms::{json_body, parse_json};

/// `GET /api/v1/me`.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Principal)), security(("bearer" = [])))]
pub async fn me(Extension(p): Extension<Principal>) -> Json<Principal> {
    Json(p)
}

/// Login body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// `POST /api/v1/login`: sets an HttpOnly, SameSite=Strict session cookie.
#[utoipa::path(post, path = "/api/v1/login", tag = "auth", request_body = Login,
    responses((status = 204, description = "Logged in; cookie set"), (status = 401, description = "Wrong username or password"), (status = 429, description = "Too many failed attempts for this user or address; see Retry-After")))]
pub async fn login(
    State(st): State<AppState>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let v = json_body(&headers, &body, 4096)?;
    let l: Login = serde_json::from_value(v)
        .map_err(|e| ApiError::invalid("(body)", format!("expected username and password: {e}")))?;
    let user_key = format!("user:{}", l.username);
    let addr_key = peer.map(|Extension(ConnectInfo(Peer(a)))| format!("addr:{}", a.ip()));
    let keys: Vec<String> = std::iter::once(user_key.clone())
        .chain(addr_key.clone())
        .collect();
    if let Err(wait) = st.login_throttle.begin(&keys) {
        let secs = wait.as_secs().max(1);
        return Err(ApiError::Throttled(
            format!("too many failed logins; try again in {secs} s"),
            secs,
        ));
    }
    let Some(secret) = st.store.login(&l.username, &l.password).await? else {
        st.store
            .audit(
                &format!("user:{}", l.username),
                "login_failed",
                "sessions",
                None,
                None,
            )
            .await?;
        return Err(ApiError::Unauthenticated);
    };
    st.login_throttle.succeeded(&user_key, addr_key.as_deref());
    st.store
        .audit(
            &format!("user:{}", l.username),
            "login",
            "sessions",
            None,
            None,
        )
        .await?;
    // Behind a TLS proxy the cookie is never sent over plain HTTP.
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let c = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        crate::store::principals::SESSION_SECS,
        if tls { "; Secure" } else { "" }
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, c)]).into_response())
}

/// `POST /api/v1/logout`.
#[utoipa::path(post, path = "/api/v1/logout", tag = "auth", responses((status = 204, description = "Session closed")), security(("bearer" = [])))]
pub async fn logout(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(s) = cookie(&headers, SESSION_COOKIE) {
        st.store.logout(&s).await?;
    }
    let c = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, c)]).into_response())
}

/// A token or user to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    /// Omit for every shop.
    pub shops: Option<Vec<String>>,
}

/// Checks the shops of a principal `p` creates: known shops, and within `p`'s own reach (a
/// shop-scoped admin creates only principals scoped to its shops).
fn check_shops(st: &AppState, p: &Principal, shops: &Option<Vec<String>>) -> Result<(), ApiError> {
    if !p.covers(shops) {
        return Err(ApiError::Forbidden(
            "a shop-scoped admin may only give shops it has itself; list them in `shops`".into(),
        ));
    }
    if let Some(list) = shops {
        if list.is_empty() {
            return Err(ApiError::invalid(
                "shops",
                "give at least one shop, or omit for all",
            ));
        }
        for (i, s) in list.iter().enumerate() {
            if !st.refs.contains(pipelines::forms::fields::RefKind::Shop, s) {
                return Err(ApiError::invalid(
                    &format!("shops[{i}]"),
                    format!("unknown shop {s:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// `GET /api/v1/tokens`.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200, body = [crate::store::principals::TokenInfo])), security(("bearer" = [])))]
pub async fn list_tokens(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::Admin)?;
    let tokens: Vec<_> = st
        .store
        .list_tokens()
        .await?
        .into_iter()
        .filter(|t| p.covers(&t.shops))
        .collect();
    Ok(Json(json!({"tokens": tokens})))
}

/// `POST /api/v1/tokens`: the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken, responses((status = 201, description = "Created; the secret is shown once")), security(("bearer" = [])))]
pub async fn create_token(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&p, Perm::Admin)?;
    let t: NewToken = parse_json(&headers, &body, 8192)?;
    if t.name.trim().is_empty() || t.name.len() > 100 {
        return Err(ApiError::invalid("name", "must be 1 to 100 characters"));
    }
    check_shops(&st, &p, &t.shops)?;
    let (id, secret) = st
        .store
        .create_token(&t.name, t.role, &t.shops, &p.id)
        .await?;
    let after = json!({"id": id, "name": t.name, "role": t.role, "shops": t.shops});
    st.store
        .audit(&p.id, "create", &format!("tokens/{id}"), None, Some(&after))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "token": secret, "role": t.role, "shops": t.shops})),
    )
        .into_response())
}

/// `DELETE /api/v1/tokens/{id}`.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = String, Path)), responses((status = 204, description = "Revoked"), (status = 404, description = "No such live token")), security(("bearer" = [])))]
pub async fn revoke_token(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&p, Perm::Admin)?;
    // A token beyond a scoped admin's reach answers as if it did not exist.
    let reachable = st
        .store
        .list_tokens()
        .await?
        .iter()
        .any(|t| t.id == id && p.covers(&t.shops));
    if !reachable || !st.store.revoke_token(&id).await? {
        return Err(ApiError::NotFound(format!("no live token {id:?}")));
    }
    st.store
        .audit(&p.id, "revoke", &format!("tokens/{id}"), None, None)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A user to create or replace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub shops: Option<Vec<String>>,
}

/// `POST /api/v1/users`.
#[utoipa::path(post, path = "/api/v1/users", tag = "auth", request_body = NewUser, responses((status = 201, description = "Saved")), security(("bearer" = [])))]
pub async fn put_user(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&p, Perm::Admin)?;
    let u: NewUser = parse_json(&headers, &body, 8192)?;
    if u.username.is_empty()
        || u.username.len() > 64
        || !u
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(ApiError::invalid(
            "username",
            "must be 1 to 64 of letters, digits, . _ -",
        ));
    }
    check_shops(&st, &p, &u.shops)?;
    if let Some(existing) = st.store.user_shops(&u.username).await?
        && !p.covers(&existing)
    {
        return Err(ApiError::Forbidden(format!(
            "user {:?} reaches shops beyond this admin's; only an admin of those shops may change it",
            u.username
        )));
    }
    st.store
        .put_user(&u.username, &u.password, u.role, &u.shops)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Invalid(m) => ApiError::invalid("password", m),
            other => other.into(),
        })?;
    let after = json!({"username": u.username, "role": u.role, "shops": u.shops});
    st.store
        .audit(
            &p.id,
            "put",
            &format!("users/{}", u.username),
            None,
            Some(&after),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(after)).into_response())
}

/// Audit log paging.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries after this sequence number.
    pub after: Option<i64>,
    /// Only resources starting with this, e.g. `forms/payments`.
    pub resource: Option<String>,
    /// At most this many (default 100, max 1000).
    pub limit: Option<i64>,
}

/// `GET /api/v1/audit`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", params(AuditQuery), responses((status = 200, body = [crate::store::audit::AuditEntry])), security(("bearer" = [])))]
pub async fn audit(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    require(&p, Perm::Admin)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = st
        .store
        .audit_entries(
            q.after.unwrap_or(0),
            q.resource.as_deref(),
            limit,
            p.shops.as_deref().map(|s| (s, p.id.as_str())),
        )
        .await?;
    Ok(Json(json!({"entries": entries})))
}
