//! The TOP response envelope (spec sheet §2.6) and what its error codes mean (§2.7).
//!
//! A success is `{"<method without taobao., dots as underscores>_response": {…}}` (or the flat
//! object under `simplify=true`); a failure is `{"error_response": {code, msg, sub_code,
//! sub_msg}}` with HTTP 200. [`TopError`] sorts failures by what a client should do: wait out
//! a ban, re-authorise, retry later, or give up.

use std::time::Duration;

use serde_json::Value;

use crate::tolerant;

/// The platform's error fields, kept for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: i64,
    pub msg: String,
    pub sub_code: Option<String>,
    pub sub_msg: Option<String>,
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "code {} ({})", self.code, self.msg)?;
        if let Some(s) = &self.sub_code {
            write!(f, ", {s}")?;
        }
        if let Some(s) = &self.sub_msg {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

/// A failed call, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopError {
    /// Codes 4–8 (call limits): wait `ban` when the platform states it, else back off.
    #[error("TOP: call limit reached, {0}")]
    Throttled(ErrorBody, Option<Duration>),
    /// Codes 26/27 or a session sub-code: the seller must authorise the app again.
    #[error("TOP: the session is missing, invalid or expired, {0}; authorise the shop again")]
    InvalidSession(ErrorBody),
    /// Codes 24/25 (signature) and 28/29 (app key): wrong app secret or key.
    #[error("TOP: the app credentials were refused, {0}; check app_key and app_secret")]
    BadCredentials(ErrorBody),
    /// Code 10 or an `isp.*` sub-code: a platform-side failure; retry later.
    #[error("TOP: the platform failed, {0}")]
    Platform(ErrorBody),
    /// Anything else (`isv.*`, missing or invalid arguments, permissions): the caller's fault.
    #[error("TOP: the request was refused, {0}")]
    Refused(ErrorBody),
    /// The body was not a TOP envelope.
    #[error("TOP: unreadable response: {0}")]
    Malformed(String),
}

impl TopError {
    /// Whether the same call can succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TopError::Throttled(..) | TopError::Platform(_) | TopError::Malformed(_)
        )
    }
}

/// The root key of a method's success response: `taobao.trades.sold.get` →
/// `trades_sold_get_response`.
pub fn response_key(method: &str) -> String {
    let bare = method.strip_prefix("taobao.").unwrap_or(method);
    format!("{}_response", bare.replace('.', "_"))
}

/// `N` from `This ban will last for N more seconds`.
pub fn ban_seconds(sub_msg: &str) -> Option<u64> {
    let rest = &sub_msg[sub_msg.find("last for ")? + "last for ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn classify(e: ErrorBody) -> TopError {
    let sub = e.sub_code.clone().unwrap_or_default();
    match e.code {
        4..=8 => {
            let ban = e
                .sub_msg
                .as_deref()
                .and_then(ban_seconds)
                .map(Duration::from_secs);
            TopError::Throttled(e, ban)
        }
        26 | 27 => TopError::InvalidSession(e),
        _ if matches!(
            sub.as_str(),
            "invalid-sessionkey" | "session-expired" | "session-not-exist"
        ) =>
        {
            TopError::InvalidSession(e)
        }
        24 | 25 | 28 | 29 => TopError::BadCredentials(e),
        _ if sub.starts_with("isp.") => TopError::Platform(e),
        _ if sub.starts_with("isv.") => TopError::Refused(e),
        10 => TopError::Platform(e),
        _ => TopError::Refused(e),
    }
}

/// The response object of `method` (wrapped or flat), or the classified error.
pub fn parse_response(body: &[u8], method: &str) -> Result<Value, TopError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        let head = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        TopError::Malformed(format!("{e} in {head:?}"))
    })?;
    let Value::Object(mut root) = v else {
        return Err(TopError::Malformed("not a JSON object".into()));
    };
    if let Some(err) = root.get("error_response") {
        let code = tolerant::int(err.get("code"))
            .ok_or_else(|| TopError::Malformed(format!("error_response without a code: {err}")))?;
        return Err(classify(ErrorBody {
            code,
            msg: tolerant::text(err.get("msg")).unwrap_or_default(),
            sub_code: tolerant::text(err.get("sub_code")),
            sub_msg: tolerant::text(err.get("sub_msg")),
        }));
    }
    match root.remove(&response_key(method)) {
        Some(Value::Object(inner)) => Ok(Value::Object(inner)),
        Some(other) => Err(TopError::Malformed(format!(
            "`{}` is not an object: {other}",
            response_key(method)
        ))),
        // simplify=true: the object itself is the response.
        None if root.keys().any(|k| k.ends_with("_response")) => Err(TopError::Malformed(format!(
            "no `{}` in the response",
            response_key(method)
        ))),
        None => Ok(Value::Object(root)),
    }
}

/// The list `outer` of a response, wrapped (`{"trades":{"trade":[…]}}`) or flat
/// (`{"trades":[…]}`); absent means empty (TOP omits empty lists).
pub fn list(response: &Value, outer: &str, inner: &str) -> Result<Vec<Value>, TopError> {
    match response.get(outer) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(Value::Object(o)) => match o.get(inner) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(Value::Object(one)) => Ok(vec![Value::Object(one.clone())]),
            Some(other) => Err(TopError::Malformed(format!(
                "`{outer}.{inner}` is not a list: {other}"
            ))),
        },
        Some(other) => Err(TopError::Malformed(format!(
            "`{outer}` is not a list: {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METHOD: &str = "taobao.trades.sold.increment.get";

    #[test]
    fn wrapped_and_flat_successes_give_the_same_trades() {
        // The sheet's §2.6 sample, ids as number and as string.
        let wrapped = br#"{"trades_sold_increment_get_response":{
           "total_results":1, "has_next":false,
           "trades":{"trade":[{"tid":2231958349,"status":"WAIT_SELLER_SEND_GOODS","payment":"200.07",
                               "orders":{"order":[{"oid":"2231958349","num":1,"price":"200.07","sku_id":"5937146"}]}}]},
           "request_id":"15ryekq7hious"}}"#;
        let r = parse_response(wrapped, METHOD).expect("success");
        assert_eq!(tolerant::int(r.get("total_results")), Some(1));
        let trades = list(&r, "trades", "trade").expect("trades");
        assert_eq!(trades.len(), 1);
        assert_eq!(
            tolerant::id(trades[0].get("tid")).as_deref(),
            Some("2231958349")
        );
        let orders = list(&trades[0], "orders", "order").expect("orders");
        assert_eq!(
            tolerant::id(orders[0].get("oid")).as_deref(),
            Some("2231958349")
        );
        let flat = br#"{"total_results":1,"has_next":false,"trades":[{"tid":2231958349,"orders":[{"oid":1}]}],"request_id":"x"}"#;
        let r = parse_response(flat, METHOD).expect("flat");
        let trades = list(&r, "trades", "trade").expect("trades");
        assert_eq!(list(&trades[0], "orders", "order").expect("o").len(), 1);
        let empty =
            br#"{"trades_sold_increment_get_response":{"total_results":0,"request_id":"y"}}"#;
        let r = parse_response(empty, METHOD).expect("empty");
        assert!(list(&r, "trades", "trade").expect("none").is_empty());
        assert_eq!(
            response_key("taobao.trade.fullinfo.get"),
            "trade_fullinfo_get_response"
        );
    }

    #[test]
    fn errors_are_classified_by_what_to_do() {
        let e = |body: &str| parse_response(body.as_bytes(), METHOD).unwrap_err();
        let session = e(
            r#"{"error_response":{"code":27,"msg":"Invalid session","sub_code":"invalid-sessionkey","sub_msg":"SessionKey非法","request_id":"saelco6piee9"}}"#,
        );
        assert!(matches!(session, TopError::InvalidSession(_)) && !session.is_retryable());
        assert!(session.to_string().contains("SessionKey非法"), "{session}");
        let throttled = e(
            r#"{"error_response":{"code":7,"msg":"App Call Limited","sub_code":"accesscontrol.limited-by-app-access-count","sub_msg":"This ban will last for 41 more seconds"}}"#,
        );
        assert_eq!(
            throttled,
            TopError::Throttled(
                ErrorBody {
                    code: 7,
                    msg: "App Call Limited".into(),
                    sub_code: Some("accesscontrol.limited-by-app-access-count".into()),
                    sub_msg: Some("This ban will last for 41 more seconds".into()),
                },
                Some(Duration::from_secs(41))
            )
        );
        assert!(matches!(
            e(r#"{"error_response":{"code":5,"msg":"Session Call Limited"}}"#),
            TopError::Throttled(_, None)
        ));
        let sign = e(r#"{"error_response":{"code":25,"msg":"Invalid signature"}}"#);
        assert!(matches!(sign, TopError::BadCredentials(_)) && !sign.is_retryable());
        assert!(sign.to_string().contains("Invalid signature"));
        assert!(matches!(
            e(r#"{"error_response":{"code":29,"msg":"Invalid app Key"}}"#),
            TopError::BadCredentials(_)
        ));
        let isp = e(
            r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.top-remote-connection-timeout","sub_msg":"调用后端服务超时"}}"#,
        );
        assert!(matches!(isp, TopError::Platform(_)) && isp.is_retryable());
        let isv = e(
            r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.invalid-parameter","sub_msg":"时间跨度不能超过一天"}}"#,
        );
        assert!(matches!(isv, TopError::Refused(_)) && !isv.is_retryable());
        assert!(matches!(
            e(r#"{"error_response":{"code":"41","msg":"Invalid Arguments"}}"#),
            TopError::Refused(_)
        ));
        assert!(matches!(
            e(r#"{"error_response":{"code":10,"msg":"Service Currently Unavailable"}}"#),
            TopError::Platform(_)
        ));
        assert!(matches!(
            e("<html>502 Bad Gateway</html>"),
            TopError::Malformed(_)
        ));
        assert!(matches!(
            e(r#"{"trade_fullinfo_get_response":{}}"#),
            TopError::Malformed(_)
        ));
        assert!(matches!(
            parse_response(br#"{"trades_sold_increment_get_response":{"trades":{"trade":{}}}}"#, METHOD)
                .and_then(|r| list(&r, "trades", "trade")),
            Ok(v) if v.len() == 1
        ));
        assert_eq!(
            ban_seconds("This ban will last for 7 more seconds"),
            Some(7)
        );
        assert_eq!(ban_seconds("no number here"), None);
    }
}
