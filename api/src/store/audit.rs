//! The audit log: who did what, when, to which resource, with the state before and after.
//! Append-only: SQLite triggers refuse UPDATE and DELETE on the table.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row as _;

use super::{Store, StoreError, now_text, sql};

/// One audit entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub shop_id: Option<String>,
    #[schema(value_type = Object)]
    pub before: Option<Value>,
    #[schema(value_type = Object)]
    pub after: Option<Value>,
}

impl Store {
    /// Appends an entry for a write that is not a form submission (forms are audited inside
    /// the journal's transaction).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        resource: &str,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit (at, actor, action, resource, before, after) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(now_text())
            .bind(actor)
            .bind(action)
            .bind(resource)
            .bind(before.map(Value::to_string))
            .bind(after.map(Value::to_string))
            .execute(&self.pool)
            .await
            .map_err(sql("appending to the audit log"))?;
        Ok(())
    }

    /// Entries after `after_seq`, oldest first, optionally of one resource prefix. `scope`
    /// limits them to entries of those shops and the entries `scope.1` (an actor) made itself.
    pub async fn audit_entries(
        &self,
        after_seq: i64,
        resource_prefix: Option<&str>,
        limit: i64,
        scope: Option<(&[String], &str)>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let prefix = format!("{}%", resource_prefix.unwrap_or(""));
        let (shops, actor) = match scope {
            Some((shops, actor)) => (Some(Value::from(shops.to_vec()).to_string()), actor),
            None => (None, ""),
        };
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, resource, shop_id, before, after FROM audit
             WHERE seq > ? AND resource LIKE ?
               AND (? IS NULL OR actor = ? OR shop_id IN (SELECT value FROM json_each(?)))
             ORDER BY seq LIMIT ?",
        )
        .bind(after_seq)
        .bind(prefix)
        .bind(shops.clone())
        .bind(actor)
        .bind(shops.unwrap_or_else(|| "[]".into()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(sql("reading the audit log"))?;
        let json = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.get("seq"),
                at: r.get("at"),
                actor: r.get("actor"),
                action: r.get("action"),
                resource: r.get("resource"),
                shop_id: r.get("shop_id"),
                before: json(r.get("before")),
                after: json(r.get("after")),
            })
            .collect())
    }
}
