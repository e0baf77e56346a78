//! Logs (tracing to stderr). Traces and metrics export arrive with the observability issue.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::TelemetryConfig;

/// Installs the global subscriber: `RUST_LOG` if set (and not empty), else
/// `[telemetry] log_level`. whisper.cpp reports every model load at info level, so
/// its logs are kept to warnings unless `RUST_LOG` asks for more.
pub fn init_logging(config: &TelemetryConfig) {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = from_env
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("{},whisper_rs=warn", config.log_level)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if config.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
