//! [`Warehouse`]: the facade every other crate uses to touch the lake.
//!
//! It owns table creation (every canonical table exists after [`Warehouse::open`]), table
//! loading (latest or any older version), and table information. Writes live in `write.rs`,
//! the DataFusion session in `session.rs`.

use deltalake::DeltaTable;
use futures::TryStreamExt;

use crate::error::{Result, WarehouseError};
use crate::location::{LakeConfig, LakeLocation};
use crate::schema::{CATALOG, TableDef, table};

/// The lake: a set of Delta tables under one root.
#[derive(Debug, Clone)]
pub struct Warehouse {
    location: LakeLocation,
}

/// Facts about one table for `zhongtai tables`.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub name: &'static str,
    pub version: u64,
    pub rows: u64,
    pub files: u64,
    pub bytes: u64,
}

impl Warehouse {
    /// Opens the lake at `cfg`, creating any canonical table that does not exist yet.
    pub async fn open(cfg: &LakeConfig) -> Result<Self> {
        let location = LakeLocation::resolve(cfg)?;
        let wh = Self { location };
        for def in CATALOG {
            wh.ensure_table(def).await?;
        }
        Ok(wh)
    }

    /// Where the lake lives.
    pub fn location(&self) -> &LakeLocation {
        &self.location
    }

    /// The canonical definition of a table, or an error naming it.
    pub fn def(&self, name: &str) -> Result<&'static TableDef> {
        table(name).ok_or_else(|| WarehouseError::UnknownTable(name.to_string()))
    }

    pub(crate) async fn handle(&self, name: &str) -> Result<DeltaTable> {
        let url = self.location.table_url(name);
        if let Ok(path) = url.to_file_path() {
            // delta-rs needs a local table folder to exist before it can look into it.
            std::fs::create_dir_all(&path).map_err(|source| WarehouseError::Io {
                op: "creating a table folder",
                source,
            })?;
        }
        DeltaTable::try_from_url_with_storage_options(url, self.location.storage_options.clone())
            .await
            .map_err(WarehouseError::delta("opening", name))
    }

    async fn ensure_table(&self, def: &TableDef) -> Result<()> {
        crate::write::create_table(self, def).await
    }

    /// The latest version of a table.
    pub async fn table(&self, name: &str) -> Result<DeltaTable> {
        self.def(name)?;
        self.handle(name).await
    }

    /// A table as it was at `version` (time travel).
    pub async fn table_at(&self, name: &str, version: u64) -> Result<DeltaTable> {
        let mut t = self.table(name).await?;
        let latest = t.version().unwrap_or(0);
        if version > latest {
            return Err(WarehouseError::NoSuchVersion {
                table: name.into(),
                version,
                latest,
            });
        }
        t.load_version(version)
            .await
            .map_err(WarehouseError::delta("time travel", name))?;
        Ok(t)
    }

    /// The current version of a table.
    pub async fn version(&self, name: &str) -> Result<u64> {
        Ok(self.table(name).await?.version().unwrap_or(0))
    }

    /// Rows, files, bytes and version of every canonical table, from the Delta log (no scan).
    pub async fn tables_info(&self) -> Result<Vec<TableInfo>> {
        let mut out = Vec::with_capacity(CATALOG.len());
        for def in CATALOG {
            let t = self.table(def.name).await?;
            let (mut rows, mut files, mut bytes) = (0u64, 0u64, 0u64);
            let views: Vec<_> = t
                .get_active_add_actions_by_partitions(&[])
                .try_collect()
                .await
                .map_err(WarehouseError::delta("listing files", def.name))?;
            for v in views {
                files += 1;
                bytes += u64::try_from(v.size()).unwrap_or(0);
                rows += v.num_records().unwrap_or(0) as u64;
            }
            out.push(TableInfo {
                name: def.name,
                version: t.version().unwrap_or(0),
                rows,
                files,
                bytes,
            });
        }
        Ok(out)
    }

    /// The last cursor value an application recorded atomically with its data in a table,
    /// via [`crate::CommitTag::app_version`].
    pub async fn app_version(&self, name: &str, app_id: &str) -> Result<Option<i64>> {
        let t = self.table(name).await?;
        let state = t
            .snapshot()
            .map_err(WarehouseError::delta("reading state", name))?;
        state
            .transaction_version(t.log_store().as_ref(), app_id)
            .await
            .map_err(WarehouseError::delta("reading app version", name))
    }
}
