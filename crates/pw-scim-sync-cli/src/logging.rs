//! The tracing subscriber: text or JSON lines on stderr.

use std::io::IsTerminal;

use anyhow::{Result, anyhow};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::env_vars as env;

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `LOG_LEVEL`.
pub fn init(level: &str, format: LogFormat) -> Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .map_err(|e| anyhow!("RUST_LOG is not a valid filter: {e}"))?,
        _ => parse_level(level)?,
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

fn parse_level(level: &str) -> Result<EnvFilter> {
    let level = level.trim().to_ascii_lowercase();
    let level = match level.as_str() {
        "warning" => "warn",
        "critical" | "fatal" => "error",
        other => other,
    };
    if !matches!(level, "error" | "warn" | "info" | "debug" | "trace" | "off") {
        return Err(anyhow!(
            "{} must be one of error, warn, info, debug, trace, got {level:?}",
            env::LOG_LEVEL
        ));
    }
    Ok(EnvFilter::new(level))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_accept_python_spellings() {
        for ok in ["INFO", "warning", "DEBUG", "critical", "trace"] {
            assert!(parse_level(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            parse_level("loud").unwrap_err().to_string(),
            "LOG_LEVEL must be one of error, warn, info, debug, trace, got \"loud\""
        );
    }
}
