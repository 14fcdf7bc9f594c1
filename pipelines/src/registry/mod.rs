//! The connector registry: documents integrators write, where they are kept, and how a
//! document becomes [`Stream`]s with their secrets resolved.
//!
//! - `doc.rs`: parsing and checking a connector document (common keys vs kind keys, secret
//!   references, no plain secrets).
//! - `policy.rs`: the allowlist of environment variables a document may read secrets from.
//! - `store.rs`: the registry folder, per-connector sync locks.
//! - `tokens.rs`: the token store for credentials the platform rotates.

mod doc;
mod policy;
mod store;
mod tokens;

use std::sync::Arc;

use connectors::stream::{Secrets, Stream, TokenSink};

pub use doc::{ConnectorDoc, Kind, SecretRef};
pub use policy::{DEFAULT_SECRET_ENV, SecretPolicy};
pub use store::{Registry, SyncLock};
pub use tokens::TokenStore;

use crate::error::{PipelineError, Result};

fn http_settings(doc: &ConnectorDoc) -> Result<connectors::manifest::HttpSettings> {
    let mut s: connectors::manifest::HttpSettings = doc.settings()?;
    s.default_source(&doc.name);
    s.validate().map_err(|e| PipelineError::Connector {
        name: doc.name.clone(),
        message: e.to_string(),
    })?;
    Ok(s)
}

/// Every stream the connector offers (before `only_streams`).
pub fn offered_streams(doc: &ConnectorDoc) -> Result<Vec<String>> {
    let names = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
    Ok(match doc.kind {
        Kind::Jushuitan => {
            doc.settings::<connectors::jushuitan::JstSettings>()?;
            names(connectors::jushuitan::STREAMS)
        }
        Kind::Http => http_settings(doc)?.stream_names(),
        Kind::Taobao => {
            doc.settings::<connectors::top::TopSettings>()?;
            names(connectors::top::STREAMS)
        }
    })
}

/// The streams a sync of this connector reads by default.
pub fn enabled_streams(doc: &ConnectorDoc) -> Result<Vec<String>> {
    if doc.only_streams.is_empty() {
        offered_streams(doc)
    } else {
        Ok(doc.only_streams.clone())
    }
}

/// Checks a document's kind settings and stream names without contacting anything.
pub fn validate(doc: &ConnectorDoc) -> Result<()> {
    let streams = offered_streams(doc)?;
    if let Some(bad) = doc.only_streams.iter().find(|s| !streams.contains(s)) {
        return Err(PipelineError::Connector {
            name: doc.name.clone(),
            message: format!(
                "has no stream `{bad}` (kind {} offers: {})",
                doc.kind.as_str(),
                streams.join(", ")
            ),
        });
    }
    Ok(())
}

/// Resolves the document's secrets: `env` looks a variable up; values in the token store
/// (rotated tokens) win over the environment.
pub fn resolve_secrets(
    doc: &ConnectorDoc,
    env: &dyn Fn(&str) -> Option<String>,
    store: &TokenStore,
) -> Result<Secrets> {
    let mut secrets = Secrets::default();
    let stored = store.values();
    for (name, r) in &doc.secrets {
        match stored.get(name).cloned().or_else(|| env(&r.env)) {
            Some(v) if !v.is_empty() => secrets.insert(name.clone(), v),
            _ => {
                return Err(PipelineError::Connector {
                    name: doc.name.clone(),
                    message: format!(
                        "secret `{name}`: the environment variable {} is not set",
                        r.env
                    ),
                });
            }
        }
    }
    for (name, v) in stored {
        secrets.insert(name, v);
    }
    Ok(secrets)
}

/// Builds the connector's streams (`only` narrows to some; else the document's
/// `only_streams`; else all), with rotated tokens going to `store`.
pub fn build(
    doc: &ConnectorDoc,
    env: &dyn Fn(&str) -> Option<String>,
    store: Arc<TokenStore>,
    only: &[String],
) -> Result<Vec<Arc<dyn Stream>>> {
    validate(doc)?;
    let secrets = resolve_secrets(doc, env, &store)?;
    let names: &[String] = if only.is_empty() {
        &doc.only_streams
    } else {
        only
    };
    let sink: Arc<dyn TokenSink> = store;
    let streams = match doc.kind {
        Kind::Jushuitan => {
            let s: connectors::jushuitan::JstSettings = doc.settings()?;
            connectors::jushuitan::build_streams(&s, &secrets, sink, names)?
        }
        Kind::Http => {
            let s = http_settings(doc)?;
            connectors::manifest::build_streams(&s, &secrets, sink, names)?
        }
        Kind::Taobao => {
            let s: connectors::top::TopSettings = doc.settings()?;
            connectors::top::build_streams(&s, &secrets, sink, names)?
        }
    };
    Ok(streams)
}
