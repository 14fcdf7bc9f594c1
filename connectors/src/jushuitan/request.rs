//! Building signed Jushuitan requests.
//!
//! Every call is a form POST. Business calls carry `app_key`, `access_token`, `timestamp`
//! (Unix seconds), `charset=utf-8`, `version=2`, `biz` (a JSON string, `{}` when empty) and
//! `sign`; the signature covers `biz` exactly as sent.

use std::fmt;

use crate::sign;

/// App and merchant credentials. Secrets never appear in `Debug`.
#[derive(Clone)]
pub struct Credentials {
    pub app_key: String,
    pub app_secret: String,
    pub access_token: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .finish()
    }
}

fn encode(params: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if !v.is_empty() {
            ser.append_pair(k, v);
        }
    }
    ser.finish()
}

/// The form body of a business call with `biz` (the exact JSON text to send) at `timestamp`.
pub fn biz_body(creds: &Credentials, biz: &str, timestamp: i64) -> String {
    let ts = timestamp.to_string();
    let biz = if biz.trim().is_empty() { "{}" } else { biz };
    let mut params = vec![
        ("app_key", creds.app_key.as_str()),
        ("access_token", creds.access_token.as_str()),
        ("timestamp", ts.as_str()),
        ("charset", "utf-8"),
        ("version", "2"),
        ("biz", biz),
    ];
    let signature = sign::jushuitan(&creds.app_secret, params.iter().copied());
    params.push(("sign", &signature));
    encode(&params)
}

/// The form body of a token call (`getInitToken` with `code`, or `refreshToken` with
/// `refresh_token`): no access token, version or biz.
pub fn token_body(
    app_key: &str,
    app_secret: &str,
    extra: &[(&str, &str)],
    timestamp: i64,
) -> String {
    let ts = timestamp.to_string();
    let mut params = vec![
        ("app_key", app_key),
        ("timestamp", ts.as_str()),
        ("charset", "utf-8"),
    ];
    params.extend_from_slice(extra);
    let signature = sign::jushuitan(app_secret, params.iter().copied());
    params.push(("sign", &signature));
    encode(&params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            app_key: "5b53060f23d84ddf9703056e84fa5a2d".into(),
            app_secret: "e9c5ca33fecb404b8e6cdbd0ef4a6d25".into(),
            access_token: "d7b01bf0842a4742a9450e21ffd95f60".into(),
        }
    }

    #[test]
    fn business_body_matches_the_j4_wire_vector() {
        let biz = r#"{"modified_begin":"2023-11-14 00:00:00","modified_end":"2023-11-14 23:59:59","page_index":1,"page_size":50}"#;
        assert_eq!(
            biz_body(&creds(), biz, 1_700_000_000),
            "app_key=5b53060f23d84ddf9703056e84fa5a2d&access_token=d7b01bf0842a4742a9450e21ffd95f60&timestamp=1700000000&charset=utf-8&version=2&biz=%7B%22modified_begin%22%3A%222023-11-14+00%3A00%3A00%22%2C%22modified_end%22%3A%222023-11-14+23%3A59%3A59%22%2C%22page_index%22%3A1%2C%22page_size%22%3A50%7D&sign=05dbdde35dab60df584b62038af12e11"
        );
    }

    #[test]
    fn token_body_signs_the_official_j1_vector_and_debug_hides_secrets() {
        let body = token_body(
            "5b53060f23d84ddf9703056e84fa5a2d",
            "e9c5ca33fecb404b8e6cdbd0ef4a6d25",
            &[("grant_type", "authorization_code"), ("code", "123456")],
            1_639_128_407,
        );
        assert!(
            body.ends_with("&sign=05e3a51e19e0883afd1882ccd309e0b9"),
            "{body}"
        );
        let shown = format!("{:?}", creds());
        assert!(
            !shown.contains("e9c5ca33") && !shown.contains("d7b01bf0"),
            "{shown}"
        );
    }
}
