//! Jobs the API can trigger and watch: reconciliation runs, mart refreshes, lake flushes and
//! connector syncs, each run as a task with its status kept for the server's lifetime.
//!
//! This is the API's view of jobs; scheduling, retries and a durable queue (apalis) belong
//! to the pipelines issue, which will put its queue behind the same endpoints.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

/// Kinds of job.
pub const KINDS: &[&str] = &["reconcile", "marts", "flush", "sync"];

/// A job's state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobInfo {
    pub id: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub args: Value,
    pub status: String,
    pub requested_by: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    #[schema(value_type = Object)]
    pub result: Option<Value>,
    pub error: Option<String>,
}

/// The job table.
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    inner: Arc<Mutex<BTreeMap<String, JobInfo>>>,
}

impl Jobs {
    /// Registers a running job.
    pub fn start(&self, kind: &str, args: Value, by: &str) -> JobInfo {
        let id = format!(
            "job-{}",
            crate::forms::build::new_id("J").trim_start_matches("J-")
        );
        let info = JobInfo {
            id: id.clone(),
            kind: kind.into(),
            args,
            status: "running".into(),
            requested_by: by.into(),
            started_at: crate::store::now_text(),
            finished_at: None,
            result: None,
            error: None,
        };
        self.lock().insert(id, info.clone());
        info
    }

    /// Records how a job ended.
    pub fn finish(&self, id: &str, r: Result<Value, String>) {
        if let Some(j) = self.lock().get_mut(id) {
            j.finished_at = Some(crate::store::now_text());
            match r {
                Ok(v) => {
                    j.status = "succeeded".into();
                    j.result = Some(v);
                }
                Err(e) => {
                    j.status = "failed".into();
                    j.error = Some(e);
                }
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<JobInfo> {
        self.lock().get(id).cloned()
    }

    pub fn list(&self) -> Vec<JobInfo> {
        self.lock().values().rev().take(200).cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, JobInfo>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
