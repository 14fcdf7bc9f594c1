//! The API server's own state, in one SQLite file (`DATA_DIR/api.db`, WAL, fsync on commit):
//! API tokens (hashes only), users (argon2 hashes), sessions, the journal of entry-form
//! submissions, idempotency keys, and the append-only audit log.
//!
//! The lake stays the home of business data; this file holds what must be durable the moment
//! a request is acknowledged (the journal) and what must never be in the lake (credentials).
//!
//! Codemap: `schema` (tables and triggers), `principals` (tokens, users, sessions),
//! `audit` (append and read), `journal` (group-committed form writes).

pub mod audit;
pub mod journal;
pub mod principals;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Errors of the API's state store; each names what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("api state store: {op}: {source}")]
    Sql {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("api state store: {0}")]
    Invalid(String),
}

/// Stored connector secrets by `(connector, env name)`.
pub type SecretValues = std::collections::HashMap<(String, String), String>;

pub(crate) fn sql(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Sql { op, source }
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS connector_secrets (env TEXT PRIMARY KEY, value TEXT NOT NULL,
        set_by TEXT NOT NULL, set_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS connector_secret_values (connector TEXT NOT NULL, env TEXT NOT NULL,
        value TEXT NOT NULL, set_by TEXT NOT NULL, set_at TEXT NOT NULL, PRIMARY KEY (connector, env))",
    "CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
        shops TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)",
    "CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL, shops TEXT,
        created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS sessions (
        hash TEXT PRIMARY KEY, username TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, form TEXT NOT NULL, record_key TEXT NOT NULL,
        version INTEGER NOT NULL, shop_id TEXT, record TEXT NOT NULL, rows TEXT NOT NULL,
        entered_by TEXT NOT NULL, entered_at TEXT NOT NULL, UNIQUE (form, record_key, version))",
    "CREATE TABLE IF NOT EXISTS records (
        form TEXT NOT NULL, record_key TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL,
        shop_id TEXT, record TEXT NOT NULL, PRIMARY KEY (form, record_key))",
    "CREATE TABLE IF NOT EXISTS idempotency (
        principal TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL,
        response TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (principal, key))",
    "CREATE TABLE IF NOT EXISTS flush_state (id INTEGER PRIMARY KEY CHECK (id = 1), flushed_seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        resource TEXT NOT NULL, shop_id TEXT, before TEXT, after TEXT)",
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal
        BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END",
];

/// The state store: a pool for reads and small writes; the journal has its own connection.
#[derive(Debug, Clone)]
pub struct Store {
    pub pool: SqlitePool,
    options: SqliteConnectOptions,
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Invalid(format!("creating {}: {e}", dir.display())))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(sql("reading the database path"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .map_err(sql("opening the database"))?;
        for stmt in SCHEMA {
            sqlx::query(*stmt)
                .execute(&pool)
                .await
                .map_err(sql("creating the schema"))?;
        }
        // The file holds credential hashes: owner only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(Store { pool, options })
    }

    /// Connector secrets set through the API: `(connector, env name)` → value. A value is
    /// usable only by the connector it was stored for; no route ever returns one.
    pub async fn connector_secrets(&self) -> Result<SecretValues, StoreError> {
        use sqlx::Row as _;
        let rows = sqlx::query("SELECT connector, env, value FROM connector_secret_values")
            .fetch_all(&self.pool)
            .await
            .map_err(sql("reading connector secrets"))?;
        Ok(rows
            .into_iter()
            .map(|r| ((r.get("connector"), r.get("env")), r.get("value")))
            .collect())
    }

    /// Stores `value` as secret `env` of `connector`.
    pub async fn put_connector_secret(
        &self,
        connector: &str,
        env: &str,
        value: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO connector_secret_values (connector, env, value, set_by, set_at) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (connector, env) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, set_at = excluded.set_at")
            .bind(connector)
            .bind(env)
            .bind(value)
            .bind(by)
            .bind(now_text())
            .execute(&self.pool)
            .await
            .map_err(sql("storing a connector secret"))?;
        Ok(())
    }

    /// Moves secrets stored before they were bound to a connector (keyed by env name alone)
    /// to each connector in `docs` that references that name, then forgets them.
    pub async fn bind_legacy_secrets(
        &self,
        docs: &[pipelines::registry::ConnectorDoc],
    ) -> Result<usize, StoreError> {
        use sqlx::Row as _;
        let rows = sqlx::query("SELECT env, value, set_by FROM connector_secrets")
            .fetch_all(&self.pool)
            .await
            .map_err(sql("reading legacy connector secrets"))?;
        let mut moved = 0;
        for r in &rows {
            let (env, value, by): (String, String, String) =
                (r.get("env"), r.get("value"), r.get("set_by"));
            for d in docs
                .iter()
                .filter(|d| d.secrets.values().any(|s| s.env == env))
            {
                self.put_connector_secret(&d.name, &env, &value, &by)
                    .await?;
                moved += 1;
            }
        }
        sqlx::query("DELETE FROM connector_secrets")
            .execute(&self.pool)
            .await
            .map_err(sql("forgetting legacy connector secrets"))?;
        Ok(moved)
    }

    /// A dedicated connection (the journal writer's).
    pub async fn connection(&self) -> Result<sqlx::SqliteConnection, StoreError> {
        use sqlx::ConnectOptions;
        self.options
            .connect()
            .await
            .map_err(sql("opening the journal connection"))
    }
}

/// SHA-256 of a secret as hex: how tokens and session ids are stored.
pub fn hash_secret(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random secret: `prefix` + 40 characters of base62.
pub fn new_secret(prefix: &str) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let body: String = (0..40)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{body}")
}

/// Now, as stored: RFC 3339 UTC with microseconds.
pub fn now_text() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}
