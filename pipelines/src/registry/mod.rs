//! The connector registry: documents integrators write, where they are kept, and how a
//! document becomes [`Stream`]s with their secrets resolved.
//!
//! - `doc.rs`: parsing and checking a connector document (common keys vs kind keys, secret
//!   references, no plain secrets).
//! - `store.rs`: the registry folder, per-connector sync locks.
//! - `tokens.rs`: the token store for credentials the platform rotates.

mod doc;
mod store;
mod tokens;

use std::sync::Arc;

use connectors::stream::{Secrets, Stream, TokenSink};

pub use doc::{ConnectorDoc, Kind, SecretRef};
pub use store::{Registry, SyncLock};
pub use tokens::TokenStore;

use crate::error::{PipelineError, Result};

/// The streams a kind offers.
pub fn kind_streams(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Jushuitan => connectors::jushuitan::STREAMS,
        Kind::Taobao | Kind::Http => &[],
    }
}

/// Checks a document's kind settings and stream names without contacting anything.
pub fn validate(doc: &ConnectorDoc) -> Result<()> {
    let streams: Vec<String> = match doc.kind {
        Kind::Jushuitan => {
            doc.settings::<connectors::jushuitan::JstSettings>()?;
            kind_streams(doc.kind)
                .iter()
                .map(|s| s.to_string())
                .collect()
        }
        Kind::Taobao | Kind::Http => {
            return Err(PipelineError::Connector {
                name: doc.name.clone(),
                message: format!(
                    "kind `{}` is not available in this build",
                    doc.kind.as_str()
                ),
            });
        }
    };
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
        Kind::Taobao | Kind::Http => Vec::new(),
    };
    Ok(streams)
}
