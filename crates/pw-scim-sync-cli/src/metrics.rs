//! Run metrics for Prometheus, pushed to a Pushgateway after each run (the batch-job
//! pattern: a CronJob is gone before anything could scrape it).
//!
//! Two groups: every run replaces (`PUT`) the group `job="pw_activate_scim_sync"` with
//! its own figures, so no series of an earlier run is left behind (an operation kind or
//! HTTP status this run did not have, or any count after a run that stopped early); a
//! successful run also replaces the group `job="pw_activate_scim_sync",result="success"`,
//! which holds only `last_success_timestamp_seconds` and so keeps it through failed runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use url::Url;

/// The Pushgateway job name.
pub const JOB: &str = "pw_activate_scim_sync";

/// The grouping key of the success group under [`JOB`]: `result="success"`.
const SUCCESS_GROUP: [&str; 2] = ["result", "success"];

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
    /// Attributes a write sent that the server did not keep as sent.
    pub attributes_not_kept: u64,
    /// Whether a guard withheld operations.
    pub guard_tripped: bool,
    /// HTTP requests by (side, status): side is `activate` or `scim`, status a code
    /// or `transport_error`.
    pub http_requests: BTreeMap<(String, String), u64>,
}

/// Renders the run's group in the Prometheus text format: everything but
/// `last_success_timestamp_seconds` (see [`render_success`]).
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
        "attributes_not_kept",
        "Attributes the last run wrote that the server did not keep as sent (they are sent again every run).",
        &[(vec![], count(m.attributes_not_kept))],
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

/// Renders the success group, `last_success_timestamp_seconds`, after a successful
/// run; `None` after any other, so that the value pushed by the last successful run
/// stays, which is what an alert on "no success for an hour" needs.
pub fn render_success(m: &RunMetrics) -> Option<String> {
    m.success.then(|| {
        let mut out = String::new();
        gauge(
            &mut out,
            "last_success_timestamp_seconds",
            "When the last successful run ended.",
            &[(vec![], m.finished_at)],
        );
        out
    })
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

/// Pushes the run's metrics: [`render`] replaces the group
/// `{base}/metrics/job/pw_activate_scim_sync`, then, after a successful run,
/// [`render_success`] replaces `{base}/metrics/job/pw_activate_scim_sync/result/success`.
pub async fn push(client: &reqwest::Client, base: &Url, m: &RunMetrics) -> Result<()> {
    put(client, base, &[], render(m)).await?;
    if let Some(body) = render_success(m) {
        put(client, base, &SUCCESS_GROUP, body).await?;
    }
    Ok(())
}

/// Replaces the group `job/pw_activate_scim_sync[/label/value]` with `body`.
async fn put(client: &reqwest::Client, base: &Url, group: &[&str], body: String) -> Result<()> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("PUSHGATEWAY_URL cannot be a base URL"))?
        .pop_if_empty()
        .extend(["metrics", "job", JOB])
        .extend(group);
    client
        .put(url)
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
            attributes_not_kept: 0,
            guard_tripped: false,
            http_requests: BTreeMap::from([(("scim".into(), "2\"01".into()), 3)]),
        };
        let text = render(&m);
        assert!(
            text.contains("pw_activate_scim_sync_run_duration_seconds 1.5\n"),
            "{text}"
        );
        assert!(!text.contains("last_success_timestamp_seconds"), "{text}");
        assert_eq!(
            render_success(&m).as_deref(),
            Some(
                "# HELP pw_activate_scim_sync_last_success_timestamp_seconds When the last \
                 successful run ended.\n# TYPE pw_activate_scim_sync_last_success_timestamp_seconds \
                 gauge\npw_activate_scim_sync_last_success_timestamp_seconds 1700000000\n"
            )
        );
        assert!(text.contains(
            "pw_activate_scim_sync_operations{kind=\"create_user\",outcome=\"applied\"} 3\n"
        ));
        assert!(
            text.contains(
                "pw_activate_scim_sync_http_requests{side=\"scim\",status=\"2\\\"01\"} 3\n"
            )
        );
        assert!(text.contains("# TYPE pw_activate_scim_sync_guard_tripped gauge\npw_activate_scim_sync_guard_tripped 0\n"));
        assert!(text.contains("pw_activate_scim_sync_exit_code 0\n"));
        let failed = RunMetrics {
            success: false,
            exit_code: 1,
            ..m
        };
        assert!(render(&failed).contains("pw_activate_scim_sync_exit_code 1\n"));
        assert_eq!(render_success(&failed), None);
    }
}
