//! Every target against the local receivers: right signatures are accepted, wrong ones are
//! refused with the platform's code, rate limits and faults read as retryable.

use chrono::Utc;

use super::sim::{ImSim, ImSimConfig, SmtpSink};
use super::*;

fn msg() -> Message {
    Message {
        title: "库存预警 Low stock".into(),
        text: "SKU000001 @ W01: 3 < 10".into(),
        markdown: "**SKU000001** @ W01: 3 < 10".into(),
        link: Some("http://127.0.0.1:8080/alerts/1".into()),
    }
}

async fn sim() -> ImSim {
    ImSim::start(
        ImSimConfig {
            wecom_keys: vec!["wk1".into()],
            dingtalk: vec![("dt1".into(), "SEC1234567890abcdef".into())],
            feishu: vec![("fs1".into(), "fsecret".into())],
            webhook_secret: Some("whsecret".into()),
        },
        0,
    )
    .await
    .expect("sim")
}

#[tokio::test]
async fn signed_robots_accept_right_signatures_and_refuse_wrong_ones() {
    let sim = sim().await;
    let http = reqwest::Client::new();
    let now = Utc::now();
    let good = [
        Target::Wecom {
            url: sim.wecom_url("wk1"),
        },
        Target::Dingtalk {
            url: sim.dingtalk_url("dt1"),
            secret: Some("SEC1234567890abcdef".into()),
        },
        Target::Feishu {
            url: sim.feishu_url("fs1"),
            secret: Some("fsecret".into()),
        },
        Target::Webhook {
            url: sim.webhook_url("ops"),
            secret: Some("whsecret".into()),
        },
    ];
    for t in &good {
        let d = send(&http, t, &msg(), now).await.expect("send");
        assert!(d.ok, "{t:?}: {d:?}");
    }
    for ch in ["wecom", "dingtalk", "feishu", "webhook"] {
        let got = sim.accepted(ch);
        assert_eq!(got.len(), 1, "{ch}");
        assert!(
            got[0].body.to_string().contains("SKU000001"),
            "{ch}: {}",
            got[0].body
        );
    }
    let bad = [
        (
            Target::Wecom {
                url: sim.wecom_url("nope"),
            },
            Some(93000),
        ),
        (
            Target::Dingtalk {
                url: sim.dingtalk_url("dt1"),
                secret: Some("SECwrong".into()),
            },
            Some(310000),
        ),
        (
            Target::Dingtalk {
                url: sim.dingtalk_url("dt1"),
                secret: None,
            },
            Some(310000),
        ),
        (
            Target::Feishu {
                url: sim.feishu_url("fs1"),
                secret: Some("wrong".into()),
            },
            Some(19021),
        ),
        (
            Target::Webhook {
                url: sim.webhook_url("ops"),
                secret: Some("wrong".into()),
            },
            None,
        ),
    ];
    for (t, code) in &bad {
        let d = send(&http, t, &msg(), now).await.expect("send");
        assert!(!d.ok && !d.retryable, "{t:?}: {d:?}");
        assert_eq!(d.code, *code, "{t:?}: {d:?}");
    }
    // A timestamp two hours old fails DingTalk's and Feishu's window even with the right secret.
    let stale = now - chrono::Duration::hours(2);
    let d = send(&http, &good[1], &msg(), stale).await.expect("send");
    assert_eq!((d.ok, d.code), (false, Some(310000)), "{d:?}");
    let d = send(&http, &good[2], &msg(), stale).await.expect("send");
    assert_eq!((d.ok, d.code), (false, Some(19021)), "{d:?}");
}

#[tokio::test]
async fn rate_limits_and_server_faults_are_retryable() {
    let sim = sim().await;
    let http = reqwest::Client::new();
    let t = Target::Wecom {
        url: sim.wecom_url("wk1"),
    };
    for i in 0..20 {
        let d = send(&http, &t, &msg(), Utc::now()).await.expect("send");
        assert!(d.ok, "message {i}: {d:?}");
    }
    let d = send(&http, &t, &msg(), Utc::now()).await.expect("send");
    assert_eq!((d.ok, d.retryable, d.code), (false, true, Some(45009)));
    let dt = Target::Dingtalk {
        url: sim.dingtalk_url("dt1"),
        secret: Some("SEC1234567890abcdef".into()),
    };
    sim.fail_next(1);
    let d = send(&http, &dt, &msg(), Utc::now()).await.expect("send");
    assert_eq!((d.ok, d.retryable, d.status), (false, true, Some(502)));
    let d = send(&http, &dt, &msg(), Utc::now()).await.expect("send");
    assert!(d.ok, "{d:?}");
    // Nothing listening: a transport error, retryable, without the robot's key in the text.
    let gone = Target::Wecom {
        url: "http://127.0.0.1:9/cgi-bin/webhook/send?key=topsecretkey".into(),
    };
    let d = send(&http, &gone, &msg(), Utc::now()).await.expect("send");
    assert!(!d.ok && d.retryable, "{d:?}");
    assert!(!d.response.contains("topsecretkey"), "{}", d.response);
}

#[tokio::test]
async fn email_reaches_the_smtp_sink_with_a_chinese_subject() {
    let sink = SmtpSink::start(None).await.expect("sink");
    let http = reqwest::Client::new();
    let t = Target::Email(SmtpTarget {
        host: "127.0.0.1".into(),
        port: sink.port(),
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "zhongtai <alerts@example.com>".into(),
        to: vec!["boss@example.com".into(), "finance@example.com".into()],
    });
    let d = send(&http, &t, &msg(), Utc::now()).await.expect("send");
    assert!(d.ok, "{d:?}");
    assert_eq!(d.status, Some(250));
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.from, "alerts@example.com");
    assert_eq!(m.to, vec!["boss@example.com", "finance@example.com"]);
    assert_eq!(m.header("subject").as_deref(), Some("库存预警 Low stock"));
    let body = m.body_text();
    assert!(body.contains("SKU000001 @ W01: 3 < 10"), "{body}");
    assert!(body.contains("http://127.0.0.1:8080/alerts/1"), "{body}");
    // A 451 is worth another try; the next attempt goes through.
    sink.defer_next(1);
    let d = send(&http, &t, &msg(), Utc::now()).await.expect("send");
    assert!(!d.ok && d.retryable, "{d:?}");
    assert_eq!(d.status, Some(451));
    let d = send(&http, &t, &msg(), Utc::now()).await.expect("send");
    assert!(d.ok, "{d:?}");
    assert_eq!(sink.mails().len(), 2);
}

#[test]
fn targets_never_print_their_credentials() {
    let targets = [
        Target::Wecom {
            url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY123".into(),
        },
        Target::Dingtalk {
            url: "https://oapi.dingtalk.com/robot/send?access_token=TOK456".into(),
            secret: Some("SECabc".into()),
        },
        Target::Feishu {
            url: "https://open.feishu.cn/open-apis/bot/v2/hook/HOOK789".into(),
            secret: Some("fsec".into()),
        },
        Target::Email(SmtpTarget {
            host: "smtp.example.com".into(),
            port: 465,
            tls: SmtpTls::Tls,
            username: Some("u".into()),
            password: Some("PASSWORD".into()),
            from: "a@example.com".into(),
            to: vec!["b@example.com".into()],
        }),
    ];
    for t in &targets {
        let s = format!("{t:?}");
        for secret in ["KEY123", "TOK456", "SECabc", "HOOK789", "fsec", "PASSWORD"] {
            assert!(!s.contains(secret), "{s}");
        }
    }
}

#[test]
fn targets_read_from_toml() {
    let t: Target = toml::from_str(
        r#"
kind = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=x"
secret = "SECx"
"#,
    )
    .expect("toml");
    assert_eq!(t.kind(), "dingtalk");
    let e: Result<Target, _> = toml::from_str("kind = \"pager\"\nurl = \"x\"");
    assert!(e.is_err());
}
