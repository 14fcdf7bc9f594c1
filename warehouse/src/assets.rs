//! Binary assets next to the tables (brand logos): stored in the lake's object store under
//! `_assets/`, a folder no table reads and `VACUUM` never touches.

use object_store::ObjectStoreExt as _;
use object_store::path::Path as StorePath;

use crate::error::{Result, WarehouseError};
use crate::lake::Warehouse;

fn bad(reason: String) -> WarehouseError {
    WarehouseError::Location {
        url: "_assets".into(),
        reason,
    }
}

impl Warehouse {
    fn asset_store(&self, rel: &str) -> Result<(Box<dyn object_store::ObjectStore>, StorePath)> {
        if rel
            .split('/')
            .any(|p| p.is_empty() || p == ".." || p == ".")
        {
            return Err(bad(format!(
                "asset path {rel:?} is not a plain relative path"
            )));
        }
        let loc = self.location();
        let url = loc
            .root()
            .join(&format!("_assets/{rel}"))
            .map_err(|e| bad(e.to_string()))?;
        if let Ok(p) = url.to_file_path()
            && let Some(dir) = p.parent()
        {
            std::fs::create_dir_all(dir).map_err(|source| WarehouseError::Io {
                op: "creating the assets folder",
                source,
            })?;
        }
        let (store, path) = object_store::parse_url_opts(&url, loc.storage_options.iter())
            .map_err(|e| bad(e.to_string()))?;
        Ok((store, path))
    }

    /// Stores bytes at `_assets/<rel>`.
    pub async fn put_asset(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        let (store, path) = self.asset_store(rel)?;
        store
            .put(&path, bytes.into())
            .await
            .map_err(|e| bad(format!("writing {rel}: {e}")))?;
        Ok(())
    }

    /// Reads `_assets/<rel>`.
    pub async fn get_asset(&self, rel: &str) -> Result<Vec<u8>> {
        let (store, path) = self.asset_store(rel)?;
        let r = store
            .get(&path)
            .await
            .map_err(|e| bad(format!("reading {rel}: {e}")))?;
        let b = r
            .bytes()
            .await
            .map_err(|e| bad(format!("reading {rel}: {e}")))?;
        Ok(b.to_vec())
    }
}
