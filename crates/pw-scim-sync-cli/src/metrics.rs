//! Run metrics for Prometheus, pushed to a Pushgateway after each run (the batch-job
//! pattern: a CronJob is gone before anything could scrape it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use url::Url;

/// The Pushgateway job name.
pub const JOB: &str = "pw_activate_scim_sync";

/// What one run reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunMetrics {
    /// Wall time of the run.
    pub duration: Duration,
    /// When the run ended, in seconds since the Unix epoch.
    pub finished_at: f64,
    /// Whether the run succeeded (exit status 0).
    pub success: bool,
    /// The exit status.
    pub exit_code: u8,
    /// Operations by (kind, outcome).
    pub operations: BTreeMap<(String, String), u64>,
    /// Conflicts reported by the plan.
    pub conflicts: u64,
    /// Whether a guard withheld operations.
    pub guard_tripped: bool,
    /// HTTP requests by (side, status): side is `activate` or `scim`, status a code
    /// or `transport_error`.
    pub http_requests: BTreeMap<(String, String), u64>,
}

/// Renders the metrics in the Prometheus text format.
///
/// `last_success_timestamp_seconds` is only present after a successful run; pushed with
/// `POST`, the Pushgateway keeps the previous value when a run fails, which is what an
/// alert on "no success for an hour" needs.
pub fn render(m: &RunMetrics) -> String {
    let mut out = String::new();
    gauge(
        &mut out,
        "run_duration_seconds",
        "Wall time of the last run.",
        &[(vec![], m.duration.as_secs_f64())],
    );
    gauge(
        &mut out,
        "last_run_timestamp_seconds",
        "When the last run ended.",
        &[(vec![], m.finished_at)],
    );
    if m.success {
        gauge(
            &mut out,
            "last_success_timestamp_seconds",
            "When the last successful run ended.",
            &[(vec![], m.finished_at)],
        );
    }
    gauge(
        &mut out,
        "exit_code",
        "Exit status of the last run.",
        &[(vec![], f64::from(m.exit_code))],
    );
    let ops: Vec<_> = m
        .operations
        .iter()
        .map(|((kind, outcome), n)| {
            (
                vec![("kind", kind.as_str()), ("outcome", outcome.as_str())],
                count(*n),
            )
        })
        .collect();
    gauge(
        &mut out,
        "operations",
        "Operations of the last run by kind and outcome.",
        &ops,
    );
    gauge(
        &mut out,
        "conflicts",
        "Conflicts in the last run's plan.",
        &[(vec![], count(m.conflicts))],
    );
    gauge(
        &mut out,
        "guard_tripped",
        "1 when a safety guard withheld deactivations in the last run.",
        &[(vec![], if m.guard_tripped { 1.0 } else { 0.0 })],
    );
    let http: Vec<_> = m
        .http_requests
        .iter()
        .map(|((side, status), n)| {
            (
                vec![("side", side.as_str()), ("status", status.as_str())],
                count(*n),
            )
        })
        .collect();
    gauge(
        &mut out,
        "http_requests",
        "HTTP requests of the last run by side and status.",
        &http,
    );
    out
}

#[allow(clippy::cast_precision_loss)]
fn count(n: u64) -> f64 {
    n as f64
}

fn gauge(out: &mut String, name: &str, help: &str, samples: &[(Vec<(&str, &str)>, f64)]) {
    let _ = writeln!(out, "# HELP {JOB}_{name} {help}");
    let _ = writeln!(out, "# TYPE {JOB}_{name} gauge");
    for (labels, value) in samples {
        let _ = write!(out, "{JOB}_{name}");
        if !labels.is_empty() {
            let rendered: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(out, "{{{}}}", rendered.join(","));
        }
        let _ = writeln!(out, " {value}");
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Pushes `body` to `{base}/metrics/job/pw_activate_scim_sync` with `POST`.
pub async fn push(client: &reqwest::Client, base: &Url, body: String) -> Result<()> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("PUSHGATEWAY_URL cannot be a base URL"))?
        .pop_if_empty()
        .extend(["metrics", "job", JOB]);
    client
        .post(url)
        .header("content-type", "text/plain; version=0.0.4")
        .timeout(Duration::from_secs(10))
        .body(body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(reqwest::Error::without_url)
        .context("pushing metrics to PUSHGATEWAY_URL")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = RunMetrics {
            duration: Duration::from_millis(1500),
            finished_at: 1_700_000_000.0,
            success: true,
            exit_code: 0,
            operations: BTreeMap::from([(("create_user".into(), "applied".into()), 3)]),
            conflicts: 1,
            guard_tripped: false,
            http_requests: BTreeMap::from([(("scim".into(), "2\"01".into()), 3)]),
        };
        let text = render(&m);
        assert!(
            text.contains("pw_activate_scim_sync_run_duration_seconds 1.5\n"),
            "{text}"
        );
        assert!(text.contains("pw_activate_scim_sync_last_success_timestamp_seconds 1700000000\n"));
        assert!(text.contains(
            "pw_activate_scim_sync_operations{kind=\"create_user\",outcome=\"applied\"} 3\n"
        ));
        assert!(
            text.contains(
                "pw_activate_scim_sync_http_requests{side=\"scim\",status=\"2\\\"01\"} 3\n"
            )
        );
        assert!(text.contains("# TYPE pw_activate_scim_sync_guard_tripped gauge\npw_activate_scim_sync_guard_tripped 0\n"));
        let failed = render(&RunMetrics {
            success: false,
            exit_code: 1,
            ..m
        });
        assert!(!failed.contains("last_success_timestamp_seconds"));
        assert!(failed.contains("pw_activate_scim_sync_exit_code 1\n"));
    }
}
