//! Building signed TOP requests (spec sheet §2.2–§2.4).
//!
//! Every call is a form-encoded POST carrying the system parameters `method`, `app_key`,
//! `session`, `timestamp` (GMT+8 `yyyy-MM-dd HH:mm:ss`), `format=json`, `v=2.0`,
//! `sign_method` and `sign`, plus the API's own parameters. The signature covers all of them
//! (empty values are neither signed nor sent).

use std::fmt;

use chrono::{DateTime, Utc};

use crate::sign::{self, TopSignMethod};

/// The timestamp format TOP expects, in GMT+8.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// App and seller credentials. Secrets never appear in `Debug`.
#[derive(Clone)]
pub struct Credentials {
    pub app_key: String,
    pub app_secret: String,
    /// The seller's authorisation (OAuth access token), called `session` on the wire.
    pub session: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("session", &"<redacted>")
            .finish()
    }
}

/// `at` as TOP's `timestamp` (Asia/Shanghai wall clock).
pub fn timestamp_text(at: DateTime<Utc>) -> String {
    at.with_timezone(&vocab::BUSINESS_TZ)
        .format(TIMESTAMP_FORMAT)
        .to_string()
}

/// The signed form body of a call to `method` with `params`, stamped `timestamp`.
pub fn form_body(
    creds: &Credentials,
    sign_method: TopSignMethod,
    method: &str,
    timestamp: &str,
    params: &[(&str, &str)],
) -> String {
    let mut all: Vec<(&str, &str)> = vec![
        ("method", method),
        ("app_key", creds.app_key.as_str()),
        ("session", creds.session.as_str()),
        ("timestamp", timestamp),
        ("format", "json"),
        ("v", "2.0"),
        ("sign_method", sign_method.as_str()),
    ];
    all.extend(params.iter().copied().filter(|(_, v)| !v.is_empty()));
    let signature = sign::top(sign_method, &creds.app_secret, all.iter().copied());
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in all.iter().filter(|(_, v)| !v.is_empty()) {
        ser.append_pair(k, v);
    }
    ser.append_pair("sign", &signature);
    ser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            app_key: "12345678".into(),
            app_secret: "helloworld".into(),
            session: "test".into(),
        }
    }

    fn decoded(body: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn body_carries_the_official_t1_signature_and_every_system_parameter() {
        let body = form_body(
            &creds(),
            TopSignMethod::Md5,
            "taobao.item.seller.get",
            "2016-01-01 12:00:00",
            &[
                ("fields", "num_iid,title,nick,price,num"),
                ("num_iid", "11223344"),
                ("empty", ""),
            ],
        );
        let p = decoded(&body);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("sign"), Some("66987CB115214E59E6EC978214934FB8"));
        assert_eq!(get("timestamp"), Some("2016-01-01 12:00:00"));
        assert_eq!((get("format"), get("v")), (Some("json"), Some("2.0")));
        assert_eq!(get("empty"), None, "empty values are not sent");
        let body = form_body(
            &creds(),
            TopSignMethod::HmacSha256,
            "taobao.item.seller.get",
            "2016-01-01 12:00:00",
            &[
                ("fields", "num_iid,title,nick,price,num"),
                ("num_iid", "11223344"),
            ],
        );
        assert!(
            body.ends_with("sign=04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"),
            "{body}"
        );
    }

    #[test]
    fn timestamp_is_gmt_plus_8_and_debug_hides_secrets() {
        let at = DateTime::parse_from_rfc3339("2023-11-14T02:00:00Z")
            .expect("instant")
            .with_timezone(&Utc);
        assert_eq!(timestamp_text(at), "2023-11-14 10:00:00");
        let shown = format!("{:?}", creds());
        assert!(
            !shown.contains("helloworld") && !shown.contains("\"test\""),
            "{shown}"
        );
    }
}
