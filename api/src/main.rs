//! The `zhongtai` binary: parse, set up logging, run, and report errors with their causes.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = api::cli::Cli::parse();
    let filter = EnvFilter::new(log_directives(
        std::env::var("ZHONGTAI_LOG").ok().as_deref(),
    ));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(api::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Print the cause chain once: many messages already embed their source's text.
            let mut msg = String::new();
            for cause in e.chain() {
                let text = cause.to_string();
                if !msg.contains(&text) {
                    if !msg.is_empty() {
                        msg.push_str(": ");
                    }
                    msg.push_str(&text);
                }
            }
            eprintln!("error: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Library targets kept quiet unless `ZHONGTAI_LOG` names them: delta-rs logs an ERROR when it
/// opens a table location before its first commit (expected while creating tables), and its
/// kernel dumps every log segment at INFO (99.9 % of an `info` log otherwise).
const QUIET: &[(&str, &str)] = &[
    ("buoyant_kernel::snapshot", "off"),
    ("buoyant_kernel", "warn"),
    ("delta_kernel", "warn"),
    ("deltalake_core::operations::merge", "error"),
    ("deltalake_core", "warn"),
    ("datafusion", "warn"),
    ("hyper", "warn"),
    ("h2", "warn"),
];

/// The filter: the user's directives (default `warn`), plus [`QUIET`] for every library target
/// the user did not name.
fn log_directives(user: Option<&str>) -> String {
    let user = user
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or("warn");
    let mut out = user.to_string();
    for (target, level) in QUIET {
        if !user.contains(target) {
            out.push_str(&format!(",{target}={level}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::log_directives;

    #[test]
    fn library_targets_stay_quiet_unless_named() {
        let d = log_directives(Some("info"));
        assert!(d.starts_with("info,"), "{d}");
        assert!(
            d.contains("delta_kernel=warn") && d.contains("buoyant_kernel=warn"),
            "{d}"
        );
        let named = log_directives(Some("info,delta_kernel=debug"));
        assert!(!named.contains("delta_kernel=warn"), "{named}");
        assert!(log_directives(None).starts_with("warn,"));
    }
}
