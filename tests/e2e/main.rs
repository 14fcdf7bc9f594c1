//! End-to-end tests: the real `zhongtai` binary against temporary lakes.
//!
//! One test binary (matklad's advice; DataFusion and delta-rs do the same). Tools some tests
//! need (Python `deltalake`, the `s3s-fs` S3 server, PostgreSQL) are installed by
//! `scripts/setup-test-tools.sh`, which `.ci/run` calls; a test that misses one fails and
//! says so, it never skips silently.

mod alerts;
mod api;
mod attacks;
mod connector;
mod dashboards;
mod demo;
mod forecast;
mod import;
mod jobs;
mod layering;
mod manifest;
mod metrics;
mod ownership;
mod reader;
mod reconcile;
mod s3;
mod support;
mod upsert;
