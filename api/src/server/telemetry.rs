//! Request counters and latency histograms, served as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;

/// Histogram bucket bounds, seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Counters per (method, route, status).
#[derive(Debug, Default)]
pub struct Telemetry {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Telemetry {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut m = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let s = m
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let m = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::from(
            "# HELP zhongtai_http_requests_total HTTP requests by method, route and status.\n# TYPE zhongtai_http_requests_total counter\n",
        );
        for ((me, r, st), s) in m.iter() {
            out.push_str(&format!(
                "zhongtai_http_requests_total{{method=\"{me}\",route=\"{r}\",status=\"{st}\"}} {}\n",
                s.count
            ));
        }
        out.push_str("# HELP zhongtai_http_request_seconds Request latency.\n# TYPE zhongtai_http_request_seconds histogram\n");
        for ((me, r, st), s) in m.iter() {
            let l = format!("method=\"{me}\",route=\"{r}\",status=\"{st}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "zhongtai_http_request_seconds_bucket{{{l},le=\"{b}\"}} {}\n",
                    s.buckets[i]
                ));
            }
            out.push_str(&format!(
                "zhongtai_http_request_seconds_bucket{{{l},le=\"+Inf\"}} {}\nzhongtai_http_request_seconds_sum{{{l}}} {}\nzhongtai_http_request_seconds_count{{{l}}} {}\n",
                s.count, s.sum, s.count
            ));
        }
        for (name, help, v) in extra {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
            ));
        }
        out
    }
}

/// Middleware recording every request.
pub async fn record(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    st.telemetry.observe(
        &method,
        &route,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}
