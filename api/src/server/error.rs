//! The API's error type: every failure becomes a JSON body with the status, a short code, a
//! message that names what failed, and for validation the fields.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use pipelines::forms::FieldError;

/// An error answered to a client.
#[derive(Debug)]
pub enum ApiError {
    /// 401: no or bad credentials.
    Unauthenticated,
    /// 403: the role lacks a permission.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 400: the request cannot be read.
    BadRequest(String),
    /// 409: a conflict with the current state.
    Conflict(String),
    /// 413.
    TooLarge(String),
    /// 415.
    UnsupportedMedia(String),
    /// 422: validation, with every field's problem.
    Invalid(Vec<FieldError>),
    /// 406.
    NotAcceptable(String),
    /// 408/503-like limits on queries.
    Limit(String),
    /// 429: too many attempts; retry after this many seconds.
    Throttled(String, u64),
    /// 500: logged with details; the client gets the operation only.
    Internal(String),
}

impl ApiError {
    pub fn internal(op: &str, e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "{op}");
        ApiError::Internal(format!("{op} failed; see the server log"))
    }

    pub fn invalid(field: &str, msg: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldError::new(field, msg)])
    }

    /// What a client is told (for panels that show their own error, and the command line).
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => "not authenticated".into(),
            ApiError::Invalid(f) => f
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::BadRequest(m)
            | ApiError::Conflict(m)
            | ApiError::TooLarge(m)
            | ApiError::UnsupportedMedia(m)
            | ApiError::NotAcceptable(m)
            | ApiError::Limit(m)
            | ApiError::Throttled(m, _)
            | ApiError::Internal(m) => m.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::Throttled(_, s) => Some(*s),
            _ => None,
        };
        let (status, code, message, fields) = match self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a valid API token (Authorization: Bearer …) or session cookie is required"
                    .to_string(),
                None,
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, None),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m, None),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m, None),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m, None),
            ApiError::UnsupportedMedia(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m,
                None,
            ),
            ApiError::Invalid(f) => {
                let msg = f
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", msg, Some(f))
            }
            ApiError::NotAcceptable(m) => (StatusCode::NOT_ACCEPTABLE, "not_acceptable", m, None),
            ApiError::Limit(m) => (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded", m, None),
            ApiError::Throttled(m, _) => (StatusCode::TOO_MANY_REQUESTS, "throttled", m, None),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", m, None),
        };
        let mut body =
            json!({"error": {"status": status.as_u16(), "code": code, "message": message}});
        if let Some(f) = fields {
            body["error"]["fields"] = json!(f);
        }
        let mut r = (status, Json(body)).into_response();
        if let Some(s) = retry_after
            && let Ok(v) = axum::http::HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"zhongtai\""),
            );
        }
        r
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Invalid(m) => ApiError::BadRequest(m),
            other => ApiError::internal("the API state store", other),
        }
    }
}
