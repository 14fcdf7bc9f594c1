//! API tokens, users and login sessions. Only hashes are stored: SHA-256 for tokens and
//! session ids (random, high entropy), argon2id for passwords.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;
use sqlx::Row as _;

use super::{Store, StoreError, hash_secret, new_secret, now_text, sql};
use crate::auth::roles::Role;

/// Who is calling, with what role and which shops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Principal {
    /// `token:<id>` or `user:<name>`: what the audit log records.
    pub id: String,
    pub role: Role,
    /// `None`: every shop. `Some`: only these shops.
    pub shops: Option<Vec<String>>,
}

impl Principal {
    /// Whether a principal limited to `shops` (`None`: every shop) stays within this one's
    /// reach: an unscoped principal covers any; a scoped one only a scoped list of its own
    /// shops, never "every shop".
    pub fn covers(&self, shops: &Option<Vec<String>>) -> bool {
        match (&self.shops, shops) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(list)) => list.iter().all(|s| self.sees_shop(s)),
        }
    }

    /// Whether rows of `shop` are visible and writable.
    pub fn sees_shop(&self, shop: &str) -> bool {
        self.shops
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == shop))
    }
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub shops: Option<Vec<String>>,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// Session lifetime.
pub const SESSION_SECS: i64 = 12 * 3600;

fn shops_text(shops: &Option<Vec<String>>) -> Option<String> {
    shops.as_ref().map(|s| s.join(","))
}

fn shops_parse(s: Option<String>) -> Option<Vec<String>> {
    s.map(|t| {
        t.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
}

/// Runs argon2 work off the async runtime, at most two at once: a burst of logins queues here
/// instead of stalling every other request or taking every core.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let _slot = SLOTS
        .acquire()
        .await
        .map_err(|e| StoreError::Invalid(format!("password hashing is unavailable: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Invalid(format!("password hashing failed: {e}")))
}

impl Store {
    /// Creates a token; returns its id and the secret, shown once.
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        shops: &Option<Vec<String>>,
        created_by: &str,
    ) -> Result<(String, String), StoreError> {
        let secret = new_secret("zt_");
        let id = format!("tok_{}", &hash_secret(&secret)[..12]);
        sqlx::query("INSERT INTO tokens (id, name, hash, role, shops, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(&id)
            .bind(name)
            .bind(hash_secret(&secret))
            .bind(role.as_str())
            .bind(shops_text(shops))
            .bind(created_by)
            .bind(now_text())
            .execute(&self.pool)
            .await
            .map_err(sql("creating a token"))?;
        Ok((id, secret))
    }

    /// The principal of a bearer token, if it is known and not revoked.
    pub async fn token_principal(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        let row =
            sqlx::query("SELECT id, role, shops FROM tokens WHERE hash = ? AND revoked_at IS NULL")
                .bind(hash_secret(secret))
                .fetch_optional(&self.pool)
                .await
                .map_err(sql("checking a token"))?;
        Ok(row.and_then(|r| {
            let role = Role::parse(r.get::<String, _>("role").as_str())?;
            Some(Principal {
                id: format!("token:{}", r.get::<String, _>("id")),
                role,
                shops: shops_parse(r.get("shops")),
            })
        }))
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query("SELECT id, name, role, shops, created_by, created_at, revoked_at FROM tokens ORDER BY created_at")
            .fetch_all(&self.pool)
            .await
            .map_err(sql("listing tokens"))?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(TokenInfo {
                    id: r.get("id"),
                    name: r.get("name"),
                    role: Role::parse(r.get::<String, _>("role").as_str())?,
                    shops: shops_parse(r.get("shops")),
                    created_by: r.get("created_by"),
                    created_at: r.get("created_at"),
                    revoked_at: r.get("revoked_at"),
                })
            })
            .collect())
    }

    /// Revokes a token; `false` when there is no such live token.
    pub async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now_text())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(sql("revoking a token"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Creates or replaces a user with an argon2id password hash.
    pub async fn put_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
        shops: &Option<Vec<String>>,
    ) -> Result<(), StoreError> {
        if password.chars().count() < 10 {
            return Err(StoreError::Invalid(
                "password must be at least 10 characters".into(),
            ));
        }
        let password = password.to_string();
        let hash = hashing(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| StoreError::Invalid(format!("hashing the password: {e}")))?;
        sqlx::query("INSERT INTO users (username, password_hash, role, shops, created_at) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role, shops = excluded.shops, disabled = 0")
            .bind(username)
            .bind(hash)
            .bind(role.as_str())
            .bind(shops_text(shops))
            .bind(now_text())
            .execute(&self.pool)
            .await
            .map_err(sql("saving a user"))?;
        // A new password or role ends the sessions opened with the old one.
        sqlx::query("DELETE FROM sessions WHERE username = ?")
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(sql("closing a user's sessions"))?;
        Ok(())
    }

    /// The shops of user `username` (`Some(None)`: every shop); `None` when there is no such
    /// user.
    pub async fn user_shops(
        &self,
        username: &str,
    ) -> Result<Option<Option<Vec<String>>>, StoreError> {
        let row = sqlx::query("SELECT shops FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(sql("reading a user"))?;
        Ok(row.map(|r| shops_parse(r.get("shops"))))
    }

    /// Checks a password; on success opens a session and returns its secret.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT password_hash FROM users WHERE username = ? AND disabled = 0")
                .bind(username)
                .fetch_optional(&self.pool)
                .await
                .map_err(sql("reading a user"))?;
        // Same work whether or not the user exists, so timing does not reveal usernames.
        let stored: Option<String> = row.map(|r| r.get("password_hash"));
        let password = password.to_string();
        let right = hashing(move || match stored {
            Some(stored) => Argon2::default()
                .verify_password(password.as_bytes(), stored.as_str())
                .is_ok(),
            None => {
                let _ = Argon2::default().hash_password(password.as_bytes());
                false
            }
        })
        .await?;
        if !right {
            return Ok(None);
        }
        let secret = new_secret("zs_");
        let expires = chrono::Utc::now().timestamp() + SESSION_SECS;
        sqlx::query("INSERT INTO sessions (hash, username, expires_at) VALUES (?, ?, ?)")
            .bind(hash_secret(&secret))
            .bind(username)
            .bind(expires)
            .execute(&self.pool)
            .await
            .map_err(sql("opening a session"))?;
        Ok(Some(secret))
    }

    /// The principal `id` names (`token:<id>`, `user:<name>`) while it is live: a token not
    /// revoked, a user not disabled.
    pub async fn principal_by_id(&self, id: &str) -> Result<Option<Principal>, StoreError> {
        let row = if let Some(t) = id.strip_prefix("token:") {
            sqlx::query("SELECT role, shops FROM tokens WHERE id = ? AND revoked_at IS NULL")
                .bind(t)
                .fetch_optional(&self.pool)
                .await
        } else if let Some(u) = id.strip_prefix("user:") {
            sqlx::query("SELECT role, shops FROM users WHERE username = ? AND disabled = 0")
                .bind(u)
                .fetch_optional(&self.pool)
                .await
        } else {
            return Ok(None);
        }
        .map_err(sql("reading a principal"))?;
        Ok(row.and_then(|r| {
            let role = Role::parse(r.get::<String, _>("role").as_str())?;
            Some(Principal {
                id: id.to_string(),
                role,
                shops: shops_parse(r.get("shops")),
            })
        }))
    }

    /// The principal of a live session.
    pub async fn session_principal(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        let row = sqlx::query(
            "SELECT u.username, u.role, u.shops FROM sessions s JOIN users u ON u.username = s.username
             WHERE s.hash = ? AND s.expires_at > ? AND u.disabled = 0",
        )
        .bind(hash_secret(secret))
        .bind(chrono::Utc::now().timestamp())
        .fetch_optional(&self.pool)
        .await
        .map_err(sql("checking a session"))?;
        Ok(row.and_then(|r| {
            Some(Principal {
                id: format!("user:{}", r.get::<String, _>("username")),
                role: Role::parse(r.get::<String, _>("role").as_str())?,
                shops: shops_parse(r.get("shops")),
            })
        }))
    }

    /// Ends a session.
    pub async fn logout(&self, secret: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE hash = ?")
            .bind(hash_secret(secret))
            .execute(&self.pool)
            .await
            .map_err(sql("closing a session"))?;
        Ok(())
    }
}
