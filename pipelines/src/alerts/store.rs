//! Alert state beside the job history (same backend, same `$n` query rules):
//! - `zt_alert_state`: per rule and key, whether it fires, since when, the last value, the last
//!   notification and a snooze;
//! - `zt_alert_events`: every fired / resolved transition;
//! - `zt_alert_deliveries`: one row per event and channel — the delivery log, with the
//!   platform's response; unique, so an event reaches a channel at most once;
//! - `zt_alert_rules`: rules added through the API (config rules live in the file).

use serde::Serialize;
use sqlx::{AnyPool, Row as _};

use crate::jobs::{StateError, now_ms};

fn sql(op: &'static str) -> impl FnOnce(sqlx::Error) -> StateError {
    move |source| StateError::Sql { op, source }
}

/// Created with the job tables by [`crate::jobs::JobState::open`].
pub(crate) const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS zt_alert_state (
        rule TEXT NOT NULL, alert_key TEXT NOT NULL, firing BIGINT NOT NULL, since BIGINT NOT NULL,
        last_value TEXT, label TEXT, last_eval BIGINT NOT NULL, notified_at BIGINT,
        snoozed_until BIGINT, PRIMARY KEY (rule, alert_key))",
    "CREATE TABLE IF NOT EXISTS zt_alert_events (
        event_id TEXT PRIMARY KEY, rule TEXT NOT NULL, alert_key TEXT NOT NULL, event TEXT NOT NULL,
        value TEXT, threshold TEXT, label TEXT, at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS zt_alert_deliveries (
        event_id TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
        attempts BIGINT NOT NULL, last_at BIGINT NOT NULL, http_status BIGINT, code BIGINT,
        response TEXT, PRIMARY KEY (event_id, channel))",
    "CREATE TABLE IF NOT EXISTS zt_alert_rules (name TEXT PRIMARY KEY, rule TEXT NOT NULL,
        created_by TEXT NOT NULL, created_at BIGINT NOT NULL)",
];

/// A key's stored state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyState {
    pub rule: String,
    pub key: String,
    pub firing: bool,
    pub since: i64,
    pub last_value: Option<String>,
    pub label: Option<String>,
    pub notified_at: Option<i64>,
    pub snoozed_until: Option<i64>,
}

/// A delivery log row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRow {
    pub event_id: String,
    pub channel: String,
    pub kind: String,
    /// sent | pending | failed
    pub status: String,
    pub attempts: i64,
    pub last_at: i64,
    pub http_status: Option<i64>,
    pub code: Option<i64>,
    pub response: Option<String>,
}

/// An event waiting to be delivered to a channel.
#[derive(Debug, Clone)]
pub struct Undelivered {
    pub event_id: String,
    pub channel: String,
    pub rule: String,
    pub key: String,
    pub event: String,
    pub value: Option<String>,
    pub threshold: Option<String>,
    pub label: Option<String>,
    pub attempts: i64,
}

/// Handle on the alert tables.
#[derive(Debug, Clone)]
pub struct AlertStore {
    pool: AnyPool,
}

impl AlertStore {
    /// The alert tables of the job backend behind `pool` (created when the backend was opened).
    pub fn of(pool: &AnyPool) -> Self {
        Self { pool: pool.clone() }
    }

    /// Every stored key state of `rule`.
    pub async fn states(&self, rule: &str) -> Result<Vec<KeyState>, StateError> {
        let rows = sqlx::query(
            "SELECT rule, alert_key, firing, since, last_value, label, notified_at, snoozed_until
             FROM zt_alert_state WHERE ($1 = '' OR rule = $1) ORDER BY rule, alert_key",
        )
        .bind(rule)
        .fetch_all(&self.pool)
        .await
        .map_err(sql("reading alert state"))?;
        Ok(rows
            .iter()
            .map(|r| KeyState {
                rule: r.get(0),
                key: r.get(1),
                firing: r.get::<i64, _>(2) != 0,
                since: r.get(3),
                last_value: r.get(4),
                label: r.get(5),
                notified_at: r.get(6),
                snoozed_until: r.get(7),
            })
            .collect())
    }

    /// Stores a key's state after an evaluation.
    pub async fn put_state(&self, s: &KeyState) -> Result<(), StateError> {
        sqlx::query(
            "INSERT INTO zt_alert_state (rule, alert_key, firing, since, last_value, label, last_eval, notified_at, snoozed_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (rule, alert_key) DO UPDATE SET firing = excluded.firing, since = excluded.since,
             last_value = excluded.last_value, label = excluded.label, last_eval = excluded.last_eval,
             notified_at = excluded.notified_at, snoozed_until = excluded.snoozed_until",
        )
        .bind(&s.rule)
        .bind(&s.key)
        .bind(i64::from(s.firing))
        .bind(s.since)
        .bind(&s.last_value)
        .bind(&s.label)
        .bind(now_ms())
        .bind(s.notified_at)
        .bind(s.snoozed_until)
        .execute(&self.pool)
        .await
        .map_err(sql("saving alert state"))?;
        Ok(())
    }

    /// Silences a rule's key (or all its keys with `key = ""`) until `until` (Unix ms).
    pub async fn snooze(&self, rule: &str, key: &str, until: i64) -> Result<u64, StateError> {
        let r = sqlx::query(
            "UPDATE zt_alert_state SET snoozed_until = $1 WHERE rule = $2 AND ($3 = '' OR alert_key = $3)",
        )
        .bind(until)
        .bind(rule)
        .bind(key)
        .execute(&self.pool)
        .await
        .map_err(sql("snoozing an alert"))?;
        Ok(r.rows_affected())
    }

    /// Records a transition and a pending delivery for each channel, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_event(
        &self,
        event_id: &str,
        rule: &str,
        key: &str,
        event: &str,
        value: Option<&str>,
        threshold: Option<&str>,
        label: Option<&str>,
        channels: &[(String, &'static str)],
    ) -> Result<(), StateError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(sql("starting an alert event"))?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO zt_alert_events (event_id, rule, alert_key, event, value, threshold, label, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(rule)
        .bind(key)
        .bind(event)
        .bind(value)
        .bind(threshold)
        .bind(label)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(sql("recording an alert event"))?;
        for (ch, kind) in channels {
            sqlx::query(
                "INSERT INTO zt_alert_deliveries (event_id, channel, kind, status, attempts, last_at)
                 VALUES ($1, $2, $3, 'pending', 0, $4) ON CONFLICT (event_id, channel) DO NOTHING",
            )
            .bind(event_id)
            .bind(ch)
            .bind(*kind)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(sql("queueing an alert delivery"))?;
        }
        tx.commit()
            .await
            .map_err(sql("committing an alert event"))?;
        Ok(())
    }

    /// Deliveries still pending, oldest first.
    pub async fn undelivered(&self) -> Result<Vec<Undelivered>, StateError> {
        let rows = sqlx::query(
            "SELECT d.event_id, d.channel, e.rule, e.alert_key, e.event, e.value, e.threshold, e.label, d.attempts
             FROM zt_alert_deliveries d JOIN zt_alert_events e ON e.event_id = d.event_id
             WHERE d.status = 'pending' ORDER BY e.at, d.event_id, d.channel",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql("reading pending deliveries"))?;
        Ok(rows
            .iter()
            .map(|r| Undelivered {
                event_id: r.get(0),
                channel: r.get(1),
                rule: r.get(2),
                key: r.get(3),
                event: r.get(4),
                value: r.get(5),
                threshold: r.get(6),
                label: r.get(7),
                attempts: r.get(8),
            })
            .collect())
    }

    /// Messages a channel was sent (or tried) in the last `window_ms`.
    pub async fn recent_sends(&self, channel: &str, window_ms: i64) -> Result<i64, StateError> {
        let r = sqlx::query(
            "SELECT COUNT(*) FROM zt_alert_deliveries WHERE channel = $1 AND attempts > 0 AND last_at > $2",
        )
        .bind(channel)
        .bind(now_ms() - window_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(sql("counting recent deliveries"))?;
        Ok(r.get(0))
    }

    /// Records one delivery attempt.
    #[allow(clippy::too_many_arguments)]
    pub async fn delivered(
        &self,
        event_id: &str,
        channel: &str,
        status: &str,
        http_status: Option<i64>,
        code: Option<i64>,
        response: &str,
    ) -> Result<(), StateError> {
        sqlx::query(
            "UPDATE zt_alert_deliveries SET status = $1, attempts = attempts + 1, last_at = $2,
             http_status = $3, code = $4, response = $5 WHERE event_id = $6 AND channel = $7",
        )
        .bind(status)
        .bind(now_ms())
        .bind(http_status)
        .bind(code)
        .bind(response)
        .bind(event_id)
        .bind(channel)
        .execute(&self.pool)
        .await
        .map_err(sql("logging a delivery"))?;
        Ok(())
    }

    /// The delivery log, newest first.
    pub async fn deliveries(&self, limit: i64) -> Result<Vec<DeliveryRow>, StateError> {
        let rows = sqlx::query(
            "SELECT event_id, channel, kind, status, attempts, last_at, http_status, code, response
             FROM zt_alert_deliveries ORDER BY last_at DESC, event_id, channel LIMIT $1",
        )
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(sql("reading the delivery log"))?;
        Ok(rows
            .iter()
            .map(|r| DeliveryRow {
                event_id: r.get(0),
                channel: r.get(1),
                kind: r.get(2),
                status: r.get(3),
                attempts: r.get(4),
                last_at: r.get(5),
                http_status: r.get(6),
                code: r.get(7),
                response: r.get(8),
            })
            .collect())
    }

    /// Rules stored through the API: `(rule as JSON, the principal who stored it)`.
    pub async fn stored_rules(&self) -> Result<Vec<(String, String)>, StateError> {
        let rows = sqlx::query("SELECT rule, created_by FROM zt_alert_rules ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(sql("reading stored alert rules"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Adds or replaces a stored rule.
    pub async fn put_rule(&self, name: &str, json: &str, by: &str) -> Result<(), StateError> {
        sqlx::query(
            "INSERT INTO zt_alert_rules (name, rule, created_by, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET rule = excluded.rule, created_by = excluded.created_by, created_at = excluded.created_at",
        )
        .bind(name)
        .bind(json)
        .bind(by)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(sql("saving an alert rule"))?;
        Ok(())
    }

    /// Deletes a stored rule; `false` when there was none.
    pub async fn delete_rule(&self, name: &str) -> Result<bool, StateError> {
        let r = sqlx::query("DELETE FROM zt_alert_rules WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(sql("deleting an alert rule"))?;
        Ok(r.rows_affected() == 1)
    }
}
