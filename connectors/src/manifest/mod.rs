//! Declarative `kind = "http"` connectors: a manifest describes a REST API (requester,
//! signer, paginator, record selector, incremental window, rate limit) and how its records
//! map into canonical tables, and becomes [`Stream`]s for the sync engine without code.
//!
//! - [`settings`]: the manifest model (serde, unknown keys refused);
//! - `path`, `timefmt`: dotted JSON paths and time formats;
//! - `signer`, `client`: signing, and sending with retries (paced by [`crate::pace`]);
//! - `paginate`, `mapping`, `stream`: pages, rows and the [`Stream`] itself.
//!
//! Every key is documented in `docs/manifests.md`; `examples/connectors/minishop.toml` is a
//! complete document for the MiniShop simulator ([`crate::minishop_sim`]).

mod client;
mod mapping;
mod paginate;
mod path;
pub mod settings;
mod signer;
mod stream;
mod timefmt;

use std::collections::HashSet;
use std::sync::Arc;

pub use settings::{HttpSettings, Method};
pub use signer::{hmac_sha256, sorted_query};

use crate::stream::{Secrets, Stream, StreamError, TokenSink};

impl HttpSettings {
    /// Checks what serde cannot: paths, formats, signer parts, tables and columns, unique stream
    /// names. The message names the key, e.g. `streams[0] (orders): incremental.cursor_field …`.
    pub fn validate(&self) -> Result<(), StreamError> {
        self.compile().map(|_| ())
    }

    /// Sets `source` to `http:<connector name>` unless the manifest sets it (the registry calls
    /// this with the document's `name`).
    pub fn default_source(&mut self, connector: &str) {
        if self.source.as_deref().is_none_or(str::is_empty) {
            self.source = Some(format!("http:{connector}"));
        }
    }

    /// The manifest's stream names, in order.
    pub fn stream_names(&self) -> Vec<String> {
        self.streams.iter().map(|s| s.name.clone()).collect()
    }

    fn compile(&self) -> Result<Vec<stream::Compiled>, StreamError> {
        let bad = |m: String| StreamError::Settings(m);
        let url = url::Url::parse(&self.requester.base_url).map_err(|e| {
            bad(format!(
                "requester.base_url `{}`: {e}",
                self.requester.base_url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(bad(format!(
                "requester.base_url `{}` must be an http(s) URL without a query",
                self.requester.base_url
            )));
        }
        signer::check(&self.signer).map_err(|e| bad(format!("signer: {e}")))?;
        let param_signer = matches!(
            self.signer,
            settings::Signer::JushuitanMd5 { .. }
                | settings::Signer::TopMd5 { .. }
                | settings::Signer::TopHmac { .. }
                | settings::Signer::TopHmacSha256 { .. }
        );
        if param_signer && self.requester.method == Method::PostJson {
            return Err(bad(
                "signer: the jushuitan and top signers sign parameters; use method GET or POST_FORM".into(),
            ));
        }
        for (name, p) in [
            ("response.code", &self.response.code),
            ("response.message", &self.response.message),
        ] {
            if let Some(p) = p {
                path::JsonPath::parse(p).map_err(|e| bad(format!("{name}: {e}")))?;
            }
        }
        if self.streams.is_empty() {
            return Err(bad("the manifest has no [[streams]]".into()));
        }
        let mut seen = HashSet::new();
        self.streams
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if !seen.insert(s.name.as_str()) {
                    return Err(bad(format!(
                        "streams[{i}]: the name `{}` is used twice",
                        s.name
                    )));
                }
                stream::compile(s).map_err(|e| bad(format!("streams[{i}] ({}): {e}", s.name)))
            })
            .collect()
    }
}

/// Builds the named streams (all when `names` is empty) over one shared client, so they share
/// the rate budget. Secrets named by the signer must be in `secrets`. Manifest streams keep no
/// rotating tokens, so `tokens` is unused today.
pub fn build_streams(
    settings: &HttpSettings,
    secrets: &Secrets,
    tokens: Arc<dyn TokenSink>,
    names: &[String],
) -> Result<Vec<Arc<dyn Stream>>, StreamError> {
    let _ = tokens;
    let compiled = settings.compile()?;
    let client = Arc::new(client::Client::new(settings, secrets)?);
    let source = settings
        .source
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "http".into());
    let all = settings.stream_names();
    for n in names {
        if !all.contains(n) {
            return Err(StreamError::Settings(format!(
                "the manifest has no stream `{n}` (it has: {})",
                all.join(", ")
            )));
        }
    }
    Ok(compiled
        .into_iter()
        .zip(&all)
        .filter(|(_, n)| names.is_empty() || names.contains(n))
        .map(|(c, _)| {
            Arc::new(stream::HttpStream::new(
                c,
                Arc::clone(&client),
                source.clone(),
            )) as Arc<dyn Stream>
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests;
