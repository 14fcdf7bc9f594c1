//! The built-in signers, as pure functions over an outgoing request.
//!
//! A [`Signer`] adds what a platform needs to accept a request: a signed `sign` parameter
//! (Jushuitan, TOP, through [`crate::sign`]), a signature header over a canonical string
//! (`hmac-sha256-header`), a bearer token or an API key. The time is passed in, so the
//! signers are checked against fixed vectors. Secret values are resolved at build time and
//! never printed (`Debug` shows the signer kind only).

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::settings::{self, Encoding, TimestampStyle};
use crate::sign::{self as platform, TopSignMethod};
use crate::stream::{Secrets, StreamError};

/// A request about to be sent: parameters (query for GET, body for POST) and headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Outgoing {
    pub verb: &'static str,
    /// The URL path, e.g. `/api/v2/orders` (the base URL's own path included).
    pub path: String,
    pub params: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// The body as sent (empty for GET); set before signing.
    pub body: String,
}

/// The query (or form body) text: parameters sorted by key, form-urlencoded, joined by `&`.
pub fn sorted_query(params: &[(String, String)]) -> String {
    let mut kv: Vec<&(String, String)> = params.iter().collect();
    kv.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1)));
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in kv {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A part of the `hmac-sha256-header` canonical string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Method,
    Path,
    Query,
    Timestamp,
    /// Lower-case hex SHA-256 of the body.
    BodySha256,
    /// The value of a header (e.g. the app key).
    Header(String),
}

fn parse_part(p: &str) -> Result<Part, String> {
    Ok(match p {
        "method" => Part::Method,
        "path" => Part::Path,
        "query" => Part::Query,
        "timestamp" => Part::Timestamp,
        "body_sha256" => Part::BodySha256,
        h if h.starts_with("header:") && h.len() > 7 => Part::Header(h[7..].to_string()),
        other => {
            return Err(format!(
                "`{other}` is not a signature part (method, path, query, timestamp, body_sha256, header:NAME)"
            ));
        }
    })
}

/// Checks a signer's settings without secrets (used by `validate`).
pub(crate) fn check(s: &settings::Signer) -> Result<(), String> {
    match s {
        settings::Signer::HmacSha256Header {
            parts,
            header,
            timestamp_header,
            ..
        } => {
            if parts.is_empty() {
                return Err("signer.parts is empty".into());
            }
            for p in parts {
                parse_part(p).map_err(|e| format!("signer.parts: {e}"))?;
            }
            if header.is_empty() || timestamp_header.is_empty() {
                return Err("signer.header and signer.timestamp_header must not be empty".into());
            }
            Ok(())
        }
        settings::Signer::ApiKey {
            header,
            query_param,
            ..
        } => match (header, query_param) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err("signer (api-key): set exactly one of `header` and `query_param`".into()),
        },
        _ => Ok(()),
    }
}

/// A signer with its secret resolved.
#[derive(Clone)]
pub(crate) struct Signer {
    kind: Kind,
    secret: String,
}

#[derive(Debug, Clone)]
enum Kind {
    None,
    Jushuitan {
        timestamp: String,
        sign: String,
    },
    Top {
        method: TopSignMethod,
        timestamp: String,
        sign: String,
    },
    Header {
        header: String,
        timestamp_header: String,
        timestamp: TimestampStyle,
        encoding: Encoding,
        parts: Vec<Part>,
        separator: String,
    },
    Bearer,
    ApiKeyHeader(String),
    ApiKeyQuery(String),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("kind", &self.kind)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Signer {
    /// Resolves `settings` against the connector's secrets.
    pub(crate) fn new(s: &settings::Signer, secrets: &Secrets) -> Result<Self, StreamError> {
        use settings::Signer as S;
        check(s).map_err(StreamError::Settings)?;
        let top = |method, secret: &String, timestamp: &String, sign: &String| {
            Ok::<_, StreamError>(Signer {
                kind: Kind::Top {
                    method,
                    timestamp: timestamp.clone(),
                    sign: sign.clone(),
                },
                secret: secrets.require(secret)?.to_string(),
            })
        };
        match s {
            S::None => Ok(Signer {
                kind: Kind::None,
                secret: String::new(),
            }),
            S::JushuitanMd5 {
                secret,
                timestamp_param,
                sign_param,
            } => Ok(Signer {
                kind: Kind::Jushuitan {
                    timestamp: timestamp_param.clone(),
                    sign: sign_param.clone(),
                },
                secret: secrets.require(secret)?.to_string(),
            }),
            S::TopMd5 {
                secret,
                timestamp_param,
                sign_param,
            } => top(TopSignMethod::Md5, secret, timestamp_param, sign_param),
            S::TopHmac {
                secret,
                timestamp_param,
                sign_param,
            } => top(TopSignMethod::Hmac, secret, timestamp_param, sign_param),
            S::TopHmacSha256 {
                secret,
                timestamp_param,
                sign_param,
            } => top(
                TopSignMethod::HmacSha256,
                secret,
                timestamp_param,
                sign_param,
            ),
            S::HmacSha256Header {
                secret,
                header,
                timestamp_header,
                timestamp,
                encoding,
                parts,
                separator,
            } => {
                let parts = parts
                    .iter()
                    .map(|p| parse_part(p))
                    .collect::<Result<_, _>>()
                    .map_err(StreamError::Settings)?;
                Ok(Signer {
                    kind: Kind::Header {
                        header: header.clone(),
                        timestamp_header: timestamp_header.clone(),
                        timestamp: *timestamp,
                        encoding: *encoding,
                        parts,
                        separator: separator.clone(),
                    },
                    secret: secrets.require(secret)?.to_string(),
                })
            }
            S::Bearer { secret } => Ok(Signer {
                kind: Kind::Bearer,
                secret: secrets.require(secret)?.to_string(),
            }),
            S::ApiKey {
                secret,
                header,
                query_param,
            } => Ok(Signer {
                kind: match (header, query_param) {
                    (Some(h), _) => Kind::ApiKeyHeader(h.clone()),
                    (None, Some(q)) => Kind::ApiKeyQuery(q.clone()),
                    (None, None) => Kind::None,
                },
                secret: secrets.require(secret)?.to_string(),
            }),
        }
    }

    /// Adds parameters (before the body or query is built from them).
    pub(crate) fn sign_params(&self, req: &mut Outgoing, now: DateTime<Utc>) {
        fn params(req: &Outgoing) -> Vec<(&str, &str)> {
            req.params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
        }
        match &self.kind {
            Kind::Jushuitan { timestamp, sign } => {
                req.params.retain(|(k, _)| k != timestamp && k != sign);
                req.params
                    .push((timestamp.clone(), now.timestamp().to_string()));
                let s = platform::jushuitan(&self.secret, params(req));
                req.params.push((sign.clone(), s));
            }
            Kind::Top {
                method,
                timestamp,
                sign,
            } => {
                req.params
                    .retain(|(k, _)| k != timestamp && k != sign && k != "sign_method");
                let local = now.with_timezone(&vocab::BUSINESS_TZ);
                req.params.push((
                    timestamp.clone(),
                    local.format("%Y-%m-%d %H:%M:%S").to_string(),
                ));
                req.params
                    .push(("sign_method".into(), method.as_str().into()));
                let s = platform::top(*method, &self.secret, params(req));
                req.params.push((sign.clone(), s));
            }
            Kind::ApiKeyQuery(name) => req.params.push((name.clone(), self.secret.clone())),
            _ => {}
        }
    }

    /// Adds headers (after the body is built).
    pub(crate) fn sign_headers(&self, req: &mut Outgoing, now: DateTime<Utc>) {
        match &self.kind {
            Kind::Header {
                header,
                timestamp_header,
                timestamp,
                encoding,
                parts,
                separator,
            } => {
                let ts = match timestamp {
                    TimestampStyle::Unix => now.timestamp().to_string(),
                    TimestampStyle::UnixMs => now.timestamp_millis().to_string(),
                    TimestampStyle::Rfc3339 => now
                        .with_timezone(&vocab::BUSINESS_TZ)
                        .format("%Y-%m-%dT%H:%M:%S%:z")
                        .to_string(),
                };
                let text = canonical(req, parts, &ts, separator);
                let sig = hmac_sha256(&self.secret, &text, *encoding);
                req.headers.push((timestamp_header.clone(), ts));
                req.headers.push((header.clone(), sig));
            }
            Kind::Bearer => req
                .headers
                .push(("Authorization".into(), format!("Bearer {}", self.secret))),
            Kind::ApiKeyHeader(h) => req.headers.push((h.clone(), self.secret.clone())),
            _ => {}
        }
    }
}

/// The canonical string of an `hmac-sha256-header` signature.
fn canonical(req: &Outgoing, parts: &[Part], timestamp: &str, separator: &str) -> String {
    let items: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Part::Method => req.verb.to_string(),
            Part::Path => req.path.clone(),
            Part::Query => {
                if req.verb == "GET" {
                    sorted_query(&req.params)
                } else {
                    String::new()
                }
            }
            Part::Timestamp => timestamp.to_string(),
            Part::BodySha256 => lower_hex(&Sha256::digest(req.body.as_bytes())),
            Part::Header(h) => req
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(h))
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        })
        .collect();
    items.join(separator)
}

/// HMAC-SHA256 of `text` under `key`, encoded (simulators verify with the same function).
pub fn hmac_sha256(key: &str, text: &str, encoding: Encoding) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("hmac takes any key length");
    mac.update(text.as_bytes());
    let bytes = mac.finalize().into_bytes();
    match encoding {
        Encoding::Hex => lower_hex(&bytes),
        Encoding::HexUpper => lower_hex(&bytes).to_uppercase(),
        Encoding::Base64 => base64(&bytes),
    }
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "signer_tests.rs"]
mod tests;
