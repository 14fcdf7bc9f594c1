//! The token store: credentials a platform rotates (refreshed access and refresh tokens),
//! kept per connector in `DATA_DIR/tokens/NAME.json` (mode 0600, replaced atomically), so the
//! next run starts with the newest ones. Values here override the document's env references.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use connectors::stream::TokenSink;

/// One connector's stored tokens.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    values: Mutex<BTreeMap<String, String>>,
}

impl TokenStore {
    /// Opens (or starts) the store of connector `name` under `dir`.
    pub fn open(dir: &Path, name: &str) -> Self {
        let path = dir.join(format!("{name}.json"));
        let values = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            path,
            values: Mutex::new(values),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The stored values.
    pub fn values(&self) -> BTreeMap<String, String> {
        self.lock().clone()
    }

    fn persist(&self, values: &BTreeMap<String, String>) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(values).map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)
    }
}

impl TokenSink for TokenStore {
    fn save(&self, name: &str, value: &str) {
        let mut values = self.lock();
        values.insert(name.to_string(), value.to_string());
        if let Err(e) = self.persist(&values) {
            // The sync goes on with the token in memory; the next run may need a new one.
            tracing::error!(
                store = %self.path.display(),
                token = name,
                "could not store a rotated token: {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_tokens_survive_a_restart_and_the_file_is_private() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = TokenStore::open(dir.path(), "erp");
        s.save("refresh_token", "r2");
        s.save("access_token", "a2");
        let again = TokenStore::open(dir.path(), "erp");
        assert_eq!(
            again.values().get("refresh_token").map(String::as_str),
            Some("r2")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("erp.json"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "no access for group or others");
        }
    }
}
