//! The robots' wire formats (shared/specs/platform-apis.md §3–5) and how their answers read.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Delivery, Message, NotifyError, Target};
use crate::sign;

/// WeCom refuses Markdown over 4096 bytes (errcode 40058).
const WECOM_MARKDOWN_MAX: usize = 4096;
/// Feishu's body limit is about 20 KB; keep text well inside it.
const FEISHU_TEXT_MAX: usize = 16 * 1024;

/// The request a target gets: URL and JSON body (and extra headers).
pub(super) struct Request {
    pub url: String,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// `s` cut to at most `max` bytes on a character boundary, marked when cut.
pub(super) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mark = "…";
    let mut end = max.saturating_sub(mark.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{mark}", &s[..end])
}

fn with_link(md: &str, link: Option<&str>) -> String {
    match link {
        Some(l) => format!("{md}\n\n[→ zhongtai]({l})"),
        None => md.to_string(),
    }
}

/// Builds the request for a robot or webhook target.
pub(super) fn request(
    target: &Target,
    msg: &Message,
    now: DateTime<Utc>,
) -> Result<Request, NotifyError> {
    let config = |kind, reason: &str| NotifyError::Config {
        kind,
        reason: reason.to_string(),
    };
    let link = msg.link.as_deref();
    let req = match target {
        Target::Wecom { url } => {
            let md = with_link(&format!("**{}**\n{}", msg.title, msg.markdown), link);
            let body = json!({"msgtype": "markdown", "markdown": {"content": cut(&md, WECOM_MARKDOWN_MAX)}});
            Request {
                url: url.clone(),
                body: body.to_string().into_bytes(),
                headers: Vec::new(),
            }
        }
        Target::Dingtalk { url, secret } => {
            let mut url = url.clone();
            if let Some(secret) = secret {
                let ts = now.timestamp_millis();
                let sign: String =
                    url::form_urlencoded::byte_serialize(sign::dingtalk(secret, ts).as_bytes())
                        .collect();
                let sep = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{sep}timestamp={ts}&sign={sign}");
            }
            let text = with_link(&format!("#### {}\n{}", msg.title, msg.markdown), link);
            let body =
                json!({"msgtype": "markdown", "markdown": {"title": msg.title, "text": text}});
            Request {
                url,
                body: body.to_string().into_bytes(),
                headers: Vec::new(),
            }
        }
        Target::Feishu { url, secret } => {
            let mut lines: Vec<Value> = cut(&msg.text, FEISHU_TEXT_MAX)
                .lines()
                .map(|l| json!([{"tag": "text", "text": l}]))
                .collect();
            if let Some(l) = link {
                lines.push(json!([{"tag": "a", "text": "→ zhongtai", "href": l}]));
            }
            let mut body = json!({
                "msg_type": "post",
                "content": {"post": {"zh_cn": {"title": msg.title, "content": lines}}},
            });
            if let Some(secret) = secret {
                let ts = now.timestamp();
                body["timestamp"] = Value::from(ts.to_string());
                body["sign"] = Value::from(sign::feishu(secret, ts));
            }
            Request {
                url: url.clone(),
                body: body.to_string().into_bytes(),
                headers: Vec::new(),
            }
        }
        Target::Webhook { url, secret } => {
            let body = json!({"title": msg.title, "text": msg.text, "markdown": msg.markdown, "link": msg.link})
                .to_string()
                .into_bytes();
            let mut headers = Vec::new();
            if let Some(secret) = secret {
                let ts = now.timestamp();
                headers.push(("x-zhongtai-timestamp", ts.to_string()));
                headers.push(("x-zhongtai-signature", sign::webhook(secret, ts, &body)));
            }
            Request {
                url: url.clone(),
                body,
                headers,
            }
        }
        Target::Email(_) => return Err(config("email", "not an HTTP target")),
    };
    if !(req.url.starts_with("http://") || req.url.starts_with("https://")) {
        return Err(config(
            target.kind(),
            "the url must start with http:// or https://",
        ));
    }
    Ok(req)
}

/// Reads a robot's answer: HTTP 200 with a business code is the norm; 429 and 5xx, and the
/// robots' own rate-limit codes, are worth retrying.
pub(super) fn classify(kind: &str, status: u16, body: &str) -> Delivery {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = match kind {
        "wecom" | "dingtalk" => v.get("errcode").and_then(Value::as_i64),
        "feishu" => v
            .get("code")
            .and_then(Value::as_i64)
            .or_else(|| v.get("StatusCode").and_then(Value::as_i64)),
        _ => None,
    };
    let http_ok = (200..300).contains(&status);
    let ok = http_ok
        && match kind {
            "wecom" | "dingtalk" | "feishu" => code == Some(0),
            _ => true,
        };
    let rate_limited = matches!(
        (kind, code),
        ("wecom", Some(45009)) | ("dingtalk", Some(130101)) | ("feishu", Some(11232 | 11220))
    );
    Delivery {
        ok,
        retryable: !ok && (status == 429 || status >= 500 || rate_limited),
        status: Some(status),
        code,
        response: cut(body, 2000),
    }
}

/// One attempt at a robot or webhook.
pub(super) async fn send(
    http: &reqwest::Client,
    target: &Target,
    msg: &Message,
    now: DateTime<Utc>,
) -> Result<Delivery, NotifyError> {
    let req = request(target, msg, now)?;
    let mut r = http
        .post(&req.url)
        .header("content-type", "application/json; charset=utf-8")
        .timeout(std::time::Duration::from_secs(15))
        .body(req.body);
    for (k, v) in req.headers {
        r = r.header(k, v);
    }
    let resp = match r.send().await {
        Ok(resp) => resp,
        // reqwest's error text includes the URL, and the URL holds the robot's key.
        Err(e) => return Ok(Delivery::transport(transport_error(&e))),
    };
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .unwrap_or_else(|e| format!("(unreadable body: {})", transport_error(&e)));
    Ok(classify(target.kind(), status, &body))
}

/// A transport error without the URL it happened on.
fn transport_error(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else {
        "request failed"
    };
    let mut src = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    }
}
