//! What a job does, as it travels through the queue: its kind and arguments ([`JobSpec`]),
//! and the envelope with the run id, trigger and attempt ([`JobArgs`]).

use serde::{Deserialize, Serialize};

/// A unit of work the runtime knows how to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobSpec {
    /// Incremental sync of one registered connector; a marts run (and alerts) follow it.
    Sync {
        connector: String,
        /// How far back a first sync starts when the connector has no `start_date` (days).
        #[serde(default)]
        days: Option<i64>,
    },
    /// Refresh every mart.
    Marts {},
    /// A reconciliation run (all checks when `checks` is empty).
    Reconcile {
        #[serde(default)]
        checks: Vec<String>,
        /// `YYYY-MM` or `YYYY-MM-DD..YYYY-MM-DD`; all time when absent.
        #[serde(default)]
        period: Option<String>,
    },
    /// Evaluate alert rules (all when `rules` is empty) and send notifications.
    Alerts {
        #[serde(default)]
        rules: Vec<String>,
    },
}

impl JobSpec {
    /// `sync`, `marts`, `reconcile` or `alerts`.
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Sync { .. } => "sync",
            JobSpec::Marts {} => "marts",
            JobSpec::Reconcile { .. } => "reconcile",
            JobSpec::Alerts { .. } => "alerts",
        }
    }

    /// What must not run twice at once: one connector's sync, the marts, reconciliation,
    /// alert evaluation.
    pub fn target(&self) -> String {
        match self {
            JobSpec::Sync { connector, .. } => format!("sync:{connector}"),
            other => other.kind().to_string(),
        }
    }

    /// Checks the arguments without touching anything.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            JobSpec::Sync { connector, days } => {
                if connector.is_empty()
                    || !connector
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(format!(
                        "connector {connector:?}: use letters, digits, '-' and '_'"
                    ));
                }
                if let Some(d) = days
                    && !(1..=3650).contains(d)
                {
                    return Err(format!("days {d}: between 1 and 3650"));
                }
                Ok(())
            }
            JobSpec::Reconcile { period, .. } => {
                if let Some(p) = period {
                    crate::recon::Period::parse(p).map_err(|e| format!("period: {e}"))?;
                }
                Ok(())
            }
            JobSpec::Marts {} | JobSpec::Alerts { .. } => Ok(()),
        }
    }
}

/// Why a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `zhongtai jobs run`, the API, or the UI.
    Manual,
    /// A cron schedule.
    Schedule,
    /// Marts and alert evaluation after a successful sync.
    AfterSync,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
            Trigger::AfterSync => "after_sync",
        }
    }
}

/// What the queue carries for one attempt of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobArgs {
    /// The run this attempt belongs to (stable across retries and re-deliveries).
    pub run_id: String,
    pub spec: JobSpec,
    pub trigger: Trigger,
    pub requested_by: String,
    /// 1 for the first attempt; a retry after a failure is pushed with the next number.
    pub attempt: u32,
}

/// A new run id: `run-YYYYMMDDhhmmss-xxxxxxxx` (sortable, unique).
pub fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!(
        "run-{}-{:08x}",
        now.format("%Y%m%d%H%M%S"),
        rand::random::<u32>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_name_their_target_and_refuse_bad_arguments() {
        let s: JobSpec =
            serde_json::from_str(r#"{"kind":"sync","connector":"jst-main"}"#).expect("parse");
        assert_eq!(s.target(), "sync:jst-main");
        assert_eq!(s.kind(), "sync");
        assert!(s.validate().is_ok());
        let back: JobSpec =
            serde_json::from_str(&serde_json::to_string(&s).expect("ser")).expect("de");
        assert_eq!(back, s);
        assert_eq!(JobSpec::Marts {}.target(), "marts");
        for bad in [
            r#"{"kind":"sync","connector":"../etc"}"#,
            r#"{"kind":"sync","connector":"a","days":0}"#,
            r#"{"kind":"reconcile","period":"yesterday"}"#,
        ] {
            let s: JobSpec = serde_json::from_str(bad).expect("parse");
            assert!(s.validate().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<JobSpec>(r#"{"kind":"launch"}"#).is_err());
        assert!(
            serde_json::from_str::<JobSpec>(r#"{"kind":"marts","extra":1}"#).is_err(),
            "unknown fields are refused"
        );
    }
}
