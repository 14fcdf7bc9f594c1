//! The signers against the platforms' vectors (the same as `sign/tests.rs`) and RFC 4231.

use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn secrets(value: &str) -> Secrets {
    let mut s = Secrets::default();
    s.insert("key", value);
    s
}

fn req(params: &[(&str, &str)]) -> Outgoing {
    Outgoing {
        verb: "GET",
        path: "/router/rest".into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: Vec::new(),
        body: String::new(),
    }
}

fn param<'a>(r: &'a Outgoing, k: &str) -> &'a str {
    r.params
        .iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

fn header<'a>(r: &'a Outgoing, k: &str) -> &'a str {
    r.headers
        .iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

fn signer(toml_text: &str, secret: &str) -> Signer {
    let s: settings::Signer = toml::from_str(toml_text).expect("signer settings");
    Signer::new(&s, &secrets(secret)).expect("signer")
}

#[test]
fn jushuitan_md5_matches_the_official_vector_j1() {
    let s = signer(
        r#"kind = "jushuitan-md5"
secret = "key""#,
        "e9c5ca33fecb404b8e6cdbd0ef4a6d25",
    );
    let mut r = req(&[
        ("app_key", "5b53060f23d84ddf9703056e84fa5a2d"),
        ("grant_type", "authorization_code"),
        ("charset", "utf-8"),
        ("code", "123456"),
    ]);
    let at = DateTime::from_timestamp(1_639_128_407, 0).expect("t");
    s.sign_params(&mut r, at);
    assert_eq!(param(&r, "timestamp"), "1639128407");
    assert_eq!(param(&r, "sign"), "05e3a51e19e0883afd1882ccd309e0b9");
}

#[test]
fn top_signers_match_the_official_vectors_t1_t2_t3() {
    let base = [
        ("method", "taobao.item.seller.get"),
        ("app_key", "12345678"),
        ("session", "test"),
        ("format", "json"),
        ("v", "2.0"),
        ("fields", "num_iid,title,nick,price,num"),
        ("num_iid", "11223344"),
    ];
    // 2016-01-01 12:00:00 in Shanghai.
    let at: DateTime<Utc> = vocab::BUSINESS_TZ
        .with_ymd_and_hms(2016, 1, 1, 12, 0, 0)
        .single()
        .expect("t")
        .with_timezone(&Utc);
    for (kind, method, expected) in [
        ("top-md5", "md5", "66987CB115214E59E6EC978214934FB8"),
        ("top-hmac", "hmac", "D56D7858309C31B6251083A874D48273"),
        (
            "top-hmac-sha256",
            "hmac-sha256",
            "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8",
        ),
    ] {
        let s = signer(
            &format!("kind = \"{kind}\"\nsecret = \"key\""),
            "helloworld",
        );
        let mut r = req(&base);
        s.sign_params(&mut r, at);
        assert_eq!(param(&r, "timestamp"), "2016-01-01 12:00:00");
        assert_eq!(param(&r, "sign_method"), method);
        assert_eq!(param(&r, "sign"), expected, "{kind}");
    }
}

#[test]
fn hmac_sha256_matches_rfc_4231_in_every_encoding() {
    let text = "what do ya want for nothing?";
    assert_eq!(
        hmac_sha256("Jefe", text, Encoding::Hex),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hmac_sha256("Jefe", text, Encoding::HexUpper),
        "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"
    );
    assert_eq!(
        hmac_sha256("Jefe", text, Encoding::Base64),
        "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
    );
    assert_eq!(
        [base64(b"M"), base64(b"Ma"), base64(b"Man")],
        ["TQ==", "TWE=", "TWFu"]
    );
}

#[test]
fn header_signature_covers_the_configured_canonical_string() {
    let s = signer(
        r#"kind = "hmac-sha256-header"
secret = "key"
parts = ["method", "path", "query", "timestamp", "header:X-App-Key"]
separator = "|"
encoding = "base64""#,
        "s3cret",
    );
    let mut r = req(&[("b", "2 3"), ("a", "2026-11-01T08:00:00+08:00")]);
    r.headers.push(("X-App-Key".into(), "app".into()));
    let at = DateTime::from_timestamp(1_793_491_200, 0).expect("t");
    s.sign_headers(&mut r, at);
    assert_eq!(header(&r, "X-Timestamp"), "1793491200");
    // The canonical string written out by hand: the query sorted and form-encoded.
    let canonical = "GET|/router/rest|a=2026-11-01T08%3A00%3A00%2B08%3A00&b=2+3|1793491200|app";
    assert_eq!(
        header(&r, "X-Signature"),
        hmac_sha256("s3cret", canonical, Encoding::Base64)
    );
    let mut other = req(&[("b", "2 3"), ("a", "2026-11-01T08:00:01+08:00")]);
    other.headers.push(("X-App-Key".into(), "app".into()));
    s.sign_headers(&mut other, at);
    assert_ne!(header(&other, "X-Signature"), header(&r, "X-Signature"));
}

#[test]
fn bearer_and_api_key_signers_place_the_secret() {
    let at = Utc::now();
    let mut r = req(&[]);
    signer("kind = \"bearer\"\nsecret = \"key\"", "tok").sign_headers(&mut r, at);
    assert_eq!(header(&r, "Authorization"), "Bearer tok");
    let mut r = req(&[]);
    signer(
        "kind = \"api-key\"\nsecret = \"key\"\nheader = \"X-Api-Key\"",
        "k1",
    )
    .sign_headers(&mut r, at);
    assert_eq!(header(&r, "X-Api-Key"), "k1");
    let mut r = req(&[]);
    signer(
        "kind = \"api-key\"\nsecret = \"key\"\nquery_param = \"apikey\"",
        "k2",
    )
    .sign_params(&mut r, at);
    assert_eq!(param(&r, "apikey"), "k2");
}

#[test]
fn a_missing_secret_and_bad_parts_are_named_and_debug_hides_the_secret() {
    let s: settings::Signer = toml::from_str("kind = \"bearer\"\nsecret = \"token\"").expect("s");
    let e = Signer::new(&s, &Secrets::default()).expect_err("no secret");
    assert!(e.to_string().contains("`token`"), "{e}");
    let s: settings::Signer = toml::from_str(
        "kind = \"hmac-sha256-header\"\nsecret = \"key\"\nparts = [\"method\", \"nonce\"]",
    )
    .expect("s");
    let e = Signer::new(&s, &secrets("x")).expect_err("bad part");
    assert!(e.to_string().contains("`nonce`"), "{e}");
    let s: settings::Signer = toml::from_str("kind = \"api-key\"\nsecret = \"key\"").expect("s");
    assert!(check(&s).expect_err("neither").contains("exactly one"));
    let dbg = format!(
        "{:?}",
        signer("kind = \"bearer\"\nsecret = \"key\"", "very-secret-value")
    );
    assert!(!dbg.contains("very-secret-value"), "{dbg}");
}
