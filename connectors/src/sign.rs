//! Request signing of the platforms zhongtai pulls from, as pure functions.
//!
//! Both platforms sign the sorted, separator-less concatenation `k1v1k2v2…` of every request
//! parameter except `sign`, skipping empty values, over the exact UTF-8 text that is sent
//! (before URL encoding; Jushuitan's `biz` is the JSON string as transmitted):
//!
//! - Jushuitan: `lower_hex(md5(app_secret + q))`.
//! - Taobao/Tmall TOP: `md5` → `UPPER_HEX(md5(secret + q + secret))`; `hmac` →
//!   `UPPER_HEX(hmac_md5(secret, q))`; `hmac-sha256` → `UPPER_HEX(hmac_sha256(secret, q))`.
//!
//! Outbound IM robots sign too (notifications, not pulls):
//! - DingTalk custom robot: `base64(hmac_sha256(key = secret, msg = "{ts_ms}\n{secret}"))`,
//!   URL-encoded into the query.
//! - Feishu/Lark custom bot: `base64(hmac_sha256(key = "{ts_s}\n{secret}", msg = ""))` — the key
//!   and the message are the other way round from DingTalk; not URL-encoded (it goes in the body).
//!
//! The tests check the official vectors (Jushuitan doc 70, TOP doc 101617) and the computed
//! ones in the platform spec sheet. Simulators verify requests with the same functions.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// TOP's `sign_method` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopSignMethod {
    Md5,
    Hmac,
    HmacSha256,
}

impl TopSignMethod {
    /// The value sent as `sign_method` (and itself signed).
    pub fn as_str(self) -> &'static str {
        match self {
            TopSignMethod::Md5 => "md5",
            TopSignMethod::Hmac => "hmac",
            TopSignMethod::HmacSha256 => "hmac-sha256",
        }
    }

    /// Parses a `sign_method` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "md5" => Some(TopSignMethod::Md5),
            "hmac" => Some(TopSignMethod::Hmac),
            "hmac-sha256" => Some(TopSignMethod::HmacSha256),
            _ => None,
        }
    }
}

/// `k1v1k2v2…` over the parameters sorted by key (byte order), without `sign` and empty values.
pub fn string_to_sign<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut kv: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .collect();
    kv.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::with_capacity(kv.iter().map(|(k, v)| k.len() + v.len()).sum());
    for (k, v) in kv {
        out.push_str(k);
        out.push_str(v);
    }
    out
}

/// Jushuitan's `sign`: lower-case hex MD5 of `app_secret + string_to_sign`.
pub fn jushuitan<'a>(
    app_secret: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut h = Md5::new();
    h.update(app_secret.as_bytes());
    h.update(string_to_sign(params).as_bytes());
    hex(&h.finalize(), false)
}

/// TOP's `sign` for `method`, upper-case hex.
pub fn top<'a>(
    method: TopSignMethod,
    secret: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let q = string_to_sign(params);
    match method {
        TopSignMethod::Md5 => {
            let mut h = Md5::new();
            h.update(secret.as_bytes());
            h.update(q.as_bytes());
            h.update(secret.as_bytes());
            hex(&h.finalize(), true)
        }
        TopSignMethod::Hmac => hmac_hex::<Hmac<Md5>>(secret, &q),
        TopSignMethod::HmacSha256 => hmac_hex::<Hmac<Sha256>>(secret, &q),
    }
}

/// DingTalk's robot `sign` for `timestamp_ms`, Base64 (URL-encode it into the query).
pub fn dingtalk(secret: &str, timestamp_ms: i64) -> String {
    let msg = format!("{timestamp_ms}\n{secret}");
    base64_of(&hmac_bytes::<Hmac<Sha256>>(
        secret.as_bytes(),
        msg.as_bytes(),
    ))
}

/// Feishu/Lark's bot `sign` for `timestamp_s`, Base64, sent as is in the JSON body.
pub fn feishu(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    base64_of(&hmac_bytes::<Hmac<Sha256>>(key.as_bytes(), b""))
}

/// `sha256=<hex>` over `"{timestamp}.{body}"`: the signature zhongtai's generic webhook sends in
/// `X-Zhongtai-Signature`, so a receiver can check the sender and refuse replays.
pub fn webhook(secret: &str, timestamp_s: i64, body: &[u8]) -> String {
    let mut msg = format!("{timestamp_s}.").into_bytes();
    msg.extend_from_slice(body);
    format!(
        "sha256={}",
        hex(&hmac_bytes::<Hmac<Sha256>>(secret.as_bytes(), &msg), false)
    )
}

fn hmac_bytes<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("hmac takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn hmac_hex<M: Mac + KeyInit>(key: &str, msg: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <M as KeyInit>::new_from_slice(key.as_bytes()).expect("hmac takes any key length");
    mac.update(msg.as_bytes());
    hex(&mac.finalize().into_bytes(), true)
}

fn hex(bytes: &[u8], upper: bool) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(digits[usize::from(b >> 4)]));
        s.push(char::from(digits[usize::from(b & 15)]));
    }
    s
}

/// Compares two signatures in constant time (simulators use it to verify requests).
pub fn same_signature(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests;
