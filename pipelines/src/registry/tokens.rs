//! The token store: credentials a platform rotates (refreshed access and refresh tokens),
//! kept per connector in `DATA_DIR/tokens/NAME.json` (mode 0600, replaced atomically), so the
//! next run starts with the newest ones. Values here override the document's env references.
//! It also keeps what processes of one machine share: the refresh lock of each connector
//! (`NAME.refresh.lock`, so two processes never spend one refresh token) and the call budget
//! of each platform app (`DATA_DIR/budgets/`, see `connectors::pace`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use connectors::pace::{Budget, FileBudget, Limits};
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

impl TokenStore {
    /// The values as stored now (another process may have written since this one opened).
    fn reread(&self) -> Option<BTreeMap<String, String>> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// `DATA_DIR/budgets`: the stores of every connector share it.
    fn budget_dir(&self) -> PathBuf {
        let tokens = self.path.parent().unwrap_or(Path::new("."));
        tokens.parent().unwrap_or(tokens).join("budgets")
    }
}

impl TokenSink for TokenStore {
    fn save(&self, name: &str, value: &str) {
        let mut values = self.lock();
        // Start from the file, not from memory: another process may have stored newer ones.
        if let Some(on_disk) = self.reread() {
            *values = on_disk;
        }
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

    fn load(&self, name: &str) -> Option<String> {
        let on_disk = self.reread()?;
        let value = on_disk.get(name).cloned();
        *self.lock() = on_disk;
        value
    }

    /// `DATA_DIR/tokens/NAME.refresh.lock`, locked with the OS's file lock (released when the
    /// guard drops or the process dies).
    fn try_lock_refresh(&self) -> Option<Box<dyn Send>> {
        let path = self.path.with_extension("refresh.lock");
        let open = || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        };
        let file = match open() {
            Ok(f) => f,
            Err(e) => {
                // Without the file this process refreshes alone, as before.
                tracing::warn!(lock = %path.display(), "cannot open the refresh lock: {e}");
                return Some(Box::new(()));
            }
        };
        match file.try_lock() {
            Ok(()) => Some(Box::new(file)),
            Err(std::fs::TryLockError::WouldBlock) => None,
            Err(std::fs::TryLockError::Error(e)) => {
                tracing::warn!(lock = %path.display(), "cannot take the refresh lock: {e}");
                Some(Box::new(()))
            }
        }
    }

    fn budget(&self, app: &str, limits: Limits) -> Arc<dyn Budget> {
        Arc::new(FileBudget::in_dir(&self.budget_dir(), app, limits))
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

    #[tokio::test]
    async fn two_processes_refresh_an_expired_token_once() {
        use connectors::jushuitan::sim::{Fault, RunningSim, SimConfig, SimState, SimWorld};
        use connectors::jushuitan::{ClientConfig, Credentials, JstClient};
        let state = SimState::new(
            SimConfig::default().unlimited(),
            SimWorld::new([serde_json::json!({"o_id": 1, "modified": "2026-11-10 10:00:00"})]),
            "tok0",
            "ref0",
        );
        let sim = RunningSim::start(state, 0).await.expect("sim");
        let dir = tempfile::tempdir().expect("tmp");
        // Two processes: each opened the store before either refreshed.
        let client = |store: TokenStore| {
            let mut cfg = ClientConfig::new(sim.base_url());
            cfg.backoff = std::time::Duration::from_millis(20);
            let creds = Credentials {
                app_key: sim.state.config.app_key.clone(),
                app_secret: sim.state.config.app_secret.clone(),
                access_token: "tok0".into(),
            };
            Arc::new(
                JstClient::new(cfg, creds, Some("ref0".into())).with_token_sink(Arc::new(store)),
            )
        };
        let a = client(TokenStore::open(dir.path(), "erp"));
        let b = client(TokenStore::open(dir.path(), "erp"));
        sim.state.inject([Fault::ExpireTokens]);
        let call = |c: Arc<JstClient>| {
            tokio::spawn(async move {
                c.orders_page("2026-11-10 00:00:00", "2026-11-10 23:59:59", 1, 10)
                    .await
                    .map(|p| p.rows.len())
            })
        };
        let (ra, rb) = (call(Arc::clone(&a)), call(Arc::clone(&b)));
        assert_eq!(ra.await.expect("a").expect("a's call"), 1);
        assert_eq!(rb.await.expect("b").expect("b's call"), 1);
        let refreshes = sim
            .state
            .stats
            .token_refreshes
            .load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            refreshes, 1,
            "the second process took the first one's new token"
        );
        assert_eq!(a.access_token().await, b.access_token().await);
        let stored = TokenStore::open(dir.path(), "erp").values();
        assert_eq!(stored.get("access_token"), Some(&a.access_token().await));
    }
}
