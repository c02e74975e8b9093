//! The tracing subscriber: text or JSON lines on stderr.

use std::io::IsTerminal;

use anyhow::{Result, anyhow};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::values::LogLevel;

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `LOG_LEVEL`.
pub fn init(level: LogLevel, format: LogFormat) -> Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .map_err(|e| anyhow!("RUST_LOG is not a valid filter: {e}"))?,
        _ => EnvFilter::new(level.directive()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    }
    .map_err(|e| anyhow!("cannot install the logger: {e}"))
}
