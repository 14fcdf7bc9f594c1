//! Registered connectors on disk: `DATA_DIR/connectors/NAME.toml` (the document as written),
//! `DATA_DIR/tokens/NAME.json` (rotated tokens) and `DATA_DIR/locks/NAME.lock` (held while a
//! sync of that connector runs, so two syncs of one connector never overlap).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::doc::ConnectorDoc;
use super::tokens::TokenStore;
use crate::error::{PipelineError, Result};

/// The connector registry of one data directory.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

/// Held while a connector syncs; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct SyncLock {
    _file: std::fs::File,
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> PipelineError {
    move |e| PipelineError::Internal(format!("{what}: {e}"))
}

impl Registry {
    /// The registry kept under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.to_path_buf(),
        }
    }

    fn docs_dir(&self) -> PathBuf {
        self.root.join("connectors")
    }

    fn doc_path(&self, name: &str) -> PathBuf {
        self.docs_dir().join(format!("{name}.toml"))
    }

    /// Stores a checked document; refuses to overwrite an existing connector unless `replace`.
    pub fn add(&self, doc: &ConnectorDoc, replace: bool) -> Result<()> {
        super::validate(doc)?;
        let path = self.doc_path(&doc.name);
        if path.exists() && !replace {
            return Err(PipelineError::Connector {
                name: doc.name.clone(),
                message: "is already registered; remove it first or add with --replace".into(),
            });
        }
        std::fs::create_dir_all(self.docs_dir())
            .map_err(io(format!("creating {}", self.docs_dir().display())))?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, &doc.text).map_err(io(format!("writing {}", tmp.display())))?;
        std::fs::rename(&tmp, &path).map_err(io(format!("writing {}", path.display())))
    }

    /// Every registered connector, by name.
    pub fn list(&self) -> Result<Vec<ConnectorDoc>> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.docs_dir()) else {
            return Ok(out);
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                let text =
                    std::fs::read_to_string(&p).map_err(io(format!("reading {}", p.display())))?;
                out.push(ConnectorDoc::parse(&text, &p.display().to_string())?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// A registered connector.
    pub fn get(&self, name: &str) -> Result<ConnectorDoc> {
        let path = self.doc_path(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => ConnectorDoc::parse(&text, &path.display().to_string()),
            Err(_) => {
                let known: Vec<String> = self.list()?.into_iter().map(|d| d.name).collect();
                Err(PipelineError::Connector {
                    name: name.into(),
                    message: if known.is_empty() {
                        "is not registered (none are; add one with `zhongtai connector add FILE`)"
                            .into()
                    } else {
                        format!("is not registered (registered: {})", known.join(", "))
                    },
                })
            }
        }
    }

    /// Forgets a connector and its stored tokens. Its rows and cursors stay in the lake.
    pub fn remove(&self, name: &str) -> Result<()> {
        self.get(name)?;
        let _lock = self.lock(name)?;
        std::fs::remove_file(self.doc_path(name))
            .map_err(io(format!("removing connector {name}")))?;
        let tokens = self.root.join("tokens").join(format!("{name}.json"));
        if tokens.exists() {
            std::fs::remove_file(&tokens).map_err(io(format!("removing {}", tokens.display())))?;
        }
        Ok(())
    }

    /// The token store of a connector.
    pub fn tokens(&self, name: &str) -> Arc<TokenStore> {
        Arc::new(TokenStore::open(&self.root.join("tokens"), name))
    }

    /// Takes the connector's sync lock, or fails at once if another process holds it.
    pub fn lock(&self, name: &str) -> Result<SyncLock> {
        let dir = self.root.join("locks");
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        let path = dir.join(format!("{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(format!("opening {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(SyncLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(PipelineError::Connector {
                name: name.into(),
                message: "is busy: another sync of this connector is running".into(),
            }),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(io(format!("locking {}", path.display()))(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name = \"erp\"\nkind = \"jushuitan\"\nbase_url = \"http://127.0.0.1:9\"\napp_key = \"k\"\n";

    #[test]
    fn add_list_get_remove_and_a_second_lock_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = Registry::new(dir.path());
        let doc = ConnectorDoc::parse(DOC, "t").expect("doc");
        r.add(&doc, false).expect("add");
        assert!(r.add(&doc, false).is_err(), "no silent overwrite");
        r.add(&doc, true).expect("replace");
        assert_eq!(r.list().expect("list").len(), 1);
        assert_eq!(r.get("erp").expect("get").name, "erp");
        let held = r.lock("erp").expect("lock");
        let e = r.lock("erp").expect_err("busy").to_string();
        assert!(e.contains("busy"), "{e}");
        drop(held);
        r.remove("erp").expect("remove");
        let e = r.get("erp").expect_err("gone").to_string();
        assert!(e.contains("not registered"), "{e}");
    }
}
