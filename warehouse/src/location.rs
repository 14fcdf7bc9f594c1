//! Where the lake lives: a local folder (the default) or an S3 prefix.
//!
//! Every canonical table is a Delta table at `{root}/{table}`. Storage options (the usual
//! `AWS_*` keys) are passed to delta-rs and object_store; their values never appear in
//! `Debug` output because they may hold secrets.

use std::collections::HashMap;
use std::fmt;

use url::Url;

use crate::error::{Result, WarehouseError};

/// Configuration of the lake location.
#[derive(Clone, Default)]
pub struct LakeConfig {
    /// A local path, a `file://` URL, or `s3://bucket/prefix`.
    pub url: String,
    /// Storage options for object stores, e.g. `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`.
    pub storage_options: HashMap<String, String>,
}

impl fmt::Debug for LakeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&String> = self.storage_options.keys().collect();
        f.debug_struct("LakeConfig")
            .field("url", &self.url)
            .field(
                "storage_options",
                &format_args!("{keys:?} (values redacted)"),
            )
            .finish()
    }
}

/// A resolved lake root.
#[derive(Clone)]
pub struct LakeLocation {
    root: Url,
    pub(crate) storage_options: HashMap<String, String>,
}

impl fmt::Debug for LakeLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LakeLocation")
            .field("root", &self.root.as_str())
            .finish_non_exhaustive()
    }
}

impl LakeLocation {
    /// Resolves a config: local paths are made absolute and created; `s3://` registers the
    /// S3 handlers of delta-rs.
    pub fn resolve(cfg: &LakeConfig) -> Result<Self> {
        let bad = |reason: String| WarehouseError::Location {
            url: cfg.url.clone(),
            reason,
        };
        let root = if cfg.url.contains("://") {
            let url = Url::parse(&cfg.url).map_err(|e| bad(e.to_string()))?;
            match url.scheme() {
                "s3" | "s3a" => deltalake::aws::register_handlers(None),
                "file" | "memory" => {}
                other => {
                    return Err(bad(format!(
                        "unsupported scheme `{other}` (use a path or s3://)"
                    )));
                }
            }
            url
        } else {
            let path = std::path::absolute(&cfg.url).map_err(|e| bad(e.to_string()))?;
            std::fs::create_dir_all(&path).map_err(|source| WarehouseError::Io {
                op: "creating the lake folder",
                source,
            })?;
            Url::from_directory_path(&path).map_err(|_| bad("not an absolute path".into()))?
        };
        let mut root = root;
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        Ok(Self {
            root,
            storage_options: cfg.storage_options.clone(),
        })
    }

    /// The lake root URL, ending in `/`.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The URL of one table.
    pub fn table_url(&self, table: &str) -> Url {
        // `table` comes from the catalog (lower-case identifiers), so joining is safe.
        self.root
            .join(&format!("{table}/"))
            .unwrap_or_else(|_| self.root.clone())
    }

    /// Whether the lake is on the local file system.
    pub fn is_local(&self) -> bool {
        self.root.scheme() == "file"
    }
}
