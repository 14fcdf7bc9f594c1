//! Message templates: Chinese, English, or both, with the value, the limit and a link back.

use serde::Deserialize;

use connectors::notify::Message;

use super::store::Undelivered;

/// Which language(s) messages are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
    /// Chinese first, then English.
    #[default]
    Both,
}

fn zh(d: &Undelivered, what: &str) -> (String, String) {
    let head = match d.event.as_str() {
        "fired" => "【告警】",
        "resolved" => "【已恢复】",
        _ => "【提醒】",
    };
    let value = d.value.as_deref().unwrap_or("—");
    let limit = d.threshold.as_deref().unwrap_or("—");
    (
        format!("{head}{}", d.rule),
        format!("{what}：当前值 {value}，阈值 {limit}"),
    )
}

fn en(d: &Undelivered, what: &str) -> (String, String) {
    let head = match d.event.as_str() {
        "fired" => "[ALERT]",
        "resolved" => "[RESOLVED]",
        _ => "[REMINDER]",
    };
    let value = d.value.as_deref().unwrap_or("-");
    let limit = d.threshold.as_deref().unwrap_or("-");
    (
        format!("{head} {}", d.rule),
        format!("{what}: value {value}, limit {limit}"),
    )
}

/// The message for one pending delivery.
pub(super) fn message(d: &Undelivered, lang: Lang, ui_base: Option<&str>) -> Message {
    let what = d.label.clone().unwrap_or_else(|| d.key.clone());
    let parts: Vec<(String, String)> = match lang {
        Lang::Zh => vec![zh(d, &what)],
        Lang::En => vec![en(d, &what)],
        Lang::Both => vec![zh(d, &what), en(d, &what)],
    };
    let title = parts
        .iter()
        .map(|p| p.0.clone())
        .collect::<Vec<_>>()
        .join(" / ");
    let text = parts
        .iter()
        .map(|p| p.1.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let markdown = parts
        .iter()
        .map(|p| format!("> {}", p.1))
        .collect::<Vec<_>>()
        .join("\n");
    let link = ui_base.map(|b| {
        let q: String = url_encode(&d.rule);
        let k: String = url_encode(&d.key);
        format!("{}/alerts?rule={q}&key={k}", b.trim_end_matches('/'))
    });
    Message {
        title,
        text,
        markdown,
        link,
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_carry_the_numbers_and_a_link() {
        let d = Undelivered {
            event_id: "e".into(),
            channel: "ops".into(),
            rule: "low-stock".into(),
            key: "SKU1@W01".into(),
            event: "fired".into(),
            value: Some("3".into()),
            threshold: Some("10".into()),
            label: Some("白T恤 (SKU1) @ W01".into()),
            attempts: 0,
        };
        let m = message(&d, Lang::Both, Some("http://127.0.0.1:8080/"));
        assert_eq!(m.title, "【告警】low-stock / [ALERT] low-stock");
        assert!(
            m.text.contains("白T恤 (SKU1) @ W01：当前值 3，阈值 10"),
            "{}",
            m.text
        );
        assert!(m.text.contains("value 3, limit 10"), "{}", m.text);
        assert_eq!(
            m.link.as_deref(),
            Some("http://127.0.0.1:8080/alerts?rule=low-stock&key=SKU1%40W01")
        );
        let r = Undelivered {
            event: "resolved".into(),
            ..d
        };
        assert!(message(&r, Lang::En, None).title.starts_with("[RESOLVED]"));
    }
}
