//! Command-line pieces shared by the two emulator binaries.

use std::time::Duration;

use clap::Args;
use testkit::faults::{HttpFaults, Latency, RateLimit, Stall};

/// Transport faults, common to both emulators.
#[derive(Debug, Args)]
#[command(next_help_heading = "Transport faults")]
pub struct HttpFaultArgs {
    /// Delay every request by this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub latency_ms: Option<u64>,
    /// With --latency-ms: draw each delay uniformly between --latency-ms and this.
    #[arg(long, value_name = "MS", requires = "latency_ms")]
    pub latency_max_ms: Option<u64>,
    /// Allow this many requests per --rate-limit-window-ms; beyond it answer 429 with Retry-After.
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// The rate-limit window.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1000,
        requires = "rate_limit"
    )]
    pub rate_limit_window_ms: u64,
    /// Probability (0–1) of answering 429 with Retry-After.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub error_429_probability: f64,
    /// Probability (0–1) of answering 503 with Retry-After.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub error_503_probability: f64,
    /// Probability (0–1) of answering 500.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub error_500_probability: f64,
    /// Retry-After seconds sent with a drawn 429 or 503.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Probability (0–1) of resetting the connection without a response.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub reset_probability: f64,
    /// Probability (0–1) of stalling a request for --stall-ms before answering.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub stall_probability: f64,
    /// How long a stalled request waits (make it longer than the client's timeout).
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    pub stall_ms: u64,
    /// Probability (0–1) that a successful POST is applied but its response is lost (connection reset).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub lost_post_probability: f64,
    /// Seed for every random draw (same seed, same faults for the same requests, in any order).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl HttpFaultArgs {
    /// The faults these flags describe.
    pub fn to_faults(&self) -> HttpFaults {
        let latency = match (self.latency_ms, self.latency_max_ms) {
            (None, _) => Latency::None,
            (Some(ms), None) => Latency::Fixed(Duration::from_millis(ms)),
            (Some(min), Some(max)) => Latency::Uniform {
                min: Duration::from_millis(min),
                max: Duration::from_millis(max.max(min)),
            },
        };
        HttpFaults {
            latency,
            rate_limit: self.rate_limit.map(|requests| RateLimit {
                requests,
                per: Duration::from_millis(self.rate_limit_window_ms.max(1)),
            }),
            error_429_probability: self.error_429_probability,
            error_503_probability: self.error_503_probability,
            error_500_probability: self.error_500_probability,
            retry_after_secs: self.retry_after_secs,
            reset_probability: self.reset_probability,
            stall: (self.stall_probability > 0.0).then_some(Stall {
                probability: self.stall_probability,
                delay: Duration::from_millis(self.stall_ms),
            }),
            lost_post_probability: self.lost_post_probability,
        }
    }
}

/// Parses a probability in 0–1.
fn probability(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default level `info`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Prints that `name` is listening and the settings that point a client at it, then
/// waits for Ctrl-C (or SIGTERM on Unix).
pub async fn serve_until_stopped(name: &str, settings: &[(&str, &str)]) {
    println!("{name} listening");
    for (variable, value) in settings {
        println!("  {variable}={value}");
    }
    println!("Press Ctrl-C to stop.");
    shutdown_signal().await;
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
