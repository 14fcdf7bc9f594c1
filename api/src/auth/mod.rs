//! Authentication and authorisation: who is calling (a bearer token or a session cookie),
//! what their role allows (`roles`), and which shops' rows they see (`scope`).
//!
//! The middleware here runs on every route except `/healthz` (liveness) and
//! `POST /api/v1/login`; handlers then call [`require`] for their permission.

pub mod roles;
pub mod scope;
pub mod throttle;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::server::error::ApiError;
use crate::server::state::AppState;
pub use crate::store::principals::Principal;
use roles::{Perm, allows};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "zhongtai_session";

/// Finds the caller's principal and puts it in the request's extensions; 401 otherwise.
pub async fn authenticate(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let headers = req.headers();
    let principal = if let Some(v) = headers.get(axum::http::header::AUTHORIZATION) {
        let text = v.to_str().map_err(|_| ApiError::Unauthenticated)?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        st.store.token_principal(token.trim()).await?
    } else if let Some(s) = cookie(headers, SESSION_COOKIE) {
        // Cookie sessions may write only from our own pages: browsers send this header only
        // from same-origin scripts (a cross-site form cannot set it).
        if req.method() != axum::http::Method::GET
            && req.method() != axum::http::Method::HEAD
            && !headers.contains_key("x-requested-with")
        {
            return Err(ApiError::Forbidden(
                "writes with a session cookie need the X-Requested-With header".into(),
            ));
        }
        st.store.session_principal(&s).await?
    } else {
        None
    };
    let p = principal.ok_or(ApiError::Unauthenticated)?;
    req.extensions_mut().insert(p);
    Ok(next.run(req).await)
}

/// A cookie's value.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// 403 unless the principal's role has `perm`.
pub fn require(p: &Principal, perm: Perm) -> Result<(), ApiError> {
    if allows(p.role, perm) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "role {} may not use {}",
            p.role.as_str(),
            perm.name()
        )))
    }
}
