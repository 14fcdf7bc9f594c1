//! The Jushuitan response envelope `{code, msg, data}` and what its error codes mean.
//!
//! `data` holds the page: `page_index`, `page_size`, sometimes `data_count`/`page_count`,
//! `has_next`, and the rows under an endpoint-specific key (`orders`, `datas`, `inventorys`).
//! A stream ends when `has_next` is false, the page is empty, or `page_index >= page_count`.

use serde_json::Value;

use crate::tolerant;

/// A failed call, classified by what the client should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JstError {
    /// Code 100: refresh the access token and retry once.
    #[error("Jushuitan: access token invalid or expired (code 100): {0}")]
    TokenExpired(String),
    /// Codes 199/200: over the rate limit; back off and retry.
    #[error("Jushuitan: rate limit exceeded (code {code}): {msg}")]
    RateLimited { code: i64, msg: String },
    /// Code 140: clock skew; retry with a fresh timestamp.
    #[error("Jushuitan: timestamp rejected (code 140): {0}")]
    BadTimestamp(String),
    /// Code 10: the signature was wrong (wrong secret or a client bug). Permanent.
    #[error("Jushuitan: invalid signature (code 10): {0}; check the app secret")]
    BadSignature(String),
    /// Any other non-zero code. Permanent.
    #[error("Jushuitan: call failed with code {code}: {msg}")]
    Api { code: i64, msg: String },
    /// The body was not the documented envelope.
    #[error("Jushuitan: unreadable response: {0}")]
    Malformed(String),
}

impl JstError {
    /// Whether retrying the same call later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            JstError::RateLimited { .. } | JstError::BadTimestamp(_) | JstError::TokenExpired(_)
        )
    }
}

/// One page of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub rows: Vec<Value>,
    pub page_index: i64,
    /// Whether another page should be requested.
    pub has_next: bool,
    /// The window's row count when the platform reports it (`data_count`).
    pub data_count: Option<i64>,
}

/// Parses a response body, returning the rows under `list_key` (falling back to `datas`).
pub fn parse_page(body: &[u8], list_key: &str) -> Result<Page, JstError> {
    let mut data = parse_data(body)?;
    let key = if data.get(list_key).is_some() {
        list_key
    } else {
        "datas"
    };
    // Taken, not cloned: pages are the hot path of a sync.
    let rows = match data.get_mut(key).map(Value::take) {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => {
            return Err(JstError::Malformed(format!(
                "`{list_key}` is not a list: {other}"
            )));
        }
    };
    let page_index = tolerant::int(data.get("page_index")).unwrap_or(1);
    let mut has_next = tolerant::flag(data.get("has_next")).unwrap_or(false) && !rows.is_empty();
    if let Some(count) = tolerant::int(data.get("page_count")) {
        has_next &= page_index < count;
    }
    Ok(Page {
        rows,
        page_index,
        has_next,
        data_count: tolerant::int(data.get("data_count")),
    })
}

/// Checks `code` and returns `data` (token calls and pages alike).
pub fn parse_data(body: &[u8]) -> Result<Value, JstError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| JstError::Malformed(e.to_string()))?;
    let code =
        tolerant::int(v.get("code")).ok_or_else(|| JstError::Malformed("no `code`".into()))?;
    let msg = tolerant::text(v.get("msg")).unwrap_or_default();
    match code {
        0 => {}
        10 => return Err(JstError::BadSignature(msg)),
        100 => return Err(JstError::TokenExpired(msg)),
        140 => return Err(JstError::BadTimestamp(msg)),
        199 | 200 => return Err(JstError::RateLimited { code, msg }),
        _ => return Err(JstError::Api { code, msg }),
    }
    match v {
        Value::Object(mut m) => m
            .remove("data")
            .ok_or_else(|| JstError::Malformed("no `data`".into())),
        _ => Err(JstError::Malformed("not a JSON object".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_on_has_next_empty_page_or_page_count() {
        let p = parse_page(br#"{"code":0,"msg":"ok","data":{"page_index":1,"has_next":true,"page_count":3,"orders":[{"o_id":1}]}}"#, "orders").expect("page");
        assert_eq!((p.rows.len(), p.has_next), (1, true));
        let p = parse_page(br#"{"code":0,"data":{"page_index":3,"has_next":true,"page_count":3,"orders":[{"o_id":1}]}}"#, "orders").expect("page");
        assert!(!p.has_next, "last page by page_count");
        let p = parse_page(
            br#"{"code":0,"data":{"page_index":2,"has_next":true,"orders":[]}}"#,
            "orders",
        )
        .expect("page");
        assert!(!p.has_next, "an empty page ends the stream");
        let p = parse_page(br#"{"code":"0","data":{"page_index":"1","has_next":"false","datas":[{"a":1},{"a":2}]}}"#, "orders").expect("page");
        assert_eq!(
            (p.rows.len(), p.has_next),
            (2, false),
            "datas fallback, string numbers"
        );
    }

    #[test]
    fn error_codes_are_classified() {
        let e = |body: &str| parse_page(body.as_bytes(), "orders").unwrap_err();
        assert!(matches!(
            e(r#"{"code":100,"msg":"无效的access_token"}"#),
            JstError::TokenExpired(_)
        ));
        assert!(matches!(
            e(r#"{"code":199,"msg":"调用频次超过限制"}"#),
            JstError::RateLimited { code: 199, .. }
        ));
        assert!(matches!(
            e(r#"{"code":200,"msg":"调用频次超过限制"}"#),
            JstError::RateLimited { code: 200, .. }
        ));
        assert!(matches!(
            e(r#"{"code":140,"msg":"无效的timestamp"}"#),
            JstError::BadTimestamp(_)
        ));
        let bad = e(r#"{"code":10,"msg":"验证失败！无效签名"}"#);
        assert!(matches!(bad, JstError::BadSignature(_)) && !bad.is_retryable());
        assert!(bad.to_string().contains("app secret"));
        assert!(matches!(
            e(r#"{"code":190,"msg":"无API权限"}"#),
            JstError::Api { code: 190, .. }
        ));
        assert!(matches!(e("<html>502</html>"), JstError::Malformed(_)));
        assert!(matches!(
            e(r#"{"code":0,"data":{"orders":{}}}"#),
            JstError::Malformed(_)
        ));
    }
}
