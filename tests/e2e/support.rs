//! Helpers: a temporary data dir, running the binary, reading JSON results exactly.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Map, Value};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_zhongtai");

/// A temporary data dir and the environment to run `zhongtai` in it.
pub(crate) struct Lake {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) lake_url: Option<String>,
}

impl Lake {
    pub(crate) fn new() -> Self {
        Lake {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
            lake_url: None,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).expect("write test file");
        p
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir").arg(self.dir.path());
        if let Some(url) = &self.lake_url {
            cmd.arg("--lake").arg(url);
        }
        cmd.args(args)
            .env_remove("ZHONGTAI_CONFIG")
            .env_remove("ZHONGTAI_LAKE_URL")
            .current_dir(self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().expect("run zhongtai")
    }

    /// Runs and expects success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "zhongtai {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and expects failure; returns stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "zhongtai {args:?} should have failed but printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }

    pub(crate) fn query(&self, sql: &str) -> Vec<Map<String, Value>> {
        self.query_args(sql, &[])
    }

    pub(crate) fn query_args(&self, sql: &str, extra: &[&str]) -> Vec<Map<String, Value>> {
        let mut args = vec!["query", sql];
        args.extend_from_slice(extra);
        self.json(&args)
    }

    /// Runs a command with `--format json` added and expects success; returns its rows.
    pub(crate) fn json(&self, args: &[&str]) -> Vec<Map<String, Value>> {
        let mut args = args.to_vec();
        args.extend_from_slice(&["--format", "json"]);
        let out = self.ok(&args);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad json {e}: {out}"));
        v.as_array()
            .expect("array")
            .iter()
            .map(|r| r.as_object().expect("object").clone())
            .collect()
    }

    /// `table -> (rows, version)` from `zhongtai tables`.
    pub(crate) fn tables(&self) -> std::collections::BTreeMap<String, (u64, u64)> {
        let out = self.ok(&["tables", "--format", "json"]);
        let v: Value = serde_json::from_str(&out).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|r| {
                (
                    s(&r["table"]),
                    (int(&r["rows"]) as u64, int(&r["version"]) as u64),
                )
            })
            .collect()
    }
}

pub(crate) fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

pub(crate) fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// A money value (number or string with at most two decimals) in fen, parsed exactly.
pub(crate) fn fen(v: &Value) -> i64 {
    let text = s(v);
    let neg = text.starts_with('-');
    let t = text.trim_start_matches('-');
    let (i, f) = t.split_once('.').unwrap_or((t, ""));
    assert!(f.len() <= 2, "money with more than 2 decimals: {text}");
    let f = format!("{f:0<2}");
    let fen = i.parse::<i64>().expect("int part") * 100 + f.parse::<i64>().expect("frac part");
    if neg { -fen } else { fen }
}

/// A child process killed when dropped.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a subcommand and reads stdout until a line starting with `until`; returns the lines.
pub(crate) fn spawn(lake: &Lake, args: &[&str], until: &str) -> (Proc, Vec<String>) {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(lake.path())
        .args(args)
        .current_dir(lake.path())
        .envs(lake.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let p = Proc(child);
    let mut lines = Vec::new();
    for l in BufReader::new(out).lines().map_while(Result::ok) {
        let done = l.starts_with(until);
        lines.push(l);
        if done {
            return (p, lines);
        }
    }
    panic!("{args:?} ended before printing {until:?}: {lines:?}");
}

/// A lake with the demo world the API tests share: 600 orders over 20 days to 2026-11-20.
pub(crate) fn demo_lake() -> Lake {
    let lake = Lake::new();
    lake.ok(&[
        "demo",
        "--orders",
        "600",
        "--skus",
        "40",
        "--days",
        "20",
        "--direct",
        "--end-date",
        "2026-11-20",
    ]);
    lake
}

/// A new API token of `role`, limited to `shops` (comma-separated) when given.
pub(crate) fn token(lake: &Lake, role: &str, shops: Option<&str>) -> String {
    let mut args = vec!["token", "create", "--role", role];
    if let Some(s) = shops {
        args.extend(["--shops", s]);
    }
    lake.ok(&args).trim().to_string()
}
