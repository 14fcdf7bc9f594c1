//! Which environment variables a connector document may reference as secrets.
//!
//! A document names its secrets as `{ env = "VAR" }`; without a limit, whoever may register a
//! connector could name any variable of the server (`HOME`, a database password, another
//! connector's key) and have `test` or a sync send it to a base URL of their choosing. The
//! policy is an explicit allowlist an admin configures (`[connectors] secret_env` in the config
//! file): exact names, or prefixes ending in `*`. Registering a document that references
//! another variable is refused, and resolving one yields nothing.

use super::ConnectorDoc;

/// The allowlist when none is configured: the platforms' documented variables and the
/// `ZHONGTAI_SECRET_` namespace for everything else.
pub const DEFAULT_SECRET_ENV: &[&str] = &["JST_*", "TOP_*", "ZHONGTAI_SECRET_*"];

/// Names a connector secret may be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPolicy {
    allow: Vec<String>,
}

impl Default for SecretPolicy {
    fn default() -> Self {
        Self::new(DEFAULT_SECRET_ENV.iter().map(|s| (*s).to_string()))
    }
}

impl SecretPolicy {
    /// A policy allowing `patterns` (exact names, or prefixes ending in `*`).
    pub fn new(patterns: impl IntoIterator<Item = String>) -> Self {
        Self {
            allow: patterns
                .into_iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty() && p != "*")
                .collect(),
        }
    }

    /// The patterns, for messages.
    pub fn patterns(&self) -> &[String] {
        &self.allow
    }

    /// Whether a secret may be read from variable `env`.
    pub fn allows(&self, env: &str) -> bool {
        self.allow.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => env.starts_with(prefix) && env.len() > prefix.len(),
            None => p == env,
        })
    }

    /// Refuses a document that references a variable outside the allowlist, naming it.
    pub fn check(&self, doc: &ConnectorDoc) -> Result<(), String> {
        for (name, r) in &doc.secrets {
            if !self.allows(&r.env) {
                return Err(format!(
                    "connector {}: secret `{name}` reads ${}, which is not an allowed secret variable (allowed: {}; an admin extends the list with `[connectors] secret_env` in the config file)",
                    doc.name,
                    r.env,
                    self.allow.join(", ")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_names_and_prefixes_are_allowed() {
        let p = SecretPolicy::default();
        assert!(p.allows("JST_APP_SECRET") && p.allows("TOP_SESSION_TMALL"));
        assert!(p.allows("ZHONGTAI_SECRET_MINISHOP"));
        for no in [
            "HOME",
            "PATH",
            "AWS_SECRET_ACCESS_KEY",
            "ZHONGTAI_JOBS_URL",
            "JST_",
            "jst_x",
        ] {
            assert!(!p.allows(no), "{no}");
        }
        let q = SecretPolicy::new(["MY_KEY".to_string(), "*".to_string()]);
        assert!(
            q.allows("MY_KEY") && !q.allows("MY_KEY2") && !q.allows("HOME"),
            "`*` alone allows nothing"
        );
    }
}
