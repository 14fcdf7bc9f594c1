//! Configuration: defaults, then a TOML file, then environment variables, then CLI flags.
//!
//! This is the only module that reads the environment. The file is `--config PATH`,
//! `$ZHONGTAI_CONFIG`, or `./zhongtai.toml` when present. Storage options may hold secrets
//! (S3 keys); they are never printed: `Debug` shows their names only.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use warehouse::LakeConfig;

/// Env variables passed to the object store when set (the usual AWS settings).
const STORAGE_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ALLOW_HTTP",
    "AWS_S3_ALLOW_UNSAFE_RENAME",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
];

/// The config file's shape.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    lake: FileLake,
    #[serde(default)]
    jobs: FileJobs,
    alerts: Option<pipelines::alerts::AlertConfig>,
    #[serde(default)]
    branding: FileBranding,
    #[serde(default)]
    connectors: FileConnectors,
}

/// `[connectors]`: what connector documents may reference.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConnectors {
    /// Environment variables a connector's secrets may be read from: exact names or prefixes
    /// ending in `*` (default `JST_*`, `TOP_*`, `ZHONGTAI_SECRET_*`).
    secret_env: Option<Vec<String>>,
}

/// `[branding]`: how the UI and every report present the company.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileBranding {
    company: Option<String>,
    /// `#rrggbb`.
    primary_color: Option<String>,
    accent_color: Option<String>,
    /// A PNG or JPEG file (at most 512 KiB), relative to the config file's folder.
    logo: Option<PathBuf>,
}

/// `[jobs]`: where the queue lives and how this process takes part.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileJobs {
    /// `sqlite://PATH` or `postgres://…` (default: `jobs.db` in the data dir).
    url: Option<String>,
    /// Attempts `serve` runs at once (0: the server only queues; run `zhongtai worker`).
    workers: Option<usize>,
    /// Whether `serve` queues scheduled runs.
    scheduler: Option<bool>,
    max_attempts: Option<u32>,
    retry_base_secs: Option<u64>,
    retry_max_secs: Option<u64>,
    lease_secs: Option<u64>,
    heartbeat_secs: Option<u64>,
    #[serde(default)]
    schedule: Vec<pipelines::jobs::ScheduleDef>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileLake {
    url: Option<String>,
    #[serde(default)]
    storage_options: HashMap<String, String>,
}

/// The resolved configuration.
#[derive(Clone)]
pub struct Config {
    /// Folder for local state (the lake by default, the demo ledger).
    pub data_dir: PathBuf,
    pub lake: LakeConfig,
    /// Where the configuration came from, for `--help`-style reporting.
    pub file: Option<PathBuf>,
    /// The job runtime (`[jobs]`, `$ZHONGTAI_JOBS_URL`) and alerts (`[alerts]`).
    pub jobs: crate::server::jobs::JobsSetup,
    /// Company name, logo and colours (`[branding]`, `$ZHONGTAI_COMPANY`).
    pub branding: dashboards::Branding,
    /// Which environment variables connector secrets may come from (`[connectors]
    /// secret_env`, `$ZHONGTAI_SECRET_ENV` as a comma-separated list).
    pub secret_policy: pipelines::registry::SecretPolicy,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("lake", &self.lake)
            .field("file", &self.file)
            .field(
                "jobs_url",
                &self.jobs.url.as_deref().map(pipelines::jobs::redact_url),
            )
            .field("jobs_workers", &self.jobs.workers)
            .field("alerts", &self.jobs.alerts)
            .field("branding", &self.branding)
            .field("secret_env", &self.secret_policy.patterns())
            .finish()
    }
}

/// Errors while loading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: String, message: String },
}

/// Flags that override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub lake: Option<String>,
}

impl Config {
    /// Loads the configuration with the documented precedence.
    pub fn load(flags: &Overrides) -> Result<Self, ConfigError> {
        Self::load_with(flags, |k| std::env::var(k).ok())
    }

    /// [`Config::load`] with an explicit environment (for tests).
    pub fn load_with(
        flags: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let path = flags
            .config
            .clone()
            .or_else(|| env("ZHONGTAI_CONFIG").map(PathBuf::from))
            .or_else(|| {
                Path::new("zhongtai.toml")
                    .exists()
                    .then(|| PathBuf::from("zhongtai.toml"))
            });
        let file = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Parse {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?
            }
            None => FileConfig::default(),
        };
        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("ZHONGTAI_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("zhongtai-data"));
        let url = flags
            .lake
            .clone()
            .or_else(|| env("ZHONGTAI_LAKE_URL"))
            .or(file.lake.url)
            .unwrap_or_else(|| data_dir.join("lake").display().to_string());
        let mut storage_options = file.lake.storage_options;
        for key in STORAGE_ENV {
            if let Some(v) = env(key) {
                storage_options.insert((*key).to_string(), v);
            }
        }
        let branding = branding(file.branding, path.as_deref(), &env)?;
        let secret_policy = match env("ZHONGTAI_SECRET_ENV")
            .map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .or(file.connectors.secret_env)
        {
            Some(list) => pipelines::registry::SecretPolicy::new(list),
            None => pipelines::registry::SecretPolicy::default(),
        };
        let j = file.jobs;
        let mut jobs = crate::server::jobs::JobsSetup {
            url: env("ZHONGTAI_JOBS_URL").or(j.url),
            schedules: j.schedule,
            alerts: file.alerts,
            ..Default::default()
        };
        if let Some(w) = j.workers {
            jobs.workers = w;
        }
        if let Some(s) = j.scheduler {
            jobs.scheduler = s;
        }
        if let Some(n) = j.max_attempts {
            jobs.retry.max_attempts = n.max(1);
        }
        if let Some(n) = j.retry_base_secs {
            jobs.retry.base_delay = std::time::Duration::from_secs(n.max(1));
        }
        if let Some(n) = j.retry_max_secs {
            jobs.retry.max_delay = std::time::Duration::from_secs(n.max(1));
        }
        if let Some(n) = j.lease_secs {
            jobs.lease_ttl = std::time::Duration::from_secs(n.max(3));
        }
        if let Some(n) = j.heartbeat_secs {
            jobs.tuning.heartbeat = std::time::Duration::from_secs(n.max(1));
        }
        Ok(Config {
            data_dir,
            lake: LakeConfig {
                url,
                storage_options,
            },
            file: path,
            jobs,
            branding,
            secret_policy,
        })
    }
}

/// `[branding]` checked: colours must be `#rgb`/`#rrggbb` (they go into CSS and PDFs), the
/// logo a PNG or JPEG file.
fn branding(
    b: FileBranding,
    config: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<dashboards::Branding, ConfigError> {
    let origin = config
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(environment)".into());
    let bad = |message: String| ConfigError::Parse {
        path: origin.clone(),
        message,
    };
    let mut out = dashboards::Branding::default();
    if let Some(c) = env("ZHONGTAI_COMPANY").or(b.company) {
        out.company = c;
    }
    for (name, value, slot) in [
        ("primary_color", b.primary_color, &mut out.primary_color),
        ("accent_color", b.accent_color, &mut out.accent_color),
    ] {
        if let Some(v) = value {
            if !dashboards::doc::is_color(&v) {
                return Err(bad(format!(
                    "[branding] {name} = {v:?}: use #rgb or #rrggbb"
                )));
            }
            *slot = v;
        }
    }
    if let Some(logo) = b.logo {
        let path = match config.and_then(Path::parent) {
            Some(dir) if logo.is_relative() => dir.join(&logo),
            _ => logo,
        };
        let bytes = std::fs::read(&path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if !(bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF])) {
            return Err(bad(format!(
                "[branding] logo {}: not a PNG or JPEG file",
                path.display()
            )));
        }
        if bytes.len() > 512 * 1024 {
            return Err(bad(format!(
                "[branding] logo {}: {} bytes; at most 512 KiB",
                path.display(),
                bytes.len()
            )));
        }
        out.logo = Some(bytes);
    }
    Ok(out)
}

/// An environment variable, for secret references in connector documents.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flag_then_env_then_file_then_default() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("z.toml");
        std::fs::write(&file, "data_dir = \"/from-file\"\n[lake]\nurl = \"s3://b/p\"\n[lake.storage_options]\nAWS_REGION = \"cn\"\n").expect("write");
        let flags = Overrides {
            config: Some(file.clone()),
            ..Default::default()
        };
        let none = |_: &str| None;
        let c = Config::load_with(&flags, none).expect("load");
        assert_eq!(c.data_dir, PathBuf::from("/from-file"));
        assert_eq!(c.lake.url, "s3://b/p");
        let env = |k: &str| match k {
            "ZHONGTAI_DATA_DIR" => Some("/from-env".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("hunter2".to_string()),
            _ => None,
        };
        let c = Config::load_with(&flags, env).expect("load");
        assert_eq!(c.data_dir, PathBuf::from("/from-env"));
        let flags = Overrides {
            data_dir: Some("/flag".into()),
            lake: None,
            config: Some(file),
        };
        let c = Config::load_with(&flags, env).expect("load");
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2"),
            "secret leaked in Debug: {shown}"
        );
        assert!(shown.contains("AWS_SECRET_ACCESS_KEY"));
    }

    #[test]
    fn default_lake_is_under_the_data_dir_and_bad_files_name_the_path() {
        let c = Config::load_with(
            &Overrides {
                data_dir: Some("d".into()),
                ..Default::default()
            },
            |_| None,
        )
        .expect("load");
        assert_eq!(
            c.lake.url,
            Path::new("d").join("lake").display().to_string()
        );
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "colour = 1\n").expect("write");
        let e = Config::load_with(
            &Overrides {
                config: Some(file),
                ..Default::default()
            },
            |_| None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad.toml"), "{e}");
    }

    #[test]
    fn branding_is_checked_before_it_reaches_css_and_pdfs() {
        let dir = tempfile::tempdir().expect("tmp");
        let load = |text: &str| {
            let file = dir.path().join("z.toml");
            std::fs::write(&file, text).expect("write");
            Config::load_with(
                &Overrides {
                    config: Some(file),
                    ..Default::default()
                },
                |_| None,
            )
        };
        std::fs::write(dir.path().join("logo.png"), b"\x89PNG\r\n\x1a\nrest").expect("png");
        std::fs::write(dir.path().join("logo.gif"), b"GIF89a").expect("gif");
        let c = load("[branding]\ncompany = \"杭州示例\"\nprimary_color = \"#123456\"\nlogo = \"logo.png\"\n")
            .expect("load");
        assert_eq!(c.branding.company, "杭州示例");
        assert_eq!(c.branding.primary_color, "#123456");
        assert!(c.branding.logo.is_some());
        let e = load("[branding]\naccent_color = \"red;}\"\n").unwrap_err();
        assert!(e.to_string().contains("accent_color"), "{e}");
        let e = load("[branding]\nlogo = \"logo.gif\"\n").unwrap_err();
        assert!(e.to_string().contains("not a PNG or JPEG"), "{e}");
        let e = load("[branding]\nlogo = \"missing.png\"\n").unwrap_err();
        assert!(e.to_string().contains("missing.png"), "{e}");
    }
}
