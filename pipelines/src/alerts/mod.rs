//! Alert rules: evaluated on a schedule or after each sync, firing once per breach (not per
//! evaluation), resolving when the value recovers past the rule's clear level (hysteresis),
//! snoozable, and delivered to WeCom, DingTalk, Feishu, e-mail or a webhook with a
//! per-channel rate limit and a delivery log.
//!
//! - `rules`: the rule format and the built-in conditions' SQL.
//! - `store`: per-key state, events, the delivery log and API-added rules (job backend).
//! - `render`: Chinese and English message templates with the key numbers and a link.
//!
//! Delivery is at most once per event and channel (a unique row per pair); a retryable
//! failure (rate limited, 5xx, network) leaves it pending for the next evaluation, a permanent
//! one (wrong key, bad signature) marks it failed with the platform's answer.

mod render;
pub mod rules;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use serde::{Deserialize, Serialize};

use connectors::notify::{self, Target};

use crate::jobs::{JobEnv, JobError, now_ms};
pub use render::Lang;
pub use rules::{Builtin, Op, Rule, num};
use store::{AlertStore, KeyState};

/// `[alerts]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Base URL of the web UI, for links in messages (e.g. `http://127.0.0.1:8080`).
    #[serde(default)]
    pub ui_base: Option<String>,
    #[serde(default)]
    pub lang: Lang,
    /// Messages per channel per minute (the robots allow 20).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    /// Named targets; string values may be `${ENV_NAME}` so keys stay out of the file.
    #[serde(default)]
    pub channels: BTreeMap<String, Target>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

fn default_per_minute() -> u32 {
    20
}

/// Replaces `${NAME}` in a channel's strings with the environment's value.
fn expand(t: &Target, env: &dyn Fn(&str) -> Option<String>) -> Result<Target, String> {
    let v = serde_json::to_value(t).map_err(|e| e.to_string())?;
    fn walk(
        v: serde_json::Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<serde_json::Value, String> {
        Ok(match v {
            serde_json::Value::String(s) => {
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(i) = rest.find("${") {
                    out.push_str(&rest[..i]);
                    let Some(j) = rest[i..].find('}') else {
                        return Err(format!("unclosed ${{ in {s:?}"));
                    };
                    let name = &rest[i + 2..i + j];
                    out.push_str(
                        &env(name)
                            .ok_or_else(|| format!("environment variable {name} is not set"))?,
                    );
                    rest = &rest[i + j + 1..];
                }
                out.push_str(rest);
                serde_json::Value::String(out)
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(
                a.into_iter()
                    .map(|x| walk(x, env))
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.into_iter()
                    .map(|(k, x)| Ok((k, walk(x, env)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other,
        })
    }
    serde_json::from_value(walk(v, env)?).map_err(|e| e.to_string())
}

/// What one evaluation did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertReport {
    pub rules: usize,
    pub keys: usize,
    pub fired: usize,
    pub resolved: usize,
    pub reminders: usize,
    pub deliveries: usize,
    pub failed_deliveries: usize,
    /// Rules that could not be evaluated, with why (the others still ran).
    pub errors: Vec<String>,
}

/// Rules and channels ready to evaluate.
#[derive(Debug)]
pub struct AlertRuntime {
    cfg: AlertConfig,
    channels: BTreeMap<String, Target>,
    http: reqwest::Client,
}

/// One observed row of a rule's query.
struct Obs {
    value: String,
    threshold: Option<String>,
    clear: Option<String>,
    label: Option<String>,
}

impl AlertRuntime {
    /// Checks the config, expanding `${ENV}` in channels with `env`.
    pub fn new(cfg: AlertConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut channels = BTreeMap::new();
        for (name, t) in &cfg.channels {
            channels.insert(
                name.clone(),
                expand(t, env).map_err(|e| format!("alert channel {name}: {e}"))?,
            );
        }
        let names: Vec<&str> = channels.keys().map(String::as_str).collect();
        for r in &cfg.rules {
            r.validate(&names)?;
        }
        Ok(Self {
            cfg,
            channels,
            http: reqwest::Client::new(),
        })
    }

    /// Channel names, for validating API-added rules.
    pub fn channel_names(&self) -> Vec<String> {
        self.channels.keys().cloned().collect()
    }

    /// The config rules and the stored ones.
    pub async fn rules(&self, store: &AlertStore) -> Result<Vec<Rule>, JobError> {
        let mut all = self.cfg.rules.clone();
        for (text, by) in store.stored_rules().await? {
            match serde_json::from_str::<Rule>(&text) {
                Ok(mut r) if !all.iter().any(|x| x.name == r.name) => {
                    r.defined_by = Some(by);
                    all.push(r);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable stored alert rule"),
            }
        }
        Ok(all)
    }

    /// Evaluates rules (all, or those named) and delivers what is pending.
    pub async fn evaluate(&self, env: &JobEnv, only: &[String]) -> Result<AlertReport, JobError> {
        let store = AlertStore::of(env.state.pool());
        let mut rep = AlertReport::default();
        for rule in self.rules(&store).await? {
            if !only.is_empty() && !only.contains(&rule.name) {
                continue;
            }
            rep.rules += 1;
            let obs = match self.observe(env, &rule).await {
                Ok(o) => o,
                Err(e) => {
                    rep.errors.push(format!("{}: {e}", rule.name));
                    continue;
                }
            };
            rep.keys += obs.len();
            self.judge(&store, &rule, obs, &mut rep).await?;
        }
        self.deliver(&store, &mut rep).await?;
        Ok(rep)
    }

    /// Runs the rule's query: key -> observation.
    async fn observe(&self, env: &JobEnv, rule: &Rule) -> Result<HashMap<String, Obs>, String> {
        let t = rule.threshold.as_deref();
        match rule.builtin {
            Some(Builtin::FailingSync) => return job_obs(env, "sync", t).await,
            Some(Builtin::StuckJob) => return stuck_obs(env).await,
            _ => {}
        }
        let sql = match (&rule.builtin, &rule.sql) {
            (Some(b), _) => rules::builtin_sql(*b, t).unwrap_or_default(),
            (None, Some(s)) => s.clone(),
            (None, None) => return Err("no query".into()),
        };
        let batches = match &rule.defined_by {
            // A stored rule reads only what its author may read.
            Some(by) => match &env.sql_as {
                Some(run) => run(by.clone(), sql).await?,
                None => {
                    return Err(format!(
                        "stored rule by {by} cannot run: this process has no principals' sessions"
                    ));
                }
            },
            None => env
                .wh
                .query_readonly(&sql, &HashMap::new())
                .await
                .map_err(|e| e.to_string())?,
        };
        let mut out = HashMap::new();
        for b in &batches {
            let col = |name: &str| -> Result<Option<Vec<Option<String>>>, String> {
                let Some(a) = b.column_by_name(name) else {
                    return Ok(None);
                };
                let a = arrow::compute::cast(a, &DataType::Utf8).map_err(|e| e.to_string())?;
                let s = a.as_string::<i32>();
                Ok(Some(
                    (0..s.len())
                        .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
                        .collect(),
                ))
            };
            let keys = col("key")?.ok_or("the query returns no `key` column")?;
            let values = col("value")?.ok_or("the query returns no `value` column")?;
            let th = col("threshold")?;
            let cl = col("clear")?;
            let lb = col("label")?;
            for (i, k) in keys.into_iter().enumerate() {
                let (Some(k), Some(v)) = (k, values[i].clone()) else {
                    continue;
                };
                let pick = |c: &Option<Vec<Option<String>>>| c.as_ref().and_then(|c| c[i].clone());
                out.insert(
                    k,
                    Obs {
                        value: v,
                        threshold: pick(&th),
                        clear: pick(&cl),
                        label: pick(&lb),
                    },
                );
            }
        }
        Ok(out)
    }

    /// Compares observations with stored state and records transitions.
    async fn judge(
        &self,
        store: &AlertStore,
        rule: &Rule,
        obs: HashMap<String, Obs>,
        rep: &mut AlertReport,
    ) -> Result<(), JobError> {
        let op = rule.effective_op();
        let now = now_ms();
        let prev: HashMap<String, KeyState> = store
            .states(&rule.name)
            .await?
            .into_iter()
            .map(|s| (s.key.clone(), s))
            .collect();
        let channels: Vec<(String, &'static str)> = rule
            .channels
            .iter()
            .filter_map(|c| self.channels.get(c).map(|t| (c.clone(), t.kind())))
            .collect();
        for (key, o) in &obs {
            let Some(value) = num(&o.value) else { continue };
            let Some(limit_text) = o.threshold.clone().or_else(|| rule.threshold.clone()) else {
                continue;
            };
            let Some(limit) = num(&limit_text) else {
                continue;
            };
            let clear = o
                .clear
                .as_deref()
                .or(rule.clear.as_deref())
                .and_then(num)
                .unwrap_or(limit);
            let was = prev.get(key);
            let firing_before = was.is_some_and(|s| s.firing);
            let snoozed = was.and_then(|s| s.snoozed_until).is_some_and(|u| u > now);
            let mut next = KeyState {
                rule: rule.name.clone(),
                key: key.clone(),
                firing: firing_before,
                since: was.map_or(now, |s| s.since),
                last_value: Some(o.value.clone()),
                label: o.label.clone(),
                notified_at: was.and_then(|s| s.notified_at),
                snoozed_until: was.and_then(|s| s.snoozed_until),
            };
            let event = if !firing_before && op.holds(value, limit) {
                next.firing = true;
                next.since = now;
                rep.fired += 1;
                Some("fired")
            } else if firing_before && op.recovered(value, clear) {
                next.firing = false;
                next.since = now;
                rep.resolved += 1;
                Some("resolved")
            } else if firing_before
                && rule.repeat_minutes > 0
                && next
                    .notified_at
                    .is_some_and(|t| now - t >= i64::from(rule.repeat_minutes) * 60_000)
            {
                rep.reminders += 1;
                Some("reminder")
            } else {
                None
            };
            if let Some(ev) = event
                && !snoozed
            {
                let event_id = format!("{}:{}:{}:{}", rule.name, key, ev, now);
                store
                    .record_event(
                        &event_id,
                        &rule.name,
                        key,
                        ev,
                        Some(&o.value),
                        Some(&limit_text),
                        o.label.as_deref(),
                        &channels,
                    )
                    .await?;
                next.notified_at = Some(now);
            }
            store.put_state(&next).await?;
        }
        // Keys the query no longer returns are over.
        for (key, s) in prev {
            if s.firing && !obs.contains_key(&key) {
                rep.resolved += 1;
                let event_id = format!("{}:{}:resolved:{}", rule.name, key, now);
                let snoozed = s.snoozed_until.is_some_and(|u| u > now);
                if !snoozed {
                    store
                        .record_event(
                            &event_id,
                            &rule.name,
                            &key,
                            "resolved",
                            None,
                            rule.threshold.as_deref(),
                            s.label.as_deref(),
                            &channels,
                        )
                        .await?;
                }
                store
                    .put_state(&KeyState {
                        firing: false,
                        since: now,
                        ..s
                    })
                    .await?;
            }
        }
        Ok(())
    }

    /// Sends pending deliveries, keeping each channel under its per-minute budget.
    async fn deliver(&self, store: &AlertStore, rep: &mut AlertReport) -> Result<(), JobError> {
        let mut budget: HashMap<String, i64> = HashMap::new();
        for d in store.undelivered().await? {
            let Some(target) = self.channels.get(&d.channel) else {
                store
                    .delivered(
                        &d.event_id,
                        &d.channel,
                        "failed",
                        None,
                        None,
                        "channel no longer configured",
                    )
                    .await?;
                rep.failed_deliveries += 1;
                continue;
            };
            let left = match budget.get(&d.channel) {
                Some(n) => *n,
                None => {
                    let used = store.recent_sends(&d.channel, 60_000).await?;
                    i64::from(self.cfg.per_minute) - used
                }
            };
            if left <= 0 {
                // Over the channel's budget: stays pending for the next evaluation.
                continue;
            }
            budget.insert(d.channel.clone(), left - 1);
            let msg = render::message(&d, self.cfg.lang, self.cfg.ui_base.as_deref());
            let out = notify::send(&self.http, target, &msg, chrono::Utc::now())
                .await
                .map_err(|e| JobError::Failed {
                    message: e.to_string(),
                    retryable: false,
                })?;
            let status = if out.ok {
                rep.deliveries += 1;
                "sent"
            } else if out.retryable && d.attempts < 10 {
                "pending"
            } else {
                rep.failed_deliveries += 1;
                "failed"
            };
            if !out.ok {
                tracing::warn!(channel = %d.channel, response = %out.response, "alert delivery refused");
            }
            store
                .delivered(
                    &d.event_id,
                    &d.channel,
                    status,
                    out.status.map(i64::from),
                    out.code,
                    &out.response,
                )
                .await?;
        }
        Ok(())
    }
}

/// Connectors whose latest sync failed: value 1 (fires above 0).
async fn job_obs(
    env: &JobEnv,
    kind: &str,
    _t: Option<&str>,
) -> Result<HashMap<String, Obs>, String> {
    let runs = env
        .state
        .list(None, Some(kind), 500)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    for r in runs {
        if !crate::jobs::FINAL.contains(&r.status.as_str()) || r.status == "skipped" {
            continue;
        }
        // Newest first: the first final run of a target decides.
        out.entry(r.target.clone()).or_insert_with(|| Obs {
            value: if r.status == "failed" { "1" } else { "0" }.into(),
            threshold: Some("0".into()),
            clear: None,
            label: Some(format!(
                "{} ({}){}",
                r.target,
                r.run_id,
                r.error.map(|e| format!(": {e}")).unwrap_or_default()
            )),
        });
    }
    Ok(out)
}

/// Runs whose lease lapsed while marked running.
async fn stuck_obs(env: &JobEnv) -> Result<HashMap<String, Obs>, String> {
    let runs = env.state.stuck().await.map_err(|e| e.to_string())?;
    Ok(runs
        .into_iter()
        .map(|r| {
            (
                r.run_id.clone(),
                Obs {
                    value: "1".into(),
                    threshold: Some("0".into()),
                    clear: None,
                    label: Some(format!(
                        "{} on {}",
                        r.target,
                        r.worker.unwrap_or_else(|| "?".into())
                    )),
                },
            )
        })
        .collect())
}
