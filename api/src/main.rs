//! The `zhongtai` binary: parse, set up logging, run, and report errors with their causes.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = api::cli::Cli::parse();
    // delta-rs logs an ERROR when it opens a table location before its first commit; that is
    // expected while creating tables, so its kernel module is quieter by default.
    let filter = EnvFilter::try_from_env("ZHONGTAI_LOG").unwrap_or_else(|_| {
        EnvFilter::new("warn,buoyant_kernel::snapshot=off,deltalake_core::operations::merge=error")
    });
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
