//! Sending notifications out: the group robots Chinese teams read (WeCom, DingTalk,
//! Feishu/Lark), e-mail over SMTP, and a generic signed webhook.
//!
//! This module owns the wire formats and how each platform says "ok", "slow down" or "no":
//! - [`Target`]: where a message goes, with its credentials (redacted in `Debug`).
//! - [`Message`]: what is said — a title, plain text, Markdown and a link back to the UI.
//! - [`send`]: one delivery attempt, answered by a [`Delivery`] that carries the platform's own
//!   response and whether trying again later can help.
//!
//! Rate limits, deduplication, retries and the delivery log belong to the caller (the alert
//! runner in `pipelines`); [`sim`] holds local receivers that verify signatures, enforce the
//! robots' 20 messages/minute and record what arrived, plus an SMTP sink.

mod email;
mod im;
pub mod sim;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use email::SmtpTls;

/// Where a message goes. Built from configuration; every credential is redacted in `Debug`
/// (serialising gives the configuration back, credentials included).
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Target {
    /// WeCom group robot: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…` (the key is
    /// the credential; no signing).
    Wecom { url: String },
    /// DingTalk custom robot: `https://oapi.dingtalk.com/robot/send?access_token=…`, signed
    /// when `secret` (`SEC…`) is set.
    Dingtalk { url: String, secret: Option<String> },
    /// Feishu/Lark custom bot: `https://open.feishu.cn/open-apis/bot/v2/hook/…`, signed when
    /// `secret` is set.
    Feishu { url: String, secret: Option<String> },
    /// Any HTTP endpoint: JSON body, `X-Zhongtai-Signature` when `secret` is set.
    Webhook { url: String, secret: Option<String> },
    /// E-mail through an SMTP server.
    Email(SmtpTarget),
}

/// An SMTP server and the envelope.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmtpTarget {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

fn default_smtp_port() -> u16 {
    465
}

impl Target {
    /// `wecom`, `dingtalk`, `feishu`, `webhook` or `email`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Wecom { .. } => "wecom",
            Target::Dingtalk { .. } => "dingtalk",
            Target::Feishu { .. } => "feishu",
            Target::Webhook { .. } => "webhook",
            Target::Email(_) => "email",
        }
    }
}

/// A URL with its query and last path segment (where robots keep their tokens) hidden.
fn redact_url(url: &str) -> String {
    let base = url.split('?').next().unwrap_or_default();
    let cut = base.rfind('/').map_or(base.len(), |i| i + 1);
    let hidden = if url.contains('?') { "?<redacted>" } else { "" };
    format!("{}<redacted>{hidden}", &base[..cut])
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        match self {
            Target::Wecom { url } => f
                .debug_struct("Wecom")
                .field("url", &redact_url(url))
                .finish(),
            Target::Dingtalk { url, secret: s }
            | Target::Feishu { url, secret: s }
            | Target::Webhook { url, secret: s } => f
                .debug_struct(self.kind())
                .field("url", &redact_url(url))
                .field("secret", &secret(s))
                .finish(),
            Target::Email(e) => e.fmt(f),
        }
    }
}

impl fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

/// What a notification says. Templates (Chinese, English) are the caller's; each target uses
/// the form it renders best (robots Markdown, e-mail plain text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub text: String,
    pub markdown: String,
    /// Back to the page in zhongtai's UI where a person can act.
    pub link: Option<String>,
}

/// The answer to one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The platform accepted the message.
    pub ok: bool,
    /// Not accepted, but a later attempt may be (rate limited, server error, network).
    pub retryable: bool,
    /// HTTP status, or the SMTP reply code.
    pub status: Option<u16>,
    /// The platform's business code (`errcode`, `code`, `StatusCode`), when it has one.
    pub code: Option<i64>,
    /// The platform's response as received (or the transport error), for the delivery log.
    pub response: String,
}

impl Delivery {
    fn transport(e: impl fmt::Display) -> Self {
        Self {
            ok: false,
            retryable: true,
            status: None,
            code: None,
            response: e.to_string(),
        }
    }
}

/// A target that cannot be used as configured.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("notification target {kind}: {reason}")]
    Config { kind: &'static str, reason: String },
}

/// Tries once to deliver `msg` to `target`; `now` signs the request (robots refuse
/// timestamps more than an hour off).
pub async fn send(
    http: &reqwest::Client,
    target: &Target,
    msg: &Message,
    now: DateTime<Utc>,
) -> Result<Delivery, NotifyError> {
    match target {
        Target::Email(smtp) => email::send(smtp, msg).await,
        _ => im::send(http, target, msg, now).await,
    }
}
