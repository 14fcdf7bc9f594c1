//! Vectors from the platform spec sheet (§7.1–7.4); J1, J2 and T1 are the platforms' own.

use super::*;

const JST_SECRET: &str = "e9c5ca33fecb404b8e6cdbd0ef4a6d25";
const JST_KEY: &str = "5b53060f23d84ddf9703056e84fa5a2d";
const JST_TOKEN: &str = "d7b01bf0842a4742a9450e21ffd95f60";

#[test]
fn jushuitan_official_token_vector_j1() {
    let p = [
        ("app_key", JST_KEY),
        ("timestamp", "1639128407"),
        ("grant_type", "authorization_code"),
        ("charset", "utf-8"),
        ("code", "123456"),
    ];
    assert_eq!(jushuitan(JST_SECRET, p), "05e3a51e19e0883afd1882ccd309e0b9");
}

#[test]
fn jushuitan_official_business_vector_j2_signs_biz_as_sent() {
    let biz = r#"{"page_index":"1","page_size":"100","nicks":["老板"]}"#;
    let p = [
        ("app_key", JST_KEY),
        ("access_token", JST_TOKEN),
        ("timestamp", "1639128407"),
        ("charset", "utf-8"),
        ("version", "2"),
        ("biz", biz),
    ];
    assert_eq!(jushuitan(JST_SECRET, p), "395f5a78b446be465ac03a02491296c7");
}

#[test]
fn jushuitan_refresh_and_orders_vectors_j3_j4() {
    let p = [
        ("app_key", JST_KEY),
        ("timestamp", "1639128407"),
        ("grant_type", "refresh_token"),
        ("charset", "utf-8"),
        ("refresh_token", "r3fr35h70k3n"),
        ("scope", "all"),
    ];
    assert_eq!(jushuitan(JST_SECRET, p), "ef79127cf507b82b31e5d02ccbd0459b");
    let biz = r#"{"modified_begin":"2023-11-14 00:00:00","modified_end":"2023-11-14 23:59:59","page_index":1,"page_size":50}"#;
    let p = [
        ("app_key", JST_KEY),
        ("access_token", JST_TOKEN),
        ("timestamp", "1700000000"),
        ("charset", "utf-8"),
        ("version", "2"),
        ("biz", biz),
    ];
    assert_eq!(jushuitan(JST_SECRET, p), "05dbdde35dab60df584b62038af12e11");
}

#[test]
fn sign_and_empty_values_are_not_signed() {
    let p = [
        ("app_key", JST_KEY),
        ("timestamp", "1639128407"),
        ("grant_type", "authorization_code"),
        ("charset", "utf-8"),
        ("code", "123456"),
        ("sign", "x"),
        ("empty", ""),
    ];
    assert_eq!(jushuitan(JST_SECRET, p), "05e3a51e19e0883afd1882ccd309e0b9");
    // A wrong secret gives another signature.
    let p = [("app_key", JST_KEY), ("timestamp", "1639128407")];
    assert_ne!(jushuitan(JST_SECRET, p), jushuitan("wrong", p));
}

fn top_params(method: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("method", "taobao.item.seller.get"),
        ("app_key", "12345678"),
        ("session", "test"),
        ("timestamp", "2016-01-01 12:00:00"),
        ("format", "json"),
        ("v", "2.0"),
        ("fields", "num_iid,title,nick,price,num"),
        ("num_iid", "11223344"),
        ("sign_method", method),
    ]
}

#[test]
fn top_official_md5_vector_t1() {
    assert_eq!(
        top(TopSignMethod::Md5, "helloworld", top_params("md5")),
        "66987CB115214E59E6EC978214934FB8"
    );
}

#[test]
fn top_hmac_and_hmac_sha256_vectors_t2_t3() {
    assert_eq!(
        top(TopSignMethod::Hmac, "helloworld", top_params("hmac")),
        "D56D7858309C31B6251083A874D48273"
    );
    assert_eq!(
        top(
            TopSignMethod::HmacSha256,
            "helloworld",
            top_params("hmac-sha256")
        ),
        "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"
    );
}

#[test]
fn top_increment_vector_t4() {
    let p = [
        ("method", "taobao.trades.sold.increment.get"),
        ("app_key", "12345678"),
        ("session", "6100e2d0sessionkey"),
        ("timestamp", "2023-11-14 10:00:00"),
        ("format", "json"),
        ("v", "2.0"),
        ("sign_method", "md5"),
        ("simplify", "true"),
        ("fields", "tid,status,payment,modified,orders"),
        ("start_modified", "2023-11-14 09:00:00"),
        ("end_modified", "2023-11-14 10:00:00"),
        ("page_no", "1"),
        ("page_size", "100"),
        ("use_has_next", "true"),
    ];
    assert_eq!(
        top(TopSignMethod::Md5, "helloworld", p),
        "18B8B5D8D7830AE82C5BD4E76F7A2FC8"
    );
}

#[test]
fn sign_method_names_round_trip_and_comparison_is_exact() {
    for m in [
        TopSignMethod::Md5,
        TopSignMethod::Hmac,
        TopSignMethod::HmacSha256,
    ] {
        assert_eq!(TopSignMethod::parse(m.as_str()), Some(m));
    }
    assert_eq!(TopSignMethod::parse("sha1"), None);
    assert!(same_signature("ABC", "ABC"));
    assert!(!same_signature("ABC", "ABD"));
    assert!(!same_signature("ABC", "AB"));
}

#[test]
fn dingtalk_robot_vectors_and_their_url_encoding() {
    let cases = [
        (
            1_700_000_000_000,
            "SEC1234567890abcdef",
            "RqBq3E1RTBDv3n2QBCh4adZ2WHk9mVklyUoDBLxarjI=",
            "RqBq3E1RTBDv3n2QBCh4adZ2WHk9mVklyUoDBLxarjI%3D",
        ),
        (
            1_577_262_236_757,
            "this is secret",
            "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=",
            "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D",
        ),
    ];
    for (ts, secret, b64, encoded) in cases {
        let sign = dingtalk(secret, ts);
        assert_eq!(sign, b64);
        let q: String = url::form_urlencoded::byte_serialize(sign.as_bytes()).collect();
        assert_eq!(q, encoded);
    }
}

#[test]
fn feishu_bot_vectors_and_the_dingtalk_style_mistake_differs() {
    let cases = [
        (
            1_599_360_473,
            "demo",
            "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8=",
            "DkEDUyVoOOJ539qBvUgMyzkzIdRWlf4e/V3Rq+ONJnQ=",
        ),
        (
            1_700_000_000,
            "SEC1234567890abcdef",
            "q8Irq6jvUWZylp2Ox+urXynCLWrdgv6AW58ufc48Reo=",
            "NtDXPglvBEa24H7eFD/8iOhSeeYe+UNhOqg4V485Gac=",
        ),
    ];
    for (ts, secret, right, wrong) in cases {
        assert_eq!(feishu(secret, ts), right);
        // Signing the DingTalk way (key = secret) gives the value Feishu refuses with 19021.
        assert_eq!(dingtalk(secret, ts), wrong);
    }
}

#[test]
fn webhook_signature_covers_timestamp_and_body() {
    let a = webhook("s3cret", 1_700_000_000, b"{\"a\":1}");
    assert!(a.starts_with("sha256=") && a.len() == 7 + 64, "{a}");
    assert_ne!(a, webhook("s3cret", 1_700_000_001, b"{\"a\":1}"));
    assert_ne!(a, webhook("s3cret", 1_700_000_000, b"{\"a\":2}"));
    assert_ne!(a, webhook("other", 1_700_000_000, b"{\"a\":1}"));
}
