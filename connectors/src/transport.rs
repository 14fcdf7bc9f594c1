//! What an HTTP answer's status means for a retry loop: a permanent refusal (404, 400, 401,
//! 403, …) is returned at once, since asking again cannot help; timeouts, throttling and
//! server errors may pass and are retried.

/// Why a request brought no usable body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PostError {
    /// The network, a timeout, a 5xx, 408 or 429: retry later.
    Transient(String),
    /// A 4xx the platform will answer again the same way.
    Permanent(u16),
}

/// Classifies a non-success status.
pub(crate) fn refused(status: reqwest::StatusCode) -> PostError {
    match status.as_u16() {
        408 | 425 | 429 => PostError::Transient(format!("HTTP {status}")),
        400..=499 => PostError::Permanent(status.as_u16()),
        _ => PostError::Transient(format!("HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_permanent_but_timeouts_and_throttling_are_not() {
        for s in [400, 401, 403, 404, 410] {
            let st = reqwest::StatusCode::from_u16(s).expect("status");
            assert_eq!(refused(st), PostError::Permanent(s));
        }
        for s in [408, 429, 500, 502, 503] {
            let st = reqwest::StatusCode::from_u16(s).expect("status");
            assert!(matches!(refused(st), PostError::Transient(_)), "{s}");
        }
    }
}
