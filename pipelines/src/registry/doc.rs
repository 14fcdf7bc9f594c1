//! A connector document: the TOML an integrator writes, parsed and checked.
//!
//! Common keys are read here (`name`, `kind`, `description`, `schedule`, `start_date`,
//! `[secrets]`, `only_streams`); every other key belongs to the kind and is handed, as a TOML
//! table, to that kind's settings type in `connectors`. Secrets are never values in the
//! document, only references: `app_secret = { env = "JST_APP_SECRET" }`. A key that looks like
//! a secret written in plain text is refused.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::error::{PipelineError, Result};

/// Connector kinds zhongtai knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Jushuitan ERP open API.
    Jushuitan,
    /// Taobao / Tmall TOP API.
    Taobao,
    /// A declarative REST manifest.
    Http,
}

impl Kind {
    /// The name used in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Jushuitan => "jushuitan",
            Kind::Taobao => "taobao",
            Kind::Http => "http",
        }
    }
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// An environment variable of the process running zhongtai.
    pub env: String,
}

/// A parsed connector document.
#[derive(Debug, Clone)]
pub struct ConnectorDoc {
    pub name: String,
    pub kind: Kind,
    pub description: Option<String>,
    /// Cron expression for scheduled syncs (used by the job runner).
    pub schedule: Option<String>,
    /// Where a first sync starts (Asia/Shanghai date).
    pub start_date: Option<NaiveDate>,
    pub secrets: BTreeMap<String, SecretRef>,
    /// Sync only these streams (all when empty).
    pub only_streams: Vec<String>,
    /// The kind-specific keys.
    pub settings: toml::Table,
    /// The document as written (stored by the registry).
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    name: String,
    kind: Kind,
    description: Option<String>,
    schedule: Option<String>,
    start_date: Option<NaiveDate>,
    #[serde(default)]
    secrets: BTreeMap<String, SecretRef>,
    #[serde(default)]
    only_streams: Vec<String>,
}

const COMMON: &[&str] = &[
    "name",
    "kind",
    "description",
    "schedule",
    "start_date",
    "secrets",
    "only_streams",
];

fn invalid(what: &str, message: impl Into<String>) -> PipelineError {
    PipelineError::Connector {
        name: what.to_string(),
        message: message.into(),
    }
}

/// Whether a key name suggests a secret that must not be written in plain text.
fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "secret", "password", "token", "api_key", "apikey", "session",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// The first key holding what looks like a plain secret. A string naming a declared secret
/// (e.g. a manifest's `signer.secret = "api_secret"`) is a reference, not a secret.
fn find_plain_secret(table: &toml::Table, path: &str, names: &[&str]) -> Option<String> {
    for (k, v) in table {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match v {
            toml::Value::String(v) if looks_secret(k) && !names.contains(&v.as_str()) => {
                return Some(here);
            }
            toml::Value::Table(t) => {
                if let Some(p) = find_plain_secret(t, &here, names) {
                    return Some(p);
                }
            }
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(t) = item
                        && let Some(p) = find_plain_secret(t, &format!("{here}[{i}]"), names)
                    {
                        return Some(p);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

impl ConnectorDoc {
    /// Parses and checks a document; `origin` names it in errors (a file path).
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        // The parser's own message quotes the offending line, which may hold a secret: report
        // the line number and the reason only.
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].lines().count().max(1)
            });
            invalid(
                origin,
                format!("not valid TOML (line {line}): {}", e.message()),
            )
        })?;
        if let Some(toml::Value::Table(secrets)) = table.get("secrets") {
            for (k, v) in secrets {
                if !v.is_table() {
                    return Err(invalid(
                        origin,
                        format!(
                            "secrets.{k} must be a reference such as {{ env = \"VARIABLE\" }}, \
                             never the secret itself"
                        ),
                    ));
                }
            }
        }
        let mut common_part = toml::Table::new();
        let mut settings = toml::Table::new();
        for (k, v) in table {
            if COMMON.contains(&k.as_str()) {
                common_part.insert(k, v);
            } else {
                settings.insert(k, v);
            }
        }
        let common: Common = toml::Value::Table(common_part)
            .try_into()
            .map_err(|e: toml::de::Error| invalid(origin, e.to_string().trim().to_string()))?;
        let ok_name = !common.name.is_empty()
            && common.name.len() <= 64
            && common
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !ok_name {
            return Err(invalid(
                origin,
                format!(
                    "`name` {:?} must be 1-64 characters of a-z, 0-9, - and _",
                    common.name
                ),
            ));
        }
        let names: Vec<&str> = common.secrets.keys().map(String::as_str).collect();
        if let Some(key) = find_plain_secret(&settings, "", &names) {
            return Err(invalid(
                origin,
                format!(
                    "`{key}` looks like a secret written in plain text; declare it under [secrets] \
                     as {{ env = \"VARIABLE\" }} instead"
                ),
            ));
        }
        Ok(Self {
            name: common.name,
            kind: common.kind,
            description: common.description,
            schedule: common.schedule,
            start_date: common.start_date,
            secrets: common.secrets,
            only_streams: common.only_streams,
            settings,
            text: text.to_string(),
        })
    }

    /// The kind-specific settings as `T`, with errors naming the connector.
    pub fn settings<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        toml::Value::Table(self.settings.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                invalid(
                    &self.name,
                    format!("{} settings: {}", self.kind.as_str(), e.to_string().trim()),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "shop-erp"
kind = "jushuitan"
base_url = "http://127.0.0.1:9"
app_key = "k"
[secrets]
app_secret = { env = "JST_SECRET" }
"#;

    #[test]
    fn a_document_splits_into_common_and_kind_keys() {
        let d = ConnectorDoc::parse(GOOD, "t.toml").expect("parse");
        assert_eq!(d.name, "shop-erp");
        assert_eq!(d.kind, Kind::Jushuitan);
        assert_eq!(d.secrets["app_secret"].env, "JST_SECRET");
        assert!(d.settings.contains_key("base_url") && !d.settings.contains_key("name"));
    }

    #[test]
    fn plain_secrets_bad_names_and_unknown_kinds_are_refused_with_the_key() {
        let plain = GOOD.replace(
            "app_key = \"k\"",
            "app_key = \"k\"\napp_secret = \"hunter2\"",
        );
        let e = ConnectorDoc::parse(&plain, "t.toml")
            .expect_err("plain")
            .to_string();
        assert!(e.contains("`app_secret` looks like a secret"), "{e}");
        assert!(!e.contains("hunter2"), "the value is never echoed: {e}");
        let e = ConnectorDoc::parse(&GOOD.replace("shop-erp", "Shop ERP"), "t.toml")
            .expect_err("name")
            .to_string();
        assert!(e.contains("`name`"), "{e}");
        let e = ConnectorDoc::parse(&GOOD.replace("jushuitan", "ebay"), "t.toml")
            .expect_err("kind")
            .to_string();
        assert!(e.contains("ebay"), "{e}");
        let e = ConnectorDoc::parse(
            &GOOD.replace("{ env = \"JST_SECRET\" }", "\"s3cr3t\""),
            "t.toml",
        )
        .expect_err("secret value")
        .to_string();
        assert!(e.contains("secrets") && !e.contains("s3cr3t"), "{e}");
    }
}
